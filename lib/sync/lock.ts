/**
 * Lock and RLock (Python's `multiprocessing.Lock` / `RLock`), in shared memory, owned by a process.
 *
 * The owner's pid is the lock word itself (0: free), so taking a free lock is one compare-and-swap
 * (0.03 µs here) and a waiter always knows whom it waits for. A waiter that sleeps a whole slice
 * (100 ms) with nothing changing checks that the owner still runs; if it died (killed, crashed,
 * exited holding the lock), the waiter takes the lock over and its `previousOwnerDied` reads true,
 * so it can repair what the lock protected. Python's waiters deadlock there.
 */
import { inspect } from 'node:util';
import { ReleaseError, TimeoutError } from '../errors';
import { isAlive, myPid } from '../platform/processes';
import { kDescribe, registerSharedKind, type SharedDescriptor, type SharedObject } from '../shared/shared-object';
import { deadlineOf, describeWords, waitAsync, waitSync, wordsOf, Words, type Wait } from './words';

const OWNER = 0;
const SLEEPERS = 1;
/** RLock: how many times the owner holds it. */
const DEPTH = 2;
const WORDS = 4;

/** @internal Rebuild over words that exist (what another process sent). */
export const kAt = Symbol('procpool.sync.at');
/** @internal Condition's access: release completely (returns the depth); after taking it back, restore the depth. */
export const kReleaseAll = Symbol('procpool.sync.releaseAll');
export const kSetDepth = Symbol('procpool.sync.setDepth');
/** @internal Whether this process holds it. */
export const kOwned = Symbol('procpool.sync.owned');
/** @internal The wait that takes it (for code that drives its own waits, as queues do). */
export const kWait = Symbol('procpool.sync.wait');

/** What `hold()` / `holdSync()` return: releases the lock when disposed (Python's `with lock:`). */
export interface Held extends Disposable, AsyncDisposable {
  /** Releases the lock (what disposing does); once only. */
  release(): void;
}

/** Options of a lock's `hold()`. */
export interface HoldOptions {
  /** Give up after this many ms with a {@link TimeoutError}. @default no limit */
  timeout?: number;
}

/** What Lock and RLock share: the owner word, waiting, taking over from a dead owner. */
abstract class OwnedLock implements SharedObject {
  /** @internal */
  protected readonly words: Words;
  #tookOver = false;
  #previousOwnerDied = false;
  readonly #wait: Wait;

  protected constructor(at: Words | undefined) {
    this.words = at ?? Words.create(WORDS, this);
    this.#wait = { words: this.words, word: OWNER, sleepers: SLEEPERS, attempt: () => this.#attempt(), recover: () => this.#recover() };
  }

  /**
   * True when the latest acquisition by this process took the lock over from a process that died
   * holding it: what the lock protects may be half-updated, and the new owner should repair it.
   */
  get previousOwnerDied(): boolean {
    return this.#previousOwnerDied;
  }

