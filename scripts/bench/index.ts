// `npm run bench`: procpool (each start method) and the same work in this process, on the same
// workloads, in one run; medians with min–max, and each figure's ratio to procpool (spawn).
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { getContext } from '../../lib';
import { Progress } from '../lib/progress';
import { formatSummary, formatValue, summarize, table, type Summary } from '../lib/stats';
import { renderChart } from '../lib/svg-chart';
import type { Adapter, BenchPool } from './adapter';
import { jestWorkerAdapter } from './peers/jest-worker';
import { piscinaAdapter } from './peers/piscina';
import { pythonAdapter } from './peers/python';
import { tinypoolAdapter } from './peers/tinypool';
import { workerpoolAdapter } from './peers/workerpool';
import type { MemoryFigures } from './memory';
import { runCoordination } from './coordination';
import { closeProcpoolContexts, procpoolAdapter } from './procpool';
import { clusterBench } from './cluster';
import { serialAdapter } from './serial';

interface Workload {
  readonly key: string;
  readonly title: string;
  readonly unit: 'ms' | 'µs';
  /** Runs once on an open pool; resolves with the figure. */
  run(pool: BenchPool): Promise<number | undefined>;
}

const WORKERS = 2;
const BIG_ARRAY_BYTES = 8 * 1024 * 1024;

const SHARED_ROUNDS = 16;
/** The big workloads' arrays, made once per run (their creation is not timed). */
let bigInputs: Float64Array[] | undefined;

async function checkedSums(p: BenchPool, arrays: Float64Array[]): Promise<void> {
  const sums = await p.sums(arrays);
  if (sums[31] !== 31.5 * (BIG_ARRAY_BYTES / 8)) throw new Error(`wrong sum: ${sums[31]}`);
}

