/**
 * Every error procpool itself raises. Each class has a stable `code` (match on it, or on the class,
 * never on message text) and an `instanceof` that also works across two copies of the package,
 * because the check reads a brand rather than the prototype chain.
 *
 * @packageDocumentation
 */

const kKinds = Symbol.for('procpool.error.kinds');

/** Stable codes of procpool's errors, one per class. */
export const ErrorCodes = {
  POOL_CLOSED: 'PROCPOOL_POOL_CLOSED',
  POOL_TERMINATED: 'PROCPOOL_POOL_TERMINATED',
  WORKER_LOST: 'PROCPOOL_WORKER_LOST',
  WORKER_START_FAILED: 'PROCPOOL_WORKER_START_FAILED',
  TASK_REFERENCE: 'PROCPOOL_TASK_REFERENCE',
  SERIALIZATION: 'PROCPOOL_SERIALIZATION',
  TIMEOUT: 'PROCPOOL_TIMEOUT',
  REMOTE: 'PROCPOOL_REMOTE',
  INVALID_ARGUMENT: 'PROCPOOL_INVALID_ARGUMENT',
  INVALID_STATE: 'PROCPOOL_INVALID_STATE',
  TASK_TIMEOUT: 'PROCPOOL_TASK_TIMEOUT',
  SHARED_MEMORY_UNAVAILABLE: 'PROCPOOL_SHARED_MEMORY_UNAVAILABLE',
  SHARED_MEMORY_NOT_FOUND: 'PROCPOOL_SHARED_MEMORY_NOT_FOUND',
  SHARED_MEMORY_FULL: 'PROCPOOL_SHARED_MEMORY_FULL',
  INDEX: 'PROCPOOL_INDEX',
  RELEASE: 'PROCPOOL_RELEASE',
  BROKEN_BARRIER: 'PROCPOOL_BROKEN_BARRIER',
  QUEUE_EMPTY: 'PROCPOOL_QUEUE_EMPTY',
  QUEUE_FULL: 'PROCPOOL_QUEUE_FULL',
  CLOSED: 'PROCPOOL_CLOSED',
  MANAGER_CLOSED: 'PROCPOOL_MANAGER_CLOSED',
  CLUSTER_UNAVAILABLE: 'PROCPOOL_CLUSTER_UNAVAILABLE',
  HOST_LOST: 'PROCPOOL_HOST_LOST',
  PAYLOAD_TOO_LARGE: 'PROCPOOL_PAYLOAD_TOO_LARGE',
  TASK_VERSION_MISMATCH: 'PROCPOOL_TASK_VERSION_MISMATCH',
  /** Node's own code for aborted operations, so `error.code === 'ABORT_ERR'` checks work. */
  ABORTED: 'ABORT_ERR',
} as const;

/** One of {@link ErrorCodes}' values. */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * Gives a class's prototype its `name` and its brand (the names of the class and its ancestors up
 * to Error), once per class: on the prototype, as native errors keep their `name`, rather than on
 * every instance, since defining own properties on an error costs ~0.4 µs each and some errors
 * are frequent (QueueFullError).
 */
function brand(target: { readonly name: string; readonly prototype: object }): void {
  const proto = target.prototype;
  if (Object.prototype.hasOwnProperty.call(proto, kKinds)) return;
  const kinds: string[] = [];
  for (let c: unknown = target; c && c !== Error; c = Object.getPrototypeOf(c)) kinds.push((c as { name: string }).name);
  Object.defineProperty(proto, 'name', { value: target.name, configurable: true, writable: true });
  Object.defineProperty(proto, kKinds, { value: Object.freeze(kinds) });
}

/** Base class of every error procpool raises. */
export class ProcPoolError extends Error {
  /** Stable identifier of the error's kind, e.g. `'PROCPOOL_WORKER_LOST'`. */
  readonly code: ErrorCode | 'PROCPOOL_ERROR';

  constructor(message: string, code: ErrorCode | 'PROCPOOL_ERROR' = 'PROCPOOL_ERROR', options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    // The name of the concrete class, non-enumerable and inherited, like a native error's.
    brand(new.target);
  }

