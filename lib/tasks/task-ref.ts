import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TaskReferenceError } from '../errors';
import type { TaskRefData } from '../transport/protocol';

/** Any function a worker can run. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskFunction = (...args: any[]) => unknown;

declare const taskType: unique symbol;

/**
 * A task function named by reference, as Python's pickle names functions: the module that exports
 * it and the export name. Works for every kind of module, in every worker. The type parameter
 * carries the function's signature, so results stay typed.
 */
export interface TaskRef<F extends TaskFunction = TaskFunction> extends TaskRefData {
  /** Absolute path of the module (or a package specifier, or a `file:` URL). */
  readonly module: string;
  /** Export name; `'default'` also names a CommonJS module that *is* the function. */
  readonly name: string;
  /** Type-level only: the referenced function's signature. */
  readonly [taskType]?: F;
}

/** A task: the exported function itself, or a {@link TaskRef} to one. */
export type Task<F extends TaskFunction = TaskFunction> = F | TaskRef<F>;

/**
 * Names an exported function explicitly. Relative paths are resolved against `process.cwd()`;
 * pass `__filename`, `require.resolve('./tasks')` or `new URL('./tasks.mjs', import.meta.url)` to
 * be independent of it.
 *
 * @example
 * const square = taskRef<(x: number) => number>(require.resolve('./tasks'), 'square');
 * await pool.map(square, [1, 2, 3]); // number[]
 */
export function taskRef<F extends TaskFunction = TaskFunction>(module: string | URL, name: string): TaskRef<F> {
  if (typeof name !== 'string' || name === '') {
    throw new TaskReferenceError(`taskRef() needs an export name as its second argument, got ${JSON.stringify(name)}.`);
  }
  return { module: resolveModuleSpecifier(module), name };
}

/**
 * Makes a module specifier independent of the worker's cwd: `file:` URLs become paths, relative
 * paths are resolved against `process.cwd()`, package names stay as they are.
 */
export function resolveModuleSpecifier(module: string | URL): string {
  const text = module instanceof URL ? module.href : module;
  if (typeof text !== 'string' || text === '') {
    throw new TaskReferenceError(`A task module must be a path, a file: URL or a package name, got ${String(module)}.`);
  }
  if (text.startsWith('file:')) return fileURLToPath(text);
  if (text.startsWith('./') || text.startsWith('../') || text === '.' || text === '..') return resolve(text);
  if (isAbsolute(text)) return text;
  return text;
}

/**
 * Shared by every copy of procpool loaded in this process (say, an application's and a plugin's),
 * so that a module registered through one copy is found by pools of another.
 */
interface Registry {
  readonly known: WeakMap<TaskFunction, TaskRefData>;
  readonly esm: Map<string, Promise<void>>;
}
const kRegistry = Symbol.for('procpool.taskRegistry');
const registry: Registry = ((globalThis as unknown as Record<symbol, Registry | undefined>)[kRegistry] ??= {
  known: new WeakMap(),
  esm: new Map(),
});
const known = registry.known;
const esmRegistrations = registry.esm;

function remember(namespace: unknown, module: string): void {
  if (namespace === null || (typeof namespace !== 'object' && typeof namespace !== 'function')) return;
  for (const key of Object.keys(namespace)) {
    const descriptor = Object.getOwnPropertyDescriptor(namespace, key);
    // Data properties only: TypeScript's re-exports are getters, and calling a getter runs user code.
    if (descriptor && 'value' in descriptor && typeof descriptor.value === 'function' && !known.has(descriptor.value)) {
      known.set(descriptor.value, { module, name: key });
    }
  }
}

/**
 * The one-line marker for ES modules, whose exports this process cannot otherwise discover:
 * call it at the top level of a task module so that its exported functions can be passed to a pool
 * as they are.
 *
 * @example
 * // tasks.mjs
 * import { registerTaskModule } from 'procpool';
 * export function square(x) { return x * x; }
 * registerTaskModule(import.meta.url);
 */
export function registerTaskModule(url: string | URL): void {
  const href = url instanceof URL ? url.href : url.startsWith('file:') ? url : pathToFileURL(url).href;
  if (esmRegistrations.has(href)) return;
  const path = fileURLToPath(href);
  // The module is still evaluating when it calls this, so its namespace is read once it is done.
  const scanned = import(href).then(
    (namespace: Record<string, unknown>) => {
      remember(namespace, path);
      remember(namespace.default, path);
    },
    () => {
      // A module that fails to load cannot supply tasks; lookups report the function as unknown.
    },
  );
  esmRegistrations.set(href, scanned);
}

function lookupInRequireCache(fn: TaskFunction): TaskRefData | undefined {
  for (const mod of Object.values(require.cache)) {
    // Never the main script: loading it in a worker would run the application again.
    if (!mod || mod === require.main) continue;
    const exports: unknown = mod.exports;
    if (exports === fn) return { module: mod.filename, name: 'default' };
    if (exports === null || (typeof exports !== 'object' && typeof exports !== 'function')) continue;
    let keys: string[];
    try {
      keys = Object.keys(exports);
    } catch {
      continue;
    }
    for (const key of keys) {
      const descriptor = Object.getOwnPropertyDescriptor(exports, key);
      if (descriptor && 'value' in descriptor && descriptor.value === fn) return { module: mod.filename, name: key };
    }
  }
  return undefined;
}

function unknownFunction(fn: TaskFunction): TaskReferenceError {
  const label = fn.name ? `Function '${fn.name}'` : 'An anonymous function';
  return new TaskReferenceError(
    `${label} cannot be sent to a worker: functions cross the process boundary by reference (module + ` +
      'export name), and no module this process loaded exports it. Closures, lambdas, bound functions and ' +
      'functions of the main script cannot be referenced. Export it from a module and pass the export; in an ' +
      "ES module also call registerTaskModule(import.meta.url) there; or pass taskRef(modulePath, 'name').",
  );
}

function lookup(fn: TaskFunction): TaskRefData | undefined {
  let ref = known.get(fn);
  if (!ref) {
    ref = lookupInRequireCache(fn);
    if (ref) known.set(fn, ref);
  }
  return ref;
}

/**
 * The module + export name of a task. Synchronous unless the function may come from an ES module
 * whose registration is still being read.
 *
 * @throws {TaskReferenceError} when the task cannot be referenced.
 */
export function resolveTask(task: unknown): TaskRefData | Promise<TaskRefData> {
  if (typeof task === 'function') {
    const ref = lookup(task as TaskFunction);
    if (ref) return ref;
    if (esmRegistrations.size === 0) throw unknownFunction(task as TaskFunction);
    return Promise.all(esmRegistrations.values()).then(() => {
      const late = lookup(task as TaskFunction);
      if (!late) throw unknownFunction(task as TaskFunction);
      return late;
    });
  }
  if (task !== null && typeof task === 'object') {
    const { module, name } = task as Partial<TaskRefData>;
    if (typeof module === 'string' && typeof name === 'string') return taskRef(module, name);
  }
  throw new TaskReferenceError(
    `A task must be an exported function or a taskRef(module, name), got ${task === null ? 'null' : typeof task}.`,
  );
}

/** `name (module)`, for messages. */
export function describeTask(ref: TaskRefData): string {
  return `'${ref.name}' (${ref.module})`;
}
