/**
 * The task a worker runs now, as the functions a task calls (`reportProgress`, `taskContext`) see
 * it. A worker runs one task at a time, an async one included, so one slot is enough. The slot is
 * shared through a global symbol, so that a task module's copy of procpool and the worker's own
 * agree on it (as `taskSignal` does).
 */

/** What a running task can reach of its worker. */
export interface CurrentTask {
  /** The caller's `context` (or the pool's hook's), deserialized; undefined without one. */
  readonly context: unknown;
  /** Passes a progress value on to the caller, coalesced. */
  report(value: unknown): void;
}

interface Slot {
  task: CurrentTask | undefined;
}

const kSlot = Symbol.for('procpool.currentTask');
const slot: Slot = ((globalThis as unknown as Record<symbol, Slot | undefined>)[kSlot] ??= { task: undefined });

/** The task running now in this process, if any (undefined outside a worker, or between tasks). */
export function currentTask(): CurrentTask | undefined {
  return slot.task;
}

/** Worker side: `task` runs from now on (undefined: none). */
export function setCurrentTask(task: CurrentTask | undefined): void {
  slot.task = task;
}
