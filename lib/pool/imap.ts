import { TimeoutError } from '../errors';
import type { TaskKindValue } from '../transport/protocol';
import { checkTimeout } from '../validate';
import { Deque } from '../util/deque';
import type { TaskEngine } from './task-engine';
import { kSettle, type PoolTask, type TaskOwner, type TaskPolicy } from './task';

interface Waiter<T> {
  resolve(result: IteratorResult<T, undefined>): void;
  reject(error: unknown): void;
  timer?: NodeJS.Timeout;
  gone?: boolean;
}

interface Outcome {
  readonly ok: boolean;
  readonly value: unknown;
}

type AnyIterator = Iterator<unknown> | AsyncIterator<unknown>;

/** What an imap iterator needs to start: the function id (or its lookup), input and shape. */
export interface IMapSetup {
  readonly engine: TaskEngine;
  readonly fnId: number | Promise<number>;
  readonly source: Iterable<unknown> | AsyncIterable<unknown>;
  readonly kind: TaskKindValue;
  readonly chunksize: number;
  readonly ordered: boolean;
  readonly policy: TaskPolicy;
  /** Cancels the iteration: the next `next()` rejects with `abortError(signal)`. */
  readonly signal?: AbortSignal;
  readonly abortError: (signal: AbortSignal) => Error;
}

/** Chunks each worker may have submitted or buffered ahead of the consumer. */
const LOOKAHEAD_PER_WORKER = 16;

function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise;
}

/**
 * The iterator `imap` and `imapUnordered` return (Python's `IMapIterator`). It reads its input
 * lazily: at most `processes × 16` chunks are submitted or buffered ahead of the consumer, so a
 * generator of a million items is never read into memory, and a slow consumer slows the reading.
 * `next(timeout)` rejects with {@link TimeoutError} if nothing arrives in time, and loses nothing.
 * Leaving a `for await` loop early cancels the chunks not yet started.
 */
export class IMapIterator<T> implements AsyncIterableIterator<T>, TaskOwner {
  readonly #engine: TaskEngine;
  readonly #kind: TaskKindValue;
  readonly #chunksize: number;
  readonly #ordered: boolean;
  readonly #window: number;
  readonly #policy: TaskPolicy;
  /** Set when the caller's signal fired: the next waiter gets it, then the iteration is over. */
  #aborted: Error | undefined;
  #fnId: number | undefined;
  #source: AnyIterator | undefined;
  #sourceDone = false;
  #pulling = false;
  #finished = false;
  #release: (() => void) | undefined;
  #detach: (() => void) | undefined;
  #nextSeq = 0;
  /** Chunks submitted whose values have not yet been handed to the consumer. */
  #outstanding = 0;
  readonly #tasks = new Map<number, PoolTask>();
  readonly #bySeq = new Map<number, Outcome>();
  readonly #arrived = new Deque<Outcome>();
  #expected = 0;
  #values: unknown[] = [];
  #valueIndex = 0;
  /** An error to raise once everything before it has been yielded: `at` is its place in order. */
  #terminal: { error: unknown; at: number } | undefined;
  readonly #waiters = new Deque<Waiter<T>>();

