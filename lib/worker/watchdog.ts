/**
 * Runs on a thread of its own inside each worker. A worker stuck in a synchronous loop never sees
 * its channel close, so if the parent is SIGKILLed this thread is what ends the worker: once the
 * worker has been re-parented, it kills the worker's whole process group (tasks' children included).
 */
import { workerData } from 'node:worker_threads';

const { parentPid, intervalMs } = workerData as { parentPid: number; intervalMs: number };

function parentGone(): boolean {
  return process.ppid !== parentPid;
}

setInterval(() => {
  if (!parentGone()) return;
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.kill(process.pid, 'SIGKILL');
  }
}, intervalMs);
