/**
 * Queue, JoinableQueue and SimpleQueue (Python's `multiprocessing` queues): messages between any
 * processes, through a ring in shared memory (see ring.ts). Pass a queue to tasks, `initargs` or a
 * `Process` like any shared object; every process then puts into and gets from the same queue.
 *
 * Unlike Python's, a `put` has no feeder thread: it copies the message into the ring before it
 * returns. The ring (1 MiB unless `bufferBytes` says otherwise) therefore bounds the bytes in
 * flight as a pipe's buffer does: a `put` that finds it full waits for a reader, like one under
 * `maxsize`. A message larger than half the ring is streamed through it in parts while a reader
 * takes it.
 */
import { inspect } from 'node:util';
import { ClosedError, InvalidArgumentError } from '../errors';
import { kDescribe, registerSharedKind, type SharedDescriptor, type SharedObject } from '../shared/shared-object';
import { kAt } from '../sync/lock';
import { deadlineOf, waitAsync, waitSync } from '../sync/words';
import { QueueCore, runAsync, runSync } from './core';

/** Options of a queue. */
export interface QueueOptions {
  /** Bytes of its ring in shared memory (rounded up to a power of two, 64 KiB at least). @default 1 MiB */
  bufferBytes?: number;
}

const DEFAULT_BUFFER = 1 << 20;

/** What every queue shares: the core, and closing. */
abstract class BaseQueue<T> implements SharedObject {
  /** @internal */
  protected readonly core: QueueCore;
  #closed = false;

  protected constructor(maxsize: number, options: QueueOptions | undefined) {
    const at = (options as { [kAt]?: QueueCore } | undefined)?.[kAt];
    if (at) {
      this.core = at;
      return;
    }
    if (!Number.isSafeInteger(maxsize) || maxsize < 0) throw new InvalidArgumentError(`Expected a queue's maxsize to be a whole number, 0 (no limit) or more, got \`${String(maxsize)}\`.`);
    const bytes = options?.bufferBytes ?? DEFAULT_BUFFER;
    if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new InvalidArgumentError(`Expected bufferBytes to be a positive whole number, got \`${String(bytes)}\`.`);
    this.core = QueueCore.create(maxsize, bytes, this);
  }

  /** Puts `item`, waiting for room at most `timeoutMs`; rejects with {@link QueueFullError} after that. */
  put(item: T, timeoutMs?: number | null): Promise<void> {
    try {
      this.#checkOpen();
      const steps = this.core.put(item, this.joinable);
      return runAsync(steps, deadlineOf(timeoutMs));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Takes the next item, waiting at most `timeoutMs`; rejects with {@link QueueEmptyError} after that. */
  get(timeoutMs?: number | null): Promise<T> {
    try {
      this.#checkOpen();
      return runAsync(this.core.get(this.joinable), deadlineOf(timeoutMs)) as Promise<T>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Takes the next item, blocking this process at most `timeoutMs`. @throws {QueueEmptyError} */
  getSync(timeoutMs?: number | null): T {
    this.#checkOpen();
    return runSync(this.core.get(this.joinable), deadlineOf(timeoutMs)) as T;
  }

  /** Whether it holds no message now (a moment later it may). */
  empty(): boolean {
    return this.core.size() === 0;
  }

  /** Ends this process's use of the queue: its later calls here throw {@link ClosedError}. Other processes are unaffected. */
  close(): void {
    this.#closed = true;
  }

  /** JoinableQueue counts puts and gets. */
  protected get joinable(): boolean {
    return false;
  }

  /** @internal */
  protected putSyncNow(item: T, timeoutMs: number | null | undefined): void {
    this.#checkOpen();
    runSync(this.core.put(item, this.joinable), deadlineOf(timeoutMs));
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError(`This ${this.constructor.name} was closed in this process.`);
  }

  /** @internal How it crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return this.core.describe(this.constructor.name);
  }

  toString(): string {
    return `<${this.constructor.name}(size=${this.core.size()})>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A queue of messages between processes (Python's `multiprocessing.Queue`): first in, first out,
 * each message delivered to one `get`. Messages are any value the V8 serializer takes, and shared
 * objects (locks, queues, shared memory) arrive as the same object.
 *
 * @example
 * const q = new Queue<string>();
 * pool.applyAsync(produce, [q]);      // the task: q.putSync(line)
 * const line = await q.get(1000);    // rejects with QueueEmptyError after 1 s
 */
export class Queue<T = unknown> extends BaseQueue<T> {
  /** @param maxsize - the most messages it holds (0: no limit but its buffer's bytes). */
  constructor(maxsize = 0, options?: QueueOptions) {
    super(maxsize, options);
  }

  /** Blocking twin of `put` (worker code). @throws {QueueFullError} */
  putSync(item: T, timeoutMs?: number | null): void {
    this.putSyncNow(item, timeoutMs);
  }

  /** Puts without waiting. @throws {QueueFullError} when there is no room now. */
  putNowait(item: T): void {
    this.putSyncNow(item, 0);
  }

  /** Takes the next item without waiting. @throws {QueueEmptyError} when there is none now. */
  getNowait(): T {
    return this.getSync(0);
  }

  /** Messages in it now (Python's `qsize()`). */
  qsize(): number {
    return this.core.size();
  }

  /** Whether it holds `maxsize` messages now. */
  full(): boolean {
    const maxsize = this.core.maxsize;
    return maxsize > 0 && this.core.size() >= maxsize;
  }
}

/**
 * A Queue that counts unfinished work (Python's `multiprocessing.JoinableQueue`): each `get` must
 * be matched by a `taskDone()`, and `join()` waits until every item put is done.
 *
 * An item taken by a consumer that dies before `taskDone()` is lost (it ran at most once); when
 * `join()` notices the death (within 100 ms of waiting), it counts the item as done, so `join()`
 * does not wait forever as Python's does.
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  protected override get joinable(): boolean {
    return true;
  }

  /** Marks one item taken from the queue as done. @throws {InvalidStateError} if more than were put. */
  taskDone(): void {
    this.core.taskDone();
  }

  /** Resolves once every item put has been marked done (true), or false after `timeoutMs`. */
  join(timeoutMs?: number | null): Promise<boolean> {
    return waitAsync(this.core.joined(), timeoutMs);
  }

  /** Blocking twin of `join`. */
  joinSync(timeoutMs?: number | null): boolean {
    return waitSync(this.core.joined(), timeoutMs);
  }
}

/** The simplest queue (Python's `multiprocessing.SimpleQueue`): put, get, empty, close. */
export class SimpleQueue<T = unknown> extends BaseQueue<T> {
  constructor(options?: QueueOptions) {
    super(0, options);
  }

  /** Blocking twin of `put`. */
  putSync(item: T): void {
    this.putSyncNow(item, undefined);
  }
}

registerSharedKind('Queue', (d) => new Queue(0, { [kAt]: QueueCore.at(d) } as never));
registerSharedKind('JoinableQueue', (d) => new JoinableQueue(0, { [kAt]: QueueCore.at(d) } as never));
registerSharedKind('SimpleQueue', (d) => new SimpleQueue({ [kAt]: QueueCore.at(d) } as never));
