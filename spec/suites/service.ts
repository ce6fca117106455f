// Running a service (issue 14): backpressure, progress, stats, diagnostics_channel, context, shutdown.
import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { writeFileSync } from 'node:fs';
import {
  ErrorCodes,
  InvalidArgumentError,
  PoolClosedError,
  PoolTerminatedError,
  QueueFullError,
  SerializationError,
  type MapProgress,
  type Pool,
  type StartMethod,
  WorkerLostError,
} from '../../lib';
import * as tasks from '../../fixtures/tasks';
import * as service from '../../fixtures/service-tasks';
import { trackPools } from '../support/pools';
import { rejection } from '../support/rejection';
import { waitFor } from '../support/processes';
import { tempFile } from '../support/tmp';

const DEADLINE = 20_000;

async function until(predicate: () => boolean, what: string): Promise<void> {
  if (!(await waitFor(predicate, DEADLINE, 5))) throw new Error(`timed out waiting until ${what}`);
}

/** Holds the pool's only worker on a gated task; resolves (with the task's result, boxed) once the worker runs it. */
async function occupy(pool: Pool, gate: string): Promise<{ held: Promise<string> }> {
  const held = pool.apply(tasks.gatedEcho<string>, ['held', gate]);
  await until(() => pool.stats().running === 1 && pool.stats().queued === 0, 'the worker holds the gated task');
  return { held };
}

