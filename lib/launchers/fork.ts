import { serialize } from 'node:v8';
import { encodeFrame } from '../transport/frames';
import { FromWorker, ToWorker } from '../transport/protocol';
import type { Launcher, LaunchRequest, WorkerProcess } from './launcher';
import type { WarmReserve } from './warm-reserve';
import { awaitFrame, killIdle, nextWorkerName, sendInit, spawnWorker } from './worker-process';

type Spare = { readonly worker: WorkerProcess & { initialized: boolean }; ready: boolean };

/** Spares that die before they are ready this many times in a row stop being replaced. */
const MAX_SPARE_FAILURES = 3;
/** How long after a hand-over (or a spare's death) the next spare is started. */
const REFILL_DELAY_MS = 50;
/** When the first spare boots, after the pool is ready. */
const FIRST_SPARE_DELAY_MS = 500;

/**
 * 'fork', honestly: Node cannot fork(2) a running V8 process, so this method keeps processes
 * pre-warmed. The pool owns `spares` booted workers that have loaded its preload and task modules
 * and run its initializer; taking one (to replace a dead or recycled worker) is an IPC hand-over,
 * not a boot. Spares are refilled in the background and killed when the pool closes. A pool's first
 * workers come from its context's reserve of booted processes when there is one (`prewarm`).
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

  async launch(request: LaunchRequest): Promise<WorkerProcess> {
    this.#request = request;
    const spare = this.#spares.find((s) => s.ready);
    if (spare) {
      this.#spares = this.#spares.filter((s) => s !== spare);
      spare.worker.initialized = true;
      // Spawning blocks this thread for a few ms: not while the new worker's first result is due.
      setTimeout(() => this.#refill(), REFILL_DELAY_MS).unref();
      return spare.worker;
    }
    const worker = this.reserve?.take(request.options) ?? spawnWorker(request.options, nextWorkerName(request.namePrefix));
    this.#initialize(worker, request);
    return worker;
  }

  learnModule(module: string): void {
    if (this.#modules.has(module)) return;
    this.#modules.add(module);
    const frame = encodeFrame(ToWorker.Preload, serialize([module]));
    for (const spare of this.#spares) spare.worker.input.write(frame);
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
    await killIdle(spares.map((s) => s.worker));
  }

  /**
   * Sends the pool's Init, whose preload must load (a failure fails the start), then the task
   * modules the pool has used so far, loaded ahead on a best-effort basis: one that does not load
   * (a task naming a missing module) fails that task when it runs, not every spare's start.
   * Returns the frames that say the worker is ready: Ready, and Preloaded if it was sent modules.
   */
  #initialize(worker: WorkerProcess, request: LaunchRequest): number[] {
    sendInit(worker, request.init);
    if (!this.#modules.size) return [FromWorker.Ready];
    worker.input.write(encodeFrame(ToWorker.Preload, serialize([...this.#modules])));
    return [FromWorker.Ready, FromWorker.Preloaded];
  }

  #refill(): void {
    const request = this.#request;
    if (this.#closed || !this.#poolReady || !request || this.#failures >= MAX_SPARE_FAILURES) return;
    while (this.#spares.length < this.spareCount) {
      const worker = spawnWorker(request.options, nextWorkerName(request.namePrefix)) as Spare['worker'];
      worker.unref();
      const readyFrames = this.#initialize(worker, request);
      const spare: Spare = { worker, ready: false };
      this.#spares.push(spare);
      void awaitFrame(worker, ...readyFrames).then((ok) => {
        if (ok) {
          spare.ready = true;
          this.#failures = 0;
        } else if (!this.#closed) {
          this.#failures++;
        }
      });
      void worker.exited.then(() => {
        if (!this.#spares.includes(spare)) return;
        this.#spares = this.#spares.filter((s) => s !== spare);
        if (!this.#closed) setTimeout(() => this.#refill(), REFILL_DELAY_MS).unref();
      });
    }
  }
}
