import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { RemoteError } from '../errors';
import type { PoolOptions } from '../options';
import { checkStartMethod } from '../start-method';
import { Pool } from '../pool/pool';
import { taskRef, type TaskRef } from '../tasks/task-ref';
import type { TaskOptions } from '../pool/call-options';
import { encodeError } from '../transport/error-codec';
import { decode, encodeValue } from '../transport/payload';
import { TaskKind } from '../transport/protocol';
import type { CallOutcome } from './job-codec';
import { localModule } from './modules';
import { redactUrl } from './options';
import { bullmq, connectionOptions, createClient, waitForRedis } from './redis';
import { AGENT_HEARTBEAT_MS, CANCEL_POLL_MS, LOCK_DURATION_MS, STALLED_INTERVAL_MS, keys, type AgentInfo, type ChunkJob, type ChunkResult } from './wire';

/** Options of `procpool agent` (and of {@link Agent}). */
export interface AgentOptions {
  /** Redis URL (`redis://` or `rediss://`). */
  readonly redis: string;
  /** The queue to serve. */
  readonly queue: string;
  /** Local worker processes, and chunks run at once. */
  readonly processes: number;
  readonly startMethod?: PoolOptions['startMethod'];
  /** Modules every local worker loads before it takes chunks. */
  readonly preload?: readonly string[];
  /** The project root task modules are resolved against. @default process.cwd() */
  readonly root?: string;
  /** Ms to wait for Redis at start. @default 5000 */
  readonly connectTimeout?: number;
}

/** What an agent did so far. */
export interface AgentCounts {
  /** Chunks (or calls) answered with results. */
  done: number;
  /** Chunks answered with an error (the task threw, its worker died, its module differs...). */
  failed: number;
  /** Chunks skipped or stopped because nobody waits for them (submitter gone, terminated, aborted). */
  dropped: number;
  /** Items of the chunks answered. */
  items: number;
  /** Chunks running now. */
  running: number;
}

/**
 * A `procpool agent`: serves one queue with a local Pool. Each job is one chunk, run as one task of
 * the local pool (so a worker crash here is this pool's business, as locally); BullMQ's lock on it
 * is renewed while it runs, and lapses if this machine goes, so that another agent runs it.
 */
export class Agent {
  readonly id = `${hostname().replace(/[^\w.-]/g, '_')}-${process.pid}`;
  readonly counts: AgentCounts = { done: 0, failed: 0, dropped: 0, items: 0, running: 0 };
  readonly root: string;
  readonly #options: AgentOptions;
  #client: Redis | undefined;
  #pool: Pool | undefined;
  #worker: Worker | undefined;
  #heartbeat: NodeJS.Timeout | undefined;
  #lastError: Error | undefined;
  /** Set while a chunk is being submitted to the local pool: learns its local task id. */
  #capture: ((id: number) => void) | undefined;
  readonly #pidOfTask = new Map<number, number>();

  constructor(options: AgentOptions) {
    // A wrong start method is said at once, not after Redis answers.
    if (options.startMethod !== undefined) checkStartMethod(options.startMethod);
    this.#options = options;
    this.root = resolve(options.root ?? process.cwd());
  }

  /** What it serves, for the CLI's first line. */
  describe(): string {
    const o = this.#options;
    const extra = [o.startMethod ? `start method ${o.startMethod}` : '', o.preload?.length ? `preload ${o.preload.join(', ')}` : ''].filter(Boolean).join(', ');
    return `agent ${this.id} serving queue '${o.queue}' on ${redactUrl(o.redis)} with ${o.processes} processes${extra ? ` (${extra})` : ''}, root ${this.root}`;
  }

