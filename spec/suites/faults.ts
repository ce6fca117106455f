// The fault-injection suite. Each case asserts: the affected task settles with the right error
// type; every other task resolves with its correct value; the pool accepts and completes new work
// afterwards; no process is left (trackPools checks each pool's pids after every test, the root
// hook checks every marked process at the end).
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AbortError, TaskTimeoutError, WorkerLostError, WorkerStartError, type Pool, type StartMethod } from '../../lib';
import * as faults from '../../fixtures/faults';
import * as tasks from '../../fixtures/tasks';

import { trackPools } from '../support/pools';
import { expectGone, isAlive, waitFor } from '../support/processes';
import { rejection } from '../support/rejection';
import { tempDir, tempFile } from '../support/tmp';

const fixtures = join(__dirname, '..', '..', 'fixtures');

/** The other half of every case: the rest of the work is right, and the pool still works. */
async function expectHealthy(pool: Pool, others: Promise<number>[], expected: number[]): Promise<void> {
  expect(await Promise.all(others)).to.deep.equal(expected);
  expect(await pool.map(tasks.square, [1, 2, 3, 4], { chunksize: 1 })).to.deep.equal([1, 4, 9, 16]);
}

/** Storm and soak sizes: scaled so the whole suite stays under five minutes on two cores. */
const STORM_TASKS = Number(process.env.PROCPOOL_STORM_TASKS ?? 10_000);
const SOAK_TASKS = Number(process.env.PROCPOOL_SOAK_TASKS ?? 5_000);

