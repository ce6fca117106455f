/**
 * Everything procpool asks the operating system about other processes, in one place. On Linux it
 * reads `/proc`, which also tells a zombie (dead, not yet reaped by its parent) from a live
 * process; elsewhere (macOS), or with `PROCPOOL_NO_PROCFS=1` (how the specs force this path), it
 * falls back to `process.kill(pid, 0)`, which counts a zombie as alive. Procpool reaps its own
 * children at once, so the difference only shows for a moment.
 */
import { existsSync, readFileSync } from 'node:fs';

let procfs: boolean | undefined;

/** Whether `/proc` can be read here (Linux) and is not switched off. */
export function hasProcfs(): boolean {
  procfs ??= process.env.PROCPOOL_NO_PROCFS !== '1' && existsSync('/proc/self/stat');
  return procfs;
}

/** Whether `pid` runs code: false for a process that is gone or a zombie (where that can be seen). */
export function isAlive(pid: number): boolean {
  if (pid <= 0) return false;
  if (hasProcfs()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat[stat.lastIndexOf(')') + 2] !== 'Z';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let ownPid = 0;

/**
 * This process's pid, cached: `process.pid` costs ~47 ns a read here, as much as taking and
 * releasing a free lock. Read on first use, never at load, so that a module loaded into a
 * forkserver snapshot does not keep its template's pid.
 */
export function myPid(): number {
  return ownPid || (ownPid = process.pid);
}
