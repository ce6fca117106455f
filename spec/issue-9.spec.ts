// Issue 9: what translated test suites of other projects found wrong (the per-start-method part
// is spec/suites/issue-9.ts).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { getContext, Pool, type TaskSettledEvent, type WorkerExitEvent } from '../lib';
import * as tasks from '../fixtures/tasks';
import { trackPools } from './support/pools';
import { expectGone, waitFor } from './support/processes';
import { tempFile } from './support/tmp';

const run = promisify(execFile);
const fixtures = join(__dirname, '..', 'fixtures');

/** Reaper processes this process started and that still run. */
function reapers(): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || Number(fields[1]) !== process.pid) continue;
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('procpool-reaper')) found.push(pid);
    } catch {
      // Gone.
    }
  }
  return found;
}

describe('issue 9', () => {
  describe('forkserver: exit statuses after the template dies are observed, never invented', () => {
    const ctx = getContext('forkserver');
    const pools = trackPools('forkserver');
    afterEach(() => ctx.close());

    async function killTemplate(signal: NodeJS.Signals): Promise<void> {
      const { pid } = await ctx.forkserverStatus();
      process.kill(pid, signal);
      await expectGone([pid], 10_000);
    }

    for (const signal of ['SIGINT', 'SIGKILL'] as const) {
      it(`a Process whose target returns exits with 0 after the template died of ${signal}`, async () => {
        const open = tempFile('issue-9', 'gate');
        const started = tempFile('issue-9', 'started');
        const p = ctx.Process({ target: tasks.gatedEcho, args: ['done', open, started] });
        await p.start();
        expect(await waitFor(() => existsSync(started), 30_000)).to.equal(true);
        await killTemplate(signal);
        writeFileSync(open, '');
        await p.join();
        expect(p.exitCode).to.equal(0);
        expect(p.exitStatusUnknown).to.equal(undefined);
      });

      it(`pool workers that outlive a template killed by ${signal} close cleanly: 'closed', code 0, no crash`, async () => {
        const pool = pools.create({ processes: 2 });
        await pool.ready();
        const exits: WorkerExitEvent[] = [];
        pool.on('workerExit', (e) => exits.push(e));
        await killTemplate(signal);
        expect(await pool.map(tasks.square, [1, 2, 3], { chunksize: 1 })).to.deep.equal([1, 4, 9]);
        pool.close();
        await pool.join();
        expect(exits.map((e) => [e.reason, e.exitCode, e.signal])).to.deep.equal([
          ['closed', 0, null],
          ['closed', 0, null],
        ]);
        expect(pool.stats().crashes).to.equal(0);
      });
    }

    it('process.exit(n) after the template died is n; a death by signal nobody saw is unknown, not made up', async () => {
      const open = tempFile('issue-9', 'gate');
      const exiting = ctx.Process({ target: tasks.exitAfterGate, args: [open, 7] });
      const killed = ctx.Process({ target: tasks.gatedEcho, args: [undefined, tempFile('issue-9', 'never')] });
      await exiting.start();
      await killed.start();
      await killTemplate('SIGKILL');
      writeFileSync(open, '');
      await exiting.join();
      expect(exiting.exitCode).to.equal(7);
      killed.kill();
      await killed.join();
      expect(killed.isAlive()).to.equal(false);
      expect(killed.exitCode).to.equal(null);
      expect(killed.exitStatusUnknown).to.equal('template-gone');
    });
  });

  it('pool events follow EventEmitter semantics: removeAllListeners() does not switch events off', async () => {
    const pool = new Pool({ processes: 1 });
    try {
      pool.on('taskSettled', () => {});
      pool.removeAllListeners();
      const settled: TaskSettledEvent[] = [];
      pool.on('taskSettled', (e) => settled.push(e));
      await pool.apply(tasks.square, [2]);
      expect(settled.map((e) => e.ok)).to.deep.equal([true]);
      pool.removeAllListeners('taskSettled');
      const again: boolean[] = [];
      pool.once('taskSettled', (e) => again.push(e.ok));
      await pool.apply(tasks.square, [3]);
      await pool.apply(tasks.square, [4]);
      expect(again).to.deep.equal([true]);
      // Typed as EventEmitter<PoolEventMap>: a name that is not a pool event does not compile.
      // @ts-expect-error: 'taskFinished' is not a pool event
      pool.on('taskFinished', () => {});
    } finally {
      await pool.terminate();
    }
  });

  it('no procpool process runs once every pool and context is closed; the next pool starts a reaper again', async () => {
    await getContext('fork').close();
    await getContext('forkserver').close();
    expect(await waitFor(() => reapers().length === 0, 10_000), `reapers left: ${reapers()}`).to.equal(true);
    const pool = new Pool({ processes: 1 });
    expect(await pool.apply(tasks.square, [2])).to.equal(4);
    expect(await waitFor(() => reapers().length === 1, 10_000)).to.equal(true);
    pool.close();
    await pool.join();
    expect(await waitFor(() => reapers().length === 0, 10_000)).to.equal(true);
    // The forkserver template is watched too: the reaper lives as long as it does.
    const ctx = getContext('forkserver');
    const served = ctx.Pool({ processes: 1 });
    expect(await served.apply(tasks.square, [3])).to.equal(9);
    await served.terminate();
    expect(await waitFor(() => reapers().length === 1, 10_000)).to.equal(true);
    await ctx.close();
    expect(await waitFor(() => reapers().length === 0, 10_000)).to.equal(true);
  });

  it('works where /proc cannot be read (PROCPOOL_NO_PROCFS=1, as on macOS)', async function () {
    this.timeout(60_000);
    const { stdout } = await run(process.execPath, ['-r', 'ts-node/register/transpile-only', join(fixtures, 'no-procfs.ts')], {
      env: { ...process.env, PROCPOOL_NO_PROCFS: '1' },
      timeout: 50_000,
    });
    const report = JSON.parse(stdout) as { procfs: boolean; selfAlive: boolean; deadAlive: boolean; lost: Record<string, unknown>; worker: number; replaced: boolean };
    expect(report.procfs).to.equal(false);
    expect(report.selfAlive).to.equal(true);
    expect(report.deadAlive).to.equal(false);
    expect(report.lost).to.deep.equal({ pid: report.worker, exitCode: null, signal: null, statusUnknown: 'template-gone' });
    expect(report.replaced).to.equal(true);
  });
});
