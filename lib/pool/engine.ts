import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import { serialize } from 'node:v8';
import {
  InvalidStateError,
  PoolClosedError,
  PoolTerminatedError,
  SerializationError,
  WorkerLostError,
  WorkerStartError,
} from '../errors';
import type { Launcher, LaunchOptions } from '../launchers/launcher';
import { describeTask } from '../tasks/task-ref';
import type { TaskKindValue, TaskRefData, WorkerInit } from '../transport/protocol';
import { Deque } from './deque';
import { PoolTask, type TaskOwner } from './task';
import { PoolWorker, type WorkerExit, type WorkerListener } from './worker';

/**
 * Where a pool is in its life. `running` accepts tasks; `closing` finishes queued work and then
 * lets workers exit; `terminating` kills them; `closed` is final.
 */
export type PoolState = 'running' | 'closing' | 'terminating' | 'closed';

/** A snapshot of a pool's counters (`pool.stats()`). */
export interface PoolStats {
  /** Worker processes alive (starting, ready or finishing before they exit). */
  readonly workers: number;
  /** Workers ready for tasks. */
  readonly readyWorkers: number;
  /** `'fork'`: initialized spares ready for a hand-over. */
  readonly spares: number;
  /** Tasks waiting for a worker (a map chunk counts as one task). */
  readonly queued: number;
  /** Tasks sent to workers and not yet answered. */
  readonly running: number;
  /** Tasks that completed successfully. */
  readonly completed: number;
  /** Tasks that failed (threw, lost their worker, could not be serialized...). */
  readonly failed: number;
  /** Workers that died unexpectedly after they were ready. */
  readonly crashes: number;
  /** Workers replaced on purpose (`maxTasksPerChild`). */
  readonly recycles: number;
  /** Starts that failed (initializer threw, died before ready), in the pool's life. */
  readonly startFailures: number;
}

/** Everything the engine needs, with every default already applied. */
export interface EngineConfig {
  readonly processes: number;
  readonly maxTasksPerChild: number | undefined;
  readonly maxStartFailures: number;
  readonly killGracePeriodMs: number;
  readonly launcher: Launcher;
  readonly launch: LaunchOptions;
  /** How workers are initialized; a promise while an ESM initializer is looked up. */
  readonly init: WorkerInit | Promise<WorkerInit>;
}

/** `NODE_DEBUG=procpool` logs each worker's life. */
const debug = debuglog('procpool');

/** A worker should hold about this much work once task durations are known. */
const BATCH_TARGET_MS = 2;
/**
 * Tasks at least this long go one at a time: a worker idles one round trip (~0.2 ms) between them,
 * but a task never waits behind a slow one on a busy worker while another worker is free.
 */
const SLOW_TASK_MS = 1;
const MAX_DEPTH = 512;

/**
 * The scheduler and lifecycle of a pool, written once: one queue, per-worker in-flight lists, one
 * explicit state. The public `Pool` only validates arguments and shapes tasks; everything that
 * happens to a task after submission happens here.
 */
export class PoolEngine implements WorkerListener {
  state: PoolState = 'running';
  readonly processes: number;
  readonly #config: EngineConfig;
  readonly #queue = new Deque<PoolTask>();
  readonly #workers = new Set<PoolWorker>();
  readonly #fnIds = new Map<string, number>();
  readonly #fnRefs: TaskRefData[] = [];
  #init: WorkerInit | undefined;
  /** Launches requested and not yet answered by the launcher. */
  #launching = 0;
  #announcedReady = false;
  #broken: WorkerStartError | Error | undefined;
  #nextTaskId = 1;
  #startFailures = 0;
  #producers = 0;
  #dispatchScheduled = false;
  #referenced = true;
  #completed = 0;
  #failed = 0;
  #crashes = 0;
  #recycles = 0;
  #totalStartFailures = 0;
  /**
   * Moving average of how long a task takes in a worker, in ms, per function and kind (a map chunk
   * and a single call of the same function differ): index `fnId * 3 + kind`; 0 = not measured yet.
   */
  readonly #taskMs: number[] = [];
  #readyWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  readonly #closed: Promise<void>;
  #markClosed!: () => void;

  constructor(config: EngineConfig) {
    this.#config = config;
    this.processes = config.processes;
    this.#closed = new Promise((resolve) => (this.#markClosed = resolve));
    if (config.init instanceof Promise) {
      config.init.then(
        (init) => {
          this.#init = init;
          this.#scheduleDispatch();
        },
        (error: unknown) => this.#break(error instanceof Error ? error : new Error(String(error))),
      );
    } else {
      this.#init = config.init;
    }
    this.#ensureWorkers();
    this.#updateRef();
  }

