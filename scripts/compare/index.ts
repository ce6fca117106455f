// The start-method comparison (`npm start`, `npx procpool compare`): the same workload under every
// start method, with and without a heavy preload module, each figure the median of several runs.
import { statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { getContext, Pool, setForkserverPreload, type StartMethod } from '../../lib';
import { Progress } from '../lib/progress';
import { formatSummary, summarize, table, type Summary } from '../lib/stats';
import { renderChart } from '../lib/svg-chart';
import { heavyModule } from './heavy';
import * as workload from './workload';

/** What to compare. */
export interface CompareOptions {
  readonly methods: readonly StartMethod[];
  readonly workers: number;
  readonly runs: number;
  /** No-op tasks per overhead measurement. */
  readonly tasks: number;
  /** fib(30) tasks in the CPU-bound batch. */
  readonly cpuTasks: number;
  readonly heavy: boolean;
  readonly json?: string | true;
  readonly svg?: string;
}

const METRICS = {
  start: { title: 'new Pool → first result', unit: 'ms' },
  replace: { title: 'replace a killed worker (kill → next result)', unit: 'ms' },
  perTask: { title: 'per-task overhead (no-op applyAsync burst)', unit: 'µs' },
  cpu: { title: 'CPU-bound batch (fib(30) tasks)', unit: 'ms' },
} as const;
type Metric = keyof typeof METRICS;

interface Variant {
  readonly method: StartMethod;
  readonly preload: 'none' | 'heavy';
}

interface VariantResult extends Variant {
  readonly metrics: Record<Metric, Summary>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(10);
}

/** Gets a start method ready the way it is meant to be used, outside the timed part. */
async function prepare(variant: Variant, workers: number, preload: string[]): Promise<void> {
  if (variant.method === 'fork') await getContext('fork').prewarm(workers, { preload });
  if (variant.method === 'forkserver') {
    setForkserverPreload(preload);
    await getContext('forkserver').forkserverStatus();
  }
}

async function measureRun(variant: Variant, options: CompareOptions, progress: Progress): Promise<Record<Metric, number>> {
  const label = `${variant.method}${variant.preload === 'heavy' ? ' + heavy preload' : ''}`;
  const preload = variant.preload === 'heavy' ? [heavyModule()] : [];
  await prepare(variant, options.workers, preload);

  progress.draw(`${label}: start`);
  let t0 = performance.now();
  const pool = new Pool({ processes: options.workers, startMethod: variant.method, preload });
  await pool.apply(workload.noop);
  const start = performance.now() - t0;
  progress.tick(`${label}: per-task overhead`);

  await pool.ready();
  // Steady state: fork's spare boots in the background once; it should not land in these figures.
  if (variant.method === 'fork') await until(() => pool.stats().spares > 0, 10_000);
  t0 = performance.now();
  await Promise.all(Array.from({ length: options.tasks }, () => pool.applyAsync(workload.noop)));
  const perTask = ((performance.now() - t0) / options.tasks) * 1000;
  progress.tick(`${label}: CPU batch`);

  t0 = performance.now();
  await pool.map(workload.fib, new Array<number>(options.cpuTasks).fill(30), { chunksize: 1 });
  const cpu = performance.now() - t0;
  await pool.terminate();
  progress.tick(`${label}: replace a worker`);

  const single = new Pool({ processes: 1, startMethod: variant.method, preload });
  const victim = await single.apply(workload.pid);
  await single.apply(workload.noop);
  if (variant.method === 'fork') await until(() => single.stats().spares > 0, 10_000);
  t0 = performance.now();
  process.kill(victim, 'SIGKILL');
  let replacement = victim;
  for (let attempt = 0; replacement === victim && attempt < 5; attempt++) {
    replacement = await single.apply(workload.pid).catch(() => victim);
  }
  if (replacement === victim) throw new Error(`${label}: the killed worker was not replaced`);
  const replace = performance.now() - t0;
  await single.terminate();
  progress.tick(`${label}: done`);
  return { start, replace, perTask, cpu };
}

function serialCpuMs(count: number): number {
  const t0 = performance.now();
  for (let i = 0; i < count; i++) workload.fib(30);
  return performance.now() - t0;
}

/** Runs the comparison and prints (and optionally writes) the results. */
export async function compare(options: CompareOptions): Promise<VariantResult[]> {
  const variants: Variant[] = [];
  for (const method of options.methods) {
    variants.push({ method, preload: 'none' });
    if (options.heavy) variants.push({ method, preload: 'heavy' });
  }
  if (options.heavy) heavyModule();
  const progress = new Progress(variants.length * options.runs * 4);
  const samples = new Map<Variant, Record<Metric, number[]>>(variants.map((v) => [v, { start: [], replace: [], perTask: [], cpu: [] }]));
  const serial: number[] = [];
  // One untimed round first: the forkserver template starts, the OS caches the files.
  for (const variant of variants) await measureRun(variant, { ...options, tasks: 100, cpuTasks: 2 }, new Progress(0));
  for (let run = 0; run < options.runs; run++) {
    serial.push(serialCpuMs(options.cpuTasks));
    // Interleave the variants so that a noisy moment does not land on one method only.
    for (const variant of variants) {
      const figures = await measureRun(variant, options, progress);
      const bucket = samples.get(variant) as Record<Metric, number[]>;
      for (const metric of Object.keys(METRICS) as Metric[]) bucket[metric].push(figures[metric]);
    }
  }
  progress.finish();
  await getContext('fork').close();
  await getContext('forkserver').close();

  const results: VariantResult[] = variants.map((v) => {
    const bucket = samples.get(v) as Record<Metric, number[]>;
    return { ...v, metrics: { start: summarize(bucket.start), replace: summarize(bucket.replace), perTask: summarize(bucket.perTask), cpu: summarize(bucket.cpu) } };
  });
  const serialSummary = summarize(serial);
  const ideal = serialSummary.median / Math.min(options.workers, availableParallelism());
  const baseline = (metric: Metric, preload: Variant['preload']) =>
    results.find((r) => r.method === 'spawn' && r.preload === preload)?.metrics[metric].median;
  const cell = (r: VariantResult, metric: Metric) => {
    const base = baseline(metric, r.preload);
    const ratio = base ? ` ×${(r.metrics[metric].median / base).toFixed(2)}` : '';
    return `${formatSummary(r.metrics[metric])}${ratio}`;
  };
  const rows = results.map((r) => [`${r.method}${r.preload === 'heavy' ? ' + heavy' : ''}`, cell(r, 'start'), cell(r, 'replace'), cell(r, 'perTask'), cell(r, 'cpu')]);
  const header = ['start method', 'start (ms)', 'replace (ms)', 'per task (µs)', `CPU batch (ms)`];
  const lines = [
    `procpool start-method comparison — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} CPUs, ${options.workers} workers, median (min–max) of ${options.runs} runs`,
    '',
    table(header, rows),
    '',
    '×N: ratio to spawn with the same preload, measured in the same run (lower is faster).',
    `CPU batch: ${options.cpuTasks} × fib(30); serial in this process ${formatSummary(serialSummary)} ms, ideal with ${options.workers} workers ≈ ${ideal.toFixed(0)} ms.`,
    'start: fork takes processes its context prewarmed; forkserver has its template running (not timed).',
    options.heavy
      ? `heavy: a generated ${(statSync(heavyModule()).size / 1e6).toFixed(1)} MB CommonJS module preloaded by every worker (${heavyModule()}).`
      : 'heavy: not run (--no-heavy).',
    'per task and CPU batch: measured once the pool is steady (fork: after its spare has booted).',
    'replace: one worker is SIGKILLed; time until a task has run on its replacement.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  const json = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    workers: options.workers,
    runs: options.runs,
    serialCpuMs: serialSummary,
    results,
  };
  if (options.json === true) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  else if (options.json) writeFileSync(options.json, `${JSON.stringify(json, null, 2)}\n`);
  if (options.svg) {
    const panels = (Object.keys(METRICS) as Metric[]).map((metric) => ({
      title: METRICS[metric].title,
      unit: METRICS[metric].unit,
      bars: results.map((r) => ({ label: `${r.method}${r.preload === 'heavy' ? ' + heavy preload' : ''}`, value: r.metrics[metric] })),
    }));
    writeFileSync(
      options.svg,
      renderChart(
        'procpool: start methods compared',
        `${new Date().toISOString().slice(0, 10)} · Node ${process.version} · ${options.workers} workers · median, whiskers min–max of ${options.runs} runs`,
        panels,
      ),
    );
    process.stderr.write(`chart written to ${options.svg}\n`);
  }
  return results;
}
