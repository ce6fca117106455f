// Python's Pool surface: results, chunking, callbacks, AsyncResult, typed values across the boundary.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { AsyncResult, InvalidStateError, TimeoutError, taskRef, type StartMethod } from '../../lib';
import * as tasks from '../../fixtures/tasks';
import { trackPools } from '../support/pools';
import { waitFor } from '../support/processes';
import { tempDir, tempFile } from '../support/tmp';

export function apiSuite(method: StartMethod): void {
  describe('Python surface', () => {
    const pools = trackPools(method);

    it('map, starmap and apply return typed results in input order', async () => {
      const pool = pools.create();
      const squares: number[] = await pool.map(tasks.square, [1, 2, 3]);
      expect(squares).to.deep.equal([1, 4, 9]);
      expect(await pool.starmap(tasks.add, [[1, 2], [3, 4]])).to.deep.equal([3, 7]);
      expect(await pool.apply(tasks.add, [1, 2])).to.equal(3);
      expect(await pool.map(tasks.square, [])).to.deep.equal([]);
    });

    it('map keeps order across chunk sizes and accepts any iterable, sync or async', async () => {
      const pool = pools.create();
      const xs = Array.from({ length: 1000 }, (_, i) => i);
      const expected = xs.map((x) => x * x);
      for (const chunksize of [undefined, 1, 7, 500, 5000]) {
        expect(await pool.map(tasks.square, xs, { chunksize })).to.deep.equal(expected);
      }
      expect(await pool.map(tasks.square, new Set([2, 3]))).to.deep.equal([4, 9]);
      async function* gen() {
        yield 5;
        yield 6;
      }
      expect(await pool.map(tasks.square, gen())).to.deep.equal([25, 36]);
    });

    it('awaits async task functions in the worker', async () => {
      const pool = pools.create();
      expect(await pool.map(tasks.asyncSquare, [1, 2, 3, 4], { chunksize: 2 })).to.deep.equal([1, 4, 9, 16]);
      expect(await pool.apply(tasks.slowEcho, ['late', 5])).to.equal('late');
    });

    it('applyAsync returns an AsyncResult: ready, successful, wait, get, callbacks, thenable', async () => {
      const pool = pools.create();
      await pool.ready();
      const seen: number[] = [];
      // The task cannot finish before the spec opens its gate: "not ready yet" holds however slow
      // the machine is.
      const gate = tempFile('api', 'gate');
      const r = pool.applyAsync(tasks.gatedEcho<number>, [42, gate], { callback: (v) => seen.push(v) });
      expect(r).to.be.instanceOf(AsyncResult);
      // A native promise: await and Promise.all take it as it is, without wrapping it.
      expect(r).to.be.instanceOf(Promise);
      expect(Promise.resolve(r)).to.equal(r);
      expect(r.then(() => 0)).to.not.be.instanceOf(AsyncResult);
      expect(r.ready()).to.equal(false);
      expect(() => r.successful()).to.throw(InvalidStateError);
      // Times out without throwing: it returns while the task is still held at its gate (a wait
      // for the result itself would only end when the task gives up, 20 s later, settled).
      await r.wait(20);
      expect(r.ready()).to.equal(false);
      const timeout = await r.get(20).catch((e: unknown) => e);
      expect(timeout).to.be.instanceOf(TimeoutError);
      expect(r.ready()).to.equal(false);
      writeFileSync(gate, '');
      expect(await r.get(20_000)).to.equal(42);
      expect(r.ready()).to.equal(true);
      expect(r.successful()).to.equal(true);
      expect(await r).to.equal(42);
      expect(seen).to.deep.equal([42]);
      await r.wait(); // already settled: resolves at once
    });

    it('applyAsync reports failures through errorCallback, get() and await, never unhandled', async () => {
      const pool = pools.create();
      const errors: unknown[] = [];
      const r = pool.applyAsync(tasks.failIfNegative, [-1], { errorCallback: (e) => errors.push(e) });
      await r.wait();
      expect(r.successful()).to.equal(false);
      expect(errors).to.have.length(1);
      expect(errors[0]).to.be.instanceOf(RangeError);
      const error = await r.get().catch((e: unknown) => e);
      expect(error).to.equal(errors[0]);
      // Fire and forget, with no callback and nobody awaiting: Python keeps the error for get().
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      try {
        const forgotten = pool.applyAsync(tasks.failIfNegative, [-2]);
        expect(await waitFor(() => forgotten.ready(), 10_000)).to.equal(true);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(unhandled).to.deep.equal([]);
        expect(await forgotten.get().catch((e: unknown) => e)).to.be.instanceOf(RangeError);
      } finally {
        process.off('unhandledRejection', onUnhandled);
      }
    });

    it('apply and map return ordinary promises: a failure nobody handles is an unhandled rejection', async () => {
      const pool = pools.create();
      // Mocha turns unhandled rejections into failures; listen instead of it for this one.
      const mochaListeners = process.listeners('unhandledRejection');
      process.removeAllListeners('unhandledRejection');
      const unhandled: unknown[] = [];
      process.on('unhandledRejection', (reason) => void unhandled.push(reason));
      try {
        const applied = pool.apply(tasks.failIfNegative, [-1]);
        const mapped = pool.map(tasks.failIfNegative, [1, -2]);
        expect(applied).to.not.be.instanceOf(AsyncResult);
        expect(mapped).to.not.be.instanceOf(AsyncResult);
        expect(await waitFor(() => unhandled.length === 2, 10_000)).to.equal(true);
        expect(unhandled.every((reason) => reason instanceof RangeError)).to.equal(true);
        await Promise.allSettled([applied, mapped]);
      } finally {
        process.removeAllListeners('unhandledRejection');
        for (const listener of mochaListeners) process.on('unhandledRejection', listener);
      }
    });

    it('mapAsync and starmapAsync return AsyncResults of lists with callbacks', async () => {
      const pool = pools.create();
      let called: number[] | undefined;
      const m = pool.mapAsync(tasks.square, [1, 2, 3], { chunksize: 1, callback: (v) => (called = v) });
      expect(await m.get(10000)).to.deep.equal([1, 4, 9]);
      expect(called).to.deep.equal([1, 4, 9]);
      const s = pool.starmapAsync(tasks.add, [[1, 1], [2, 2]]);
      expect(await s).to.deep.equal([2, 4]);
    });

    it('accepts an explicit taskRef, a CommonJS default export and a plain JS module', async () => {
      const pool = pools.create();
      const square = taskRef<(x: number) => number>(require.resolve('../../fixtures/tasks'), 'square');
      expect(await pool.map(square, [3])).to.deep.equal([9]);
      const double = taskRef<(x: number) => number>(require.resolve('../../fixtures/default-export'), 'default');
      expect(await pool.apply(double, [21])).to.equal(42);
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const plain = require('../../fixtures/plain-tasks') as { square(x: number): number };
      expect(await pool.map(plain.square, [4])).to.deep.equal([16]);
    });

    it('moves Buffers, typed arrays, Maps, Sets, Dates, BigInts and Errors both ways', async () => {
      const pool = pools.create({ processes: 1 });
      const value = {
        buffer: Buffer.from('bytes'),
        floats: new Float64Array([1.5, -2.25]),
        ints: new Int32Array([1, 2, 3]),
        map: new Map<string, unknown>([['k', new Set([1, 2])]]),
        date: new Date(1700000000000),
        big: 12345678901234567890n,
        error: new RangeError('carried'),
        nested: [undefined, null, NaN, -0, 'text'],
      };
      const back = (await pool.apply(tasks.echo, [value])) as typeof value;
      expect(Buffer.isBuffer(back.buffer)).to.equal(true);
      expect(back.buffer.toString()).to.equal('bytes');
      expect(back.floats).to.be.instanceOf(Float64Array);
      expect([...back.floats]).to.deep.equal([1.5, -2.25]);
      expect([...back.ints]).to.deep.equal([1, 2, 3]);
      expect(back.map.get('k')).to.deep.equal(new Set([1, 2]));
      expect(back.date.getTime()).to.equal(1700000000000);
      expect(back.big).to.equal(12345678901234567890n);
      expect(back.error).to.be.instanceOf(RangeError);
      expect(back.error.message).to.equal('carried');
      expect(Object.is(back.nested[3], -0)).to.equal(true);
      const big = new Float64Array(1 << 20).fill(0.5); // 8 MB
      const echoed = (await pool.apply(tasks.echo, [big])) as Float64Array;
      expect(echoed.length).to.equal(big.length);
      expect(echoed[big.length - 1]).to.equal(0.5);
      // Large and small arguments in flight together keep their order and their bytes.
      const mixed = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? i : new Int32Array(100_000 + i * 1000).fill(i)));
      const back2 = (await pool.map(tasks.echo, mixed, { chunksize: 1 })) as (number | Int32Array)[];
      back2.forEach((value, i) => {
        if (typeof mixed[i] === 'number') expect(value).to.equal(i);
        else expect((value as Int32Array).length === (mixed[i] as Int32Array).length && (value as Int32Array).every((x) => x === i), `item ${i}`).to.equal(true);
      });
    });

    it('runs the initializer with initargs once in each worker before its tasks', async function () {
      const pool = pools.create({ initializer: tasks.init, initargs: ['ready!'] });
      const values = await pool.map(tasks.initializedValue, [1, 2, 3, 4], { chunksize: 1 });
      expect(values).to.deep.equal(['ready!', 'ready!', 'ready!', 'ready!']);
    });

    it('maxTasksPerChild replaces a worker after that many tasks', async () => {
      const pool = pools.create({ processes: 1, maxTasksPerChild: 2 });
      const pids = await pool.map(tasks.pid, [1, 2, 3, 4, 5, 6], { chunksize: 1 });
      expect(new Set(pids).size).to.equal(3);
      expect(pids[0]).to.equal(pids[1]);
      expect(pids[2]).to.equal(pids[3]);
      expect(pids[1]).to.not.equal(pids[2]);
    });

    it('passes env, execArgv and cwd to the workers and names them PoolWorker-N', async () => {
      const pool = pools.create({
        processes: 1,
        env: { ...process.env, PROCPOOL_SPEC_VALUE: 'from-env' },
        execArgv: ['--max-old-space-size=200'],
        cwd: '/tmp',
      });
      expect(await pool.apply(tasks.env, ['PROCPOOL_SPEC_VALUE'])).to.equal('from-env');
      expect(await pool.apply(tasks.execArgv)).to.deep.equal(['--max-old-space-size=200']);
      expect(await pool.apply(tasks.cwd)).to.equal('/tmp');
      expect(await pool.apply(tasks.workerName)).to.match(/^PoolWorker-\d+$/);
    });

    it('spreads work over all workers', async () => {
      const pool = pools.create({ processes: 2 });
      await pool.ready();
      // Each task blocks its worker until two different workers have checked in: the map completes
      // only if the pool runs it on both workers at once (a pool that queues everything on one
      // worker fails it when the first task gives up, after 20 s).
      const dir = tempDir('spread');
      const pids = await pool.map(tasks.rendezvous, Array.from({ length: 4 }, () => ({ dir, n: 2 })), { chunksize: 1 });
      expect(new Set(pids).size).to.equal(2);
    });
  });
}
