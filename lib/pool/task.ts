import { TaskFlags, type TaskKindValue } from '../transport/protocol';

/** The method a task's owner is told its outcome through (a symbol: not part of any public API). */
export const kSettle = Symbol('procpool.settle');

/** Receives the outcome of the tasks it submitted: an AsyncResult, a map job, an imap iterator. */
export interface TaskOwner {
  /** `ok` tells whether `value` is the result or the error. Called exactly once per task. */
  [kSettle](task: PoolTask, ok: boolean, value: unknown): void;
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
}

/**
 * One unit of work as the pool schedules it: a call, or one chunk of a map. Its input is encoded
 * when it is first sent (as Python pickles in its task-handler thread), so an argument that cannot
 * be serialized fails that task alone, before anything is sent, and a large payload's memory is
 * only held while it travels.
 */
export class PoolTask {
  /** Set once the task is settled or its owner no longer wants it: it is never sent, or ignored. */
  cancelled = false;
  /**
   * Whether the worker holding this task has acknowledged the frame that carried it. A worker that
   * dies before that never saw the task (it was still in the socket), so the task runs elsewhere.
   */
  received = false;
  /** Runs left if a worker dies under it. */
  retriesLeft: number;
  /** The worker it was sent to, until it is answered or that worker is gone. */
  holder: TaskHolder | undefined;
  /** Whether its worker reported its start (tasks with timeouts or a signal do). */
  started = false;
  /** Set when its caller aborted it while it was held: the grace period before its worker dies. */
  abortGraceMs: number | undefined;
  /** The kind byte sent to the worker: the TaskKind and the TaskFlags it needs. */
  readonly wire: number;
  /** The encoded input, once the task has been sent (kept: a requeued task is sent again). */
  payload: Buffer | undefined;

  constructor(
    readonly id: number,
    readonly fnId: number,
    readonly kind: TaskKindValue,
    /** The arguments (a call) or items (a chunk), until they are encoded. */
    public input: readonly unknown[] | undefined,
    readonly owner: TaskOwner,
    /** The owner's position for this task (a chunk's offset, an imap sequence number). */
    readonly index: number,
    readonly policy: TaskPolicy = {},
  ) {
    this.retriesLeft = policy.retries ?? 0;
    const abortable = policy.abortable || policy.softTimeout !== undefined;
    // Abortable tasks report their start too: the grace period after an abort runs from there.
    const timed = abortable || policy.timeout !== undefined;
    this.wire = kind | (timed ? TaskFlags.Timed : 0) | (abortable ? TaskFlags.Abortable : 0);
  }

  /** Settles the task once: later answers for it (after a timeout, an abort) are ignored. */
  settle(ok: boolean, value: unknown): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.owner[kSettle](this, ok, value);
  }
}
