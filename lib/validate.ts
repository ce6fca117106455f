import { InvalidArgumentError } from './errors';

function quote(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'function') return `function ${value.name || '(anonymous)'}`;
  return String(value);
}

/** Checks a timeout in milliseconds; `undefined` means wait forever. */
export function checkTimeout(timeout: unknown, what: string): asserts timeout is number | undefined {
  if (timeout === undefined) return;
  if (typeof timeout !== 'number' || !(timeout >= 0) || timeout === Infinity) {
    throw new InvalidArgumentError(`Expected \`${what}\` to be a finite number of milliseconds >= 0, got \`${quote(timeout)}\`.`);
  }
}

/** Checks an optional integer >= `min`. */
export function checkInteger(value: unknown, what: string, min: number): asserts value is number | undefined {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new InvalidArgumentError(`Expected \`${what}\` to be an integer >= ${min}, got \`${quote(value)}\`.`);
  }
}

/** Checks an optional array. */
export function checkArray(value: unknown, what: string): asserts value is unknown[] | undefined {
  if (value !== undefined && !Array.isArray(value)) {
    throw new InvalidArgumentError(`Expected \`${what}\` to be an array, got \`${quote(value)}\`.`);
  }
}

/** Checks an optional string. */
export function checkString(value: unknown, what: string): asserts value is string | undefined {
  if (value !== undefined && typeof value !== 'string') {
    throw new InvalidArgumentError(`Expected \`${what}\` to be a string, got \`${quote(value)}\`.`);
  }
}

/** Checks an optional callback. */
export function checkFunction(value: unknown, what: string): asserts value is ((...args: never[]) => unknown) | undefined {
  if (value !== undefined && typeof value !== 'function') {
    throw new InvalidArgumentError(`Expected \`${what}\` to be a function, got \`${quote(value)}\`.`);
  }
}

/** Checks that a value can be iterated, synchronously or not. */
export function checkIterable(value: unknown, what: string): asserts value is Iterable<unknown> | AsyncIterable<unknown> {
  const v = value as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown } | null | undefined;
  if (v == null || (typeof v[Symbol.iterator] !== 'function' && typeof v[Symbol.asyncIterator] !== 'function')) {
    throw new InvalidArgumentError(`Expected \`${what}\` to be an iterable or async iterable, got \`${quote(value)}\`.`);
  }
}
