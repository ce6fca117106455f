import { InvalidArgumentError } from '../errors';
import { checkInteger, checkString } from '../validate';

/**
 * `new Pool({ cluster })`: run the pool's tasks on `procpool agent` processes, on any number of
 * machines, through a BullMQ queue on Redis. Every other Pool option that shapes local workers
 * (processes, startMethod, preload...) is the agents' business and is ignored here.
 */
export interface ClusterOptions {
  /** Redis URL (`redis://user:pass@host:6379/0`, or `rediss://` for TLS). */
  redis: string;
  /** The queue's name; agents started with the same `--queue` serve it. */
  queue: string;
  /**
   * Directory that task modules are named relative to; agents resolve them against their own
   * `--root`. Modules outside it are refused (`TaskReferenceError`).
   * @default process.cwd()
   */
  root?: string;
  /**
   * Ms to wait for Redis to answer before every call rejects with `ClusterUnavailableError`.
   * @default 5000
   */
  connectTimeout?: number;
  /**
   * Times a chunk is run again elsewhere when the agent running it is lost (its lock expired);
   * after that its items reject with `HostLostError`.
   * @default 2
   */
  hostRetries?: number;
  /** Largest encoded chunk (or call) sent as one job, in bytes. @default 16 MiB */
  maxJobBytes?: number;
  /** Items waiting on the submitter and in Redis, at most (a larger `map` rejects). @default 1 000 000 */
  maxQueuedItems?: number;
  /** Encoded bytes waiting on the submitter and in Redis, at most. @default 256 MiB */
  maxQueuedBytes?: number;
  /**
   * Chunks in Redis (waiting or running) per agent process, at most; the rest wait in the
   * submitter. Keeps imap's input read lazily and lets new agents share the work.
   * @default 2
   */
  chunksPerProcess?: number;
  /**
   * Ms without any agent serving the queue, while work waits, before a warning
   * (`PROCPOOL_NO_AGENTS`) says so. The work keeps waiting.
   * @default 10000
   */
  noAgentsWarning?: number;
  /**
   * TTL (ms) of this pool's liveness key, refreshed every third of it. Agents drop the jobs of a
   * pool whose key is gone, so a dead submitter leaves no work running for longer than about this.
   * @default 10000
   */
  livenessTtl?: number;
}

/** Cluster options with every default applied. */
export interface ResolvedClusterOptions {
  readonly redis: string;
  readonly queue: string;
  readonly root: string;
  readonly connectTimeoutMs: number;
  readonly hostRetries: number;
  readonly maxJobBytes: number;
  readonly maxQueuedItems: number;
  readonly maxQueuedBytes: number;
  readonly chunksPerProcess: number;
  readonly noAgentsWarningMs: number;
  readonly livenessTtlMs: number;
}

/** Validates `options.cluster` (quoting any bad value) and applies the defaults. */
export function resolveClusterOptions(options: ClusterOptions): ResolvedClusterOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(`Expected \`cluster\` to be an object with \`redis\` and \`queue\`, got \`${String(options)}\`.`);
  }
  checkString(options.redis, 'cluster.redis');
  checkString(options.queue, 'cluster.queue');
  if (!options.redis || !/^rediss?:\/\//.test(options.redis)) {
    throw new InvalidArgumentError(`Expected \`cluster.redis\` to be a redis:// or rediss:// URL, got \`${String(options.redis)}\`.`);
  }
  if (!options.queue || /[:\s]/.test(options.queue)) {
    throw new InvalidArgumentError(`Expected \`cluster.queue\` to be a name without ':' or spaces, got \`${String(options.queue)}\`.`);
  }
  checkString(options.root, 'cluster.root');
  for (const key of ['connectTimeout', 'maxJobBytes', 'maxQueuedItems', 'maxQueuedBytes', 'chunksPerProcess', 'noAgentsWarning', 'livenessTtl'] as const) {
    checkInteger(options[key], `cluster.${key}`, 1);
  }
  checkInteger(options.hostRetries, 'cluster.hostRetries', 0);
  return {
    redis: options.redis,
    queue: options.queue,
    root: options.root ?? process.cwd(),
    connectTimeoutMs: options.connectTimeout ?? 5000,
    hostRetries: options.hostRetries ?? 2,
    maxJobBytes: options.maxJobBytes ?? 16 * 1024 * 1024,
    maxQueuedItems: options.maxQueuedItems ?? 1_000_000,
    maxQueuedBytes: options.maxQueuedBytes ?? 256 * 1024 * 1024,
    chunksPerProcess: options.chunksPerProcess ?? 2,
    noAgentsWarningMs: options.noAgentsWarning ?? 10_000,
    livenessTtlMs: options.livenessTtl ?? 10_000,
  };
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
