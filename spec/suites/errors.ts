// Every way a task can fail: each settles that task with a clear error and leaves the pool working.
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  PoolClosedError,
  PoolTerminatedError,
  RemoteError,
  SerializationError,
  TaskReferenceError,
  InvalidArgumentError,
  taskRef,
  type StartMethod,
} from '../../lib';
import * as tasks from '../../fixtures/tasks';
import { trackPools } from '../support/pools';
import { isAlive, waitFor } from '../support/processes';
import { rejection } from '../support/rejection';
import { tempFile } from '../support/tmp';

const fixtures = join(__dirname, '..', '..', 'fixtures');

export function errorSuite(method: StartMethod): void {
  describe('errors', () => {
    const pools = trackPools(method);

    it('a task that throws rejects with the same name, message, code and properties; cause holds the remote stack', async () => {
      const pool = pools.create({ processes: 1 });
      const error = await rejection(pool.apply(tasks.failValidation, ['email']));
      expect(error).to.be.instanceOf(Error);
      expect(error.name).to.equal('ValidationError');
      expect(error.message).to.equal('bad email');
      expect(error.code).to.equal('E_VALIDATION');
      expect(error.field).to.equal('email');
      expect(error.cause).to.be.instanceOf(RemoteError);
      const remote = error.cause as RemoteError;
      expect(remote.remoteStack).to.match(/failValidation/);
      expect(remote.remoteStack).to.match(/fixtures[\\/]tasks\.js/);
      const range = await rejection(pool.apply(tasks.failIfNegative, [-3]));
      expect(range).to.be.instanceOf(RangeError);
      expect(range.message).to.equal('negative: -3');
    });

    it('a thrown non-Error value arrives as that value', async () => {
      const pool = pools.create({ processes: 1 });
      expect(await rejection(pool.apply(tasks.throwValue, ['plain string']))).to.equal('plain string');
      expect(await rejection(pool.apply(tasks.throwValue, [{ reason: 7 }]))).to.deep.equal({ reason: 7 });
    });

    it('map rejects with the first failure (as Python: the first to happen); the pool goes on', async () => {
      const pool = pools.create();
      const error = await rejection(pool.map(tasks.failIfNegative, [1, 2, -3, 4, 5], { chunksize: 1 }));
      expect(error).to.be.instanceOf(RangeError);
      expect(error.message).to.equal('negative: -3');
      const single = pools.create({ processes: 1 });
      const first = await rejection(single.map(tasks.failIfNegative, [1, -2, 3, -4], { chunksize: 1 }));
      expect(first.message).to.equal('negative: -2');
      expect(await pool.map(tasks.square, [2])).to.deep.equal([4]);
    });

    it('an unserializable argument rejects only its own task, before anything is sent', async () => {
      const pool = pools.create({ processes: 1 });
      const good = pool.apply(tasks.square, [3]);
      const bad = rejection(pool.apply(tasks.echo, [() => 1]));
      const alsoGood = pool.apply(tasks.square, [4]);
      const error = await bad;
      expect(error).to.be.instanceOf(SerializationError);
      expect((error as unknown as SerializationError).direction).to.equal('arguments');
      expect(error.message).to.match(/'echo'/);
      expect([await good, await alsoGood]).to.deep.equal([9, 16]);
      expect(await rejection(pool.map(tasks.echo, [1, Symbol('no')]))).to.be.instanceOf(SerializationError);
    });

    it('an unserializable result rejects only its task; the same worker lives on', async () => {
      const pool = pools.create({ processes: 1 });
      const before = await pool.apply(tasks.pid);
      const error = await rejection(pool.apply(tasks.returnFunction));
      expect(error).to.be.instanceOf(SerializationError);
      expect((error as unknown as SerializationError).direction).to.equal('result');
      expect(error.message).to.match(/returnFunction/);
      expect(await pool.apply(tasks.pid)).to.equal(before);
    });

    it('a closure, a lambda or an unexported function fails at once, saying how to export it', async () => {
      const pool = pools.create({ processes: 1 });
      const lambda = (x: number) => x + 1;
      const error = await rejection(pool.map(lambda, [1]));
      expect(error).to.be.instanceOf(TaskReferenceError);
      expect(error.message).to.match(/Export it from a module/);
      expect(error.message).to.match(/registerTaskModule/);
      expect(await rejection(pool.apply(tasks.square.bind(null), [1]))).to.be.instanceOf(TaskReferenceError);
      expect(await rejection(pool.applyAsync(42 as never))).to.be.instanceOf(TaskReferenceError);
      const it = pool.imap(lambda, [1]);
      expect(await rejection(it.next())).to.be.instanceOf(TaskReferenceError);
    });

    it('a missing module, a missing export or a non-function export is a TaskReferenceError', async () => {
      const pool = pools.create({ processes: 1 });
      const noModule = await rejection(pool.apply(taskRef(join(fixtures, 'does-not-exist.js'), 'x')));
      expect(noModule).to.be.instanceOf(TaskReferenceError);
      expect(noModule.message).to.match(/Cannot load task module .*does-not-exist/);
      const noExport = await rejection(pool.apply(taskRef(join(fixtures, 'tasks.js'), 'nope')));
      expect(noExport).to.be.instanceOf(TaskReferenceError);
      expect(noExport.message).to.match(/no export named 'nope'.*square/);
      const notFn = await rejection(pool.apply(taskRef(join(fixtures, 'tasks.js'), 'notAFunction')));
      expect(notFn).to.be.instanceOf(TaskReferenceError);
      expect(notFn.message).to.match(/is a number, not a function/);
      expect(await pool.apply(tasks.square, [5])).to.equal(25);
    });

    it('bad arguments and options are reported with the value quoted', async () => {
      const pool = pools.create({ processes: 1 });
      const error = await rejection(pool.map(tasks.square, [1], { chunksize: 0 }));
      expect(error).to.be.instanceOf(InvalidArgumentError);
      expect(error.message).to.match(/`chunksize`.*got `0`/);
      expect(await rejection(pool.map(tasks.square, 5 as never))).to.be.instanceOf(InvalidArgumentError);
      expect(() => pools.create({ processes: 0 })).to.throw(InvalidArgumentError, /`processes`/);
      expect(() => pools.create({ startMethod: 'vfork' as never })).to.throw(InvalidArgumentError, /startMethod/);
    });

    it('a closed or terminated pool refuses new tasks with PoolClosedError', async () => {
      const pool = pools.create({ processes: 1 });
      pool.close();
      expect(await rejection(pool.apply(tasks.square, [1]))).to.be.instanceOf(PoolClosedError);
      expect(await rejection(pool.map(tasks.square, [1]))).to.be.instanceOf(PoolClosedError);
      expect(await rejection(pool.imap(tasks.square, [1]).next())).to.be.instanceOf(PoolClosedError);
      await pool.join();
      const other = pools.create({ processes: 1 });
      await other.terminate();
      expect(await rejection(other.apply(tasks.square, [1]))).to.be.instanceOf(PoolClosedError);
    });

    it('terminate() rejects queued and running tasks with PoolTerminatedError and kills the workers', async () => {
      const pool = pools.create({ processes: 1 });
      await pool.ready();
      const pids = pool.pids;
      const spinning = tempFile('errors', 'spinning.txt');
      const running = rejection(pool.apply(tasks.spinForever, [spinning]));
      const queued = rejection(pool.apply(tasks.square, [2]));
      // Terminate once the first task demonstrably runs (the second waits behind it).
      expect(await waitFor(() => existsSync(spinning), 10_000)).to.equal(true);
      await pool.terminate();
      expect(await running).to.be.instanceOf(PoolTerminatedError);
      expect(await queued).to.be.instanceOf(PoolTerminatedError);
      expect(pids.some(isAlive)).to.equal(false);
    });

    it('the pool stays usable after each kind of bad input', async () => {
      const pool = pools.create({ processes: 1 });
      await rejection(pool.apply(tasks.echo, [() => 1]));
      await rejection(pool.apply(tasks.returnFunction));
      await rejection(pool.apply(taskRef(join(fixtures, 'nope.js'), 'x')));
      await rejection(pool.apply(tasks.failValidation, ['x']));
      await rejection(pool.apply(tasks.killSelf));
      expect(await pool.map(tasks.square, [1, 2, 3], { chunksize: 1 })).to.deep.equal([1, 4, 9]);
      expect(existsSync(fixtures)).to.equal(true);
    });
  });
}
