// `npm run bench -- --cluster`: procpool's cluster on a redis-server of its own with 2 agents × 2
// processes, against raw BullMQ jobs on the same Redis and a local 2-process pool, in one run.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool, taskRef } from '../../lib';
import { formatSummary, summarize, table } from '../lib/stats';

const root = resolve(__dirname, '..', '..', '..');
const cli = join(root, 'dist', 'scripts', 'cli.js');
const tasks = join(root, 'dist', 'scripts', 'bench', 'tasks.js');
const noop = taskRef<() => void>(tasks, 'noop');
const sleepTask = taskRef<(ms: number) => number>(join(root, 'fixtures', 'cluster-tasks.js'), 'tick');

function freePort(): Promise<number> {
  return new Promise((res) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function started(child: ChildProcess, marker: string): Promise<void> {
  return new Promise((res, rej) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes(marker)) res();
    });
    child.once('exit', () => rej(new Error(`exited before '${marker}': ${text}`)));
  });
}

function startAgent(url: string, queue: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [cli, 'agent', '--redis', url, '--queue', queue, '--processes', '2', '--progress-every', '0'], { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  return started(child, 'serving:').then(() => child);
}

/** A BullMQ worker process with a no-op processor: what raw BullMQ does per job. */
function startRawWorker(url: string, queue: string): Promise<ChildProcess> {
  const script = `
    const { Worker } = require(${JSON.stringify(require.resolve('bullmq'))});
    const w = new Worker(${JSON.stringify(queue)}, async () => null, { connection: { url: ${JSON.stringify(url)}, maxRetriesPerRequest: null }, concurrency: 2 });
    w.on('error', () => {});
    w.waitUntilReady().then(() => console.log('ready'));`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  return started(child, 'ready').then(() => child);
}

async function rawBullmq(url: string, n: number): Promise<number> {
  const { Queue } = await import('bullmq');
  const queue = new Queue('raw', { connection: { url } });
  const workers = await Promise.all([startRawWorker(url, 'raw'), startRawWorker(url, 'raw')]);
  const t0 = performance.now();
  // Counted in Redis, not through the event stream: 20 000 completions overrun its 10 000 events.
  await queue.addBulk(Array.from({ length: n }, () => ({ name: 'noop', data: {}, opts: { removeOnComplete: false } })));
  while ((await queue.getCompletedCount()) < n) await wait(10);
  const ms = performance.now() - t0;
  // Nothing of theirs is needed any more: a graceful close() can hang once Redis is gone.
  for (const w of workers) w.kill('SIGKILL');
  await queue.obliterate({ force: true });
  await queue.close();
  return ms;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

/** Ms from an agent's SIGKILL to the end of a map of 40 × 50 ms items over 2 agents × 2 processes. */
async function recovery(url: string, agents: ChildProcess[]): Promise<number> {
  const pool = new Pool({ cluster: { redis: url, queue: 'bench' } });
  const map = pool.map(sleepTask, Array.from({ length: 40 }, (_, i) => i), { chunksize: 1 });
  await wait(150);
  const victim = agents.shift() as ChildProcess;
  process.kill(-(victim.pid as number), 'SIGKILL');
  const t0 = performance.now();
  await map;
  const ms = performance.now() - t0;
  await pool.terminate();
  agents.push(await startAgent(url, 'bench'));
  return ms;
}

/** Runs the cluster bench and prints its table. */
export async function clusterBench(runs: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'procpool-bench-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  await started(redis, 'Ready to accept connections');
  const agents = await Promise.all([startAgent(url, 'bench'), startAgent(url, 'bench')]);
  const samples: Record<string, number[]> = { raw: [], cluster: [], local: [], mapCluster: [], recovery: [] };
  try {
    for (let run = 0; run < runs; run++) {
      const step = (what: string) => process.stderr.write(`run ${run + 1}/${runs}: ${what}\n`);
      step('raw BullMQ');
      samples.raw.push(await rawBullmq(url, 20_000));
      step('cluster applyAsync and map');
      const pool = new Pool({ cluster: { redis: url, queue: 'bench' } });
      await pool.ready();
      samples.cluster.push(await timed(() => Promise.all(Array.from({ length: 20_000 }, () => pool.applyAsync(noop)))));
      samples.mapCluster.push(await timed(() => pool.map(noop, new Array(1_000_000).fill(0))));
      await pool.terminate();
      step('local map');
      await using local = new Pool({ processes: 2 });
      await local.ready();
      samples.local.push(await timed(() => local.map(noop, new Array(1_000_000).fill(0))));
      step('recovery');
      samples.recovery.push(await recovery(url, agents));
    }
  } finally {
    for (const agent of agents) process.kill(-(agent.pid as number), 'SIGKILL');
    redis.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
  const s = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
  const rate = (ms: number) => (20_000 / ms) * 1000;
  process.stdout.write(
    `${table(
      ['workload (2 agents × 2 processes, median (min–max) of ' + runs + ')', 'ms', 'ratio', 'target'],
      [
        ['20 000 no-op jobs, raw BullMQ (2 workers × concurrency 2)', formatSummary(s.raw), '1', ''],
        ['20 000 no-op applyAsync through the cluster', formatSummary(s.cluster), `${(rate(s.cluster.median) / rate(s.raw.median)).toFixed(2)}× the rate`, '≥ 0.8×'],
        ['map of 1 000 000 no-ops, local 2-process pool', formatSummary(s.local), '1', ''],
        ['map of 1 000 000 no-ops through the cluster', formatSummary(s.mapCluster), `${(s.mapCluster.median / s.local.median).toFixed(2)}× the time`, '≤ 4×'],
        ['an agent SIGKILLed mid-map (40 × 50 ms): kill → map done', formatSummary(s.recovery), '', '≤ 5000 ms'],
      ],
    )}\n`,
  );
}
