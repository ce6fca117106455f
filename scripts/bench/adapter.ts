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
  close(): Promise<void>;
}

/** A pool implementation under test. */
export interface Adapter {
  readonly name: string;
  /** Whether it can run here (a peer that is not installed says why). */
  available(): Promise<true | string>;
  /** Opens a pool and waits until `workers` results have come back (the startup figure). */
  open(workers: number): Promise<BenchPool>;
}
