import { inspect } from 'node:util';
import { IndexError, InvalidArgumentError } from '../errors';
import { SharedMemory, kPinned, type SharedMemoryOptions } from './shared-memory';
import { kDescribe, registerSharedKind, type SharedDescriptor, type SharedObject } from './shared-object';

/** What a ShareableList slot holds: the primitives Python's ShareableList holds. */
export type ShareableValue = number | bigint | boolean | string | Uint8Array | null;

/**
 * The segment is laid out as Python lays out its ShareableList, so either language can attach to
 * a list the other made:
 *   u64 count N · (N + 1) × u64 slot offsets (from the data start) · data, 8-byte slots ·
 *   N × 8-byte struct formats ('q', 'd', 'xxxxxxx?', 'xxxxxx?x', '<n>s') · N × i8 kind
 * Kinds: 0 number/bool, 1 str (utf8), 2 bytes, 3 None.
 */
const enum Kind {
  Value = 0,
  Str = 1,
  Bytes = 2,
  None = 3,
}

const BOOL = 'xxxxxxx?';
const NONE = 'xxxxxx?x';

/** A string or bytes slot: room for the bytes and at least one NUL, in 8-byte steps (as Python). */
function room(bytes: number): number {
  return 8 * (Math.floor(bytes / 8) + 1);
}

function encodeItem(value: unknown, index: number): { format: string; kind: Kind; bytes?: Uint8Array } {
  if (value === null || value === undefined) return { format: NONE, kind: Kind.None };
  if (typeof value === 'boolean') return { format: BOOL, kind: Kind.Value };
  if (typeof value === 'bigint') {
    if (value < -(2n ** 63n) || value >= 2n ** 63n) throw new InvalidArgumentError(`Item ${index} (${value}) does not fit a 64-bit integer.`);
    return { format: 'q', kind: Kind.Value };
  }
  if (typeof value === 'number') return { format: Number.isSafeInteger(value) && !Object.is(value, -0) ? 'q' : 'd', kind: Kind.Value };
  if (typeof value === 'string') return { format: 's', kind: Kind.Str, bytes: Buffer.from(value, 'utf8') };
  if (value instanceof Uint8Array) return { format: 's', kind: Kind.Bytes, bytes: value };
  throw new InvalidArgumentError(`A ShareableList holds numbers, bigints, booleans, strings, Uint8Arrays and null; item ${index} is \`${String(value)}\`.`);
}

/**
 * A fixed-length list of primitives in one shared memory segment (Python's
 * `shared_memory.ShareableList`): numbers, bigints, booleans, strings, bytes (Uint8Array) and
 * null. Every process it is passed to reads and writes the same slots. Its length cannot change,
 * and a string or bytes slot keeps the room it was created with.
 *
 * @example
 * const list = new ShareableList([1, 2.5, 'text', true, null]);
 * list.get(2);        // 'text'
 * list.set(0, 42);
 * const same = new ShareableList({ name: list.shm.name }); // attach, in any process (Python too)
 */
export class ShareableList implements SharedObject, Iterable<ShareableValue>, Disposable {
  /** The segment that holds the list. */
  readonly shm: SharedMemory;
  readonly #view: DataView;
  readonly #length: number;

