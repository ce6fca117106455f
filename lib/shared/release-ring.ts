/**
 * Where a worker reports the captured regions it let go of, in shared memory: a single-producer
 * (the worker), single-consumer (the application) ring of u32 ids. The application reads it at
 * once when it captures, even in the middle of synchronous work; a frame would wait until its
 * event loop turns, and a burst submitted right after synchronous work would find no region
 * released and take fresh memory. Layout (u32): [0] written count, [1] read count, [2...] slots.
 */
import { attachSegment, createSegment, unlinkSegment, type Segment } from './segment';

const SLOTS = 16_384;

/** The application's end: created with a channel's first captured region, read when capturing. */
export class ReleaseRing {
  readonly #segment: Segment;
  readonly #words: Uint32Array;

  constructor() {
    this.#segment = createSegment(4 * (2 + SLOTS));
    this.#words = new Uint32Array(this.#segment.buffer, 0, 2 + SLOTS);
  }

  get name(): string {
    return this.#segment.name;
  }

  /** The ids written since the last read. */
  drain(): number[] {
    const words = this.#words;
    const written = Atomics.load(words, 0);
    let read = Atomics.load(words, 1);
    if (read === written) return [];
    const ids: number[] = [];
    for (; read !== written; read = (read + 1) >>> 0) ids.push(words[2 + (read % SLOTS)]);
    Atomics.store(words, 1, read);
    return ids;
  }

  /** Unlinks the ring (its channel ended). */
  close(): void {
    try {
      unlinkSegment(this.#segment.name);
    } catch {
      // Unlinked already.
    }
  }
}

/** The worker's end. */
export class ReleaseRingWriter {
  readonly #words: Uint32Array;

  constructor(name: string) {
    const segment = attachSegment(name, true);
    this.#words = new Uint32Array(segment.buffer, 0, 2 + SLOTS);
  }

  /** Writes as many ids as fit; returns those that did not. */
  write(ids: readonly number[]): number[] {
    const words = this.#words;
    let written = Atomics.load(words, 0);
    const read = Atomics.load(words, 1);
    let i = 0;
    for (; i < ids.length && ((written - read) >>> 0) < SLOTS; i++) {
      words[2 + (written % SLOTS)] = ids[i];
      written = (written + 1) >>> 0;
    }
    // Published after the slots: the reader sees the ids before it sees the count.
    Atomics.store(words, 0, written);
    return ids.slice(i);
  }
}