  /**
   * Takes the lock, waiting at most `timeoutMs` (default: as long as it takes). Resolves false if
   * the time ran out. Never blocks the event loop.
   */
  acquire(timeoutMs?: number | null): Promise<boolean> {
    try {
      if (timeoutMs !== undefined) deadlineOf(timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#take() || this.reenter()) return Promise.resolve(true);
    return waitAsync(this.#wait, timeoutMs);
  }

  /** Takes the lock, blocking this process at most `timeoutMs`: false if the time ran out (Python's `acquire`). */
  acquireSync(timeoutMs?: number | null): boolean {
    if (timeoutMs !== undefined) deadlineOf(timeoutMs);
    // The free lock first: one compare-and-swap (the uncontended pair costs ~0.1 µs here).
    if (this.#take() || this.reenter()) return true;
    return waitSync(this.#wait, timeoutMs);
  }

  #take(): boolean {
    if (Atomics.compareExchange(this.words.i32, OWNER, 0, myPid()) !== 0) return false;
    this.#previousOwnerDied = false;
    this.taken();
    return true;
  }

  /** RLock: a new hold starts at depth 1. */
  protected taken(): void {}

  /** Whether some process holds it now. */
  locked(): boolean {
    return Atomics.load(this.words.i32, OWNER) !== 0;
  }

  /** The pid of the process that holds it now, 0 when free. */
  owner(): number {
    return Atomics.load(this.words.i32, OWNER);
  }

  /** Releases the lock; wakes one waiter. */
  abstract release(): void;

  /** Takes the lock and returns a handle that releases it: `await using held = await lock.hold()`. */
  async hold(options: HoldOptions = {}): Promise<Held> {
    if (!(await this.acquire(options.timeout))) throw new TimeoutError(`Could not take the ${this.constructor.name} within ${options.timeout} ms.`);
    return this.#held();
  }

  /** Blocking twin of `hold()`: `using held = lock.holdSync()` (in worker code). */
  holdSync(options: HoldOptions = {}): Held {
    if (!this.acquireSync(options.timeout)) throw new TimeoutError(`Could not take the ${this.constructor.name} within ${options.timeout} ms.`);
    return this.#held();
  }

  #held(): Held {
    let held = true;
    const release = (): void => {
      if (!held) return;
      held = false;
      this.release();
    };
    return { release, [Symbol.dispose]: release, [Symbol.asyncDispose]: async () => release() };
  }

  /** RLock: takes it again if this process holds it. */
  protected reenter(): boolean {
    return false;
  }

  /** @internal */
  [kWait](): Wait {
    return this.#wait;
  }

  /** @internal */
  [kOwned](): boolean {
    return Atomics.load(this.words.i32, OWNER) === myPid();
  }

  /** Frees the owner word and wakes a waiter. */
  protected free(): void {
    Atomics.store(this.words.i32, OWNER, 0);
    this.words.wake(OWNER, SLEEPERS);
  }

  #attempt(): boolean {
    if (!this.#tookOver) return this.#take();
    this.#tookOver = false;
    this.#previousOwnerDied = true;
    this.taken();
    return true;
  }

  #recover(): void {
    const owner = Atomics.load(this.words.i32, OWNER);
    if (owner === 0 || owner === myPid() || isAlive(owner)) return;
    if (Atomics.compareExchange(this.words.i32, OWNER, owner, myPid()) === owner) this.#tookOver = true;
  }

  /** @internal How it crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return describeWords(this.constructor.name, this.words);
  }

  toString(): string {
    const owner = Atomics.load(this.words.i32, OWNER);
    return `<${this.constructor.name}(${owner === 0 ? 'unlocked' : `owner=${owner}`})>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A lock shared between processes (Python's `multiprocessing.Lock`): one holder at a time, and
 * (as in Python) any process may release it. Pass it to tasks as an argument or in `initargs`.
 *
 * @example
 * const lock = new Lock();
 * await pool.map(appendLine, files.map((f) => [lock, f]));   // in the task:
 * // using held = lock.holdSync();  ...write to the shared file...
 */
export class Lock extends OwnedLock {
  constructor(at?: never) {
    super((at as { [kAt]?: Words } | undefined)?.[kAt]);
  }

  /** Releases it. @throws {ReleaseError} if it is not held. */
  release(): void {
    if (Atomics.exchange(this.words.i32, OWNER, 0) === 0) throw new ReleaseError('Released a Lock that is not held.');
    this.words.wake(OWNER, SLEEPERS);
  }

  /** @internal */
  [kReleaseAll](): number {
    this.release();
    return 1;
  }

  /** @internal */
  [kSetDepth](): void {
    // A Lock has no depth.
  }
}

/**
 * A re-entrant lock (Python's `multiprocessing.RLock`): the process that holds it may take it
 * again, and must release it as many times. Only the holder may release it. The owner is the
 * process: within one process, code that runs concurrently (async) shares the hold.
 */
export class RLock extends OwnedLock {
  constructor(at?: never) {
    super((at as { [kAt]?: Words } | undefined)?.[kAt]);
  }

  protected override taken(): void {
    Atomics.store(this.words.i32, DEPTH, 1);
  }

  protected override reenter(): boolean {
    if (!this[kOwned]()) return false;
    Atomics.add(this.words.i32, DEPTH, 1);
    return true;
  }

  /** How many times this process holds it (0 if it does not). */
  get depth(): number {
    return this[kOwned]() ? Atomics.load(this.words.i32, DEPTH) : 0;
  }

  /** Releases one level of it. @throws {ReleaseError} if this process does not hold it. */
  release(): void {
    if (!this[kOwned]()) throw new ReleaseError('Released an RLock that this process does not hold.');
    if (Atomics.sub(this.words.i32, DEPTH, 1) <= 1) this.free();
  }

  /** @internal */
  [kReleaseAll](): number {
    if (!this[kOwned]()) throw new ReleaseError('Released an RLock that this process does not hold.');
    const depth = Atomics.load(this.words.i32, DEPTH);
    Atomics.store(this.words.i32, DEPTH, 1);
    this.release();
    return depth;
  }

  /** @internal */
  [kSetDepth](depth: number): void {
    Atomics.store(this.words.i32, DEPTH, depth);
  }
}

/** A lock of either kind (what Condition and Value accept). */
export type AnyLock = Lock | RLock;

registerSharedKind('Lock', (d) => new Lock({ [kAt]: wordsOf(d) } as never));
registerSharedKind('RLock', (d) => new RLock({ [kAt]: wordsOf(d) } as never));
