#!/usr/bin/env node
// procpool's command line: `procpool compare [options]` (also `npm start`), `procpool agent [options]`.
import { parseArgs } from 'node:util';
import { getAllStartMethods, type StartMethod } from '../lib';
import { compare } from './compare';
import { runAgent, AGENT_USAGE } from './agent';

const USAGE = `Usage: procpool compare [options]
       procpool agent --redis URL --queue NAME [options]   (procpool agent --help)

Runs the same workload under each start method (spawn, fork, forkserver), with and without a heavy
preload module, and prints a table of medians (min–max) of several runs.

Options:
  --methods LIST     comma-separated start methods (default: spawn,fork,forkserver)
  --workers N        pool size (default: 2)
  --runs N           runs per figure (default: 5)
  --tasks N          no-op tasks per overhead measurement (default: 2000)
  --cpu-tasks N      fib(30) tasks in the CPU-bound batch (default: 32)
  --no-heavy         skip the heavy-preload variants
  --json [FILE]      also write the results as JSON (to stdout without FILE)
  --svg FILE         also write an SVG bar chart
  -h, --help         show this help
`;

function positiveInteger(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${value}`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '-h' || command === '--help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === 'agent') return runAgent(rest);
  if (command !== 'compare') throw new Error(`unknown command '${command}'\n\n${USAGE}\n${AGENT_USAGE}`);
  const jsonIndex = rest.indexOf('--json');
  // `--json` may stand alone (stdout) or take a file name.
  let json: string | true | undefined;
  if (jsonIndex >= 0) {
    const next = rest[jsonIndex + 1];
    json = next && !next.startsWith('--') ? next : true;
    rest.splice(jsonIndex, json === true ? 1 : 2);
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      methods: { type: 'string' },
      workers: { type: 'string' },
      runs: { type: 'string' },
      tasks: { type: 'string' },
      'cpu-tasks': { type: 'string' },
      'no-heavy': { type: 'boolean' },
      svg: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const all = getAllStartMethods();
  const methods = (values.methods ?? all.join(',')).split(',').map((m) => m.trim()) as StartMethod[];
  const unknown = methods.filter((m) => !all.includes(m));
  if (unknown.length) throw new Error(`unknown start method(s): ${unknown.join(', ')} (known: ${all.join(', ')})`);
  await compare({
    methods,
    workers: positiveInteger(values.workers, 'workers', 2),
    runs: positiveInteger(values.runs, 'runs', 5),
    tasks: positiveInteger(values.tasks, 'tasks', 2000),
    cpuTasks: positiveInteger(values['cpu-tasks'], 'cpu-tasks', 32),
    heavy: !values['no-heavy'],
    json,
    svg: values.svg,
  });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`procpool: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
