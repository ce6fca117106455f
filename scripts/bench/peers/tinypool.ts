// tinypool with its child_process runtime under the benchmark.
import { taskPool, type Adapter } from '../adapter';

const TASKS = require.resolve('../tasks');

export const tinypoolAdapter: Adapter = {
  name: 'tinypool 2 (processes)',
  short: 'tinypool',
  available: async () => true,
  async open(workers) {
    // tinypool is an ES module only.
    const { Tinypool } = await import('tinypool');
    const pool = new Tinypool({ filename: TASKS, runtime: 'child_process', minThreads: workers, maxThreads: workers, serialization: 'advanced' });
    return taskPool(workers, (name, arg) => pool.run(arg, { name }), () => pool.destroy());
  },
};
