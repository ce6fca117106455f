/**
 * Which worker gets which queued task: pure logic over plain values, so it is specced in-process
 * (spec/scheduler.spec.ts) without a single process.
 */
import type { Deque } from '../util/deque';

/** A worker should hold about this much work once task durations are known. */
const BATCH_TARGET_MS = 2;
/**
 * Tasks at least this long go one at a time: a worker idles one round trip (~0.2 ms) between them,
 * but a task never waits behind a slow one on a busy worker while another worker is free.
 */
const SLOW_TASK_MS = 1;
/** Most tasks a worker holds at once (one frame's worth of quick tasks). */
const MAX_DEPTH = 512;

/** What the scheduler knows about a task. */
export interface Schedulable {
  readonly fnId: number;
  readonly kind: number;
  /** False once nobody wants it: it is dropped instead of sent. */
  readonly live: boolean;
}

/** What the scheduler knows about a ready worker. */
export interface WorkerLoad {
  /** Tasks it holds now (sent, not answered). */
  readonly held: number;
  /** Tasks it may still be given before it retires (`maxTasksPerChild`); Infinity without a limit. */
  readonly quota: number;
}

/**
 * Moving averages of how long tasks take in a worker, per function and kind (a map chunk and a
 * single call of the same function differ), and the depth they imply.
 */
export class TaskTimings {
  /** Index `fnId * 3 + kind`; 0 = not measured yet. */
  readonly #ms: number[] = [];

  /** Records that `task` took `ms` in its worker. */
  record(task: Schedulable, ms: number): void {
    const key = task.fnId * 3 + task.kind;
    const average = this.#ms[key] ?? 0;
    this.#ms[key] = average === 0 ? ms : average * 0.8 + ms * 0.2;
  }

  /**
   * How many tasks like `task` a worker should hold, with `queued` tasks waiting for `workers`
   * workers. Unknown tasks: one (fair). Slow tasks: the next one waiting in the worker (no idle
   * round trip between tasks) while there is plenty left for everyone, one at a time near the end,
   * so the last tasks spread over the workers instead of queueing behind each other. Quick tasks:
   * enough for ~BATCH_TARGET_MS of work, and at least two, so the next is there when one ends.
   */
  depth(task: Schedulable, queued: number, workers: number): number {
    const average = this.#ms[task.fnId * 3 + task.kind] ?? 0;
    if (average <= 0) return 1;
    if (average >= SLOW_TASK_MS) return queued > workers * 2 ? 2 : 1;
    return Math.max(2, Math.min(MAX_DEPTH, Math.round(BATCH_TARGET_MS / average)));
  }
}

/**
 * Takes tasks off the front of `queue`, in order, and gives each to the least loaded worker that
 * holds fewer than the task's depth and has quota left; stops at the first task no worker can take.
 * Tasks nobody wants any more are dropped on the way. Returns one batch per worker, in the order
 * of `workers` (empty batches included).
 */
export function assign<T extends Schedulable>(queue: Deque<T>, workers: readonly WorkerLoad[], timings: TaskTimings): T[][] {
  const batches: T[][] = workers.map(() => []);
  const loads = workers.map((w) => w.held);
  const quota = workers.map((w) => w.quota);
  while (queue.length) {
    const next = queue.peek() as T;
    if (!next.live) {
      queue.shift();
      continue;
    }
    const depth = timings.depth(next, queue.length, workers.length);
    let best = -1;
    for (let i = 0; i < workers.length; i++) {
      if (loads[i] < depth && quota[i] > 0 && (best < 0 || loads[i] < loads[best])) best = i;
    }
    if (best < 0) break;
    batches[best].push(queue.shift() as T);
    loads[best]++;
    quota[best]--;
  }
  return batches;
}
