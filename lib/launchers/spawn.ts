import { initializeLaunch, type Launch, type Launcher, type LaunchRequest } from './launcher';
import { nextWorkerName, spawnChannel } from './worker-process';

/**
 * Python's 'spawn': a fresh `node` process per worker, which loads its task modules itself.
 * Clean and simple; it pays a full Node start-up for every worker, including replacements.
 */
export class SpawnLauncher implements Launcher {
  readonly method = 'spawn' as const;

  launch(request: LaunchRequest): Launch {
    return initializeLaunch(spawnChannel(request.options, nextWorkerName(request.namePrefix)), request);
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
