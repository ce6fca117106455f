// The Pool on many machines: real redis-server, real `procpool agent` processes (2 × 2 processes).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { Queue } from 'bullmq';
import {
  AbortError,
  ClusterUnavailableError,
  ErrorCodes,
  PayloadTooLargeError,
  Pool,
  PoolTerminatedError,
  TaskTimeoutError,
  TaskVersionMismatchError,
  WorkerLostError,
  taskRef,
} from '../lib';
import { AgentProcess, RedisServer, clusterFixture, clusterTasks, otherRoot } from './support/cluster';
import { tempFile } from './support/tmp';

const t = {
  square: taskRef<(x: number) => number>(clusterTasks, 'square'),
  add: taskRef<(a: number, b: number) => number>(clusterTasks, 'add'),
  jitter: taskRef<(x: number) => { x: number; agent: number }>(clusterTasks, 'jitter'),
  slow: taskRef<(x: number, ms: number) => number>(clusterTasks, 'slow'),
  overQuota: taskRef<(x: number) => number>(clusterTasks, 'overQuota'),
  killWorker: taskRef<() => void>(clusterTasks, 'killWorker'),
  tick: taskRef<(x: number) => number>(clusterTasks, 'tick'),
  marked: taskRef<(x: number, file: string, ms: number) => number>(clusterTasks, 'marked'),
};

