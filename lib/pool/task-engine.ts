import type { TaskKindValue } from '../transport/protocol';
import type { Backpressure } from './backpressure';
import type { Counters, PoolStats } from './counters';
import type { FunctionTable } from './functions';
import type { PoolState } from './lifecycle';
import type { PoolTask, TaskOwner, TaskPolicy } from './task';

/**
 * What the Pool's public methods, its Submitter, `shutdown()` and imap iterators need from the
 * engine behind them: the local engine that runs tasks in child processes, or a cluster engine that
 * runs them on agents through Redis. Jobs, AsyncResults, the submission path and iterators are
 * written once, against this.
 */
export interface TaskEngine {
  /** Processes that run tasks (a cluster's: every live agent's). */
  readonly processes: number;
  readonly state: PoolState;
  readonly lifecycle: { refusal(): Error | undefined };
  readonly functions: FunctionTable;
  /**
   * The queue limit (`maxQueue`, Infinity without one) and who waits for the queue to empty. The
   * engine feeds it after every change; `'drain'`, `drained()` and `idle()` follow from it.
   */
  readonly pressure: Pick<Backpressure, 'maxQueue' | 'drained'>;
  /** The counters of the pool's life; `shutdown()` tells its outcome from `completed` + `failed`. */
  readonly counters: Readonly<Counters>;
  /** A map's chunksize when its caller gives none (Python's: about four chunks per process). */
  defaultChunksize(length: number): number;
  /**
   * Whether `count` more tasks fit in the queue (`maxQueue`). Asked before a submission encodes
   * anything, so a refusal costs the caller next to nothing.
   */
  room(count: number): boolean;
  /** Tasks waiting in the queue: not yet handed to a worker (a cluster's: not yet sent to Redis). */
  queued(): number;
  /** Resolves once no task waits in the queue or runs. */
  idle(): Promise<void>;
  /** Encodes a call's arguments or a chunk's items now, at the call. */
  encode(input: readonly unknown[], task: number | string): Buffer;
  createTask(fnId: number, kind: TaskKindValue, payload: Buffer, owner: TaskOwner, index: number, policy?: TaskPolicy): PoolTask;
  submit(task: PoolTask): void;
  /** The owner no longer wants these tasks; with `abort`, running ones are told to stop. */
  abandon(tasks: Iterable<PoolTask>, abort: boolean): void;
  /** Lets go of payloads encoded for tasks that were never made. */
  discard(payloads: readonly Buffer[]): void;
  /** A lazy producer (imap) keeps the pool open while it may still submit; call the result when done. */
  holdOpen(): () => void;
  ready(): Promise<void>;
  stats(): PoolStats;
  pids(): number[];
  close(): void;
  terminate(): Promise<void>;
  join(): Promise<void>;
}