  /** @internal */
  constructor(setup: IMapSetup) {
    this.#engine = setup.engine;
    this.#kind = setup.kind;
    this.#chunksize = setup.chunksize;
    this.#ordered = setup.ordered;
    this.#window = Math.max(2, setup.engine.processes * LOOKAHEAD_PER_WORKER);
    this.#policy = setup.policy;
    this.#release = setup.engine.holdOpen();
    const signal = setup.signal;
    if (signal) {
      const onAbort = (): void => {
        if (this.#finished) return;
        this.#aborted = setup.abortError(signal);
        // Aborted in their workers first; finishing then has nothing left to abandon.
        this.#engine.abandon([...this.#tasks.values()], true);
        void this.#finish();
        this.#deliver();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#detach = () => signal.removeEventListener('abort', onAbort);
    }
    try {
      const source = setup.source as { [Symbol.asyncIterator]?: () => AsyncIterator<unknown>; [Symbol.iterator]?: () => Iterator<unknown> };
      this.#source = source[Symbol.asyncIterator] ? (source[Symbol.asyncIterator] as () => AsyncIterator<unknown>).call(source) : (source[Symbol.iterator] as () => Iterator<unknown>).call(source);
    } catch (error) {
      this.#fail(error);
      return;
    }
    if (isPromise(setup.fnId)) {
      setup.fnId.then(
        (id) => {
          this.#fnId = id;
          void this.#pump();
        },
        (error: unknown) => this.#fail(error),
      );
    } else {
      this.#fnId = setup.fnId;
      void this.#pump();
    }
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next result, in input order for `imap`, in completion order for `imapUnordered`.
   * @param timeout - ms to wait before rejecting with {@link TimeoutError}; the result is kept.
   */
  next(timeout?: number): Promise<IteratorResult<T, undefined>> {
    try {
      checkTimeout(timeout, 'timeout');
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter<T> = { resolve, reject };
      if (timeout !== undefined) {
        waiter.timer = setTimeout(() => {
          waiter.gone = true;
          reject(new TimeoutError(`No result arrived within ${timeout} ms.`));
        }, timeout);
      }
      this.#waiters.push(waiter);
      this.#deliver();
    });
  }

  /**
   * Stops early: no more input is read, chunks not yet started are cancelled, and the input's own
   * `return()` is awaited (as `for await` does), so its cleanup has run when the loop is left.
   */
  async return(): Promise<IteratorResult<T, undefined>> {
    const closing = this.#finish();
    this.#deliver();
    await closing;
    return { done: true, value: undefined };
  }

  /** TaskOwner: a chunk finished. */
  [kSettle](task: PoolTask, ok: boolean, value: unknown): void {
    if (!this.#tasks.delete(task.index) || this.#finished) return;
    if (this.#ordered) this.#bySeq.set(task.index, { ok, value });
    else this.#arrived.push({ ok, value });
    this.#deliver();
  }

  async #pump(): Promise<void> {
    if (this.#pulling || this.#fnId === undefined) return;
    this.#pulling = true;
    const source = this.#source as AnyIterator;
    try {
      while (!this.#finished && !this.#sourceDone && this.#outstanding < this.#window) {
        const items: unknown[] = [];
        while (items.length < this.#chunksize) {
          let step = source.next();
          if (isPromise(step)) step = await step;
          if (step.done) {
            this.#sourceDone = true;
            break;
          }
          items.push(step.value);
        }
        if (this.#finished) return;
        if (items.length) this.#submit(items);
      }
    } catch (error) {
      this.#sourceDone = true;
      this.#terminal = { error, at: this.#nextSeq };
    } finally {
      this.#pulling = false;
      if (this.#sourceDone) this.#releaseProducer();
    }
    this.#deliver();
  }

  #submit(items: unknown[]): void {
    const seq = this.#nextSeq++;
    this.#outstanding++;
    let task: PoolTask;
    try {
      const fnId = this.#fnId as number;
      task = this.#engine.createTask(fnId, this.#kind, this.#engine.encode(items, fnId), this, seq, this.#policy);
    } catch (error) {
      // This chunk's arguments cannot be serialized: it fails in its place; nothing is sent.
      if (this.#ordered) this.#bySeq.set(seq, { ok: false, value: error });
      else this.#arrived.push({ ok: false, value: error });
      return;
    }
    this.#tasks.set(seq, task);
    this.#engine.submit(task);
  }

  /** The next chunk outcome available in this iterator's order, if any. */
  #takeOutcome(): Outcome | undefined {
    if (!this.#ordered) return this.#arrived.shift();
    const outcome = this.#bySeq.get(this.#expected);
    if (outcome) {
      this.#bySeq.delete(this.#expected);
      this.#expected++;
    }
    return outcome;
  }

  #deliver(): void {
    for (let waiter = this.#waiters.peek(); waiter; waiter = this.#waiters.peek()) {
      if (waiter.gone) {
        this.#waiters.shift();
        continue;
      }
      const result = this.#produce();
      if (result === undefined) break;
      this.#waiters.shift();
      clearTimeout(waiter.timer);
      if (result.ok) waiter.resolve(result.value as IteratorResult<T, undefined>);
      else waiter.reject(result.value);
    }
    if (!this.#finished && !this.#sourceDone && this.#outstanding < this.#window) void this.#pump();
  }

  /** The next thing to hand a waiter, or undefined if it must wait. */
  #produce(): Outcome | undefined {
    if (this.#aborted) {
      const error = this.#aborted;
      this.#aborted = undefined;
      return { ok: false, value: error };
    }
    for (;;) {
      if (this.#valueIndex < this.#values.length) {
        const value = this.#values[this.#valueIndex];
        this.#values[this.#valueIndex++] = undefined;
        return { ok: true, value: { done: false, value } };
      }
      if (this.#finished) return { ok: true, value: { done: true, value: undefined } };
      const terminal = this.#terminal;
      if (terminal && (this.#ordered ? this.#expected >= terminal.at : this.#outstanding === 0)) {
        this.#finish();
        return { ok: false, value: terminal.error };
      }
      const outcome = this.#takeOutcome();
      if (!outcome) {
        if (this.#sourceDone && this.#outstanding === 0 && !this.#pulling) {
          this.#finish();
          continue;
        }
        return undefined;
      }
      this.#outstanding--;
      if (!outcome.ok) {
        this.#finish();
        return outcome;
      }
      this.#values = outcome.value as unknown[];
      this.#valueIndex = 0;
    }
  }

  #fail(error: unknown): void {
    this.#sourceDone = true;
    this.#terminal = { error, at: this.#nextSeq };
    this.#releaseProducer();
    this.#deliver();
  }

  /** Ends the iteration; returns the input's `return()` promise, if it has one. */
  #finish(): Promise<unknown> | undefined {
    if (this.#finished) return undefined;
    this.#finished = true;
    const unwanted = [...this.#tasks.values()];
    this.#tasks.clear();
    this.#engine.abandon(unwanted, false);
    this.#bySeq.clear();
    this.#values = [];
    this.#valueIndex = 0;
    let closing: Promise<unknown> | undefined;
    if (!this.#sourceDone) {
      this.#sourceDone = true;
      const source = this.#source as { return?: () => unknown } | undefined;
      try {
        const returned = source?.return?.();
        // The input's own cleanup failing is not the consumer's concern.
        if (isPromise(returned)) closing = returned.catch(() => undefined);
      } catch {
        // Likewise.
      }
    }
    this.#releaseProducer();
    this.#detach?.();
    this.#detach = undefined;
    return closing;
  }

  #releaseProducer(): void {
    this.#release?.();
    this.#release = undefined;
  }
}
