// Shared memory: errors, cleanup after a killed creator, the fallback without native mapping, and
// a Python process reading what Node wrote. (What crosses processes: spec/suites/shared-memory.ts.)
import { expect } from 'chai';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  InvalidArgumentError,
  InvalidStateError,
  SharedMemory,
  SharedMemoryFullError,
  SharedMemoryNotFoundError,
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

  it('segments of a creator killed with SIGKILL are unlinked (its workers’ too); untracked ones stay', async function () {
    this.timeout(60_000);
    const { child, report } = await startScript<{ tracked: string[]; untracked: string }>(['create']);
    for (const name of [...report.tracked, report.untracked]) expect(existsSync(`/dev/shm/${name}`), name).to.equal(true);
    const killedAt = Date.now();
    child.kill('SIGKILL');
    const gone = await waitFor(() => report.tracked.every((name) => !existsSync(`/dev/shm/${name}`)), 20_000);
    expect(gone, `left: ${report.tracked.filter((name) => existsSync(`/dev/shm/${name}`))}`).to.equal(true);
    process.stderr.write(`      tracked segments gone ${Date.now() - killedAt} ms after the SIGKILL\n`);
    expect(existsSync(`/dev/shm/${report.untracked}`)).to.equal(true);
    segments.adopt(new SharedMemory({ name: report.untracked }));
    await expectGone([child.pid as number]);
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

  it('without native mapping (PROCPOOL_NO_SHARED_MEMORY=1) creating a segment is a clear error, and pools still work', async function () {
    this.timeout(60_000);
    const script = `
      const { Pool, SharedMemory, SharedMemoryUnavailableError } = require('procpool');
      const tasks = require(${JSON.stringify(join(fixtures, 'tasks.js'))});
      (async () => {
        let error;
        try { new SharedMemory({ create: true, size: 64 }); } catch (e) { error = e; }
        const pool = new Pool({ processes: 1 });
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
});