function bigArrays(count: number): Float64Array[] {
  return Array.from({ length: count }, (_, k) => new Float64Array(BIG_ARRAY_BYTES / 8).fill(k + 0.5));
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

const WORKLOADS: Workload[] = [
  // The same burst twice: first on the new pool (its workers' code not yet optimized by V8), then
  // again (the steady state of a long-lived pool).
  { key: 'noopCold', title: '20 000 no-op applyAsync, all awaited: first burst on a new pool', unit: 'ms', run: (p) => timed(() => p.noopBurst(20_000)) },
  { key: 'noop', title: '20 000 no-op applyAsync, all awaited: next burst', unit: 'ms', run: (p) => timed(() => p.noopBurst(20_000)) },
  {
    key: 'map200k',
    title: 'map of 200 000 no-ops, default chunksize',
    unit: 'ms',
    run: async (p) => (p.mapNoops ? timed(() => (p.mapNoops as (n: number) => Promise<void>)(200_000)) : undefined),
  },
  {
    key: 'map20k',
    title: 'map of 20 000 no-ops, default chunksize',
    unit: 'ms',
    run: async (p) => (p.mapNoops ? timed(() => (p.mapNoops as (n: number) => Promise<void>)(20_000)) : undefined),
  },
  { key: 'cpu', title: '64 × fib(30)', unit: 'ms', run: (p) => timed(() => p.fib(new Array<number>(64).fill(30))) },
  // The same 32 arrays twice: on the new pool, then again (what a long-lived pool sees).
  {
    key: 'bigCold',
    title: '32 × 8 MB Float64Array → sum: first burst on a new pool',
    unit: 'ms',
    run: async (p) => {
      bigInputs = bigArrays(32);
      return timed(() => checkedSums(p, bigInputs as Float64Array[]));
    },
  },
  {
    key: 'big',
    title: '32 × 8 MB Float64Array → sum: next burst',
    unit: 'ms',
    run: (p) => timed(() => checkedSums(p, bigInputs as Float64Array[])),
  },
  {
    key: 'shared',
    title: `64 MB of shared doubles, 2 workers, ${SHARED_ROUNDS} rounds of "fill your half, sum the other"`,
    unit: 'ms',
    run: async (p) => (p.sharedRounds ? p.sharedRounds(SHARED_ROUNDS) : undefined),
  },
  {
    key: 'latency',
    title: 'one task round trip, idle pool (p50)',
    unit: 'µs',
    run: async (p) => {
      const samples: number[] = [];
      for (let i = 0; i < 300; i++) samples.push((await timed(() => p.one())) * 1000);
      return summarize(samples).median;
    },
  },
];

const STARTUP: Omit<Workload, 'run'> = { key: 'startup', title: `new pool (${WORKERS} workers) → first ${WORKERS} results`, unit: 'ms' };

interface Options {
  readonly runs: number;
  readonly only?: string;
  readonly json?: string;
  readonly svg?: string;
}

/** Untimed preparation that a start method is designed around (a warm reserve, a running template). */
async function prepare(adapter: Adapter): Promise<void> {
  if (adapter.name === 'procpool (fork)') await getContext('fork').prewarm(WORKERS);
  if (adapter.name === 'procpool (forkserver)') await getContext('forkserver').forkserverStatus();
}

/** Idle RSS per start method, each measured in a fresh parent process (see memory.ts). */
async function memoryTable(): Promise<{ lines: string[]; figures: Record<string, MemoryFigures> }> {
  const figures: Record<string, MemoryFigures> = {};
  for (const method of ['spawn', 'fork', 'forkserver']) {
    const { stdout } = await promisify(execFile)(process.execPath, [require.resolve('./memory'), method, String(WORKERS)]);
    figures[method] = JSON.parse(stdout) as MemoryFigures;
  }
  const mb = (n: number) => n.toFixed(1);
  const rows = Object.entries(figures).map(([method, f]) => [
    `  procpool (${method})`,
    mb(f.parentAloneMb),
    mb(f.parentWithPoolMb),
    f.workersMb.map(mb).join(', '),
    mb(f.plainNodeMb),
  ]);
  return {
    lines: [`resident memory, idle pool of ${WORKERS} workers (MB)`, ...table(['  pool', 'parent before', 'parent with pool', 'each worker', 'idle `node -e`'], rows).split('\n'), ''],
    figures,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string' }, only: { type: 'string' }, json: { type: 'string' }, svg: { type: 'string' }, cluster: { type: 'boolean' } },
  });
  if (values.cluster) return clusterBench(Number(values.runs ?? 3));
  const options: Options = { runs: Number(values.runs ?? 5), only: values.only, json: values.json, svg: values.svg };
  const candidates: Adapter[] = [
    procpoolAdapter('spawn'),
    procpoolAdapter('fork'),
    procpoolAdapter('forkserver'),
    piscinaAdapter,
    workerpoolAdapter,
    tinypoolAdapter,
    jestWorkerAdapter,
    pythonAdapter('fork'),
    serialAdapter,
  ];
  const adapters: Adapter[] = [];
  for (const adapter of candidates) {
    // --only keeps the named adapters, plus procpool (spawn), the reference.
    if (options.only && !options.only.split(',').some((name) => adapter.name.includes(name)) && adapter !== candidates[0]) continue;
    const available = await adapter.available();
    if (available === true) adapters.push(adapter);
    else process.stderr.write(`skipping ${adapter.name}: ${available}\n`);
  }
  const keys = [STARTUP.key, ...WORKLOADS.map((w) => w.key)];
  const samples = new Map(adapters.map((a) => [a, new Map<string, number[]>(keys.map((k) => [k, []]))]));
  const inProcess = adapters.filter((a) => a.open);
  const progress = new Progress(options.runs * inProcess.length + adapters.filter((a) => a.external).length);
  for (let run = 0; run < options.runs; run++) {
    // Adapters take turns within a run, so a noisy moment does not fall on one of them only.
    for (const adapter of inProcess) {
      progress.draw(`run ${run + 1}/${options.runs}: ${adapter.name}`);
      const bucket = samples.get(adapter) as Map<string, number[]>;
      await prepare(adapter);
      const t0 = performance.now();
      const pool = await (adapter.open as NonNullable<Adapter['open']>)(WORKERS);
      (bucket.get(STARTUP.key) as number[]).push(performance.now() - t0);
      for (const workload of WORKLOADS) {
        const figure = await workload.run(pool);
        if (figure !== undefined) (bucket.get(workload.key) as number[]).push(figure);
      }
      await pool.close();
      progress.tick(`run ${run + 1}/${options.runs}: ${adapter.name} done`);
    }
  }
  for (const adapter of adapters.filter((a) => a.external)) {
    progress.draw(`${adapter.name} (${options.runs} runs)`);
    const figures = await (adapter.external as NonNullable<Adapter['external']>)(WORKERS, options.runs);
    const bucket = samples.get(adapter) as Map<string, number[]>;
    for (const [key, values] of Object.entries(figures)) bucket.get(key)?.push(...values);
    progress.tick(`${adapter.name} done`);
  }
  progress.finish();
  await closeProcpoolContexts();
  const memory = await memoryTable();

  const summaries = new Map(adapters.map((a) => [a, new Map(keys.map((k) => [k, summarize((samples.get(a) as Map<string, number[]>).get(k) as number[])]))]));
  const reference = adapters[0];
  const nameWidth = Math.max(...adapters.map((a) => a.name.length));
  const lines: string[] = [];
  for (const w of [STARTUP, ...WORKLOADS]) {
    lines.push(`${w.title} (${w.unit})`);
    const base = (summaries.get(reference) as Map<string, Summary>).get(w.key) as Summary;
    const rows = adapters.map((a) => {
      const s = (summaries.get(a) as Map<string, Summary>).get(w.key) as Summary;
      const ratio = a === reference || Number.isNaN(s.median) ? '' : `×${(s.median / base.median).toFixed(2)}`;
      return [a.name.padEnd(nameWidth), Number.isNaN(s.median) ? 'n/a' : formatSummary(s), ratio];
    });
    lines.push(...table(['  pool', 'median (min–max)', `vs ${reference.name}`], rows.map(([n, v, r]) => [`  ${n}`, v, r])).split('\n'), '');
  }
  // One line per workload, one column per pool: the medians at a glance.
  const compact = table(
    ['workload (median)', ...adapters.map((a) => a.short)],
    [STARTUP, ...WORKLOADS].map((w) => [
      `${w.key} (${w.unit})`,
      ...adapters.map((a) => formatValue(((summaries.get(a) as Map<string, Summary>).get(w.key) as Summary).median)),
    ]),
  ).split('\n');
  const date = new Date().toISOString().slice(0, 10);
  process.stdout.write(
    [
      `procpool benchmark — ${date}, Node ${process.version}, ${cpus().length} CPUs, ${WORKERS} workers, median (min–max) of ${options.runs} runs`,
      '',
      ...lines,
      ...memory.lines,
      'summary: medians (procpool columns: spawn, fork, forkserver)',
      ...compact,
      '',
      `×N: each pool's median relative to ${reference.name} in the same run (above 1 is slower).`,
      'procpool (fork): its context prewarmed the workers (untimed); procpool (forkserver): its template was running (untimed).',
      'Peers without a map (piscina, workerpool, tinypool, jest-worker) show n/a for the map rows; Python runs no fib.',
      '',
    ].join('\n'),
  );
  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    workers: WORKERS,
    runs: options.runs,
    results: adapters.map((a) => ({ name: a.name, figures: Object.fromEntries(summaries.get(a) as Map<string, Summary>) })),
    memoryMb: memory.figures,
  };
  if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
  if (options.svg) {
    const panels = [STARTUP, ...WORKLOADS].map((w) => ({
      title: w.title,
      unit: w.unit,
      bars: adapters
        .map((a) => ({ label: a.name, value: (summaries.get(a) as Map<string, Summary>).get(w.key) as Summary }))
        .filter((bar) => !Number.isNaN(bar.value.median)),
    }));
    writeFileSync(options.svg, renderChart('procpool benchmark', `${date} · Node ${process.version} · ${WORKERS} workers · median, whiskers min–max of ${options.runs} runs`, panels));
  }
  // Locks, events, queues and the Manager against Python's multiprocessing (--only coordination: this alone).
  if (!options.only || options.only.includes('coordination')) await runCoordination(options.runs);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
