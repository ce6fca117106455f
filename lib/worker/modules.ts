import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TaskReferenceError } from '../errors';
import type { TaskRefData } from '../transport/protocol';

/** A task function as the worker calls it. */
export type AnyFunction = (...args: unknown[]) => unknown;

const TS_EXTENSIONS = new Set(['.ts', '.cts', '.tsx', '.mts']);
const LOAD_AS_ESM = new Set(['ERR_REQUIRE_ESM', 'ERR_REQUIRE_ASYNC_MODULE']);

/**
 * Loads task modules in the worker, once each, and finds exported functions in them. Only modules
 * are ever loaded: no source text is evaluated. A TypeScript loader is loaded only when the first
 * TypeScript module is, so workers of plain JavaScript tasks never pay for it.
 */
export class TaskModules {
  readonly #modules = new Map<string, unknown>();
  readonly #require = createRequire(join(process.cwd(), '[procpool-worker]'));
  #tsLoader: string | undefined;

  /** Sets the CommonJS hook (e.g. ts-node's register) to load before the first TypeScript module. */
  setTsLoader(loader: string | undefined): void {
    this.#tsLoader = loader;
  }

  /** The module's exports (or ESM namespace); a promise only when the module must be imported. */
  load(specifier: string): unknown {
    if (this.#modules.has(specifier)) return this.#modules.get(specifier);
    const path = specifier.startsWith('file:') ? fileURLToPath(specifier) : specifier;
    let loaded: unknown;
    try {
      this.#ensureLoaderFor(path);
      loaded = this.#require(path);
    } catch (error) {
      if (!LOAD_AS_ESM.has((error as NodeJS.ErrnoException).code ?? '')) throw loadFailure(specifier, error);
      loaded = import(path.startsWith('/') ? pathToFileURL(path).href : path).then(
        (namespace) => {
          this.#modules.set(specifier, namespace);
          return namespace;
        },
        (importError: unknown) => {
          this.#modules.delete(specifier);
          throw loadFailure(specifier, importError);
        },
      );
    }
    this.#modules.set(specifier, loaded);
    return loaded;
  }

  /** The function a reference names; a promise only while its module is being imported. */
  resolve(ref: TaskRefData): AnyFunction | Promise<AnyFunction> {
    const loaded = this.load(ref.module);
    if (loaded instanceof Promise) return loaded.then((exports) => pick(exports, ref));
    return pick(loaded, ref);
  }

  #ensureLoaderFor(path: string): void {
    const extension = extname(path);
    if (!TS_EXTENSIONS.has(extension) || require.extensions[extension]) return;
    if (!this.#tsLoader) {
      throw new TaskReferenceError(
        `Cannot load TypeScript task module ${path}: no TypeScript loader is registered. Register ts-node ` +
          `in the parent (e.g. node -r ts-node/register), set PROCPOOL_TS_LOADER to a CommonJS register ` +
          `hook, or compile the module to JavaScript.`,
      );
    }
    this.#require(this.#tsLoader);
  }
}

function loadFailure(specifier: string, error: unknown): TaskReferenceError {
  if (error instanceof TaskReferenceError) return error;
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new TaskReferenceError(`Cannot load task module ${specifier}: ${reason}`, { cause: error });
}

function pick(exports: unknown, ref: TaskRefData): AnyFunction {
  const holder = exports as Record<string, unknown> | null;
  let value = holder?.[ref.name];
  // A CommonJS module loaded through import(): its exports object is the namespace's default.
  if (value === undefined && holder && typeof holder.default === 'object' && holder.default !== null) {
    value = (holder.default as Record<string, unknown>)[ref.name];
  }
  // `module.exports = function` is referred to as 'default'.
  if (value === undefined && ref.name === 'default' && typeof exports === 'function') value = exports;
  if (typeof value === 'function') return value as AnyFunction;
  if (value === undefined) {
    const names = holder ? Object.keys(holder).filter((k) => k !== '__esModule') : [];
    throw new TaskReferenceError(
      `Task module ${ref.module} has no export named '${ref.name}'` +
        (names.length ? ` (it exports: ${names.slice(0, 20).join(', ')}).` : '.'),
    );
  }
  throw new TaskReferenceError(
    `Export '${ref.name}' of task module ${ref.module} is ${value === null ? 'null' : `a ${typeof value}`}, not a function.`,
  );
}
