/**
 * Manager (Python's `multiprocessing.Manager()`): a server process that keeps dicts, lists and
 * namespaces for every process of the application. Proxies make one round trip per call (a Unix
 * socket in Linux's abstract namespace: no file to leak), so a Manager suits shared bookkeeping
 * more than hot loops; for those, use Value, SharedArray, queues or shared memory.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, ManagerClosedError } from '../errors';
import { compiledScript } from '../launchers/entry';
import { markSharedUsed } from '../shared/shared-object';
import { clientFor, dropClient, printable } from './client';
import { SERVER } from './protocol';
import { DictProxy, ListProxy, NamespaceProxy } from './proxies';

/** Options of `Manager.start()`. */
export interface ManagerOptions {
  /** How long the server may take to start, in ms. @default 30000 */
  startTimeout?: number;
}

/** How long `shutdown()` waits for the server to exit before it kills it, in ms. */
const SHUTDOWN_GRACE_MS = 5000;

let counter = 0;

/**
 * A running Manager server. Make one with `await Manager.start()`; `await using` shuts it down.
 *
 * @example
 * await using manager = await Manager.start();
 * const seen = manager.dict<string, number>();
 * await pool.map(countWords, files.map((f) => [seen, f]));   // tasks: await seen.set(word, n)
 * await seen.items();
 */
export class Manager implements AsyncDisposable {
  /** The server's socket address (abstract namespace: starts with a NUL byte). */
  readonly address: string;
  readonly #child: ChildProcess;
  #closed = false;

  private constructor(address: string, child: ChildProcess) {
    this.address = address;
    this.#child = child;
  }

  /** Starts a server process and resolves once it listens. */
  static start(options: ManagerOptions = {}): Promise<Manager> {
    const startTimeout = options.startTimeout ?? 30_000;
    if (!Number.isFinite(startTimeout) || startTimeout <= 0) throw new InvalidArgumentError(`Expected startTimeout in ms, above 0, got \`${String(startTimeout)}\`.`);
    markSharedUsed();
    const address = `\0procpool-manager-${process.pid}-${randomBytes(6).toString('hex')}`;
    // In a session of its own, as pool workers are: with Linux's scheduler autogroups (one per
    // session), a worker talking to a server in the application's session took 35–60 µs a round
    // trip on a loaded machine, against 23–27 µs for a client in the server's own group.
    const child = fork(compiledScript('manager', 'server.js'), [address.slice(1)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [], detached: true });
    return new Promise<Manager>((resolve, reject) => {
      const fail = (message: string) => {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new ManagerClosedError(`The Manager's server did not start: ${message}.`));
      };
      const timer = setTimeout(() => fail(`it was not listening after ${startTimeout} ms`), startTimeout);
      child.once('error', (error) => fail(error.message));
      child.once('exit', (code, signal) => fail(`it exited (${signal ?? `code ${code}`})`));
      child.once('message', (message) => {
        if (message !== 'ready') return fail(String((message as { error?: string })?.error ?? message));
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        // Neither keeps the application alive; when it exits, the server sees its channel close and exits too.
        child.unref();
        child.channel?.unref();
        resolve(new Manager(address, child));
      });
    });
  }

  /** The server's pid. */
  get pid(): number {
    return this.#child.pid as number;
  }

  /** Whether `shutdown()` was called (or the server died). */
  get closed(): boolean {
    return this.#closed || this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** A new dict on the server (Python's `manager.dict()`), optionally with entries. */
  dict<K = unknown, V = unknown>(entries?: Iterable<[K, V]>): DictProxy<K, V> {
    return new DictProxy<K, V>(this.address, this.#create('dict', entries ? [...entries] : undefined));
  }

  /** A new list on the server (Python's `manager.list()`), optionally with items. */
  list<T = unknown>(items?: Iterable<T>): ListProxy<T> {
    return new ListProxy<T>(this.address, this.#create('list', items ? [...items] : undefined));
  }

  /** A new namespace on the server (Python's `manager.Namespace()`). */
  Namespace(values?: Record<string, unknown>): NamespaceProxy {
    return new NamespaceProxy(this.address, this.#create('namespace', values ? Object.entries(values) : undefined));
  }

  /** Stops the server: every proxy's later calls reject with {@link ManagerClosedError}. */
  async shutdown(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const child = this.#child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.ref();
      clientFor(this.address)
        .call(SERVER, 'shutdown', [])
        .catch(() => child.kill('SIGKILL'));
      const timer = setTimeout(() => child.kill('SIGKILL'), SHUTDOWN_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    dropClient(this.address);
  }

  /** `await using manager = await Manager.start()` shuts it down at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  #create(type: string, initial: unknown): number {
    if (this.closed) throw new ManagerClosedError(`The Manager at ${printable(this.address)} has shut down.`);
    // The id is made here, so the proxy exists at once; the server creates the object from this
    // first request, which reaches it before any other process can have the proxy.
    const id = process.pid * 1_000_000 + ++counter;
    void clientFor(this.address)
      .call(SERVER, 'create', [type, initial, id])
      .catch(() => undefined);
    return id;
  }

  toString(): string {
    return `<Manager at ${printable(this.address)}${this.closed ? ', shut down' : ''}>`;
  }
}
