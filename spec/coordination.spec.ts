// What the coordination objects leave behind when their application is killed: nothing.
import { expect } from 'chai';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expectGone, waitFor } from './support/processes';

describe('coordination loading', () => {
  it('require("procpool") loads none of it until a name is used, and a Lock arriving in a result loads it', function () {
    this.timeout(60_000);
    const tasks = JSON.stringify(join(__dirname, '..', 'fixtures', 'sync-tasks.js'));
    const script = `
      const loaded = () => Object.keys(require.cache).filter((f) => /[\\/](sync|queues|manager)[\\/]/.test(f)).length;
      const { Pool } = require('procpool');
      const tasks = require(${tasks});
      (async () => {
        const before = loaded();
        const pool = new Pool({ processes: 1 });
        const { lock } = await pool.apply(tasks.makeHere, []);
        const report = { before, after: loaded(), kind: lock.constructor.name, locked: lock.locked() };
        await pool.terminate();
        console.log(JSON.stringify(report));
      })();`;
    const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: join(__dirname, '..'), encoding: 'utf8' })) as Record<string, unknown>;
    expect(out).to.deep.include({ before: 0, kind: 'Lock', locked: true });
    expect(out.after).to.be.above(0);
  });
});

describe('coordination objects of an application killed with SIGKILL', () => {
  it('leave no segment (the application’s or its worker’s) and no Manager process behind', async function () {
    this.timeout(60_000);
    const script = join(__dirname, '..', 'fixtures', 'coordination-creator.ts');
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const report = await new Promise<{ segments: string[]; manager: number; workers: number[] }>((resolve, reject) => {
      let out = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]));
      });
      child.on('exit', (code) => reject(new Error(`the script exited early (${code})`)));
    });
    expect(report.segments).to.have.length(3);
    for (const name of report.segments) expect(existsSync(`/dev/shm/${name}`), name).to.equal(true);
    child.kill('SIGKILL');
    const gone = await waitFor(() => report.segments.every((name) => !existsSync(`/dev/shm/${name}`)), 20_000);
    expect(gone, `left: ${report.segments.filter((name) => existsSync(`/dev/shm/${name}`))}`).to.equal(true);
    await expectGone([child.pid as number, report.manager, ...report.workers], 20_000);
  });
});
