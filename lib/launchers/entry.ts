import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InvalidArgumentError } from '../errors';

const cached = new Map<string, string>();

/**
 * Path of the compiled worker entry (`dist/lib/worker/main.js`). A worker always runs compiled
 * JavaScript, so it starts as fast as plain `node` even when the parent runs procpool's TypeScript
 * source through ts-node (as this repository's tests do).
 */
export function workerEntry(): string {
  return compiledScript('worker', 'main.js');
}

/** Path of a compiled script of procpool's that runs as a process of its own (under `dist/lib/`). */
export function compiledScript(...parts: string[]): string {
  const key = parts.join('/');
  const known = cached.get(key);
  if (known) return known;
  const fromSource = __filename.endsWith('.ts');
  const entry = fromSource ? resolve(__dirname, '..', '..', 'dist', 'lib', ...parts) : join(__dirname, '..', ...parts);
  if (!existsSync(entry)) {
    throw new InvalidArgumentError(
      `procpool's script ${entry} is missing.` + (fromSource ? ' You are running procpool from its TypeScript source: run `npm run build` first.' : ''),
    );
  }
  cached.set(key, entry);
  return entry;
}