  /**
   * An error rebuilt from another process (a cluster agent) whose class this process does not
   * construct itself: it answers `instanceof` for the class `name` names, and keeps `code`. Its
   * name and brand are its own (the prototype's are ProcPoolError's).
   * @internal
   */
  static remote(name: string, message: string, code: ErrorCode, options?: ErrorOptions): ProcPoolError {
    const error = new ProcPoolError(message, code, options);
    Object.defineProperty(error, 'name', { value: name, configurable: true, writable: true });
    Object.defineProperty(error, kKinds, { value: Object.freeze([name, 'ProcPoolError']) });
    return error;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false;
    const kinds = (value as { [kKinds]?: unknown })[kKinds];
    return Array.isArray(kinds) ? kinds.includes(this.name) : Function.prototype[Symbol.hasInstance].call(this, value);
  }
}

/** A task was submitted to a pool after `close()` or `terminate()`. */
export class PoolClosedError extends ProcPoolError {
  constructor(message = 'The pool is closed: it accepts no new tasks after close() or terminate(). Create a new Pool.') {
    super(message, ErrorCodes.POOL_CLOSED);
  }
}

/**
 * No room. From a pool: a submission would have queued more tasks than its `maxQueue` allows (a
 * `map` counts its chunks); nothing of it was queued: wait for the pool's `'drain'` event (or
 * `drained()`) and retry. From a Queue (Python's `queue.Full`): `putNowait()`, or a `put` whose
 * time ran out, found it full.
 */
export class QueueFullError extends ProcPoolError {
  /** The pool's `maxQueue` (undefined when a Queue refused the message). */
  readonly maxQueue: number | undefined;
  /** @param refusal - the pool's `maxQueue`, or what a Queue has to say. */
  constructor(refusal: number | string = 'The queue is full.') {
    // A refusal is flow control that a service under load may meet thousands of times a second, so
    // it carries no stack frames: capturing them costs ~2.5 µs here, the whole refusal ~0.5 µs.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(
      typeof refusal === 'number' ? `The pool's queue is full (maxQueue ${refusal}): wait for its 'drain' event before submitting more.` : refusal,
      ErrorCodes.QUEUE_FULL,
    );
    Error.stackTraceLimit = stackTraceLimit;
    this.maxQueue = typeof refusal === 'number' ? refusal : undefined;
  }
}

/** A task was still queued or running when `terminate()` was called; it will not complete. */
export class PoolTerminatedError extends ProcPoolError {
  constructor(message = 'The pool was terminated before this task completed.') {
    super(message, ErrorCodes.POOL_TERMINATED);
  }
}

/**
 * Why a process's exit status is unknown although it is gone. `'template-gone'`: a forkserver
 * worker outlived its template, the only process that could wait for it (its parent), and it
 * reported no exit of its own, so a signal (or a crash that ran no exit handler) ended it.
 */
export type UnknownExitReason = 'template-gone';

/** Details of a worker process's death, as seen by the parent. */
export interface WorkerExitInfo {
  /** The worker's process id. */
  readonly pid: number;
  /** Exit code, or `null` when a signal ended the process or the status is unknown. */
  readonly exitCode: number | null;
  /** The signal that ended the process, or `null` when it exited by itself or the status is unknown. */
  readonly signal: NodeJS.Signals | null;
  /** Set when the exit status could not be observed (`exitCode` and `signal` are then null). */
  readonly statusUnknown?: UnknownExitReason;
  /** The last lines the worker wrote to stderr (at most 20). */
  readonly stderr: readonly string[];
}

/**
 * The worker running this task died before sending its result (killed by a signal, `process.exit`,
 * an uncaught exception, out of memory). Only the task it was running fails this way; tasks it had
 * not started run on another worker.
 */
export class WorkerLostError extends ProcPoolError implements WorkerExitInfo {
  readonly pid: number;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly statusUnknown?: UnknownExitReason;
  readonly stderr: readonly string[];
  /** Whether the death looks like V8 running out of heap (SIGABRT with "heap out of memory"). */
  readonly outOfMemory: boolean;

