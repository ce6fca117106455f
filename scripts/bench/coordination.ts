// The coordination half of `npm run bench`: procpool's locks, events, queues and Manager against
// Python's multiprocessing on the same workloads, in the same run; medians with min–max, and the
// ratio procpool ÷ Python for each (below 1: procpool is faster).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { Event, Lock, Manager, Pool, Queue, Value } from '../../lib';
import { formatSummary, summarize, table } from '../lib/stats';
import * as tasks from './coordination-tasks';

const LOCK_PAIRS = 1_000_000;
const PING_ROUNDS = 10_000;
const COUNTER = 100_000;
const SMALL_MESSAGES = 100_000;
const BIG_MESSAGES = 200;
const BIG_BYTES = 1_000_000;
const MANAGER_OPS = 10_000;

interface Row {
  readonly key: string;
  readonly title: string;
  readonly unit: string;
  /** The target for procpool ÷ Python. */
  readonly target: string;
  readonly best: number;
}

const ROWS: Row[] = [
  { key: 'lockPair', title: 'uncontended acquireSync + release in a worker, per pair', unit: 'µs', target: '≤ 2', best: 2 },
  { key: 'pingPong', title: 'two workers ping-pong through two Events, per round trip', unit: 'µs', target: '≤ 1', best: 1 },
  { key: 'counter', title: 'counter: 2 workers × 100 000 locked v.value += 1', unit: 'ms', target: '≤ 1', best: 1 },
  { key: 'smallMessages', title: '100 000 small messages worker → worker through a Queue', unit: 'ms', target: '≤ 0.5', best: 0.5 },
  { key: 'bigMessages', title: '200 messages of 1 MB worker → worker through a Queue', unit: 'ms', target: '≤ 1', best: 1 },
  { key: 'managerDict', title: '10 000 set + get on a Manager dict from a worker', unit: 'ms', target: '≤ 1', best: 1 },
];

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

/** One run of every workload on a warm pool of 2. */
async function procpoolRun(pool: Pool, manager: Manager): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  out.lockPair = await pool.apply(tasks.lockPairs, [new Lock(), LOCK_PAIRS]);
  const [a, b] = [new Event(), new Event()];
  out.pingPong = ((await timed(() => Promise.all([pool.apply(tasks.pingPong, [a, b, PING_ROUNDS, true]), pool.apply(tasks.pingPong, [b, a, PING_ROUNDS, false])]))) * 1000) / PING_ROUNDS;
  const value = new Value('int32', 0);
  out.counter = await timed(() => Promise.all([pool.apply(tasks.count, [value, COUNTER]), pool.apply(tasks.count, [value, COUNTER])]));
  if (value.value !== 2 * COUNTER) throw new Error(`the counter is wrong: ${value.value}`);
  const small = new Queue<unknown>();
  out.smallMessages = await timed(() => Promise.all([pool.apply(tasks.produce, [small, SMALL_MESSAGES, 0]), pool.apply(tasks.consume, [small, SMALL_MESSAGES])]));
  const big = new Queue<unknown>();
  out.bigMessages = await timed(() => Promise.all([pool.apply(tasks.produce, [big, BIG_MESSAGES, BIG_BYTES]), pool.apply(tasks.consume, [big, BIG_MESSAGES])]));
  out.managerDict = await timed(() => pool.apply(tasks.managerOps, [manager.dict<string, number>(), MANAGER_OPS]));
  return out;
}

async function pythonRuns(runs: number): Promise<Record<string, number[]> | string> {
  // The .py file is not compiled: it sits in scripts/, next to this file's source.
  const script = join(__dirname, '..', '..', '..', 'scripts', 'bench', 'peers', 'python_coordination.py');
  try {
    const { stdout } = await promisify(execFile)('python3', [script, String(runs)], { maxBuffer: 1 << 20, timeout: 600_000 });
    return JSON.parse(stdout) as Record<string, number[]>;
  } catch (error) {
    return `Python's side did not run: ${(error as Error).message.split('\n')[0]}`;
  }
}

/** Runs the coordination workloads `runs` times on each side and prints the table. */
export async function runCoordination(runs: number, json?: string): Promise<void> {
  const samples: Record<string, number[]> = Object.fromEntries(ROWS.map((r) => [r.key, []]));
  const pool = new Pool({ processes: 2 });
  const manager = await Manager.start();
  try {
    await procpoolRun(pool, manager); // warm-up: the workers' code optimized, the manager's too
    for (let run = 0; run < runs; run++) {
      process.stderr.write(`\rprocpool run ${run + 1}/${runs}`);
      const figures = await procpoolRun(pool, manager);
      for (const row of ROWS) samples[row.key].push(figures[row.key]);
    }
  } finally {
    await manager.shutdown();
    await pool.close();
    await pool.join();
  }
  process.stderr.write(`\rPython's multiprocessing (${runs} runs)\n`);
  const python = await pythonRuns(runs);
  const rows = ROWS.map((row) => {
    const ours = summarize(samples[row.key]);
    const theirs = typeof python === 'string' ? undefined : summarize(python[row.key] ?? []);
    const ratio = theirs ? ours.median / theirs.median : NaN;
    return [`${row.title} (${row.unit})`, formatSummary(ours), theirs ? formatSummary(theirs) : 'n/a', Number.isNaN(ratio) ? 'n/a' : ratio < 0.1 ? ratio.toPrecision(2) : ratio.toFixed(2), row.target, Number.isNaN(ratio) ? '?' : ratio <= row.best ? 'yes' : 'no'];
  });
  console.log(`\ncoordination — Node ${process.version}, median (min–max) of ${runs} runs; ratio = procpool ÷ Python (same run)\n`);
  console.log(table(['workload', 'procpool', 'Python', 'ratio', 'target', 'met'], rows));
  if (typeof python === 'string') console.log(`\n${python}`);
  if (json) writeFileSync(json, `${JSON.stringify({ runs, procpool: samples, python }, null, 2)}\n`);
}

// `node dist/scripts/bench/coordination.js [--runs N] [--json FILE]`: this half alone.
if (require.main === module) {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, json: { type: 'string' } } });
  runCoordination(Number(values.runs ?? 5), values.json).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
