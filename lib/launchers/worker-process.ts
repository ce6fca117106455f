import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ExitStatus, WorkerProcess } from '../channel/worker-process';
import { WorkerChannel } from '../channel/worker-channel';
import { workerEntry } from './entry';
import type { LaunchOptions } from './launcher';
import { killGroup, trackGroup, untrackGroup } from '../platform/reaper';
import { StderrTail } from './stderr-tail';

let workerCount = 0;

/** `PoolWorker-3`: a process-wide counter, as Python numbers its processes. */
export function nextWorkerName(prefix: string): string {
  return `${prefix}-${++workerCount}`;
}

/** The parts of a started process that every launcher has, however it got them. */
export interface ProcessParts {
  readonly pid: number;
  readonly name: string;
  readonly input: Writable;
  readonly output: Readable;
  readonly stderr: Readable | null;
  /** Resolves with how the process ended (as its parent saw it). */
  readonly ended: Promise<ExitStatus>;
  /** Handles that keep the event loop alive while the pool is busy. */
  readonly refHandles: readonly { ref?(): void; unref?(): void }[];
}

/** Assembles a worker process from its parts: stderr tail, group kill on exit, ref control. */
export function workerProcess(parts: ProcessParts): WorkerProcess {
  const { pid } = parts;
  if (pid) trackGroup(pid);
  const tail = new StderrTail();
  parts.stderr?.on('data', (chunk: Buffer) => {
    tail.push(chunk);
    process.stderr.write(chunk);
  });
  // A write to a worker that just died fails with EPIPE; its death is reported through `exited`.
  parts.input.on('error', () => {});
  parts.output.on('error', () => {});
  const exited = parts.ended.then((status) => {
    // Kill the group right after the leader is gone: anything the worker's tasks started dies
    // with it. Done before the pid could plausibly be reused (that needs a whole pid-space wrap).
    killGroup(pid, 'SIGKILL');
    untrackGroup(pid);
    return status;
  });
  const all = [...parts.refHandles, parts.stderr as { unref?(): void } | null];
  return {
    pid,
    name: parts.name,
    input: parts.input,
    output: parts.output,
    exited,
    stderrTail: () => tail.lines(),
    kill: (signal) => killGroup(pid, signal),
    ref: () => {
      for (const h of parts.refHandles) h.ref?.();
    },
    unref: () => {
      for (const h of all) h?.unref?.();
    },
  };
}

/** Arguments the worker entry understands (see `worker/main.ts`). */
export interface WorkerArgs {
  /** The process whose death must end the worker (its parent unless a template started it). */
  readonly owner: number;
  /** A directory of V8 code cache for the modules the worker preloads. */
  readonly codeCache?: string;
}

/** Command-line arguments for the worker entry. */
export function workerArgv(args: WorkerArgs): string[] {
  const argv = [`--owner=${args.owner}`];
  if (args.codeCache) argv.push(`--code-cache=${args.codeCache}`);
  return argv;
}

/**
 * Spawns one fresh `node` worker process as a process-group leader (fd 3 tasks in, fd 4 results
 * out) and opens its channel. Synchronous: the pid is known when it returns.
 */
export function spawnChannel(options: LaunchOptions, name: string): WorkerChannel {
  const child = spawn(process.execPath, [...options.execArgv, workerEntry(), ...workerArgv({ owner: process.pid })], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'inherit', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const input = child.stdio[3] as Writable;
  const output = child.stdio[4] as Readable;
  const ended = new Promise<ExitStatus>((settle) => {
    child.once('exit', (exitCode, signal) => settle({ exitCode, signal }));
    child.once('error', (error) => {
      if (child.pid === undefined) settle({ exitCode: null, signal: null, error });
    });
  });
  return new WorkerChannel(
    workerProcess({
      pid: child.pid ?? 0,
      name,
      input,
      output,
      stderr: child.stderr,
      ended,
      refHandles: [child, input, output] as unknown as { ref?(): void; unref?(): void }[],
    }),
  );
}

/** Kills idle workers (spares, a reserve) and resolves once they are gone. */
export async function killIdle(channels: readonly WorkerChannel[]): Promise<void> {
  for (const channel of channels) {
    // Awaited below: an unreferenced process would let the event loop end before it exits.
    channel.ref();
    channel.kill('SIGKILL');
  }
  await Promise.all(channels.map((c) => c.ended));
}
