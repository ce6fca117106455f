import { performance } from 'node:perf_hooks';
import type { CurrentTask } from '../tasks/current-task';
import { PROGRESS_INTERVAL_MS } from '../transport/protocol';

/**
 * A chunk's items are counted without a clock read each: the clock is read about this often (ms),
 * the stride between reads adapting to how quick the items are, so a map of no-ops pays an
 * increment per item and a slow item is still reported as it ends.
 */
const ITEM_CHECK_MS = 5;
/** Most items between two clock reads. */
const MAX_STRIDE = 1024;

/** Where coalesced progress goes (one Progress frame each); throws if `value` cannot be serialized. */
export type ProgressSend = (taskId: number, completed: number, hasValue: boolean, value: unknown) => void;

/**
 * The running task as `reportProgress` and `taskContext` see it, reused from task to task (no
 * allocation per task). Reports are coalesced: one frame at once, then at most one per
 * PROGRESS_INTERVAL_MS, the latest value winning. A synchronous task never lets a timer run, so
 * the clock is read at each report; an async one gets a timer for what it reported in between.
 * The last value still pending when the task ends goes out before its answer.
 */
export class TaskProgress implements CurrentTask {
  context: unknown = undefined;
  #taskId = 0;
  #completed = 0;
  #hasValue = false;
  #value: unknown = undefined;
  /** Something was reported since the last frame. */
  #dirty = false;
  /** Whether a value is among what was not sent yet (a count alone is implied by the answer). */
  #valuePending = false;
  #lastSent = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  /** The item count at which the clock is read next, and when and at which count it was last read (-1: not yet). */
  #nextCheck = 1;
  #checkedAt = -1;
  #checkedItems = 0;

  constructor(private readonly send: ProgressSend) {}

  /** Task `taskId` starts, with its context. */
  begin(taskId: number, context: unknown): void {
    this.#taskId = taskId;
    this.context = context;
    this.#completed = 0;
    this.#hasValue = false;
    this.#value = undefined;
    this.#dirty = false;
    this.#valuePending = false;
    this.#lastSent = -Infinity;
    this.#nextCheck = 1;
    this.#checkedAt = -1;
  }

  /** The task ends (its answer goes next): the last value it reported goes first. */
  end(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#valuePending) this.#flush(false);
    this.context = undefined;
  }

  report(value: unknown): void {
    this.#value = value;
    this.#hasValue = true;
    this.#valuePending = true;
    this.#changed();
  }

  /** One more item of the running chunk is done. */
  item(): void {
    if (++this.#completed < this.#nextCheck) return;
    const now = performance.now();
    const elapsed = now - this.#checkedAt;
    const items = this.#completed - this.#checkedItems;
    const stride = this.#checkedAt < 0 ? 1 : elapsed <= 0 ? MAX_STRIDE : Math.floor((items * ITEM_CHECK_MS) / elapsed);
    this.#nextCheck = this.#completed + Math.max(1, Math.min(MAX_STRIDE, stride));
    this.#checkedAt = now;
    this.#checkedItems = this.#completed;
    this.#changed(now);
  }

  #changed(now = performance.now()): void {
    this.#dirty = true;
    if (now - this.#lastSent >= PROGRESS_INTERVAL_MS) {
      this.#flush(true);
      return;
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#dirty) this.#flush(false);
    }, PROGRESS_INTERVAL_MS - (now - this.#lastSent));
    this.#timer.unref();
  }

  /** Sends what is pending; a value that cannot be serialized throws to the task only when it reported it just now. */
  #flush(reporting: boolean): void {
    this.#dirty = false;
    this.#valuePending = false;
    this.#lastSent = performance.now();
    try {
      this.send(this.#taskId, this.#completed, this.#hasValue, this.#value);
    } catch (error) {
      this.#hasValue = false;
      this.#value = undefined;
      if (reporting) throw error;
      process.emitWarning(`procpool: a progress value of task ${this.#taskId} could not be sent: ${(error as Error).message}`);
    }
  }
}
