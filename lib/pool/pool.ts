import { EventEmitter } from 'node:events';
import { AbortError, InvalidArgumentError } from '../errors';
import { createLauncher } from '../launchers';
import type { StartMethod } from '../launchers/launcher';
import { resolvePoolOptions, type PoolOptions } from '../options';
import { resolveTask, type Task, type TaskFunction } from '../tasks/task-ref';
import { TaskKind, type TaskKindValue, type TaskRefData } from '../transport/protocol';
import { checkInteger, checkIterable } from '../validate';
import { AsyncResult, kReject, kResolve, type Completion } from './async-result';
import {
  NO_OPTIONS,
  callPolicy,
  collect,
  encodeInitargs,
  label,
  type ApplyAsyncOptions,
  type IMapOptions,
  type Items,
  type MapAsyncOptions,
  type MapOptions,
  type TaskOptions,
} from './call-options';
import type { PoolStats } from './counters';
import { PoolEngine } from './engine';
import type { TaskEngine } from './task-engine';
import { createClusterEngine } from '../cluster/engine';
import { PoolEventSink, type PoolEventMap } from './events';
import type { PoolState } from './lifecycle';
import { IMapIterator } from './imap';
import { CallJob, MapJob } from './jobs';
import type { PoolTask, TaskPolicy } from './task';

/** A function's result once awaited in the worker. */
type Result<F extends TaskFunction> = Awaited<ReturnType<F>>;

function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise;
}

/**
 * A plain Promise that follows `result`. `apply`, `map` and `starmap` return one: an ordinary
 * promise-returning call whose failure nobody handles must surface as an unhandled rejection,
 * unlike an AsyncResult, which keeps its error for `get()` as Python's does.
 */
function plain<T>(result: AsyncResult<T>): Promise<T> {
  return result.then();
}

function abortError(signal: AbortSignal): AbortError {
  return new AbortError('The task was aborted by its AbortSignal.', { cause: signal.reason });
}

/**
 * A pool of worker processes with Python's `multiprocessing.Pool` surface. Tasks are exported
 * functions (or `taskRef`s); they run in separate OS processes, so a task that crashes, leaks or
 * blocks costs that task and nothing else.
 *
 * Every submission reports problems through what it returns (a rejected promise, a failed
 * `AsyncResult`, an iterator that throws); none throws synchronously.
 *
 * Events (see {@link PoolEventMap}): `workerStart`, `workerExit` (with a reason), `taskQueued`,
 * `taskStart`, `taskSettled`.
 *
 * @example
 * await using pool = new Pool({ processes: 4 });
 * await pool.map(square, [1, 2, 3]); // [1, 4, 9]
 */
export class Pool extends EventEmitter<PoolEventMap> {
  readonly #engine: TaskEngine;
  readonly #startMethod: StartMethod;
  readonly #defaults: TaskPolicy;

