// `npm run service-demo`: a small node:http service that renders markdown (marked) in a procpool
// pool, driven by autocannon for `--duration` s with no fault, then for as long while one of its
// workers is SIGKILLed every `--kill-every` ms, for each start method. Prints requests served,
// p50/p99 latency, failed and hung requests, and the with-kills ÷ without-kills ratios.
// `--json FILE` writes the figures; spec/service-demo.spec.ts runs a short version.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { table } from '../lib/stats';
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

async function runOnce(startMethod: string, killEveryMs: number, durationS: number, connections: number): Promise<DemoRun> {
  const server = spawn(process.execPath, [join(__dirname, 'server.js'), '--start-method', startMethod, '--kill-every', String(killEveryMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: server.stdout });
  const next = async (): Promise<Record<string, unknown>> => {
    const [line] = (await once(lines, 'line')) as [string];
    return JSON.parse(line) as Record<string, unknown>;
  };
  try {
    const { port } = (await next()) as { port: number };
    const result = await autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: durationS, timeout: 10 });
    const reported = next();
    server.kill('SIGTERM');
    const report = (await reported) as unknown as ServerReport;
    await once(server, 'exit');
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
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      methods: { type: 'string', default: 'fork,spawn' },
      duration: { type: 'string', default: '10' },
      'kill-every': { type: 'string', default: '1000' },
      connections: { type: 'string', default: '8' },
      json: { type: 'string' },
    },
  });
  const duration = Number(values.duration);
  const killEvery = Number(values['kill-every']);
  const connections = Number(values.connections);
  const runs: DemoRun[] = [];
  const rows: string[][] = [];
  for (const method of values.methods.split(',')) {
    // Back to back: the no-fault run, then the run with kills.
    const calm = await runOnce(method, 0, duration, connections);
    const faulty = await runOnce(method, killEvery, duration, connections);
    runs.push(calm, faulty);
    for (const run of [calm, faulty]) {
      const failed = Object.entries(run.failed).map(([status, n]) => `${n}×${status}`).join(' ') || '0';
      rows.push([
        method,
        run.killEveryMs ? `SIGKILL every ${run.killEveryMs} ms (${run.kills})` : 'no fault',
        String(run.served),
        run.requestsPerSecond.toFixed(0),
        run.p50Ms.toFixed(1),
        run.p99Ms.toFixed(1),
        failed,
        run.slowestFailureMs ? run.slowestFailureMs.toFixed(1) : '-',
        String(run.hung),
      ]);
    }
    rows.push([
      method,
      'with kills ÷ without',
      '',
      `×${(faulty.requestsPerSecond / calm.requestsPerSecond).toFixed(2)}`,
      '',
      `×${(faulty.p99Ms / calm.p99Ms).toFixed(2)}`,
      '',
      '',
      '',
    ]);
  }
  console.log(`service demo: markdown rendering (marked) behind node:http, autocannon ${connections} connections, ${duration} s per run`);
  console.log(table(['start method', 'run', 'served', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'slowest failure ms', 'hung'], rows));
  if (values.json) writeFileSync(values.json, JSON.stringify(runs, null, 2));
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
