/**
 * What submitters and agents agree on in Redis besides BullMQ's own keys: the names of procpool's
 * keys, the timings of host-loss detection, and the shape of a job and of its result. Both sides
 * import this file only, so they cannot disagree.
 */

/**
 * An agent's lock on a running chunk lasts this long and is renewed every half of it; BullMQ's
 * stalled check runs every STALLED_INTERVAL_MS on every agent. A chunk whose agent dies is found
 * after its lock expires and one or two checks (its first check marks it, the next moves it):
 * 2–4 s. Measured here: a map done 2.1–3.3 s after an agent was SIGKILLed (specs and bench, with
 * CPU spinners running too), 3.1–3.3 s after an agent's network link was cut. Agents' event loops
 * only wait on child processes, so a renewal every 1 s holds even with every core busy.
 */
export const LOCK_DURATION_MS = 2000;
/** See {@link LOCK_DURATION_MS}. */
export const STALLED_INTERVAL_MS = 1000;
/**
 * A stalled chunk fails at once (BullMQ's `maxStalledCount: 0`); the submitter, which knows the
 * call's `hostRetries`, sends it again as a new job. BullMQ's failure message for it starts so.
 */
export const STALLED_REASON = 'job stalled more than allowable limit';
/** Agents refresh their presence key this often; it expires after three missed refreshes. */
export const AGENT_HEARTBEAT_MS = 1000;
/** Agents look whether a running chunk's submitter is gone, or its caller aborted it, this often. */
export const CANCEL_POLL_MS = 250;

/** procpool's own keys, beside BullMQ's `bull:<queue>:*`. */
export const keys = {
  /** Exists while the submitter `pool` is alive (a TTL it refreshes). */
  alive: (queue: string, pool: string) => `procpool:${queue}:alive:${pool}`,
  /** Set by `terminate()`: agents stop the pool's running chunks. */
  cancelled: (queue: string, pool: string) => `procpool:${queue}:cancelled:${pool}`,
  /** Set when a caller aborted one job (its AbortSignal). */
  aborted: (queue: string, jobId: string) => `procpool:${queue}:aborted:${jobId}`,
  /** The set of agent ids that serve the queue. */
  agents: (queue: string) => `procpool:${queue}:agents`,
  /** One agent's presence and size (JSON of {@link AgentInfo}), with a TTL. */
  agent: (queue: string, id: string) => `procpool:${queue}:agent:${id}`,
};

/** What an agent publishes about itself. */
export interface AgentInfo {
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  readonly processes: number;
}

/** A chunk (or a call) as a BullMQ job's data. Arguments are never code: only a module's name. */
export interface ChunkJob {
  /** The submitting pool's id (its liveness key). */
  readonly pool: string;
  /** The module, relative to the root (`./tasks.js`) or a package name, and its fingerprint. */
  readonly module: string;
  readonly fingerprint: string;
  readonly name: string;
  /** TaskKind: a call, a map chunk or a starmap chunk. */
  readonly kind: number;
  /** The encoded arguments or items, base64 ('' when `calls` holds them). */
  readonly payload: string;
  /** A batch of calls: each call's encoded arguments; the result is an array of `CallOutcome`s. */
  readonly calls?: readonly string[];
  readonly timeout?: number;
  readonly softTimeout?: number;
  /** Runs again on the agent if the local worker dies under it. */
  readonly retries?: number;
  /** The call's context (its own, or the pool's `context` hook's), V8-serialized, base64: the task reads it with `taskContext()`. */
  readonly context?: string;
}

/** A job's return value. */
export type ChunkResult =
  | { readonly ok: true; readonly payload: string }
  | { readonly ok: false; readonly error: string; readonly host: string; readonly pid: number }
  /** Nobody waits for it any more (the submitter is gone, terminated or aborted it). */
  | { readonly ok: false; readonly dropped: string };
