// Issue 9, per start method: what translated test suites of other projects found wrong.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { Process, type StartMethod, type WorkerExitEvent } from '../../lib';
import * as tasks from '../../fixtures/tasks';
import { trackPools } from '../support/pools';
import { waitFor } from '../support/processes';
import { tempFile } from '../support/tmp';

export function issue9Suite(method: StartMethod): void {
  describe('issue 9', () => {
    const pools = trackPools(method);

    it('idleTimeout retires workers that never ran a task, down to minProcesses', async () => {
      const pool = pools.create({ processes: 3, minProcesses: 1, idleTimeout: 200 });
      const exits: WorkerExitEvent[] = [];
      pool.on('workerExit', (e) => exits.push(e));
      await pool.ready();
      expect(await waitFor(() => pool.stats().workers === 1, 15_000)).to.equal(true);
      expect(exits.map((e) => e.reason)).to.deep.equal(['idle', 'idle']);
      expect(await pool.apply(tasks.square, [3])).to.equal(9);
    });

    it('idleTimeout retires replacements started by maxTasksPerChild that get no task', async () => {
      const pool = pools.create({ processes: 3, minProcesses: 1, idleTimeout: 200, maxTasksPerChild: 1 });
      await pool.ready();
      // Three workers take a task each and retire; three replacements start while task 4 waits,
      // and only one of them gets it: the other two never run a task.
      expect(await pool.map(tasks.square, [1, 2, 3, 4], { chunksize: 1 })).to.deep.equal([1, 4, 9, 16]);
      expect(await waitFor(() => pool.stats().workers === 1 && pool.stats().recycles === 4, 15_000)).to.equal(true);
    });

    it('a call captures its arguments when it is made: later changes to them do not reach the task', async () => {
      const pool = pools.create({ processes: 2 });
      const buf = new Float64Array(4);
      const sums: Promise<number>[] = [];
      for (let i = 0; i < 3; i++) {
        buf.fill(i);
        sums.push(pool.apply(tasks.sum, [buf]));
      }
      const obj = { x: 1 };
      const echoed = pool.apply(tasks.echo, [obj]);
      obj.x = 2;
      const items = [{ x: 1 }, { x: 2 }];
      const mapped = pool.map(tasks.echo, items);
      items[0].x = 9;
      const big = new Float64Array(1 << 17).fill(1); // 1 MB: the out-of-band path
      const bigSum = pool.apply(tasks.sum, [big]);
      big.fill(2);
      const controller = new AbortController();
      const withSignal = pool.apply(tasks.echo, [obj], { signal: controller.signal });
      obj.x = 3;
      expect(await Promise.all(sums)).to.deep.equal([0, 4, 8]);
      expect(await echoed).to.deep.equal({ x: 1 });
      expect(await mapped).to.deep.equal([{ x: 1 }, { x: 2 }]);
      expect(await bigSum).to.equal(1 << 17);
      expect(await withSignal).to.deep.equal({ x: 2 });
    });

    it('Process.start() sets pid when it returns (spawn, fork), or once it resolves (forkserver)', async () => {
      const p = new Process({ target: tasks.noop, startMethod: method });
      const started = p.start();
      if (method === 'forkserver') expect(p.pid).to.equal(undefined);
      else expect(p.pid).to.be.a('number').above(0);
      await started;
      expect(p.pid).to.be.a('number').above(0);
      await p.join();
      expect(p.exitCode).to.equal(0);
    });

    it("Process captures its arguments at start(), like Python's pickling at start", async () => {
      const file = tempFile('issue-9', 'args.json');
      const value = { x: 1 };
      const p = new Process({ target: tasks.writeJson, args: [file, value], startMethod: method });
      const started = p.start();
      value.x = 2;
      await started;
      await p.join();
      expect(p.exitCode).to.equal(0);
      expect(JSON.parse(readFileSync(file, 'utf8'))).to.deep.equal({ x: 1 });
    });
  });
}
