/**
 * Value and SharedArray (Python's `multiprocessing.Value` / `Array`): a shared number or array of
 * numbers with a lock for updates that read and then write.
 *
 * Unlike Python's, reading or writing `value` does not take the lock: one aligned read or write is
 * whole on its own (x64 and arm64), and taking the lock there would deadlock a caller that holds a
 * plain Lock. Read-modify-write (`v.value += 1`) needs `getLock()`, as in Python, or Atomics on
 * `array`.
 */
import { inspect } from 'node:util';
import { InvalidStateError } from '../errors';
import { RawArray, RawValue } from '../shared/raw';
import { kDescribe, registerSharedKind, reviveShared, type SharedDescriptor, type SharedObject } from '../shared/shared-object';
import type { ArrayFor, ElementOf, Typecode, TypeName } from '../shared/typecodes';
import { kAt, RLock, type AnyLock } from './lock';

/** Options of `new Value()` and `new SharedArray()` (Python's `lock` argument). */
export interface SynchronizedOptions {
  /** `true` (default): a new RLock; `false`: none (`getLock()` throws); or the lock to use. */
  lock?: boolean | AnyLock;
}

interface Parts<R> {
  readonly raw: R;
  readonly lock: AnyLock | undefined;
}

function lockFor(lock: boolean | AnyLock | undefined): AnyLock | undefined {
  if (lock === undefined || lock === true) return new RLock();
  return lock === false ? undefined : lock;
}

function describe(kind: string, raw: SharedObject, lock: AnyLock | undefined): SharedDescriptor {
  return { kind, raw: raw[kDescribe](), lock: lock ? lock[kDescribe]() : null };
}

function noLock(kind: string): never {
  throw new InvalidStateError(`This ${kind} was made with { lock: false }: it has no lock.`);
}

/**
 * One number in shared memory, with a lock (Python's `multiprocessing.Value`).
 *
 * @example
 * const counter = new Value('i', 0);
 * // in a task:  using _ = counter.getLock().holdSync(); counter.value += 1;
 */
export class Value<T extends Typecode = 'float64'> implements SharedObject {
  readonly #raw: RawValue<T>;
  readonly #lock: AnyLock | undefined;

  constructor(typecode: T, value?: ElementOf<T>, options: SynchronizedOptions = {}) {
    const at = (value as unknown as { [kAt]?: Parts<RawValue<T>> } | undefined)?.[kAt];
    this.#raw = at?.raw ?? new RawValue(typecode, value);
    this.#lock = at ? at.lock : lockFor(options.lock);
  }

  /** The element type. */
  get type(): TypeName {
    return this.#raw.type;
  }

  /** The value now (one whole read or write; see the module's note on locking). */
  get value(): ElementOf<T> {
    return this.#raw.value;
  }

  set value(value: ElementOf<T>) {
    this.#raw.value = value;
  }

  /** A one-element typed array over the value, for Atomics. */
  get array(): ArrayFor<T> {
    return this.#raw.array;
  }

  /** The lock that guards read-modify-write updates (Python's `get_lock()`). */
  getLock(): AnyLock {
    return this.#lock ?? noLock('Value');
  }

  /** The value without its lock (Python's `get_obj()`). */
  getObj(): RawValue<T> {
    return this.#raw;
  }

  /** @internal How it crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return describe('Value', this.#raw, this.#lock);
  }

  toString(): string {
    return `Value('${this.type}', ${String(this.value)})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A fixed-length array of numbers in shared memory, with a lock (Python's `multiprocessing.Array`;
 * named so as not to hide JavaScript's `Array`). `array` is a live typed array.
 *
 * @example
 * const totals = new SharedArray('float64', 4);
 * // in a task:  using _ = totals.getLock().holdSync(); totals.array[i] += x;
 */
export class SharedArray<T extends Typecode = 'float64'> implements SharedObject, Iterable<ElementOf<T>> {
  readonly #raw: RawArray<T>;
  readonly #lock: AnyLock | undefined;

  /** @param sizeOrInitializer - how many elements (zeros), or the elements themselves. */
  constructor(typecode: T, sizeOrInitializer: number | Iterable<ElementOf<T>>, options: SynchronizedOptions = {}) {
    const at = (sizeOrInitializer as unknown as { [kAt]?: Parts<RawArray<T>> } | undefined)?.[kAt];
    this.#raw = at?.raw ?? new RawArray(typecode, sizeOrInitializer);
    this.#lock = at ? at.lock : lockFor(options.lock);
  }

  get type(): TypeName {
    return this.#raw.type;
  }

  /** A typed array over the shared memory. */
  get array(): ArrayFor<T> {
    return this.#raw.array;
  }

  get length(): number {
    return this.#raw.length;
  }

  [Symbol.iterator](): Iterator<ElementOf<T>> {
    return this.#raw[Symbol.iterator]();
  }

  /** The lock that guards updates (Python's `get_lock()`). */
  getLock(): AnyLock {
    return this.#lock ?? noLock('SharedArray');
  }

  /** The array without its lock (Python's `get_obj()`). */
  getObj(): RawArray<T> {
    return this.#raw;
  }

  /** @internal How it crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return describe('SharedArray', this.#raw, this.#lock);
  }

  toString(): string {
    return `SharedArray('${this.type}', length=${this.length})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function partsOf<R>(d: SharedDescriptor): { [kAt]: Parts<R> } {
  return { [kAt]: { raw: reviveShared(d.raw as SharedDescriptor) as R, lock: d.lock ? (reviveShared(d.lock as SharedDescriptor) as AnyLock) : undefined } };
}

registerSharedKind('Value', (d) => new Value('float64', partsOf(d) as never));
registerSharedKind('SharedArray', (d) => new SharedArray('float64', partsOf(d) as never));
