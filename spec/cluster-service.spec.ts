// A cluster pool goes through the same submission path as a local one: maxQueue and 'drain',
// drained()/idle(), shutdown(), the call's context on the agent, the task events, and stats()
// with what a cluster pool does not measure (its window reads as empty).
import { expect } from 'chai';
import { join } from 'node:path';
import { PoolTerminatedError, QueueFullError, taskRef, type PoolOptions } from '../lib';
import { clusterFixture, clusterTasks } from './support/cluster';

const serviceTasks = join(__dirname, '..', 'fixtures', 'service-tasks.js');
const t = {
  square: taskRef<(x: number) => number>(clusterTasks, 'square'),
  slow: taskRef<(x: number, ms: number) => number>(clusterTasks, 'slow'),
  readContext: taskRef<() => unknown>(serviceTasks, 'readContext'),
  withContext: taskRef<(item: number) => [number, unknown]>(serviceTasks, 'withContext'),
};

describe('cluster: the service features of a Pool (maxQueue, drain, idle, shutdown, context, stats)', function () {
  this.timeout(60_000);
  const fixture = clusterFixture('service', 1, 2);
  const cluster = (options: PoolOptions = {}) => fixture.pool(options);

  it('maxQueue bounds the tasks waiting to enter Redis: past it a call rejects with QueueFullError, and "drain" follows', async () => {
    const pool = cluster({ maxQueue: 2 });
    // Redis has not answered yet: both calls wait in the pool.
    const first = [pool.apply(t.slow, [1, 100]), pool.apply(t.slow, [2, 100])];
    expect(pool.queueFull).to.equal(true);
    const drain = new Promise<void>((resolve) => pool.once('drain', resolve));
    const refused = await pool.apply(t.square, [3]).catch((e: unknown) => e);
    expect(refused).to.be.instanceOf(QueueFullError);
    expect((refused as QueueFullError).maxQueue).to.equal(2);
    await drain;
    expect(pool.queueFull).to.equal(false);
    expect(await Promise.all(first)).to.deep.equal([1, 2]);
    expect(await pool.apply(t.square, [3])).to.equal(9);
  });

  it('drained() resolves once nothing waits to enter Redis, idle() once every job has answered', async () => {
    const pool = cluster();
    const calls = [1, 2, 3, 4, 5, 6].map((i) => pool.apply(t.slow, [i, 50]));
    await pool.drained();
    expect(pool.stats().queued).to.equal(0);
    await pool.idle();
    expect(pool.stats()).to.include({ queued: 0, running: 0, completed: 6 });
    expect(await Promise.all(calls)).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });

  it('shutdown() lets waiting and running tasks finish and counts them', async () => {
    const pool = cluster();
    await pool.ready();
    const calls = [1, 2, 3].map((i) => pool.apply(t.slow, [i, 200]));
    expect(await pool.shutdown()).to.deep.equal({ completed: 3, terminated: 0 });
    expect(await Promise.all(calls)).to.deep.equal([1, 2, 3]);
    expect(pool.state).to.equal('closed');
  });

  it('shutdown({ timeout }) terminates what is left at the deadline', async () => {
    const pool = cluster();
    await pool.ready();
    const call = pool.apply(t.slow, [1, 10_000]).catch((e: unknown) => e);
    expect(await pool.shutdown({ timeout: 300 })).to.deep.equal({ completed: 0, terminated: 1 });
    expect(await call).to.be.instanceOf(PoolTerminatedError);
  });

  it("carries the call's context, or the pool's context hook's, to the task on the agent", async () => {
    const pool = cluster({ context: () => ({ trace: 'hook' }) });
    expect(await pool.apply(t.readContext, [])).to.deep.equal({ trace: 'hook' });
    expect(await pool.apply(t.readContext, [], { context: { trace: 'own' } })).to.deep.equal({ trace: 'own' });
    expect(await pool.map(t.withContext, [1, 2], { chunksize: 1 })).to.deep.equal([
      [1, { trace: 'hook' }],
      [2, { trace: 'hook' }],
    ]);
  });

  it("emits taskQueued and taskSettled; stats() counts the agents' processes and reports its window as not measured", async () => {
    const pool = cluster();
    await pool.ready();
    const queued: number[] = [];
    const settled: boolean[] = [];
    pool.on('taskQueued', (event) => queued.push(event.id));
    pool.on('taskSettled', (event) => settled.push(event.ok));
    expect(await pool.apply(t.square, [4])).to.equal(16);
    expect(queued).to.have.length(1);
    expect(settled).to.deep.equal([true]);
    const stats = pool.stats();
    expect(stats).to.include({ workers: 2, readyWorkers: 2, spares: 0, queued: 0, running: 0, completed: 1, utilization: 0, windowMs: 0 });
    expect(stats.runTime.count).to.equal(0);
    expect(stats.waitTime.count).to.equal(0);
    expect(pool.pids).to.deep.equal([]);
  });
});
