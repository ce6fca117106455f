import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ExitStatus, Launcher, LaunchOptions, WorkerProcess } from './launcher';
import { workerEntry } from './entry';
import { killGroup, trackGroup, untrackGroup } from './reaper';
import { StderrTail } from './stderr-tail';

/**
 * Starts a fresh `node` process per worker (Python's 'spawn'). The worker is a session leader, so
 * killing its process group also ends whatever its tasks started. fd 3 carries tasks in, fd 4
 * results out; stdout is shared with the parent, stderr is forwarded and its tail kept.
 */
export class SpawnLauncher implements Launcher {
  readonly method = 'spawn' as const;

  launch(options: LaunchOptions): WorkerProcess {
    return spawnWorker(options);
  }

  async close(): Promise<void> {
    // Nothing is kept between launches.
  }
}

/** Spawns one worker process running the worker entry. Shared by the launchers that boot processes. */
export function spawnWorker(options: LaunchOptions, args: readonly string[] = []): WorkerProcess {
  const child = spawn(process.execPath, [...options.execArgv, workerEntry(), ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'inherit', 'pipe', 'pipe', 'pipe'],
    detached: true,
    serialization: 'json',
  });
  const pid = child.pid ?? 0;
  if (pid) trackGroup(pid);
  const tail = new StderrTail();
  const stderr = child.stderr as Readable;
  stderr.on('data', (chunk: Buffer) => {
    tail.push(chunk);
    process.stderr.write(chunk);
  });
  const input = child.stdio[3] as Writable;
  const output = child.stdio[4] as Readable;
  // A write to a worker that just died fails with EPIPE; its death is reported through `exited`.
  input.on('error', () => {});
  output.on('error', () => {});

  const exited = new Promise<ExitStatus>((settle) => {
    let done = false;
    const finish = (status: ExitStatus): void => {
      if (done) return;
      done = true;
      // Kill the group right after the leader is gone: anything the worker's tasks started dies
      // with it. Done before the pid could plausibly be reused (it needs a whole pid-space wrap).
      killGroup(pid, 'SIGKILL');
      untrackGroup(pid);
      settle(status);
    };
    child.once('exit', (exitCode, signal) => finish({ exitCode, signal }));
    child.once('error', (error) => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
        finish({ exitCode: null, signal: null, error });
      }
    });
  });

  const handles = [child, input, output, stderr] as unknown as { ref?(): void; unref?(): void }[];
  return {
    pid,
    input,
    output,
    exited,
    stderrTail: () => tail.lines(),
    kill: (signal) => killGroup(pid, signal),
    ref: () => {
      for (const h of handles.slice(0, 3)) h.ref?.();
    },
    unref: () => {
      for (const h of handles) h.unref?.();
    },
  };
}
