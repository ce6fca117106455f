import { kReject, kResolve, type Completion } from './async-result';
import { kSettle, type PoolTask, type TaskOwner } from './task';

/** Owns the single task of a call whose completion is not an AsyncResult (it has a signal). */
export class CallJob implements TaskOwner {
  constructor(private readonly completion: Completion<unknown>) {}

  [kSettle](_task: PoolTask, ok: boolean, value: unknown): void {
    if (ok) this.completion[kResolve](value);
    else this.completion[kReject](value);
  }
}

/**
 * Owns the chunks of one `map`/`starmap`: places each chunk's results at its offset, resolves with
 * the whole list, or rejects with the first failure and drops the chunks not yet sent.
 */
export class MapJob implements TaskOwner {
  readonly #results: unknown[];
  readonly #tasks: PoolTask[] = [];
  #remaining = 0;
  #failed = false;

  constructor(
    length: number,
    private readonly completion: Completion<unknown[]>,
  ) {
    this.#results = new Array<unknown>(length);
  }

  /** Records a chunk this job is waiting for. */
  add(task: PoolTask): void {
    this.#tasks.push(task);
    this.#remaining++;
  }

  /** Fails the job (e.g. a chunk could not be serialized). */
  fail(error: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    for (const task of this.#tasks) task.cancelled = true;
    this.completion[kReject](error);
  }

  [kSettle](task: PoolTask, ok: boolean, value: unknown): void {
    if (this.#failed) return;
    if (!ok) {
      this.fail(value);
      return;
    }
    const values = value as unknown[];
    for (let i = 0; i < values.length; i++) this.#results[task.index + i] = values[i];
    if (--this.#remaining === 0) this.completion[kResolve](this.#results);
  }
}

/** Python's default: `ceil(n / (4 * workers))`, so each worker gets about four chunks. */
export function defaultChunksize(length: number, processes: number): number {
  return length === 0 ? 1 : Math.ceil(length / (processes * 4));
}
