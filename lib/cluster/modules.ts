import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { TaskReferenceError } from '../errors';
import { TaskVersionMismatchError } from './errors';

/**
 * How a task module is named between machines. No code travels: a file is named by its path
 * relative to the cluster root (`./lib/tasks.js`) plus a hash of its content; a package by its name
 * plus its version. The agent resolves the name against its own root and refuses a file or a
 * package that is not the submitter's (TaskVersionMismatchError) rather than run other code.
 * The hash covers the named file only, not what it imports.
 */
export interface PortableModule {
  readonly module: string;
  readonly fingerprint: string;
}

const hashes = new Map<string, { mtimeMs: number; size: number; hash: string }>();

/** A hash of a file's content, cached while its mtime and size stay the same. */
function fileHash(path: string): string {
  const stat = statSync(path);
  const cached = hashes.get(path);
  if (cached && cached.mtimeMs === stat.mtimeMs && cached.size === stat.size) return cached.hash;
  const hash = `sha256:${createHash('sha256').update(readFileSync(path)).digest('hex').slice(0, 32)}`;
  hashes.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, hash });
  return hash;
}

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** `name@version` of the package a bare specifier names, as installed under `root`. */
function packageVersion(specifier: string, root: string): string {
  const name = packageName(specifier);
  try {
    const manifest = createRequire(join(root, 'package.json'))(`${name}/package.json`) as { version?: string };
    return `${name}@${String(manifest.version)}`;
  } catch (error) {
    throw new TaskReferenceError(`Package '${name}' (task module '${specifier}') is not installed under ${root}.`, { cause: error });
  }
}

/** The submitter's side: a module path (absolute) or package name, named relative to `root`. */
export function portableModule(module: string, root: string): PortableModule {
  if (!isAbsolute(module)) return { module, fingerprint: packageVersion(module, root) };
  const rel = relative(root, module);
  if (rel.startsWith('..') || isAbsolute(rel)) {
    throw new TaskReferenceError(
      `Task module ${module} is outside the cluster root ${root}: agents resolve modules relative to their root, so tasks must live under it (set cluster.root).`,
    );
  }
  let fingerprint: string;
  try {
    fingerprint = fileHash(module);
  } catch (error) {
    throw new TaskReferenceError(`Task module ${module} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  return { module: `./${rel.split(sep).join('/')}`, fingerprint };
}

/**
 * The agent's side: the module `portable` names, under the agent's `root` (an absolute path, or
 * the package name). Throws TaskVersionMismatchError when the agent's copy is not the submitter's.
 */
export function localModule(portable: PortableModule, root: string): string {
  const relativePath = portable.module.startsWith('./');
  const path = relativePath ? resolve(root, portable.module) : portable.module;
  if (relativePath && !path.startsWith(root)) throw new TaskReferenceError(`Task module ${portable.module} is outside the agent's root ${root}.`);
  let mine: string;
  try {
    mine = relativePath ? fileHash(path) : packageVersion(path, root);
  } catch (error) {
    throw new TaskReferenceError(`Task module ${portable.module} is not available on this agent (root ${root}): ${(error as Error).message}`, { cause: error });
  }
  if (mine !== portable.fingerprint) {
    throw new TaskVersionMismatchError(
      `Task module ${portable.module} differs between the submitter (${portable.fingerprint}) and this agent (${mine}, root ${root}): ` +
        'deploy the same code to every machine.',
    );
  }
  return path;
}
