// Mocha root hooks: mark every process this run starts, and fail the run if any outlives it.
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { getContext } from '../../lib';
import { trimTransfer } from '../../lib/shared/transfer';
import { LEAK_MARK, markedProcesses, waitFor } from './processes';
import { segmentsNow } from './segments';
import { removeTempFiles } from './tmp';

process.env[LEAK_MARK] = randomUUID();

/** Shared memory segments that were there before the run (not the run's to judge). */
let segmentsBefore = new Set<string>();

export const mochaHooks = {
  beforeAll(): void {
    segmentsBefore = new Set(segmentsNow());
  },

  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(30_000);
    // The fork reserve and the forkserver template live as long as the process; release them.
    await getContext('fork').close();
    await getContext('forkserver').close();
    removeTempFiles();
    const leakedSegments = () => segmentsNow().filter((name) => !segmentsBefore.has(name));
    // Shared values hold heap arenas until they are collected (mocha runs with --expose-gc), and
    // large arguments keep their shared memory warm for a while: let both go now.
    const gc = (globalThis as { gc?: () => void }).gc;
    const release = (): boolean => (gc?.(), trimTransfer(), leakedSegments().length === 0);
    if (!(await waitFor(release, 15_000, 50))) {
      const left = leakedSegments();
      for (const name of left) rmSync(`/dev/shm/${name}`, { force: true });
      throw new Error(`shared memory segments outlived the test run: ${left.join(', ')}`);
    }
    // Processes released just now (the reserve, the template) get a generous while to exit.
    if (await waitFor(() => markedProcesses().length === 0, 15_000, 50)) return;
    const left = markedProcesses();
    for (const { pid } of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    throw new Error(`processes outlived the test run:\n${left.map((p) => `  ${p.pid} ${p.cmd}`).join('\n')}`);
  },
};
