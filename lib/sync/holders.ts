/**
 * A table of holders in shared memory: rows of (pid, count) for what processes hold that carries
 * no owner of its own (a semaphore's permits, a queue's items taken and not yet done). Each
 * process counts in its own row; a waiter that suspects a death gives back the counts of rows
 * whose process is gone. When every row is taken, further processes go uncounted: what they hold
 * still works, but their death is not repaired.
 */
import { isAlive, myPid } from '../platform/processes';

/** A row being emptied by the process that found its owner dead. */
const CLAIMED = -1;

/** The holder table at words `[start, start + rows * 2)` of `i32`. */
export class Holders {
  readonly #i32: Int32Array;
  readonly #start: number;
  readonly #rows: number;
  readonly #giveBack: (count: number) => void;
  /** This process's row, once it has one. */
  #row = -1;

  /** @param giveBack - returns what dead holders held (permits to the semaphore, say). */
  constructor(i32: Int32Array, start: number, rows: number, giveBack: (count: number) => void) {
    this.#i32 = i32;
    this.#start = start;
    this.#rows = rows;
    this.#giveBack = giveBack;
  }

  /** How many words a table of `rows` rows takes. */
  static words(rows: number): number {
    return rows * 2;
  }

  /** Counts `n` more held by this process. */
  add(n: number): void {
    const row = this.#own();
    if (row >= 0) Atomics.add(this.#i32, this.#start + row * 2 + 1, n);
  }

  /** Counts up to `n` fewer held by this process (never below 0). */
  sub(n: number): void {
    const row = this.#row;
    if (row < 0 || Atomics.load(this.#i32, this.#start + row * 2) !== myPid()) return;
    const count = this.#start + row * 2 + 1;
    Atomics.sub(this.#i32, count, Math.min(n, Atomics.load(this.#i32, count)));
  }

  /** Empties the rows of processes that are gone, and gives back what they held. */
  reclaim(): void {
    const total = this.#reclaimRows();
    if (total > 0) this.#giveBack(total);
  }

  #reclaimRows(): number {
    const i32 = this.#i32;
    let total = 0;
    for (let row = 0; row < this.#rows; row++) {
      const at = this.#start + row * 2;
      const pid = Atomics.load(i32, at);
      if (pid <= 0 || pid === myPid() || isAlive(pid)) continue;
      if (Atomics.compareExchange(i32, at, pid, CLAIMED) !== pid) continue;
      total += Atomics.exchange(i32, at + 1, 0);
      Atomics.store(i32, at, 0);
    }
    return total;
  }

  #own(): number {
    const i32 = this.#i32;
    if (this.#row >= 0 && Atomics.load(i32, this.#start + this.#row * 2) === myPid()) return this.#row;
    // Every row taken: rows of processes that are gone (a pool recycles its workers) are freed once.
    for (let round = 0; round < 2; round++) {
      for (let row = 0; row < this.#rows; row++) {
        const at = this.#start + row * 2;
        const pid = Atomics.load(i32, at);
        if (pid === myPid() || (pid === 0 && Atomics.compareExchange(i32, at, 0, myPid()) === 0)) return (this.#row = row);
      }
      if (round === 0) this.reclaim();
    }
    return (this.#row = -1);
  }
}
