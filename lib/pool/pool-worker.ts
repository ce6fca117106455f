import { performance } from 'node:perf_hooks';
import type { ChannelListener, WorkerChannel } from '../channel/worker-channel';
import { AbortReason, type TaskRefData } from '../transport/protocol';
import type { WorkerExitReason } from './death';
import type { PoolTask, TaskHolder } from './task';

/** Where a ready worker is in its life, as the pool sees it. */
export type WorkerState = 'ready' | 'stopping' | 'exited';

/** What the pool hears from one of its workers. */
export interface WorkerHost {
  answered(worker: PoolWorker, task: PoolTask, ok: boolean, value: unknown): void;
  /** A task's hard timeout passed, or an aborted task ignored its signal past the grace period. */
  overdue(worker: PoolWorker, task: PoolTask, why: 'timeout' | 'aborted'): void;
  /** The worker's resident memory passed `maxMemoryPerChild`. */
  overMemory(worker: PoolWorker): void;
  /** The task the worker runs reported progress. */
  progress(task: PoolTask, completed: number, hasValue: boolean, value: unknown): void;
}

/**
 * The pool's record of one ready worker (piscina's per-worker task ownership): its channel, how
 * many tasks it was given, why the pool asked it to leave, and the clocks of the task it runs
 * (timeouts, the grace period after an abort) and of its idleness.
 */
export class PoolWorker implements ChannelListener<PoolTask>, TaskHolder {
  state: WorkerState = 'ready';
  /** Tasks sent over this worker's life (for `maxTasksPerChild`). */
  dispatched = 0;
  /** When the worker last started on work it holds (its previous answer, or when idle work arrived). */
  busySince = 0;
  /** Set when the pool asks the worker to leave; an exit without it is a crash. */
  requested: WorkerExitReason | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  /** The task running now and its timers (soft/hard timeout, abort grace), cleared when it answers. */
  #clock: { task: PoolTask; timers: NodeJS.Timeout[] } | undefined;

  constructor(
    readonly channel: WorkerChannel<PoolTask>,
    private readonly host: WorkerHost,
  ) {
    channel.attach(this);
  }

  /** The worker's name (`PoolWorker-3`). */
  get name(): string {
    return this.channel.name;
  }

  /** OS process id. */
  get pid(): number {
    return this.channel.pid;
  }

  /** Tasks sent and not yet answered. */
  get held(): number {
    return this.channel.held;
  }

  /** Sends tasks in one frame. */
  send(tasks: readonly PoolTask[], functions: (fnId: number) => TaskRefData): void {
    if (this.channel.held === 0) this.busySince = performance.now();
    this.clearIdle();
    for (const task of tasks) task.sent(this);
    this.dispatched += tasks.length;
    this.channel.send(tasks, functions);
  }

  /**
   * Asks the worker to abort a task it holds (the caller's signal fired). A task still waiting in
   * the worker is skipped; the running one has its signal aborted and `graceMs` to stop before the
   * pool is told it is overdue.
   */
  abort(task: PoolTask, graceMs: number): void {
    this.channel.abort(task, AbortReason.Cancelled);
    task.abortGraceMs = graceMs;
    // The grace period runs from the task's start: before it, the worker will just skip it.
    if (this.#clock?.task === task) this.#armAbortGrace(task);
  }

  /** Asks the worker to exit once it has answered every task it holds. */
  stop(reason: WorkerExitReason): void {
    if (this.state === 'exited') return;
    this.clearIdle();
    this.state = 'stopping';
    this.requested ??= reason;
    this.channel.stop();
  }

  /** SIGTERM to the worker's group, then SIGKILL after `graceMs` if it is still there. */
  terminate(graceMs: number, reason: WorkerExitReason): void {
    if (this.state === 'exited' || this.#killTimer) return;
    this.clearIdle();
    this.requested ??= reason;
    this.state = 'stopping';
    this.channel.kill('SIGTERM');
    this.#killTimer = setTimeout(() => this.channel.kill('SIGKILL'), graceMs);
  }

  /** Calls `onIdle` after `ms` unless the worker is given work (or leaves) first. */
  armIdle(ms: number, onIdle: () => void): void {
    this.clearIdle();
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      onIdle();
    }, ms);
    this.#idleTimer.unref();
  }

  clearIdle(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  /** The process is gone: no timer of it may fire. */
  exited(): void {
    this.state = 'exited';
    this.clearIdle();
    clearTimeout(this.#killTimer);
    this.#stopClock();
  }

  // --- ChannelListener --------------------------------------------------------------------------

  received(batch: readonly PoolTask[]): void {
    for (const task of batch) task.received();
  }

  /** A timed task reported its start: its timeouts run from now. */
  started(task: PoolTask): void {
    task.started();
    const { timeout, softTimeout } = task.policy;
    const clock = this.#clockFor(task);
    if (task.abortGraceMs !== undefined) this.#armAbortGrace(task);
    if (softTimeout !== undefined) clock.timers.push(setTimeout(() => this.channel.abort(task, AbortReason.SoftTimeout, softTimeout), softTimeout));
    if (timeout !== undefined) clock.timers.push(setTimeout(() => this.host.overdue(this, task, 'timeout'), timeout));
  }

  answered(task: PoolTask, ok: boolean, value: unknown): void {
    if (this.#clock?.task === task) this.#stopClock();
    task.released();
    this.host.answered(this, task, ok, value);
  }

  overMemory(): void {
    this.host.overMemory(this);
  }

  progress(task: PoolTask, completed: number, hasValue: boolean, value: unknown): void {
    this.host.progress(task, completed, hasValue, value);
  }

  #armAbortGrace(task: PoolTask): void {
    this.#clockFor(task).timers.push(setTimeout(() => this.host.overdue(this, task, 'aborted'), task.abortGraceMs));
  }

  #clockFor(task: PoolTask): { task: PoolTask; timers: NodeJS.Timeout[] } {
    if (this.#clock?.task !== task) {
      this.#stopClock();
      this.#clock = { task, timers: [] };
    }
    return this.#clock;
  }

  #stopClock(): void {
    if (!this.#clock) return;
    for (const timer of this.#clock.timers) clearTimeout(timer);
    this.#clock = undefined;
  }
}
