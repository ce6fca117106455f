import { performance } from 'node:perf_hooks';
import { TaskFlags, type TaskKindValue } from '../transport/protocol';
import type { WireTask } from '../transport/task-batch';

/** The method a task's owner is told its outcome through (a symbol: not part of any public API). */
export const kSettle = Symbol('procpool.settle');
/** The method a task's owner hears its progress through. */
export const kTaskProgress = Symbol('procpool.taskProgress');

/** Receives the outcome of the tasks it submitted: an AsyncResult, a map job, an imap iterator. */
export interface TaskOwner {
  /** `ok` tells whether `value` is the result or the error. Called at most once per task. */
  [kSettle](task: PoolTask, ok: boolean, value: unknown): void;
  /**
   * What the running task reported: items of a chunk done so far (`completed`), and the latest
   * value it passed to `reportProgress` (`hasValue`). Never called after the task settled.
   */
  [kTaskProgress]?(task: PoolTask, completed: number, hasValue: boolean, value: unknown): void;
}

/** The worker holding a task that was sent: it can be asked to abort it. */
export interface TaskHolder {
  /** Skips the task if it waits, aborts its signal if it runs; after `graceMs` it is overdue. */
  abort(task: PoolTask, graceMs: number): void;
}

/** What may happen to a task besides running: limits and retries, from its call or the pool. */
export interface TaskPolicy {
  /** Hard limit (ms) from the task's start: its worker is killed and the task fails. */
  readonly timeout?: number;
  /** Soft limit (ms) from the task's start: its `taskSignal()` is aborted. */
  readonly softTimeout?: number;
  /** How many times the task is run again if its worker dies under it. */
  readonly retries?: number;
  /** Whether the task gets an AbortSignal (it has a soft timeout or its caller passed a signal). */
  readonly abortable?: boolean;
  /** The call's context, serialized: the worker hands it to the task as `taskContext()`. */
  readonly context?: Buffer;
  /** Whether a map chunk reports its items' completion (someone follows the map's progress). */
  readonly counted?: boolean;
}

/**
 * Where a task is:
 *
 * ```
 *            send            Received          Started
 *  queued ────────► sent ────────────► received ────────► running
 *    ▲               │  the worker died   │  the worker died  │
 *    └───────────────┴─ (never saw it) ───┴── with retries ───┘
 *
 *  any of those ──► settled    (answered, failed, timed out, terminated: the owner is told once)
 *  any of those ──► abandoned  (its owner no longer wants it: aborted, map failed, imap left early)
 * ```
 *
 * `settled` and `abandoned` are final. Tasks without a timeout or signal never report their start:
 * they go from `received` to `settled`, and the oldest unanswered one counts as running.
 */
export type TaskStatus = 'queued' | 'sent' | 'received' | 'running' | 'settled' | 'abandoned';

/**
 * One unit of work as the pool schedules it: a call, or one chunk of a map. Its arguments are
 * encoded when the call is made, so what the caller does with them afterwards (refills a buffer,
 * changes an object) cannot change what the task receives, as with `postMessage`. The status is
 * written only through the transitions below.
 */
export class PoolTask implements WireTask {
  #status: TaskStatus = 'queued';
  #holder: TaskHolder | undefined;
  /** Runs left if a worker dies under it. */
  retriesLeft: number;
  /** Set when its caller aborted it while a worker held it: the grace period before that worker dies. */
  abortGraceMs: number | undefined;
  /** The kind byte sent to the worker: the TaskKind and the TaskFlags it needs. */
  readonly wire: number;
  /** When it was submitted (`performance.now()`): its wait and its whole duration run from here. */
  readonly queuedAt: number;

  constructor(
    readonly id: number,
    readonly fnId: number,
    readonly kind: TaskKindValue,
    /** The encoded arguments (a call) or items (a chunk); kept until the task is final (a retry sends it again). */
    readonly payload: Buffer,
    readonly owner: TaskOwner,
    /** The owner's position for this task (a chunk's offset, an imap sequence number). */
    readonly index: number,
    readonly policy: TaskPolicy = {},
  ) {
    this.retriesLeft = policy.retries ?? 0;
    const abortable = policy.abortable || policy.softTimeout !== undefined;
    // Abortable tasks report their start too: the grace period after an abort runs from there.
    const timed = abortable || policy.timeout !== undefined;
    this.wire = kind | (timed ? TaskFlags.Timed : 0) | (abortable ? TaskFlags.Abortable : 0) | (policy.counted ? TaskFlags.Counted : 0);
    this.queuedAt = performance.now();
  }

  /** The call's context, serialized (sent in a TaskContext frame with the task). */
  get context(): Buffer | undefined {
    return this.policy.context;
  }

  get status(): TaskStatus {
    return this.#status;
  }

  /** Neither settled nor abandoned: someone still waits for it. */
  get live(): boolean {
    return this.#status !== 'settled' && this.#status !== 'abandoned';
  }

  /** The worker it was sent to, until it is answered, final, or back in the queue. */
  get holder(): TaskHolder | undefined {
    return this.#holder;
  }

  /** Handed to a worker. */
  sent(holder: TaskHolder): void {
    if (this.#status !== 'queued') return;
    this.#status = 'sent';
    this.#holder = holder;
  }

  /** The worker acknowledged the frame that carried it: it has the task. */
  received(): void {
    if (this.#status === 'sent') this.#status = 'received';
  }

  /** The worker reported its start (tasks with a timeout or a signal). */
  started(): void {
    if (this.#status === 'received' || this.#status === 'sent') this.#status = 'running';
  }

  /** Back in the queue after its worker died (it never ran, or it has a retry left). */
  requeued(): void {
    this.#holder = undefined;
    if (this.live) this.#status = 'queued';
  }

  /** Whether its worker may have run it: it had received it. */
  get reachedWorker(): boolean {
    return this.#status === 'received' || this.#status === 'running';
  }

  /** Makes the task final; returns false if it already was (nothing more may happen to it). */
  finish(status: 'settled' | 'abandoned'): boolean {
    if (!this.live) return false;
    this.#status = status;
    this.#holder = undefined;
    return true;
  }

  /** Its worker answered it, or is gone: nobody holds it any more. */
  released(): void {
    this.#holder = undefined;
  }
}
