import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The AbortSignal of the task running now, kept in an AsyncLocalStorage shared through a global
 * symbol, so that a task module's copy of procpool and the worker's own agree on it.
 */
const kStorage = Symbol.for('procpool.taskSignal');
const storage: AsyncLocalStorage<AbortSignal> = ((globalThis as unknown as Record<symbol, AsyncLocalStorage<AbortSignal> | undefined>)[kStorage] ??=
  new AsyncLocalStorage<AbortSignal>());
const never = new AbortController().signal;

/**
 * Inside a task: the AbortSignal that procpool aborts when the task's `softTimeout` passes or its
 * caller's `signal` fires, so a cooperative task can stop cleanly (return early, or throw
 * `signal.reason`). Outside a task, or for a task with neither, a signal that never aborts.
 *
 * @example
 * export async function crawl(urls: string[]) {
 *   const signal = taskSignal();
 *   for (const url of urls) {
 *     if (signal.aborted) break;
 *     await fetch(url, { signal });
 *   }
 * }
 */
export function taskSignal(): AbortSignal {
  return storage.getStore() ?? never;
}

/** Runs `fn` with `signal` as the current task's signal (worker side). */
export function runWithSignal<T>(signal: AbortSignal, fn: () => T): T {
  return storage.run(signal, fn);
}
