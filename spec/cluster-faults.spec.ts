// The cluster when things go wrong: an agent SIGKILLed mid-map, a submitter that dies, an agent's
// graceful SIGTERM, terminate(). Real redis-server and agent processes.
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Queue } from 'bullmq';
import { HostLostError, Pool, PoolTerminatedError, taskRef } from '../lib';
import { AgentProcess, RedisServer, clusterTasks, skipWithoutRedis } from './support/cluster';
import { waitFor } from './support/processes';
import { tempFile } from './support/tmp';

const marked = taskRef<(x: number, file: string, ms: number) => number>(clusterTasks, 'marked');

/** The lines `marked` wrote: [item, agent pid]. */
function starts(file: string): [number, number][] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => l.split(' ').map(Number) as [number, number]);
}

describe('cluster faults: host loss, dead submitters, SIGTERM, terminate', function () {
  before(function () {
    skipWithoutRedis(this);
  });
  this.timeout(90_000);
  let redis: RedisServer;
  let agents: AgentProcess[] = [];
  const pools: Pool[] = [];
  const queues: Queue[] = [];
  const inRedis = async (name: string) => {
    const queue = new Queue(name, { connection: { url: redis.url } });
    queues.push(queue);
    return Object.values(await queue.getJobCounts('wait', 'active', 'prioritized', 'delayed')).reduce((a, b) => a + b, 0);
  };
  const settle = async (name: string, timeoutMs: number) => {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      if ((await inRedis(name)) === 0) return true;
    }
    return false;
  };

  before(async () => {
    redis = await RedisServer.start();
  });

  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.terminate()));
    await Promise.all(queues.splice(0).map((queue) => queue.close()));
    for (const agent of agents) agent.kill();
    await Promise.all(agents.map((agent) => agent.exited()));
    agents = [];
  });

  after(async () => {
    await redis?.stop();
  });

  it("SIGKILL of an agent's process group mid-map: its chunks run elsewhere, each result arrives once, in order", async () => {
    agents = await Promise.all([AgentProcess.start(redis.url, 'kill', 2), AgentProcess.start(redis.url, 'kill', 2)]);
    const pool = new Pool({ cluster: { redis: redis.url, queue: 'kill' } });
    pools.push(pool);
    await pool.ready();
    const file = tempFile('cluster-kill', 'starts');
    const items = Array.from({ length: 40 }, (_, i) => [i, file, 150] as [number, string, number]);
    const map = pool.starmap(marked, items, { chunksize: 2 });
    const victim = agents[0];
    expect(await waitFor(() => starts(file).some(([, agent]) => agent === victim.pid), 30_000)).to.equal(true);
    victim.kill();
    const killedAt = Date.now();
    const results = await map;
    const recovery = Date.now() - killedAt;
    expect(results).to.deep.equal(items.map(([x]) => x));
    // At least once: every item started, some twice (those the dead agent held).
    const started = new Set(starts(file).map(([x]) => x));
    expect(started.size).to.equal(40);
    expect(pool.stats().retried).to.be.at.least(1);
    console.log(`      (map done ${recovery} ms after the SIGKILL; ${starts(file).length} starts for 40 items)`);
  });

  it('a chunk whose agent is lost more than hostRetries times rejects with HostLostError', async () => {
    agents = await Promise.all([AgentProcess.start(redis.url, 'lost', 1), AgentProcess.start(redis.url, 'lost', 1)]);
    const pool = new Pool({ cluster: { redis: redis.url, queue: 'lost', hostRetries: 0 } });
    pools.push(pool);
    await pool.ready();
    const file = tempFile('cluster-lost', 'starts');
    const call = pool.apply(marked, [1, file, 60_000]).catch((e: unknown) => e);
    expect(await waitFor(() => starts(file).length > 0, 30_000)).to.equal(true);
    agents.find((a) => a.pid === starts(file)[0][1])?.kill();
    const error = await call;
    expect(error).to.be.instanceOf(HostLostError);
    expect((error as HostLostError).attempts).to.equal(1);
  });

  it("a dead submitter's chunks are dropped by the agents once its liveness key expires", async () => {
    agents = [await AgentProcess.start(redis.url, 'orphan', 2)];
    const file = tempFile('cluster-orphan', 'starts');
    const script = `
      const { Pool, taskRef } = require(${JSON.stringify(resolve(__dirname, '..', 'dist', 'lib'))});
      const pool = new Pool({ cluster: { redis: ${JSON.stringify(redis.url)}, queue: 'orphan', livenessTtl: 1000 } });
      pool.starmap(taskRef(${JSON.stringify(clusterTasks)}, 'marked'), Array.from({ length: 30 }, (_, i) => [i, ${JSON.stringify(file)}, 60000]), { chunksize: 1 });
    `;
    const submitter = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    expect(await waitFor(() => starts(file).length >= 2, 30_000)).to.equal(true);
    submitter.kill('SIGKILL');
    // The running chunks (60 s each) stop, and what waited in Redis is dropped, long before 60 s.
    expect(await settle('orphan', 30_000)).to.equal(true);
    expect(starts(file).length).to.be.below(30);
    expect(await waitFor(() => /[1-9]\d* dropped/.test(agents[0].output), 10_000)).to.equal(true);
  });

  it('Redis restarted empty mid-map: the lost chunks run again and the map completes', async () => {
    agents = [await AgentProcess.start(redis.url, 'restart', 2)];
    const pool = new Pool({ cluster: { redis: redis.url, queue: 'restart', hostRetries: 5 } });
    pools.push(pool);
    const warnings: string[] = [];
    const onWarning = (w: Error & { code?: string }) => void warnings.push(String(w.code));
    process.on('warning', onWarning);
    const file = tempFile('cluster-restart', 'starts');
    const items = Array.from({ length: 12 }, (_, i) => [i, file, 300] as [number, string, number]);
    const map = pool.starmap(marked, items, { chunksize: 1 });
    expect(await waitFor(() => starts(file).length >= 2, 30_000)).to.equal(true);
    await redis.restart();
    expect(await map).to.deep.equal(items.map(([x]) => x));
    process.off('warning', onWarning);
    expect(warnings).to.include('PROCPOOL_REDIS_DOWN');
  });

  it('SIGTERM: the agent takes no new chunk, finishes the running one, and exits 0', async () => {
    agents = [await AgentProcess.start(redis.url, 'term', 1)];
    const pool = new Pool({ cluster: { redis: redis.url, queue: 'term' } });
    pools.push(pool);
    const file = tempFile('cluster-term', 'starts');
    const first = pool.apply(marked, [1, file, 3000]);
    expect(await waitFor(() => starts(file).length === 1, 30_000)).to.equal(true);
    const exit = agents[0].terminate();
    // Sent once the agent has stopped taking chunks (it says so in the same tick).
    expect(await waitFor(() => agents[0].output.includes('SIGTERM'), 30_000)).to.equal(true);
    const second = pool.apply(marked, [2, file, 10]).catch((e: unknown) => e);
    expect(await first).to.equal(1);
    expect(await exit).to.equal(0);
    expect(agents[0].output).to.include('SIGTERM: taking no new chunks');
    expect(agents[0].output).to.match(/stopped: 1 chunks done/);
    expect(starts(file)).to.have.length(1);
    // terminate() removes what waits, and the caller hears it.
    await pool.terminate();
    expect(await second).to.be.instanceOf(PoolTerminatedError);
    expect(await settle('term', 10_000)).to.equal(true);
  });

  it('terminate() tells agents to stop the chunks they run', async () => {
    agents = [await AgentProcess.start(redis.url, 'stop', 2)];
    const pool = new Pool({ cluster: { redis: redis.url, queue: 'stop' } });
    pools.push(pool);
    const file = tempFile('cluster-stop', 'starts');
    const map = pool.starmap(marked, [1, 2, 3, 4].map((x) => [x, file, 60_000] as [number, string, number]), { chunksize: 1 }).catch((e: unknown) => e);
    expect(await waitFor(() => starts(file).length === 2, 30_000)).to.equal(true);
    await pool.terminate();
    expect(await map).to.be.instanceOf(PoolTerminatedError);
    expect(await settle('stop', 20_000)).to.equal(true);
    expect(starts(file)).to.have.length(2);
  });
});
