import type { WindowStats } from './stats';

/**
 * A snapshot of a pool's counters (`pool.stats()`), with its run and wait times and its workers'
 * utilization over the last minute (see {@link WindowStats}).
 */
export interface PoolStats extends WindowStats {
  /** Worker processes alive (ready, or finishing before they exit), plus those starting. */
  readonly workers: number;
  /** Workers ready for tasks. */
  readonly readyWorkers: number;
  /** `'fork'`: initialized spares ready for a hand-over. */
  readonly spares: number;
  /** Tasks waiting for a worker (a map chunk counts as one task). */
  readonly queued: number;
  /** Tasks sent to workers and not yet answered. */
  readonly running: number;
  /** Tasks that completed successfully. */
  readonly completed: number;
  /** Tasks that failed (threw, lost their worker, could not be serialized, were terminated...). */
  readonly failed: number;
  /** Workers that died unexpectedly after they were ready. */
  readonly crashes: number;
  /** Workers replaced on purpose (`maxTasksPerChild`, `maxMemoryPerChild`). */
  readonly recycles: number;
  /** Starts that failed (initializer threw, died before ready), in the pool's life. */
  readonly startFailures: number;
  /** Tasks run again after their worker died (`retries`). */
  readonly retried: number;
  /** Tasks that ran past their hard `timeout`. */
  readonly timedOut: number;
  /** Tasks cancelled through their AbortSignal. */
  readonly aborted: number;
}

/** The counters of a pool's life: what `stats()` reports beyond the current numbers. */
export class Counters {
  completed = 0;
  failed = 0;
  crashes = 0;
  recycles = 0;
  startFailures = 0;
  retried = 0;
  timedOut = 0;
  aborted = 0;
}