  constructor(info: WorkerExitInfo, task?: string) {
    const outOfMemory = info.stderr.some((l) => /heap out of memory|Allocation failed/i.test(l));
    const how = info.signal
      ? `was killed by ${info.signal}`
      : info.statusUnknown
        ? `ended by a signal nobody could observe (${info.statusUnknown})`
        : `exited with code ${info.exitCode}`;
    const tail = info.stderr.length ? `\nLast stderr lines:\n  ${info.stderr.slice(-5).join('\n  ')}` : '';
    super(
      `Worker process ${info.pid} ${how}${outOfMemory ? ' (out of memory)' : ''} while running ${task ?? 'a task'}.${tail}`,
      ErrorCodes.WORKER_LOST,
    );
    this.pid = info.pid;
    this.exitCode = info.exitCode;
    this.signal = info.signal;
    if (info.statusUnknown) this.statusUnknown = info.statusUnknown;
    this.stderr = info.stderr;
    this.outOfMemory = outOfMemory;
  }
}

/**
 * Workers kept failing to start (the initializer threw, or the process died before it was ready),
 * so the pool stopped respawning them. Every pending and future task of that pool rejects with this
 * error; `cause` holds the last failure.
 */
export class WorkerStartError extends ProcPoolError {
  /** How many starts failed in a row. */
  readonly attempts: number;
  /** The last lines the last failed worker wrote to stderr. */
  readonly stderr: readonly string[];
  constructor(message: string, attempts: number, cause: unknown, stderr: readonly string[] = []) {
    const tail = stderr.length ? `\nLast stderr lines of the last attempt:\n  ${stderr.slice(-5).join('\n  ')}` : '';
    super(message + tail, ErrorCodes.WORKER_START_FAILED, { cause });
    this.attempts = attempts;
    this.stderr = stderr;
  }
}

/**
 * A task function could not be referred to across the process boundary, or its reference could not
 * be resolved in the worker: a closure or lambda, a function no module exports, a missing module or
 * export, an export that is not a function.
 */
export class TaskReferenceError extends ProcPoolError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCodes.TASK_REFERENCE, options);
  }
}

/**
 * A task's arguments or result could not be serialized with the V8 serializer (functions, class
 * instances with private state, sockets...). Only that task fails; the worker lives on.
 */
export class SerializationError extends ProcPoolError {
  /** Which side failed: the arguments sent to the worker or the result sent back. */
  readonly direction: 'arguments' | 'result';
  constructor(message: string, direction: 'arguments' | 'result', options?: ErrorOptions) {
    super(message, ErrorCodes.SERIALIZATION, options);
    this.direction = direction;
  }
}

/** A wait with a timeout (`AsyncResult.get`, `IMapIterator.next`) ran out of time. Nothing was lost. */
export class TimeoutError extends ProcPoolError {
  constructor(message: string) {
    super(message, ErrorCodes.TIMEOUT);
  }
}

/**
 * The `cause` of an error rethrown from a worker: its `stack` is the worker's stack trace (Python's
 * `RemoteTraceback`). The rethrown error itself keeps the original `name`, `message`, `code` and
 * own enumerable properties.
 */
export class RemoteError extends ProcPoolError {
  /** The stack trace as the worker printed it. */
  readonly remoteStack: string;
  constructor(remoteStack: string, options?: ErrorOptions) {
    super(`Remote stack trace:\n${remoteStack}`, ErrorCodes.REMOTE, options);
    this.remoteStack = remoteStack;
    this.stack = `RemoteError: ${remoteStack}`;
  }
}

/** An option or argument passed to procpool has the wrong type or value. The message quotes it. */
export class InvalidArgumentError extends ProcPoolError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCodes.INVALID_ARGUMENT, options);
  }
}

/** A call that the pool's current state does not allow, e.g. `join()` before `close()`. */
export class InvalidStateError extends ProcPoolError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCodes.INVALID_STATE, options);
  }
}

/**
 * A task ran past its `timeout` (its worker was then killed and replaced) or its `softTimeout`
 * (its `taskSignal()` was aborted; a task that throws the signal's reason rejects with this).
 */
export class TaskTimeoutError extends ProcPoolError {
  /** The limit that passed, in ms. */
  readonly timeout: number;
  /** `'hard'`: the worker was killed. `'soft'`: the task's AbortSignal was aborted. */
  readonly kind: 'hard' | 'soft';
  constructor(timeout: number, kind: 'hard' | 'soft', task = 'The task', options?: ErrorOptions) {
    super(
      kind === 'hard'
        ? `${task} did not finish within its timeout of ${timeout} ms; its worker was killed and replaced.`
        : `${task} ran past its softTimeout of ${timeout} ms; its AbortSignal was aborted.`,
      ErrorCodes.TASK_TIMEOUT,
      options,
    );
    this.timeout = timeout;
    this.kind = kind;
  }
}

