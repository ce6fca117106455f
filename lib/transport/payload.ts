import { Deserializer, Serializer, deserialize } from 'node:v8';
import type { BufferPool } from './buffer-pool';
import { HostRecord, fromWire, holdWith, readSharedView, releaseRegions, setRegions, toWire, writeSharedView } from './shared-refs';
import { elementSize, makeView, viewType } from './view-types';

/**
 * Task arguments and results, encoded. Most tasks take a few numbers or strings and return one or
 * nothing, and `v8.serialize`/`deserialize` cost several µs each for them (a Serializer object,
 * a Buffer, garbage). Those values get a compact encoding here. Everything else goes through the
 * V8 serializer, except the bytes of typed arrays, Buffers and DataViews, wherever they sit in
 * the value: Node's serializer grows its buffer byte range by byte range (~10 ms for an 8 MB
 * Float64Array here), so they travel after the structure, copied once each way.
 * Tags never collide: V8's own data starts with 0xFF.
 */
const V8_VERSION_TAG = 0xff;
const OUT_OF_BAND_TAG = 0xfe;
const SHARED_OBJECTS_TAG = 0xfd;
const Tag = {
  Undefined: 1,
  Null: 2,
  True: 3,
  False: 4,
  Number: 5,
  String: 6,
  /** An argument list of primitives: u8 count, then each element tagged as above. */
  Args: 7,
  /**
   * A number that is an int32 (not -0). It must come out as V8 makes integers (a small integer),
   * not as a double: a task handed `30` as a double gets optimized for doubles throughout, which
   * made a recursive fib(30) run ~1.5x slower in workers than in the parent.
   */
  Int32: 8,
} as const;

function isInt32(value: number): boolean {
  return (value | 0) === value && !Object.is(value, -0);
}

const MAX_INLINE_STRING = 1024;
/** Views at least this large are not copied out of the frame they arrived in. */
const LARGE_VIEW = 64 * 1024;
const MAX_INLINE_ARGS = 16;

/** Shared, never written: the encodings that carry no data. */
const UNDEFINED = Buffer.from([Tag.Undefined]);
const EMPTY_ARGS = Buffer.from([Tag.Args, 0]);

function inlineSize(value: unknown): number {
  switch (typeof value) {
    case 'undefined':
    case 'boolean':
      return 1;
    case 'number':
      return isInt32(value) ? 5 : 9;
    case 'string':
      return value.length <= MAX_INLINE_STRING ? 5 + Buffer.byteLength(value) : -1;
    case 'object':
      return value === null ? 1 : -1;
    default:
      return -1;
  }
}

function writeInline(value: unknown, target: Buffer, offset: number): number {
  switch (typeof value) {
    case 'undefined':
      target[offset] = Tag.Undefined;
      return offset + 1;
    case 'boolean':
      target[offset] = value ? Tag.True : Tag.False;
      return offset + 1;
    case 'number':
      if (isInt32(value)) {
        target[offset] = Tag.Int32;
        target.writeInt32LE(value, offset + 1);
        return offset + 5;
      }
      target[offset] = Tag.Number;
      target.writeDoubleLE(value, offset + 1);
      return offset + 9;
    case 'string': {
      target[offset] = Tag.String;
      const length = target.write(value, offset + 5, 'utf8');
      target.writeUInt32LE(length, offset + 1);
      return offset + 5 + length;
    }
    default:
      target[offset] = Tag.Null;
      return offset + 1;
  }
}

/** A V8 serializer that leaves array buffer views out of the structure, to append them raw. */
class ViewSerializer extends Serializer {
  readonly views: ArrayBufferView[] = [];

  /** @param regions - where captured regions are listed; without it, nothing is captured. */
  constructor(readonly regions?: number[]) {
    super();
    // Documented for Node's serializers, but missing from @types/node.
    (this as unknown as { _setTreatArrayBufferViewsAsHostObjects(flag: boolean): void })._setTreatArrayBufferViewsAsHostObjects(true);
  }

  /** Called by V8 for each view (a "host object" once the flag above is set). */
  _writeHostObject(view: ArrayBufferView): void {
    // A view of shared memory goes as a reference to it: the receiver maps the same memory.
    if (writeSharedView(this, view, this.regions)) return;
    this.writeUint32(HostRecord.Copied);
    this.writeUint32(this.views.length);
    this.views.push(view);
  }
}

class ViewDeserializer extends Deserializer {
  constructor(
    data: Buffer,
    private readonly views: ArrayBufferView[],
  ) {
    super(data);
  }

  /** Called by V8 where the serializer wrote a view. */
  _readHostObject(): ArrayBufferView {
    const kind = this.readUint32();
    if (kind !== HostRecord.Copied) return readSharedView(this, kind);
    return this.views[this.readUint32()];
  }
}

/** Zero bytes that put `offset + VIEW_HEADER` on a multiple of 8. */
function viewPad(offset: number): number {
  return (8 - ((offset + VIEW_HEADER) % 8)) % 8;
}

/** u8 type, u32 byte length, u8 padding (then the padding, then the bytes). */
const VIEW_HEADER = 6;

/**
 * `[0xFE][u32 structure length][structure][u32 views][per view: u8 type, u32 length, u8 pad,
 * pad bytes, bytes]`, each view's bytes 8-byte aligned relative to the payload's start. The tag is
 * 0xFD instead when the structure holds shared objects to rebuild (see `shared-refs.ts`).
 */
