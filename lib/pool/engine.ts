import { performance } from 'node:perf_hooks';
import { InvalidStateError, PoolClosedError, PoolTerminatedError, SerializationError, TaskTimeoutError, type WorkerStartError } from '../errors';
import { payloadBuffers } from '../transport/buffer-pool';
import { encodeArgs } from '../transport/payload';
import { releasePayload } from '../transport/shared-refs';
import type { TaskKindValue, WorkerInit } from '../transport/protocol';
import { Deque } from '../util/deque';
import { Backpressure } from './backpressure';
import { Counters, type PoolStats } from './counters';
import type { PoolEventSink } from './events';
import { FunctionTable } from './functions';
import { Lifecycle, type PoolState } from './lifecycle';
import type { PoolWorker } from './pool-worker';
import { TaskTimings, assign } from './scheduler';
import { Supervisor, type SupervisorConfig, type SupervisorHost } from './supervisor';
import { PoolMeter } from './stats';
import { PoolTask, kSettle, kTaskProgress, type TaskOwner, type TaskPolicy } from './task';
import type { TaskEngine } from './task-engine';
import { defaultChunksize } from './jobs';
import { Producers } from './producers';

/** Everything the engine needs, with every default already applied. */
export interface EngineConfig extends SupervisorConfig {
  readonly maxTasksPerChild: number | undefined;
  readonly abortGracePeriodMs: number;
  readonly events: PoolEventSink;
  /** Most tasks the queue holds (`maxQueue`). @default Infinity */
  readonly maxQueue?: number;
  /** How workers are initialized; a promise while an ESM initializer is looked up. */
  readonly init: WorkerInit | Promise<WorkerInit>;
}

/**
 * The pool's engine: one queue, the lifecycle, and the settle protocol, written once. It takes
 * tasks from the public `Pool`, hands them to ready workers as the scheduler decides, and settles
 * each exactly once. Starting, replacing and retiring workers is the supervisor's job.
 */
