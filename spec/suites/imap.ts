// imap / imapUnordered: lazy input, bounded look-ahead, ordering, timeouts, early exit, failures.
import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { TimeoutError, type StartMethod } from '../../lib';
import * as tasks from '../../fixtures/tasks';
import { trackPools } from '../support/pools';
import { waitFor } from '../support/processes';
import { tempFile } from '../support/tmp';

export function imapSuite(method: StartMethod): void {
  describe('imap and imapUnordered', () => {
    const pools = trackPools(method);

    it('imap yields results in input order, with any chunksize', async () => {
      const pool = pools.create();
      for (const chunksize of [1, 3, 100]) {
        const out: number[] = [];
        for await (const y of pool.imap(tasks.square, [1, 2, 3, 4, 5, 6, 7], { chunksize })) out.push(y);
        expect(out).to.deep.equal([1, 4, 9, 16, 25, 36, 49]);
      }
    });

    it('imapUnordered yields every result as it completes', async () => {
      const pool = pools.create();
      await pool.ready();
      const out: string[] = [];
      // 'slow' is held at a gate the consumer opens only once it has the two others: it completes
      // last for certain, so an iterator that yielded in input order would never get past it.
      const gate = tempFile('imap', 'gate');
      const items: [string, string | null][] = [['slow', gate], ['fast', null], ['fast2', null]];
      for await (const y of pool.imapUnordered(tasks.gatedEchoPair<string>, items)) {
        out.push(y);
        if (out.length === 2) writeFileSync(gate, '');
      }
      expect(out).to.have.members(['slow', 'fast', 'fast2']);
      expect(out[2]).to.equal('slow');
    });

    it('reads a huge generator lazily, a bounded number of items ahead of the consumer', async () => {
      const pool = pools.create();
      let pulled = 0;
      function* million() {
        for (let i = 0; i < 1_000_000; i++) {
          pulled++;
          yield i;
        }
      }
      const it = pool.imap(tasks.square, million());
      const first: number[] = [];
      for (let i = 0; i < 10; i++) first.push(((await it.next()) as IteratorYieldResult<number>).value);
      expect(first).to.deep.equal([0, 1, 4, 9, 16, 25, 36, 49, 64, 81]);
      // Instead of sleeping and sampling: let the iterator read ahead as far as it will and the pool
      // run all of that. A bounded look-ahead stops, and the pool goes idle; an unbounded one keeps
      // the pool busy with the rest of the million (and `pulled` grows past the bound meanwhile).
      const idle = (): boolean => pool.stats().queued === 0 && pool.stats().running === 0;
      const wentIdle = await waitFor(idle, 10_000);
      expect(pulled).to.be.lessThan(200);
      expect(wentIdle).to.equal(true);
      await it.return();
      const settled = pulled;
      // Anything still in flight that could make it read on has settled.
      expect(await waitFor(idle, 10_000)).to.equal(true);
      expect(pulled).to.equal(settled);
    });

    it('consumes async iterables and stops pulling when the consumer breaks out', async () => {
      const pool = pools.create();
      let pulled = 0;
      let closed = false;
      async function* source() {
        try {
          for (let i = 0; ; i++) {
            pulled++;
            yield i;
          }
        } finally {
          closed = true;
        }
      }
      const out: number[] = [];
      for await (const y of pool.imap(tasks.square, source())) {
        out.push(y);
        if (out.length === 5) break;
      }
      expect(out).to.deep.equal([0, 1, 4, 9, 16]);
      expect(closed).to.equal(true);
      expect(pulled).to.be.lessThan(200);
      expect(await pool.apply(tasks.square, [3])).to.equal(9);
    });

    it('next(timeout) rejects with TimeoutError and loses nothing', async () => {
      const pool = pools.create();
      // 'a' is held at a gate until the timeout has been seen: nothing can arrive within 30 ms.
      const gate = tempFile('imap', 'next-gate');
      const it = pool.imap(tasks.gatedEchoPair<string>, [['a', gate], ['b', null]]);
      const error = await it.next(30).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(TimeoutError);
      writeFileSync(gate, '');
      expect(await it.next(20_000)).to.deep.equal({ done: false, value: 'a' });
      expect(await it.next(20_000)).to.deep.equal({ done: false, value: 'b' });
      expect(await it.next(20_000)).to.deep.equal({ done: true, value: undefined });
    });

    it('imap yields the results before a failure, then throws it', async () => {
      const pool = pools.create();
      const out: number[] = [];
      let caught: unknown;
      try {
        for await (const y of pool.imap(tasks.failIfNegative, [1, 2, 3, -4, 5, 6])) out.push(y);
      } catch (error) {
        caught = error;
      }
      expect(out).to.deep.equal([1, 2, 3]);
      expect(caught).to.be.instanceOf(RangeError);
      expect((caught as Error).message).to.equal('negative: -4');
    });

    it('an input iterator that throws ends the iteration with its error, in order', async () => {
      const pool = pools.create();
      function* broken() {
        yield 1;
        yield 2;
        throw new Error('source broke');
      }
      const out: number[] = [];
      let caught: unknown;
      try {
        for await (const y of pool.imap(tasks.square, broken())) out.push(y);
      } catch (error) {
        caught = error;
      }
      expect(out).to.deep.equal([1, 4]);
      expect((caught as Error).message).to.equal('source broke');
    });

    it('an imap started before close() still runs to the end', async () => {
      const pool = pools.create();
      function* numbers() {
        for (let i = 0; i < 200; i++) yield i;
      }
      const it = pool.imap(tasks.square, numbers());
      pool.close();
      let count = 0;
      for await (const y of it) {
        expect(y).to.equal(count * count);
        count++;
      }
      expect(count).to.equal(200);
      await pool.join();
    });
  });
}
