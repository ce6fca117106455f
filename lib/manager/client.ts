/**
 * A process's connection to a Manager's server: one socket per server per process, opened on the
 * first call, with requests matched to replies by id. It does not keep the process alive while
 * no call is waiting. When the server is gone, every waiting and later call rejects with
 * {@link ManagerClosedError}.
 */
import { connect, type Socket } from 'node:net';
import { ManagerClosedError } from '../errors';
import { decodeError, type EncodedError } from '../transport/error-codec';
import { workerRole } from '../shared/role';
import { BlockingManagerClient, type Client } from './blocking-client';
import { Frame, onFrames, requestFrame } from './protocol';

interface Waiting {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** One connection to one server, served by the event loop. */
export class ManagerClient implements Client {
  readonly address: string;
  #socket: Socket | undefined;
  #closed: Error | undefined;
  readonly #waiting = new Map<number, Waiting>();
  #nextId = 1;

  constructor(address: string) {
    this.address = address;
  }

  /** Calls `method` of managed object `object` with `args`: its result, or its error. */
  call(object: number, method: string, args: unknown[]): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.#closed);
    const socket = this.#connect();
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      if (this.#waiting.size === 1) socket.ref();
      try {
        socket.write(requestFrame(id, object, method, args));
      } catch (error) {
        this.#settled(id);
        reject(error);
      }
    });
  }

  /** Closes this process's connection (the server and other processes are unaffected). */
  close(reason = 'This process closed its connection to the Manager.'): void {
    this.#fail(new ManagerClosedError(reason));
    this.#socket?.destroy();
  }

  #connect(): Socket {
    if (this.#socket) return this.#socket;
    const socket = connect(this.address);
    socket.setNoDelay(true);
    socket.unref();
    onFrames(socket, (type, message) => {
      const [id, value] = message;
      const waiting = this.#settled(id as number);
      if (!waiting) return;
      if (type === Frame.Reply) waiting.resolve(value);
      else waiting.reject(decodeError(value as EncodedError, 'manager'));
    });
    const gone = (error?: Error) =>
      this.#fail(new ManagerClosedError(`The Manager at ${printable(this.address)} has shut down or died${error ? ` (${error.message})` : ''}.`, error ? { cause: error } : undefined));
    socket.on('error', gone);
    socket.on('close', () => gone());
    return (this.#socket = socket);
  }

  #settled(id: number): Waiting | undefined {
    const waiting = this.#waiting.get(id);
    this.#waiting.delete(id);
    if (this.#waiting.size === 0) this.#socket?.unref();
    return waiting;
  }

  #fail(error: Error): void {
    this.#closed ??= error;
    for (const waiting of this.#waiting.values()) waiting.reject(this.#closed);
    this.#waiting.clear();
  }
}

/** An abstract socket's address, printable. */
export function printable(address: string): string {
  return address.startsWith('\0') ? `@${address.slice(1)}` : address;
}

const clients = new Map<string, Client>();

/**
 * This process's client for the server at `address`: in a worker, a blocking one (a round trip
 * then takes 2 wake-ups instead of 4 turns of event loops); in the application, or where a
 * blocking socket cannot be made, one served by the event loop.
 */
export function clientFor(address: string): Client {
  let client = clients.get(address);
  if (!client) clients.set(address, (client = open(address)));
  return client;
}

function open(address: string): Client {
  if (workerRole()) {
    try {
      return new BlockingManagerClient(address);
    } catch {
      // No server there (the event-loop client reports it), or no native sockets: go on without.
    }
  }
  return new ManagerClient(address);
}

/** Forgets the client of a server that shut down (a later Manager may reuse nothing of it). */
export function dropClient(address: string): void {
  clients.get(address)?.close('The Manager has shut down.');
  clients.delete(address);
}
