// `npm run service-demo`: a small node:http service that renders markdown (marked) in a procpool
// pool, driven by autocannon for `--duration` s with no fault, then for as long while one of its
// workers is SIGKILLed every `--kill-every` ms, for each start method (`--repeat` times,
// alternating). Prints requests served, p50/p99 latency, failed and hung requests, and the
// with-kills ÷ without-kills ratios. `--warm N`: workers render N samples in their initializer first.
// `--json FILE` writes the figures; spec/service-demo.spec.ts runs a short version.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { summarize, table } from '../lib/stats';
import type { ServerReport } from './server';

/** One load run against one server. */
export interface DemoRun {
  readonly startMethod: string;
  readonly killEveryMs: number;
  /** Requests answered 2xx. */
  readonly served: number;
  readonly requestsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Requests answered with a non-2xx status, by status (from the server's count). */
  readonly failed: Record<string, number>;
  /** Requests that got no answer: connection errors and timeouts (autocannon's count). */
  readonly hung: number;
  readonly kills: number;
  readonly slowestFailureMs: number;
}

async function runOnce(startMethod: string, killEveryMs: number, durationS: number, connections: number, server: readonly string[]): Promise<DemoRun> {
  const args = ['--start-method', startMethod, '--kill-every', String(killEveryMs), ...server];
  const child = spawn(process.execPath, [join(__dirname, 'server.js'), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const next = async (): Promise<Record<string, unknown>> => {
    const [line] = (await once(lines, 'line')) as [string];
    return JSON.parse(line) as Record<string, unknown>;
  };
  try {
    const { port } = (await next()) as { port: number };
    const result = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: durationS, timeout: 10 });
    const reported = next();
    child.kill('SIGTERM');
    const report = (await reported) as unknown as ServerReport;
    await once(child, 'exit');
    return {
      startMethod,
      killEveryMs,
      served: result['2xx'],
      requestsPerSecond: result['2xx'] / result.duration,
      p50Ms: result.latency.p50,
      p99Ms: result.latency.p99,
      failed: report.failed,
      hung: result.errors + result.timeouts,
      kills: report.kills,
      slowestFailureMs: report.slowestFailureMs,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      methods: { type: 'string', default: 'fork,spawn' },
      duration: { type: 'string', default: '10' },
      'kill-every': { type: 'string', default: '1000' },
      connections: { type: 'string', default: '8' },
      // 'fork': spares kept booted; one per worker boot that a kill rate can overlap.
      spares: { type: 'string', default: '1' },
      // Renders each worker does in its initializer, warming V8 up before it takes requests.
      warm: { type: 'string', default: '0' },
      // 'markdown' (marked: JavaScript that V8 must warm up in each new worker) or 'pbkdf2' (native).
      handler: { type: 'string', default: 'markdown' },
      repeat: { type: 'string', default: '1' },
      json: { type: 'string' },
    },
  });
  const duration = Number(values.duration);
  const killEvery = Number(values['kill-every']);
  const connections = Number(values.connections);
  const repeat = Number(values.repeat);
  const server = ['--spares', values.spares, '--warm', values.warm, '--handler', values.handler];
  const runs: DemoRun[] = [];
  const rows: string[][] = [];
  const median = (xs: number[]): number => summarize(xs).median;
  for (const method of values.methods.split(',')) {
    // Back to back, alternating, `repeat` times: the no-fault run, then the run with kills. The
    // ratios are of medians, so a change in the machine's other load weighs on both alike.
    const calm: DemoRun[] = [];
    const faulty: DemoRun[] = [];
    for (let i = 0; i < repeat; i++) {
      calm.push(await runOnce(method, 0, duration, connections, server));
      faulty.push(await runOnce(method, killEvery, duration, connections, server));
    }
    runs.push(...calm, ...faulty);
    for (const group of [calm, faulty]) {
      const failed: Record<string, number> = {};
      for (const run of group) for (const [status, n] of Object.entries(run.failed)) failed[status] = (failed[status] ?? 0) + n;
      rows.push([
        method,
        group[0].killEveryMs ? `SIGKILL every ${group[0].killEveryMs} ms (${group.reduce((n, r) => n + r.kills, 0)})` : 'no fault',
        String(group.reduce((n, r) => n + r.served, 0)),
        median(group.map((r) => r.requestsPerSecond)).toFixed(0),
        median(group.map((r) => r.p50Ms)).toFixed(1),
        median(group.map((r) => r.p99Ms)).toFixed(1),
        Object.entries(failed).map(([status, n]) => `${n}×${status}`).join(' ') || '0',
        group[0].killEveryMs ? Math.max(...group.map((r) => r.slowestFailureMs)).toFixed(1) : '-',
        String(group.reduce((n, r) => n + r.hung, 0)),
      ]);
    }
    const ratio = (pick: (r: DemoRun) => number): string => `×${(median(faulty.map(pick)) / median(calm.map(pick))).toFixed(2)}`;
    rows.push([method, 'with kills ÷ without', '', ratio((r) => r.requestsPerSecond), '', ratio((r) => r.p99Ms), '', '', '']);
  }
  const warmth = Number(values.warm) > 0 ? `, workers warmed by ${values.warm} renders in their initializer` : '';
  const work = values.handler === 'pbkdf2' ? 'PBKDF2 key derivation (node:crypto)' : 'markdown rendering (marked)';
  console.log(`service demo: ${work} behind node:http, autocannon ${connections} connections, ${duration} s per run${warmth}`);
  if (repeat > 1) console.log(`${repeat} runs of each, alternating: served, failed, hung and kills are totals; req/s, p50 and p99 medians`);
  console.log(table(['start method', 'run', 'served', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'slowest failure ms', 'hung'], rows));
  if (values.json) writeFileSync(values.json, JSON.stringify(runs, null, 2));
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
