import type { EventEmitter } from 'node:events';
import type { UnknownExitReason } from '../errors';
import type { StartMethod } from '../launchers/launcher';
import type { TaskRefData } from '../transport/protocol';
import type { WorkerExitReason } from './death';
import { poolChannels } from './diagnostics';

/** `workerStart`: a worker is up and initialized. */
export interface WorkerStartEvent {
  readonly pid: number;
  readonly name: string;
  readonly startMethod: StartMethod;
}

/** `workerExit`: a worker process is gone. */
export interface WorkerExitEvent {
  readonly pid: number;
  readonly name: string;
  /** Exit code, or `null` when a signal ended the process or the status is unknown. */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /**
   * Set when the exit status could not be observed: a forkserver worker that outlived its template
   * and was ended by a signal (see `WorkerExitInfo.statusUnknown`).
   */
  readonly statusUnknown?: UnknownExitReason;
  /**
   * Why: asked to leave (`'closed'`, `'recycled'` after maxTasksPerChild, `'memory'` over
   * maxMemoryPerChild, `'idle'`, `'timeout'`, `'aborted'`, `'terminated'`, `'broken'`), or not
   * (`'crashed'`, `'start-failed'`).
   */
  readonly reason: WorkerExitReason;
}

/** `taskQueued`: a task (a call, or one map chunk) joined the pool's queue. */
export interface TaskQueuedEvent {
  readonly id: number;
  readonly task: TaskRefData;
}

/** `taskStart`: a task was handed to a worker. */
export interface TaskStartEvent {
  readonly id: number;
  readonly pid: number;
}

/** `taskSettled`: a task finished, one way or another (its outcome: `ok`, and `error` if not). */
export interface TaskSettledEvent {
  readonly id: number;
  readonly ok: boolean;
  /** The error, when `ok` is false. */
  readonly error?: unknown;
  /** Ms from its submission to now: its wait in the queue plus its run. */
  readonly durationMs: number;
}

/** Every event a Pool emits, with its payload. */
export interface PoolEventMap {
  workerStart: [WorkerStartEvent];
  workerExit: [WorkerExitEvent];
  taskQueued: [TaskQueuedEvent];
  taskStart: [TaskStartEvent];
  taskSettled: [TaskSettledEvent];
  /** The queue fell below `maxQueue` after it was full: a paused producer may submit again. */
  drain: [];
}

/**
 * Emits pool events only when someone listens (on the pool, or on the event's diagnostics channel,
 * see `diagnostics.ts`), so the per-task events cost nothing on the hot path of a pool nobody
 * observes. It asks the emitter each time rather than tracking listeners through its own hooks,
 * so every EventEmitter method (`removeAllListeners()` included) keeps Node's semantics.
 */
export class PoolEventSink {
  constructor(private readonly emitter: EventEmitter<PoolEventMap>) {}

  /** Whether `name` has listeners or subscribers. */
  wants(name: keyof PoolEventMap): boolean {
    return this.emitter.listenerCount(name) > 0 || poolChannels[name]?.hasSubscribers === true;
  }

  emit<K extends keyof PoolEventMap>(name: K, ...payload: PoolEventMap[K]): void {
    if (this.emitter.listenerCount(name) > 0) (this.emitter.emit as (name: K, ...args: PoolEventMap[K]) => boolean)(name, ...payload);
    const channel = poolChannels[name];
    // The message names the pool: a subscriber sees every pool of the process.
    if (channel?.hasSubscribers) channel.publish({ pool: this.emitter, ...(payload[0] as object | undefined) });
  }
}
