import { deserialize, serialize } from 'node:v8';

/**
 * Task arguments and results, encoded. Most tasks take a few numbers or strings and return one or
 * nothing, and `v8.serialize`/`deserialize` cost several µs each for them (a Serializer object,
 * a Buffer, garbage). Those values get a compact encoding here; everything else goes through the
 * V8 serializer unchanged. The two never collide: V8's data always starts with 0xFF.
 */
const V8_VERSION_TAG = 0xff;
const Tag = {
  Undefined: 1,
  Null: 2,
  True: 3,
  False: 4,
  Number: 5,
  String: 6,
  /** An argument list of primitives: u8 count, then each element tagged as above. */
  Args: 7,
} as const;

const MAX_INLINE_STRING = 1024;
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
      return 9;
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

/** Encodes one value (a result). */
export function encodeValue(value: unknown): Buffer {
  if (value === undefined) return UNDEFINED;
  const size = inlineSize(value);
  if (size < 0) return serialize(value);
  const out = Buffer.allocUnsafe(size);
  writeInline(value, out, 0);
  return out;
}

/** Encodes an argument list (or a map chunk's items). */
export function encodeArgs(args: readonly unknown[]): Buffer {
  if (args.length === 0) return EMPTY_ARGS;
  if (args.length > MAX_INLINE_ARGS) return serialize(args);
  let size = 2;
  for (const arg of args) {
    const n = inlineSize(arg);
    if (n < 0) return serialize(args);
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
  if (tag === V8_VERSION_TAG) return deserialize(buf.subarray(start, end));
  if (tag !== Tag.Args) return readInline(buf, start)[0];
  const count = buf[start + 1];
  const args = new Array<unknown>(count);
  let offset = start + 2;
  for (let i = 0; i < count; i++) [args[i], offset] = readInline(buf, offset);
  return args;
}
