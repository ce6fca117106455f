// The task module of the start-method comparison: what every worker runs.

/** Does nothing: measures the pool's own cost per task. */
export function noop(): void {}

/** Naive Fibonacci: a CPU-bound task (fib(30) takes ~8 ms here). */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** The worker's pid. */
export function pid(): number {
  return process.pid;
}
