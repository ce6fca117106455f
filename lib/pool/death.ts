/**
 * Death accounting: what a worker's end means for the tasks it held and for the pool's counters.
 * Pure functions over plain values, specced in-process (spec/death.spec.ts).
 */
import type { WorkerExitInfo } from '../errors';
import type { PoolTask } from './task';

/** Why a worker left, as the pool's `workerExit` event reports it. */
export type WorkerExitReason =
  | 'closed'
  | 'recycled'
  | 'memory'
  | 'idle'
  | 'timeout'
  | 'aborted'
  | 'terminated'
  | 'broken'
  | 'crashed'
  | 'start-failed';

/** Reasons for which the pool kills a worker rather than asking it to leave. */
const FORCED: ReadonlySet<WorkerExitReason> = new Set(['timeout', 'aborted', 'terminated']);

/**
 * Why a ready worker left: what the pool asked for, unless it died some other way first. A worker
 * asked to leave gracefully left cleanly only if it exited with code 0, by itself, after answering
 * every task someone still wanted; anything else is a crash. An exit status nobody could observe
 * (`statusUnknown`) is never clean: the worker reports a clean exit itself before it goes.
 */
export function exitReason(exit: WorkerExitInfo, requested: WorkerExitReason | undefined, unanswered: readonly PoolTask[]): WorkerExitReason {
  if (requested && FORCED.has(requested)) return requested;
  const clean = exit.exitCode === 0 && exit.signal === null && unanswered.every((t) => !t.live);
  return requested && clean ? requested : 'crashed';
}

/** What becomes of the tasks a dead worker held. */
export interface DeathOutcome {
  /** Tasks to put back at the front of the queue, in this order. */
  readonly requeue: PoolTask[];
  /** The running task, run again because it had retries left (it is also first in `requeue`). */
  readonly retried?: PoolTask;
  /** The running task, which fails with `WorkerLostError`. */
  readonly lost?: PoolTask;
}

/**
 * Attributes a death exactly: the worker runs its tasks in order, so the first unanswered task
 * was running and the rest never started. The rest run elsewhere, in their order. The running one
 * runs elsewhere too if the worker never received it (its frame was still in the pipe) or it has
 * retries left; otherwise it is lost. Tasks nobody wants any more are dropped.
 */
export function accountDeath(unanswered: readonly PoolTask[]): DeathOutcome {
  const [running, ...notStarted] = unanswered;
  const requeue = notStarted.filter((task) => task.live);
  if (!running || !running.live) return { requeue };
  if (!running.reachedWorker) return { requeue: [running, ...requeue] };
  if (running.retriesLeft > 0) return { requeue: [running, ...requeue], retried: running };
  return { requeue, lost: running };
}
