// The queue's ring, in one process: records of every size, streaming through a small ring, and a
// put that times out in the middle of a message.
import { expect } from 'chai';
import { Queue, QueueFullError } from '../lib';

function message(i: number, size: number): Uint8Array {
  return new Uint8Array(size).fill(i & 0xff);
}

describe('queue ring', () => {
  it('carries messages from empty to 3× its buffer, in order, while a reader takes them', async () => {
    const q = new Queue<Uint8Array>(0, { bufferBytes: 64 * 1024 });
    const sizes = Array.from({ length: 60 }, (_, i) => [0, 1, 7, 8, 4096, 32 * 1024 - 16, 32 * 1024, 100_000, 200_000][i % 9]);
    const writer = (async () => {
      for (let i = 0; i < sizes.length; i++) await q.put(message(i, sizes[i]), 20_000);
    })();
    for (let i = 0; i < sizes.length; i++) {
      const got = await q.get(20_000);
      expect(got.length, `message ${i}`).to.equal(sizes[i]);
      expect(got.every((b) => b === (i & 0xff)), `message ${i}'s bytes`).to.equal(true);
    }
    await writer;
    expect(q.empty()).to.equal(true);
  });

  it('a put that times out in the middle of a message leaves nothing a reader would take', async () => {
    const q = new Queue<Uint8Array | string>(0, { bufferBytes: 64 * 1024 });
    await q.put(message(1, 200_000), 20).then(
      () => expect.fail('a message 3× the buffer went in with no reader'),
      (e: unknown) => expect(e).to.be.instanceOf(QueueFullError),
    );
    expect(q.qsize()).to.equal(0);
    const reading = q.get(20_000);
    await q.put('next', 20_000);
    expect(await reading).to.equal('next');
    expect(q.empty()).to.equal(true);
  });
});
