import { InvalidArgumentError, InvalidStateError, TimeoutError } from '../errors';
import { checkFunction, checkTimeout } from '../validate';
import { kSettle, kTaskProgress, type PoolTask, type TaskOwner } from './task';

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
/** Delivers a progress report to the caller (the value, or a map's `MapProgress`). */
export const kProgress = Symbol('procpool.progress');

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
 * a native Promise too: `await pool.applyAsync(...)` gives the result, and `Promise.all` over many of
 * them takes the engine's fast path for promises. An AsyncResult nobody awaits does not raise an
 * unhandled rejection; its error is kept for `get()`.
 *
 * @example
 * const r = pool.applyAsync(square, [4]);
 * r.ready();            // false, for now
 * await r.wait(100);    // waits up to 100 ms, never throws
 * await r.get(1000);    // 16, or TimeoutError after 1 s
 */
export class AsyncResult<T> extends Promise<T> implements Completion<T>, TaskOwner {
  /** Promises derived from this one (`then`, `catch`...) are plain Promises. */
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  #state = PENDING;
  #callbacks: ResultCallbacks<T> | undefined;
  /** The call's `onProgress`, then the `'progress'` listeners: created when the first comes. */
  #progress: ((value: unknown) => void)[] | undefined;
  readonly #resolve: (value: T) => void;
  readonly #reject: (error: unknown) => void;

  /**
   * Made by the pool's submission methods.
   * @internal
   */
  constructor(callbacks?: ResultCallbacks<T> & { onProgress?: (value: never) => void }) {
    let resolve: ((value: T) => void) | undefined;
    let reject: ((error: unknown) => void) | undefined;
    super((res, rej) => {
      resolve = res;
      reject = rej;
    });
    this.#resolve = resolve as (value: T) => void;
    this.#reject = reject as (error: unknown) => void;
    if (callbacks && (callbacks.callback || callbacks.errorCallback)) this.#callbacks = callbacks;
    if (typeof callbacks?.onProgress === 'function') this.#progress = [callbacks.onProgress as (value: unknown) => void];
  }

  /**
   * `'progress'`: called with what the work reports while it runs: each value a task passes to
   * `reportProgress` (coalesced) for `applyAsync`, a {@link MapProgress} for `mapAsync` and
   * `starmapAsync`. Never called once the result is settled. Returns this AsyncResult.
   */
  on(event: 'progress', listener: (value: unknown) => void): this {
    if (event !== 'progress') throw new InvalidArgumentError(`AsyncResult emits 'progress' only, got \`${String(event)}\`.`);
    checkFunction(listener, 'listener');
    (this.#progress ??= []).push(listener);
    return this;
  }

  /** Removes a `'progress'` listener added with `on`. */
  off(event: 'progress', listener: (value: unknown) => void): this {
    const at = event === 'progress' ? (this.#progress?.lastIndexOf(listener) ?? -1) : -1;
    if (at >= 0) this.#progress?.splice(at, 1);
    return this;
  }

  /** @internal */
  [kProgress](value: unknown): void {
    const listeners = this.#progress;
    if (this.#state !== PENDING || !listeners?.length) return;
    for (const listener of [...listeners]) runCallback(listener, value);
  }

  /** @internal A call's task reported a value (a call's progress is its value alone). */
  [kTaskProgress](_task: PoolTask, _completed: number, hasValue: boolean, value: unknown): void {
    if (hasValue) this[kProgress](value);
  }

  /** @internal */
  [kResolve](value: T): void {
    if (this.#state !== PENDING) return;
    this.#state = FULFILLED;
    this.#resolve(value);
    const callback = this.#callbacks?.callback;
    if (callback) runCallback(callback, value);
  }

  /** @internal */
  [kReject](error: unknown): void {
    if (this.#state !== PENDING) return;
    this.#state = REJECTED;
    // Handled from the start: Python raises a failed AsyncResult's error only from get().
    promiseThen.call(this, undefined, noop);
    this.#reject(error);
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
    const settled = promiseThen.call(this, noop, noop) as Promise<void>;
    if (timeout === undefined || this.#state !== PENDING) return settled;
    return raceTimeout(settled, timeout, noop);
  }

  /**
   * The result; rejects with the work's error, or with {@link TimeoutError} if it has not finished
   * within `timeout` ms (the work goes on; call `get` again later).
   */
  get(timeout?: number): Promise<T> {
    checkTimeout(timeout, 'timeout');
    if (timeout === undefined || this.#state !== PENDING) return promiseThen.call(this) as Promise<T>;
    return raceTimeout<T>(this, timeout, () => {
      throw new TimeoutError(`The result was not ready within ${timeout} ms.`);
    });
  }
}

// `PromiseResolve` (behind `await`, `Promise.all`, `Promise.resolve`) hands back an object whose
// `constructor` is Promise itself without wrapping it in another promise and a job: so the class
// leaves `constructor` to Promise.prototype.
delete (AsyncResult.prototype as { constructor?: unknown }).constructor;
const promiseThen = Promise.prototype.then;

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
