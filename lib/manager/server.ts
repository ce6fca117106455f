/**
 * The Manager's server process (Python's `BaseManager` server): it keeps the managed objects and
 * answers every proxy's requests, one round trip each. Started by `Manager.start()` with its
 * address as its argument; it exits when told to, or when the application that started it goes
 * away (its IPC channel closes), so it never outlives its application.
 */
import { createServer, type Socket } from 'node:net';
import { encodeError } from '../transport/error-codec';
import { IndexError, InvalidArgumentError } from '../errors';
import { Frame, onFrames, sendFrame, SERVER } from './protocol';
// Every kind of shared object, so that one stored in a managed object crosses as itself.
import '../shared';
import '../sync';
import '../queues';
import './proxies';

type Managed = Map<unknown, unknown> | unknown[];
type Method = (target: never, ...args: never[]) => unknown;

const objects = new Map<number, { type: string; value: Managed }>();

function at(list: unknown[], index: number, insert = false): number {
  const i = index < 0 ? index + list.length : index;
  if (!Number.isInteger(i) || i < 0 || i > list.length || (i === list.length && !insert)) throw new IndexError(`list index ${index} out of range (length ${list.length})`);
  return i;
}

/** What each managed type answers: Python's dict / list / Namespace methods, JavaScript's names. */
const methods: Record<string, Record<string, Method>> = {
  dict: {
    get: (d: Map<unknown, unknown>, key: unknown, fallback?: unknown) => (d.has(key) ? d.get(key) : fallback),
    set: (d: Map<unknown, unknown>, key: unknown, value: unknown) => void d.set(key, value),
    delete: (d: Map<unknown, unknown>, key: unknown) => d.delete(key),
    has: (d: Map<unknown, unknown>, key: unknown) => d.has(key),
    keys: (d: Map<unknown, unknown>) => [...d.keys()],
    values: (d: Map<unknown, unknown>) => [...d.values()],
    items: (d: Map<unknown, unknown>) => [...d.entries()],
    size: (d: Map<unknown, unknown>) => d.size,
    clear: (d: Map<unknown, unknown>) => d.clear(),
    update: (d: Map<unknown, unknown>, entries: [unknown, unknown][]) => {
      for (const [k, v] of entries) d.set(k, v);
    },
    pop: (d: Map<unknown, unknown>, key: unknown, fallback?: unknown) => {
      const had = d.has(key);
      const value = had ? d.get(key) : fallback;
      d.delete(key);
      return value;
    },
    setdefault: (d: Map<unknown, unknown>, key: unknown, value: unknown) => {
      if (!d.has(key)) d.set(key, value);
      return d.get(key);
    },
  } as Record<string, Method>,
  list: {
    append: (l: unknown[], value: unknown) => void l.push(value),
    extend: (l: unknown[], values: unknown[]) => void l.push(...values),
    get: (l: unknown[], index: number) => l[at(l, index)],
    set: (l: unknown[], index: number, value: unknown) => void (l[at(l, index)] = value),
    length: (l: unknown[]) => l.length,
    pop: (l: unknown[], index = -1) => l.splice(at(l, index), 1)[0],
    insert: (l: unknown[], index: number, value: unknown) => void l.splice(at(l, Math.max(-l.length, Math.min(index, l.length)), true), 0, value),
    remove: (l: unknown[], value: unknown) => {
      const i = l.indexOf(value);
      if (i < 0) throw new InvalidArgumentError(`list.remove(x): x not in list`);
      l.splice(i, 1);
    },
    index: (l: unknown[], value: unknown) => l.indexOf(value),
    toArray: (l: unknown[]) => l,
    clear: (l: unknown[]) => void l.splice(0),
  } as Record<string, Method>,
  namespace: {
    get: (n: Map<unknown, unknown>, name: unknown) => n.get(name),
    set: (n: Map<unknown, unknown>, name: unknown, value: unknown) => void n.set(name, value),
    delete: (n: Map<unknown, unknown>, name: unknown) => n.delete(name),
    toObject: (n: Map<unknown, unknown>) => Object.fromEntries(n),
  } as Record<string, Method>,
};

/** Creates object `id` (chosen by the process that asked, so its proxy exists at once). */
function create(type: string, initial: unknown, id: number): void {
  if (!(type in methods)) throw new InvalidArgumentError(`A Manager makes dict, list and namespace objects, not '${type}'.`);
  const value: Managed = type === 'list' ? [...((initial as unknown[]) ?? [])] : new Map((initial as [unknown, unknown][]) ?? []);
  objects.set(id, { type, value });
}

function handle(object: number, method: string, args: unknown[]): unknown {
  if (object === SERVER) {
    if (method === 'create') return create(args[0] as string, args[1], args[2] as number);
    if (method === 'shutdown') return void setImmediate(() => process.exit(0));
    throw new InvalidArgumentError(`The Manager has no operation '${method}'.`);
  }
  const managed = objects.get(object);
  if (!managed) throw new InvalidArgumentError(`The Manager holds no object ${object}.`);
  const fn = methods[managed.type][method];
  if (!fn) throw new InvalidArgumentError(`A managed ${managed.type} has no method '${method}'.`);
  return (fn as (...a: unknown[]) => unknown)(managed.value, ...args);
}

/**
 * Requests for objects whose `create` has not arrived yet. A proxy exists as soon as its process
 * made it, and may reach a worker (which has a connection of its own) before the creating
 * process's `create` reaches the server: those requests wait for it, up to {@link CREATE_WAIT_MS}.
 */
const awaitingCreate = new Map<number, (() => void)[]>();
const CREATE_WAIT_MS = 10_000;

function answer(socket: Socket, id: number, object: number, method: string, args: unknown[]): void {
  try {
    sendFrame(socket, Frame.Reply, [id, handle(object, method, args)]);
  } catch (error) {
    sendFrame(socket, Frame.Failure, [id, encodeError(error)]);
  }
  if (object === SERVER && method === 'create') {
    const waiting = awaitingCreate.get(args[2] as number);
    awaitingCreate.delete(args[2] as number);
    for (const run of waiting ?? []) run();
  }
}

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  onFrames(socket, (type, message) => {
    if (type !== Frame.Request) return;
    const [id, object, method, ...args] = message as [number, number, string, ...unknown[]];
    if (object === SERVER || objects.has(object)) return answer(socket, id, object, method, args);
    let waiting = awaitingCreate.get(object);
    if (!waiting) awaitingCreate.set(object, (waiting = []));
    const run = (): void => {
      clearTimeout(timer);
      answer(socket, id, object, method, args);
    };
    // Past the wait, the answer is the error that no such object exists.
    const timer = setTimeout(() => {
      const list = awaitingCreate.get(object);
      list?.splice(list.indexOf(run), 1);
      if (list?.length === 0) awaitingCreate.delete(object);
      answer(socket, id, object, method, args);
    }, CREATE_WAIT_MS);
    waiting.push(run);
  });
  socket.on('error', () => socket.destroy());
}

// An abstract socket's name (a process argument cannot hold its leading NUL byte).
const address = `\0${process.argv[2]}`;
const server = createServer(serve);
server.listen(address, () => process.send?.('ready'));
server.on('error', (error) => {
  process.send?.({ error: error.message });
  process.exit(1);
});
// The application went away (it exited, or was killed): so does its manager.
process.on('disconnect', () => process.exit(0));