  constructor(options: PoolOptions = {}) {
    super();
    const resolved = resolvePoolOptions(options);
    if (options.cluster !== undefined) {
      // Tasks run on `procpool agent` processes through Redis; local worker options are theirs.
      this.#startMethod = resolved.startMethod;
      this.#defaults = resolved.defaults;
      this.#engine = createClusterEngine(options.cluster);
      return;
    }
    this.#startMethod = resolved.startMethod;
    this.#defaults = resolved.defaults;
    const initializer = options.initializer === undefined ? undefined : resolveTask(options.initializer);
    const initargs = encodeInitargs(options.initargs ?? []);
    const init = (ref: TaskRefData | undefined) => ({
      preload: resolved.preload,
      initializer: ref,
      initargs,
      tsLoader: resolved.tsLoader,
      maxMemoryMb: resolved.maxMemoryMb,
    });
    this.#engine = new PoolEngine({
      processes: resolved.processes,
      minProcesses: resolved.minProcesses,
      idleTimeoutMs: resolved.idleTimeoutMs,
      maxTasksPerChild: resolved.maxTasksPerChild,
      maxStartFailures: resolved.maxStartFailures,
      killGracePeriodMs: resolved.killGracePeriodMs,
      abortGracePeriodMs: resolved.abortGracePeriodMs,
      events: new PoolEventSink(this),
      launcher: createLauncher(resolved.startMethod, resolved),
      launch: resolved.launch,
      init: isPromise(initializer) ? initializer.then(init) : init(initializer),
    });
  }

  /** Number of worker processes the pool keeps (at most). */
  get processes(): number {
    return this.#engine.processes;
  }

  /** How this pool starts its workers. */
  get startMethod(): StartMethod {
    return this.#startMethod;
  }

  /**
   * `'running'`, `'broken'` (workers kept failing to start: tasks reject with `WorkerStartError`),
   * `'closing'`, `'terminating'` or `'closed'`.
   */
  get state(): PoolState {
    return this.#engine.state;
  }

  /** Counters: workers, spares, queued/running/completed/failed tasks, crashes, recycles... */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /** Process ids of the live workers. */
  get pids(): number[] {
    return this.#engine.pids();
  }

  /**
   * Resolves once every worker is started and initialized. Never needed for correctness (tasks
   * wait for workers); useful to measure, or to keep start-up out of a timing.
   */
  ready(): Promise<void> {
    return this.#engine.ready();
  }

  /** Calls `fn(...args)` in a worker and resolves with its result (Python's `apply`). */
  apply<F extends TaskFunction>(fn: Task<F>, args?: Parameters<F>, options?: TaskOptions): Promise<Result<F>> {
    return plain(this.applyAsync(fn, args, options ?? NO_OPTIONS));
  }

  /** Calls `fn(...args)` in a worker; returns an {@link AsyncResult} at once. */
  applyAsync<F extends TaskFunction>(fn: Task<F>, args?: Parameters<F>, options: ApplyAsyncOptions<Result<F>> = NO_OPTIONS): AsyncResult<Result<F>> {
    const result = new AsyncResult<Result<F>>(options);
    try {
      const policy = callPolicy(options, this.#defaults);
      const input: unknown[] = args === undefined ? [] : args;
      if (!Array.isArray(input)) throw new InvalidArgumentError(`Expected \`args\` to be an array of arguments, got \`${String(input)}\`.`);
      const id = options.signal ? undefined : this.#functionId(fn);
      const engine = this.#engine;
      if (typeof id === 'number') {
        // The usual call: one task owned by its AsyncResult, and no closure or bookkeeping array.
        engine.submit(engine.createTask(id, TaskKind.Call, engine.encode(input, id), result, 0, policy));
        return result;
      }
      const lookup = id ?? this.#functionId(fn);
      const tasks: PoolTask[] = [];
      const done = this.#guard<Result<F>>(result, options.signal, tasks);
      // Encoded now even when the function's id comes later: the call captures its arguments.
      const payload = engine.encode(input, typeof lookup === 'number' ? lookup : label(fn));
      const owner = done === result ? result : new CallJob(done as Completion<unknown>);
      this.#withFunction(lookup, done, [payload], (fnId) => {
        const task = engine.createTask(fnId, TaskKind.Call, payload, owner, 0, policy);
        tasks.push(task);
        engine.submit(task);
      });
    } catch (error) {
      result[kReject](error);
    }
    return result;
  }

  /** `fn(item)` for every item, in parallel; resolves with the results in input order. */
  map<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: MapOptions): Promise<Awaited<R>[]> {
    return plain(this.#mapAsync<Awaited<R>>(fn, items, TaskKind.Map, options ?? NO_OPTIONS));
  }

  /** `map` returning an {@link AsyncResult} at once. */
  mapAsync<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: MapAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    return this.#mapAsync<Awaited<R>>(fn, items, TaskKind.Map, options ?? NO_OPTIONS);
  }

  /** `fn(...args)` for every argument list (Python's `starmap`). */
  starmap<P extends unknown[], R>(fn: Task<(...args: P) => R>, items: Items<P>, options?: MapOptions): Promise<Awaited<R>[]> {
    return plain(this.#mapAsync<Awaited<R>>(fn, items, TaskKind.Starmap, options ?? NO_OPTIONS));
  }

  /** `starmap` returning an {@link AsyncResult} at once. */
  starmapAsync<P extends unknown[], R>(fn: Task<(...args: P) => R>, items: Items<P>, options?: MapAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    return this.#mapAsync<Awaited<R>>(fn, items, TaskKind.Starmap, options ?? NO_OPTIONS);
  }

  /**
   * Lazy, ordered `map`: results arrive in input order as they are ready; the input is read as the
   * consumer goes (bounded look-ahead). A failed task throws at its place in the order.
   */
  imap<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: IMapOptions): IMapIterator<Awaited<R>> {
    return this.#imap(fn, items, options ?? {}, true);
  }

  /** Like `imap`, but results arrive in completion order. */
  imapUnordered<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: IMapOptions): IMapIterator<Awaited<R>> {
    return this.#imap(fn, items, options ?? {}, false);
  }

  /** Stops accepting tasks. Queued tasks still run; then the workers exit. Idempotent. */
  close(): void {
    this.#engine.close();
  }

  /**
   * Kills the workers now (SIGTERM to each worker's process group, SIGKILL after
   * `killGracePeriod`). Every task not finished rejects with `PoolTerminatedError`. Resolves when
   * every worker is gone.
   */
  terminate(): Promise<void> {
    return this.#engine.terminate();
  }

  /** Resolves when every worker has exited. Call `close()` or `terminate()` first. */
  join(): Promise<void> {
    return this.#engine.join();
  }

  /** `await using pool = new Pool()`: a graceful `close()` + `join()` at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  /**
   * Wires a call's AbortSignal: when it fires, the call rejects with `AbortError` and its tasks are
   * abandoned (dropped, or aborted in their worker). The listener goes when the call settles.
   */
  #guard<T>(done: Completion<T>, signal: AbortSignal | undefined, tasks: Iterable<PoolTask>): Completion<T> {
    if (!signal) return done;
    if (signal.aborted) throw abortError(signal);
    const onAbort = (): void => {
      done[kReject](abortError(signal));
      this.#engine.abandon(tasks, true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    return {
      [kResolve]: (value: T) => {
        signal.removeEventListener('abort', onAbort);
        done[kResolve](value);
      },
      [kReject]: (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        done[kReject](error);
      },
    };
  }

  /**
   * The engine's id for `fn`, or a promise of its reference while the ES module exporting it has
   * yet to register. Throws if the pool refuses work or `fn` is not a task.
   */
  #functionId(fn: unknown): number | Promise<TaskRefData> {
    const refusal = this.#engine.lifecycle.refusal();
    if (refusal) throw refusal;
    const ref = resolveTask(fn);
    return isPromise(ref) ? ref : this.#engine.functions.id(ref);
  }

  /** Hands the function's id to `submit`, once known; a late failure goes to `done` (and `payloads` are discarded). */
  #withFunction(id: number | Promise<TaskRefData>, done: Completion<never>, payloads: readonly Buffer[], submit: (fnId: number) => void): void {
    if (typeof id === 'number') {
      submit(id);
      return;
    }
    id.then((late) => {
      const lateRefusal = this.#engine.lifecycle.refusal();
      if (lateRefusal) throw lateRefusal;
      submit(this.#engine.functions.id(late));
    }).catch((error: unknown) => {
      // No task was made of these arguments: what they hold in shared memory is let go.
      this.#engine.discard(payloads);
      done[kReject](error);
    });
  }

  #mapAsync<R>(fn: unknown, items: Items<unknown>, kind: TaskKindValue, options: MapAsyncOptions<R>): AsyncResult<R[]> {
    const result = new AsyncResult<R[]>(options);
    try {
      const policy = callPolicy(options, this.#defaults);
      checkInteger(options.chunksize, 'chunksize', 1);
      checkIterable(items, 'items');
      const tasks: PoolTask[] = [];
      const done = this.#guard<R[]>(result, options.signal, tasks);
      const fail = (error: unknown): void => done[kReject](error);
      const engine = this.#engine;
      const start = (list: unknown[]): void => {
        const lookup = this.#functionId(fn);
        const size = options.chunksize ?? engine.defaultChunksize(list.length);
        const job = new MapJob(list.length, done as Completion<unknown[]>, (unwanted) => engine.abandon(unwanted, false));
        const submit = (fnId: number, offset: number, payload: Buffer): void => {
          const task = engine.createTask(fnId, kind, payload, job, offset, policy);
          job.add(task);
          tasks.push(task);
          engine.submit(task);
        };
        if (list.length === 0) {
          this.#withFunction(lookup, done, [], () => done[kResolve]([]));
        } else if (typeof lookup === 'number') {
          // Each chunk is captured and handed out in turn: a worker starts on the first while the
          // next are captured. A chunk that cannot be serialized fails the map (as in Python, the
          // chunks before it may have run).
          for (let offset = 0; offset < list.length && !job.failed; offset += size) {
            let payload: Buffer;
            try {
              payload = engine.encode(list.slice(offset, offset + size), lookup);
            } catch (error) {
              job.fail(error);
              return;
            }
            submit(lookup, offset, payload);
          }
        } else {
          // The function's ES module is still registering: every chunk is captured now, at the call.
          const chunks: { offset: number; payload: Buffer }[] = [];
          try {
            for (let offset = 0; offset < list.length; offset += size) chunks.push({ offset, payload: engine.encode(list.slice(offset, offset + size), label(fn)) });
          } catch (error) {
            engine.discard(chunks.map((c) => c.payload));
            throw error;
          }
          this.#withFunction(lookup, done, chunks.map((c) => c.payload), (fnId) => {
            for (const { offset, payload } of chunks) submit(fnId, offset, payload);
          });
        }
      };
      const list = collect(items);
      if (isPromise(list)) list.then(start).catch(fail);
      else start(list);
    } catch (error) {
      result[kReject](error);
    }
    return result;
  }

  #imap<T>(fn: unknown, items: Items<unknown>, options: IMapOptions, ordered: boolean): IMapIterator<T> {
    let fnId: number | Promise<number>;
    let policy: TaskPolicy = {};
    try {
      policy = callPolicy(options, this.#defaults);
      checkInteger(options.chunksize, 'chunksize', 1);
      checkIterable(items, 'items');
      if (options.signal?.aborted) throw abortError(options.signal);
      const refusal = this.#engine.lifecycle.refusal();
      if (refusal) throw refusal;
      const ref = resolveTask(fn);
      const functions = this.#engine.functions;
      fnId = isPromise(ref) ? ref.then((r) => functions.id(r)) : functions.id(ref);
    } catch (error) {
      fnId = Promise.reject(error);
      items = [];
    }
    return new IMapIterator<T>({
      engine: this.#engine,
      fnId,
      source: items,
      kind: TaskKind.Map,
      chunksize: options.chunksize ?? 1,
      ordered,
      policy,
      signal: options.signal,
      abortError,
    });
  }
}
