// Shared memory across processes, per start method: the same memory in every process, no copies.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { Process, RawArray, RawValue, ShareableList, type StartMethod } from '../../lib';
import * as shared from '../../fixtures/shared-tasks';
import { transferStats } from '../../lib/shared/transfer';
import { trackPools } from '../support/pools';
import { waitFor } from '../support/processes';
import { segmentsNow, trackSegments } from '../support/segments';
import { tempDir } from '../support/tmp';

const floats = (shm: { buf: Uint8Array; size: number }) => new Float64Array(shm.buf.buffer, shm.buf.byteOffset, shm.size / 8);

export function sharedMemorySuite(method: StartMethod): void {
  describe('shared memory', () => {
    const pools = trackPools(method);
    const segments = trackSegments();

    it('writes are seen across processes both ways: a SharedMemory argument is the same memory, not a copy', async () => {
      const shm = segments.create(8 * 1024);
      const xs = floats(shm);
      const pool = pools.create({ processes: 2 });
      const names = await pool.starmap(shared.fillRange, [
        [shm, 0, 512, 1],
        [shm, 512, 1024, 2],
      ]);
      expect(names).to.deep.equal([shm.name, shm.name]);
      expect([xs[0], xs[511], xs[512], xs[1023]]).to.deep.equal([1, 1, 2, 2]);
      xs[0] = 42;
      expect(await pool.apply(shared.readByName, [shm.name])).to.equal(42);
    });

    it('a typed array over shared memory is passed by reference: the task writes the caller’s memory', async () => {
      const shm = segments.create(8 * 1024);
      const xs = floats(shm);
      const pool = pools.create({ processes: 1 });
      expect(await pool.apply(shared.fillView, [xs.subarray(10, 20), 7])).to.equal(10);
      expect([xs[9], xs[10], xs[19], xs[20]]).to.deep.equal([0, 7, 7, 0]);
      expect(await pool.apply(shared.sum, [xs])).to.equal(70);
    });

    it('initargs hand every worker the segment; later writes reach them', async () => {
      const shm = segments.create(64);
      floats(shm)[0] = 3;
      const pool = pools.create({ processes: 2, initializer: shared.keep, initargs: [shm] });
      expect(await pool.map(shared.readKept, [0, 1, 2, 3], { chunksize: 1 })).to.deep.equal([3, 3, 3, 3]);
      floats(shm)[0] = 4;
      expect(await pool.map(shared.readKept, [0, 1], { chunksize: 1 })).to.deep.equal([4, 4]);
    });

    it('Atomics read-modify-write from two workers at once is exact', async () => {
      const shm = segments.create(64);
      const counter = new Int32Array(shm.buf.buffer, shm.buf.byteOffset, 1);
      const pool = pools.create({ processes: 2 });
      const job = { counter, times: 200_000, dir: tempDir('atomics'), parties: 2 };
      const pids = await pool.map(shared.countTogether, [job, job], { chunksize: 1 });
      expect(new Set(pids).size).to.equal(2);
      expect(Atomics.load(counter, 0)).to.equal(400_000);
    });

    it('a segment created in a worker comes back as a SharedMemory over the same memory', async () => {
      const pool = pools.create({ processes: 1 });
      const made = segments.adopt(await pool.apply(shared.create, [4096, 9]));
      expect(made.size).to.equal(4096);
      expect([made.buf[0], made.buf[4095]]).to.deep.equal([9, 9]);
      expect(existsSync(`/dev/shm/${made.name}`)).to.equal(true);
    });

    it('a Process gets the segment as its argument', async () => {
      const shm = segments.create(64);
      const p = new Process({ target: shared.fillRange, args: [shm, 0, 1, 9], startMethod: method });
      await p.start();
      await p.join();
      expect(p.exitCode).to.equal(0);
      expect(floats(shm)[0]).to.equal(9);
    });

    it('a ShareableList, a RawValue and a RawArray are the same memory in the worker', async () => {
      const pool = pools.create({ processes: 2 });
      const shareable = new ShareableList([1, 2.5, 'text', true, null]);
      segments.adopt(shareable.shm);
      expect(await pool.apply(shared.setItem, [shareable, 2, 'tx'])).to.deep.equal([1, 2.5, 'tx', true, null]);
      expect(shareable.get(2)).to.equal('tx');
      const grid = new RawArray('float64', 1000);
      expect(await pool.apply(shared.fillArray, [grid, 1.5])).to.equal(1000);
      expect(grid.array[999]).to.equal(1.5);
      const counter = new RawValue('int32', 0);
      const job = { value: counter, times: 100_000, dir: tempDir('raw-value'), parties: 2 };
      expect(new Set(await pool.map(shared.bumpTogether, [job, job], { chunksize: 1 })).size).to.equal(2);
      expect(counter.value).to.equal(200_000);
    });

    describe('large typed arrays as plain arguments (captured into shared memory)', () => {
      const big = (value: number) => new Float64Array(TRANSFER_ELEMENTS).fill(value);

      it('arrive as they were at the call, and nothing the task does reaches the caller', async () => {
        const pool = pools.create({ processes: 2 });
        const arrays = [big(1), big(2)];
        const sums = pool.map(shared.sumThenZero, arrays, { chunksize: 1 });
        arrays[0].fill(5); // after the call: the task must not see it
        expect(await sums).to.deep.equal([TRANSFER_ELEMENTS, 2 * TRANSFER_ELEMENTS]);
        expect(arrays[1][0]).to.equal(2); // the task zeroed its copy, not this
        expect(await pool.apply(shared.sum, [big(3)])).to.equal(3 * TRANSFER_ELEMENTS);
        const echoed = (await pool.apply(shared.fillView, [big(0), 7])) as number;
        expect(echoed).to.equal(TRANSFER_ELEMENTS);
      });

      it('an array a task keeps stays as it was while later calls reuse the memory of finished ones', async () => {
        const pool = pools.create({ processes: 1 });
        expect(await pool.apply(shared.keepArray, [big(4)])).to.equal(4 * TRANSFER_ELEMENTS);
        for (let round = 0; round < 6; round++) {
          expect(await pool.map(shared.sum, [big(round), big(round)], { chunksize: 1 })).to.deep.equal([round * TRANSFER_ELEMENTS, round * TRANSFER_ELEMENTS]);
        }
        expect(await pool.apply(shared.keptSum)).to.equal(4 * TRANSFER_ELEMENTS);
      });

      it('come back as results through the worker’s shared memory: the caller owns a copy; the memory is reused and goes with the worker', async () => {
        const before = new Set(segmentsNow());
        const pool = pools.create({ processes: 2 });
        const firsts = (await pool.map(shared.echo, [big(7), big(7)], { chunksize: 1 })) as Float64Array[];
        // 20 rounds of 4 MiB results per worker: 80 MiB, more than one 64 MiB chunk unless reused.
        const large = (value: number) => new Float64Array(2 * TRANSFER_ELEMENTS).fill(value);
        for (let round = 0; round < 20; round++) {
          const echoed = (await pool.map(shared.echo, [large(round), large(round)], { chunksize: 1 })) as Float64Array[];
          expect(echoed.map((a) => [a.length, a[0], a[a.length - 1]])).to.deep.equal([
            [2 * TRANSFER_ELEMENTS, round, round],
            [2 * TRANSFER_ELEMENTS, round, round],
          ]);
        }
        // The first results are unchanged: they are copies, not the worker's memory, which was reused.
        expect(firsts.map((a) => [a[0], a[a.length - 1]])).to.deep.equal([
          [7, 7],
          [7, 7],
        ]);
        // Each worker made one chunk for its results (and a release ring); the rest is the application's.
        const made = () => segmentsNow().filter((name) => !before.has(name));
        expect(made().length).to.be.at.most(2 * 2 + transferStats().chunks);
        await pool.terminate();
        expect(await waitFor(() => made().length <= transferStats().chunks, 10_000), `left: ${made()}`).to.equal(true);
      });

      it('the memory comes back once the workers let go of their views, or die', async () => {
        const pool = pools.create({ processes: 2 });
        const before = transferStats().usedBytes;
        await pool.map(shared.sum, [big(1), big(2), big(3), big(4)], { chunksize: 1 });
        expect(await waitFor(() => transferStats().usedBytes <= before, 20_000), 'regions released').to.equal(true);
        const kept = pool.apply(shared.keepArray, [big(5)]);
        await kept;
        const [victim] = pool.pids;
        process.kill(victim, 'SIGKILL');
        await pool.apply(shared.keepArray, [big(6)]).catch(() => undefined);
        pool.close();
        await pool.join();
        expect(await waitFor(() => transferStats().usedBytes <= before, 20_000), 'regions of dead workers released').to.equal(true);
      });
    });
  });
}

/** Elements of a Float64Array large enough to be captured into shared memory (2 MiB). */
const TRANSFER_ELEMENTS = (2 * 1024 * 1024) / 8;