export function serviceSuite(method: StartMethod): void {
  describe('running a service', () => {
    const pools = trackPools(method);

    it('maxQueue refuses what does not fit with QueueFullError; drain, drained() and idle() follow the queue', async () => {
      const pool = pools.create({ processes: 1, maxQueue: 2 });
      const gate = tempFile('service', 'gate');
      const { held } = await occupy(pool, gate);
      const drains: number[] = [];
      pool.on('drain', () => drains.push(pool.stats().queued));
      const queued = [pool.apply(tasks.square, [2]), pool.apply(tasks.square, [3])];
      expect(pool.queueFull).to.equal(true);
      const refused = pool.applyAsync(tasks.square, [4]);
      // Refused at once: the AsyncResult is already settled when the call returns.
      expect(refused.ready()).to.equal(true);
      const error = await refused.catch((e: unknown) => e);
      expect(error).to.be.instanceOf(QueueFullError);
      expect((error as QueueFullError).code).to.equal(ErrorCodes.QUEUE_FULL);
      expect((error as QueueFullError).maxQueue).to.equal(2);
      // A map counts its chunks: two chunks do not fit either; nothing of it was queued.
      expect(await rejection(pool.map(tasks.square, [1, 2], { chunksize: 1 }))).to.be.instanceOf(QueueFullError);
      expect(pool.stats().queued).to.equal(2);
      let drained = false;
      let idle = false;
      void pool.drained().then(() => (drained = true));
      void pool.idle().then(() => (idle = true));
      writeFileSync(gate, '');
      expect(await held).to.equal('held');
      expect(await Promise.all(queued)).to.deep.equal([4, 9]);
      await pool.idle();
      expect(drained && idle).to.equal(true);
      expect(drains).to.have.length(1);
      expect(drains[0]).to.be.lessThan(2);
      expect(pool.queueFull).to.equal(false);
      // imap is bounded by its own look-ahead, not by maxQueue.
      const out: number[] = [];
      for await (const x of pool.imap(tasks.square, [1, 2, 3, 4, 5])) out.push(x);
      expect(out).to.deep.equal([1, 4, 9, 16, 25]);
    });

    it('reportProgress reaches onProgress and the AsyncResult in order, the last value before the result', async () => {
      const pool = pools.create({ processes: 1 });
      const seen: unknown[] = [];
      const n = 100_000;
      const result = await pool.apply(service.countTo, [n], { onProgress: (v) => seen.push(v) });
      seen.push('result');
      expect(result).to.equal(n);
      // Coalesced: far fewer reports than calls, ascending, and the last value reported arrives.
      expect(seen.at(-2)).to.equal(n);
      expect(seen.length).to.be.lessThan(n / 10);
      const values = seen.slice(0, -1) as number[];
      expect(values).to.deep.equal([...values].sort((a, b) => a - b));

      const gate = tempFile('service', 'progress-gate');
      const events: unknown[] = [];
      const r = pool.applyAsync(service.reportThenGate<string>, ['done', gate]);
      r.on('progress', (v) => events.push(v));
      await until(() => events.length === 1, "the task's first report arrives");
      expect(events).to.deep.equal(['waiting']);
      expect(r.ready()).to.equal(false);
      writeFileSync(gate, '');
      expect(await r).to.equal('done');
      expect(events).to.deep.equal(['waiting', 'open']);
    });

    it('a map reports its items as they complete, within a chunk too, and completed === total before the result', async () => {
      const pool = pools.create({ processes: 1 });
      const gate = tempFile('service', 'map-gate');
      const reports: MapProgress[] = [];
      const items: [number, string | null][] = [
        [1, null],
        [2, gate],
      ];
      const done = pool.map(service.gatedItem<number>, items, { chunksize: 2, onProgress: (p) => reports.push(p) });
      // One chunk of two items: the first is done, the second waits at its gate.
      await until(() => reports.some((p) => p.completed === 1), 'the first item of the chunk is reported');
      expect(reports[0]).to.deep.include({ completed: 1, total: 2 });
      writeFileSync(gate, '');
      expect(await done).to.deep.equal([1, 2]);
      expect(reports.at(-1)).to.deep.include({ completed: 2, total: 2 });

      const seen: number[] = [];
      const r = pool.mapAsync(tasks.square, Array.from({ length: 100 }, (_, i) => i), { chunksize: 10 });
      r.on('progress', (p) => seen.push((p as MapProgress).completed));
      const results = await r;
      expect(results).to.have.length(100);
      expect(seen.at(-1)).to.equal(100);
      expect(seen).to.deep.equal([...seen].sort((a, b) => a - b));
    });

    it('progress never outlives its task: errors still reject, unserializable values throw in the task', async () => {
      const pool = pools.create({ processes: 1 });
      const seen: unknown[] = [];
      expect((await rejection(pool.apply(service.reportThenThrow, ['boom'], { onProgress: (v) => seen.push(v) }))).message).to.equal('boom');
      expect(seen).to.deep.equal(['about to fail']);
      expect(await pool.apply(service.reportFunction, [])).to.equal('SerializationError');
      // A crash after a report fails the call as any crash does; the report still arrived first.
      const crashed: unknown[] = [];
      expect(await rejection(pool.apply(service.reportThenCrash, [], { onProgress: (v) => crashed.push(v) }))).to.be.instanceOf(WorkerLostError);
      expect(crashed).to.deep.equal(['about to crash']);
      expect(await rejection(pool.apply(service.countTo, [1], { onProgress: 'no' as never }))).to.be.instanceOf(InvalidArgumentError);
      // A listener added after the result settled hears nothing, and the pool goes on as before.
      expect(await pool.apply(tasks.square, [7])).to.equal(49);
    });

    it('stats() gains runTime, waitTime (perf_hooks histograms) and utilization over its window', async () => {
      const pool = pools.create();
      await pool.map(tasks.square, Array.from({ length: 40 }, (_, i) => i), { chunksize: 1 });
      const stats = pool.stats();
      for (const latency of [stats.runTime, stats.waitTime]) {
        expect(latency.count).to.be.at.least(40);
        expect(latency.p50).to.be.at.least(0);
        expect(latency.p50).to.be.at.most(latency.p90);
        expect(latency.p90).to.be.at.most(latency.p99);
        expect(latency.p99).to.be.at.most(latency.max);
        expect(latency.mean).to.be.at.most(latency.max);
      }
      expect(stats.utilization).to.be.within(0, 1);
      expect(stats.windowMs).to.be.above(0);
    });

    it('publishes task and worker events on diagnostics_channel, each naming the pool', async () => {
      const names = ['procpool:task:queued', 'procpool:task:start', 'procpool:task:settled', 'procpool:worker:start', 'procpool:worker:exit'];
      const messages: Record<string, Record<string, unknown>[]> = {};
      const handlers = names.map((name) => {
        const handler = (message: unknown): void => {
          (messages[name] ??= []).push(message as Record<string, unknown>);
        };
        subscribe(name, handler);
        return { name, handler };
      });
      try {
        const pool = pools.create({ processes: 1 });
        expect(await pool.apply(tasks.square, [5])).to.equal(25);
        expect(await rejection(pool.apply(tasks.failIfNegative, [-1]))).to.be.instanceOf(RangeError);
        pool.close();
        await pool.join();
        const mine = (name: string) => (messages[name] ?? []).filter((m) => m.pool === pool);
        const queued = mine('procpool:task:queued');
        expect(queued).to.have.length(2);
        expect(mine('procpool:task:start').map((m) => m.id)).to.deep.equal(queued.map((m) => m.id));
        const settled = mine('procpool:task:settled');
        expect(settled.map((m) => m.ok)).to.deep.equal([true, false]);
        expect(settled[1].error).to.be.instanceOf(RangeError);
        for (const m of settled) expect(m.durationMs).to.be.a('number').and.at.least(0);
        const [started] = mine('procpool:worker:start');
        expect(started.pid).to.be.a('number');
        expect(mine('procpool:worker:exit').map((m) => [m.pid, m.reason])).to.deep.include([started.pid, 'closed']);
      } finally {
        for (const { name, handler } of handlers) unsubscribe(name, handler);
      }
    });

    it('context: a call carries its own, or the pool hook’s captured at submission, into taskContext()', async () => {
      let calls = 0;
      const pool = pools.create({ processes: 1, context: () => ({ traceId: `t${++calls}` }) });
      expect(await pool.apply(service.readContext, [])).to.deep.equal({ traceId: 't1' });
      expect(await pool.apply(service.readContext, [], { context: { traceId: 'mine' } })).to.deep.equal({ traceId: 'mine' });
      expect(await pool.map(service.withContext, [1, 2, 3], { chunksize: 1 })).to.deep.equal([
        [1, { traceId: 't2' }],
        [2, { traceId: 't2' }],
        [3, { traceId: 't2' }],
      ]);
      const viaImap: unknown[] = [];
      for await (const pair of pool.imap(service.withContext, ['a'], { context: 42 })) viaImap.push(pair);
      expect(viaImap).to.deep.equal([['a', 42]]);
      expect(await rejection(pool.apply(service.readContext, [], { context: { fn: () => 1 } }))).to.be.instanceOf(SerializationError);
      const plain = pools.create({ processes: 1 });
      expect(await plain.apply(service.readContext, [])).to.equal(undefined);
    });

    it('shutdown(): refuses new work, lets tasks finish, resolves with what completed', async () => {
      const pool = pools.create({ processes: 1 });
      const gate = tempFile('service', 'shutdown-gate');
      const { held } = await occupy(pool, gate);
      const queued = pool.apply(tasks.square, [3]);
      const done = pool.shutdown({ timeout: DEADLINE });
      expect(pool.shutdown()).to.equal(done);
      expect(await rejection(pool.apply(tasks.square, [1]))).to.be.instanceOf(PoolClosedError);
      writeFileSync(gate, '');
      expect(await done).to.deep.equal({ completed: 2, terminated: 0 });
      expect([await held, await queued]).to.deep.equal(['held', 9]);
      expect(pool.state).to.equal('closed');
    });

    it('shutdown(): at the deadline what is left is terminated and counted', async () => {
      const pool = pools.create({ processes: 1 });
      // The gate never opens: neither task can finish, however fast the machine.
      const held = pool.apply(tasks.gatedEcho<string>, ['never', tempFile('service', 'closed-gate')]);
      const queued = pool.apply(tasks.square, [3]);
      const cut = [rejection(held), rejection(queued)];
      await until(() => pool.stats().running === 1, 'the worker holds the gated task');
      expect(await pool.shutdown({ timeout: 100 })).to.deep.equal({ completed: 0, terminated: 2 });
      for (const error of await Promise.all(cut)) expect(error).to.be.instanceOf(PoolTerminatedError);
      expect(await rejection(pools.create({ processes: 1 }).shutdown({ timeout: -1 }))).to.be.instanceOf(InvalidArgumentError);
    });
  });
}
