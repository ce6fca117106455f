/**
 * Semaphore and BoundedSemaphore (Python's `multiprocessing.Semaphore` / `BoundedSemaphore`), in
 * shared memory.
 *
 * A semaphore's permits carry no owner, so each process that takes permits keeps its count in a
 * table of holders next to the value. A waiter that sleeps a whole slice with nothing changing
 * looks for holders that died and gives their permits back: a worker killed while holding a permit
 * never shrinks the semaphore for good. The table has {@link HOLDERS} rows; permits taken by
 * further processes at once are not tracked (they work, but a death among them is not repaired).
 */
import { inspect } from 'node:util';
import { InvalidArgumentError, ReleaseError } from '../errors';
import { kDescribe, registerSharedKind, type SharedDescriptor, type SharedObject } from '../shared/shared-object';
import { Holders } from './holders';
import { kAt } from './lock';
import { describeWords, EVERYONE, waitAsync, waitSync, wordsOf, Words, type Wait } from './words';

const VALUE = 0;
const SLEEPERS = 1;
/** The bound of a BoundedSemaphore (-1: none). */
const BOUND = 2;
const TABLE = 4;
/** Rows of the holder table: (pid, permits held). */
const HOLDERS = 64;

/**
 * A semaphore shared between processes (Python's `multiprocessing.Semaphore`): `acquire` takes one
 * of its permits, waiting while there are none; `release` gives permits back.
 *
 * @example
 * const slots = new Semaphore(2);               // at most 2 tasks in the section at once
 * // in the task: slots.acquireSync(); try { ... } finally { slots.release(); }
 */
export class Semaphore implements SharedObject {
  /** @internal */
  protected readonly words: Words;
  readonly #wait: Wait;
  readonly #holders: Holders;

  /** @param value - the permits it starts with (default 1). */
  constructor(value = 1) {
    const at = (value as unknown as { [kAt]?: Words } | undefined)?.[kAt];
    if (at) {
      this.words = at;
    } else {
      if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError(`Expected a semaphore's initial value to be a whole number, 0 or more, got \`${String(value)}\`.`);
      this.words = Words.create(TABLE + Holders.words(HOLDERS), this);
      Atomics.store(this.words.i32, VALUE, value);
      Atomics.store(this.words.i32, BOUND, -1);
    }
    this.#holders = new Holders(this.words.i32, TABLE, HOLDERS, (permits) => {
      Atomics.add(this.words.i32, VALUE, permits);
      this.words.wake(VALUE, SLEEPERS, EVERYONE);
    });
    this.#wait = { words: this.words, word: VALUE, sleepers: SLEEPERS, attempt: () => this.#attempt(), recover: () => this.#recover() };
  }

  /** Takes a permit, waiting at most `timeoutMs`: resolves false if the time ran out. */
  acquire(timeoutMs?: number | null): Promise<boolean> {
    return waitAsync(this.#wait, timeoutMs);
  }

  /** Takes a permit, blocking this process at most `timeoutMs`: false if the time ran out. */
  acquireSync(timeoutMs?: number | null): boolean {
    return waitSync(this.#wait, timeoutMs);
  }

  /** Gives back `n` permits (any process may) and wakes as many waiters. */
  release(n = 1): void {
    if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`Expected to release a whole number of permits, 1 or more, got \`${String(n)}\`.`);
    const i32 = this.words.i32;
    const bound = Atomics.load(i32, BOUND);
    for (;;) {
      const value = Atomics.load(i32, VALUE);
      if (bound >= 0 && value + n > bound) throw new ReleaseError(`Released a BoundedSemaphore of ${bound} permits too many times.`);
      if (Atomics.compareExchange(i32, VALUE, value, value + n) === value) break;
    }
    this.#holders.sub(n);
    this.words.wake(VALUE, SLEEPERS, n === 1 ? 1 : EVERYONE);
  }

  /** The permits free now (Python's `get_value()`). */
  getValue(): number {
    return Atomics.load(this.words.i32, VALUE);
  }

  #attempt(): boolean {
    const i32 = this.words.i32;
    const value = Atomics.load(i32, VALUE);
    if (value <= 0 || Atomics.compareExchange(i32, VALUE, value, value - 1) !== value) return false;
    // Counted after the take: a death between the two leaks one permit, rather than ever exceeding the bound.
    this.#holders.add(1);
    return true;
  }

  #recover(): void {
    this.#holders.reclaim();
  }

  /** @internal How it crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return describeWords(this.constructor.name, this.words);
  }

  toString(): string {
    return `<${this.constructor.name}(value=${this.getValue()})>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A semaphore that may not be released above its initial value (Python's
 * `multiprocessing.BoundedSemaphore`): an extra `release` throws {@link ReleaseError}.
 */
export class BoundedSemaphore extends Semaphore {
  constructor(value = 1) {
    super(value);
    if (!(value as unknown as { [kAt]?: Words } | undefined)?.[kAt]) Atomics.store(this.words.i32, BOUND, value);
  }
}

registerSharedKind('Semaphore', (d) => new Semaphore({ [kAt]: wordsOf(d) } as never));
registerSharedKind('BoundedSemaphore', (d) => new BoundedSemaphore({ [kAt]: wordsOf(d) } as never));
