import { InvalidArgumentError } from '../errors';

/** `maxQueue` as `new Pool()` takes it: a number of tasks, or `'auto'` (processes × processes). */
export type MaxQueue = number | 'auto';

/** Checks `maxQueue` and turns it into a number of tasks (Infinity when unbounded, the default). */
export function resolveMaxQueue(maxQueue: unknown, processes: number): number {
  if (maxQueue === undefined || maxQueue === Infinity) return Infinity;
  // As piscina: enough for every worker to have a few tasks waiting behind the one it runs.
  if (maxQueue === 'auto') return processes * processes;
  if (typeof maxQueue !== 'number' || !Number.isInteger(maxQueue) || maxQueue < 1) {
    throw new InvalidArgumentError(`Expected \`maxQueue\` to be an integer >= 1, 'auto' or Infinity, got \`${String(maxQueue)}\`.`);
  }
  return maxQueue;
}

/**
 * The pool's queue limit and the promises that wait for its queue to empty (p-queue's `onEmpty`)
 * or for the whole pool to go quiet (`onIdle`). The engine tells it how things stand after every
 * change (`update`); it decides when `'drain'` fires: once the queue falls below the limit after it
 * reached it, so a producer that paused on a full queue resumes exactly once.
 */
export class Backpressure {
  /** Whether the queue reached the limit since the last `'drain'`. */
  #full = false;
  #drained: (() => void)[] = [];
  #idle: (() => void)[] = [];

  constructor(
    /** Most tasks the queue holds; Infinity without a limit. */
    readonly maxQueue: number,
    /** Called when the queue falls below the limit after it was full. */
    private readonly onDrain: () => void,
  ) {}

  /**
   * Whether `count` more tasks fit in a queue of `queued`. A refusal marks the queue full, so the
   * refused caller hears `'drain'` even if the queue never reached the limit exactly.
   */
  admits(queued: number, count: number): boolean {
    if (queued + count <= this.maxQueue) return true;
    this.#full = true;
    return false;
  }

  /** A task joined a queue that now holds `queued`. */
  queued(queued: number): void {
    if (queued >= this.maxQueue) this.#full = true;
  }

  /** Resolves once the queue is empty. */
  drained(queued: number): Promise<void> {
    if (queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /** Resolves once nothing is queued and no worker holds a task. */
  idle(queued: number, busy: boolean): Promise<void> {
    if (queued === 0 && !busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Whether someone waits for the pool to go idle (the engine then counts the tasks workers hold). */
  get wantsBusy(): boolean {
    return this.#idle.length > 0;
  }

  /** How things stand now: `queued` tasks wait, `busy` tells whether a worker holds any. */
  update(queued: number, busy: boolean): void {
    if (this.#full && queued < this.maxQueue) {
      this.#full = false;
      this.onDrain();
    }
    if (queued > 0) return;
    if (this.#drained.length) for (const resolve of this.#drained.splice(0)) resolve();
    if (this.#idle.length && !busy) for (const resolve of this.#idle.splice(0)) resolve();
  }
}