export function faultSuite(method: StartMethod): void {
  describe('fault injection', () => {
    const pools = trackPools(method);

    describe('1. SIGKILL of a worker mid-task', () => {
      it('by the task itself: that task fails with WorkerLostError', async () => {
        const pool = pools.create({ processes: 1 });
        const before = await pool.apply(tasks.pid);
        const others = [pool.apply(tasks.square, [2]), pool.apply(tasks.square, [3])];
        const lost = rejection(pool.apply(tasks.killSelf, ['SIGKILL']));
        others.push(pool.apply(tasks.square, [4]));
        const error = await lost;
        expect(error).to.be.instanceOf(WorkerLostError);
        expect(error.pid).to.equal(before);
        expect(error.signal).to.equal('SIGKILL');
        expect(error.exitCode).to.equal(null);
        await expectHealthy(pool, others, [4, 9, 16]);
        expect(pool.stats().crashes).to.equal(1);
      });

      it('from outside: only the running task fails; nothing hangs', async () => {
        const pool = pools.create({ processes: 2 });
        await pool.ready();
        const [victim] = pool.pids;
        // The map's tasks report where they run and hold their workers until the gate opens: the
        // victim is killed while it demonstrably runs one, and nothing can finish before that.
        const holding = tempDir('faults-victim');
        const gate = tempFile('faults-victim', 'gate');
        const running = rejection(pool.map(tasks.holdUntilOpen, Array.from({ length: 6 }, () => ({ dir: holding, gate })), { chunksize: 1 }));
        const others = [pool.apply(tasks.square, [5])];
        expect(await waitFor(() => existsSync(join(holding, String(victim))), 10_000)).to.equal(true);
        process.kill(victim, 'SIGKILL');
        await expectGone([victim]);
        writeFileSync(gate, '');
        const error = await running;
        expect(error).to.be.instanceOf(WorkerLostError);
        expect(error.pid).to.equal(victim);
        await expectHealthy(pool, others, [25]);
        // The replacement may still be starting when the work is done: wait for it to be there.
        expect(await waitFor(() => pool.pids.length === 2, 10_000)).to.equal(true);
        expect(pool.pids).to.not.include(victim);
      });
    });

    describe('2. a task that ends its process', () => {
      for (const [label, run, exit] of [
        ['process.exit(3)', (pool: Pool) => pool.apply(tasks.exitWith, [3]), { signal: null, exitCode: 3, stderr: undefined }],
        ['an uncaught exception from a timer', (pool: Pool) => pool.apply(tasks.throwInTimer), { signal: null, exitCode: 1, stderr: /thrown from a timer/ }],
        ['an unhandled promise rejection', (pool: Pool) => pool.apply(tasks.rejectUnhandled), { signal: null, exitCode: 1, stderr: /nobody handles this/ }],
      ] as const) {
        it(`${label}: WorkerLostError with exit code, signal and stderr`, async () => {
          const pool = pools.create({ processes: 1 });
          const before = await pool.apply(tasks.pid);
          const others = [pool.apply(tasks.square, [6])];
          const lost = rejection(run(pool));
          others.push(pool.apply(tasks.square, [7]));
          const error = (await lost) as unknown as WorkerLostError;
          expect(error).to.be.instanceOf(WorkerLostError);
          expect(error.pid).to.equal(before);
          expect(error.signal).to.equal(exit.signal);
          expect(error.exitCode).to.equal(exit.exitCode);
          if (exit.stderr) expect(error.stderr.join('\n')).to.match(exit.stderr);
          await expectHealthy(pool, others, [36, 49]);
          await expectGone([before]);
        });
      }
    });

    it('3. out of memory under a small --max-old-space-size is reported as such', async function () {
      this.timeout(60000);
      const pool = pools.create({ processes: 1, execArgv: ['--max-old-space-size=48'] });
      const others = [pool.apply(tasks.square, [8])];
      const error = (await rejection(pool.apply(faults.exhaustHeap))) as unknown as WorkerLostError;
      expect(error).to.be.instanceOf(WorkerLostError);
      expect(error.outOfMemory).to.equal(true);
      expect(error.signal ?? error.exitCode).to.not.equal(null);
      expect(error.message).to.match(/out of memory/);
      await expectHealthy(pool, others, [64]);
    });

    describe('4. infinite loops', () => {
      it('with a timeout: TaskTimeoutError, the worker is killed and replaced', async () => {
        const pool = pools.create({ processes: 1, killGracePeriod: 200 });
        const before = await pool.apply(tasks.pid);
        const others = [pool.apply(tasks.square, [9])];
        const error = await rejection(pool.apply(tasks.spinForever, [], { timeout: 300 }));
        others.push(pool.apply(tasks.square, [10]));
        expect(error).to.be.instanceOf(TaskTimeoutError);
        expect(error.kind).to.equal('hard');
        expect(error.timeout).to.equal(300);
        await expectHealthy(pool, others, [81, 100]);
        expect(await pool.apply(tasks.pid)).to.not.equal(before);
        expect(pool.stats().timedOut).to.equal(1);
        await expectGone([before]);
      });

      it('cancelled through an AbortSignal: AbortError, the worker is killed after the grace period', async () => {
        const pool = pools.create({ processes: 1, abortGracePeriod: 200, killGracePeriod: 200 });
        const before = await pool.apply(tasks.pid);
        const controller = new AbortController();
        const spinning = tempFile('faults', 'spinning.txt');
        const cancelled = rejection(pool.apply(tasks.spinForever, [spinning], { signal: controller.signal }));
        const others = [pool.apply(tasks.square, [11])];
        // Cancel once the loop demonstrably runs: only then must the worker be killed for it.
        expect(await waitFor(() => existsSync(spinning), 10_000)).to.equal(true);
        controller.abort(new Error('user pressed stop'));
        const error = await cancelled;
        expect(error).to.be.instanceOf(AbortError);
        expect(error.name).to.equal('AbortError');
        expect(error.code).to.equal('ABORT_ERR');
        expect((error.cause as Error).message).to.equal('user pressed stop');
        await expectHealthy(pool, others, [121]);
        await expectGone([before]);
      });
    });

    it("5. a task's own child process dies with its worker", async () => {
      const pool = pools.create({ processes: 1 });
      const grandchild = await pool.apply(tasks.startGrandchild);
      const [worker] = pool.pids;
      const others = [pool.apply(tasks.square, [12])];
      const lost = rejection(pool.apply(tasks.killSelf, ['SIGKILL']));
      expect(await lost).to.be.instanceOf(WorkerLostError);
      await expectGone([worker, grandchild], 10_000);
      await expectHealthy(pool, others, [144]);
    });

    it('6. the parent killed with SIGKILL while tasks run: no worker, template or grandchild after 1 s', async function () {
      this.timeout(30000);
      const spinning = tempFile('faults', 'orphan-spinning.txt');
      const parent = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(fixtures, 'orphan-parent.ts'), method, spinning], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        parent.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]);
        });
        parent.on('exit', (code) => reject(new Error(`parent exited early (${code})`)));
      });
      const { workers, grandchildren, template } = JSON.parse(line) as { workers: number[]; grandchildren: number[]; template?: number };
      const all = [...workers, ...grandchildren, ...(template ? [template] : [])];
      expect(workers).to.have.length(2);
      expect(all.every(isAlive)).to.equal(true);
      if (method === 'forkserver') expect(template).to.be.a('number');
      parent.kill('SIGKILL');
      await expectGone([parent.pid as number, ...all], 1000);
    });

    it(`7. a storm: ${STORM_TASKS} tiny tasks, 1 % of them kill their worker; every promise settles once`, async function () {
      this.timeout(60000 + STORM_TASKS * 10);
      const pool = pools.create({ processes: 2, spares: 2 });
      // A fixed pseudo-random choice of killers, so a failure can be replayed.
      let seed = 12345;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
      const kills = Array.from({ length: STORM_TASKS }, () => random() < 0.01);
      const settled = new Array<number>(STORM_TASKS).fill(0);
      let wrong = 0;
      const started = Date.now();
      const results = kills.map((kill, i) =>
        pool.applyAsync(faults.stormTask, [i, kill], {
          callback: (value) => {
            settled[i]++;
            if (value !== i || kill) wrong++;
          },
          errorCallback: (error) => {
            settled[i]++;
            if (!(error instanceof WorkerLostError) || !kill) wrong++;
          },
        }),
      );
      await Promise.all(results.map((r) => r.wait()));
      const seconds = (Date.now() - started) / 1000;
      expect(settled.every((n) => n === 1)).to.equal(true);
      expect(wrong).to.equal(0);
      const killers = kills.filter(Boolean).length;
      expect(results.filter((r) => !r.successful())).to.have.length(killers);
      const stats = pool.stats();
      expect(stats.completed).to.equal(STORM_TASKS - killers);
      expect(stats.crashes).to.equal(killers);
      expect(await pool.map(tasks.square, [1, 2, 3])).to.deep.equal([1, 4, 9]);
      process.stderr.write(`      storm (${method}): ${STORM_TASKS} tasks, ${killers} crashes, ${seconds.toFixed(1)} s, ${Math.round(STORM_TASKS / seconds)} tasks/s\n`);
    });

    it(`8. recycling soak: ${SOAK_TASKS} tasks with maxTasksPerChild 100 leave fds, children and heap as they were`, async function () {
      this.timeout(60000 + SOAK_TASKS * 2);
      const fds = () => readdirSync('/proc/self/fd').length;
      const heap = () => {
        (global as { gc?: () => void }).gc?.();
        return process.memoryUsage().heapUsed;
      };
      const warm = pools.create({ processes: 2, maxTasksPerChild: 100 });
      await warm.map(tasks.noop, new Array(300).fill(0), { chunksize: 1 });
      await warm.terminate();
      const before = { fds: fds(), heap: heap() };
      const pool = pools.create({ processes: 2, maxTasksPerChild: 100 });
      let done = 0;
      for (let i = 0; i < SOAK_TASKS; i += 1000) {
        await Promise.all(Array.from({ length: Math.min(1000, SOAK_TASKS - i) }, () => pool.apply(tasks.noop)));
        done += 1000;
      }
      expect(done).to.be.at.least(SOAK_TASKS);
      expect(pool.stats().recycles).to.be.at.least(Math.floor(SOAK_TASKS / 100) - 2);
      pool.close();
      await pool.join();
      // The last workers' pipes may close a little after join(): wait for the count to come down
      // (10 s) rather than sleep 200 ms. Leaked descriptors never do.
      await waitFor(() => fds() - before.fds <= 4, 10_000);
      const after = { fds: fds(), heap: heap() };
      expect(after.fds - before.fds, 'open file descriptors').to.be.at.most(4);
      expect(after.heap - before.heap, 'heap bytes').to.be.below(16 * 1024 * 1024);
    });

    describe('9. start-up that always fails', () => {
      it('an initializer that always throws: bounded attempts, then WorkerStartError naming it', async () => {
        const log = tempFile('faults', 'attempts.log');
        const pool = pools.create({ processes: 2, initializer: tasks.failingInit, initargs: [log], maxStartFailures: 3 });
        const error = await rejection(pool.map(tasks.square, [1, 2, 3]));
        expect(error).to.be.instanceOf(WorkerStartError);
        expect(error.message).to.match(/initializer 'failingInit'/);
        expect(error.message).to.match(/initializer exploded/);
        expect((error.cause as Error).message).to.equal('initializer exploded');
        expect(await rejection(pool.apply(tasks.square, [1]))).to.be.instanceOf(WorkerStartError);
        // A start that was under way when the pool gave up still runs its initializer and fails:
        // wait until no worker is left and every logged attempt has been counted, instead of
        // sleeping 500 ms and hoping it was over.
        const logged = () => readFileSync(log, 'utf8').trim().split('\n');
        await waitFor(() => pool.stats().workers === 0 && logged().length === pool.stats().startFailures, 10_000);
        const attempts = logged();
        expect(attempts.length).to.be.within(3, 4);
        await expectGone(attempts.map(Number));
        expect(pool.stats().startFailures).to.equal(attempts.length);
      });

      it('a worker that dies before it is ready: the error carries its last stderr lines', async () => {
        const pool = pools.create({ processes: 1, preload: [join(fixtures, 'dying-preload.js')], maxStartFailures: 2 });
        const error = (await rejection(pool.apply(tasks.square, [1]))) as unknown as WorkerStartError;
        expect(error).to.be.instanceOf(WorkerStartError);
        expect(error.attempts).to.equal(2);
        expect(error.stderr.join('\n')).to.match(/cannot start without the license file/);
        expect(error.message).to.match(/exited with code 7/);
        expect(error.message).to.match(/license file/);
      });
    });
  });
}
