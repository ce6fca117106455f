// procpool under the benchmark, one adapter per start method.
import { getContext, Pool, SharedMemory, type StartMethod } from '../../lib';
import { SHARED_BYTES, sharedRounds, type Adapter, type BenchPool } from './adapter';
import * as tasks from './tasks';

export function procpoolAdapter(method: StartMethod): Adapter {
  return {
    name: `procpool (${method})`,
    short: method,
    available: async () => true,
    async open(workers: number): Promise<BenchPool> {
      const pool = new Pool({ processes: workers, startMethod: method });
      await Promise.all(Array.from({ length: workers }, () => pool.apply(tasks.noop)));
      return {
        noopBurst: async (n) => {
          await Promise.all(Array.from({ length: n }, () => pool.applyAsync(tasks.noop)));
        },
        mapNoops: async (n) => {
          await pool.map(tasks.noop, new Array<undefined>(n));
        },
        fib: (ns) => pool.map(tasks.fib, ns, { chunksize: 1 }),
        sums: (arrays) => pool.map(tasks.sum, arrays, { chunksize: 1 }),
        one: () => pool.apply(tasks.noop),
        sharedRounds: async (rounds) => {
          const shm = new SharedMemory({ create: true, size: SHARED_BYTES });
          try {
            return await sharedRounds(shm, (name, arg) => pool.apply(tasks[name] as (job: unknown) => unknown, [arg]), rounds);
          } finally {
            shm.close();
            shm.unlink();
          }
        },
        close: async () => {
          pool.close();
          await pool.join();
        },
      };
    },
  };
}

/** Releases the fork reserve and forkserver template after a run. */
export async function closeProcpoolContexts(): Promise<void> {
  await getContext('fork').close();
  await getContext('forkserver').close();
}
