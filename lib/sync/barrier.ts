/**
 * Barrier (Python's `multiprocessing.Barrier`): `parties` processes wait until all have arrived.
 *
 * Every process that receives the barrier (or waits on it) joins its table of participants, and
 * leaves it when it exits cleanly. A waiter that sleeps a whole slice (100 ms) with nothing
 * happening checks that the participants still run: if one was killed or crashed, it cannot
 * arrive, so the barrier breaks and every waiter rejects with {@link BrokenBarrierError}, within a
 * slice of noticing. Python's waiters wait forever there.
 */
import { inspect } from 'node:util';
import { BrokenBarrierError, InvalidArgumentError } from '../errors';
import { isAlive, myPid } from '../platform/processes';
import { kDescribe, registerSharedKind, reviveShared, type SharedDescriptor, type SharedObject } from '../shared/shared-object';
import { kAt, Lock } from './lock';
import { deadlineOf, describeWords, EVERYONE, spinBudget, waitAsync, waitSync, wordsOf, Words, type Wait } from './words';

/** Parties arrived in this generation. */
const COUNT = 0;
/** The generation: bumped when the barrier trips or is reset (what waiters sleep on). */
const GENERATION = 1;
const SLEEPERS = 2;
const BROKEN = 3;
const PARTIES = 4;
/** The last generation ended by `reset()` rather than by all arriving (+1, 0 when none). */
const RESET = 5;
const TABLE = 8;
const PARTICIPANTS = 64;

interface Parts {
  readonly words: Words;
  readonly guard: Lock;
}

/** Options of `new Barrier()`. */
export interface BarrierOptions {
  /** The default timeout of `wait`, in ms (Python's `timeout`). @default no limit */
  timeout?: number;
}

/**
 * The tables of the barriers this process joined, by place: it leaves them when it exits cleanly.
 * Held strongly: a barrier object collected here must not leave this pid behind as if it died.
 */
const joined = new Map<string, Int32Array>();
let leaving = false;

/**
 * A barrier shared between processes: each of `parties` processes calls `wait`, and all go on once
 * the last arrives. Each gets a different arrival index (0 … parties − 1).
 *
 * @example
 * const barrier = new Barrier(2);
 * await pool.map(phased, [barrier, barrier]);   // tasks: fill(); barrier.waitSync(); sum();
 */
export class Barrier implements SharedObject {
  readonly #words: Words;
  readonly #guard: Lock;
  readonly #timeout: number | undefined;
  readonly #budget = spinBudget();

