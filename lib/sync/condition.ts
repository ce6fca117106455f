/**
 * Condition (Python's `multiprocessing.Condition`): waiting for a state that other processes
 * change under a lock, in shared memory.
 *
 * `notify(n)` hands out exactly `n` wake-up tickets, counted under the lock, to the processes
 * waiting then; a waiter leaves `wait` only with a ticket or when its time runs out. A waiter that
 * died keeps its place in the count, so a ticket can go to nobody: a ticket that nobody took for a
 * whole slice (100 ms) goes to any live waiter, so a death delays a wake-up but never loses it.
 */
import { inspect } from 'node:util';
import { InvalidStateError } from '../errors';
import { kDescribe, registerSharedKind, reviveShared, type SharedDescriptor, type SharedObject } from '../shared/shared-object';
import { kAt, kOwned, kReleaseAll, kSetDepth, RLock, type AnyLock, type Held, type HoldOptions } from './lock';
import { deadlineOf, describeWords, EVERYONE, spinBudget, waitAsync, waitSync, wordsOf, Words, type Wait } from './words';

/** Bumped by every notify: what waiters sleep on. */
const SEQ = 0;
const SLEEPERS = 1;
/** Processes inside `wait` (counted under the lock). */
const WAITING = 2;
/** Wake-up tickets handed out and not yet taken. */
const TICKETS = 3;

interface Parts {
  readonly words: Words;
  readonly lock: AnyLock;
}

/**
 * A condition variable shared between processes. Its lock (an RLock unless you pass one) must be
 * held around `wait` and `notify`, as in Python.
 *
 * @example
 * const cond = new Condition();
 * // consumer (worker):  cond.acquireSync(); cond.waitForSync(() => ready.value === 1); cond.release();
 * // producer:           await cond.acquire(); ready.value = 1; cond.notifyAll(); cond.release();
 */
export class Condition implements SharedObject {
  readonly #words: Words;
  readonly #lock: AnyLock;
  readonly #budget = spinBudget();

  constructor(lock?: AnyLock) {
    const at = (lock as unknown as { [kAt]?: Parts } | undefined)?.[kAt];
    this.#lock = at?.lock ?? lock ?? new RLock();
    this.#words = at?.words ?? Words.create(4, this);
  }

  /** The lock it uses. */
  get lock(): AnyLock {
    return this.#lock;
  }

  /** Takes the lock (see `Lock.acquire`). */
  acquire(timeoutMs?: number | null): Promise<boolean> {
    return this.#lock.acquire(timeoutMs);
  }

  /** Takes the lock, blocking (see `Lock.acquireSync`). */
  acquireSync(timeoutMs?: number | null): boolean {
    return this.#lock.acquireSync(timeoutMs);
  }

  /** Releases the lock. */
  release(): void {
    this.#lock.release();
  }

  /** Takes the lock for `await using`. */
  hold(options?: HoldOptions): Promise<Held> {
    return this.#lock.hold(options);
  }

  /** Takes the lock for `using` (blocking). */
  holdSync(options?: HoldOptions): Held {
    return this.#lock.holdSync(options);
  }

  /**
   * Releases the lock, waits for a `notify` (or `timeoutMs`), takes the lock back. Resolves true
   * if notified, false if the time ran out. The lock must be held by this process.
   */
  async wait(timeoutMs?: number | null): Promise<boolean> {
    const deadline = deadlineOf(timeoutMs);
    let depth = this.#enter();
    for (;;) {
      const woke = await waitAsync(this.#sleep(), left(deadline));
      await this.#lock.acquire();
      this.#lock[kSetDepth](depth);
      const outcome = this.#leave(woke, deadline);
      if (outcome !== undefined) return outcome;
      depth = this.#lock[kReleaseAll]();
    }
  }

  /** Blocking twin of `wait` (worker code): true if notified, false if `timeoutMs` passed. */
  waitSync(timeoutMs?: number | null): boolean {
    const deadline = deadlineOf(timeoutMs);
    let depth = this.#enter();
    for (;;) {
      const woke = waitSync(this.#sleep(), left(deadline));
      this.#lock.acquireSync();
      this.#lock[kSetDepth](depth);
      const outcome = this.#leave(woke, deadline);
      if (outcome !== undefined) return outcome;
      depth = this.#lock[kReleaseAll]();
    }
  }

  /** Waits until `predicate()` is true (checked under the lock), or `timeoutMs` passes: its last result. */
  async waitFor<R>(predicate: () => R, timeoutMs?: number | null): Promise<R> {
    const deadline = deadlineOf(timeoutMs);
    let result = predicate();
    while (!result && left(deadline) > 0) {
      await this.wait(left(deadline));
      result = predicate();
    }
    return result;
  }

  /** Blocking twin of `waitFor`. */
  waitForSync<R>(predicate: () => R, timeoutMs?: number | null): R {
    const deadline = deadlineOf(timeoutMs);
    let result = predicate();
    while (!result && left(deadline) > 0) {
      this.waitSync(left(deadline));
      result = predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiting processes. The lock must be held by this process. */
  notify(n = 1): void {
    this.#checkOwned('notify');
    const i32 = this.#words.i32;
    const tickets = Math.min(n, Atomics.load(i32, WAITING) - Atomics.load(i32, TICKETS));
    if (tickets <= 0) return;
    Atomics.add(i32, TICKETS, tickets);
    Atomics.add(i32, SEQ, 1);
    this.#words.wake(SEQ, SLEEPERS, tickets);
  }

  /** Wakes every waiting process. The lock must be held by this process. */
  notifyAll(): void {
    this.notify(EVERYONE);
  }

  #checkOwned(what: string): void {
    if (!this.#lock[kOwned]()) throw new InvalidStateError(`Condition.${what}() needs the condition's lock, held by this process.`);
  }

  /** Counts this process in and releases the lock: the depth to restore. */
  #enter(): number {
    this.#checkOwned('wait');
    Atomics.add(this.#words.i32, WAITING, 1);
    return this.#lock[kReleaseAll]();
  }

  /** What to sleep on: the next notify, or a ticket left untaken for a whole slice. */
  #sleep(): Wait {
    const i32 = this.#words.i32;
    const seen = Atomics.load(i32, SEQ);
    let unclaimed = false;
    return {
      words: this.#words,
      word: SEQ,
      sleepers: SLEEPERS,
      attempt: () => unclaimed || Atomics.load(i32, SEQ) !== seen,
      budget: this.#budget,
      recover: () => {
        unclaimed = Atomics.load(i32, TICKETS) > 0;
      },
    };
  }

  /** With the lock held again: true with a ticket, false when out of time, undefined to wait on. */
  #leave(woke: boolean, deadline: number): boolean | undefined {
    const i32 = this.#words.i32;
    const tickets = Atomics.load(i32, TICKETS);
    if (tickets > 0) {
      Atomics.store(i32, TICKETS, tickets - 1);
      Atomics.sub(i32, WAITING, 1);
      return true;
    }
    if (woke && left(deadline) > 0) return undefined;
    Atomics.sub(i32, WAITING, 1);
    return false;
  }

  /** @internal How it crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return describeWords('Condition', this.#words, { lock: this.#lock[kDescribe]() });
  }

  toString(): string {
    return `<Condition(${String(this.#lock)}, waiting=${Atomics.load(this.#words.i32, WAITING)})>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function left(deadline: number): number {
  return deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now());
}

registerSharedKind('Condition', (d) => new Condition({ [kAt]: { words: wordsOf(d), lock: reviveShared(d.lock as SharedDescriptor) } } as never));
