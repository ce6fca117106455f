import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { InvalidStateError, PoolTerminatedError, ProcPoolError } from '../errors';
import { HostLostError } from './errors';
import { Counters, type PoolStats } from '../pool/counters';
import type { LatencyStats, WindowStats } from '../pool/stats';
import { FunctionTable } from '../pool/functions';
import { Lifecycle, type PoolState } from '../pool/lifecycle';
import { PoolTask, kSettle, type TaskOwner, type TaskPolicy } from '../pool/task';
import type { TaskEngine } from '../pool/task-engine';
import { Producers } from '../pool/producers';
import { defaultChunksize } from '../pool/jobs';
import type { TaskKindValue } from '../transport/protocol';
import { Backlog } from './backlog';
import { JobTable } from './job-table';
import { portableModule, type PortableModule } from './modules';
import { redactUrl, resolveClusterOptions, type ClusterOptions, type ResolvedClusterOptions } from './options';
import { Presence } from './presence';
import { bounded, bullmq, connectionOptions, createClient, waitForRedis } from './redis';
import { fromResult, toJob, type JobSpec } from './job-codec';
import { STALLED_REASON, keys } from './wire';
import { WaitingTasks, type ClusterHost } from './waiting';

/** How often jobs in Redis are checked for having vanished (see `#sweep`). */
const SWEEP_INTERVAL_MS = 1000;

