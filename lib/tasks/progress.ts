import { currentTask } from './current-task';

/**
 * Inside a task: passes `value` (anything the V8 serializer accepts) to the caller, who sees it
 * through the call's `onProgress` option or the `'progress'` event of its `AsyncResult`.
 *
 * Reports are coalesced: the first goes at once, then at most one every `PROGRESS_INTERVAL_MS`
 * (50 ms) per task, the latest value winning, and the last value reported is delivered before the
 * task's result. So a task may call this in a tight loop: it costs a clock read per call, and the
 * channel sees at most 20 frames a second. Progress never delays or reorders results. Outside a
 * task (in the caller's process, or after the task returned) it does nothing.
 *
 * @example
 * export function resize(images: string[]) {
 *   images.forEach((image, i) => {
 *     work(image);
 *     reportProgress({ done: i + 1, of: images.length });
 *   });
 * }
 */
export function reportProgress(value: unknown): void {
  currentTask()?.report(value);
}