  /** Connects (rejects with ClusterUnavailableError if Redis does not answer), starts the local pool, then takes chunks. */
  async start(): Promise<void> {
    const o = this.#options;
    this.#client = createClient(o.redis, (error) => (this.#lastError = error));
    try {
      await waitForRedis(this.#client, o.redis, o.connectTimeout ?? 5000, () => this.#lastError);
    } catch (error) {
      this.#client.disconnect();
      throw error;
    }
    const pool = new Pool({ processes: o.processes, startMethod: o.startMethod, preload: o.preload ? [...o.preload] : undefined, cwd: this.root });
    this.#pool = pool;
    pool.on('taskQueued', ({ id }) => this.#capture?.(id));
    pool.on('taskStart', ({ id, pid }) => this.#pidOfTask.set(id, pid));
    await pool.ready();
    await this.#beat();
    this.#heartbeat = setInterval(() => void this.#beat().catch(() => undefined), AGENT_HEARTBEAT_MS);
    const { Worker } = bullmq();
    this.#worker = new Worker(o.queue, (job: Job) => this.#run(job), {
      connection: connectionOptions(o.redis),
      concurrency: o.processes,
      lockDuration: LOCK_DURATION_MS,
      stalledInterval: STALLED_INTERVAL_MS,
      // A stalled chunk fails at once; its submitter decides whether it runs again (hostRetries).
      maxStalledCount: 0,
    });
    this.#worker.on('error', (error: Error) => (this.#lastError = error));
  }

  /** Graceful stop: takes no new chunk, finishes the running ones, then lets its workers go. */
  async stop(): Promise<void> {
    await this.#worker?.close();
    clearInterval(this.#heartbeat);
    const client = this.#client;
    if (client) {
      await client.srem(keys.agents(this.#options.queue), this.id).catch(() => undefined);
      await client.del(keys.agent(this.#options.queue, this.id)).catch(() => undefined);
      client.disconnect();
    }
    if (this.#pool) {
      this.#pool.close();
      await this.#pool.join();
    }
  }

  async #beat(): Promise<void> {
    const o = this.#options;
    const info: AgentInfo = { id: this.id, host: hostname(), pid: process.pid, processes: o.processes };
    const client = this.#client as Redis;
    await client.multi().set(keys.agent(o.queue, this.id), JSON.stringify(info), 'PX', AGENT_HEARTBEAT_MS * 3).sadd(keys.agents(o.queue), this.id).exec();
  }

  /** Whether someone still waits for this job: its pool is alive, not terminated, the job not aborted. */
  async #wanted(data: ChunkJob, jobId: string): Promise<string | undefined> {
    const q = this.#options.queue;
    const [alive, cancelled, aborted] = await Promise.all([
      (this.#client as Redis).exists(keys.alive(q, data.pool)),
      (this.#client as Redis).exists(keys.cancelled(q, data.pool)),
      (this.#client as Redis).exists(keys.aborted(q, jobId)),
    ]);
    if (!alive) return 'its submitter is gone';
    if (cancelled) return 'its pool was terminated';
    if (aborted) return 'its caller aborted it';
    return undefined;
  }

  async #run(job: Job): Promise<ChunkResult> {
    const data = job.data as ChunkJob;
    const jobId = String(job.id);
    const unwanted = await this.#wanted(data, jobId);
    if (unwanted) {
      this.counts.dropped++;
      return { ok: false, dropped: unwanted };
    }
    this.counts.running++;
    const controller = new AbortController();
    // Every call of a batch listens to it (up to 64), past Node's default warning at 10.
    setMaxListeners(0, controller.signal);
    let dropped: string | undefined;
    const poll = setInterval(() => {
      this.#wanted(data, jobId).then((why) => {
        if (why && !dropped) {
          dropped = why;
          controller.abort(new Error(why));
        }
      }, () => undefined);
    }, CANCEL_POLL_MS);
    try {
      const path = localModule({ module: data.module, fingerprint: data.fingerprint }, this.root);
      const ref = taskRef(path, data.name);
      // The submitter's context reaches the task as on a local pool: the local pool sends it on.
      const context: unknown = data.context === undefined ? undefined : deserialize(Buffer.from(data.context, 'base64'));
      const options = { timeout: data.timeout, softTimeout: data.softTimeout, retries: data.retries, signal: controller.signal, context };
      const inputs = (data.calls ?? [data.payload]).map((text) => {
        const payload = Buffer.from(text, 'base64');
        return decode(payload, 0, payload.length) as unknown[];
      });
      // Every call (or the one chunk) runs as one task of the local pool, at once.
      const outcomes = await Promise.all(inputs.map((input) => this.#runLocal(data.kind, ref, input, options)));
      if (dropped) throw new Error(dropped);
      this.counts.done++;
      this.counts.items += data.kind === TaskKind.Call ? inputs.length : inputs[0].length;
      if (data.calls) {
        this.counts.failed += outcomes.filter((o) => !o.ok).length;
        return { ok: true, payload: encodeValue(outcomes).toString('base64') };
      }
      const [outcome] = outcomes;
      if (outcome.ok) return { ok: true, payload: encodeValue(outcome.value).toString('base64') };
      this.counts.failed++;
      return { ...outcome, error: serialize(outcome.error).toString('base64') };
    } catch (error) {
      if (dropped) {
        this.counts.dropped++;
        return { ok: false, dropped };
      }
      // The module is missing or not the submitter's: every item of the job fails with that.
      this.counts.failed++;
      const failure = this.#failure(error, undefined);
      return { ...failure, error: serialize(failure.error).toString('base64') };
    } finally {
      clearInterval(poll);
      this.counts.running--;
    }
  }

  /** Runs one call or one chunk on the local pool; a failure comes back as data, with the worker's pid. */
  async #runLocal(kind: number, ref: TaskRef, input: unknown[], options: TaskOptions): Promise<CallOutcome> {
    const pool = this.#pool as Pool;
    let localId: number | undefined;
    this.#capture = (id) => (localId ??= id);
    try {
      let running: Promise<unknown>;
      try {
        if (kind === TaskKind.Call) running = pool.apply(ref, input as never, options);
        else if (kind === TaskKind.Starmap) running = pool.starmap(ref, input as never[], { ...options, chunksize: Math.max(1, input.length) });
        else running = pool.map(ref, input, { ...options, chunksize: Math.max(1, input.length) });
      } finally {
        this.#capture = undefined;
      }
      return { ok: true, value: await running };
    } catch (error) {
      return this.#failure(error, localId === undefined ? undefined : this.#pidOfTask.get(localId));
    } finally {
      if (localId !== undefined) this.#pidOfTask.delete(localId);
    }
  }

  /** A failure as data, with the host and the pid that ran it. */
  #failure(error: unknown, workerPid: number | undefined): Extract<CallOutcome, { ok: false }> {
    const host = hostname();
    const pid = workerPid ?? process.pid;
    // The local pool rebuilt the worker's error with the worker's stack in a RemoteError cause: that
    // stack is the one to send on, not the local placeholder.
    if (error instanceof Error && error.cause instanceof RemoteError) {
      error.stack = error.cause.remoteStack;
      error.cause = error.cause.cause;
    }
    const encoded = encodeError(error);
    return { ok: false, error: encoded.kind === 'error' ? { ...encoded, props: { pid, ...encoded.props, host } } : encoded, host, pid };
  }
}
