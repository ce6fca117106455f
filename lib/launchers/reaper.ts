import { spawn, type ChildProcess } from 'node:child_process';

/**
 * No worker may outlive the application. Three layers see to it:
 * - a worker that notices its channel close (the application is gone) kills its own process group;
 * - when the application exits by a route that runs 'exit' handlers, every worker group still
 *   alive is killed here, synchronously;
 * - when the application is killed outright (SIGKILL, OOM killer) while a worker is stuck in a
 *   synchronous loop, the reaper process below kills the groups: a tiny `/bin/sh` loop (about
 *   1 MB, like Python's resource tracker) that reads "+ pid" / "- pid" lines from the application
 *   and, at end of input (the application is gone), SIGKILLs every group it still knows.
 * Workers lead their own process groups (spawned detached), so a group kill also ends whatever
 * their tasks started; detached processes do not get a terminal's Ctrl-C, hence all of this.
 * The reaper runs only while there is a group to watch: when the last one is forgotten its input
 * ends and it exits; the next group tracked starts a new one.
 */
const REAPER_SCRIPT = `trap '' INT HUP
list=" "
while read -r op pid; do
  case "$op" in
    +) list="$list$pid " ;;
    -) new=" "; for p in $list; do [ "$p" = "$pid" ] || new="$new$p "; done; list=$new ;;
  esac
done
for p in $list; do kill -s KILL -- "-$p" 2>/dev/null || kill -s KILL "$p" 2>/dev/null; done`;

/** The reaper's name in `ps`, so people (and the specs) can tell what it is. */
export const REAPER_NAME = 'procpool-reaper';

const groups = new Set<number>();
let reaper: ChildProcess | undefined;
let exitHookInstalled = false;

function killAll(): void {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  groups.clear();
}

function startReaper(): ChildProcess | undefined {
  let child: ChildProcess;
  try {
    child = spawn('/bin/sh', ['-c', REAPER_SCRIPT, REAPER_NAME], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  } catch {
    return undefined;
  }
  child.on('error', () => {
    if (reaper === child) reaper = undefined;
  });
  child.on('exit', () => {
    if (reaper !== child) return;
    reaper = undefined;
    // Killed by someone: watch the groups again with a new one.
    if (groups.size) startSoon();
  });
  child.stdin?.on('error', () => {});
  // It must never keep the application alive.
  child.unref();
  (child.stdin as unknown as { unref?(): void } | null)?.unref?.();
  return child;
}

let starting = false;

/**
 * Makes sure a reaper watches group `pid`. Spawning it blocks this thread for several ms,
 * so it is started on the next turn of the event loop, not in the middle of a pool's start (its
 * workers are still booting then, with no task that could hold them in a loop).
 */
function watch(pid: number): void {
  if (reaper) reaper.stdin?.write(`+ ${pid}\n`);
  else startSoon();
}

/** Starts a reaper on the next turn of the event loop and tells it every group tracked by then. */
function startSoon(): void {
  if (starting) return;
  starting = true;
  setImmediate(() => {
    starting = false;
    if (reaper || groups.size === 0) return;
    reaper = startReaper();
    reaper?.stdin?.write(`+ ${[...groups].join('\n+ ')}\n`);
  });
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

/** Registers a live process group (a worker, a forkserver template). */
export function trackGroup(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killAll);
  }
  groups.add(pid);
  watch(pid);
}

/** Forgets a process group that has been reaped and killed; the reaper exits with the last one. */
export function untrackGroup(pid: number): void {
  if (!groups.delete(pid)) return;
  const child = reaper;
  if (!child) return;
  child.stdin?.write(`- ${pid}\n`);
  if (groups.size > 0) return;
  // Nothing left to watch: end of input, so it exits (its list is empty: nothing is killed).
  reaper = undefined;
  child.stdin?.end();
}
