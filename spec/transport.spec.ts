// Framing and error encoding, without processes.
import { expect } from 'chai';
import { serialize, deserialize } from 'node:v8';
import { FrameReader, encodeFrame } from '../lib/transport/frames';
import { decodeError, encodeError } from '../lib/transport/error-codec';
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
