// piscina (worker threads: no process isolation) under the benchmark.
import { Piscina } from 'piscina';
import { taskPool, type Adapter } from '../adapter';

const TASKS = require.resolve('../tasks');

export const piscinaAdapter: Adapter = {
  name: 'piscina 5 (threads)',
  short: 'piscina',
  available: async () => true,
  async open(workers) {
    const pool = new Piscina({ filename: TASKS, minThreads: workers, maxThreads: workers });
    return taskPool(workers, (name, arg) => pool.run(arg, { name }), () => pool.destroy(), true);
  },
};
