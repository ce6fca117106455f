/**
 * Coordination between processes (locks, events, barriers, values, queues, pipes, the Manager),
 * loaded on first use: its 20 modules made `require('procpool')` ~35% slower (36 → 49 ms here),
 * for users who may never coordinate anything. Each name is a getter that loads its module;
 * `exports.Name = void 0` tells Node's ES-module loader the names ahead (an `import { Lock }`
 * reads them all at import, so only CommonJS users load lazily). A shared object of these kinds
 * arriving in a result loads its module too (see `registerKindLoader`).
 */
import type * as Sync from './sync';
import type * as Queues from './queues';
import type * as Managers from './manager';
import type { Typecode } from './shared/typecodes';
import { registerKindLoader } from './shared/shared-object';

/* eslint-disable @typescript-eslint/no-require-imports */
const sync = (): typeof Sync => require('./sync') as typeof Sync;
const queues = (): typeof Queues => require('./queues') as typeof Queues;
const managers = (): typeof Managers => require('./manager') as typeof Managers;
/* eslint-enable @typescript-eslint/no-require-imports */

/** A lock shared between processes (Python's `multiprocessing.Lock`). */
export type Lock = Sync.Lock;
export declare const Lock: typeof Sync.Lock;
/** A re-entrant lock shared between processes (Python's `multiprocessing.RLock`). */
export type RLock = Sync.RLock;
export declare const RLock: typeof Sync.RLock;
/** A semaphore shared between processes (Python's `multiprocessing.Semaphore`). */
export type Semaphore = Sync.Semaphore;
export declare const Semaphore: typeof Sync.Semaphore;
/** A semaphore that may not be released above its initial value (Python's `BoundedSemaphore`). */
export type BoundedSemaphore = Sync.BoundedSemaphore;
export declare const BoundedSemaphore: typeof Sync.BoundedSemaphore;
/** A flag processes wait for (Python's `multiprocessing.Event`). */
export type Event = Sync.Event;
export declare const Event: typeof Sync.Event;
/** A condition variable shared between processes (Python's `multiprocessing.Condition`). */
export type Condition = Sync.Condition;
export declare const Condition: typeof Sync.Condition;
/** A barrier for a number of processes (Python's `multiprocessing.Barrier`). */
export type Barrier = Sync.Barrier;
export declare const Barrier: typeof Sync.Barrier;
/** A shared number with a lock (Python's `multiprocessing.Value`). */
export type Value<T extends Typecode = 'float64'> = Sync.Value<T>;
export declare const Value: typeof Sync.Value;
/** A shared array of numbers with a lock (Python's `multiprocessing.Array`). */
export type SharedArray<T extends Typecode = 'float64'> = Sync.SharedArray<T>;
export declare const SharedArray: typeof Sync.SharedArray;
/** A queue of messages between processes (Python's `multiprocessing.Queue`). */
export type Queue<T = unknown> = Queues.Queue<T>;
export declare const Queue: typeof Queues.Queue;
/** A Queue that counts unfinished work (Python's `multiprocessing.JoinableQueue`). */
export type JoinableQueue<T = unknown> = Queues.JoinableQueue<T>;
export declare const JoinableQueue: typeof Queues.JoinableQueue;
/** The simplest queue (Python's `multiprocessing.SimpleQueue`). */
export type SimpleQueue<T = unknown> = Queues.SimpleQueue<T>;
export declare const SimpleQueue: typeof Queues.SimpleQueue;
/** One end of a Pipe (Python's `Connection`). */
export type Connection<T = unknown> = Queues.Connection<T>;
export declare const Connection: typeof Queues.Connection;
/** A pair of connected ends (Python's `multiprocessing.Pipe`). */
export declare const Pipe: typeof Queues.Pipe;
/** A server process keeping dicts, lists and namespaces (Python's `multiprocessing.Manager()`). */
export type Manager = Managers.Manager;
export declare const Manager: typeof Managers.Manager;
/** A proxy of a dict a Manager keeps. */
export type DictProxy<K = unknown, V = unknown> = Managers.DictProxy<K, V>;
export declare const DictProxy: typeof Managers.DictProxy;
/** A proxy of a list a Manager keeps. */
export type ListProxy<T = unknown> = Managers.ListProxy<T>;
export declare const ListProxy: typeof Managers.ListProxy;
/** A proxy of a namespace a Manager keeps. */
export type NamespaceProxy = Managers.NamespaceProxy;
export declare const NamespaceProxy: typeof Managers.NamespaceProxy;
export type { AnyLock, Held, HoldOptions, BarrierOptions, SynchronizedOptions } from './sync';
export type { QueueOptions } from './queues';
export type { ManagerOptions } from './manager';

// The names, for Node's ES-module loader: it finds them in assignments to `exports.` written out.
exports.Lock = exports.RLock = exports.Semaphore = exports.BoundedSemaphore = exports.Event = void 0;
exports.Condition = exports.Barrier = exports.Value = exports.SharedArray = void 0;
exports.Queue = exports.JoinableQueue = exports.SimpleQueue = exports.Connection = exports.Pipe = void 0;
exports.Manager = exports.DictProxy = exports.ListProxy = exports.NamespaceProxy = void 0;

function lazy(load: () => object, names: readonly string[]): void {
  for (const name of names) {
    Object.defineProperty(exports, name, { enumerable: true, configurable: true, get: () => (load() as Record<string, unknown>)[name] });
  }
}

const SYNC = ['Lock', 'RLock', 'Semaphore', 'BoundedSemaphore', 'Event', 'Condition', 'Barrier', 'Value', 'SharedArray'];
const QUEUES = ['Queue', 'JoinableQueue', 'SimpleQueue', 'Connection', 'Pipe'];
const MANAGERS = ['Manager', 'DictProxy', 'ListProxy', 'NamespaceProxy'];
lazy(sync, SYNC);
lazy(queues, QUEUES);
lazy(managers, MANAGERS);
registerKindLoader(SYNC, sync);
registerKindLoader(QUEUES, queues);
registerKindLoader(MANAGERS, managers);
