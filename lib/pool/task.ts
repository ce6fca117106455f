import type { TaskKindValue } from '../transport/protocol';

/** Receives the outcome of the tasks it submitted: a call, a map job, an imap iterator. */
export interface TaskOwner {
  /** `ok` tells whether `value` is the result or the error. Called exactly once per task. */
  settle(task: PoolTask, ok: boolean, value: unknown): void;
}

/**
 * One unit of work as the pool schedules it: a call, or one chunk of a map. Its payload is
 * serialized at submission, so an argument that cannot be serialized fails that task alone,
 * before anything is sent.
 */
export class PoolTask {
  /** Set when the owner no longer wants the result; a queued cancelled task is never sent. */
  cancelled = false;
  /**
   * Whether the worker holding this task has acknowledged the frame that carried it. A worker that
   * dies before that never saw the task (it was still in the socket), so the task runs elsewhere.
   */
  received = false;

  constructor(
    readonly id: number,
    readonly fnId: number,
    readonly kind: TaskKindValue,
    readonly payload: Buffer,
    readonly owner: TaskOwner,
    /** The owner's position for this task (a chunk's offset, an imap sequence number). */
    readonly index: number,
  ) {}
}
