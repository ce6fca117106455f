import { currentTask } from './current-task';

/**
 * Inside a task: the `context` its call passed (or the value the pool's `context` hook returned
 * when the call was made), deserialized; `undefined` without one, or outside a task. This is how a
 * trace id, a tenant or a request id follows the work into the worker process.
 *
 * @example
 * // caller
 * await pool.apply(render, [page], { context: { traceId } });
 * // task module
 * export function render(page: Page) {
 *   const { traceId } = taskContext<{ traceId: string }>() ?? {};
 *   log.info({ traceId }, 'rendering');
 * }
 */
export function taskContext<T = unknown>(): T | undefined {
  return currentTask()?.context as T | undefined;
}
