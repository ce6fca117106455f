/** The ArrayBufferView classes, by the code that names them on the wire. */
export const VIEW_TYPES = [
  Buffer,
  Uint8Array,
  Int8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
] as const;

/** The wire code of a view's class. */
export function viewType(view: ArrayBufferView): number {
  const index = VIEW_TYPES.indexOf(view.constructor as (typeof VIEW_TYPES)[number]);
  if (index >= 0) return index;
  // A subclass: send it as the nearest built-in (the V8 serializer would lose the subclass too).
  return Math.max(0, VIEW_TYPES.findIndex((Type) => view instanceof Type));
}

/** A view of wire class `type` over `byteLength` bytes of `buffer` from `byteOffset`. */
export function makeView(type: number, buffer: ArrayBufferLike, byteOffset: number, byteLength: number): ArrayBufferView {
  const Type = VIEW_TYPES[type] ?? Uint8Array;
  if (Type === Buffer) return Buffer.from(buffer, byteOffset, byteLength);
  if (Type === DataView) return new DataView(buffer, byteOffset, byteLength);
  const elementSize = (Type as Uint8ArrayConstructor).BYTES_PER_ELEMENT;
  return new (Type as Uint8ArrayConstructor)(buffer, byteOffset, byteLength / elementSize);
}

/** Bytes per element of wire class `type` (1 for Buffer and DataView). */
export function elementSize(type: number): number {
  const Type = VIEW_TYPES[type] ?? Uint8Array;
  return 'BYTES_PER_ELEMENT' in Type ? Type.BYTES_PER_ELEMENT : 1;
}
