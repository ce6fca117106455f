// Framing and error encoding, without processes.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { serialize, deserialize } from 'node:v8';
import { DIRECT_READ_MIN, FRAME_HEADER, FrameReader, encodeFrame } from '../lib/transport/frames';
import { decodeError, encodeError } from '../lib/transport/error-codec';
import { decode, encodeArgs, encodeValue } from '../lib/transport/payload';
import { BufferPool } from '../lib/transport/buffer-pool';
import { waitFor } from './support/processes';
import { writeAllSync } from '../lib/transport/write-sync';
import { RemoteError, TaskReferenceError } from '../lib';

function frames(chunks: Buffer[]): [number, string][] {
  const reader = new FrameReader();
  const out: [number, string][] = [];
  for (const chunk of chunks) reader.push(chunk, (type, buf, start, end) => out.push([type, buf.toString('utf8', start, end)]));
  expect(reader.pendingBytes).to.equal(0);
  return out;
}

describe('transport', () => {
  describe('FrameReader', () => {
    const stream = Buffer.concat([encodeFrame(1, Buffer.from('alpha')), encodeFrame(2), encodeFrame(3, Buffer.from('x'.repeat(70000)))]);
    const expected: [number, string][] = [[1, 'alpha'], [2, ''], [3, 'x'.repeat(70000)]];

    it('reads several frames from one chunk', () => {
      expect(frames([stream])).to.deep.equal(expected);
    });

    it('reads frames split at every possible byte boundary', () => {
      for (let cut = 1; cut < 40; cut++) expect(frames([stream.subarray(0, cut), stream.subarray(cut)])).to.deep.equal(expected);
      for (const cut of [stream.length - 1, stream.length - 70000, 60000]) {
        expect(frames([stream.subarray(0, cut), stream.subarray(cut)])).to.deep.equal(expected);
      }
    });

    it('reads frames delivered one byte at a time and in 64 KB reads', () => {
      const bytes = [...stream].map((b) => Buffer.from([b]));
      expect(frames(bytes)).to.deep.equal(expected);
      const reads: Buffer[] = [];
      for (let i = 0; i < stream.length; i += 65536) reads.push(stream.subarray(i, i + 65536));
      expect(frames(reads)).to.deep.equal(expected);
    });

    describe('with a direct reader for large frames (the worker)', () => {
      const big = Buffer.alloc(DIRECT_READ_MIN + 12345, 'b');
      const wire = Buffer.concat([encodeFrame(1, Buffer.from('alpha')), encodeFrame(7, big), encodeFrame(2, Buffer.from('omega'))]);
      const bigEnd = wire.length - (FRAME_HEADER + 5);

      /** The stream delivers `wire` up to `firstChunk`; `readInto` serves the rest in pieces of `piece`. */
      function readWith(firstChunk: number, piece: number) {
        let position = firstChunk;
        const direct: number[] = [];
        const reader = new FrameReader((target, offset, length) => {
          const n = Math.min(length, piece, wire.length - position);
          wire.copy(target, offset, position, position + n);
          position += n;
          direct.push(n);
          return n;
        });
        const out: [number, number, string][] = [];
        const onFrame = (type: number, buf: Buffer, start: number, end: number) => out.push([type, end - start, buf.toString('utf8', start, start + 5)]);
        reader.push(wire.subarray(0, firstChunk), onFrame);
        // The stream goes on after what was read directly.
        if (position < wire.length) reader.push(wire.subarray(position), onFrame);
        return { out, direct, pending: reader.pendingBytes };
      }

      it('reads the rest of a large frame in place, in as many reads as it takes, then goes on', () => {
        for (const [first, piece] of [[20, 1 << 20], [100, 4096], [70000, 333]]) {
          const { out, direct, pending } = readWith(first, piece);
          expect(out).to.deep.equal([[1, 5, 'alpha'], [7, big.length, 'bbbbb'], [2, 5, 'omega']]);
          expect(direct.reduce((a, b) => a + b, 0)).to.equal(bigEnd - first);
          expect(pending).to.equal(0);
        }
      });

      it('leaves a large frame cut short by the end of the stream undelivered', () => {
        const reader = new FrameReader(() => 0);
        const out: number[] = [];
        reader.push(wire.subarray(0, 100), (type) => out.push(type));
        expect(out).to.deep.equal([1]);
        expect(reader.pendingBytes).to.be.greaterThan(0);
      });
    });
  });

  describe('error codec', () => {
    const roundTrip = (thrown: unknown) => decodeError(deserialize(serialize(encodeError(thrown))) as ReturnType<typeof encodeError>);

    it('keeps name, message, code and own properties; the cause carries the remote stack', () => {
      const original = Object.assign(new TypeError('wrong type'), { code: 'E_TYPE', details: { at: 3 } });
      const error = roundTrip(original) as TypeError & { code: string; details: unknown };
      expect(error).to.be.instanceOf(TypeError);
      expect(error.message).to.equal('wrong type');
      expect(error.code).to.equal('E_TYPE');
      expect(error.details).to.deep.equal({ at: 3 });
      expect(error.cause).to.be.instanceOf(RemoteError);
      expect((error.cause as RemoteError).remoteStack).to.equal(original.stack);
    });

    it('keeps a custom name and the chain of causes', () => {
      const inner = new Error('inner');
      const outer = new Error('outer', { cause: inner });
      outer.name = 'OuterError';
      const error = roundTrip(outer) as Error;
      expect(error.name).to.equal('OuterError');
      const remote = error.cause as RemoteError;
      expect((remote.cause as Error).message).to.equal('inner');
    });

    it('rebuilds procpool errors as their own classes', () => {
      expect(roundTrip(new TaskReferenceError('gone'))).to.be.instanceOf(TaskReferenceError);
    });

    it('replaces unserializable properties instead of failing', () => {
      const error = roundTrip(Object.assign(new Error('x'), { callback: () => 1 })) as Error & { callback: unknown };
      expect(error.callback).to.equal('[unserializable function]');
    });

    it('passes thrown non-errors through, and stringifies what cannot be serialized', () => {
      expect(roundTrip(42)).to.equal(42);
      expect(roundTrip({ a: 1 })).to.deep.equal({ a: 1 });
      expect(roundTrip(Symbol('s'))).to.equal('Symbol(s)');
    });
  });
});

