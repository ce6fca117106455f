import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '../errors';

let cached: string | undefined;

/**
 * Path of the compiled worker entry (`dist/lib/worker/main.js`). A worker always runs compiled
 * JavaScript, so it starts as fast as plain `node` even when the parent runs procpool's TypeScript
 * source through ts-node (as this repository's tests do).
 */
export function workerEntry(): string {
  if (cached) return cached;
  const fromSource = __filename.endsWith('.ts');
  const entry = fromSource
    ? resolve(__dirname, '..', '..', 'dist', 'lib', 'worker', 'main.js')
    : join(__dirname, '..', 'worker', 'main.js');
  if (!existsSync(entry)) {
    throw new InvalidArgumentError(
      `procpool's worker entry ${entry} is missing.` +
        (fromSource ? ' You are running procpool from its TypeScript source: run `npm run build` first.' : ''),
    );
  }
  return (cached = entry);
}
