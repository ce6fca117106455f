// The baseline: the same work in this process, one task after another.
import { SHARED_BYTES, sharedRounds, type Adapter } from './adapter';
import * as tasks from './tasks';

export const serialAdapter: Adapter = {
  name: 'serial (same process)',
  short: 'serial',
  available: async () => true,
  async open() {
    return {
      noopBurst: async (n) => {
        for (let i = 0; i < n; i++) tasks.noop();
      },
      mapNoops: async (n) => {
        for (let i = 0; i < n; i++) tasks.noop();
      },
      fib: async (ns) => ns.map(tasks.fib),
      sums: async (arrays) => arrays.map(tasks.sum),
      one: async () => tasks.noop(),
      sharedRounds: (rounds) =>
        sharedRounds(new SharedArrayBuffer(SHARED_BYTES), async (name, arg) => (tasks[name] as (job: unknown) => unknown)(arg), rounds),
      close: async () => {},
    };
  },
};