describe('cluster: the same Pool on agents through BullMQ on Redis', function () {
  this.timeout(60_000);
  const fixture = clusterFixture('main', 2, 2);
  const cluster = (queue = 'main', extra: object = {}) => fixture.pool({}, queue, extra);

  it('map keeps input order under random task durations, and both agents run chunks', async () => {
    const pool = cluster();
    await pool.ready();
    const items = Array.from({ length: 200 }, (_, i) => i);
    const results = await pool.map(t.jitter, items, { chunksize: 4 });
    expect(results.map((r) => r.x)).to.deep.equal(items);
    const ranOn = new Set(results.map((r) => r.agent));
    expect([...ranOn].sort()).to.deep.equal(fixture.agents.map((a) => a.pid).sort());
    expect(pool.stats().workers).to.equal(4);
  });

  it('starmap, apply, applyAsync, mapAsync, imap and imapUnordered', async () => {
    const pool = cluster();
    expect(await pool.starmap(t.add, [[1, 2], [3, 4], [5, 6]])).to.deep.equal([3, 7, 11]);
    expect(await pool.apply(t.add, [20, 22])).to.equal(42);
    expect(await pool.applyAsync(t.square, [9]).get(30_000)).to.equal(81);
    expect(await pool.mapAsync(t.square, [1, 2, 3]).get(30_000)).to.deep.equal([1, 4, 9]);
    const ordered: number[] = [];
    for await (const v of pool.imap(t.square, [1, 2, 3, 4, 5, 6], { chunksize: 2 })) ordered.push(v);
    expect(ordered).to.deep.equal([1, 4, 9, 16, 25, 36]);
    const unordered: number[] = [];
    for await (const v of pool.imapUnordered(t.square, [1, 2, 3, 4])) unordered.push(v);
    expect(unordered.sort((a, b) => a - b)).to.deep.equal([1, 4, 9, 16]);
    expect(await pool.map(t.square, [])).to.deep.equal([]);
  });

  it('a burst of applyAsync travels in batches of calls, and each call settles on its own', async () => {
    const pool = cluster();
    const calls = Array.from({ length: 300 }, (_, i) => pool.applyAsync(t.overQuota, [i % 5]));
    const outcomes = await Promise.allSettled(calls);
    outcomes.forEach((o, i) => {
      if (i % 5 === 3) expect(o.status === 'rejected' && (o.reason as { code: string }).code).to.equal('E_QUOTA');
      else expect(o).to.deep.equal({ status: 'fulfilled', value: i % 5 });
    });
    // 300 calls went as far fewer jobs: each job is one completed task per call, counted per call.
    expect(pool.stats()).to.include({ completed: 240, failed: 60 });
  });

  it("a task's error keeps its class, code and remote stack, plus the host and pid that ran it", async () => {
    const pool = cluster();
    const error = await pool.map(t.overQuota, [1, 2, 3, 4], { chunksize: 1 }).then(
      () => expect.fail('map should reject'),
      (e: unknown) => e as Error & { code: string; host: string; pid: number; cause: Error },
    );
    expect(error.name).to.equal('QuotaError');
    expect(error.code).to.equal('E_QUOTA');
    expect(error.message).to.equal('item 3 is over quota');
    expect(error.host).to.be.a('string').and.not.equal('');
    expect(error.pid).to.be.a('number');
    expect(error.stack).to.include(`agent ${error.host} pid ${error.pid}`);
    expect(error.cause.stack).to.include('cluster-tasks.js');
    // A worker crash on a live agent is that agent's local pool's business: WorkerLostError.
    const lost = await pool.apply(t.killWorker, []).catch((e: unknown) => e);
    expect(lost).to.be.instanceOf(WorkerLostError);
    expect((lost as WorkerLostError).code).to.equal(ErrorCodes.WORKER_LOST);
  });

  it('timeout and signal work as locally', async () => {
    const pool = cluster();
    const late = await pool.apply(t.slow, [1, 20_000], { timeout: 300 }).catch((e: unknown) => e);
    expect(late).to.be.instanceOf(TaskTimeoutError);
    const controller = new AbortController();
    const call = pool.apply(t.slow, [1, 20_000], { signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    expect(await call.catch((e: unknown) => e)).to.be.instanceOf(AbortError);
  });

  it('imap keeps at most 2 chunks per agent process in Redis', async () => {
    const pool = cluster();
    await pool.ready();
    const queue = new Queue('main', { connection: { url: fixture.redis.url } });
    const inRedis = async () => Object.values(await queue.getJobCounts('wait', 'active', 'prioritized', 'delayed')).reduce((a, b) => a + b, 0);
    // Chunks that earlier specs abandoned may still be finishing on an agent: not this imap's.
    for (const deadline = Date.now() + 20_000; (await inRedis()) > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    let most = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        most = Math.max(most, await inRedis());
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const got: number[] = [];
    for await (const v of pool.imap(t.tick, (function* () { for (let i = 0; i < 40; i++) yield i; })())) got.push(v);
    polling = false;
    await poll;
    await queue.close();
    expect(got).to.have.length(40);
    expect(most).to.be.within(1, 8);
  });

  it('map refuses more than its documented caps with PayloadTooLargeError', async () => {
    const pool = cluster('main', { maxQueuedItems: 10, maxJobBytes: 4096 });
    const tooMany = await pool.map(t.square, Array.from({ length: 11 }, (_, i) => i)).catch((e: unknown) => e);
    expect(tooMany).to.be.instanceOf(PayloadTooLargeError);
    expect((tooMany as PayloadTooLargeError).unit).to.equal('items');
    const tooBig = await pool.apply(t.square, ['x'.repeat(10_000) as unknown as number]).catch((e: unknown) => e);
    expect(tooBig).to.be.instanceOf(PayloadTooLargeError);
    expect((tooBig as Error).message).to.include('shared storage');
    expect(await pool.map(t.square, [1, 2, 3])).to.deep.equal([1, 4, 9]);
  });

  it('a task module that differs on the agent fails with TaskVersionMismatchError', async () => {
    const source = readFileSync(clusterTasks, 'utf8');
    const agent = await AgentProcess.start(fixture.redis.url, 'mismatch', 1, ['--root', otherRoot(source.replace('x * x', 'x * x + 1'))]);
    fixture.agents.push(agent);
    const pool = cluster('mismatch');
    const error = await pool.map(t.square, [1, 2]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(TaskVersionMismatchError);
    expect((error as TaskVersionMismatchError).code).to.equal(ErrorCodes.TASK_VERSION_MISMATCH);
  });

  it('a queue with no agent says so after noAgentsWarning, and keeps waiting until terminate()', async () => {
    const pool = cluster('nobody', { noAgentsWarning: 300 });
    const warned = new Promise<Error>((res) => {
      const onWarning = (w: Error & { code?: string }) => {
        if (w.code !== 'PROCPOOL_NO_AGENTS') return;
        process.off('warning', onWarning);
        res(w);
      };
      process.on('warning', onWarning);
    });
    const pending = pool.map(t.square, [1, 2, 3]).catch((e: unknown) => e);
    expect((await warned).message).to.include("'nobody'");
    await pool.terminate();
    expect(await pending).to.be.instanceOf(PoolTerminatedError);
  });

  it('an unreachable Redis is a ClusterUnavailableError within connectTimeout, for every call', async () => {
    const closed = await RedisServer.start();
    const url = closed.url;
    await closed.stop();
    const pool = new Pool({ cluster: { redis: url, queue: 'main', connectTimeout: 1000 } });
    const started = Date.now();
    const error = await pool.map(t.square, [1, 2]).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(ClusterUnavailableError);
    expect((error as ClusterUnavailableError).code).to.equal(ErrorCodes.CLUSTER_UNAVAILABLE);
    expect(Date.now() - started).to.be.below(20_000);
    expect(await pool.apply(t.square, [2]).catch((e: unknown) => e)).to.be.instanceOf(ClusterUnavailableError);
    await pool.ready().then(() => expect.fail('ready() should reject'), (e: unknown) => expect(e).to.be.instanceOf(ClusterUnavailableError));
    pool.close();
    await pool.join();
  });

  it('a Redis ACL user limited to the queue\'s keys is enough; a wrong password is a ClusterUnavailableError', async () => {
    const acl = ['--user', 'default', 'off', '--user', 'batch', 'on', '>s3cret', '~bull:acl:*', '~procpool:acl:*', '&*', '+@all', '-@dangerous', '+info', '+client'];
    const guarded = await RedisServer.start([], acl);
    const url = `redis://batch:s3cret@127.0.0.1:${guarded.port}`;
    const agent = await AgentProcess.start(url, 'acl', 1);
    try {
      const pool = new Pool({ cluster: { redis: url, queue: 'acl' } });
      expect(await pool.map(t.square, [1, 2, 3])).to.deep.equal([1, 4, 9]);
      pool.close();
      await pool.join();
      expect(agent.output).to.not.include('batch:s3cret');
      const wrong = new Pool({ cluster: { redis: `redis://batch:nope@127.0.0.1:${guarded.port}`, queue: 'acl', connectTimeout: 1000 } });
      const error = await wrong.apply(t.square, [2]).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(ClusterUnavailableError);
      expect((error as Error).message).to.not.include('nope');
      wrong.close();
      await wrong.join();
    } finally {
      await agent.terminate();
      await guarded.stop();
    }
  });

  it('a pool closed right after it is made lets go of Redis', async () => {
    const pool = new Pool({ cluster: { redis: fixture.redis.url, queue: 'main' } });
    pool.close();
    await pool.join();
    expect(pool.state).to.equal('closed');
  });

  it('close() lets queued chunks finish, then join() resolves', async () => {
    const pool = cluster();
    const file = tempFile('cluster-close', 'started');
    const all = pool.starmap(t.marked, [1, 2, 3, 4, 5, 6].map((x) => [x, file, 50] as [number, string, number]), { chunksize: 1 });
    pool.close();
    await pool.join();
    expect(await all).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(readFileSync(file, 'utf8').trim().split('\n')).to.have.length(6);
    expect(await pool.apply(t.square, [2]).catch((e: unknown) => e)).to.have.property('code', ErrorCodes.POOL_CLOSED);
  });
});
