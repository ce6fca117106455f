import { EventEmitter } from 'node:events';
import { createLauncher } from '../launchers';
import type { StartMethod } from '../launchers/launcher';
import { resolvePoolOptions, type PoolOptions } from '../options';
import { resolveTask, type Task, type TaskFunction } from '../tasks/task-ref';
import { TaskKind, type TaskRefData } from '../transport/protocol';
import { checkFunction } from '../validate';
import { AsyncResult } from './async-result';
import {
  NO_OPTIONS,
  encodeInitargs,
  type ApplyAsyncOptions,
  type ApplyOptions,
  type IMapOptions,
  type Items,
  type MapAsyncOptions,
  type MapOptions,
} from './call-options';
import type { PoolStats } from './counters';
import { PoolEngine } from './engine';
import type { TaskEngine } from './task-engine';
import { createClusterEngine } from '../cluster/engine';
import { PoolEventSink, type PoolEventMap } from './events';
import type { PoolState } from './lifecycle';
import type { IMapIterator } from './imap';
import { shutdown, type ShutdownOptions, type ShutdownResult } from './shutdown';
import { Submitter } from './submit';

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

/**
 * A pool of worker processes with Python's `multiprocessing.Pool` surface. Tasks are exported
 * functions (or `taskRef`s); they run in separate OS processes, so a task that crashes, leaks or
 * blocks costs that task and nothing else.
 *
 * Every submission reports problems through what it returns (a rejected promise, a failed
 * `AsyncResult`, an iterator that throws); none throws synchronously.
 *
 * Events (see {@link PoolEventMap}): `workerStart`, `workerExit` (with a reason), `taskQueued`,
 * `taskStart`, `taskSettled`, and `drain` (the queue fell below `maxQueue`). The same events go to
 * `node:diagnostics_channel` (`procpool:task:*`, `procpool:worker:*`) for tracing tools. A cluster
 * pool (`cluster` option) emits `taskQueued`, `taskSettled` and `drain` only.
 *
 * @example
 * await using pool = new Pool({ processes: 4 });
 * await pool.map(square, [1, 2, 3]); // [1, 4, 9]
 */
export class Pool extends EventEmitter<PoolEventMap> {
  readonly #engine: TaskEngine;
  readonly #startMethod: StartMethod;
  readonly #submitter: Submitter;
  #shutdown: Promise<ShutdownResult> | undefined;

  constructor(options: PoolOptions = {}) {
    super();
    const resolved = resolvePoolOptions(options);
    this.#startMethod = resolved.startMethod;
    checkFunction(options.context, 'context');
    if (options.cluster !== undefined) {
      // Tasks run on `procpool agent` processes through Redis; local worker options are theirs.
      this.#engine = createClusterEngine(options.cluster, { events: new PoolEventSink(this), maxQueue: resolved.maxQueue });
      this.#submitter = new Submitter(this.#engine, resolved.defaults, options.context);
      return;
    }
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
      maxQueue: resolved.maxQueue,
    });
    this.#submitter = new Submitter(this.#engine, resolved.defaults, options.context);
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

  /**
   * Counters: workers, spares, queued/running/completed/failed tasks, crashes, recycles... A
   * cluster pool counts its agents' processes as workers and does not time their tasks: its
   * `runTime`/`waitTime` are empty and its `utilization` 0.
   */
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
  apply<F extends TaskFunction>(fn: Task<F>, args?: Parameters<F>, options?: ApplyOptions): Promise<Result<F>> {
    return plain(this.applyAsync(fn, args, options ?? NO_OPTIONS));
  }

  /** Calls `fn(...args)` in a worker; returns an {@link AsyncResult} at once. */
  applyAsync<F extends TaskFunction>(fn: Task<F>, args?: Parameters<F>, options: ApplyAsyncOptions<Result<F>> = NO_OPTIONS): AsyncResult<Result<F>> {
    const result = new AsyncResult<Result<F>>(options);
    this.#submitter.apply(fn, args, options, result);
    return result;
  }

  /** `fn(item)` for every item, in parallel; resolves with the results in input order. */
  map<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: MapOptions): Promise<Awaited<R>[]> {
    return plain(this.#map<Awaited<R>>(fn, items, TaskKind.Map, options ?? NO_OPTIONS, false));
  }

  /** `map` returning an {@link AsyncResult} at once. */
  mapAsync<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: MapAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    return this.#map<Awaited<R>>(fn, items, TaskKind.Map, options ?? NO_OPTIONS, true);
  }

  /** `fn(...args)` for every argument list (Python's `starmap`). */
  starmap<P extends unknown[], R>(fn: Task<(...args: P) => R>, items: Items<P>, options?: MapOptions): Promise<Awaited<R>[]> {
    return plain(this.#map<Awaited<R>>(fn, items, TaskKind.Starmap, options ?? NO_OPTIONS, false));
  }

  /** `starmap` returning an {@link AsyncResult} at once. */
  starmapAsync<P extends unknown[], R>(fn: Task<(...args: P) => R>, items: Items<P>, options?: MapAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    return this.#map<Awaited<R>>(fn, items, TaskKind.Starmap, options ?? NO_OPTIONS, true);
  }

  /**
   * Lazy, ordered `map`: results arrive in input order as they are ready; the input is read as the
   * consumer goes (bounded look-ahead). A failed task throws at its place in the order.
   */
  imap<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: IMapOptions): IMapIterator<Awaited<R>> {
    return this.#submitter.imap(fn, items, options ?? {}, true);
  }

  /** Like `imap`, but results arrive in completion order. */
  imapUnordered<A, R>(fn: Task<(item: A) => R>, items: Items<A>, options?: IMapOptions): IMapIterator<Awaited<R>> {
    return this.#submitter.imap(fn, items, options ?? {}, false);
  }

  /**
   * Whether the queue holds `maxQueue` tasks: a producer should wait for the `'drain'` event
   * before it submits more. Always false without `maxQueue`.
   */
  get queueFull(): boolean {
    return this.#engine.queued() >= this.#engine.pressure.maxQueue;
  }

  /** Resolves once no task waits in the queue (running ones may still be running); p-queue's `onEmpty`. */
  drained(): Promise<void> {
    return this.#engine.pressure.drained(this.#engine.queued());
  }

  /** Resolves once no task waits in the queue or runs in a worker; p-queue's `onIdle`. */
  idle(): Promise<void> {
    return this.#engine.idle();
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

  /**
   * A service's shutdown: refuses new work at once (`close()`), lets queued and running tasks
   * finish, and at `timeout` terminates what is left (those tasks reject with
   * `PoolTerminatedError`). Resolves, once every worker is gone, with how many tasks finished and
   * how many were cut. Calling it again returns the same promise.
   *
   * @example
   * process.once('SIGTERM', async () => {
   *   server.close();
   *   const { completed, terminated } = await pool.shutdown({ timeout: 10_000 });
   *   log.info({ completed, terminated }, 'pool shut down');
   * });
   */
  shutdown(options: ShutdownOptions = {}): Promise<ShutdownResult> {
    return (this.#shutdown ??= shutdown(this.#engine, options));
  }

  /** `await using pool = new Pool()`: a graceful `close()` + `join()` at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  #map<R>(fn: unknown, items: Items<unknown>, kind: typeof TaskKind.Map | typeof TaskKind.Starmap, options: MapAsyncOptions<R>, async: boolean): AsyncResult<R[]> {
    const result = new AsyncResult<R[]>(options);
    // An AsyncResult may get 'progress' listeners after the call: its chunks count their items.
    this.#submitter.map<R>(fn, items, kind, options, result, async);
    return result;
  }
}
