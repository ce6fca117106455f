// Scratch files for the specs: all under one directory per run, removed when the run ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let root: string | undefined;

/** A new empty directory for one spec (its name says which, for a person reading /tmp). */
export function tempDir(label: string): string {
  root ??= mkdtempSync(join(tmpdir(), 'procpool-spec-'));
  return mkdtempSync(join(root, `${label}-`));
}

/** A path named `name` in a new empty directory. */
export function tempFile(label: string, name: string): string {
  return join(tempDir(label), name);
}

/** Removes everything the run wrote (the root hook calls it last). */
export function removeTempFiles(): void {
  if (root) rmSync(root, { recursive: true, force: true });
  root = undefined;
}