  constructor(parties: number, options: BarrierOptions = {}) {
    const at = (parties as unknown as { [kAt]?: Parts })?.[kAt];
    if (at) {
      this.#words = at.words;
      this.#guard = at.guard;
      this.#join();
    } else {
      if (!Number.isSafeInteger(parties) || parties < 1) throw new InvalidArgumentError(`Expected a barrier's parties to be a whole number, 1 or more, got \`${String(parties)}\`.`);
      this.#words = Words.create(TABLE + PARTICIPANTS, this);
      this.#guard = new Lock();
      Atomics.store(this.#words.i32, PARTIES, parties);
    }
    deadlineOf(options.timeout);
    this.#timeout = options.timeout;
  }

  /** How many processes must arrive. */
  get parties(): number {
    return Atomics.load(this.#words.i32, PARTIES);
  }

  /** How many are waiting now. */
  get nWaiting(): number {
    return this.broken ? 0 : Atomics.load(this.#words.i32, COUNT);
  }

  /** Whether it is broken (aborted, timed out, or a party died); `reset()` mends it. */
  get broken(): boolean {
    return Atomics.load(this.#words.i32, BROKEN) === 1;
  }

  /** Waits for every party: resolves to this arrival's index; rejects with {@link BrokenBarrierError}. */
  async wait(timeoutMs?: number | null): Promise<number> {
    const [index, waiting, generation] = this.#arrive(timeoutMs);
    if (!waiting) return index;
    return this.#after(index, generation, await waitAsync(waiting, timeoutMs ?? this.#timeout));
  }

  /** Blocking twin of `wait` (worker code). */
  waitSync(timeoutMs?: number | null): number {
    const [index, waiting, generation] = this.#arrive(timeoutMs);
    if (!waiting) return index;
    return this.#after(index, generation, waitSync(waiting, timeoutMs ?? this.#timeout));
  }

  /** Breaks the barrier: current and later waiters reject until `reset()`. */
  abort(): void {
    Atomics.store(this.#words.i32, BROKEN, 1);
    this.#words.wake(GENERATION, SLEEPERS, EVERYONE);
  }

  /** Back to empty and unbroken; processes waiting now reject with {@link BrokenBarrierError}. */
  reset(): void {
    const i32 = this.#words.i32;
    this.#guard.acquireSync();
    try {
      if (Atomics.load(i32, COUNT) > 0) {
        Atomics.store(i32, RESET, Atomics.load(i32, GENERATION) + 1);
        Atomics.add(i32, GENERATION, 1);
      }
      Atomics.store(i32, COUNT, 0);
      Atomics.store(i32, BROKEN, 0);
      // The dead are forgotten: they broke the barrier once.
      for (let row = 0; row < PARTICIPANTS; row++) {
        const pid = Atomics.load(i32, TABLE + row);
        if (pid > 0 && !isAlive(pid)) Atomics.compareExchange(i32, TABLE + row, pid, 0);
      }
    } finally {
      this.#guard.release();
    }
    this.#words.wake(GENERATION, SLEEPERS, EVERYONE);
  }

  /** Counts this arrival: its index, what to wait for unless it was the last, and its generation. */
  #arrive(timeoutMs: number | null | undefined): [number, Wait | undefined, number] {
    deadlineOf(timeoutMs);
    this.#join();
    const i32 = this.#words.i32;
    this.#guard.acquireSync();
    try {
      if (this.broken) throw new BrokenBarrierError();
      const index = Atomics.add(i32, COUNT, 1);
      if (index + 1 >= this.parties) {
        Atomics.store(i32, COUNT, 0);
        Atomics.add(i32, GENERATION, 1);
        this.#words.wake(GENERATION, SLEEPERS, EVERYONE);
        return [index, undefined, 0];
      }
      const generation = Atomics.load(i32, GENERATION);
      const waiting: Wait = {
        words: this.#words,
        word: GENERATION,
        sleepers: SLEEPERS,
        attempt: () => Atomics.load(i32, GENERATION) !== generation || this.broken,
        recover: () => this.#checkParties(),
        budget: this.#budget,
      };
      return [index, waiting, generation];
    } finally {
      this.#guard.release();
    }
  }

  /** After the wait: the index if the barrier tripped; otherwise it is (or becomes) broken. */
  #after(index: number, generation: number, done: boolean): number {
    const i32 = this.#words.i32;
    if (done && Atomics.load(i32, GENERATION) !== generation) {
      if (Atomics.load(i32, RESET) === generation + 1) throw new BrokenBarrierError('The barrier was reset while this process waited.');
      return index;
    }
    // Timed out (Python breaks the barrier then), aborted, or a party died.
    this.abort();
    throw new BrokenBarrierError(done ? undefined : 'The barrier timed out waiting for its parties; it is broken until reset().');
  }

  /** Breaks the barrier if a participant died without leaving. */
  #checkParties(): void {
    const i32 = this.#words.i32;
    for (let row = 0; row < PARTICIPANTS; row++) {
      const pid = Atomics.load(i32, TABLE + row);
      if (pid > 0 && pid !== myPid() && !isAlive(pid)) {
        this.abort();
        return;
      }
    }
  }

  #join(): void {
    const i32 = this.#words.i32;
    let free = -1;
    for (let row = 0; row < PARTICIPANTS; row++) {
      const pid = Atomics.load(i32, TABLE + row);
      if (pid === myPid()) return;
      if (pid === 0 && free < 0) free = row;
    }
    for (let row = free; row >= 0 && row < PARTICIPANTS; row++) {
      if (Atomics.compareExchange(i32, TABLE + row, 0, myPid()) === 0) break;
    }
    const place = this.#words.place();
    joined.set(`${place.name}:${place.offset}`, i32);
    if (!leaving) {
      leaving = true;
      process.once('exit', leaveAll);
    }
  }

  /** @internal How it crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return describeWords('Barrier', this.#words, { guard: this.#guard[kDescribe](), timeout: this.#timeout });
  }

  toString(): string {
    return `<Barrier(parties=${this.parties}, waiting=${this.nWaiting}${this.broken ? ', broken' : ''})>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** A clean exit: this process leaves every barrier it joined, so its absence breaks none. */
function leaveAll(): void {
  for (const i32 of joined.values()) {
    for (let row = 0; row < PARTICIPANTS; row++) Atomics.compareExchange(i32, TABLE + row, myPid(), 0);
  }
}

registerSharedKind('Barrier', (d) => new Barrier({ [kAt]: { words: wordsOf(d), guard: reviveShared(d.guard as SharedDescriptor) } } as never, { timeout: d.timeout as number | undefined }));
