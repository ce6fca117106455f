import { InvalidStateError, TimeoutError } from '../errors';
import { checkTimeout } from '../validate';
import { kSettle, type PoolTask, type TaskOwner } from './task';

/** Callbacks run when an {@link AsyncResult} settles (Python's `callback` / `error_callback`). */
export interface ResultCallbacks<T> {
  /** Called with the result when the work succeeds. */
  callback?: (value: T) => void;
  /** Called with the error when the work fails. */
  errorCallback?: (error: unknown) => void;
}

/** Internal methods (symbols, so no public API exposes them) through which work settles. */
export const kResolve = Symbol('procpool.resolve');
export const kReject = Symbol('procpool.reject');

/** How a submission reports its outcome. */
export interface Completion<T> {
  [kResolve](value: T): void;
  [kReject](error: unknown): void;
}

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;

/**
 * The pending outcome of `applyAsync`, `mapAsync` or `starmapAsync` (Python's `AsyncResult`). It is
 * also a thenable: `await pool.applyAsync(...)` gives the result. An AsyncResult nobody awaits does
 * not raise an unhandled rejection; its error is kept for `get()`.
 *
 * It holds no promise until someone asks for one (`then`, `get`, `wait`): a burst of twenty
 * thousand calls costs twenty thousand small objects, not sixty thousand promises and closures.
 *
 * @example
 * const r = pool.applyAsync(square, [4]);
 * r.ready();            // false, for now
 * await r.wait(100);    // waits up to 100 ms, never throws
 * await r.get(1000);    // 16, or TimeoutError after 1 s
 */
export class AsyncResult<T> implements PromiseLike<T>, Completion<T>, TaskOwner {
  #state = PENDING;
  #value: unknown;
  #callbacks: ResultCallbacks<T> | undefined;
  #promise: Promise<T> | undefined;
  #resolve: ((value: T) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;

  /**
   * Made by the pool's submission methods.
   * @internal
   */
  constructor(callbacks?: ResultCallbacks<T>) {
    if (callbacks && (callbacks.callback || callbacks.errorCallback)) this.#callbacks = callbacks;
  }

  /** @internal */
  [kResolve](value: T): void {
    if (this.#state !== PENDING) return;
    this.#state = FULFILLED;
    this.#value = value;
    this.#resolve?.(value);
    const callback = this.#callbacks?.callback;
    if (callback) runCallback(callback, value);
  }

  /** @internal */
  [kReject](error: unknown): void {
    if (this.#state !== PENDING) return;
    this.#state = REJECTED;
    this.#value = error;
    this.#reject?.(error);
    const errorCallback = this.#callbacks?.errorCallback;
    if (errorCallback) runCallback(errorCallback, error);
  }

  /** @internal */
  [kSettle](_task: PoolTask, ok: boolean, value: unknown): void {
    if (ok) this[kResolve](value as T);
    else this[kReject](value);
  }

  /** Whether the work has finished (successfully or not). */
  ready(): boolean {
    return this.#state !== PENDING;
  }

  /**
   * Whether the work finished without error.
   * @throws {InvalidStateError} if it has not finished yet (as Python raises ValueError).
   */
  successful(): boolean {
    if (this.#state === PENDING) throw new InvalidStateError('successful() needs a finished result: check ready() or await wait() first.');
    return this.#state === FULFILLED;
  }

  /** Waits until the work has finished, or `timeout` ms have passed. Never rejects. */
  wait(timeout?: number): Promise<void> {
    checkTimeout(timeout, 'timeout');
    const settled = this.#settled().then(noop, noop);
    if (timeout === undefined || this.#state !== PENDING) return settled;
    return raceTimeout(settled, timeout, noop);
  }

  /**
   * The result; rejects with the work's error, or with {@link TimeoutError} if it has not finished
   * within `timeout` ms (the work goes on; call `get` again later).
   */
  get(timeout?: number): Promise<T> {
    checkTimeout(timeout, 'timeout');
    if (timeout === undefined || this.#state !== PENDING) return this.#settled();
    return raceTimeout(this.#settled(), timeout, () => {
      throw new TimeoutError(`The result was not ready within ${timeout} ms.`);
    });
  }

  then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    return this.#settled().then(onFulfilled, onRejected);
  }

  /** The promise behind `then`/`get`/`wait`, made on first use. */
  #settled(): Promise<T> {
    if (!this.#promise) {
      if (this.#state === FULFILLED) this.#promise = Promise.resolve(this.#value as T);
      else if (this.#state === REJECTED) this.#promise = Promise.reject(this.#value);
      else {
        this.#promise = new Promise<T>((resolve, reject) => {
          this.#resolve = resolve;
          this.#reject = reject;
        });
      }
    }
    return this.#promise;
  }
}

function noop(): void {}

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
