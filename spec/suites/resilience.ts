// Timeouts, cancellation, retries, recycling and events: what a service needs beyond Python's Pool.
import { expect } from 'chai';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import {
  AbortError,
  TaskTimeoutError,
  WorkerLostError,
  type StartMethod,
  type WorkerExitEvent,
} from '../../lib';
import * as faults from '../../fixtures/faults';
import * as tasks from '../../fixtures/tasks';

import { trackPools } from '../support/pools';
import { waitFor } from '../support/processes';
import { rejection } from '../support/rejection';
import { tempDir, tempFile } from '../support/tmp';

export function resilienceSuite(method: StartMethod): void {
  describe('timeouts, cancellation, retries, recycling, events', () => {
    const pools = trackPools(method);

    it('softTimeout aborts the task signal; a cooperative task stops and its worker lives on', async () => {
      const pool = pools.create({ processes: 1 });
      const before = await pool.apply(tasks.pid);
      const error = await rejection(pool.apply(faults.spinUntilAborted, [], { softTimeout: 100 }));
      expect(error).to.be.instanceOf(TaskTimeoutError);
      expect(error.kind).to.equal('soft');
      expect(await pool.apply(faults.waitForAbort, [], { softTimeout: 50 })).to.equal('stopped: TaskTimeoutError');
      expect(await pool.apply(tasks.pid)).to.equal(before);
    });

    it('the pool default timeout applies to every call; a call can override it', async () => {
      const pool = pools.create({ processes: 1, timeout: 200, killGracePeriod: 100 });
      expect(await rejection(pool.apply(tasks.spinForever))).to.be.instanceOf(TaskTimeoutError);
      expect(await pool.apply(tasks.sleepSync, [300], { timeout: 20_000 })).to.be.a('number');
      const chunks = await rejection(pool.map(tasks.sleepSync, [10, 10, 2000], { chunksize: 1 }));
      expect(chunks).to.be.instanceOf(TaskTimeoutError);
    });

    it('softTimeout then timeout: a task that ignores its signal is killed at the hard limit', async () => {
      const pool = pools.create({ processes: 1, killGracePeriod: 100 });
      const started = Date.now();
      const error = await rejection(pool.apply(tasks.spinForever, [], { softTimeout: 100, timeout: 400 }));
      expect(error).to.be.instanceOf(TaskTimeoutError);
      expect(error.kind).to.equal('hard');
      expect(Date.now() - started).to.be.at.least(350);
    });

    it('an AbortSignal drops queued tasks before they run and stops a cooperative running one', async () => {
      // A long abort grace period: the cooperative task must stop by itself, however slowly the
      // loaded machine delivers the abort (a task that ignored it would still cost its worker).
      const pool = pools.create({ processes: 1, abortGracePeriod: 10_000 });
      const before = await pool.apply(tasks.pid);
      const controller = new AbortController();
      const marker = tempFile('resilience', 'ran.txt');
      const started = tempFile('resilience', 'started.txt');
      const running = rejection(pool.apply(faults.spinUntilAborted, [started], { signal: controller.signal }));
      const queued = rejection(pool.apply(faults.mark, [marker], { signal: controller.signal }));
      const unrelated = pool.apply(tasks.square, [3]);
      // Abort once the first task demonstrably runs (the other two wait behind it).
      expect(await waitFor(() => existsSync(started), 10_000)).to.equal(true);
      controller.abort();
      expect(await running).to.be.instanceOf(AbortError);
      expect(await queued).to.be.instanceOf(AbortError);
      expect(await unrelated).to.equal(9);
      expect(existsSync(marker)).to.equal(false);
      expect(await pool.apply(tasks.pid)).to.equal(before);
      expect(pool.stats().aborted).to.equal(2);
    });

    it('a signal that is already aborted rejects at once; map and imap take a signal too', async () => {
      const pool = pools.create({ processes: 2 });
      expect(await rejection(pool.apply(tasks.square, [1], { signal: AbortSignal.abort() }))).to.be.instanceOf(AbortError);
      const controller = new AbortController();
      // The map's tasks hold their workers until the gate opens: the map cannot finish before the
      // abort, which comes once a task demonstrably runs.
      const running = tempDir('map-abort');
      const gate = tempFile('map-abort', 'gate');
      const items = Array.from({ length: 6 }, () => ({ dir: running, gate }));
      const mapped = rejection(pool.map(tasks.holdUntilOpen, items, { chunksize: 1, signal: controller.signal }));
      expect(await waitFor(() => readdirSync(running).length > 0, 10_000)).to.equal(true);
      controller.abort();
      expect(await mapped).to.be.instanceOf(AbortError);
      writeFileSync(gate, '');
      const iterating = new AbortController();
      const it = pool.imap(tasks.delayed, [1, 2, 3, 4, 5, 6, 7, 8], { signal: iterating.signal });
      expect(await it.next()).to.deep.equal({ done: false, value: 1 });
      iterating.abort();
      expect(await rejection(it.next())).to.be.instanceOf(AbortError);
      expect(await it.next()).to.deep.equal({ done: true, value: undefined });
      expect(await pool.map(tasks.square, [2, 3])).to.deep.equal([4, 9]);
    });

    it('retries re-run a task whose worker died; errors thrown by the task are never retried', async () => {
      const pool = pools.create({ processes: 1 });
      const flaky = tempFile('resilience', 'flaky.txt');
      expect(await pool.apply(faults.flaky, [flaky, 2], { retries: 2 })).to.equal(3);
      expect(pool.stats().retried).to.equal(2);
      const once = tempFile('resilience', 'once.txt');
      expect(await rejection(pool.apply(faults.flaky, [once, 1]))).to.be.instanceOf(WorkerLostError);
      const failing = tempFile('resilience', 'failing.txt');
      expect((await rejection(pool.apply(faults.failCounted, [failing], { retries: 3 }))).message).to.equal('task error');
      expect(readFileSync(failing, 'utf8')).to.equal('x');
      const defaults = pools.create({ processes: 1, retries: 1 });
      expect(await defaults.apply(faults.flaky, [tempFile('resilience', 'default.txt'), 1])).to.equal(2);
    });

    it('maxMemoryPerChild replaces a worker whose RSS grew past the limit, after its task', async () => {
      const pool = pools.create({ processes: 1, maxMemoryPerChild: 400 });
      const exits: WorkerExitEvent[] = [];
      pool.on('workerExit', (event) => exits.push(event));
      const first = await pool.apply(faults.hold, [10]);
      const bloated = await pool.apply(faults.hold, [450]);
      expect(bloated).to.equal(first);
      const next = await pool.apply(tasks.pid);
      expect(next).to.not.equal(first);
      expect(await waitFor(() => exits.some((e) => e.reason === 'memory' && e.pid === first), 10_000)).to.equal(true);
      expect(pool.stats().recycles).to.equal(1);
    });

    it('idleTimeout lets workers above minProcesses exit, and the pool grows back under load', async () => {
      const pool = pools.create({ processes: 2, minProcesses: 1, idleTimeout: 200 });
      await pool.ready();
      await pool.map(tasks.square, [1, 2, 3, 4], { chunksize: 1 });
      expect(await waitFor(() => pool.pids.length === 1, 10_000)).to.equal(true);
      // Each task blocks its worker until two different workers have checked in: the map can only
      // complete if the pool started a second worker for it, however long that start takes.
      const dir = tempDir('idle-rendezvous');
      const pids = await pool.map(tasks.rendezvous, Array.from({ length: 4 }, () => ({ dir, n: 2 })), { chunksize: 1 });
      expect(new Set(pids).size).to.equal(2);
    });

    it('emits worker and task events, with the reason a worker left', async () => {
      const pool = pools.create({ processes: 1, maxTasksPerChild: 2 });
      const seen: string[] = [];
      const reasons: string[] = [];
      pool.on('workerStart', () => seen.push('workerStart'));
      pool.on('workerExit', (e) => reasons.push(e.reason));
      pool.on('taskQueued', () => seen.push('taskQueued'));
      pool.on('taskStart', () => seen.push('taskStart'));
      pool.on('taskSettled', (e) => seen.push(e.ok ? 'ok' : 'failed'));
      await pool.map(tasks.square, [1, 2, 3], { chunksize: 1 });
      await rejection(pool.apply(tasks.killSelf));
      await pool.apply(tasks.square, [1]);
      expect(seen.filter((s) => s === 'taskQueued')).to.have.length(5);
      expect(seen.filter((s) => s === 'ok')).to.have.length(4);
      expect(seen.filter((s) => s === 'failed')).to.have.length(1);
      expect(seen.filter((s) => s === 'workerStart').length).to.be.at.least(2);
      // The recycled worker leaves in its own time (it exits after its last answer, while the pool
      // goes on with a new worker): wait for its workerExit rather than assume it came first.
      await waitFor(() => reasons.includes('recycled') && reasons.includes('crashed'), 10_000);
      expect(reasons).to.include('recycled');
      expect(reasons).to.include('crashed');
      const stats = pool.stats();
      expect(stats.completed).to.equal(4);
      expect(stats.failed).to.equal(1);
      expect(stats.crashes).to.equal(1);
    });
  });
}
