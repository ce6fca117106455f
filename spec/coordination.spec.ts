// What the coordination objects leave behind when their application is killed: nothing.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expectGone, waitFor } from './support/processes';

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
