import type { WorkerChannel } from '../channel/worker-channel';
import type { LaunchOptions } from './launcher';
import { killIdle, nextWorkerName, spawnChannel } from './worker-process';

interface Idle {
  readonly channel: WorkerChannel;
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
      const channel = spawnChannel(options, nextWorkerName('PoolWorker'));
      const entry: Idle = { channel, key, booted: false };
      this.#idle.push(entry);
      void channel.ended.then(() => this.#remove(entry));
      // Referenced while the caller waits for it to boot; idle afterwards, it must not keep the
      // application alive.
      const booted = preload.length ? channel.preload(preload) : channel.whenBooted();
      booting.push(
        booted.then(
          () => {
            entry.booted = true;
            channel.unref();
          },
          () => channel.unref(),
        ),
      );
    }
    await Promise.all(booting);
  }

  /** Takes a booted process started with these options, if one is waiting. */
  take(options: LaunchOptions): WorkerChannel | undefined {
    const key = keyOf(options);
    const entry = this.#idle.find((e) => e.booted && e.key === key);
    if (!entry) return undefined;
    this.#remove(entry);
    return entry.channel;
  }

  /** Kills every waiting process. */
  async close(): Promise<void> {
    const idle = this.#idle;
    this.#idle = [];
    await killIdle(idle.map((e) => e.channel));
  }

  #remove(entry: Idle): void {
    this.#idle = this.#idle.filter((e) => e !== entry);
  }
}
