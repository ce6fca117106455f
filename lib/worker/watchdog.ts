/**
 * Runs on a thread of its own inside each worker. A worker stuck in a synchronous loop never sees
 * its channel close, so if the pool's process is SIGKILLed this thread is what ends the worker: it
 * kills the worker's whole process group (tasks' children included) once the owner is gone.
 */
import { readFileSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

const { ownerPid, intervalMs } = workerData as { ownerPid: number; intervalMs: number };
// Started by the owner itself: being re-parented is the sure sign. Started by a template process
// (forkserver), whose death must not end us: watch the owner's pid instead.
const ownerIsParent = process.ppid === ownerPid;

function ownerGone(): boolean {
  if (ownerIsParent) return process.ppid !== ownerPid;
  try {
    const stat = readFileSync(`/proc/${ownerPid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'Z';
  } catch {
    try {
      process.kill(ownerPid, 0);
      return false;
    } catch {
      return true;
    }
  }
}

setInterval(() => {
  if (!ownerGone()) return;
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.kill(process.pid, 'SIGKILL');
  }
}, intervalMs);
