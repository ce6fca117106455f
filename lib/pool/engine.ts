import { performance } from 'node:perf_hooks';
import { debuglog } from 'node:util';
import {
  InvalidStateError,
  PoolClosedError,
  PoolTerminatedError,
  SerializationError,
  TaskTimeoutError,
  WorkerLostError,
  WorkerStartError,
} from '../errors';
import type { Launcher, LaunchOptions } from '../launchers/launcher';
import { describeTask } from '../tasks/task-ref';
import { BufferPool } from '../transport/buffer-pool';
import { encodeArgs } from '../transport/payload';
import type { TaskKindValue, TaskRefData, WorkerInit } from '../transport/protocol';
import { Deque } from './deque';
import type { PoolEventSink } from './events';
import { PoolTask, type TaskOwner, type TaskPolicy } from './task';
import { PoolWorker, type WorkerExit, type WorkerExitReason, type WorkerListener } from './worker';

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
  /** Workers replaced on purpose (`maxTasksPerChild`, `maxMemoryPerChild`). */
  readonly recycles: number;
  /** Starts that failed (initializer threw, died before ready), in the pool's life. */
  readonly startFailures: number;
  /** Tasks run again after their worker died (`retries`). */
  readonly retried: number;
  /** Tasks that ran past their hard `timeout`. */
  readonly timedOut: number;
  /** Tasks cancelled through their AbortSignal. */
  readonly aborted: number;
}

/** Everything the engine needs, with every default already applied. */
export interface EngineConfig {
  readonly processes: number;
  /** Workers kept when idle workers retire (`idleTimeout`). */
  readonly minProcesses: number;
  /** Ms a worker may idle before it retires (down to `minProcesses`); undefined: never. */
  readonly idleTimeoutMs: number | undefined;
  readonly maxTasksPerChild: number | undefined;
  readonly maxStartFailures: number;
  readonly killGracePeriodMs: number;
  readonly abortGracePeriodMs: number;
  readonly events: PoolEventSink;
  readonly launcher: Launcher;
  readonly launch: LaunchOptions;
  /** How workers are initialized; a promise while an ESM initializer is looked up. */
  readonly init: WorkerInit | Promise<WorkerInit>;
}

