// The benchmark's task module (loaded by procpool's workers and by the serial baseline).

export function noop(): void {}

export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

export function sum(values: Float64Array): number {
  let total = 0;
  for (let i = 0; i < values.length; i++) total += values[i];
  return total;
}

/** Shared memory as the pools pass it: procpool's SharedMemory, or a SharedArrayBuffer (threads). */
export type SharedDoubles = SharedArrayBuffer | { readonly buf: Uint8Array; readonly size: number };

function doubles(memory: SharedDoubles): Float64Array {
  return memory instanceof SharedArrayBuffer ? new Float64Array(memory) : new Float64Array(memory.buf.buffer, memory.buf.byteOffset, memory.size / 8);
}

/** Fills half `half` (0 or 1) of the shared doubles with `value`. */
export function fillHalf(job: { memory: SharedDoubles; half: number; value: number }): void {
  const all = doubles(job.memory);
  const n = all.length / 2;
  all.fill(job.value, job.half * n, (job.half + 1) * n);
}

/** The sum of the other half than `half`. */
export function sumOtherHalf(job: { memory: SharedDoubles; half: number }): number {
  const all = doubles(job.memory);
  const n = all.length / 2;
  const from = (1 - job.half) * n;
  let total = 0;
  for (let i = from; i < from + n; i++) total += all[i];
  return total;
}

/** Waits `ms` (a task that holds its worker without using the CPU). */
export function sleepMs(ms: number): Promise<number> {
  return new Promise((resolve) => setTimeout(() => resolve(ms), ms));
}
