// jest-worker (child processes by default) under the benchmark.
import { Worker } from 'jest-worker';
import { taskPool, type Adapter, type RunTask } from '../adapter';

const TASKS = require.resolve('../tasks');

type TaskWorker = Worker & Record<Parameters<RunTask>[0], (arg?: unknown) => Promise<unknown>>;

export const jestWorkerAdapter: Adapter = {
  name: 'jest-worker 30 (processes)',
  short: 'jest-worker',
  available: async () => true,
  async open(workers) {
    const pool = new Worker(TASKS, { numWorkers: workers, exposedMethods: ['noop', 'fib', 'sum'], enableWorkerThreads: false }) as TaskWorker;
    return taskPool(workers, (name, arg) => pool[name](arg), () => pool.end());
  },
};
