import { serialize } from 'node:v8';
import { encodeFrame } from '../transport/frames';
import { FromWorker, ToWorker } from '../transport/protocol';
import type { LaunchOptions, WorkerProcess } from './launcher';
import { awaitFrame, killIdle, nextWorkerName, spawnWorker } from './worker-process';

interface Idle {
  readonly worker: WorkerProcess;
  readonly key: string;
  booted: boolean;
}

function keyOf(options: LaunchOptions): string {
  const env = Object.entries(options.env).sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify([options.cwd, options.execArgv, env]);
}

/**
 * Booted worker processes that no pool owns yet (a 'fork' context's reserve): `node` has started and
 * the worker waits for its Init. A pool that starts with matching options takes them instead of
 * booting, so its start is an IPC hand-over.
 */
export class WarmReserve {
  #idle: Idle[] = [];

  /**
   * Boots `count` more processes, which load `preload` while they wait; resolves when they have all
   * booted and loaded it (or died).
   */
  async prewarm(count: number, options: LaunchOptions, preload: readonly string[] = []): Promise<void> {
    const key = keyOf(options);
    const booting: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const worker = spawnWorker(options, nextWorkerName('PoolWorker'));
      if (preload.length) worker.input.write(encodeFrame(ToWorker.Preload, serialize(preload)));
      const entry: Idle = { worker, key, booted: false };
      this.#idle.push(entry);
      void worker.exited.then(() => this.#remove(entry));
      // Referenced while the caller waits for it to boot; idle afterwards, it must not keep the
      // application alive.
      booting.push(
        awaitFrame(worker, preload.length ? FromWorker.Preloaded : FromWorker.Booted).then((ok) => {
          entry.booted = ok;
          worker.unref();
        }),
      );
    }
    await Promise.all(booting);
  }

  /** Takes a booted process started with these options, if one is waiting. */
  take(options: LaunchOptions): WorkerProcess | undefined {
    const key = keyOf(options);
    const entry = this.#idle.find((e) => e.booted && e.key === key);
    if (!entry) return undefined;
    this.#remove(entry);
    return entry.worker;
  }

  /** How many processes are waiting. */
  get size(): number {
    return this.#idle.length;
  }

  /** Kills every waiting process. */
  async close(): Promise<void> {
    const idle = this.#idle;
    this.#idle = [];
    await killIdle(idle.map((e) => e.worker));
  }

  #remove(entry: Idle): void {
    this.#idle = this.#idle.filter((e) => e !== entry);
  }
}
