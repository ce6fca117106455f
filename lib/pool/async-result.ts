import { InvalidStateError, TimeoutError } from '../errors';
import { checkTimeout } from '../validate';

/** Callbacks run when an {@link AsyncResult} settles (Python's `callback` / `error_callback`). */
export interface ResultCallbacks<T> {
  /** Called with the result when the work succeeds. */
  callback?: (value: T) => void;
  /** Called with the error when the work fails. */
  errorCallback?: (error: unknown) => void;
}

/** How a submission reports its outcome to its {@link AsyncResult}. */
export interface Completion<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/**
 * The pending outcome of `applyAsync`, `mapAsync` or `starmapAsync` (Python's `AsyncResult`). It is
 * also a thenable: `await pool.applyAsync(...)` gives the result. An AsyncResult nobody awaits does
 * not raise an unhandled rejection; its error is kept for `get()`.
 *
 * @example
 * const r = pool.applyAsync(square, [4]);
 * r.ready();            // false, for now
 * await r.wait(100);    // waits up to 100 ms, never throws
 * await r.get(1000);    // 16, or TimeoutError after 1 s
 */
export class AsyncResult<T> implements PromiseLike<T> {
  #state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  readonly #promise: Promise<T>;

  /**
   * For procpool's own use: `start` receives the completion to call once the work settles.
   * @internal
   */
  constructor(start: (completion: Completion<T>) => void, callbacks: ResultCallbacks<T> = {}) {
    let resolvePromise!: (value: T) => void;
    let rejectPromise!: (error: unknown) => void;
    this.#promise = new Promise<T>((resolve, reject) => {
      resolvePromise = resolve;
      rejectPromise = reject;
    });
    this.#promise.catch(() => {});
    const completion: Completion<T> = {
      resolve: (value) => {
        if (this.#state !== 'pending') return;
        this.#state = 'fulfilled';
        resolvePromise(value);
        if (callbacks.callback) runCallback(callbacks.callback, value);
      },
      reject: (error) => {
        if (this.#state !== 'pending') return;
        this.#state = 'rejected';
        rejectPromise(error);
        if (callbacks.errorCallback) runCallback(callbacks.errorCallback, error);
      },
    };
    try {
      start(completion);
    } catch (error) {
      completion.reject(error);
    }
  }

  /** Whether the work has finished (successfully or not). */
  ready(): boolean {
    return this.#state !== 'pending';
  }

  /**
   * Whether the work finished without error.
   * @throws {InvalidStateError} if it has not finished yet (as Python raises ValueError).
   */
  successful(): boolean {
    if (this.#state === 'pending') throw new InvalidStateError('successful() needs a finished result: check ready() or await wait() first.');
    return this.#state === 'fulfilled';
  }

  /** Waits until the work has finished, or `timeout` ms have passed. Never rejects. */
  wait(timeout?: number): Promise<void> {
    checkTimeout(timeout, 'timeout');
    const settled = this.#promise.then(
      () => undefined,
      () => undefined,
    );
    if (timeout === undefined || this.#state !== 'pending') return settled;
    return raceTimeout(settled, timeout, () => undefined);
  }

  /**
   * The result; rejects with the work's error, or with {@link TimeoutError} if it has not finished
   * within `timeout` ms (the work goes on; call `get` again later).
   */
  get(timeout?: number): Promise<T> {
    checkTimeout(timeout, 'timeout');
    if (timeout === undefined || this.#state !== 'pending') return this.#promise;
    return raceTimeout(this.#promise, timeout, () => {
      throw new TimeoutError(`The result was not ready within ${timeout} ms.`);
    });
  }

  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#promise.then(onFulfilled, onRejected);
  }
}

function raceTimeout<T>(promise: Promise<T>, timeout: number, onTimeout: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, timeout);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** A user callback that throws is a bug in the caller: surface it like an EventEmitter listener's. */
function runCallback<V>(callback: (value: V) => void, value: V): void {
  try {
    callback(value);
  } catch (error) {
    process.nextTick(() => {
      throw error;
    });
  }
}
