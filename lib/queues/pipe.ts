/**
 * Pipe (Python's `multiprocessing.Pipe`): two connected ends, each a Connection. Each direction is
 * a ring in shared memory (see ring.ts), so an end passed to a task or a `Process` talks to the
 * other end wherever it is, with no process in the middle.
 */
import { inspect } from 'node:util';
import { ClosedError, InvalidStateError } from '../errors';
import { kDescribe, registerSharedKind, type SharedDescriptor, type SharedObject } from '../shared/shared-object';
import { kAt } from '../sync/lock';
import { deadlineOf, waitAsync, waitSync } from '../sync/words';
import { QueueCore, runAsync, runSync } from './core';

/** A ring's size in bytes for each direction of a pipe (a send larger than half of it streams). */
const PIPE_BUFFER = 1 << 20;

interface Ends {
  readonly incoming: QueueCore | undefined;
  readonly outgoing: QueueCore | undefined;
}

/**
 * One end of a {@link Pipe} (Python's `Connection`). `send` waits only when the other side has
 * 1 MiB unread; `recv` waits for a message.
 */
export class Connection<T = unknown> implements SharedObject, Disposable {
  readonly #incoming: QueueCore | undefined;
  readonly #outgoing: QueueCore | undefined;
  #closed = false;

  /** @internal Ends are made by {@link Pipe}. */
  constructor(ends: never) {
    const { incoming, outgoing } = (ends as { [kAt]: Ends })[kAt];
    this.#incoming = incoming;
    this.#outgoing = outgoing;
  }

  /** Whether this end can receive. */
  get readable(): boolean {
    return this.#incoming !== undefined;
  }

  /** Whether this end can send. */
  get writable(): boolean {
    return this.#outgoing !== undefined;
  }

  /** Whether `close()` was called on this end in this process. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends `message` to the other end (any value the V8 serializer takes; shared objects arrive as themselves). */
  send(message: T): Promise<void> {
    try {
      return runAsync(this.#out().put(message, false), Infinity);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Blocking twin of `send` (it blocks only while the other side has a full buffer unread). */
  sendSync(message: T): void {
    runSync(this.#out().put(message, false), Infinity);
  }

  /** Receives the next message, waiting for it. */
  recv(): Promise<T> {
    try {
      return runAsync(this.#in().get(false), Infinity) as Promise<T>;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Blocking twin of `recv`. */
  recvSync(): T {
    return runSync(this.#in().get(false), Infinity) as T;
  }

  /** Whether a message is ready, waiting at most `timeoutMs` (default 0: just look; `null`: no limit). */
  poll(timeoutMs: number | null = 0): Promise<boolean> {
    try {
      return waitAsync(this.#in().available(), timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Blocking twin of `poll`. */
  pollSync(timeoutMs: number | null = 0): boolean {
    deadlineOf(timeoutMs);
    return waitSync(this.#in().available(), timeoutMs);
  }

  /** Ends this process's use of this end: its later calls throw {@link ClosedError}. Copies in other processes are unaffected. */
  close(): void {
    this.#closed = true;
  }

  /** `using conn = …` closes it at the end of the block (Python's `with conn:`). */
  [Symbol.dispose](): void {
    this.close();
  }

  #in(): QueueCore {
    this.#checkOpen();
    if (!this.#incoming) throw new InvalidStateError('This end of the pipe only sends (Pipe(false) makes [receiver, sender]).');
    return this.#incoming;
  }

  #out(): QueueCore {
    this.#checkOpen();
    if (!this.#outgoing) throw new InvalidStateError('This end of the pipe only receives (Pipe(false) makes [receiver, sender]).');
    return this.#outgoing;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ClosedError('This end of the pipe was closed in this process.');
  }

  /** @internal How it crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return { kind: 'Connection', incoming: this.#incoming?.describe('ring') ?? null, outgoing: this.#outgoing?.describe('ring') ?? null };
  }

  toString(): string {
    const mode = this.readable && this.writable ? 'duplex' : this.readable ? 'receiver' : 'sender';
    return `<Connection(${mode}${this.#closed ? ', closed' : ''})>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function end<T>(incoming: QueueCore | undefined, outgoing: QueueCore | undefined): Connection<T> {
  return new Connection<T>({ [kAt]: { incoming, outgoing } } as never);
}

/**
 * A pair of connected ends (Python's `multiprocessing.Pipe(duplex=True)`). Duplex: each end sends
 * to and receives from the other. `Pipe(false)`: the first end only receives, the second only
 * sends, as in Python.
 *
 * @example
 * const [parentEnd, childEnd] = Pipe<string>();
 * const proc = new Process({ target: talk, args: [childEnd] }); await proc.start();
 * await parentEnd.send('hello');
 * await parentEnd.recv();
 */
export function Pipe<T = unknown>(duplex = true): [Connection<T>, Connection<T>] {
  const owner = {};
  const forward = QueueCore.create(0, PIPE_BUFFER, owner);
  const backward = duplex ? QueueCore.create(0, PIPE_BUFFER, owner) : undefined;
  const first = end<T>(forward, backward);
  const second = end<T>(backward, forward);
  // Each ring's memory lives while either end does.
  keep.set(first, owner);
  keep.set(second, owner);
  return [first, second];
}

const keep = new WeakMap<object, object>();

registerSharedKind('Connection', (d) => {
  const core = (x: unknown): QueueCore | undefined => (x ? QueueCore.at(x as SharedDescriptor) : undefined);
  return end(core(d.incoming), core(d.outgoing));
});
