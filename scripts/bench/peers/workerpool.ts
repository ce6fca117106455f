// workerpool with workerType 'process' under the benchmark.
import workerpool from 'workerpool';
import { taskPool, type Adapter, type RunTask } from '../adapter';

const WORKER = require.resolve('./workerpool-worker');

export const workerpoolAdapter: Adapter = {
  name: 'workerpool 10 (processes)',
  short: 'workerpool',
  available: async () => true,
  async open(workers) {
    const pool = workerpool.pool(WORKER, {
      minWorkers: workers,
      maxWorkers: workers,
      workerType: 'process',
      forkOpts: { serialization: 'advanced' },
    });
    // workerpool's own Promise class is not assignable to the standard one; awaiting it works.
    const run: RunTask = async (name, arg) => await pool.exec(name, arg === undefined ? [] : [arg]);
    return taskPool(workers, run, async () => {
      await pool.terminate();
    });
  },
};