export class PoolEngine implements SupervisorHost, TaskEngine {
  readonly processes: number;
  readonly lifecycle = new Lifecycle();
  readonly counters = new Counters();
  readonly events: PoolEventSink;
  readonly functions: FunctionTable;
  /** The queue limit, and who waits for the queue to empty (fed by the engine after every change). */
  readonly pressure: Backpressure;
  readonly #config: EngineConfig;
  readonly #queue = new Deque<PoolTask>();
  readonly #supervisor: Supervisor;
  readonly #timings = new TaskTimings();
  readonly #buffers = payloadBuffers();
  readonly #meter: PoolMeter;
  #nextTaskId = 1;
  /** Lazy producers (imap iterators) that may still submit tasks. */
  readonly #producers = new Producers();
  #dispatchScheduled = false;
  #readyWaiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(config: EngineConfig) {
    this.#config = config;
    this.processes = config.processes;
    this.events = config.events;
    this.pressure = new Backpressure(config.maxQueue ?? Infinity, () => this.events.emit('drain'));
    this.#meter = new PoolMeter(config.processes);
    this.functions = new FunctionTable((module) => config.launcher.learnModule(module));
    this.#supervisor = new Supervisor(config, this);
    if (config.init instanceof Promise) {
      config.init.then(
        (init) => {
          this.#supervisor.setInit(init);
          this.#scheduleDispatch();
        },
        (error: unknown) => this.startsFailed(error instanceof Error ? error : new Error(String(error))),
      );
    } else {
      this.#supervisor.setInit(config.init);
    }
    this.#supervisor.fill();
  }

  get state(): PoolState {
    return this.lifecycle.state;
  }

  /**
   * Encodes a call's arguments (or a chunk's items) now, at the call: what the caller does with
   * them afterwards cannot change what the task receives. `task` names the function in the error:
   * its id, or a label while its id is not known yet.
   * @throws {SerializationError} if the input cannot be serialized.
   */
  encode(input: readonly unknown[], task: number | string): Buffer {
    try {
      return encodeArgs(input, this.#buffers, true);
    } catch (error) {
      const name = typeof task === 'number' ? this.functions.describe(task) : task;
      throw new SerializationError(
        `The arguments of task ${name} cannot be serialized: ${(error as Error).message}. ` +
          'Pass data the V8 serializer accepts: no functions, symbols, sockets or class instances with private state.',
        'arguments',
        { cause: error },
      );
    }
  }

  defaultChunksize(length: number): number {
    return defaultChunksize(length, this.processes);
  }

  /** A task of function `fnId` with its encoded input (see `encode`). */
  createTask(fnId: number, kind: TaskKindValue, payload: Buffer, owner: TaskOwner, index: number, policy?: TaskPolicy): PoolTask {
    const id = this.#nextTaskId;
    this.#nextTaskId = id === 0xffffffff ? 1 : id + 1;
    return new PoolTask(id, fnId, kind, payload, owner, index, policy);
  }

  /**
   * Whether `count` more tasks fit in the queue (`maxQueue`). Asked before a submission encodes
   * anything, so a refusal costs the caller next to nothing.
   */
  room(count: number): boolean {
    return this.pressure.admits(this.#queue.length, count);
  }

  /** Resolves once no task waits in the queue or runs in a worker. */
  idle(): Promise<void> {
    return this.pressure.idle(this.#queue.length, this.#anyHeld());
  }

  /** Queues a task, or settles it at once if the pool cannot take it (see `Lifecycle.queueRefusal`). */
  submit(task: PoolTask): void {
    const refusal = this.lifecycle.queueRefusal();
    if (refusal) {
      this.settle(task, false, refusal);
      return;
    }
    this.#queue.push(task);
    this.pressure.queued(this.#queue.length);
    if (this.events.wants('taskQueued')) this.events.emit('taskQueued', { id: task.id, task: this.functions.ref(task.fnId) });
    // A worker with nothing to do gets the task now, while the caller may still be capturing the
    // arguments of the next ones (a map of large arrays); otherwise one dispatch per burst.
    if (this.#supervisor.anyIdle()) this.#dispatch();
    else this.#scheduleDispatch();
  }

  /** The one way a task settles: counted, announced, and its owner told, exactly once. */
  settle(task: PoolTask, ok: boolean, value: unknown): void {
    if (!task.finish('settled')) return;
    this.#releasePayload(task);
    if (ok) this.counters.completed++;
    else this.counters.failed++;
    task.owner[kSettle](task, ok, value);
    if (this.events.wants('taskSettled')) {
      this.events.emit('taskSettled', { id: task.id, ok, error: ok ? undefined : value, durationMs: performance.now() - task.queuedAt });
    }
  }

  /**
   * The owner gave up on these tasks: queued ones are dropped; with `abort` (the caller's signal
   * fired), held ones are aborted in their worker, and a running one that does not stop within
   * the abort grace period costs its worker. Without it they run on, and their answer is ignored.
   */
  abandon(tasks: Iterable<PoolTask>, abort: boolean): void {
    for (const task of tasks) {
      const holder = task.holder;
      if (!task.finish('abandoned')) continue;
      this.#releasePayload(task);
      if (!abort) continue;
      this.counters.aborted++;
      holder?.abort(task, this.#config.abortGracePeriodMs);
    }
    this.#scheduleDispatch();
  }

  /** A final task no longer needs the shared memory its arguments were captured into. */
  #releasePayload(task: PoolTask): void {
    releasePayload(task.payload);
  }

  /** Lets go of payloads encoded for tasks that were never made (a map whose later chunk failed). */
  discard(payloads: readonly Buffer[]): void {
    for (const payload of payloads) releasePayload(payload);
  }

  /** A lazy producer (imap) holds the pool open while it may still submit tasks. */
  holdOpen(): () => void {
    return this.#producers.hold(() => this.#scheduleDispatch());
  }

  /** Resolves once `processes` workers are up and initialized. */
  ready(): Promise<void> {
    const refusal = this.lifecycle.state === 'running' ? undefined : (this.lifecycle.failure ?? new PoolClosedError('The pool is closed; it will not become ready.'));
    if (refusal) return Promise.reject(refusal);
    if (this.#supervisor.full) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#readyWaiters.push({ resolve, reject });
      this.#updateRef();
    });
  }

  /** The pool's counters now. */
  stats(): PoolStats {
    let running = 0;
    let ready = 0;
    const busySince: number[] = [];
    for (const w of this.#supervisor.workers) {
      running += w.held;
      if (w.state === 'ready') ready++;
      if (w.held) busySince.push(w.busySince);
    }
    return {
      workers: this.#supervisor.size,
      readyWorkers: ready,
      spares: this.#config.launcher.readySpares(),
      queued: this.#queue.length,
      running,
      ...this.counters,
      ...this.#meter.snapshot(busySince),
    };
  }

  /** Process ids of the workers alive (starting, ready or finishing their work). */
  pids(): number[] {
    return this.#supervisor.pids();
  }

  /** Stops accepting tasks; queued tasks still run, then workers exit. */
  close(): void {
    if (!this.lifecycle.close()) return;
    this.#failReadyWaiters(new PoolClosedError('The pool was closed before it became ready.'));
    this.#dispatch();
  }

  /** Kills every worker; every task not yet finished rejects with `PoolTerminatedError`. */
  terminate(): Promise<void> {
    if (!this.lifecycle.terminate()) return this.lifecycle.closed;
    const error = new PoolTerminatedError();
    for (const task of this.#queue.drain()) this.settle(task, false, error);
    for (const task of this.#supervisor.terminateAll()) this.settle(task, false, error);
    this.#failReadyWaiters(error);
    this.#maybeClosed();
    this.#updateRef();
    this.#updatePressure();
    return this.lifecycle.closed;
  }

  /** Resolves when every worker has exited after `close()` or `terminate()`. */
  join(): Promise<void> {
    if (this.lifecycle.state === 'running' || this.lifecycle.state === 'broken') {
      return Promise.reject(new InvalidStateError('join() waits for the workers to exit: call close() or terminate() first.'));
    }
    return this.lifecycle.closed;
  }

  // --- SupervisorHost ---------------------------------------------------------------------------

  queued(): number {
    return this.#queue.length;
  }

  requeue(tasks: readonly PoolTask[]): void {
    for (let i = tasks.length - 1; i >= 0; i--) {
      tasks[i].requeued();
      this.#queue.unshift(tasks[i]);
    }
  }

  lose(task: PoolTask, error: Error): void {
    this.settle(task, false, error);
  }

  describe(task: PoolTask): string {
    return this.functions.describe(task.fnId);
  }

  workersChanged(): void {
    if (this.#readyWaiters.length && this.#supervisor.full) {
      for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
    }
    this.#scheduleDispatch();
  }

  /** Stops respawning: queued and future tasks reject with `error`; live workers finish and exit. */
  startsFailed(error: Error | WorkerStartError): void {
    if (!this.lifecycle.break(error)) return;
    for (const task of this.#queue.drain()) this.settle(task, false, error);
    this.#supervisor.stopAll('broken');
    this.#failReadyWaiters(error);
    this.#scheduleDispatch();
  }

  answered(worker: PoolWorker, task: PoolTask, ok: boolean, value: unknown): void {
    const now = performance.now();
    const ran = now - worker.busySince;
    this.#timings.record(task, ran);
    this.#meter.ran(ran, now);
    this.#meter.busy(worker.busySince, now);
    worker.busySince = now;
    // The worker has read the whole task: its payload's memory can serve the next one.
    if (task.payload.length >= this.#buffers.minSize) this.#buffers.release(task.payload);
    this.settle(task, ok, value);
    if (worker.held === 0) this.#supervisor.idle(worker);
    this.#scheduleDispatch();
  }

  overdue(worker: PoolWorker, task: PoolTask, why: 'timeout' | 'aborted'): void {
    if (worker.state === 'exited' || worker.channel.current() !== task) return;
    if (why === 'timeout' && task.live) {
      this.counters.timedOut++;
      this.settle(task, false, new TaskTimeoutError(task.policy.timeout as number, 'hard', `Task ${this.functions.describe(task.fnId)}`));
    }
    worker.terminate(this.#config.killGracePeriodMs, why);
    this.#scheduleDispatch();
  }

  progress(task: PoolTask, completed: number, hasValue: boolean, value: unknown): void {
    if (task.live) task.owner[kTaskProgress]?.(task, completed, hasValue, value);
  }

  overMemory(worker: PoolWorker): void {
    if (worker.state !== 'ready') return;
    this.counters.recycles++;
    worker.stop('memory');
    this.#scheduleDispatch();
  }

  // --- dispatch ---------------------------------------------------------------------------------

  #scheduleDispatch(): void {
    if (this.#dispatchScheduled) return;
    this.#dispatchScheduled = true;
    // One dispatch after the current burst of submissions or results, not one per event.
    queueMicrotask(() => this.#dispatch());
  }

  #dispatch(): void {
    this.#dispatchScheduled = false;
    if (!this.lifecycle.ending) {
      if (this.#queue.length) this.#assign();
      if (this.lifecycle.state === 'closing' && this.#queue.length === 0 && this.#producers.count === 0) this.#supervisor.stopAll('closed');
      this.#supervisor.fill();
    }
    this.#maybeClosed();
    this.#updateRef();
    this.#updatePressure();
  }

  /** Tells the backpressure how things stand: `'drain'`, `drained()` and `idle()` follow from it. */
  #updatePressure(): void {
    const pressure = this.pressure;
    pressure.update(this.#queue.length, pressure.wantsBusy && this.#anyHeld());
  }

  #anyHeld(): boolean {
    for (const w of this.#supervisor.workers) if (w.held) return true;
    return false;
  }

  /** Hands queued tasks to ready workers as the scheduler decides, one frame per worker. */
  #assign(): void {
    const ready = this.#supervisor.ready();
    if (!ready.length) return;
    const limit = this.#config.maxTasksPerChild;
    const loads = ready.map((w) => ({ held: w.held, quota: limit === undefined ? Infinity : limit - w.dispatched }));
    const batches = assign(this.#queue, loads, this.#timings);
    const events = this.events;
    const now = performance.now();
    for (let i = 0; i < ready.length; i++) {
      if (!batches[i].length) continue;
      const worker = ready[i];
      for (const task of batches[i]) this.#meter.waited(now - task.queuedAt, now);
      worker.send(batches[i], this.functions.ref);
      if (events.wants('taskStart')) for (const task of batches[i]) events.emit('taskStart', { id: task.id, pid: worker.pid });
      // maxTasksPerChild: a worker that got its last task retires after it; a fresh one replaces it.
      if (limit !== undefined && worker.dispatched >= limit) {
        this.counters.recycles++;
        worker.stop('recycled');
      }
    }
  }

  #failReadyWaiters(error: unknown): void {
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(error);
  }

  #maybeClosed(): void {
    const { lifecycle } = this;
    if (!this.#supervisor.empty) return;
    if (lifecycle.state === 'closing' && !lifecycle.failure && (this.#queue.length > 0 || this.#producers.count > 0)) return;
    lifecycle.finish(() => this.#config.launcher.close());
  }

  #updateRef(): void {
    const state = this.lifecycle.state;
    const busy = this.#queue.length > 0 || this.#readyWaiters.length > 0 || state === 'closing' || state === 'terminating';
    this.#supervisor.setReferenced(busy || this.#anyHeld());
  }
}
