import { inspect } from 'node:util';
import { InvalidArgumentError } from '../errors';
import { allocate } from './heap';
import { attachSegment, type Segment } from './segment';
import { kDescribe, markSharedUsed, registerSharedKind, type SharedDescriptor, type SharedObject } from './shared-object';
import { arrayClass, isBigType, typeName, type ArrayFor, type ElementOf, type TypeName, type Typecode } from './typecodes';

/** Where a shared value or array lives, once it exists. */
interface Place {
  readonly segment: Segment;
  readonly offset: number;
  readonly length: number;
}

/** Internal: rebuild over memory that exists already (what another process sent). */
const kAt = Symbol('procpool.at');

function describe(kind: string, type: TypeName, place: Place): SharedDescriptor {
  return { kind, type, name: place.segment.name, offset: place.offset, length: place.length };
}

function placeOf(descriptor: SharedDescriptor): Place {
  return { segment: attachSegment(descriptor.name as string, true), offset: descriptor.offset as number, length: descriptor.length as number };
}

function fresh(type: TypeName, length: number, owner: object): Place {
  const block = allocate(Math.max(1, length) * arrayClass(type).BYTES_PER_ELEMENT, owner);
  return { segment: block.segment, offset: block.offset, length };
}

function checkElement(type: TypeName, value: unknown, what: string): void {
  const ok = isBigType(type) ? typeof value === 'bigint' : typeof value === 'number';
  if (!ok) throw new InvalidArgumentError(`Expected ${what} of a ${type} to be a ${isBigType(type) ? 'bigint' : 'number'}, got \`${String(value)}\`.`);
}

/**
 * One number in shared memory, without a lock (Python's `multiprocessing.RawValue`): every process
 * it is passed to reads and writes the same memory. Updates from several processes race unless
 * they use Atomics on `array` (exact across processes on x64) or a lock.
 *
 * @example
 * const counter = new RawValue('int32', 0);
 * await pool.map(bump, [counter, counter]);   // each does Atomics.add(counter.array, 0, 1)
 * counter.value;                               // 2
 */
export class RawValue<T extends Typecode = 'float64'> implements SharedObject {
  /** The element type (a type name, whatever typecode it was made with). */
  readonly type: TypeName;
  /** A one-element typed array over the value's memory, for Atomics. */
  readonly array: ArrayFor<T>;
  readonly #place: Place;

  constructor(typecode: T, value?: ElementOf<T>) {
    this.type = typeName(typecode);
    const at = (value as unknown as { [kAt]?: Place } | undefined)?.[kAt];
    this.#place = at ?? fresh(this.type, 1, this);
    this.array = new (arrayClass(this.type))(this.#place.segment.buffer, this.#place.offset, 1) as ArrayFor<T>;
    if (!at && value !== undefined) this.value = value;
    markSharedUsed();
  }

  /** The value now. */
  get value(): ElementOf<T> {
    return this.array[0] as ElementOf<T>;
  }

  set value(value: ElementOf<T>) {
    checkElement(this.type, value, 'the value');
    this.array[0] = value as never;
  }

  /** @internal How the object crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return describe('RawValue', this.type, this.#place);
  }

  toString(): string {
    return `RawValue('${this.type}', ${String(this.value)})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * A fixed-length array of numbers in shared memory, without a lock (Python's
 * `multiprocessing.RawArray`). `array` is a live typed array over it: every process it is passed
 * to sees every write, with no copy.
 *
 * @example
 * const grid = new RawArray('float64', 1_000_000);  // zeros
 * const some = new RawArray('i', [1, 2, 3]);         // Python's typecodes work too
 * grid.array[0] = 1.5;
 */
export class RawArray<T extends Typecode = 'float64'> implements SharedObject, Iterable<ElementOf<T>> {
  readonly type: TypeName;
  /** A typed array over the shared memory (its length is the array's). */
  readonly array: ArrayFor<T>;
  readonly #place: Place;

  /** @param sizeOrInitializer - how many elements (zeros), or the elements themselves. */
  constructor(typecode: T, sizeOrInitializer: number | Iterable<ElementOf<T>>) {
    this.type = typeName(typecode);
    const at = (sizeOrInitializer as unknown as { [kAt]?: Place })?.[kAt];
    let initial: ElementOf<T>[] | undefined;
    let length: number;
    if (at) {
      length = at.length;
    } else if (typeof sizeOrInitializer === 'number') {
      if (!Number.isSafeInteger(sizeOrInitializer) || sizeOrInitializer < 0) {
        throw new InvalidArgumentError(`Expected the size of a RawArray to be a whole number, 0 or more, got \`${sizeOrInitializer}\`.`);
      }
      length = sizeOrInitializer;
    } else if (sizeOrInitializer !== null && typeof (sizeOrInitializer as Iterable<unknown>)?.[Symbol.iterator] === 'function') {
      initial = [...sizeOrInitializer];
      initial.forEach((v, i) => checkElement(this.type, v, `element ${i}`));
      length = initial.length;
    } else {
      throw new InvalidArgumentError(`Expected a size or an iterable of initial elements, got \`${String(sizeOrInitializer)}\`.`);
    }
    this.#place = at ?? fresh(this.type, length, this);
    this.array = new (arrayClass(this.type))(this.#place.segment.buffer, this.#place.offset, length) as ArrayFor<T>;
    if (initial) (this.array as unknown as { set(values: ArrayLike<unknown>): void }).set(initial);
    markSharedUsed();
  }

  get length(): number {
    return this.#place.length;
  }

  [Symbol.iterator](): Iterator<ElementOf<T>> {
    return (this.array as unknown as Iterable<ElementOf<T>>)[Symbol.iterator]();
  }

  /** @internal How the object crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return describe('RawArray', this.type, this.#place);
  }

  toString(): string {
    return `RawArray('${this.type}', length=${this.length})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

registerSharedKind('RawValue', (d) => new RawValue(d.type as TypeName, { [kAt]: placeOf(d) } as never));
registerSharedKind('RawArray', (d) => new RawArray(d.type as TypeName, { [kAt]: placeOf(d) } as never));
