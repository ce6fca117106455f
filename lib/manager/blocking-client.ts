/**
 * A worker's connection to a Manager's server: round trips that block the worker, on a blocking
 * socket of its own, as Python's proxies do. A worker running a task has nothing else to do
 * meanwhile, and a round trip no longer waits for its event loop to turn on each reply. The
 * application keeps the event-loop client (client.ts): it must never stop for a server.
 */
import { closeSync, readSync, writeSync } from 'node:fs';
import { ManagerClosedError } from '../errors';
import { nativeMemory } from '../shared/native';
import { decodeError, type EncodedError } from '../transport/error-codec';
import { FRAME_HEADER } from '../transport/frames';
import { decode } from '../transport/payload';
import { Frame, requestFrame } from './protocol';

/** What a proxy needs of a connection, blocking or not. */
export interface Client {
  call(object: number, method: string, args: unknown[]): Promise<unknown>;
  close(reason?: string): void;
}

/** One blocking connection to one server. */
export class BlockingManagerClient implements Client {
  readonly #address: string;
  #fd: number;
  #closed: Error | undefined;
  readonly #header = Buffer.alloc(FRAME_HEADER);

  /** @throws when the server cannot be reached, or sockets cannot be made blocking here. */
  constructor(address: string) {
    this.#address = address;
    this.#fd = nativeMemory().connectUnix(address);
  }

  call(object: number, method: string, args: unknown[]): Promise<unknown> {
    try {
      return Promise.resolve(this.#roundTrip(object, method, args));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(reason = 'This process closed its connection to the Manager.'): void {
    this.#closed ??= new ManagerClosedError(reason);
    if (this.#fd >= 0) closeSync(this.#fd);
    this.#fd = -1;
  }

  #roundTrip(object: number, method: string, args: unknown[]): unknown {
    if (this.#closed) throw this.#closed;
    const frame = requestFrame(0, object, method, args);
    let body: Buffer;
    try {
      for (let at = 0; at < frame.length; ) at += writeSync(this.#fd, frame, at);
      this.#read(this.#header);
      body = Buffer.allocUnsafe(this.#header.readUInt32LE(0) - 1);
      this.#read(body);
    } catch (error) {
      // The server is gone (end of stream, a reset): this connection is over.
      this.close(`The Manager at @${this.#address.slice(1)} has shut down or died (${(error as Error).message}).`);
      throw this.#closed;
    }
    const [, value] = decode(body, 0, body.length) as [number, unknown];
    if (this.#header[4] === Frame.Reply) return value;
    throw decodeError(value as EncodedError, 'manager');
  }

  /** Fills `target` from the socket, blocking; end of stream means the server is gone. */
  #read(target: Buffer): void {
    for (let at = 0; at < target.length; ) {
      let n: number;
      try {
        n = readSync(this.#fd, target, at, target.length - at, null);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EINTR') continue;
        throw error;
      }
      if (n === 0) throw new Error('the connection was closed');
      at += n;
    }
  }
}
