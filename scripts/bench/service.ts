// `npm run bench:service`: what the service features cost the caller. A refusal by `maxQueue`
// (QueueFullError) per call, and task throughput with and without diagnostics_channel subscribers.
// Medians with min–max of several runs; figures, not assertions (speed never belongs in a spec).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool, type StartMethod } from '../../lib';
import { formatSummary, summarize } from '../lib/stats';
import * as tasks from './tasks';

/** Refused calls made back to back before the event loop turns. */
const BURST = 1000;
const CHANNELS = ['procpool:task:queued', 'procpool:task:start', 'procpool:task:settled', 'procpool:worker:start', 'procpool:worker:exit'];

/**
 * ns per refused `applyAsync` on a full queue, over `calls` calls: wall time, and this process's
 * CPU time (all its threads, the garbage collector's included), which other load on the machine
 * does not inflate.
 */
async function refusalCost(startMethod: StartMethod, calls: number): Promise<{ wall: number; cpu: number }> {
  const pool = new Pool({ processes: 1, maxQueue: 1, startMethod });
  try {
    await pool.ready();
    // One task running, one queued: the queue is full until they end (they run for a minute).
    const held = [pool.apply(tasks.sleepMs, [60_000]), pool.apply(tasks.sleepMs, [60_000])].map((p) => p.catch(() => undefined));
    while (pool.stats().queued < 1) await new Promise((resolve) => setImmediate(resolve));
    let refused = 0;
    let wall = 0;
    const cpuStart = process.cpuUsage();
    // In bursts of BURST calls, one event-loop turn apart, as refusals come in a service; what the
    // turns in between cost (the rejected results' reactions, garbage collection) counts as CPU time.
    for (let done = 0; done < calls; done += BURST) {
      const start = performance.now();
      for (let i = 0; i < BURST; i++) {
        const result = pool.applyAsync(tasks.noop, []);
        if (result.ready()) refused++;
      }
      wall += performance.now() - start;
      await new Promise((resolve) => setImmediate(resolve));
    }
    const cpu = process.cpuUsage(cpuStart);
    calls = Math.ceil(calls / BURST) * BURST;
    const ns = { wall: (wall * 1e6) / calls, cpu: ((cpu.user + cpu.system) * 1e3) / calls };
    if (refused !== calls) throw new Error(`expected every call to be refused, ${refused} of ${calls} were`);
    await pool.terminate();
    await Promise.all(held);
    return ns;
  } finally {
    await pool.terminate();
  }
}

/** Tasks per second for `count` no-op calls in flight at once. */
async function throughput(pool: Pool, count: number): Promise<number> {
  const start = performance.now();
  await Promise.all(Array.from({ length: count }, () => pool.applyAsync(tasks.noop, [])));
  return count / ((performance.now() - start) / 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, method: { type: 'string', default: 'fork' }, tasks: { type: 'string', default: '20000' } } });
  const runs = Number(values.runs);
  const method = values.method as StartMethod;
  const count = Number(values.tasks);

  const refusals: { wall: number; cpu: number }[] = [];
  for (let run = 0; run < runs; run++) refusals.push(await refusalCost(method, 100_000));
  console.log(`maxQueue refusal (QueueFullError) per applyAsync, wall time: ${formatSummary(summarize(refusals.map((r) => r.wall)))} ns`);
  console.log(`maxQueue refusal (QueueFullError) per applyAsync, CPU time:  ${formatSummary(summarize(refusals.map((r) => r.cpu)))} ns`);

  const pool = new Pool({ processes: 2, startMethod: method });
  await pool.ready();
  await throughput(pool, count); // warm-up: task durations known, buffers sized
  const plain: number[] = [];
  const observed: number[] = [];
  let messages = 0;
  const handler = (): void => void messages++;
  for (let run = 0; run < runs; run++) {
    plain.push(await throughput(pool, count));
    for (const name of CHANNELS) subscribe(name, handler);
    observed.push(await throughput(pool, count));
    for (const name of CHANNELS) unsubscribe(name, handler);
  }
  await pool.terminate();
  console.log(`no-op tasks/s, ${count} in flight, '${method}', no subscriber:    ${formatSummary(summarize(plain))}`);
  console.log(`no-op tasks/s, ${count} in flight, '${method}', five subscribers: ${formatSummary(summarize(observed))} (${messages} messages)`);
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
