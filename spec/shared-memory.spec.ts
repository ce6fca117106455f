// Shared memory: errors, cleanup after a killed creator, the fallback without native mapping, and
// a Python process reading what Node wrote. (What crosses processes: spec/suites/shared-memory.ts.)
import { expect } from 'chai';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  IndexError,
  InvalidArgumentError,
  InvalidStateError,
  RawArray,
  RawValue,
  ShareableList,
  SharedMemory,
  SharedMemoryFullError,
  SharedMemoryNotFoundError,
  getAllStartMethods,
} from '../lib';
import { expectGone, waitFor } from './support/processes';
import { trackSegments } from './support/segments';

const run = promisify(execFile);
const fixtures = join(__dirname, '..', 'fixtures');
const tsNode = ['-r', 'ts-node/register/transpile-only'];

/** Starts a fixture script and resolves with it and the first line it prints (JSON). */
async function startScript<T>(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ child: ReturnType<typeof spawn>; report: T }> {
  const child = spawn(process.execPath, [...tsNode, join(fixtures, 'shm-creator.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.on('exit', (code) => reject(new Error(`the script exited early (${code})`)));
  });
  return { child, report: JSON.parse(line) as T };
}

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'from multiprocessing import shared_memory'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('shared memory', () => {
  const segments = trackSegments();

  it('is named and sized as in Python, attachable by name, and closable', () => {
    const shm = segments.create(100);
    expect(shm.name).to.match(/^psm_[0-9a-f]{8}$/);
    expect(shm.size).to.equal(100);
    expect(shm.buf).to.be.instanceOf(Uint8Array).with.property('length', 100);
    shm.buf[99] = 7;
    const other = new SharedMemory({ name: shm.name });
    expect(other.size).to.equal(100);
    expect(other.buf[99]).to.equal(7);
    other.close();
    other.close();
    expect(() => other.buf).to.throw(InvalidStateError, /closed/);
    expect(shm.buf[99]).to.equal(7);
    {
      using scoped = new SharedMemory({ name: shm.name });
      expect(scoped.buf[99]).to.equal(7);
    }
    expect(String(shm)).to.equal(`SharedMemory('${shm.name}', size=100)`);
  });

  it('bad input is a typed error that leaves nothing behind', () => {
    expect(() => new SharedMemory({ name: 'psm_nosuch01' })).to.throw(SharedMemoryNotFoundError, /psm_nosuch01/);
    for (const size of [0, -1, 1.5, Number.NaN, undefined]) {
      expect(() => new SharedMemory({ create: true, size })).to.throw(InvalidArgumentError);
    }
    expect(() => new SharedMemory({})).to.throw(InvalidArgumentError, /name/);
    expect(() => new SharedMemory({ name: '../etc/passwd' })).to.throw(InvalidArgumentError);
    const shm = segments.create(10);
    expect(() => new SharedMemory({ create: true, size: 10, name: shm.name })).to.throw(InvalidArgumentError, /exists/);
    shm.unlink();
    expect(() => shm.unlink()).to.throw(SharedMemoryNotFoundError);
    expect(() => new SharedMemory({ name: shm.name })).to.throw(SharedMemoryNotFoundError);
  });

  it('a /dev/shm too small for the segment is a SharedMemoryFullError naming size, path and remedy, not a SIGBUS', () => {
    const stats = statfsSync('/dev/shm');
    // More than the whole file system: refused at once, without filling it first.
    const size = stats.blocks * stats.bsize + 1024 * 1024;
    const error = (() => {
      try {
        new SharedMemory({ create: true, size });
      } catch (e) {
        return e as SharedMemoryFullError;
      }
      throw new Error('expected SharedMemoryFullError');
    })();
    expect(error).to.be.instanceOf(SharedMemoryFullError);
    expect(error.size).to.equal(size);
    expect(error.path).to.match(/^\/dev\/shm\/psm_/);
    expect(error.message).to.include(String(size)).and.include('--shm-size');
    expect(existsSync(error.path)).to.equal(false);
  });

  it('attaching never unlinks: a process that attached and exited, or was killed, leaves the segment', async function () {
    this.timeout(60_000);
    const shm = segments.create(16);
    shm.buf[0] = 5;
    const { stdout } = await run(process.execPath, [...tsNode, join(fixtures, 'shm-creator.ts'), 'attach', shm.name, 'exit'], { timeout: 50_000 });
    expect(JSON.parse(stdout)).to.deep.equal({ attached: shm.name, byte: 5 });
    const { child } = await startScript(['attach', shm.name]);
    child.kill('SIGKILL');
    await expectGone([child.pid as number]);
    // Give a wrongly tracking reaper every chance to act before looking.
    await waitFor(() => false, 500);
    expect(existsSync(`/dev/shm/${shm.name}`)).to.equal(true);
  });

  for (const method of getAllStartMethods()) {
    describe(`with '${method}' workers`, () => {
      it('segments of a creator killed with SIGKILL are unlinked (its workers’ too); untracked ones stay', async function () {
        this.timeout(60_000);
        const { child, report } = await startScript<{ tracked: string[]; untracked: string }>(['create', method]);
        for (const name of [...report.tracked, report.untracked]) expect(existsSync(`/dev/shm/${name}`), name).to.equal(true);
        const killedAt = Date.now();
        child.kill('SIGKILL');
        const gone = await waitFor(() => report.tracked.every((name) => !existsSync(`/dev/shm/${name}`)), 20_000);
        expect(gone, `left: ${report.tracked.filter((name) => existsSync(`/dev/shm/${name}`))}`).to.equal(true);
        process.stderr.write(`      tracked segments gone ${Date.now() - killedAt} ms after the SIGKILL (${method})\n`);
        expect(existsSync(`/dev/shm/${report.untracked}`)).to.equal(true);
        segments.adopt(new SharedMemory({ name: report.untracked }));
        await expectGone([child.pid as number]);
      });

      it('without native mapping (PROCPOOL_NO_SHARED_MEMORY=1) creating a segment is a clear error, and pools still work', async function () {
        this.timeout(60_000);
        const script = `
          const { Pool, SharedMemory, SharedMemoryUnavailableError } = require('procpool');
          const tasks = require(${JSON.stringify(join(fixtures, 'tasks.js'))});
          (async () => {
            let error;
            try { new SharedMemory({ create: true, size: 64 }); } catch (e) { error = e; }
            const pool = new Pool({ processes: 1, startMethod: ${JSON.stringify(method)} });
            const sum = await pool.apply(tasks.sum, [new Float64Array(1 << 18).fill(1)]);
            await pool.terminate();
            console.log(JSON.stringify({ unavailable: error instanceof SharedMemoryUnavailableError, code: error && error.code, message: error && error.message, sum }));
          })();`;
        const { stdout } = await run(process.execPath, ['-e', script], { env: { ...process.env, PROCPOOL_NO_SHARED_MEMORY: '1' }, cwd: join(__dirname, '..'), timeout: 50_000 });
        const report = JSON.parse(stdout) as { unavailable: boolean; code: string; message: string; sum: number };
        expect(report.unavailable).to.equal(true);
        expect(report.code).to.equal('PROCPOOL_SHARED_MEMORY_UNAVAILABLE');
        expect(report.message).to.include('PROCPOOL_NO_SHARED_MEMORY');
        expect(report.sum).to.equal(1 << 18);
      });
    });
  }

  it('a Python process reads a segment that Node wrote, by its name', async function () {
    if (!hasPython()) this.skip();
    this.timeout(60_000);
    const shm = segments.create(16);
    shm.buf.set(Buffer.from('from node'));
    const python = [
      'import sys',
      'from multiprocessing import shared_memory, resource_tracker',
      'shm = shared_memory.SharedMemory(name=sys.argv[1])',
      // Python < 3.13 tracks segments it only attached to, and would unlink this one at exit.
      'resource_tracker.unregister(shm._name, "shared_memory")',
      'print(bytes(shm.buf[:9]).decode(), shm.size >= 16)',
      'shm.buf[9] = 33',
      'shm.close()',
    ].join('\n');
    const { stdout } = await run('python3', ['-c', python, shm.name], { timeout: 50_000 });
    expect(stdout.trim()).to.equal('from node True');
    expect(shm.buf[9]).to.equal(33);
  });

  it('ShareableList holds Python’s primitives in fixed slots; RawValue and RawArray take names or Python typecodes', () => {
    const list = new ShareableList([1, 2.5, 'text', true, null, Buffer.from('by'), 2n ** 60n]);
    segments.adopt(list.shm);
    expect(list.length).to.equal(7);
    expect(list.toArray()).to.deep.equal([1, 2.5, 'text', true, null, Uint8Array.from([98, 121]), 2n ** 60n]);
    expect(list.format).to.equal('qd8sxxxxxxx?xxxxxx?x8sq');
    list.set(0, 42);
    list.set(-1, 7);
    expect([list.get(0), list.get(6), list.get(-7)]).to.deep.equal([42, 7, 42]);
    expect(list.index(2.5)).to.equal(1);
    expect(list.count(42)).to.equal(1);
    const same = new ShareableList({ name: list.shm.name });
    expect(same.get(2)).to.equal('text');
    same.shm.close();
    const value = new RawValue('i', 5);
    value.value += 1;
    expect([value.type, value.value]).to.deep.equal(['int32', 6]);
    expect(new RawValue('q', 3n).value).to.equal(3n);
    const array = new RawArray('d', [1, 2, 3]);
    expect([array.type, array.length, [...array]]).to.deep.equal(['float64', 3, [1, 2, 3]]);
    expect(new RawArray('uint8', 4).array).to.deep.equal(new Uint8Array(4));
  });

  it('their bad input is a typed error too', () => {
    const list = new ShareableList(['abc', 1]);
    segments.adopt(list.shm);
    expect(() => list.get(2)).to.throw(IndexError, /out of range/);
    expect(() => list.set(-3, 1)).to.throw(IndexError);
    expect(() => list.set(0, 'a string longer than its slot')).to.throw(InvalidArgumentError, /room for 8 bytes/);
    expect(() => list.set(1, {} as never)).to.throw(InvalidArgumentError);
    expect(() => list.index('nope')).to.throw(InvalidArgumentError);
    expect(() => new ShareableList([2n ** 64n])).to.throw(InvalidArgumentError, /64-bit/);
    expect(() => new RawValue('x' as never)).to.throw(InvalidArgumentError, /typecode/);
    expect(() => new RawArray('d', -1)).to.throw(InvalidArgumentError);
    expect(() => new RawValue('int32', 1n as never)).to.throw(InvalidArgumentError, /number/);
    expect(() => new RawArray('q', [1 as never])).to.throw(InvalidArgumentError, /bigint/);
  });

  it('a ShareableList is Python’s: Python reads and writes one that Node made, and Node sees it', async function () {
    if (!hasPython()) this.skip();
    this.timeout(60_000);
    const list = new ShareableList([1, 2.5, 'text', true, null, Buffer.from('by')]);
    segments.adopt(list.shm);
    const python = [
      'import sys',
      'from multiprocessing import shared_memory, resource_tracker',
      'sl = shared_memory.ShareableList(name=sys.argv[1])',
      'resource_tracker.unregister(sl.shm._name, "shared_memory")',
      'print(repr(list(sl)))',
      'sl[0] = 99',
      'sl[1] = 1.25',
      'sl[2] = "py"',
      'sl[3] = False',
      'sl.shm.close()',
    ].join('\n');
    const { stdout } = await run('python3', ['-c', python, list.shm.name], { timeout: 50_000 });
    expect(stdout.trim()).to.equal("[1, 2.5, 'text', True, None, b'by']");
    expect(list.toArray()).to.deep.equal([99, 1.25, 'py', false, null, Uint8Array.from([98, 121])]);
  });
});
