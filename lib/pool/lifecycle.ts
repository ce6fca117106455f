import { PoolClosedError, PoolTerminatedError } from '../errors';

/**
 * Where a pool is in its life:
 *
 * ```
 *  running ──close()──► closing ──(queue done, workers gone)──► closed
 *     │                    ▲
 *     └─start failures─► broken ──close()──┘
 *  running | broken | closing ──terminate()──► terminating ──(workers gone)──► closed
 * ```
 *
 * `running` accepts tasks; `broken` refuses them because workers kept failing to start;
 * `closing` finishes queued work and then lets workers exit; `terminating` kills them; `closed`
 * is final.
 */
export type PoolState = 'running' | 'broken' | 'closing' | 'terminating' | 'closed';

/**
 * The pool's state machine: one state, changed only here. A failure to start workers is kept
 * with it (`failure`), so a pool closed after it broke still refuses work with that reason.
 */
export class Lifecycle {
  #state: PoolState = 'running';
  #failure: Error | undefined;
  #markClosed!: () => void;
  /** Resolves when the state is `closed` and what the pool kept (spares) is released. */
  readonly closed = new Promise<void>((resolve) => (this.#markClosed = resolve));

  get state(): PoolState {
    return this.#state;
  }

  /** Why workers are no longer started, if they are not. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  /** Whether workers run tasks: the pool is running, or closing with queued work. */
  get working(): boolean {
    return (this.#state === 'running' || this.#state === 'closing') && !this.#failure;
  }

  /** Whether the pool is on its way out (or gone): `terminating` or `closed`. */
  get ending(): boolean {
    return this.#state === 'terminating' || this.#state === 'closed';
  }

  /** Why a new call cannot be accepted now, or undefined if it can. */
  refusal(): Error | undefined {
    if (this.#state === 'running') return undefined;
    if (this.#state === 'broken') return this.#failure;
    return new PoolClosedError();
  }

  /**
   * Why a task cannot be queued now, or undefined if it can. Tasks of producers that started
   * before `close()` (imap iterators) are still accepted while the pool is closing.
   */
  queueRefusal(): Error | undefined {
    if (this.ending) return new PoolTerminatedError();
    return this.#failure;
  }

  /** Workers failed to start too often: refuse work with `error` from now on. */
  break(error: Error): boolean {
    if (this.#failure || this.ending) return false;
    this.#failure = error;
    if (this.#state === 'running') this.#state = 'broken';
    return true;
  }

  /** `close()`: returns false if the pool was already closing or ending. */
  close(): boolean {
    if (this.#state !== 'running' && this.#state !== 'broken') return false;
    this.#state = 'closing';
    return true;
  }

  /** `terminate()`: returns false if it was already terminating or closed. */
  terminate(): boolean {
    if (this.ending) return false;
    this.#state = 'terminating';
    return true;
  }

  /**
   * The last worker is gone after `close()` or `terminate()`; `release` frees what the pool kept
   * (its launcher's spares), and `closed` resolves after it.
   */
  finish(release: () => Promise<void>): void {
    if (this.#state !== 'closing' && this.#state !== 'terminating') return;
    this.#state = 'closed';
    void release().finally(this.#markClosed);
  }
}
