// A network partition: one agent in its own network namespace, whose link is cut mid-map (root
// only; skipped with the reason elsewhere).
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { Pool, taskRef } from '../lib';
import { AgentProcess, RedisServer, clusterTasks, skipWithoutRedis } from './support/cluster';
import { Partitionable } from './support/netns';
import { waitFor } from './support/processes';
import { tempFile } from './support/tmp';

const marked = taskRef<(x: number, file: string, ms: number) => number>(clusterTasks, 'marked');

describe('cluster: a network partition', function () {
  before(function () {
    skipWithoutRedis(this);
  });
  this.timeout(90_000);
  let ns: Partitionable | undefined;
  let redis: RedisServer | undefined;
  const agents: AgentProcess[] = [];

  before(function () {
    const made = Partitionable.create();
    if (typeof made === 'string') {
      console.log(`      (skipped: ${made})`);
      this.skip();
    }
    ns = made as Partitionable;
  });

  after(async () => {
    for (const agent of agents) agent.kill();
    await Promise.all(agents.map((agent) => agent.exited()));
    await redis?.stop();
    ns?.remove();
  });

  it("an agent cut off from Redis mid-map: its chunks run on the other agent, each result once, in order", async () => {
    const net = ns as Partitionable;
    redis = await RedisServer.start([net.hostAddress]);
    const inside = await AgentProcess.start(`redis://${net.hostAddress}:${redis.port}`, 'partition', 2, [], net.name);
    agents.push(inside, await AgentProcess.start(redis.url, 'partition', 2));
    const pool = new Pool({ cluster: { redis: redis.url, queue: 'partition' } });
    try {
      await pool.ready();
      const file = tempFile('cluster-partition', 'starts');
      const starts = () => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').map((l) => l.split(' ').map(Number)) : []);
      const items = Array.from({ length: 40 }, (_, i) => [i, file, 150] as [number, string, number]);
      const map = pool.starmap(marked, items, { chunksize: 2 });
      expect(await waitFor(() => starts().some(([, agent]) => agent === inside.pid), 30_000)).to.equal(true);
      net.cut();
      const cutAt = Date.now();
      expect(await map).to.deep.equal(items.map(([x]) => x));
      console.log(`      (map done ${Date.now() - cutAt} ms after the cut)`);
      expect(pool.stats()).to.include({ completed: 20 });
      expect(pool.stats().retried).to.be.at.least(1);
    } finally {
      await pool.terminate();
    }
  });
});