/** A cluster pool does not time its agents' tasks (yet): `stats()` reports these as empty. */
const EMPTY: LatencyStats = Object.freeze({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
const NOT_MEASURED: WindowStats = Object.freeze({ runTime: EMPTY, waitTime: EMPTY, utilization: 0, windowMs: 0 });

/**
 * The engine of a `Pool` with `cluster` options: the same tasks, jobs and iterators as a local
 * pool, but each task (a call, or one map chunk) becomes a BullMQ job that an agent runs. Tasks
 * wait here and enter Redis a few at a time (`chunksPerProcess` × the agents' processes), so Redis
 * holds a bounded number of chunks whatever the size of a map or the speed of an imap consumer.
 * Results come back through BullMQ's event stream; each task settles once, whatever arrives late.
 */
export class ClusterEngine implements TaskEngine {
  readonly lifecycle = new Lifecycle();
  readonly counters = new Counters();
  readonly functions = new FunctionTable(() => undefined);
  /** This pool's name in Redis: its liveness key and the prefix of its job ids (BullMQ forbids ':'). */
  readonly id = `${hostname().replace(/[^\w.-]/g, '_')}-${process.pid}-${randomUUID().slice(0, 8)}`;
  readonly #options: ResolvedClusterOptions;
  readonly #waiting: WaitingTasks;
  readonly #jobs: JobTable;
  readonly #modules = new Map<number, PortableModule>();
  readonly #backlog: Backlog;
  #nextTaskId = 1;
  readonly #producers = new Producers();
  #pumpScheduled = false;
  #lastError: Error | undefined;
  #up = false;
  readonly #client: Redis;
  /** Made once Redis answers: BullMQ's client, given a wrong password, retries for ever, even after `disconnect()`. */
  #queue: Queue | undefined;
  #events: QueueEvents | undefined;
  readonly #presence: Presence;
  readonly #connected: Promise<void>;
  #readyWaiters: (() => void)[] = [];
  #sweeper: NodeJS.Timeout | undefined;
  /** Set while the connection to Redis is down (after it was up). */
  #down = false;

  constructor(options: ClusterOptions, host: ClusterHost = {}) {
    this.#options = resolveClusterOptions(options);
    this.#waiting = new WaitingTasks(host, this.functions);
    this.#backlog = new Backlog(this.#options);
    this.#jobs = new JobTable(this.id);
    const { redis, queue } = this.#options;
    const onError = (error: Error): void => void (this.#lastError = error);
    this.#client = createClient(redis, onError);
    this.#client.on('close', () => this.#outage());
    this.#client.on('ready', () => this.#recovered());
    this.#presence = new Presence(this.#client, queue, this.id, this.#options.livenessTtlMs, this.#options.noAgentsWarningMs, {
      hasWork: () => this.#waiting.length + this.#jobs.size > 0,
      agentsChanged: () => this.#agentsChanged(),
    });
    this.#connected = waitForRedis(this.#client, redis, this.#options.connectTimeoutMs, () => this.#lastError).then(() => this.#start());
    this.#connected.catch((error: unknown) => this.#unavailable(error as Error));
  }

  /** Reads results from the event stream's current end (so that none of this pool's is missed), then starts sending. */
  async #start(): Promise<void> {
    if (this.lifecycle.ending) return;
    const { Queue, QueueEvents } = bullmq();
    this.#queue = new Queue(this.#options.queue, { connection: connectionOptions(this.#options.redis) });
    this.#queue.on('error', (error: Error) => (this.#lastError = error));
    const last = await this.#client.xrevrange(this.#queue.keys.events, '+', '-', 'COUNT', 1);
    const events = new QueueEvents(this.#options.queue, { connection: connectionOptions(this.#options.redis), lastEventId: last[0]?.[0] ?? '0-0' });
    this.#events = events;
    events.on('error', (error: Error) => (this.#lastError = error));
    events.on('completed', ({ jobId, returnvalue }) => this.#completed(jobId, returnvalue as unknown));
    events.on('failed', ({ jobId, failedReason }) => this.#failed(jobId, failedReason));
    await events.waitUntilReady();
    // Closed or terminated while connecting: what was opened since the shutdown goes too.
    if (this.lifecycle.ending) return this.#shutdown();
    await this.#presence.start();
    this.#up = true;
    this.#sweeper = setInterval(() => void this.#sweep().catch(() => undefined), SWEEP_INTERVAL_MS);
    this.#sweeper.unref();
    this.#pump();
  }

  /**
   * Finds jobs that vanished from Redis (a restart without persistence, a flush, an event trimmed
   * from the stream before it was read): missing at two sweeps in a row, a job is lost and its task
   * runs again. Two, because a job that just completed is removed before its event arrives.
   */
  async #sweep(): Promise<void> {
    if (!this.#up || this.#down) return;
    const ids = this.#jobs.ids();
    const exists = await Promise.all(ids.map((id) => this.#client.exists(this.#q.toKey(id))));
    for (const task of this.#jobs.vanished(ids, exists)) this.#lost(task, 'its job vanished from Redis (was Redis restarted or flushed?)');
  }

  #outage(): void {
    if (!this.#up || this.#down || this.lifecycle.ending) return;
    this.#down = true;
    process.emitWarning(`Lost the connection to the cluster's Redis at ${redactUrl(this.#options.redis)}; the pool's chunks wait until it answers again.`, { code: 'PROCPOOL_REDIS_DOWN' });
  }

  #recovered(): void {
    if (!this.#down) return;
    this.#down = false;
    // A Redis that restarted empty has lost this pool's liveness key and its jobs: set the key
    // first (agents would drop the jobs sent again), then look for what vanished.
    void this.#presence.refresh().then(() => this.#sweep()).catch(() => undefined);
  }

  /** The BullMQ queue, once Redis has answered (every caller runs after that). */
  get #q(): Queue {
    return this.#queue as Queue;
  }

  /** Agent processes serving the queue, as last seen (0 until one is). */
  get processes(): number {
    return this.#presence.processes;
  }

  get state(): PoolState {
    return this.lifecycle.state;
  }

  /** The pool's `maxQueue` over the tasks waiting to enter Redis. */
  get pressure(): WaitingTasks['pressure'] {
    return this.#waiting.pressure;
  }

  /** Whether `count` more tasks fit among those waiting to enter Redis (`maxQueue`; always, without one). */
  room(count: number): boolean {
    return this.#waiting.room(count);
  }

  /** Tasks waiting in this process to enter Redis (jobs in Redis count as running). */
  queued(): number {
    return this.#waiting.length;
  }

  /** Resolves once nothing waits here and this pool has no job in Redis. */
  idle(): Promise<void> {
    return this.#waiting.idle(this.#jobs.size > 0);
  }

  encode(input: readonly unknown[], task: number | string): Buffer {
    return this.#backlog.encode(input, typeof task === 'number' ? this.functions.describe(task) : task);
  }

  /**
   * Python's rule over the agents' processes as last seen; before any agent is seen (a map right
   * after `new Pool`), as if there were 4: chunking happens at the call, which captures its input.
   */
  defaultChunksize(length: number): number {
    return defaultChunksize(length, this.processes || 4);
  }

  createTask(fnId: number, kind: TaskKindValue, payload: Buffer, owner: TaskOwner, index: number, policy?: TaskPolicy): PoolTask {
    const id = this.#nextTaskId++;
    return new PoolTask(id, fnId, kind, payload, owner, index, policy);
  }

  submit(task: PoolTask): void {
    const refusal = this.lifecycle.queueRefusal();
    if (refusal) return this.#settle(task, false, refusal);
    try {
      this.#module(task.fnId);
    } catch (error) {
      return this.#settle(task, false, error);
    }
    this.#waiting.push(task);
    this.#schedulePump();
  }

  abandon(tasks: Iterable<PoolTask>, abort: boolean): void {
    for (const task of tasks) {
      if (!task.finish('abandoned')) continue;
      this.#backlog.release(task.payload);
      const jobId = this.#jobs.forget(task);
      if (jobId === undefined) continue;
      // A waiting job goes; a running one cannot be removed (its agent holds the lock): with
      // `abort` its agent is told to stop it, otherwise it runs on and its answer is ignored.
      void this.#queue?.remove(jobId).catch(() => undefined);
      if (!abort) continue;
      this.counters.aborted++;
      this.#client.set(keys.aborted(this.#options.queue, jobId), '1', 'PX', 60_000).catch(() => undefined);
    }
    this.#waiting.purge();
    this.#waiting.update(this.#jobs.size > 0);
    this.#schedulePump();
    this.#maybeClosed();
  }

  discard(payloads: readonly Buffer[]): void {
    for (const payload of payloads) this.#backlog.release(payload);
  }

  holdOpen(): () => void {
    return this.#producers.hold(() => this.#maybeClosed());
  }

  /** Resolves once Redis answers and at least one agent serves the queue. */
  async ready(): Promise<void> {
    await this.#connected;
    const refusal = this.lifecycle.refusal();
    if (refusal) throw refusal;
    if (this.processes > 0) return;
    await new Promise<void>((resolve) => this.#readyWaiters.push(resolve));
  }

  /**
   * The agents' processes as workers, the tasks waiting here as queued, the jobs in Redis as
   * running, and the counters. Run and wait times and utilization are not measured for a cluster
   * pool yet: they read as empty (count 0, utilization 0, windowMs 0).
   */
  stats(): PoolStats {
    const workers = this.processes;
    return { workers, readyWorkers: workers, spares: 0, queued: this.#waiting.length, running: this.#jobs.size, ...this.counters, ...NOT_MEASURED };
  }

  /** No worker of a cluster pool runs on this machine. */
  pids(): number[] {
    return [];
  }

  close(): void {
    if (!this.lifecycle.close()) return;
    this.#maybeClosed();
  }

  terminate(): Promise<void> {
    if (!this.lifecycle.terminate()) return this.lifecycle.closed;
    const error = new PoolTerminatedError();
    const jobIds = this.#jobs.ids();
    const tasks = [...this.#waiting.drain(), ...this.#jobs.drain()];
    for (const task of tasks) this.#settle(task, false, error);
    if (this.#up) {
      // Agents stop what runs (they look for this key); what waits is removed.
      const cancel = this.#client.set(keys.cancelled(this.#options.queue, this.id), '1', 'PX', 60_000);
      const removals = jobIds.map((id) => this.#q.remove(id).catch(() => undefined));
      this.lifecycle.finish(async () => {
        await bounded(Promise.all([cancel, ...removals]), 2000);
        await this.#shutdown();
      });
    } else {
      this.lifecycle.finish(() => this.#shutdown());
    }
    return this.lifecycle.closed;
  }

  join(): Promise<void> {
    if (this.lifecycle.state === 'running' || this.lifecycle.state === 'broken') {
      return Promise.reject(new InvalidStateError('join() waits for the pool to finish: call close() or terminate() first.'));
    }
    return this.lifecycle.closed;
  }

  // --- internals --------------------------------------------------------------------------------

  #module(fnId: number): PortableModule {
    let portable = this.#modules.get(fnId);
    if (!portable) {
      portable = portableModule(this.functions.ref(fnId).module, this.#options.root);
      this.#modules.set(fnId, portable);
    }
    return portable;
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // One addBulk per burst: a map's chunks, submitted in one loop, go in one round trip.
    setImmediate(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** Moves waiting tasks into Redis while there is room. */
  #pump(): void {
    if (!this.#up || this.lifecycle.ending) return;
    const room = Math.max(2, this.#options.chunksPerProcess * this.processes) - this.#jobs.size;
    const batch: JobSpec[] = [];
    while (batch.length < room && this.#waiting.length > 0) {
      const tasks = this.#waiting.takeJob();
      const [task] = tasks;
      const jobId = this.#jobs.add(tasks);
      batch.push(toJob(tasks, jobId, this.id, this.#module(task.fnId), this.functions.ref(task.fnId).name));
    }
    this.#waiting.update(this.#jobs.size > 0);
    if (batch.length === 0) return;
    this.#q.addBulk(batch).catch((error: unknown) => {
      const refused = new ProcPoolError(`Redis refused the job: ${(error as Error).message}`, 'PROCPOOL_ERROR', { cause: error });
      for (const { opts } of batch) for (const task of this.#jobs.take(opts.jobId) ?? []) this.#settle(task, false, refused);
    });
  }

  #completed(jobId: string, value: unknown): void {
    const tasks = this.#jobs.take(jobId);
    if (!tasks) return;
    const outcome = fromResult(value, tasks.length, () => this.functions.describe(tasks[0].fnId));
    // Dropped while this pool lives: the agent missed its liveness key (Redis restarted): again.
    if ('dropped' in outcome) return void tasks.forEach((task) => this.#lost(task, `an agent dropped it (${outcome.dropped})`));
    this.#pump();
    tasks.forEach((task, i) => this.#settle(task, outcome[i].ok, outcome[i].value));
  }

  #failed(jobId: string, reason: string): void {
    const tasks = this.#jobs.take(jobId);
    if (!tasks) return;
    this.#pump();
    for (const task of tasks) {
      if (reason.includes(STALLED_REASON)) this.#lost(task, 'its lock in Redis expired');
      else this.#settle(task, false, new ProcPoolError(`The agent failed the job of ${this.functions.describe(task.fnId)}: ${reason}`));
    }
  }

  /** The task's job will not answer (its agent is gone, or the job is): it runs again, first in line, up to hostRetries. */
  #lost(task: PoolTask, why: string): void {
    if (!task.live) return;
    const losses = this.#jobs.lost(task);
    if (losses > this.#options.hostRetries) return this.#settle(task, false, new HostLostError(this.functions.describe(task.fnId), losses, why));
    this.counters.retried++;
    this.#waiting.unshift(task);
    this.#pump();
  }

  #settle(task: PoolTask, ok: boolean, value: unknown): void {
    if (!task.finish('settled')) return;
    this.#backlog.release(task.payload);
    if (ok) this.counters.completed++;
    else this.counters.failed++;
    task.owner[kSettle](task, ok, value);
    this.#waiting.settled(task, ok, value);
    this.#waiting.update(this.#jobs.size > 0);
    this.#maybeClosed();
  }

  #agentsChanged(): void {
    if (this.processes > 0) for (const resolve of this.#readyWaiters.splice(0)) resolve();
    this.#pump();
  }

  /** Redis did not answer in time: every call of this pool fails with that, now and later. */
  #unavailable(error: Error): void {
    this.lifecycle.break(error);
    for (const task of this.#waiting.drain()) this.#settle(task, false, error);
    for (const resolve of this.#readyWaiters.splice(0)) resolve();
    // No reconnection attempts behind the caller's back.
    this.#client.disconnect();
    void this.#queue?.disconnect().catch(() => undefined);
    this.#maybeClosed();
  }

  #maybeClosed(): void {
    if (this.lifecycle.state !== 'closing' || this.#producers.count > 0 || this.#jobs.size > 0) return;
    // Only live tasks wait (see WaitingTasks.purge).
    if (this.#waiting.length > 0) return;
    this.lifecycle.finish(() => this.#shutdown());
  }

  /** Lets go of Redis: the liveness key, the event reader, the queue, the client. */
  async #shutdown(): Promise<void> {
    clearInterval(this.#sweeper);
    // The liveness key goes at once: agents drop whatever of this pool is left. Never connected:
    // nothing to say to Redis, and no reconnection attempts behind the caller's back.
    await bounded(this.#presence.stop(this.#up), 2000);
    await bounded(this.#events?.close() ?? Promise.resolve(), 2000);
    if (this.#queue) await bounded(this.#up ? this.#queue.close() : this.#queue.disconnect(), 2000);
    this.#client.disconnect();
  }
}

/** Creates the engine of a cluster pool (see {@link ClusterOptions}). */
export function createClusterEngine(options: ClusterOptions, host: ClusterHost = {}): ClusterEngine {
  return new ClusterEngine(options, host);
}
