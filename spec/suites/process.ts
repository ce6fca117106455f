// Python's Process API, per start method.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { InvalidStateError, Pool, Process, TaskReferenceError, activeChildren, type StartMethod } from '../../lib';
import * as tasks from '../../fixtures/tasks';
import * as processTasks from '../../fixtures/process-tasks';
import { expectGone, isAlive } from '../support/processes';
import { tempFile } from '../support/tmp';

export function processSuite(method: StartMethod): void {
  describe('Process', () => {
    it('runs its target once in a new process and exits with 0', async () => {
      const file = tempFile('process', 'out.txt');
      const p = new Process({ target: tasks.writeFile, args: [file, 'hello'], startMethod: method });
      expect(p.exitCode).to.equal(null);
      expect(p.isAlive()).to.equal(false);
      await p.start();
      expect(p.pid).to.be.a('number');
      expect(p.pid).to.not.equal(process.pid);
      await p.join();
      expect(p.exitCode).to.equal(0);
      expect(p.isAlive()).to.equal(false);
      expect(readFileSync(file, 'utf8')).to.equal('hello');
      await expectGone([p.pid as number]);
    });

    it('join(timeout) returns while it runs; terminate() and kill() give negative signal codes', async () => {
      const p = new Process({ target: tasks.spinForever, startMethod: method });
      await p.start();
      expect(activeChildren()).to.include(p);
      await p.join(50);
      expect(p.exitCode).to.equal(null);
      expect(p.isAlive()).to.equal(true);
      p.terminate();
      await p.join(10_000);
      expect(p.exitCode).to.equal(-15);
      expect(activeChildren()).to.not.include(p);
      const q = new Process({ target: tasks.spinForever, startMethod: method });
      await q.start();
      q.kill();
      await q.join(10_000);
      expect(q.exitCode).to.equal(-9);
    });

    it('exit code 1 when the target throws, the code of process.exit(n) otherwise', async () => {
      const failing = new Process({ target: tasks.failIfNegative, args: [-1], startMethod: method });
      await failing.start();
      await failing.join();
      expect(failing.exitCode).to.equal(1);
      const exiting = new Process({ target: tasks.exitWith, args: [5], startMethod: method });
      await exiting.start();
      await exiting.join();
      expect(exiting.exitCode).to.equal(5);
    });

    it("works as Python's p.start(); p.join(): join waits for the start, and reports a start that failed", async () => {
      const file = tempFile('process', 'started.txt');
      const p = new Process({ target: tasks.writeFile, args: [file, 'ran'], startMethod: method });
      void p.start();
      await p.join();
      expect(p.exitCode).to.equal(0);
      expect(readFileSync(file, 'utf8')).to.equal('ran');
      const closure = new Process({ target: (() => 1) as typeof tasks.noop, startMethod: method });
      void closure.start(); // the caller ignores start()'s promise...
      const error = await closure.join(10_000).catch((e: unknown) => e); // ...join() reports why
      expect(error).to.be.instanceOf(TaskReferenceError);
      expect(closure.exitCode).to.equal(null);
      expect(closure.isAlive()).to.equal(false);
    });

    it('cannot be started twice', async () => {
      const p = new Process({ target: tasks.noop, startMethod: method });
      await p.start();
      const error = await p.start().catch((e: unknown) => e);
      expect(error).to.be.instanceOf(InvalidStateError);
      await p.join();
    });

    it('knows its name and its parent (currentProcess, parentProcess)', async function () {
      this.timeout(30000);
      const file = tempFile('process', 'info.json');
      const p = new Process({ target: tasks.writeFile, args: [file, 'x'], name: 'Reporter', startMethod: method });
      expect(p.name).to.equal('Reporter');
      await p.start();
      await p.join();
      const pool = new Pool({ processes: 1, startMethod: method });
      try {
        const info = await pool.apply(processTasks.processInfo);
        expect(info.current.name).to.match(/^PoolWorker-\d+$/);
        expect(info.parent).to.deep.equal({ name: 'MainProcess', pid: process.pid });
      } finally {
        await pool.terminate();
      }
      const unnamed = new Process({ target: tasks.noop, startMethod: method });
      expect(unnamed.name).to.match(/^Process-\d+$/);
      expect(isAlive(process.pid)).to.equal(true);
    });
  });
}