/** Why a worker left: what the pool asked for, unless it died some other way first. */
function exitReason(exit: WorkerExit): WorkerExitReason {
  if (!exit.wasReady) return exit.requested && exit.initError === undefined ? exit.requested : 'start-failed';
  const forced = exit.requested === 'timeout' || exit.requested === 'aborted' || exit.requested === 'terminated';
  if (forced) return exit.requested as WorkerExitReason;
  const clean = exit.exitCode === 0 && exit.signal === null && exit.unanswered.every((t) => t.cancelled);
  return exit.requested && clean ? exit.requested : 'crashed';
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
  /** The same reference object again (the usual case: one exported function) skips the key string. */
  #lastRef: TaskRefData | undefined;
  #lastFnId = 0;
  readonly #fnRefs: TaskRefData[] = [];
  readonly #buffers = new BufferPool();
  #init: WorkerInit | undefined;
  /** Launches requested and not yet answered by the launcher. */
  #launching = 0;
  #announcedReady = false;
  /** Whether the first workers have been requested (idle shrinking only starts after that). */
  #filled = false;
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
  #retried = 0;
  #timedOut = 0;
  #aborted = 0;
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
    this.#filled = true;
    this.#updateRef();
  }

  /** Why a new task cannot be accepted now, or undefined if it can. */
  acceptError(): Error | undefined {
    if (this.state !== 'running') return new PoolClosedError();
    return this.#broken;
  }

  /** A small stable id for a task function; the worker learns each id once. */
  fnId(ref: TaskRefData): number {
    if (ref === this.#lastRef) return this.#lastFnId;
    const key = `${ref.module}\0${ref.name}`;
    let id = this.#fnIds.get(key);
    if (id === undefined) {
      id = this.#fnRefs.length;
      this.#fnRefs.push(ref);
      this.#fnIds.set(key, id);
      this.#config.launcher.learnModule(ref.module);
    }
    this.#lastRef = ref;
    this.#lastFnId = id;
    return id;
  }

  /** A task of function `fnId`; its input is encoded when it is first sent. */
  createTask(fnId: number, kind: TaskKindValue, input: unknown[], owner: TaskOwner, index: number, policy?: TaskPolicy): PoolTask {
    const id = this.#nextTaskId;
    this.#nextTaskId = id === 0xffffffff ? 1 : id + 1;
    return new PoolTask(id, fnId, kind, input, owner, index, policy);
  }

  /** Encodes a task's input for sending; an input that cannot be serialized fails the task. */
  #encode(task: PoolTask): boolean {
    if (task.payload) return true;
    try {
      task.payload = encodeArgs(task.input ?? [], this.#buffers);
      task.input = undefined;
      return true;
    } catch (error) {
      this.#settle(
        task,
        false,
        new SerializationError(
          `The arguments of task ${describeTask(this.#fnRefs[task.fnId])} cannot be serialized: ${(error as Error).message}. ` +
            'Pass data the V8 serializer accepts: no functions, symbols, sockets or class instances with private state.',
          'arguments',
          { cause: error },
        ),
      );
      return false;
    }
  }

  /**
   * Queues a task. Tasks of producers that started before `close()` (imap iterators) are still
   * accepted while the pool is closing; after `terminate()` or a start failure nothing is.
   */
  submit(task: PoolTask): void {
    const refusal = this.state === 'running' || this.state === 'closing' ? this.#broken : new PoolTerminatedError();
    if (refusal) {
      task.settle(false, refusal);
      return;
    }
    this.#queue.push(task);
    if (this.#config.events.wants('taskQueued')) this.#config.events.emit('taskQueued', { id: task.id, task: this.#fnRefs[task.fnId] });
    this.#scheduleDispatch();
  }

  /**
   * The caller gave up on these tasks (its AbortSignal fired; the owner has already rejected):
   * queued ones are dropped, held ones are aborted in their worker, and a running one that does
   * not stop within the abort grace period costs its worker.
   */
  abandon(tasks: Iterable<PoolTask>): void {
    for (const task of tasks) {
      const holder = task.holder;
      const wasSettled = task.cancelled;
      task.cancelled = true;
      if (!wasSettled) this.#aborted++;
      if (holder) holder.abort(task, this.#config.abortGracePeriodMs);
    }
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
    if (this.#countReady() >= this.#target()) return Promise.resolve();
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
      retried: this.#retried,
      timedOut: this.#timedOut,
      aborted: this.#aborted,
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
    for (const task of this.#queue.drain()) task.settle(false, error);
    for (const worker of this.#workers) {
      for (const task of worker.inFlight.drain()) task.settle(false, error);
      worker.terminate(this.#config.killGracePeriodMs, 'terminated');
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
    this.#config.events.emit('workerStart', { pid: worker.pid, name: worker.name, startMethod: this.#config.launcher.method });
    if (this.#countReady() >= this.#target()) {
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
    // The worker has read the whole task: its payload's memory can serve the next one.
    if (task.payload && task.payload.length >= this.#buffers.minSize) this.#buffers.release(task.payload);
    task.payload = undefined;
    if (!task.cancelled) this.#settle(task, ok, value);
    if (this.#config.idleTimeoutMs !== undefined && worker.inFlight.length === 0) this.#armIdle(worker);
    this.#scheduleDispatch();
  }

  taskOverdue(worker: PoolWorker, task: PoolTask, why: 'timeout' | 'aborted'): void {
    if (worker.state === 'exited' || worker.inFlight.peek() !== task) return;
    if (why === 'timeout' && !task.cancelled) {
      this.#timedOut++;
      const limit = task.policy.timeout as number;
      this.#settle(task, false, new TaskTimeoutError(limit, 'hard', `Task ${describeTask(this.#fnRefs[task.fnId])}`));
    }
    debug('%s (pid %d): task %d %s; killing the worker', worker.name, worker.pid, task.id, why === 'timeout' ? 'timed out' : 'ignored its abort');
    worker.terminate(this.#config.killGracePeriodMs, why);
    this.#scheduleDispatch();
  }

  workerOverMemory(worker: PoolWorker): void {
    if (worker.state !== 'ready') return;
    debug('%s (pid %d) is over maxMemoryPerChild; retiring it', worker.name, worker.pid);
    this.#recycles++;
    worker.stop('memory');
    this.#scheduleDispatch();
  }

  /** Settles a task and counts it. */
  #settle(task: PoolTask, ok: boolean, value: unknown): void {
    if (ok) this.#completed++;
    else this.#failed++;
    task.settle(ok, value);
    if (this.#config.events.wants('taskSettled')) this.#config.events.emit('taskSettled', { id: task.id, ok, error: ok ? undefined : value });
  }

  workerExited(worker: PoolWorker, exit: WorkerExit): void {
    debug('%s (pid %d) exited: code %s, signal %s, %d unanswered', worker.name, worker.pid, exit.exitCode, exit.signal, exit.unanswered.length);
    this.#workers.delete(worker);
    const reason = exitReason(exit);
    this.#config.events.emit('workerExit', { pid: worker.pid, name: worker.name, exitCode: exit.exitCode, signal: exit.signal, reason });
    if (this.state === 'terminating') {
      this.#maybeClosed();
      return;
    }
    this.#recordExit(exit);
    this.#dispatch();
  }

  #recordExit(exit: WorkerExit): void {
    if (exitReason(exit) === 'crashed') this.#crashes++;
    if (!exit.wasReady) {
      // Stopped on purpose before it was ready (the pool closed): not a failure, unless it failed.
      if (exit.requested === undefined || exit.initError !== undefined) this.#startFailed(exit);
      return;
    }
    if (!exit.unanswered.length) return;
    const [running, ...notStarted] = exit.unanswered;
    // Tasks behind the running one never started: they run elsewhere, in their order.
    for (let i = notStarted.length - 1; i >= 0; i--) this.#queue.unshift(notStarted[i]);
    if (running.cancelled) return;
    if (!running.received) {
      this.#queue.unshift(running);
    } else if (running.retriesLeft > 0) {
      running.retriesLeft--;
      running.received = false;
      running.started = false;
      this.#retried++;
      this.#queue.unshift(running);
    } else {
      this.#settle(running, false, new WorkerLostError(exit, `task ${describeTask(this.#fnRefs[running.fnId])}`));
    }
  }

  /** idleTimeout: a worker with nothing to do for that long retires, down to minProcesses. */
  #armIdle(worker: PoolWorker): void {
    clearTimeout(worker.idleTimer);
    worker.idleTimer = setTimeout(() => {
      worker.idleTimer = undefined;
      if (worker.state !== 'ready' || worker.inFlight.length > 0 || this.#queue.length > 0) return;
      if (this.#countLive() <= this.#config.minProcesses) return;
      worker.stop('idle');
      this.#scheduleDispatch();
    }, this.#config.idleTimeoutMs);
    worker.idleTimer.unref();
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
  #depth(task: PoolTask, workers: number): number {
    const average = this.#taskMs[task.fnId * 3 + task.kind] ?? 0;
    if (average <= 0) return 1;
    if (average >= SLOW_TASK_MS) {
      // Slow tasks: keep the next one waiting in the worker (no idle round trip between tasks)
      // while there is plenty left for everyone; near the end, one at a time, so the last tasks
      // spread over the workers instead of queueing behind each other.
      return this.#queue.length > workers * 2 ? 2 : 1;
    }
    return Math.max(2, Math.min(MAX_DEPTH, Math.round(BATCH_TARGET_MS / average)));
  }

  #dispatch(): void {
    this.#dispatchScheduled = false;
    if (this.state === 'terminating' || this.state === 'closed') return;
    const ready = [...this.#workers].filter((w) => w.state === 'ready');
    if (ready.length && this.#queue.length) this.#assign(ready);
    if (this.state === 'closing' && this.#queue.length === 0 && this.#producers === 0) {
      for (const worker of this.#workers) if (worker.state === 'ready' || worker.state === 'starting') worker.stop('closed');
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
      const depth = this.#depth(next, ready.length);
      let best = -1;
      for (let i = 0; i < ready.length; i++) {
        if (loads[i] < depth && quota[i] > 0 && (best < 0 || loads[i] < loads[best])) best = i;
      }
      if (best < 0) break;
      const task = this.#queue.shift() as PoolTask;
      if (!this.#encode(task)) continue;
      batches[best].push(task);
      loads[best]++;
      quota[best]--;
    }
    const now = performance.now();
    const events = this.#config.events;
    for (let i = 0; i < ready.length; i++) {
      if (!batches[i].length) continue;
      const worker = ready[i];
      if (worker.inFlight.length === 0) worker.busySince = now;
      if (worker.idleTimer) {
        clearTimeout(worker.idleTimer);
        worker.idleTimer = undefined;
      }
      worker.send(batches[i], (fnId) => this.#fnRefs[fnId]);
      if (events.wants('taskStart')) for (const task of batches[i]) events.emit('taskStart', { id: task.id, pid: worker.pid });
      // maxTasksPerChild: a worker that got its last task retires after it; a fresh one replaces it.
      if (quota[i] <= 0) {
        this.#recycles++;
        worker.stop('recycled');
      }
    }
  }

  #countReady(): number {
    let n = 0;
    for (const w of this.#workers) if (w.state === 'ready') n++;
    return n;
  }

  /** Workers that are, or will be, able to take tasks. */
  #countLive(): number {
    let live = this.#launching;
    for (const w of this.#workers) if (w.state === 'starting' || w.state === 'ready') live++;
    return live;
  }

  #ensureWorkers(): void {
    if (this.#broken || !this.#init) return;
    if (this.state === 'terminating' || this.state === 'closed') return;
    if (this.state === 'closing' && this.#queue.length === 0) return;
    for (let live = this.#countLive(); live < this.#target(); live++) this.#spawn();
  }

  /**
   * How many workers the pool wants now: all of them, except that with idleTimeout an idle pool
   * (once started) only replaces workers down to minProcesses, and grows back when work comes.
   */
  #target(): number {
    const shrinking = this.#config.idleTimeoutMs !== undefined && this.#filled && this.#queue.length === 0;
    return shrinking ? Math.min(this.processes, Math.max(this.#config.minProcesses, this.#countReady())) : this.processes;
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
        if (this.state === 'terminating' || this.state === 'closed') worker.terminate(0, 'terminated');
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
    this.#recordExit({ pid: 0, exitCode: null, signal: null, stderr: [], wasReady: false, requested: undefined, spawnError, unanswered: [] });
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
      reason = (cause as Error).message.split('\n')[0];
    }
    if (this.#startFailures < this.#config.maxStartFailures) return;
    this.#break(
      new WorkerStartError(
        `Workers failed to start ${this.#startFailures} times in a row, so the pool stopped starting them. ` +
          `Last failure: ${reason}`,
        this.#startFailures,
        cause,
        exit.stderr,
      ),
    );
  }

  /** Stops respawning: queued and future tasks reject with `error`; live workers finish and exit. */
  #break(error: Error): void {
    if (this.#broken) return;
    this.#broken = error;
    for (const task of this.#queue.drain()) task.settle(false, error);
    for (const worker of this.#workers) worker.stop('broken');
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
