import { checkTimeout } from '../validate';
import type { TaskEngine } from './task-engine';

/** Options of `pool.shutdown()`. */
export interface ShutdownOptions {
  /**
   * Ms to let queued and running tasks finish; then what is left is terminated (those tasks
   * reject with `PoolTerminatedError`).
   * @default undefined: wait as long as the tasks take
   */
  timeout?: number;
}

/** What `pool.shutdown()` resolves with. */
export interface ShutdownResult {
  /** Tasks (calls, map chunks) that settled by themselves during the shutdown, with a result or an error. */
  readonly completed: number;
  /** Tasks cut at the deadline: they rejected with `PoolTerminatedError`. */
  readonly terminated: number;
}

function settled(engine: TaskEngine): number {
  return engine.counters.completed + engine.counters.failed;
}

/**
 * A service's shutdown: refuse new work (`close()`), let queued and running tasks finish, and at
 * the deadline terminate what is left. Resolves once every worker is gone.
 */
export async function shutdown(engine: TaskEngine, options: ShutdownOptions): Promise<ShutdownResult> {
  const timeout = options.timeout;
  checkTimeout(timeout, 'timeout');
  const before = settled(engine);
  engine.close();
  let timer: NodeJS.Timeout | undefined;
  const deadline = timeout === undefined ? undefined : new Promise<'deadline'>((resolve) => (timer = setTimeout(resolve, timeout, 'deadline')));
  const outcome = await (deadline ? Promise.race([engine.join(), deadline]) : engine.join());
  clearTimeout(timer);
  const atDeadline = settled(engine);
  let terminated = 0;
  if (outcome === 'deadline') {
    // terminate() rejects every unfinished task at once: the count moves by exactly those it cut.
    const closed = engine.terminate();
    terminated = settled(engine) - atDeadline;
    await closed;
  }
  return { completed: atDeadline - before, terminated };
}