describe('payload encoding', () => {
  const value = (v: unknown) => {
    const b = encodeValue(v);
    return decode(b, 0, b.length);
  };
  const args = (a: unknown[], pool?: BufferPool) => {
    const b = encodeArgs(a, pool);
    return decode(b, 0, b.length);
  };

  it('round-trips primitives compactly, -0, NaN and unicode included', () => {
    for (const v of [undefined, null, true, false, 0, 42, -1.5, Infinity, 'x', 'żółw 🐢', '']) expect(value(v)).to.deep.equal(v);
    expect(Object.is(value(-0), -0)).to.equal(true);
    expect(Number.isNaN(value(NaN))).to.equal(true);
    expect(encodeValue(1.5).length).to.equal(9);
    expect(args([])).to.deep.equal([]);
    expect(args([1, 'two', null, undefined, false])).to.deep.equal([1, 'two', null, undefined, false]);
  });

  it('sends int32 numbers as integers, so tasks are not optimized for doubles', () => {
    // 1 tag byte + 4 bytes: the worker reads them back with integer arithmetic (a V8 small integer).
    for (const v of [0, 7, -7, 2 ** 31 - 1, -(2 ** 31)]) {
      expect(encodeValue(v).length, String(v)).to.equal(5);
      expect(value(v)).to.equal(v);
    }
    for (const v of [-0, 2 ** 31, -(2 ** 31) - 1, 0.5, 2 ** 53]) {
      expect(encodeValue(v).length, String(v)).to.equal(9);
      expect(Object.is(value(v), v)).to.equal(true);
    }
    expect(encodeArgs([30]).length).to.equal(2 + 5);
  });

  it('falls back to the V8 serializer for objects, long strings and long argument lists', () => {
    const long = 'a'.repeat(5000);
    const many = Array.from({ length: 40 }, (_, i) => i);
    const nested = { a: [1, { b: new Map([[1, new Set(['x'])]]) }], d: new Date(5), big: 10n, e: new RangeError('r') };
    expect(value(long)).to.equal(long);
    expect(args(many)).to.deep.equal(many);
    const back = value(nested) as typeof nested;
    expect(back.a).to.deep.equal(nested.a);
    expect(back.d.getTime()).to.equal(5);
    expect(back.big).to.equal(10n);
    expect(back.e).to.be.instanceOf(RangeError);
  });

  it('carries typed arrays, Buffers and DataViews out of band, anywhere in the value', () => {
    const f64 = new Float64Array([1.5, -2, 3e300]);
    const big = new Float64Array(1 << 17).fill(0.25); // 1 MB: used where it lands when aligned
    const offset = new Uint16Array(new ArrayBuffer(64), 6, 5).fill(7);
    const back = args([f64, { inner: [Buffer.from('bytes'), offset] }, big, new DataView(new ArrayBuffer(4)), new BigInt64Array([5n])]) as unknown[];
    expect(back[0]).to.be.instanceOf(Float64Array);
    expect([...(back[0] as Float64Array)]).to.deep.equal([1.5, -2, 3e300]);
    const inner = (back[1] as { inner: [Buffer, Uint16Array] }).inner;
    expect(Buffer.isBuffer(inner[0])).to.equal(true);
    expect(inner[0].toString()).to.equal('bytes');
    expect([...inner[1]]).to.deep.equal([7, 7, 7, 7, 7]);
    expect((back[2] as Float64Array).length).to.equal(1 << 17);
    expect((back[2] as Float64Array)[12345]).to.equal(0.25);
    expect(back[3]).to.be.instanceOf(DataView);
    expect((back[4] as BigInt64Array)[0]).to.equal(5n);
  });

  it('takes large encodings from a buffer pool that reuses released memory', () => {
    const pool = new BufferPool(1024, 1 << 20);
    const first = encodeArgs([new Float64Array(1000)], pool);
    const memory = first.buffer;
    pool.release(first);
    const second = encodeArgs([new Float64Array(1000).fill(2)], pool);
    expect(second.buffer).to.equal(memory);
    expect((decode(second, 0, second.length) as Float64Array[])[0][999]).to.equal(2);
  });

  it('sizes pooled memory in whole MiB above 1 MiB (an 8 MB array and its header fit 9 MiB, not 16)', () => {
    const MiB = 1 << 20;
    expect(BufferPool.sizeClass(8 * MiB + 40, 256 * 1024)).to.equal(9 * MiB);
    expect(BufferPool.sizeClass(300 * 1024, 256 * 1024)).to.equal(512 * 1024);
    expect(BufferPool.sizeClass(MiB, 256 * 1024)).to.equal(MiB);
  });

  it('lets its free memory go once payloads stop coming for a while', async () => {
    const pool = new BufferPool(1024, 1 << 20, 20);
    pool.release(encodeArgs([new Float64Array(1000)], pool));
    expect(pool.freeBytes).to.be.above(0);
    expect(await waitFor(() => pool.freeBytes === 0, 10_000)).to.equal(true);
  });
});

describe('writeAllSync', () => {
  it('writes everything, in order, even when the socket takes it in parts (full buffer: EAGAIN)', async () => {
    // The parent's end of a child's stdin is non-blocking: 4 MB cannot go in one call, so the
    // rest is written as the child (a hash of what it reads) drains the socket.
    const child = spawn('sha1sum', [], { stdio: ['pipe', 'pipe', 'inherit'] });
    let digest = '';
    child.stdout.on('data', (chunk: Buffer) => (digest += chunk.toString()));
    const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    const big = Buffer.alloc(4 * 1024 * 1024, 7);
    const parts = [Buffer.from('head'), Buffer.alloc(0), big, Buffer.from('tail'), Buffer.alloc(0)];
    writeAllSync(fd, parts);
    child.stdin.end();
    await once(child, 'close');
    expect(digest.split(' ')[0]).to.equal(createHash('sha1').update(Buffer.concat(parts)).digest('hex'));
  });
});
