/**
 * The memory every coordination primitive is made of: a few 32-bit words in shared memory (cut
 * from the shared heap's arenas), and the two ways to wait for one of them to change.
 *
 * - `waitSync` sleeps on a futex: a shared (not private) futex wakes across processes, which
 *   `Atomics.wait` cannot do. A hand-off between two processes costs 13–15 µs here.
 * - `waitAsync` never blocks the event loop: it re-checks the words on the loop, at once and then
 *   at most every {@link POLL_MAX_MS} ms (see poller.ts for why it polls).
 *
 * Both wait in slices of {@link SLICE_MS}: when a slice passes with nothing happening, the
 * primitive looks for dead processes whose holds it must give back (`recover`). That is how a
 * process that dies holding a lock never wedges the others; Python's waiters deadlock there.
 */
import { InvalidArgumentError } from '../errors';
import { allocate } from '../shared/heap';
import { nativeMemory } from '../shared/native';
import { attachSegment, type Segment } from '../shared/segment';
import { markSharedUsed, type SharedDescriptor } from '../shared/shared-object';
import { poll } from './poller';

/** How long a waiter sleeps before it checks for dead holders: a dead holder is noticed within it. */
export const SLICE_MS = 100;
/** The longest an async waiter goes without looking (see poller.ts). */
export const POLL_MAX_MS = 4;
/**
 * Tries before a blocking waiter goes to sleep, at most. A holder on another core usually lets go
 * within microseconds, and a sleep costs a system call on each side plus a wake-up (13–15 µs a
 * hand-off here): the 2 × 100 000 locked counter took ~870 ms sleeping at once, 25–90 ms
 * spinning first. But spinning only pays when the other process is running: on a machine with
 * no core to spare it burns the time the other needs (a ping-pong went from ~2 µs to ~110 µs a
 * round trip, Python's 36 µs). So each primitive adapts its budget, as glibc's adaptive mutexes
 * do: it grows while waits end soon after the spin would have, and shrinks while they do not.
 */
const SPINS_MAX = 2000;
const SPINS_MIN = 16;
/** A wait that slept but ended within this long would have been caught by spinning longer. */
const SHORT_SLEEP_MS = 0.05;

/** Where a primitive's words are, as it crosses to another process. */
export interface WordsPlace {
  readonly name: string;
  readonly offset: number;
  readonly count: number;
  /** Bytes of data after the words (a queue's buffer). */
  readonly data?: number;
}

/** A primitive's words in shared memory, mapped into this process. */
export class Words {
  readonly i32: Int32Array;
  /** The data after the words (empty when there is none). */
  readonly data: Uint8Array;
  readonly #segment: Segment;
  readonly #offset: number;
  readonly #address: bigint;

  private constructor(segment: Segment, offset: number, count: number, data: number) {
    this.#segment = segment;
    this.#offset = offset;
    this.#address = segment.address + BigInt(offset);
    this.i32 = new Int32Array(segment.buffer, offset, count);
    this.data = new Uint8Array(segment.buffer, offset + count * 4, data);
    markSharedUsed();
  }

  /**
   * `count` new zeroed words (and `data` bytes after them), freed when `owner` is garbage
   * collected in this process.
   */
  static create(count: number, owner: object, data = 0): Words {
    const block = allocate(count * 4 + data, owner);
    return new Words(block.segment, block.offset, count, data);
  }

  /** The words another process described. */
  static at(place: WordsPlace): Words {
    return new Words(attachSegment(place.name, true), place.offset, place.count, place.data ?? 0);
  }

