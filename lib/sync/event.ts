/**
 * Event (Python's `multiprocessing.Event`): a flag in shared memory that processes wait for. It
 * holds nothing, so a death cannot wedge it.
 */
import { inspect } from 'node:util';
import { kDescribe, registerSharedKind, type SharedDescriptor, type SharedObject } from '../shared/shared-object';
import { kAt } from './lock';
import { describeWords, EVERYONE, waitAsync, waitSync, wordsOf, Words, type Wait } from './words';

const FLAG = 0;
const SLEEPERS = 1;

/**
 * A flag shared between processes: `set()` wakes every waiter, `clear()` lowers it again.
 *
 * @example
 * const go = new Event();
 * const running = pool.map(waitThenWork, [go, go]);   // tasks: go.waitSync()
 * go.set();
 */
export class Event implements SharedObject {
  readonly #words: Words;
  readonly #wait: Wait;

  constructor(at?: never) {
    this.#words = (at as { [kAt]?: Words } | undefined)?.[kAt] ?? Words.create(2, this);
    this.#wait = { words: this.#words, word: FLAG, sleepers: SLEEPERS, attempt: () => this.isSet() };
  }

  /** Whether the flag is set. */
  isSet(): boolean {
    return Atomics.load(this.#words.i32, FLAG) === 1;
  }

  /** Sets the flag and wakes every process waiting for it. */
  set(): void {
    Atomics.store(this.#words.i32, FLAG, 1);
    this.#words.wake(FLAG, SLEEPERS, EVERYONE);
  }

  /** Lowers the flag: later waits wait again. */
  clear(): void {
    Atomics.store(this.#words.i32, FLAG, 0);
  }

  /** Resolves true once the flag is set, false if `timeoutMs` passes first. */
  wait(timeoutMs?: number | null): Promise<boolean> {
    return waitAsync(this.#wait, timeoutMs);
  }

  /** Blocks this process until the flag is set (true) or `timeoutMs` passes (false). */
  waitSync(timeoutMs?: number | null): boolean {
    return waitSync(this.#wait, timeoutMs);
  }

  /** @internal How it crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return describeWords('Event', this.#words);
  }

  toString(): string {
    return `<Event(${this.isSet() ? 'set' : 'unset'})>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

registerSharedKind('Event', (d) => new Event({ [kAt]: wordsOf(d) } as never));
