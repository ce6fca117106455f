// The cluster's pure parts, in-process: naming modules between machines, options, the job codec.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serialize } from 'node:v8';
import { InvalidArgumentError, Pool, TaskReferenceError, TaskVersionMismatchError } from '../lib';
import { fromResult } from '../lib/cluster/job-codec';
import { localModule, portableModule } from '../lib/cluster/modules';
import { resolveClusterOptions } from '../lib/cluster/options';
import { encodeError } from '../lib/transport/error-codec';
import { encodeValue } from '../lib/transport/payload';
import { tempDir } from './support/tmp';

const repo = resolve(__dirname, '..');

describe('cluster wire (in-process)', () => {
  it('names a file by its path under the root and its content hash; the agent finds it under its own root', () => {
    const portable = portableModule(join(repo, 'fixtures', 'cluster-tasks.js'), repo);
    expect(portable.module).to.equal('./fixtures/cluster-tasks.js');
    expect(portable.fingerprint).to.match(/^sha256:[0-9a-f]{32}$/);
    const other = tempDir('wire-root');
    mkdirSync(join(other, 'fixtures'));
    writeFileSync(join(other, 'fixtures', 'cluster-tasks.js'), 'exports.square = (x) => x;\n');
    expect(() => localModule(portable, other)).to.throw(TaskVersionMismatchError);
    expect(localModule(portable, repo)).to.equal(join(repo, 'fixtures', 'cluster-tasks.js'));
    expect(() => localModule(portable, tempDir('wire-empty'))).to.throw(TaskReferenceError);
  });

  it('names a package by name and version, and refuses modules outside the root', () => {
    expect(portableModule('chai', repo).fingerprint).to.match(/^chai@\d/);
    expect(() => portableModule('/etc/hostname', repo)).to.throw(TaskReferenceError, /outside the cluster root/);
  });

  it('checks its options, quoting the bad value', () => {
    expect(() => resolveClusterOptions({ redis: 'http://x', queue: 'q' })).to.throw(InvalidArgumentError, /http:\/\/x/);
    expect(() => resolveClusterOptions({ redis: 'redis://x', queue: 'a:b' })).to.throw(InvalidArgumentError);
    expect(() => resolveClusterOptions({ redis: 'redis://x', queue: 'q', hostRetries: -1 })).to.throw(InvalidArgumentError);
    expect(() => new Pool({ cluster: { redis: 'nope', queue: 'q' } })).to.throw(InvalidArgumentError);
    expect(resolveClusterOptions({ redis: 'rediss://u:p@h:6380', queue: 'q' })).to.include({ hostRetries: 2, chunksPerProcess: 2, livenessTtlMs: 10_000 });
  });

  it('reads results and errors as the agent writes them', () => {
    const ok = fromResult({ ok: true, payload: encodeValue([1, 'two', { three: 3 }]).toString('base64') }, 1, () => 'f');
    expect(ok).to.deep.equal([{ ok: true, value: [1, 'two', { three: 3 }] }]);
    const thrown = Object.assign(new RangeError('bad'), { code: 'E_BAD' });
    const encoded = encodeError(thrown);
    const withPlace = encoded.kind === 'error' ? { ...encoded, props: { ...encoded.props, host: 'h1', pid: 7 } } : encoded;
    const [failed] = fromResult(JSON.stringify({ ok: false, error: serialize(withPlace).toString('base64'), host: 'h1', pid: 7 }), 1, () => 'f') as { ok: boolean; value: RangeError & { code: string; host: string } }[];
    expect(failed.ok).to.equal(false);
    expect(failed.value).to.be.instanceOf(RangeError);
    expect(failed.value).to.include({ code: 'E_BAD', host: 'h1', pid: 7 });
    expect(failed.value.stack).to.include('agent h1 pid 7');
    expect(fromResult({ ok: false, dropped: 'its submitter is gone' }, 1, () => 'f')).to.deep.equal({ dropped: 'its submitter is gone' });
    // A batch of calls: one outcome per call.
    const batch = fromResult({ ok: true, payload: encodeValue([{ ok: true, value: 4 }, { ok: false, error: withPlace, host: 'h1', pid: 7 }]).toString('base64') }, 2, () => 'f') as { ok: boolean; value: unknown }[];
    expect(batch[0]).to.deep.equal({ ok: true, value: 4 });
    expect(batch[1].value).to.be.instanceOf(RangeError).and.include({ host: 'h1' });
  });

  it("require('procpool') loads neither bullmq nor ioredis", () => {
    // Other spec files import bullmq themselves: a fresh process tells the truth.
    const out = execFileSync(process.execPath, ['-e', `require(${JSON.stringify(join(repo, 'dist', 'lib'))}); console.log(Object.keys(require.cache).filter((k) => /node_modules\\/(bullmq|ioredis)\\//.test(k)).length)`]).toString();
    expect(out.trim()).to.equal('0');
  });
});
