/**
 * Last line of defence against orphans: when the parent exits by any route that runs 'exit'
 * handlers (normal end, process.exit, uncaught exception), every worker group still alive is killed.
 * Workers are session leaders (spawned detached), so a terminal's Ctrl-C never reaches them; they
 * rely on this, on noticing their lost channel, and on their watchdog thread (parent SIGKILLed).
 */
const groups = new Set<number>();
let installed = false;

function killAll(): void {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  groups.clear();
}

/** Sends `signal` to process group `pid`, falling back to the process alone. Never throws. */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Registers a live worker process group. */
export function trackGroup(pid: number): void {
  if (!installed) {
    installed = true;
    process.on('exit', killAll);
  }
  groups.add(pid);
}

/** Forgets a process group that has been reaped and killed. */
export function untrackGroup(pid: number): void {
  groups.delete(pid);
}