  /** Why a new task cannot be accepted now, or undefined if it can. */
  acceptError(): Error | undefined {
    if (this.state !== 'running') return new PoolClosedError();
    return this.#broken;
  }

  /** A small stable id for a task function; the worker learns each id once. */
  fnId(ref: TaskRefData): number {
    const key = `${ref.module}\0${ref.name}`;
    let id = this.#fnIds.get(key);
    if (id === undefined) {
      id = this.#fnRefs.length;
      this.#fnRefs.push(ref);
      this.#fnIds.set(key, id);
      this.#config.launcher.learnModule(ref.module);
    }
    return id;
  }

  /**
   * Serializes a task's input now, so that unserializable arguments fail this task alone.
   * @throws {SerializationError}
   */
  createTask(fnId: number, kind: TaskKindValue, input: unknown[], owner: TaskOwner, index: number): PoolTask {
    let payload: Buffer;
    try {
      payload = serialize(input);
    } catch (error) {
      throw new SerializationError(
        `The arguments of task ${describeTask(this.#fnRefs[fnId])} cannot be serialized: ${(error as Error).message}. ` +
          'Pass data the V8 serializer accepts: no functions, symbols, sockets or class instances with private state.',
        'arguments',
        { cause: error },
      );
    }
    const id = this.#nextTaskId;
    this.#nextTaskId = id === 0xffffffff ? 1 : id + 1;
    return new PoolTask(id, fnId, kind, payload, owner, index);
  }

  /**
   * Queues a task. Tasks of producers that started before `close()` (imap iterators) are still
   * accepted while the pool is closing; after `terminate()` or a start failure nothing is.
   */
  submit(task: PoolTask): void {
    const refusal = this.state === 'running' || this.state === 'closing' ? this.#broken : new PoolTerminatedError();
    if (refusal) {
      task.owner.settle(task, false, refusal);
      return;
    }
    this.#queue.push(task);
    this.#scheduleDispatch();
  }

