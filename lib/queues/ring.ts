/**
 * The byte ring under every queue and pipe: a buffer in shared memory that writers append records
 * to and readers take them from, with no process in the middle (a message costs a copy in and a
 * copy out, instead of a relay through the parent: ~30 µs a message measured here).
 *
 * One writer and one reader at a time (each side has a lock), so the ring itself is a
 * single-producer single-consumer ring: the writer alone moves `TAIL`, the reader alone `HEAD`.
 * A message larger than half the ring goes as several records (FIRST, MIDDLE…, LAST) that the
 * reader puts back together. Positions are byte counters that wrap at 2³², and the capacity is a
 * power of two, so `position % capacity` stays right across the wrap.
 *
 * Nothing is torn by a death: a record becomes visible only when `TAIL` moves past it, and a
 * message in records is only delivered once its LAST record arrives. A writer that takes the lock
 * over from a dead writer first writes an ABORT record, which tells the reader to drop any half
 * message; a reader that takes over from a dead reader skips records until a message starts.
 */
import type { Words } from '../sync/words';

/** Control words. */
export const HEAD = 0;
export const TAIL = 1;
/** Whole messages in the ring. */
export const ITEMS = 2;
/** Sleepers on TAIL (readers waiting for data), on HEAD (writers waiting for room), on ITEMS (writers waiting under maxsize). */
export const DATA_SLEEPERS = 3;
export const ROOM_SLEEPERS = 4;
export const ITEM_SLEEPERS = 5;
/** JoinableQueue: items put and not yet marked done, and the processes waiting for 0. */
export const UNFINISHED = 6;
export const JOIN_SLEEPERS = 7;
export const MAXSIZE = 8;
/** The table of consumers' taken-not-done items (JoinableQueue). */
export const HOLDERS = 16;
export const HOLDER_ROWS = 64;
export const CONTROL_WORDS = HOLDERS + HOLDER_ROWS * 2;

/** Record kinds. */
export const enum Kind {
  Whole = 1,
  First = 2,
  Middle = 3,
  Last = 4,
  /** The previous writer died: drop any half-read message. */
  Abort = 5,
}

/** A record's header: payload length, kind, and (FIRST) the whole message's length. */
export const HEADER = 16;

/** The ring's capacity in bytes, from what was asked: a power of two, 64 KiB to 1 GiB. */
export function capacityFor(bytes: number): number {
  let capacity = 64 * 1024;
  while (capacity < bytes && capacity < 2 ** 30) capacity *= 2;
  return capacity;
}

/** Bytes a record of `length` payload bytes takes in the ring (8-byte aligned). */
export function recordSize(length: number): number {
  return HEADER + ((length + 7) & ~7);
}

/** The largest payload of one record: half the ring, so that a record always fits once the reader catches up. */
export function maxPayload(capacity: number): number {
  return capacity / 2 - HEADER;
}

/** The ring over a queue's words: moving bytes in and out, no waiting. */
export class Ring {
  readonly #i32: Int32Array;
  readonly #data: Uint8Array;
  readonly #header = new DataView(new ArrayBuffer(HEADER));
  readonly capacity: number;

  constructor(words: Words) {
    this.#i32 = words.i32;
    this.#data = words.data;
    this.capacity = words.data.length;
  }

  /** Bytes the writer can append now. */
  room(): number {
    return this.capacity - this.used();
  }

  /** Bytes written and not yet read. */
  used(): number {
    return (Atomics.load(this.#i32, TAIL) - Atomics.load(this.#i32, HEAD)) >>> 0;
  }

  /** Appends one record (the caller made sure there is room) and makes it visible. */
  write(kind: Kind, payload: Uint8Array, total: number): void {
    const tail = Atomics.load(this.#i32, TAIL) >>> 0;
    const header = this.#header;
    header.setUint32(0, payload.length, true);
    header.setUint32(4, kind, true);
    header.setUint32(8, total, true);
    this.#copyIn(tail, new Uint8Array(header.buffer));
    this.#copyIn(tail + HEADER, payload);
    Atomics.store(this.#i32, TAIL, (tail + recordSize(payload.length)) | 0);
  }

  /** The next record's header, or undefined when nothing is there. */
  peek(): { length: number; kind: Kind; total: number } | undefined {
    if (this.used() === 0) return undefined;
    const head = Atomics.load(this.#i32, HEAD) >>> 0;
    const bytes = new Uint8Array(this.#header.buffer);
    this.#copyOut(head, bytes, 0, HEADER);
    return { length: this.#header.getUint32(0, true), kind: this.#header.getUint32(4, true) as Kind, total: this.#header.getUint32(8, true) };
  }

  /** Copies the next record's payload into `into` at `at`. */
  read(length: number, into: Uint8Array, at: number): void {
    this.#copyOut((Atomics.load(this.#i32, HEAD) >>> 0) + HEADER, into, at, length);
  }

  /** The next record's payload where it lies, if it does not wrap (a view: use before `skip`). */
  inPlace(length: number): Uint8Array | undefined {
    const start = ((Atomics.load(this.#i32, HEAD) >>> 0) + HEADER) % this.capacity;
    return start + length <= this.capacity ? this.#data.subarray(start, start + length) : undefined;
  }

  /** Lets go of the next record (its room goes back to the writer). */
  skip(length: number): void {
    Atomics.add(this.#i32, HEAD, recordSize(length));
  }

  #copyIn(position: number, bytes: Uint8Array): void {
    const at = position % this.capacity;
    const first = Math.min(bytes.length, this.capacity - at);
    this.#data.set(first === bytes.length ? bytes : bytes.subarray(0, first), at);
    if (first < bytes.length) this.#data.set(bytes.subarray(first), 0);
  }

  #copyOut(position: number, into: Uint8Array, at: number, length: number): void {
    const start = position % this.capacity;
    const first = Math.min(length, this.capacity - start);
    into.set(this.#data.subarray(start, start + first), at);
    if (first < length) into.set(this.#data.subarray(0, length - first), at + first);
  }
}
