import { InvalidArgumentError, InvalidStateError } from './errors';
import type { StartMethod } from './launchers/launcher';

/** Every start method procpool has, in Python's order of preference on Linux. */
export const START_METHODS: readonly StartMethod[] = ['spawn', 'fork', 'forkserver'];

let chosen: StartMethod | undefined;

/** Checks a start method name. */
export function checkStartMethod(method: unknown, what = 'startMethod'): asserts method is StartMethod {
  if (!START_METHODS.includes(method as StartMethod)) {
    throw new InvalidArgumentError(`Expected \`${what}\` to be one of ${START_METHODS.join(', ')}, got \`${String(method)}\`.`);
  }
}

/**
 * Python's `set_start_method`: chooses the start method of pools and processes created without
 * one. Like Python, it may be called once; pass `{ force: true }` to change it again.
 * @throws {InvalidStateError} when it was already set and `force` is not given.
 */
export function setStartMethod(method: StartMethod, options: { force?: boolean } = {}): void {
  checkStartMethod(method, 'method');
  if (chosen !== undefined && !options.force) {
    throw new InvalidStateError(`The start method is already set (to '${chosen}'); pass { force: true } to change it.`);
  }
  chosen = method;
}

/**
 * Python's `get_start_method`: the start method in use. Fixes the default (`'spawn'`) unless
 * `allowNone` is true, in which case it returns `undefined` while none was set.
 */
export function getStartMethod(allowNone?: false): StartMethod;
export function getStartMethod(allowNone: true): StartMethod | undefined;
export function getStartMethod(allowNone = false): StartMethod | undefined {
  if (chosen === undefined && !allowNone) chosen = 'spawn';
  return chosen;
}

/** Python's `get_all_start_methods`. */
export function getAllStartMethods(): StartMethod[] {
  return [...START_METHODS];
}
