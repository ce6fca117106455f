import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks';

/** How far back `runTime`, `waitTime` and `utilization` look: the last minute... */
export const STATS_WINDOW_MS = 60_000;
/** ...kept in six slices of 10 s: the oldest goes as a new one starts, so the window spans 50–60 s. */
const SLICES = 6;
const SLICE_MS = STATS_WINDOW_MS / SLICES;
/** Histograms count microseconds, up to an hour (longer durations are recorded as an hour). */
const HIGHEST_US = 3_600_000_000;

/** Durations over the stats window, in ms (all 0 when `count` is 0). */
export interface LatencyStats {
  readonly count: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

/** What `pool.stats()` measures over its sliding window. */
export interface WindowStats {
  /** How long tasks ran: from the moment their worker could start them to their answer. */
  readonly runTime: LatencyStats;
  /** How long tasks waited in the queue: from submission to a worker (each time one is sent). */
  readonly waitTime: LatencyStats;
  /**
   * The share of the window the workers were busy, from 0 to 1: busy time ÷ (window × processes).
   * A pool younger than the window is measured over its age, so a saturated new pool reads ~1.
   */
  readonly utilization: number;
  /** The span those figures cover, in ms: the pool's age, or 50–60 s once it is older. */
  readonly windowMs: number;
}

function histogram(): RecordableHistogram {
  // Two significant figures (1 %) are plenty for latency and keep each histogram small.
  return createHistogram({ lowest: 1, highest: HIGHEST_US, figures: 2 });
}

/** One 10 s slice of the window. */
class Slice {
  /** Which slice of the pool's life this is (`floor(age / SLICE_MS)`); -1 before first use. */
  index = -1;
  readonly run = histogram();
  readonly wait = histogram();
  busyMs = 0;

  /** Makes this the slice of `index`, forgetting what an older one recorded. */
  claim(index: number): this {
    if (this.index !== index) {
      this.index = index;
      this.run.reset();
      this.wait.reset();
      this.busyMs = 0;
    }
    return this;
  }
}

function summary(h: RecordableHistogram): LatencyStats {
  if (h.count === 0) return { count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const ms = (us: number): number => us / 1000;
  return { count: h.count, mean: ms(h.mean), p50: ms(h.percentile(50)), p90: ms(h.percentile(90)), p99: ms(h.percentile(99)), max: ms(h.max) };
}

function micros(ms: number): number {
  return Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000)));
}

/**
 * The pool's run and wait times (node:perf_hooks histograms, one pair per slice, added up when
 * asked) and its workers' busy time, over a sliding window of SLICES slices.
 */
export class PoolMeter {
  readonly #slices = Array.from({ length: SLICES }, () => new Slice());
  readonly #born: number;

  constructor(
    private readonly processes: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#born = now();
  }

  /** A task waited `ms` in the queue before it was sent. */
  waited(ms: number, at: number): void {
    this.#slice(at).wait.record(micros(ms));
  }

  /** A task ran `ms` in a worker, answered at `at`. */
  ran(ms: number, at: number): void {
    this.#slice(at).run.record(micros(ms));
  }

  /** A worker was busy from `from` to `to`: each slice gets its share. */
  busy(from: number, to: number): void {
    const first = Math.max(this.#indexAt(from), this.#indexAt(to) - SLICES + 1);
    for (let index = this.#indexAt(to); index >= first; index--) {
      const start = this.#born + index * SLICE_MS;
      const share = Math.min(to, start + SLICE_MS) - Math.max(from, start);
      if (share > 0) this.#slices[index % SLICES].claim(index).busyMs += share;
    }
  }

  /** The figures now; `busySince` lists when each worker that holds tasks now started on them. */
  snapshot(busySince: Iterable<number>): WindowStats {
    const now = this.now();
    const current = this.#indexAt(now);
    const windowStart = Math.max(this.#born, this.#born + (current - SLICES + 1) * SLICE_MS);
    const run = histogram();
    const wait = histogram();
    let busyMs = 0;
    for (const slice of this.#slices) {
      if (slice.index < 0 || slice.index <= current - SLICES) continue;
      run.add(slice.run);
      wait.add(slice.wait);
      busyMs += slice.busyMs;
    }
    // Work under way counts too: a pool saturated by long tasks is busy before any of them answers.
    for (const since of busySince) busyMs += now - Math.max(since, windowStart);
    const windowMs = now - windowStart;
    const utilization = windowMs > 0 ? Math.min(1, busyMs / (windowMs * this.processes)) : 0;
    return { runTime: summary(run), waitTime: summary(wait), utilization, windowMs };
  }

  #indexAt(at: number): number {
    return Math.max(0, Math.floor((at - this.#born) / SLICE_MS));
  }

  #slice(at: number): Slice {
    const index = this.#indexAt(at);
    return this.#slices[index % SLICES].claim(index);
  }
}
