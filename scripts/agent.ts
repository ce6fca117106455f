// `procpool agent`: serve a cluster queue with local worker processes until SIGTERM.
import { parseArgs } from 'node:util';
import { Agent } from '../lib/cluster/agent';
import type { StartMethod } from '../lib';

export const AGENT_USAGE = `Usage: procpool agent --redis URL --queue NAME [options]

Runs the chunks that Pools created with { cluster: { redis: URL, queue: NAME } } submit, in local
worker processes. Task modules are resolved under --root (the project that holds them); no code
travels through Redis. SIGTERM (or Ctrl-C): take no new chunk, finish the running ones, exit.

Options:
  --redis URL            redis:// or rediss:// URL (required)
  --queue NAME           queue to serve (required)
  --processes N          local worker processes (default: 1)
  --start-method M       spawn, fork or forkserver (default: spawn)
  --preload MODULE       module every worker loads first (repeatable)
  --root DIR             project root for task modules (default: the current directory)
  --progress-every MS    how often to print progress, 0 for never (default: 5000)
`;

function line(text: string): void {
  process.stdout.write(`[procpool agent ${new Date().toISOString()}] ${text}\n`);
}

/** Parses `argv` (after `agent`), runs the agent, and resolves once it has stopped after a signal. */
export async function runAgent(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      redis: { type: 'string' },
      queue: { type: 'string' },
      processes: { type: 'string' },
      'start-method': { type: 'string' },
      preload: { type: 'string', multiple: true },
      root: { type: 'string' },
      'progress-every': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(AGENT_USAGE);
    return;
  }
  if (!values.redis || !values.queue) throw new Error(`--redis and --queue are required\n\n${AGENT_USAGE}`);
  const processes = Number(values.processes ?? 1);
  if (!Number.isInteger(processes) || processes < 1) throw new Error(`--processes must be a positive integer, got ${values.processes}`);
  const every = Number(values['progress-every'] ?? 5000);
  const agent = new Agent({
    redis: values.redis,
    queue: values.queue,
    processes,
    startMethod: values['start-method'] as StartMethod | undefined,
    preload: values.preload,
    root: values.root,
  });
  await agent.start();
  line(`serving: ${agent.describe()}`);
  const c = agent.counts;
  const summary = () => `${c.done} chunks done (${c.items} items), ${c.failed} failed, ${c.dropped} dropped, ${c.running} running`;
  let last = '';
  const progress = every > 0 ? setInterval(() => {
    const now = summary();
    if (now !== last) line(now);
    last = now;
  }, every) : undefined;
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.removeAllListeners('SIGTERM');
      process.removeAllListeners('SIGINT');
      // A second signal while finishing: leave now (the local workers follow their parent).
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      line(`${signal}: taking no new chunks, finishing ${c.running} running`);
      agent.stop().then(resolve, (error: unknown) => {
        line(`stop failed: ${(error as Error).message}`);
        resolve();
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  clearInterval(progress);
  line(`stopped: ${summary()}`);
}
