// `npm run test:stress`: runs `npm test` several times in a row while other processes spin on
// every core, as on a busy CI machine. Every run must pass: no spec may depend on the machine's
// speed. Options: --runs N (default 3), --spinners N (default: one per CPU), --command "..."
// (default "npm test").
import { spawn, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';

function count(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${value}`);
  return n;
}

function runOnce(command: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, spinners: { type: 'string' }, command: { type: 'string' } } });
  const runs = count(values.runs, 'runs', 3);
  const spinnerCount = count(values.spinners, 'spinners', availableParallelism());
  const command = values.command ?? 'npm test';
  const spinners: ChildProcess[] = [];
  const stop = (): void => {
    for (const s of spinners) s.kill('SIGKILL');
  };
  process.on('exit', stop);
  process.on('SIGINT', () => process.exit(130));
  for (let i = 0; i < spinnerCount; i++) spinners.push(spawn(process.execPath, ['-e', 'for(;;);'], { stdio: 'ignore' }));
  const results: { run: number; code: number; seconds: number }[] = [];
  for (let run = 1; run <= runs; run++) {
    process.stderr.write(`\n=== stress run ${run}/${runs}: \`${command}\` with ${spinnerCount} CPU spinners ===\n`);
    const started = Date.now();
    const code = await runOnce(command);
    results.push({ run, code, seconds: (Date.now() - started) / 1000 });
    if (code !== 0) break;
  }
  stop();
  process.stderr.write('\nstress summary\n');
  for (const r of results) process.stderr.write(`  run ${r.run}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds.toFixed(0)} s\n`);
  const failed = results.some((r) => r.code !== 0);
  process.exitCode = failed ? 1 : 0;
}

void main();
