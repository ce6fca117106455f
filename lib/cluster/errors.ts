/**
 * The errors only a cluster pool raises. Their codes are in {@link ErrorCodes} with every other
 * procpool code; the classes live beside the cluster backend, which alone constructs them (an
 * agent's error of these classes is rebuilt on the pool's side by `ProcPoolError.remote`).
 *
 * @packageDocumentation
 */
import { ErrorCodes, ProcPoolError } from '../errors';

/**
 * A cluster pool cannot reach its Redis server: the URL is wrong, the server is down or refuses
 * the credentials. Raised within the pool's `connectTimeout` instead of waiting for ever; every
 * pending and later call of that pool rejects with it.
 */
export class ClusterUnavailableError extends ProcPoolError {
  /** The Redis URL, without its password. */
  readonly redis: string;
  constructor(redis: string, reason: string, options?: ErrorOptions) {
    super(`Cannot reach the cluster's Redis at ${redis}: ${reason}.`, ErrorCodes.CLUSTER_UNAVAILABLE, options);
    this.redis = redis;
  }
}

/**
 * The agent running this chunk was lost (killed, powered off, cut off from Redis) more often than
 * the pool's `hostRetries` allows; the chunk ran, or began to run, that many times elsewhere too.
 */
export class HostLostError extends ProcPoolError {
  /** How many times the chunk was started on an agent that then went silent. */
  readonly attempts: number;
  constructor(task: string, attempts: number, why = 'its lock in Redis expired', options?: ErrorOptions) {
    super(`The agent running ${task} was lost ${attempts} time(s), the last time because ${why}; no retry is left (hostRetries).`, ErrorCodes.HOST_LOST, options);
    this.attempts = attempts;
  }
}

/**
 * A cluster call holds more than the pool sends through Redis: a chunk over `maxJobBytes`, or more
 * items or bytes waiting to be sent than `maxQueuedItems` / `maxQueuedBytes`.
 */
export class PayloadTooLargeError extends ProcPoolError {
  /** What was asked for, and the limit it passed (bytes or items, see `unit`). */
  readonly size: number;
  readonly limit: number;
  readonly unit: 'bytes' | 'items';
  constructor(what: string, size: number, limit: number, unit: 'bytes' | 'items') {
    super(
      `${what} is ${size} ${unit}, over the cluster's limit of ${limit} ${unit}. Every argument travels through Redis: ` +
        'put large inputs in shared storage (an object store, a shared filesystem) and pass their names, or use imap, ' +
        'which sends a bounded number of chunks at a time.',
      ErrorCodes.PAYLOAD_TOO_LARGE,
    );
    this.size = size;
    this.limit = limit;
    this.unit = unit;
  }
}

/**
 * The agent's copy of a task module (or of the package that holds it) is not the submitter's: the
 * file's content hash or the package version differs. Those items fail instead of running code the
 * submitter did not mean.
 */
export class TaskVersionMismatchError extends ProcPoolError {
  constructor(message: string) {
    super(message, ErrorCodes.TASK_VERSION_MISMATCH);
  }
}
