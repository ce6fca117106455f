// Resident memory of an idle pool, measured in a clean process so the benchmark's own data does not
// count: `node dist/scripts/bench/memory.js <start method>` prints JSON (MB): the parent before the
// pool, the parent with the pool, and each idle worker.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getContext, Pool, type StartMethod } from '../../lib';
import * as tasks from './tasks';

/** Resident set of `pid` in MB, from /proc (Linux), or NaN elsewhere. */
export function rssMb(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** What `memory.js` prints. */
export interface MemoryFigures {
  readonly parentAloneMb: number;
  readonly parentWithPoolMb: number;
  readonly workersMb: number[];
  /** An idle `node` process doing nothing, for comparison. */
  readonly plainNodeMb: number;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 500));

async function plainNodeRss(): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  await settle();
  const rss = rssMb(child.pid as number);
  child.kill('SIGKILL');
  return rss;
}

async function main(method: StartMethod, workers: number): Promise<void> {
  const parentAloneMb = rssMb(process.pid);
  const pool = new Pool({ processes: workers, startMethod: method, execArgv: [] });
  await Promise.all(Array.from({ length: workers }, () => pool.apply(tasks.noop)));
  // Let start-up garbage go and the fork spare (if any) boot before measuring the idle state.
  await settle();
  const parentWithPoolMb = rssMb(process.pid);
  const workersMb = pool.pids.map(rssMb);
  await pool.terminate();
  const figures: MemoryFigures = { parentAloneMb, parentWithPoolMb, workersMb, plainNodeMb: await plainNodeRss() };
  await getContext(method).close();
  process.stdout.write(`${JSON.stringify(figures)}\n`);
}

if (require.main === module) {
  main((process.argv[2] ?? 'spawn') as StartMethod, Number(process.argv[3] ?? 2)).then(
    () => {},
    (error: unknown) => {
      process.stderr.write(`memory: ${String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
