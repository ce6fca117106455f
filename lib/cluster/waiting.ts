import { performance } from 'node:perf_hooks';
import { Backpressure } from '../pool/backpressure';
import type { PoolEventSink } from '../pool/events';
import type { FunctionTable } from '../pool/functions';
import type { PoolTask } from '../pool/task';
import { TaskKind } from '../transport/protocol';
import { Deque } from '../util/deque';

/**
 * Calls of one function that wait together go as one job of at most this many: per-job costs
 * (Redis round trips, the agent's lock, the event) then fall on 64 calls. Measured: 20 000 no-op
 * applyAsync took 15–20 s with one job per call (0.3× raw BullMQ no-op jobs), 1.8 s with batches of 64.
 */
const CALLS_PER_JOB = 64;

/** What a `Pool` gives its cluster engine besides the cluster options. */
export interface ClusterHost {
  /** Where the pool's `'drain'`, `'taskQueued'` and `'taskSettled'` go; none without it. */
  readonly events?: PoolEventSink;
  /** The pool's `maxQueue`, resolved: most tasks waiting to enter Redis. @default Infinity */
  readonly maxQueue?: number;
}

/**
 * A cluster pool's queue: the tasks that wait in this process to enter Redis (the engine keeps a
 * bounded number of jobs there), with the pool's queue limit (`maxQueue`, as a local pool's) and
 * the queue's events. Only live tasks are in it: what is abandoned while waiting is purged, so
 * its length is what `stats().queued`, `room()` and `'drain'` count.
 */
export class WaitingTasks {
  /** The queue limit, and who waits for the queue (or the whole pool) to empty. */
  readonly pressure: Backpressure;
  readonly #tasks = new Deque<PoolTask>();

  constructor(
    private readonly host: ClusterHost,
    private readonly functions: FunctionTable,
  ) {
    this.pressure = new Backpressure(host.maxQueue ?? Infinity, () => host.events?.emit('drain'));
  }

  /** Tasks waiting. */
  get length(): number {
    return this.#tasks.length;
  }

  /** Whether `count` more tasks fit (`maxQueue`); always true without one. */
  room(count: number): boolean {
    return this.pressure.admits(this.#tasks.length, count);
  }

  /** A new task joins the end of the queue. */
  push(task: PoolTask): void {
    this.#tasks.push(task);
    this.pressure.queued(this.#tasks.length);
    const events = this.host.events;
    if (events?.wants('taskQueued')) events.emit('taskQueued', { id: task.id, task: this.functions.ref(task.fnId) });
  }

  /** A task whose agent was lost goes first in line again. */
  unshift(task: PoolTask): void {
    this.#tasks.unshift(task);
    this.pressure.queued(this.#tasks.length);
  }

  /**
   * The tasks of the next job (the queue holds some): the first task, and with a call the calls
   * of the same function and policy right behind it, up to CALLS_PER_JOB. Calls submitted together (a
   * burst of applyAsync) so travel as one job, each still settling on its own; not those with a
   * signal: aborting one must not stop the others.
   */
  takeJob(): PoolTask[] {
    const task = this.#tasks.shift() as PoolTask;
    const tasks = [task];
    if (task.kind !== TaskKind.Call || task.policy.abortable) return tasks;
    for (let next = this.#tasks.peek(); next && tasks.length < CALLS_PER_JOB && next.fnId === task.fnId && next.kind === TaskKind.Call && next.policy === task.policy; next = this.#tasks.peek()) {
      tasks.push(this.#tasks.shift() as PoolTask);
    }
    return tasks;
  }

  /** Every waiting task; the queue is then empty. */
  drain(): PoolTask[] {
    return this.#tasks.drain();
  }

  /** Drops the tasks abandoned while they waited (their owner no longer wants them). */
  purge(): void {
    if (this.#tasks.length === 0) return;
    for (const task of this.#tasks.drain()) if (task.live) this.#tasks.push(task);
  }

  /** `'taskSettled'` for a task that settled, for whoever listens. */
  settled(task: PoolTask, ok: boolean, value: unknown): void {
    const events = this.host.events;
    if (events?.wants('taskSettled')) events.emit('taskSettled', { id: task.id, ok, error: ok ? undefined : value, durationMs: performance.now() - task.queuedAt });
  }

  /** How things stand: `running` tells whether any job is in Redis. `'drain'`, `drained()` and `idle()` follow. */
  update(running: boolean): void {
    this.pressure.update(this.#tasks.length, running);
  }

  /** Resolves once nothing waits here and no job is in Redis (`running`, now). */
  idle(running: boolean): Promise<void> {
    return this.pressure.idle(this.#tasks.length, running);
  }
}
