// What makes each start method what it claims to be.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getContext, setForkserverPreload, Pool, taskRef } from '../lib';
import * as tasks from '../fixtures/tasks';
import { trackPools } from './support/pools';
import { expectGone, isAlive, waitFor } from './support/processes';
import { tempDir, tempFile } from './support/tmp';

const fixtures = join(__dirname, '..', 'fixtures');

describe('start methods', () => {
  describe("'fork' (pre-warmed)", () => {
    const pools = trackPools('fork');

    it('replaces a dead worker with one that was already running, its task modules loaded', async () => {
      const pool = pools.create({ processes: 1, spares: 1 });
      const first = await pool.apply(tasks.pid);
      await pool.apply(tasks.loadedAt); // the pool now uses fixtures/tasks.js
      // Let the spare boot, load the task module and run the (empty) initializer.
      expect(await waitFor(() => pool.stats().spares === 1, 10000)).to.equal(true);
      // Date.now() counts whole ms: let the clock move past the spare's load before the kill.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const killedAt = Date.now();
      process.kill(first, 'SIGKILL');
      await expectGone([first]);
      const [replacement, startedAt, loadedAt] = await Promise.all([
        pool.apply(tasks.pid),
        pool.apply(tasks.startedAt),
        pool.apply(tasks.loadedAt),
      ]);
      expect(replacement).to.not.equal(first);
      expect(startedAt).to.be.lessThan(killedAt);
      expect(loadedAt).to.be.lessThan(killedAt);
    });

    it('runs the initializer in spares before they are needed', async () => {
      const pool = pools.create({ processes: 1, spares: 1, initializer: tasks.init, initargs: ['warm'] });
      const first = await pool.apply(tasks.pid);
      expect(await waitFor(() => pool.stats().spares === 1, 10000)).to.equal(true);
      process.kill(first, 'SIGKILL');
      expect(await pool.apply(tasks.initializedValue)).to.equal('warm');
    });

    it('a task module that failed to load does not break the spares that load used modules ahead', async () => {
      const pool = pools.create({ processes: 1, spares: 1 });
      const first = await pool.apply(tasks.pid);
      let failure: unknown;
      await pool.apply(taskRef(join(fixtures, 'missing-module.js'), 'x')).catch((error: unknown) => (failure = error));
      expect(failure).to.be.instanceOf(Error).with.property('message').that.includes('missing-module.js');
      // The spare boots after this (some time after the pool became ready), knowing both modules.
      expect(await waitFor(() => pool.stats().spares === 1, 10000)).to.equal(true);
      process.kill(first, 'SIGKILL');
      await expectGone([first]);
      expect(await pool.apply(tasks.add, [2, 3])).to.equal(5);
      expect(pool.stats().startFailures).to.equal(0);
    });

    it("a pool from a context's reserve starts by hand-over of processes booted before it", async () => {
      const ctx = getContext('fork');
      await ctx.prewarm(2);
      const before = Date.now();
      const pool = pools.create({ processes: 2 });
      const started = await pool.map(tasks.startedAt, [0, 1], { chunksize: 1 });
      for (const at of started) expect(at).to.be.lessThan(before);
    });
  });

  describe("'forkserver' (template process)", () => {
    const pools = trackPools('forkserver');
    const ctx = getContext('forkserver');
    afterEach(async () => {
      setForkserverPreload([]);
      await ctx.close();
    });

    it("workers are the template's children, not the application's", async () => {
      const pool = pools.create({ processes: 2 });
      const parents = await pool.map(tasks.ppid, [0, 1], { chunksize: 1 });
      const { pid } = await ctx.forkserverStatus();
      expect(pid).to.not.equal(process.pid);
      expect(parents).to.deep.equal([pid, pid]);
    });

    it("a self-contained CommonJS preload is snapshotted: its top level runs once, not in each worker", async () => {
      const count = tempFile('preload', 'count.log');
      process.env.PROCPOOL_PRELOAD_COUNT = count;
      try {
        await ctx.close();
        setForkserverPreload([join(fixtures, 'preload-counter.js')]);
        const status = await ctx.forkserverStatus();
        expect(status.warmStart).to.equal('snapshot');
        const pool = pools.create({ processes: 2 });
        await pool.ready();
        const lookup = taskRef<(i: number) => number>(join(fixtures, 'preload-counter.js'), 'lookup');
        expect(await pool.map(lookup, [1, 2, 3, 4], { chunksize: 1 })).to.deep.equal([3, 6, 9, 12]);
        // Both workers run (each holds a task until the other has checked in), yet the preload's
        // top level ran once.
        const dir = tempDir('preload-rendezvous');
        expect(new Set(await pool.map(tasks.rendezvous, Array.from({ length: 4 }, () => ({ dir, n: 2 })), { chunksize: 1 })).size).to.equal(2);
        expect(readFileSync(count, 'utf8').trim().split('\n')).to.have.length(1);
      } finally {
        delete process.env.PROCPOOL_PRELOAD_COUNT;
      }
    });

    it('a preload that is not self-contained takes the code-cache path, and says why', async () => {
      await ctx.close();
      setForkserverPreload([join(fixtures, 'preload-with-dep.js')]);
      const status = await ctx.forkserverStatus();
      expect(status.warmStart).to.equal('code-cache');
      expect(status.reason).to.match(/not self-contained/);
      const pool = pools.create({ processes: 1 });
      const fn = taskRef<(x: number) => number>(join(fixtures, 'preload-with-dep.js'), 'squarePlusOne');
      expect(await pool.apply(fn, [3])).to.equal(10);
    });

    it('killing the template leaves running workers alive; the next pool gets a new template', async () => {
      const pool = pools.create({ processes: 2 });
      await pool.ready();
      const workers = pool.pids;
      const { pid: template } = await ctx.forkserverStatus();
      process.kill(template, 'SIGKILL');
      await expectGone([template]);
      expect(workers.every(isAlive)).to.equal(true);
      expect(await pool.map(tasks.square, [1, 2, 3], { chunksize: 1 })).to.deep.equal([1, 4, 9]);
      // A worker that dies now has no template to report its exit: the pool still notices.
      process.kill(workers[0], 'SIGKILL');
      expect(await waitFor(() => !pool.pids.includes(workers[0]), 10_000)).to.equal(true);
      const next = pools.create({ processes: 1 });
      expect(await next.apply(tasks.square, [5])).to.equal(25);
      const { pid: newTemplate } = await ctx.forkserverStatus();
      expect(newTemplate).to.not.equal(template);
      expect(await next.apply(tasks.ppid)).to.equal(newTemplate);
      pool.close();
      await pool.join();
      expect(existsSync(fixtures)).to.equal(true);
    });

    it('leaves no files behind: its directory goes when it closes, or when the next one starts after a kill', async () => {
      const dirsOf = (pid: number) => readdirSync(tmpdir()).filter((name) => name.startsWith(`procpool-forkserver-${pid}-`));
      const { pid: closed } = await ctx.forkserverStatus();
      expect(dirsOf(closed)).to.have.length(1);
      await ctx.close();
      expect(dirsOf(closed)).to.deep.equal([]);
      const { pid: killed } = await ctx.forkserverStatus();
      expect(dirsOf(killed)).to.have.length(1);
      process.kill(killed, 'SIGKILL');
      await expectGone([killed]);
      expect(dirsOf(killed)).to.have.length(1);
      // The next template sweeps directories whose owner is gone, shortly after it starts.
      expect(await pools.create({ processes: 1 }).apply(tasks.square, [3])).to.equal(9);
      expect((await ctx.forkserverStatus()).pid).to.not.equal(killed);
      expect(await waitFor(() => dirsOf(killed).length === 0, 10_000)).to.equal(true);
    });
  });

  it('a Pool made without a start method uses the default', () => {
    const pool = new Pool({ processes: 1 });
    expect(pool.startMethod).to.equal('spawn');
    return pool.terminate();
  });
});