  /** What another process needs to map the same words. */
  place(): WordsPlace {
    const place = { name: this.#segment.name, offset: this.#offset, count: this.i32.length };
    return this.data.length ? { ...place, data: this.data.length } : place;
  }

  /** Wakes up to `count` processes sleeping on word `index`, if its sleeper count says there are any. */
  wake(index: number, sleepers: number, count = 1): void {
    if (Atomics.load(this.i32, sleepers) > 0) nativeMemory().futexWake(this.#address + BigInt(index * 4), count);
  }

  /** Sleeps while word `index` holds `expected` (at most `ms`): false when the time ran out. */
  sleep(index: number, expected: number, ms: number): boolean {
    return nativeMemory().futexWait(this.#address + BigInt(index * 4), expected, ms);
  }
}

/** The largest number of processes a futex wake can reach. */
export const EVERYONE = 0x7fffffff;

/** A wait for a primitive's state: what to try, which word changes when it may succeed. */
export interface Wait {
  readonly words: Words;
  /** The word whose change may let `attempt` succeed (the futex slept on). */
  readonly word: number;
  /** The word counting the processes asleep on `word`, so that wakers skip the system call when none are. */
  readonly sleepers: number;
  /** Tries to complete the wait (take the lock, the permit, the item): true when done. */
  attempt(): boolean;
  /** Gives back what dead processes held (a slice passed with no change); may throw to end the wait. */
  recover?(): void;
  /** How many tries before sleeping, adapted by `waitSync`: share one between the waits of a primitive. */
  budget?: SpinBudget;
}

/** A primitive's spin budget (see {@link SPINS_MAX}). */
export interface SpinBudget {
  spins: number;
}

/** A new spin budget, at its maximum. */
export function spinBudget(): SpinBudget {
  return { spins: SPINS_MAX };
}

/** Checks a timeout in ms (undefined, null or Infinity: no limit) and turns it into a deadline. */
export function deadlineOf(timeoutMs: number | null | undefined): number {
  if (timeoutMs === undefined || timeoutMs === null || timeoutMs === Infinity) return Infinity;
  if (typeof timeoutMs !== 'number' || Number.isNaN(timeoutMs) || timeoutMs < 0) {
    throw new InvalidArgumentError(`Expected a timeout in ms (0 or more, or undefined for none), got \`${String(timeoutMs)}\`.`);
  }
  return performance.now() + timeoutMs;
}

/**
 * Blocks this process until `wait.attempt()` succeeds (true) or the deadline passes (false). For
 * worker code that cannot await; in the application's main thread it also stops its event loop.
 */
export function waitSync(wait: Wait, timeoutMs?: number | null): boolean {
  const deadline = deadlineOf(timeoutMs);
  if (wait.attempt()) return true;
  const budget = (wait.budget ??= spinBudget());
  const spins = budget.spins;
  for (let i = 0; i < spins; i++) {
    if (wait.attempt()) {
      budget.spins = Math.min(SPINS_MAX, spins + (spins >> 3) + 1);
      return true;
    }
  }
  const { words, word, sleepers } = wait;
  const i32 = words.i32;
  const slept = performance.now();
  Atomics.add(i32, sleepers, 1);
  try {
    for (;;) {
      // Read the word before trying: a change after this read makes the sleep return at once.
      const seen = Atomics.load(i32, word);
      if (wait.attempt()) return true;
      const left = deadline - performance.now();
      if (left <= 0) {
        wait.recover?.();
        return wait.attempt();
      }
      if (!words.sleep(word, seen, Math.min(left, SLICE_MS))) wait.recover?.();
    }
  } finally {
    Atomics.sub(i32, sleepers, 1);
    budget.spins = performance.now() - slept < SHORT_SLEEP_MS ? Math.min(SPINS_MAX, spins * 2) : Math.max(SPINS_MIN, spins >> 1);
  }
}

/** Resolves true once `wait.attempt()` succeeds, false when the deadline passes; never blocks the loop. */
export function waitAsync(wait: Wait, timeoutMs?: number | null): Promise<boolean> {
  let deadline: number;
  try {
    deadline = deadlineOf(timeoutMs);
    if (wait.attempt()) return Promise.resolve(true);
  } catch (error) {
    return Promise.reject(error);
  }
  return poll(wait, deadline, SLICE_MS);
}

/** The descriptor fields every primitive carries. */
export function describeWords(kind: string, words: Words, extra?: Record<string, unknown>): SharedDescriptor {
  return { kind, ...words.place(), ...extra };
}

/** The words a descriptor names. */
export function wordsOf(descriptor: SharedDescriptor): Words {
  return Words.at(descriptor as unknown as WordsPlace);
}
