/**
 * What Queue, JoinableQueue, SimpleQueue and each direction of a Pipe share: a ring in shared
 * memory (ring.ts), a lock for its writers and one for its readers, and the steps of a `put` and a
 * `get`. The steps are written once, as generators that yield each wait, and run either blocking
 * (`…Sync`) or on the event loop (async) by the two drivers at the bottom.
 */
import { InvalidStateError, QueueEmptyError, QueueFullError, SerializationError } from '../errors';
import { kDescribe, reviveShared, type SharedDescriptor } from '../shared/shared-object';
import { payloadBuffers } from '../transport/buffer-pool';
import { decode, encodeArgs } from '../transport/payload';
import { Holders } from '../sync/holders';
import { kWait, Lock } from '../sync/lock';
import { EVERYONE, spinBudget, waitAsync, waitSync, Words, type Wait, type WordsPlace } from '../sync/words';
import { isAlive } from '../platform/processes';
import {
  capacityFor,
  CONTROL_WORDS,
  DATA_SLEEPERS,
  HEAD,
  HEADER,
  HOLDER_ROWS,
  HOLDERS,
  ITEM_SLEEPERS,
  ITEMS,
  JOIN_SLEEPERS,
  Kind,
  MAXSIZE,
  maxPayload,
  recordSize,
  Ring,
  ROOM_SLEEPERS,
  TAIL,
  UNFINISHED,
} from './ring';

/** One wait of a put or get; `bounded` waits count against the call's timeout. */
export interface Step {
  readonly wait: Wait;
  readonly bounded: boolean;
}

type Steps<R> = Generator<Step, R, boolean>;

/** Payloads smaller than this are decoded where they lie in the ring; larger ones are copied out first (their views could point into the ring). */
const IN_PLACE_MAX = 4096;
const EMPTY = new Uint8Array(0);

/** A ring with its locks: one direction of message passing. */
export class QueueCore {
  readonly words: Words;
  readonly ring: Ring;
  readonly #writers: Lock;
  readonly #readers: Lock;
  readonly #holders: Holders;
  /** One spin budget for the waits of this ring in this process (they are made per call). */
  readonly #budget = spinBudget();

