// Creates pools for a spec and guarantees that each is terminated and its workers are gone after it.
import { Pool, type PoolOptions, type StartMethod } from '../../lib';
import { expectGone } from './processes';

export interface PoolTracker {
  create(options?: PoolOptions): Pool;
}

/** Call inside a `describe`: every pool `create()`d there is terminated after its test. */
export function trackPools(method: StartMethod): PoolTracker {
  let pools: { pool: Pool; pids: Set<number> }[] = [];
  const poll = setInterval(() => {
    for (const entry of pools) for (const pid of entry.pool.pids) entry.pids.add(pid);
  }, 10);
  poll.unref();
  afterEach(async function () {
    // Room for several pools, each given expectGone's full default.
    this.timeout(60_000);
    const current = pools;
    pools = [];
    for (const { pool, pids } of current) {
      for (const pid of pool.pids) pids.add(pid);
      await pool.terminate();
      await expectGone([...pids]);
    }
  });
  after(() => clearInterval(poll));
  return {
    create(options: PoolOptions = {}): Pool {
      const pool = new Pool({ processes: 2, startMethod: method, ...options });
      pools.push({ pool, pids: new Set(pool.pids) });
      return pool;
    },
  };
}