  /** A lazy producer (imap) holds the pool open while it may still submit tasks. */
  holdOpen(): () => void {
    this.#producers++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#producers--;
      this.#scheduleDispatch();
    };
  }

  /** Resolves once `processes` workers are up and initialized. */
  ready(): Promise<void> {
    const refusal = this.state === 'running' ? this.#broken : new PoolClosedError('The pool is closed; it will not become ready.');
    if (refusal) return Promise.reject(refusal);
    if (this.#countReady() >= this.processes) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#readyWaiters.push({ resolve, reject });
      this.#updateRef();
    });
  }

  /** The pool's counters now. */
  stats(): PoolStats {
    let running = 0;
    let ready = 0;
    for (const w of this.#workers) {
      running += w.inFlight.length;
      if (w.state === 'ready') ready++;
    }
    return {
      workers: this.#workers.size,
      readyWorkers: ready,
      spares: this.#config.launcher.readySpares(),
      queued: this.#queue.length,
      running,
      completed: this.#completed,
      failed: this.#failed,
      crashes: this.#crashes,
      recycles: this.#recycles,
      startFailures: this.#totalStartFailures,
    };
  }

  /** Process ids of the workers alive now. */
  pids(): number[] {
    return [...this.#workers].filter((w) => w.state !== 'exited' && w.pid > 0).map((w) => w.pid);
  }

  /** Stops accepting tasks; queued tasks still run, then workers exit. */
  close(): void {
    if (this.state !== 'running') return;
    this.state = 'closing';
    this.#failReadyWaiters(new PoolClosedError('The pool was closed before it became ready.'));
    this.#dispatch();
  }

  /** Kills every worker; every task not yet finished rejects with `PoolTerminatedError`. */
  terminate(): Promise<void> {
    if (this.state === 'closed' || this.state === 'terminating') return this.#closed;
    this.state = 'terminating';
    const error = new PoolTerminatedError();
    for (const task of this.#queue.drain()) if (!task.cancelled) task.owner.settle(task, false, error);
    for (const worker of this.#workers) {
      for (const task of worker.inFlight.drain()) if (!task.cancelled) task.owner.settle(task, false, error);
      worker.terminate(this.#config.killGracePeriodMs);
    }
    this.#failReadyWaiters(error);
    this.#maybeClosed();
    this.#updateRef();
    return this.#closed;
  }

  /** Resolves when every worker has exited after `close()` or `terminate()`. */
  join(): Promise<void> {
    if (this.state === 'running') {
      return Promise.reject(new InvalidStateError('join() waits for the workers to exit: call close() or terminate() first.'));
    }
    return this.#closed;
  }

  // --- WorkerListener -------------------------------------------------------------------------

  workerReady(worker: PoolWorker): void {
    debug('%s (pid %d) ready', worker.name, worker.pid);
    this.#startFailures = 0;
    worker.busySince = performance.now();
    if (this.#countReady() >= this.processes) {
      const waiters = this.#readyWaiters;
      this.#readyWaiters = [];
      for (const waiter of waiters) waiter.resolve();
      if (!this.#announcedReady) {
        this.#announcedReady = true;
        this.#config.launcher.poolReady();
      }
    }
    this.#scheduleDispatch();
  }

  taskDone(worker: PoolWorker, task: PoolTask, ok: boolean, value: unknown): void {
    const now = performance.now();
    const took = now - worker.busySince;
    worker.busySince = now;
    const key = task.fnId * 3 + task.kind;
    const average = this.#taskMs[key] ?? 0;
    this.#taskMs[key] = average === 0 ? took : average * 0.8 + took * 0.2;
    if (ok) this.#completed++;
    else this.#failed++;
    if (!task.cancelled) task.owner.settle(task, ok, value);
    this.#scheduleDispatch();
  }

  workerExited(worker: PoolWorker, exit: WorkerExit): void {
    debug('%s (pid %d) exited: code %s, signal %s, %d unanswered', worker.name, worker.pid, exit.exitCode, exit.signal, exit.unanswered.length);
    this.#workers.delete(worker);
    if (this.state === 'terminating') {
      this.#maybeClosed();
      return;
    }
    this.#recordExit(exit, worker);
    this.#dispatch();
  }

  #recordExit(exit: WorkerExit, worker?: PoolWorker): void {
    if (exit.wasReady && (exit.unanswered.length > 0 || worker?.stopRequested === false)) this.#crashes++;
    if (!exit.wasReady) {
      this.#startFailed(exit);
    } else if (exit.unanswered.length) {
      const [running, ...notStarted] = exit.unanswered;
      for (let i = notStarted.length - 1; i >= 0; i--) this.#queue.unshift(notStarted[i]);
      if (!running.received) {
        this.#queue.unshift(running);
      } else if (!running.cancelled) {
        this.#failed++;
        running.owner.settle(running, false, new WorkerLostError(exit, `task ${describeTask(this.#fnRefs[running.fnId])}`));
      }
    }
  }

  // --- scheduling -----------------------------------------------------------------------------

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    // One dispatch after the current burst of submissions or results, not one per event.
    queueMicrotask(() => this.#dispatch());
  }

  /**
   * How many tasks a worker should hold. Unknown or slow tasks: one (fair). Quick tasks: enough for
   * ~BATCH_TARGET_MS of work, and at least two, so the next is already there when one ends.
   */
  #depth(task: PoolTask): number {
    const average = this.#taskMs[task.fnId * 3 + task.kind] ?? 0;
    if (average <= 0 || average >= SLOW_TASK_MS) return 1;
    return Math.max(2, Math.min(MAX_DEPTH, Math.round(BATCH_TARGET_MS / average)));
  }

  #dispatch(): void {
    this.#dispatchScheduled = false;
    if (this.state === 'terminating' || this.state === 'closed') return;
    const ready = [...this.#workers].filter((w) => w.state === 'ready');
    if (ready.length && this.#queue.length) this.#assign(ready);
    if (this.state === 'closing' && this.#queue.length === 0 && this.#producers === 0) {
      for (const worker of this.#workers) if (worker.state === 'ready' || worker.state === 'starting') worker.stop();
    }
    this.#ensureWorkers();
    this.#maybeClosed();
    this.#updateRef();
  }

  /** Hands queued tasks to ready workers, least loaded first, one frame per worker. */
  #assign(ready: PoolWorker[]): void {
    const limit = this.#config.maxTasksPerChild;
    const batches: PoolTask[][] = ready.map(() => []);
    const loads = ready.map((w) => w.inFlight.length);
    const quota = ready.map((w) => (limit === undefined ? Infinity : limit - w.dispatched));
    while (this.#queue.length) {
      const next = this.#queue.peek() as PoolTask;
      if (next.cancelled) {
        this.#queue.shift();
        continue;
      }
      const depth = this.#depth(next);
      let best = -1;
      for (let i = 0; i < ready.length; i++) {
        if (loads[i] < depth && quota[i] > 0 && (best < 0 || loads[i] < loads[best])) best = i;
      }
      if (best < 0) break;
      const task = this.#queue.shift() as PoolTask;
      batches[best].push(task);
      loads[best]++;
      quota[best]--;
    }
    const now = performance.now();
    for (let i = 0; i < ready.length; i++) {
      if (!batches[i].length) continue;
      const worker = ready[i];
      if (worker.inFlight.length === 0) worker.busySince = now;
      worker.send(batches[i], (fnId) => this.#fnRefs[fnId]);
      // maxTasksPerChild: a worker that got its last task retires after it; a fresh one replaces it.
      if (quota[i] <= 0) {
        this.#recycles++;
        worker.stop();
      }
    }
  }

  #countReady(): number {
    let n = 0;
    for (const w of this.#workers) if (w.state === 'ready') n++;
    return n;
  }

  #ensureWorkers(): void {
    if (this.#broken || !this.#init) return;
    if (this.state === 'terminating' || this.state === 'closed') return;
    if (this.state === 'closing' && this.#queue.length === 0) return;
    let live = this.#launching;
    for (const w of this.#workers) if (w.state === 'starting' || w.state === 'ready') live++;
    for (; live < this.processes; live++) this.#spawn();
  }

  #spawn(): void {
    this.#launching++;
    const request = { options: this.#config.launch, init: this.#init as WorkerInit, namePrefix: 'PoolWorker' };
    this.#config.launcher.launch(request).then(
      (child) => {
        this.#launching--;
        if (this.#referenced) child.ref();
        else child.unref();
        const worker = new PoolWorker(child, this);
        debug('%s (pid %d) launched by %s', worker.name, worker.pid, this.#config.launcher.method);
        this.#workers.add(worker);
        // Terminated while it was being launched: it goes at once, through the usual exit path.
        if (this.state === 'terminating' || this.state === 'closed') worker.terminate(0);
        else this.#scheduleDispatch();
      },
      (error: unknown) => {
        this.#launching--;
        const spawnError = error instanceof Error ? error : new Error(String(error));
        this.#launchFailed(spawnError);
      },
    );
  }

  /** A launch that never produced a process counts as a failed start. */
  #launchFailed(spawnError: Error): void {
    if (this.state === 'terminating' || this.state === 'closed') {
      this.#maybeClosed();
      return;
    }
    this.#recordExit({ pid: 0, exitCode: null, signal: null, stderr: [], wasReady: false, spawnError, unanswered: [] });
    this.#dispatch();
  }

  #startFailed(exit: WorkerExit): void {
    this.#startFailures++;
    this.#totalStartFailures++;
    const init = this.#init;
    let reason: string;
    let cause: unknown;
    if (exit.initError !== undefined) {
      const what = init?.initializer ? `the initializer ${describeTask(init.initializer)}` : 'a preload module';
      reason = `${what} threw: ${String((exit.initError as Error)?.message ?? exit.initError)}`;
      cause = exit.initError;
    } else if (exit.spawnError) {
      reason = `the process could not be started: ${exit.spawnError.message}`;
      cause = exit.spawnError;
    } else {
      cause = new WorkerLostError(exit, 'its start-up');
      reason = (cause as Error).message;
    }
    if (this.#startFailures < this.#config.maxStartFailures) return;
    this.#break(
      new WorkerStartError(
        `Workers failed to start ${this.#startFailures} times in a row, so the pool stopped starting them. ` +
          `Last failure: ${reason}`,
        this.#startFailures,
        cause,
      ),
    );
  }

  /** Stops respawning: queued and future tasks reject with `error`; live workers finish and exit. */
  #break(error: Error): void {
    if (this.#broken) return;
    this.#broken = error;
    for (const task of this.#queue.drain()) if (!task.cancelled) task.owner.settle(task, false, error);
    for (const worker of this.#workers) worker.stop();
    this.#failReadyWaiters(error);
    this.#scheduleDispatch();
  }

  #failReadyWaiters(error: unknown): void {
    const waiters = this.#readyWaiters;
    this.#readyWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  #maybeClosed(): void {
    if (this.state === 'running' || this.state === 'closed' || this.#workers.size > 0 || this.#launching > 0) return;
    if (this.state === 'closing' && (this.#queue.length > 0 || this.#producers > 0) && !this.#broken) return;
    this.state = 'closed';
    void this.#config.launcher.close().finally(this.#markClosed);
  }

  /**
   * Worker handles keep the event loop alive only while there is something to wait for, so a script
   * that forgets `close()` still exits (its workers are then killed by the exit hook).
   */
  #updateRef(): void {
    let busy = this.#queue.length > 0 || this.#readyWaiters.length > 0 || this.state === 'closing' || this.state === 'terminating';
    if (!busy) for (const w of this.#workers) if (w.inFlight.length) busy = true;
    if (busy === this.#referenced) return;
    this.#referenced = busy;
    debug('pool %s the event loop', busy ? 'holds' : 'releases');
    for (const w of this.#workers) {
      if (busy) w.child.ref();
      else w.child.unref();
    }
  }
}