function serializeOutOfBand(value: unknown, pool?: BufferPool, capture = false): Buffer {
  const wire = toWire(value);
  const serializer = new ViewSerializer(capture ? [] : undefined);
  serializer.writeHeader();
  try {
    serializer.writeValue(wire.value);
  } catch (error) {
    // Regions captured before the value that could not be serialized are nobody's.
    if (serializer.regions?.length) releaseRegions(serializer.regions);
    throw error;
  }
  const structure = serializer.releaseBuffer();
  let size = 1 + 4 + structure.length + 4;
  for (const view of serializer.views) size += VIEW_HEADER + viewPad(size) + view.byteLength;
  const out = pool && size >= pool.minSize ? pool.acquire(size) : Buffer.allocUnsafe(size);
  out[0] = wire.shared ? SHARED_OBJECTS_TAG : OUT_OF_BAND_TAG;
  out.writeUInt32LE(structure.length, 1);
  structure.copy(out, 5);
  let offset = 5 + structure.length;
  out.writeUInt32LE(serializer.views.length, offset);
  offset += 4;
  for (const view of serializer.views) {
    const pad = viewPad(offset);
    out[offset] = viewType(view);
    out.writeUInt32LE(view.byteLength, offset + 1);
    out[offset + 5] = pad;
    offset += VIEW_HEADER + pad;
    out.set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength), offset);
    offset += view.byteLength;
  }
  if (serializer.regions) setRegions(out, serializer.regions);
  holdWith(out, wire.held);
  return out;
}

function deserializeOutOfBand(buf: Buffer, start: number): unknown {
  const structureLength = buf.readUInt32LE(start + 1);
  const structure = buf.subarray(start + 5, start + 5 + structureLength);
  let offset = start + 5 + structureLength;
  const count = buf.readUInt32LE(offset);
  offset += 4;
  const views: ArrayBufferView[] = [];
  for (let i = 0; i < count; i++) {
    const type = buf[offset];
    const byteLength = buf.readUInt32LE(offset + 1);
    offset += VIEW_HEADER + buf[offset + 5];
    let bytes: ArrayBufferLike = buf.buffer;
    let at = buf.byteOffset + offset;
    // Large views are used where they arrived when aligned (no copy: they keep their frame alive,
    // which they mostly fill); small or misaligned ones get memory of their own.
    if (byteLength < LARGE_VIEW || at % elementSize(type) !== 0) {
      bytes = new ArrayBuffer(byteLength);
      new Uint8Array(bytes).set(buf.subarray(offset, offset + byteLength));
      at = 0;
    }
    views.push(makeView(type, bytes, at, byteLength));
    offset += byteLength;
  }
  const deserializer = new ViewDeserializer(structure, views);
  deserializer.readHeader();
  return deserializer.readValue();
}

/**
 * Encodes one value (a result). With `capture` (a worker's results), typed arrays of 1 MiB or more
 * are captured into the worker's shared memory; the application copies them out and releases them.
 */
export function encodeValue(value: unknown, capture = false): Buffer {
  if (value === undefined) return UNDEFINED;
  const size = inlineSize(value);
  if (size < 0) return serializeOutOfBand(value, undefined, capture);
  const out = Buffer.allocUnsafe(size);
  writeInline(value, out, 0);
  return out;
}

/**
 * Encodes an argument list (or a map chunk's items). Large encodings take their memory from
 * `pool`; give it back with `pool.release` once the payload has been sent and read. With
 * `capture`, typed arrays of 1 MiB or more are captured into shared memory when it is available
 * (`regionsOf(payload)` lists them): the payload must then go through a channel, which accounts
 * for who holds them.
 */
export function encodeArgs(args: readonly unknown[], pool?: BufferPool, capture = false): Buffer {
  if (args.length === 0) return EMPTY_ARGS;
  if (args.length > MAX_INLINE_ARGS) return serializeOutOfBand(args, pool, capture);
  let size = 2;
  for (const arg of args) {
    const n = inlineSize(arg);
    if (n < 0) return serializeOutOfBand(args, pool, capture);
    size += n;
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = Tag.Args;
  out[1] = args.length;
  let offset = 2;
  for (const arg of args) offset = writeInline(arg, out, offset);
  return out;
}

function readInline(buf: Buffer, offset: number): [unknown, number] {
  switch (buf[offset]) {
    case Tag.Undefined:
      return [undefined, offset + 1];
    case Tag.Null:
      return [null, offset + 1];
    case Tag.True:
      return [true, offset + 1];
    case Tag.False:
      return [false, offset + 1];
    case Tag.Int32:
      return [buf.readInt32LE(offset + 1), offset + 5];
    case Tag.Number:
      return [buf.readDoubleLE(offset + 1), offset + 9];
    case Tag.String: {
      const length = buf.readUInt32LE(offset + 1);
      return [buf.toString('utf8', offset + 5, offset + 5 + length), offset + 5 + length];
    }
    default:
      throw new Error(`procpool payload: unknown tag ${buf[offset]}`);
  }
}

/** Decodes what `encodeValue` or `encodeArgs` produced, from `buf[start, end)`. */
export function decode(buf: Buffer, start: number, end: number): unknown {
  const tag = buf[start];
  if (tag === OUT_OF_BAND_TAG) return deserializeOutOfBand(buf, start);
  if (tag === SHARED_OBJECTS_TAG) return fromWire(deserializeOutOfBand(buf, start));
  if (tag === V8_VERSION_TAG) return deserialize(buf.subarray(start, end));
  if (tag !== Tag.Args) return readInline(buf, start)[0];
  const count = buf[start + 1];
  const args = new Array<unknown>(count);
  let offset = start + 2;
  for (let i = 0; i < count; i++) [args[i], offset] = readInline(buf, offset);
  return args;
}
