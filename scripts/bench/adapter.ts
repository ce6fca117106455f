// What every pool in the benchmark provides: one small file per pool implements it.

/** An open pool of `workers` workers. */
export interface BenchPool {
  /** Submits `n` no-op calls at once and waits for all of them. */
  noopBurst(n: number): Promise<void>;
  /** `map` of `n` no-ops with the pool's default chunking, or undefined if it has no map. */
  mapNoops?(n: number): Promise<void>;
  /** One fib(n) task per entry of `ns`; resolves with the results. */
  fib(ns: number[]): Promise<number[]>;
  /** One task per array, each returning the sum of its array. */
  sums(arrays: Float64Array[]): Promise<number[]>;
  /** One no-op round trip. */
  one(): Promise<void>;
  /**
   * `rounds` rounds of "each worker fills its half of 64 MB of shared doubles, then sums the other
   * half"; resolves with the ms the rounds took (the memory's creation is not timed). Only pools
   * that can share memory have it.
   */
  sharedRounds?(rounds: number): Promise<number>;
  close(): Promise<void>;
}

/** A pool implementation under test. */
export interface Adapter {
  readonly name: string;
  /** A column heading for the summary table. */
  readonly short: string;
  /** Whether it can run here (a peer that is not installed says why). */
  available(): Promise<true | string>;
  /** Opens a pool and waits until `workers` results have come back (the startup figure). */
  open?(workers: number): Promise<BenchPool>;
  /**
   * For a pool outside this process (Python): runs every workload `runs` times itself and
   * returns the samples by workload key, in the same units as the table.
   */
  external?(workers: number, runs: number): Promise<Record<string, number[]>>;
}

/** `[0, 1, ..., n - 1]`. */
export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Calls the benchmark task module's export `name` with one argument (none for a no-op). */
export type RunTask = (name: 'noop' | 'fib' | 'sum' | 'fillHalf' | 'sumOtherHalf', arg?: unknown) => Promise<unknown>;

/** Bytes of shared memory in the shared-rounds workload. */
export const SHARED_BYTES = 64 * 1024 * 1024;

/** The shared-rounds workload over `memory` (see `BenchPool.sharedRounds`), checking every sum. */
export async function sharedRounds(memory: unknown, run: RunTask, rounds: number): Promise<number> {
  const half = SHARED_BYTES / 8 / 2;
  const started = performance.now();
  for (let round = 1; round <= rounds; round++) {
    await Promise.all([0, 1].map((h) => run('fillHalf', { memory, half: h, value: round })));
    const sums = (await Promise.all([0, 1].map((h) => run('sumOtherHalf', { memory, half: h })))) as number[];
    if (sums.some((s) => s !== round * half)) throw new Error(`shared rounds: round ${round} summed ${sums.join(', ')}, not ${round * half}`);
  }
  return performance.now() - started;
}

/**
 * A {@link BenchPool} over a peer's "run this export" call, once `workers` warm-up calls are back:
 * every peer's workloads are then the same submissions.
 */
export async function taskPool(workers: number, run: RunTask, close: () => Promise<unknown>, sharesMemory = false): Promise<BenchPool> {
  await Promise.all(range(workers).map(() => run('noop')));
  return {
    noopBurst: async (n) => {
      await Promise.all(range(n).map(() => run('noop')));
    },
    fib: (ns) => Promise.all(ns.map((n) => run('fib', n) as Promise<number>)),
    sums: (arrays) => Promise.all(arrays.map((a) => run('sum', a) as Promise<number>)),
    one: async () => {
      await run('noop');
    },
    // Threads share a SharedArrayBuffer; processes cannot.
    sharedRounds: sharesMemory ? (rounds) => sharedRounds(new SharedArrayBuffer(SHARED_BYTES), run, rounds) : undefined,
    close: async () => {
      await close();
    },
  };
}
