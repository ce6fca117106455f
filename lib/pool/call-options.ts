import { serialize } from 'node:v8';
import { InvalidArgumentError, SerializationError } from '../errors';
import type { TaskRefData } from '../transport/protocol';
import { encodeArgs } from '../transport/payload';
import { checkFunction, checkInteger, checkTimeout } from '../validate';
import type { ResultCallbacks } from './async-result';
import type { TaskPolicy } from './task';

/** What every submission call accepts (each falls back to the pool's default). */
export interface TaskOptions {
  /**
   * Hard limit in ms, from the task's start: the worker is killed and replaced, the task rejects
   * with `TaskTimeoutError`. For `map`, the limit of each chunk.
   */
  timeout?: number;
  /** Soft limit in ms: the task's `taskSignal()` is aborted so that it can stop by itself. */
  softTimeout?: number;
  /**
   * Cancels the call: queued tasks are dropped, a running one has its `taskSignal()` aborted and
   * `abortGracePeriod` to stop before its worker is killed. The call rejects with `AbortError`.
   */
  signal?: AbortSignal;
  /** Times a task is run again if its worker dies under it (idempotent tasks only). */
  retries?: number;
  /**
   * A serializable value the task reads with `taskContext()` in its worker (a trace id, a tenant,
   * a request id). Captured at the call, like the arguments. Overrides the pool's `context` hook.
   */
  context?: unknown;
}

/** Options of `apply` (and, with result callbacks, `applyAsync`). */
export interface ApplyOptions extends TaskOptions {
  /**
   * Called in the caller's process with each value the task passes to `reportProgress(value)`,
   * coalesced (the latest wins; see `reportProgress`), always before the result.
   */
  onProgress?: (value: unknown) => void;
}

/** What a `map`'s progress reports: items done so far, of how many. */
export interface MapProgress {
  /** Items whose call has returned, over all chunks. */
  readonly completed: number;
  /** Items in the map. */
  readonly total: number;
  /** The latest value a task of the map passed to `reportProgress`, if any did. */
  readonly value?: unknown;
}

/** Options of `map`, `starmap` and their async forms. */
export interface MapOptions extends TaskOptions {
  /**
   * Items per task sent to a worker.
   * @default ceil(n / (4 × processes)), as Python
   */
  chunksize?: number;
  /**
   * Called with the map's progress as its chunks' items complete (each chunk reports at most
   * every `PROGRESS_INTERVAL_MS`, and once when it is done); the last report, `completed === total`,
   * comes before the result.
   */
  onProgress?: (progress: MapProgress) => void;
}

/** Options of `imap` and `imapUnordered` (its results are its progress: no `onProgress`). */
export interface IMapOptions extends TaskOptions {
  /** Items per task sent to a worker. @default 1 */
  chunksize?: number;
}

/** Options of `mapAsync` and `starmapAsync`. */
export interface MapAsyncOptions<R> extends MapOptions, ResultCallbacks<R[]> {}

/** Options of `applyAsync`. */
export interface ApplyAsyncOptions<R> extends ApplyOptions, ResultCallbacks<R> {}

/** Input of `map` and friends: any iterable, sync or async. */
export type Items<T> = Iterable<T> | AsyncIterable<T>;

/** The options of a call that passed none: one shared object, so the hot path allocates nothing. */
export const NO_OPTIONS: Readonly<Record<string, never>> = Object.freeze({});

/** Checks a call's options (quoting any bad value) and merges them over the pool's defaults. */
export function callPolicy(options: TaskOptions & ResultCallbacks<never> & { onProgress?: unknown }, defaults: TaskPolicy): TaskPolicy {
  if (options === NO_OPTIONS) return defaults;
  checkFunction(options.callback, 'callback');
  checkFunction(options.errorCallback, 'errorCallback');
  checkFunction(options.onProgress, 'onProgress');
  checkTimeout(options.timeout, 'timeout');
  checkTimeout(options.softTimeout, 'softTimeout');
  checkInteger(options.retries, 'retries', 0);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`Expected \`signal\` to be an AbortSignal, got \`${String(options.signal)}\`.`);
  }
  return {
    timeout: options.timeout ?? defaults.timeout,
    softTimeout: options.softTimeout ?? defaults.softTimeout,
    retries: options.retries ?? defaults.retries,
    abortable: options.signal !== undefined,
  };
}

/** Reads a whole iterable (map needs its length to size chunks); synchronous when it can be. */
export function collect<T>(items: Items<T>): T[] | Promise<T[]> {
  if (Array.isArray(items)) return items;
  if (typeof (items as Iterable<T>)[Symbol.iterator] === 'function') return Array.from(items as Iterable<T>);
  return (async () => {
    const out: T[] = [];
    for await (const item of items as AsyncIterable<T>) out.push(item);
    return out;
  })();
}

/**
 * The initializer's arguments, encoded now (captured as a call's are) the way task arguments are:
 * shared memory in them arrives attached in every worker.
 * @throws {SerializationError} if they cannot be serialized.
 */
export function encodeInitargs(initargs: readonly unknown[]): Buffer {
  try {
    return encodeArgs(initargs);
  } catch (error) {
    throw new SerializationError(`The initargs cannot be serialized: ${(error as Error).message}`, 'arguments', { cause: error });
  }
}

/**
 * A call's context, serialized now (the caller may change the object afterwards, as with arguments).
 * @throws {SerializationError} if it cannot be serialized.
 */
export function encodeContext(context: unknown): Buffer {
  try {
    return serialize(context);
  } catch (error) {
    throw new SerializationError(`The task's context cannot be serialized: ${(error as Error).message}`, 'arguments', { cause: error });
  }
}

/** Names a task function in an error before its id is known (an ES module still registering). */
export function label(fn: unknown): string {
  if (typeof fn === 'function') return `'${fn.name || '(anonymous)'}'`;
  const ref = fn as TaskRefData | null;
  return ref && typeof ref === 'object' ? `'${String(ref.name)}' (${String(ref.module)})` : String(fn);
}
