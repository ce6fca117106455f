import { InvalidArgumentError } from '../errors';
import type { Launcher, StartMethod } from './launcher';
import { SpawnLauncher } from './spawn';

/** The launcher for a start method (CPython's context table). */
export function createLauncher(method: StartMethod): Launcher {
  switch (method) {
    case 'spawn':
      return new SpawnLauncher();
    default:
      throw new InvalidArgumentError(`The '${method}' start method is not available yet; use 'spawn'.`);
  }
}
