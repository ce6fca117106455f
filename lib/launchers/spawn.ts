import type { Launcher, LaunchRequest, WorkerProcess } from './launcher';
import { nextWorkerName, sendInit, spawnWorker } from './worker-process';

/**
 * Python's 'spawn': a fresh `node` process per worker, which loads its task modules itself.
 * Clean and simple; it pays a full Node start-up for every worker, including replacements.
 */
export class SpawnLauncher implements Launcher {
  readonly method = 'spawn' as const;

  async launch(request: LaunchRequest): Promise<WorkerProcess> {
    const worker = spawnWorker(request.options, nextWorkerName(request.namePrefix));
    sendInit(worker, request.init);
    return worker;
  }

  learnModule(): void {
    // Nothing is kept warm.
  }

  poolReady(): void {
    // Nothing is kept warm.
  }

  readySpares(): number {
    return 0;
  }

  async close(): Promise<void> {
    // Nothing is kept between launches.
  }
}
