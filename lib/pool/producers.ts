/**
 * Lazy producers (imap iterators) that may still submit tasks: a closing pool waits for them.
 * Each holds the pool open until it calls the release it was given (once; later calls do nothing).
 */
export class Producers {
  #count = 0;

  /** How many hold the pool open. */
  get count(): number {
    return this.#count;
  }

  /** One more producer; `released` runs when it lets go. */
  hold(released: () => void): () => void {
    this.#count++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#count--;
      released();
    };
  }
}
