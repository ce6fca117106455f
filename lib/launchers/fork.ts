import type { WorkerChannel } from '../channel/worker-channel';
import { initializeLaunch, readyLaunch, type Launch, type Launcher, type LaunchRequest } from './launcher';
import type { WarmReserve } from './warm-reserve';
import { killIdle, nextWorkerName, spawnChannel } from './worker-process';

type Spare = { readonly channel: WorkerChannel; ready: boolean };

/** Spares that die before they are ready this many times in a row stop being replaced. */
const MAX_SPARE_FAILURES = 3;
/** How long after a hand-over (or a spare's death) the next spare is started. */
const REFILL_DELAY_MS = 50;
/** When the first spare boots, after the pool is ready. */
const FIRST_SPARE_DELAY_MS = 500;

/**
 * 'fork', honestly: Node cannot fork(2) a running V8 process, so this method keeps processes
 * pre-warmed. The pool owns `spares` ready channels: booted workers that have loaded its preload
 * and task modules and run its initializer; taking one (to replace a dead or recycled worker) is a
 * hand-over, not a boot. Spares are refilled in the background and killed when the pool closes. A
 * pool's first workers come from its context's reserve of booted processes when there is one
 * (`prewarm`).
 */
export class ForkLauncher implements Launcher {
  readonly method = 'fork' as const;
  #spares: Spare[] = [];
  readonly #modules = new Set<string>();
  #request: LaunchRequest | undefined;
  #poolReady = false;
  #closed = false;
  #failures = 0;

  constructor(
    private readonly reserve: WarmReserve | undefined,
    private readonly spareCount: number,
  ) {}

  launch(request: LaunchRequest): Launch {
    this.#request = request;
    const spare = this.#spares.find((s) => s.ready);
    if (spare) {
      this.#spares = this.#spares.filter((s) => s !== spare);
      // Spawning blocks this thread for a few ms: not while the new worker's first result is due.
      setTimeout(() => this.#refill(), REFILL_DELAY_MS).unref();
      return readyLaunch(spare.channel);
    }
    const channel = this.reserve?.take(request.options) ?? spawnChannel(request.options, nextWorkerName(request.namePrefix));
    return initializeLaunch(channel, request);
  }

  learnModule(module: string): void {
    if (this.#modules.has(module)) return;
    this.#modules.add(module);
    // Best effort: a module that does not load fails the task that uses it, not the spare.
    for (const spare of this.#spares) spare.channel.preload([module]).catch(() => {});
  }

  poolReady(): void {
    this.#poolReady = true;
    // A spare's boot takes CPU time (and blocks this thread while it is spawned): not during the
    // pool's first tasks, which usually come at once. A crash that early is replaced by a boot.
    setTimeout(() => this.#refill(), FIRST_SPARE_DELAY_MS).unref();
  }

  readySpares(): number {
    return this.#spares.filter((s) => s.ready).length;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const spares = this.#spares;
    this.#spares = [];
    await killIdle(spares.map((s) => s.channel));
  }

  /**
   * Boots spares up to the count. Each is initialized as the pool's workers are (its preload must
   * load: a failure fails the start) and loads the task modules the pool has used so far, on a
   * best-effort basis; it is ready once both are done.
   */
  #refill(): void {
    const request = this.#request;
    if (this.#closed || !this.#poolReady || !request || this.#failures >= MAX_SPARE_FAILURES) return;
    while (this.#spares.length < this.spareCount) {
      const channel = spawnChannel(request.options, nextWorkerName(request.namePrefix));
      const spare: Spare = { channel, ready: false };
      this.#spares.push(spare);
      const modules = [...this.#modules];
      // Init first: it sets up what loading a module needs (the TypeScript hook).
      const initialized = initializeLaunch(channel, request).ready;
      // Nobody waits for a spare: it must not keep the application alive.
      channel.unref();
      const preloaded = modules.length ? channel.preload(modules) : undefined;
      Promise.all([initialized, preloaded]).then(
        () => {
          spare.ready = true;
          this.#failures = 0;
        },
        () => {
          if (!this.#closed) this.#failures++;
        },
      );
      void channel.ended.then(() => {
        if (!this.#spares.includes(spare)) return;
        this.#spares = this.#spares.filter((s) => s !== spare);
        if (!this.#closed) setTimeout(() => this.#refill(), REFILL_DELAY_MS).unref();
      });
    }
  }
}
