import { InvalidArgumentError } from '../errors';

/** The element types of shared values and arrays, by name. */
export type TypeName = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64' | 'bigint64' | 'biguint64';

/** Python's one-letter `array` typecodes, as on 64-bit Linux (`l` and `q` are 64-bit). */
export type PythonTypecode = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd';

/** What a shared value or array holds: a type name, or Python's typecode for it. */
export type Typecode = TypeName | PythonTypecode;

/** The typed array of each element type. */
export interface TypedArrayOf {
  int8: Int8Array;
  uint8: Uint8Array;
  int16: Int16Array;
  uint16: Uint16Array;
  int32: Int32Array;
  uint32: Uint32Array;
  float32: Float32Array;
  float64: Float64Array;
  bigint64: BigInt64Array;
  biguint64: BigUint64Array;
}

/** The typed array a typecode reads and writes through. */
export type ArrayFor<T extends Typecode> = TypedArrayOf[TypeNameOf<T>];

/** The JavaScript value of one element: a bigint for 64-bit integers, else a number. */
export type ElementOf<T extends Typecode> = TypeNameOf<T> extends 'bigint64' | 'biguint64' ? bigint : number;

/** The type name behind a typecode. */
export type TypeNameOf<T extends Typecode> = T extends TypeName ? T : T extends PythonTypecode ? (typeof PYTHON)[T] : never;

const PYTHON = {
  b: 'int8',
  B: 'uint8',
  h: 'int16',
  H: 'uint16',
  i: 'int32',
  I: 'uint32',
  l: 'bigint64',
  L: 'biguint64',
  q: 'bigint64',
  Q: 'biguint64',
  f: 'float32',
  d: 'float64',
} as const;

const CONSTRUCTORS = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  float32: Float32Array,
  float64: Float64Array,
  bigint64: BigInt64Array,
  biguint64: BigUint64Array,
} as const;

/** A typed array class, as the constructors above are. */
export interface TypedArrayClass {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArrayOf[TypeName];
  readonly BYTES_PER_ELEMENT: number;
}

/**
 * The type name of `code` (a name or a Python typecode).
 * @throws {InvalidArgumentError} for anything else, listing what is accepted.
 */
export function typeName(code: unknown): TypeName {
  if (typeof code === 'string') {
    if (code in CONSTRUCTORS) return code as TypeName;
    if (code in PYTHON) return PYTHON[code as PythonTypecode];
  }
  throw new InvalidArgumentError(
    `Expected a typecode: one of ${Object.keys(CONSTRUCTORS).join(', ')}, or Python's ${Object.keys(PYTHON).join(' ')}; got \`${String(code)}\`.`,
  );
}

/** The typed array class of a type name. */
export function arrayClass(name: TypeName): TypedArrayClass {
  return CONSTRUCTORS[name] as unknown as TypedArrayClass;
}

/** Whether elements of this type are bigints. */
export function isBigType(name: TypeName): boolean {
  return name === 'bigint64' || name === 'biguint64';
}