  /**
   * `new ShareableList(items)` creates a list (`{ name }` names its segment); `new
   * ShareableList({ name })` attaches to an existing one.
   */
  constructor(items: Iterable<ShareableValue> | { name: string }, options: { name?: string } = {}) {
    if (items !== null && typeof items === 'object' && !(Symbol.iterator in items)) {
      this.shm = new SharedMemory({ name: (items as { name: string }).name, [kPinned]: (items as { [kPinned]?: boolean })[kPinned] } as SharedMemoryOptions);
    } else {
      const values = [...(items as Iterable<ShareableValue>)];
      const encoded = values.map(encodeItem);
      const sizes = encoded.map((e) => (e.bytes ? room(e.bytes.length) : 8));
      const data = sizes.reduce((a, b) => a + b, 0);
      const n = values.length;
      this.shm = new SharedMemory({ create: true, size: 8 + 8 * (n + 1) + data + 9 * n, name: options.name });
      const view = new DataView(this.shm.buf.buffer, this.shm.buf.byteOffset, this.shm.size);
      view.setBigInt64(0, BigInt(n), true);
      let offset = 0;
      for (let i = 0; i <= n; i++) {
        view.setBigInt64(8 + 8 * i, BigInt(offset), true);
        offset += sizes[i] ?? 0;
      }
      this.#view = view;
      this.#length = n;
      values.forEach((value, i) => this.#write(i, value, encoded[i], sizes[i]));
      return;
    }
    this.#view = new DataView(this.shm.buf.buffer, this.shm.buf.byteOffset, this.shm.size);
    this.#length = Number(this.#view.getBigInt64(0, true));
  }

  /** How many items (fixed). */
  get length(): number {
    return this.#length;
  }

  /** The struct formats of every slot, joined (Python's `format`). */
  get format(): string {
    let out = '';
    for (let i = 0; i < this.#length; i++) out += this.#format(i);
    return out;
  }

  /**
   * The item at `index` (negative counts from the end, as in Python).
   * @throws {IndexError} if there is no such item.
   */
  get(index: number): ShareableValue {
    const i = this.#position(index);
    const at = this.#dataStart() + this.#slot(i);
    const format = this.#format(i);
    switch (this.#view.getInt8(this.#kindsStart() + i) as Kind) {
      case Kind.None:
        return null;
      case Kind.Str:
      case Kind.Bytes: {
        const bytes = Buffer.from(this.#view.buffer, this.#view.byteOffset + at, Number.parseInt(format, 10));
        let end = bytes.length;
        while (end > 0 && bytes[end - 1] === 0) end--;
        return this.#view.getInt8(this.#kindsStart() + i) === Kind.Str ? bytes.toString('utf8', 0, end) : Uint8Array.from(bytes.subarray(0, end));
      }
      default:
        if (format === 'd') return this.#view.getFloat64(at, true);
        if (format === BOOL) return this.#view.getUint8(at + 7) !== 0;
        {
          const big = this.#view.getBigInt64(at, true);
          return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
        }
    }
  }

  /**
   * Stores `value` at `index`. A string or bytes must fit the room its slot was made with.
   * @throws {IndexError} if there is no such item; {InvalidArgumentError} for a value it cannot hold.
   */
  set(index: number, value: ShareableValue): void {
    const i = this.#position(index);
    const encoded = encodeItem(value, i);
    this.#write(i, value, encoded, this.#slot(i + 1) - this.#slot(i));
  }

  /** How many items equal `value`. */
  count(value: ShareableValue): number {
    return this.toArray().filter((item) => same(item, value)).length;
  }

  /**
   * The position of the first item equal to `value`.
   * @throws {InvalidArgumentError} if there is none (Python raises ValueError).
   */
  index(value: ShareableValue): number {
    const at = this.toArray().findIndex((item) => same(item, value));
    if (at < 0) throw new InvalidArgumentError(`${String(value)} is not in this ShareableList.`);
    return at;
  }

  /** The items now, as a plain array. */
  toArray(): ShareableValue[] {
    return Array.from({ length: this.#length }, (_, i) => this.get(i));
  }

  [Symbol.iterator](): Iterator<ShareableValue> {
    return this.toArray()[Symbol.iterator]();
  }

  /** `using list = new ShareableList(...)`: closes its segment at the end of the scope. */
  [Symbol.dispose](): void {
    this.shm.close();
  }

  /** @internal How the object crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return { kind: 'ShareableList', name: this.shm.name };
  }

  toString(): string {
    return `ShareableList(${inspect(this.toArray())}, name='${this.shm.name}')`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  #position(index: number): number {
    const i = Number.isInteger(index) && index < 0 ? index + this.#length : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.#length) throw new IndexError(`Index ${index} is out of range for a ShareableList of ${this.#length} items.`);
    return i;
  }

  #dataStart(): number {
    return 8 * (this.#length + 2);
  }

  #slot(i: number): number {
    return Number(this.#view.getBigInt64(8 + 8 * i, true));
  }

  #formatsStart(): number {
    return this.#dataStart() + this.#slot(this.#length);
  }

  #kindsStart(): number {
    return this.#formatsStart() + 8 * this.#length;
  }

  #format(i: number): string {
    const bytes = Buffer.from(this.#view.buffer, this.#view.byteOffset + this.#formatsStart() + 8 * i, 8);
    let end = 8;
    while (end > 0 && bytes[end - 1] === 0) end--;
    return bytes.toString('latin1', 0, end);
  }

  #write(i: number, value: unknown, encoded: ReturnType<typeof encodeItem>, slotSize: number): void {
    const at = this.#dataStart() + this.#slot(i);
    const view = this.#view;
    let format = encoded.format;
    if (encoded.bytes) {
      if (encoded.bytes.length > slotSize) {
        throw new InvalidArgumentError(`Item ${i} has room for ${slotSize} bytes; the new value takes ${encoded.bytes.length}.`);
      }
      format = `${slotSize}s`;
      const target = new Uint8Array(view.buffer, view.byteOffset + at, slotSize);
      target.fill(0);
      target.set(encoded.bytes);
    } else {
      new Uint8Array(view.buffer, view.byteOffset + at, 8).fill(0);
      if (format === 'd') view.setFloat64(at, value as number, true);
      else if (format === BOOL) view.setUint8(at + 7, value ? 1 : 0);
      else if (format === 'q') view.setBigInt64(at, BigInt(value as number | bigint), true);
    }
    const formatBytes = new Uint8Array(view.buffer, view.byteOffset + this.#formatsStart() + 8 * i, 8);
    formatBytes.fill(0);
    formatBytes.set(Buffer.from(format, 'latin1'));
    view.setInt8(this.#kindsStart() + i, encoded.kind);
  }
}

function same(a: ShareableValue, b: ShareableValue): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.from(a).equals(Buffer.from(b));
  return a === b || (typeof a === 'bigint' && typeof b === 'number' && a === BigInt(b));
}

// A list received by a worker stays mapped for its later tasks (until its segment is unlinked).
registerSharedKind('ShareableList', (d) => new ShareableList({ name: d.name as string, [kPinned]: true } as { name: string }));