/**
 * The task was cancelled through the AbortSignal passed as `signal` (name `'AbortError'`, code
 * `'ABORT_ERR'`, like Node's own). `cause` is the signal's reason.
 */
export class AbortError extends ProcPoolError {
  constructor(message = 'The task was aborted.', options?: ErrorOptions) {
    super(message, ErrorCodes.ABORTED, options);
  }
}

/**
 * Shared memory cannot be mapped in this process: the platform is not supported (Linux is), the
 * koffi FFI could not be loaded, or `PROCPOOL_NO_SHARED_MEMORY=1` switched it off. Large task
 * arguments then travel through the pipe as before; creating a segment throws this.
 */
export class SharedMemoryUnavailableError extends ProcPoolError {
  constructor(reason: string, options?: ErrorOptions) {
    super(`Shared memory is not available: ${reason}.`, ErrorCodes.SHARED_MEMORY_UNAVAILABLE, options);
  }
}

/** No shared memory segment has this name (it was never created, or it was unlinked). */
export class SharedMemoryNotFoundError extends ProcPoolError {
  /** The segment's name. */
  readonly segment: string;
  constructor(name: string, options?: ErrorOptions) {
    super(`No shared memory segment is named '${name}' (/dev/shm/${name}): it was never created here, or it was unlinked.`, ErrorCodes.SHARED_MEMORY_NOT_FOUND, options);
    this.segment = name;
  }
}

/**
 * There is not enough room in /dev/shm for a new segment. Its space is reserved when it is created,
 * so this error comes from the constructor, never as a crash (SIGBUS) when the memory is written.
 */
export class SharedMemoryFullError extends ProcPoolError {
  /** The size asked for, in bytes. */
  readonly size: number;
  /** The file that could not be given the space. */
  readonly path: string;
  constructor(size: number, path: string, room?: { free: number; total: number }, options?: ErrorOptions) {
    const where = room ? `/dev/shm has ${room.free} of its ${room.total} bytes free` : '/dev/shm is full';
    super(
      `No room for a shared memory segment of ${size} bytes at ${path}: ${where}. ` +
        'Free shared memory (close and unlink segments you no longer need), or give the machine more: ' +
        'in Docker, run the container with a larger --shm-size (64 MB by default).',
      ErrorCodes.SHARED_MEMORY_FULL,
      options,
    );
    this.size = size;
    this.path = path;
  }
}

/** An index outside a fixed-length shared container (Python's IndexError). */
export class IndexError extends ProcPoolError {
  constructor(message: string) {
    super(message, ErrorCodes.INDEX);
  }
}

/**
 * A lock or semaphore was released more than it was acquired (Python's ValueError "released too
 * many times"), or an RLock was released by a process that does not hold it (Python's RuntimeError).
 */
export class ReleaseError extends ProcPoolError {
  constructor(message: string) {
    super(message, ErrorCodes.RELEASE);
  }
}

/** A Barrier was aborted or reset, timed out, or lost a party that died (Python's BrokenBarrierError). */
export class BrokenBarrierError extends ProcPoolError {
  constructor(message = 'The barrier is broken: it was aborted, reset, timed out, or one of its parties died.') {
    super(message, ErrorCodes.BROKEN_BARRIER);
  }
}

/** `getNowait()` (or a `get` whose time ran out) found the queue empty (Python's `queue.Empty`). */
export class QueueEmptyError extends ProcPoolError {
  constructor(message = 'The queue is empty.') {
    super(message, ErrorCodes.QUEUE_EMPTY);
  }
}

/** A queue or a pipe end was used after this process closed it (Python's ValueError / OSError). */
export class ClosedError extends ProcPoolError {
  constructor(message: string) {
    super(message, ErrorCodes.CLOSED);
  }
}

/** A Manager's server has shut down (or died): its proxies can no longer reach it. */
export class ManagerClosedError extends ProcPoolError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ErrorCodes.MANAGER_CLOSED, options);
  }
}