  constructor(words: Words, writers: Lock, readers: Lock) {
    this.words = words;
    this.ring = new Ring(words);
    this.#writers = writers;
    this.#readers = readers;
    // Items taken by consumers that died count as done (they ran at most once).
    this.#holders = new Holders(words.i32, HOLDERS, HOLDER_ROWS, (lost) => {
      Atomics.sub(words.i32, UNFINISHED, lost);
      words.wake(UNFINISHED, JOIN_SLEEPERS, EVERYONE);
    });
  }

  /** A new ring of at least `bufferBytes` (rounded up to a power of two), holding at most `maxsize` messages (0: no limit). */
  static create(maxsize: number, bufferBytes: number, owner: object): QueueCore {
    const words = Words.create(CONTROL_WORDS, owner, capacityFor(bufferBytes));
    Atomics.store(words.i32, MAXSIZE, maxsize);
    return new QueueCore(words, new Lock(), new Lock());
  }

  /** The ring another process described. */
  static at(descriptor: SharedDescriptor): QueueCore {
    return new QueueCore(Words.at(descriptor.ring as WordsPlace), reviveShared(descriptor.writers as SharedDescriptor) as Lock, reviveShared(descriptor.readers as SharedDescriptor) as Lock);
  }

  /** What another process needs to use the same ring. */
  describe(kind: string): SharedDescriptor {
    return { kind, ring: this.words.place(), writers: this.#writers[kDescribe](), readers: this.#readers[kDescribe]() };
  }

  get maxsize(): number {
    return Atomics.load(this.words.i32, MAXSIZE);
  }

  /** Whole messages in the ring now. */
  size(): number {
    return Math.max(0, Atomics.load(this.words.i32, ITEMS));
  }

  /**
   * The steps of putting one message; `joinable` counts it as unfinished. The message is encoded
   * at once (it is captured as it is at the call), into memory reused from put to put: a fresh
   * 1 MB buffer per message cost 1.2 ms here in page faults, a reused one 0.09 ms.
   */
  *put(message: unknown, joinable: boolean): Steps<void> {
    const buffers = payloadBuffers();
    let payload: Buffer;
    try {
      payload = encodeArgs([message], buffers);
    } catch (error) {
      throw new SerializationError(`The message cannot be serialized: ${(error as Error).message}`, 'arguments', { cause: error });
    }
    try {
      yield* this.#put(payload, joinable);
    } finally {
      buffers.release(payload);
    }
  }

  *#put(payload: Uint8Array, joinable: boolean): Steps<void> {
    const i32 = this.words.i32;
    if (!(yield { wait: this.#writers[kWait](), bounded: true })) throw new QueueFullError('The queue stayed busy with other writers until the timeout.');
    try {
      // The writer before died. If it was in the middle of a message, it left room for this ABORT
      // (see below), which tells readers to drop what they have of it; if there is no room, it was not.
      if (this.#writers.previousOwnerDied && this.ring.room() >= HEADER) this.#write(Kind.Abort, EMPTY, 0);
      const maxsize = this.maxsize;
      if (maxsize > 0) {
        const wait: Wait = { words: this.words, word: ITEMS, sleepers: ITEM_SLEEPERS, attempt: () => Atomics.load(i32, ITEMS) < maxsize, budget: this.#budget };
        if (!(yield { wait, bounded: true })) throw new QueueFullError();
      }
      const most = maxPayload(this.ring.capacity);
      const parts = Math.max(1, Math.ceil(payload.length / most));
      for (let part = 0; part < parts; part++) {
        const bytes = parts === 1 ? payload : payload.subarray(part * most, (part + 1) * most);
        const last = part === parts - 1;
        // An unfinished message keeps room for an ABORT record after it, so a timeout (or a
        // takeover after a death) can always tell readers to drop it.
        if (!(yield { wait: this.#room(recordSize(bytes.length) + (last ? 0 : HEADER)), bounded: true })) {
          if (part > 0) this.#write(Kind.Abort, EMPTY, 0);
          throw new QueueFullError();
        }
        if (last && joinable) Atomics.add(i32, UNFINISHED, 1);
        this.#write(parts === 1 ? Kind.Whole : part === 0 ? Kind.First : last ? Kind.Last : Kind.Middle, bytes, payload.length);
      }
      Atomics.add(i32, ITEMS, 1);
    } finally {
      this.#writers.release();
    }
  }

  /** The steps of getting one message, decoded; `joinable` counts it as taken and not yet done. */
  *get(joinable: boolean): Steps<unknown> {
    if (!(yield { wait: this.#readers[kWait](), bounded: true })) throw new QueueEmptyError();
    try {
      // A reader that died in the middle of a message left the rest of it: with no assembly
      // started, its MIDDLE and LAST records are skipped until the next message begins.
      let assembly: Uint8Array | undefined;
      let filled = 0;
      for (;;) {
        const data = this.#data(assembly !== undefined);
        if (!(yield { wait: data.wait, bounded: assembly === undefined })) throw new QueueEmptyError();
        if (data.writerDied()) {
          assembly = undefined;
          continue;
        }
        const record = this.ring.peek();
        if (!record) continue;
        const { length, kind, total } = record;
        if (kind === Kind.Whole) {
          const value = this.#decode(length);
          return this.#taken(length, joinable, value);
        }
        if (kind === Kind.First) {
          assembly = new Uint8Array(total);
          filled = 0;
        }
        if ((kind === Kind.Middle || kind === Kind.Last || kind === Kind.First) && assembly) {
          this.ring.read(length, assembly, filled);
          filled += length;
          if (kind === Kind.Last) {
            const bytes = assembly;
            return this.#taken(length, joinable, unwrap(decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 0, bytes.length)));
          }
        } else if (kind === Kind.Abort) {
          assembly = undefined;
        }
        this.#skip(length);
      }
    } finally {
      this.#readers.release();
    }
  }

  /** What `poll` waits for: a record to read. */
  available(): Wait {
    return { words: this.words, word: TAIL, sleepers: DATA_SLEEPERS, attempt: () => this.ring.used() > 0, budget: this.#budget };
  }

  /** JoinableQueue: marks one taken message done. */
  taskDone(): void {
    const i32 = this.words.i32;
    if (Atomics.sub(i32, UNFINISHED, 1) <= 0) {
      Atomics.add(i32, UNFINISHED, 1);
      throw new InvalidStateError('taskDone() was called more times than items were put.');
    }
    this.#holders.sub(1);
    if (Atomics.load(i32, UNFINISHED) === 0) this.words.wake(UNFINISHED, JOIN_SLEEPERS, EVERYONE);
  }

  /** JoinableQueue: what `join` waits for. Items taken by consumers that died count as done. */
  joined(): Wait {
    const i32 = this.words.i32;
    return {
      words: this.words,
      word: UNFINISHED,
      sleepers: JOIN_SLEEPERS,
      attempt: () => Atomics.load(i32, UNFINISHED) <= 0,
      recover: () => this.#holders.reclaim(),
    };
  }

  #write(kind: Kind, payload: Uint8Array, total: number): void {
    this.ring.write(kind, payload, total);
    this.words.wake(TAIL, DATA_SLEEPERS);
  }

  #skip(length: number): void {
    this.ring.skip(length);
    this.words.wake(HEAD, ROOM_SLEEPERS);
  }

  #taken(length: number, joinable: boolean, value: unknown): unknown {
    this.#skip(length);
    Atomics.sub(this.words.i32, ITEMS, 1);
    this.words.wake(ITEMS, ITEM_SLEEPERS);
    if (joinable) this.#holders.add(1);
    return value;
  }

  #decode(length: number): unknown {
    let bytes = length < IN_PLACE_MAX ? this.ring.inPlace(length) : undefined;
    if (!bytes) {
      bytes = new Uint8Array(length);
      this.ring.read(length, bytes, 0);
    }
    return unwrap(decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), 0, bytes.length));
  }

  #room(bytes: number): Wait {
    return { words: this.words, word: HEAD, sleepers: ROOM_SLEEPERS, attempt: () => this.ring.room() >= bytes, budget: this.#budget };
  }

  /** Waiting for data; in the middle of a message, also for its writer's death. */
  #data(assembling: boolean): { wait: Wait; writerDied: () => boolean } {
    let died = false;
    const wait: Wait = {
      words: this.words,
      word: TAIL,
      sleepers: DATA_SLEEPERS,
      attempt: () => died || this.ring.used() > 0,
      budget: this.#budget,
      recover: () => {
        if (!assembling) return;
        const owner = this.#writers.owner();
        died = owner === 0 || !isAlive(owner);
      },
    };
    return { wait, writerDied: () => died && this.ring.used() === 0 };
  }
}

/** A message travels as a one-item argument list (see `put`). */
function unwrap(decoded: unknown): unknown {
  return (decoded as unknown[])[0];
}

/** Runs the steps blocking this process; the timeout (ms) bounds the bounded waits. */
export function runSync<R>(steps: Steps<R>, deadline: number): R {
  let next = steps.next();
  while (!next.done) {
    let done: boolean;
    try {
      done = waitSync(next.value.wait, next.value.bounded ? left(deadline) : undefined);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(done);
  }
  return next.value;
}

/** Runs the steps on the event loop. */
export async function runAsync<R>(steps: Steps<R>, deadline: number): Promise<R> {
  let next = steps.next();
  while (!next.done) {
    let done: boolean;
    try {
      done = await waitAsync(next.value.wait, next.value.bounded ? left(deadline) : undefined);
    } catch (error) {
      next = steps.throw(error);
      continue;
    }
    next = steps.next(done);
  }
  return next.value;
}

function left(deadline: number): number | undefined {
  return deadline === Infinity ? undefined : Math.max(0, deadline - performance.now());
}
