import { kReject, kResolve, type Completion } from './async-result';
import { kSettle, kTaskProgress, type PoolTask, type TaskOwner } from './task';

/** Owns the single task of a call whose completion is not an AsyncResult (it has a signal). */
export class CallJob implements TaskOwner {
  constructor(
    private readonly completion: Completion<unknown>,
    /** Hears the task's progress (the call's AsyncResult). */
    private readonly progress: Pick<TaskOwner, typeof kTaskProgress>,
  ) {}

  [kTaskProgress](task: PoolTask, completed: number, hasValue: boolean, value: unknown): void {
    this.progress[kTaskProgress]?.(task, completed, hasValue, value);
  }

  [kSettle](_task: PoolTask, ok: boolean, value: unknown): void {
    if (ok) this.completion[kResolve](value);
    else this.completion[kReject](value);
  }
}

/**
 * Owns the chunks of one `map`/`starmap`: keeps each chunk's results until all are in, resolves
 * with the whole list in input order, or rejects with the first failure and drops the chunks not
 * yet sent.
 */
export class MapJob implements TaskOwner {
  /** Chunk results by the chunk's offset; joined in order at the end (see `#join`). */
  readonly #chunks = new Map<number, unknown[]>();
  readonly #tasks: PoolTask[] = [];
  #remaining = 0;
  #failed = false;
  /** Items done in chunks that have not answered yet, as they reported (only once someone asked). */
  #running: Map<PoolTask, number> | undefined;
  /** Items of the chunks that answered. */
  #answered = 0;
  /** The latest value a chunk passed to `reportProgress`. */
  #value: unknown = undefined;
  #hasValue = false;

  constructor(
    private readonly length: number,
    private readonly completion: Completion<unknown[]>,
    /** Gives up on chunks nobody needs once the job has failed. */
    private readonly abandon: (tasks: readonly PoolTask[]) => void,
    /** Tells the caller how many items are done (and the latest reported value). */
    private readonly progress?: (completed: number, value: unknown) => void,
  ) {}

  /** A running chunk reported items done (a count within the chunk) or a value. */
  [kTaskProgress](task: PoolTask, completed: number, hasValue: boolean, value: unknown): void {
    if (this.#failed || !this.progress) return;
    if (hasValue) {
      this.#value = value;
      this.#hasValue = true;
    }
    (this.#running ??= new Map()).set(task, completed);
    this.#report();
  }

  #report(): void {
    let done = this.#answered;
    if (this.#running) for (const count of this.#running.values()) done += count;
    this.progress?.(done, this.#hasValue ? this.#value : undefined);
  }

  /** Whether the job has failed (its remaining chunks are not wanted). */
  get failed(): boolean {
    return this.#failed;
  }

  /** Records a chunk this job is waiting for (in input order). */
  add(task: PoolTask): void {
    this.#tasks.push(task);
    this.#remaining++;
  }

  /** Fails the job with its first failed chunk's error; the other chunks are abandoned. */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.abandon(this.#tasks);
    this.completion[kReject](error);
  }

  [kSettle](task: PoolTask, ok: boolean, value: unknown): void {
    if (this.#failed) return;
    if (!ok) {
      this.fail(value);
      return;
    }
    this.#chunks.set(task.index, value as unknown[]);
    if (this.progress) {
      // The answer says every item of the chunk is done; the last report (all of them) comes before the result.
      this.#answered += (value as unknown[]).length;
      this.#running?.delete(task);
      this.#report();
    }
    if (--this.#remaining > 0) return;
    const results = this.#join();
    if (results.length === this.length) this.completion[kResolve](results);
    else this.completion[kReject](new Error(`procpool internal error: map expected ${this.length} results, got ${results.length}.`));
  }

  /**
   * The results as one packed array, built by appending: an array preallocated with `new Array(n)`
   * stays "holey" for V8 even when full, and a holey array is slower to use and to send to a
   * worker again (the serializer writes it element by element with indexes).
   */
  #join(): unknown[] {
    if (this.#tasks.length === 1) return this.#chunks.get(this.#tasks[0].index) as unknown[];
    const out: unknown[] = [];
    for (const task of this.#tasks) {
      const values = this.#chunks.get(task.index) as unknown[];
      for (let i = 0; i < values.length; i++) out.push(values[i]);
    }
    return out;
  }
}

/** Python's default: `ceil(n / (4 * workers))`, so each worker gets about four chunks. */
export function defaultChunksize(length: number, processes: number): number {
  return length === 0 ? 1 : Math.ceil(length / (processes * 4));
}
