// close/join/terminate, `await using`, module systems, and no process outliving the pool or parent.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvalidStateError, Pool, type StartMethod } from '../../lib';
import * as tasks from '../../fixtures/tasks';
import * as tsTasks from '../../fixtures/ts-tasks';
import { trackPools } from '../support/pools';
import { expectGone, isAlive, waitFor } from '../support/processes';
import { tempFile } from '../support/tmp';

const fixtures = join(__dirname, '..', '..', 'fixtures');
const run = promisify(execFile);
const tsNode = ['-r', 'ts-node/register/transpile-only'];

export function lifecycleSuite(method: StartMethod): void {
  describe('lifecycle', () => {
    const pools = trackPools(method);

    it('close() lets queued work finish, then join() sees every worker exit', async () => {
      const pool = pools.create();
      await pool.ready();
      const pids = pool.pids;
      const results = pool.map(tasks.delayed, [1, 2, 3, 4], { chunksize: 1 });
      pool.close();
      expect(pool.state).to.equal('closing');
      await pool.join();
      expect(pool.state).to.equal('closed');
      expect(await results).to.deep.equal([1, 2, 3, 4]);
      expect(pids.some(isAlive)).to.equal(false);
      pool.close(); // idempotent
      await pool.join();
    });

    it('join() before close() or terminate() is an InvalidStateError', async () => {
      const pool = pools.create({ processes: 1 });
      const error = await pool.join().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InvalidStateError);
    });

    it('await using closes gracefully at the end of the scope', async () => {
      let pids: number[] = [];
      let pending: Promise<number> | undefined;
      {
        await using pool = new Pool({ processes: 1, startMethod: method });
        await pool.ready();
        pids = pool.pids;
        pending = pool.apply(tasks.slowNumber, [7, 50]);
      }
      expect(await pending).to.equal(7);
      expect(pids.some(isAlive)).to.equal(false);
    });

    it('terminate() kills workers stuck in a loop and what their tasks started', async () => {
      const pool = pools.create({ processes: 2 });
      const grandchildren = await pool.map(tasks.startGrandchild, [0, 1], { chunksize: 1 });
      const pids = pool.pids;
      const spinning = tempFile('lifecycle', 'spinning.txt');
      void pool.apply(tasks.spinForever, [spinning]).catch(() => {});
      // Terminate once a worker is demonstrably stuck in the loop, not 50 ms after asking for it.
      expect(await waitFor(() => existsSync(spinning), 10_000)).to.equal(true);
      await pool.terminate();
      // terminate() resolves when the workers are gone; their grandchildren die with their groups,
      // which a loaded machine may take a while to reap.
      await expectGone([...pids, ...grandchildren], 10_000);
    });

    it('a script that never closes its pool still exits, and its workers with it', async function () {
      this.timeout(30000);
      const { stdout } = await run(process.execPath, [...tsNode, join(fixtures, 'forgetful-script.ts'), method], { timeout: 20000 });
      const { squares, workers } = JSON.parse(stdout) as { squares: number[]; workers: number[] };
      expect(squares).to.deep.equal([1, 4, 9]);
      await expectGone(workers, 1000);
    });

    it('works from an ES module application, with ESM task modules', async function () {
      this.timeout(30000);
      const { stdout } = await run(process.execPath, [join(fixtures, 'esm-main.mjs'), method], { timeout: 20000 });
      expect(JSON.parse(stdout)).to.deep.equal({ cubes: [1, 8, 27], delayed: 64, tripled: 15 });
    });

    it('works from a CommonJS application that requires it by name', async function () {
      this.timeout(30000);
      const { stdout } = await run(process.execPath, [join(fixtures, 'cjs-main.cjs'), method], { timeout: 20000 });
      expect(JSON.parse(stdout)).to.deep.equal({ squares: [1, 4, 9] });
    });

    it('accepts functions of an ES module marked with registerTaskModule, in this process too', async () => {
      const pool = pools.create({ processes: 1 });
      const esm = (await import(join(fixtures, 'esm-tasks.mjs'))) as { cube(x: number): number };
      expect(await pool.map(esm.cube, [2, 3])).to.deep.equal([8, 27]);
    });

    it('workers of JavaScript tasks never load a TypeScript hook; .ts task modules still work', async () => {
      const pool = pools.create({ processes: 1 });
      const before = await pool.apply(tasks.loadedModules);
      expect(before.some((m) => m.includes('ts-node'))).to.equal(false);
      expect(await pool.apply(tsTasks.cube, [3])).to.equal(27);
      const after = await pool.apply(tsTasks.loadedModules);
      expect(after.some((m) => m.includes('ts-node'))).to.equal(true);
      expect(after.some((m) => m.endsWith('ts-tasks.ts'))).to.equal(true);
    });
  });
}
