import { spawn, type ChildProcess } from 'node:child_process';
import { unlinkSync } from 'node:fs';

/**
 * No worker may outlive the application. Three layers see to it:
 * - a worker that notices its channel close (the application is gone) kills its own process group;
 * - when the application exits by a route that runs 'exit' handlers, every worker group still
 *   alive is killed here, synchronously;
 * - when the application is killed outright (SIGKILL, OOM killer) while a worker is stuck in a
 *   synchronous loop, the reaper process below kills the groups: a tiny `/bin/sh` loop (about
 *   1 MB, like Python's resource tracker) that reads "+ pid" / "- pid" lines from the application
 *   and, at end of input (the application is gone), SIGKILLs every group it still knows.
 * It also unlinks the shared memory segments the application created and did not unlink ("S name"
 * / "s name" lines), as Python's resource tracker does: a killed application leaks none.
 * Workers lead their own process groups (spawned detached), so a group kill also ends whatever
 * their tasks started; detached processes do not get a terminal's Ctrl-C, hence all of this.
 * The reaper runs only while there is something to watch: when the last group or segment is
 * forgotten its input ends and it exits; the next one tracked starts a new one.
 */
const REAPER_SCRIPT = `trap '' INT HUP
groups=" "
segments=" "
while read -r op arg; do
  case "$op" in
    +) groups="$groups$arg " ;;
    -) new=" "; for p in $groups; do [ "$p" = "$arg" ] || new="$new$p "; done; groups=$new ;;
    S) segments="$segments$arg " ;;
    s) new=" "; for n in $segments; do [ "$n" = "$arg" ] || new="$new$n "; done; segments=$new ;;
  esac
done
for p in $groups; do kill -s KILL -- "-$p" 2>/dev/null || kill -s KILL "$p" 2>/dev/null; done
for n in $segments; do rm -f "/dev/shm/$n"; done`;

/** The reaper's name in `ps`, so people (and the specs) can tell what it is. */
export const REAPER_NAME = 'procpool-reaper';

const groups = new Set<number>();
const segments = new Set<string>();
let reaper: ChildProcess | undefined;
let exitHookInstalled = false;

/** On the way out (an 'exit' handler): kill every group, unlink every segment, synchronously. */
function releaseAll(): void {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  groups.clear();
  for (const name of segments) {
    try {
      unlinkSync(`/dev/shm/${name}`);
    } catch {
      // Already gone.
    }
  }
  segments.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', releaseAll);
}

/** Whether anything is watched. */
function watching(): number {
  return groups.size + segments.size;
}

/** Every line that tells a new reaper what is watched now. */
function watchedLines(): string {
  return [...[...groups].map((pid) => `+ ${pid}`), ...[...segments].map((name) => `S ${name}`)].join('\n') + '\n';
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
    // Killed by someone: watch everything again with a new one.
    if (watching()) startSoon();
  });
  child.stdin?.on('error', () => {});
  // It must never keep the application alive.
  child.unref();
  (child.stdin as unknown as { unref?(): void } | null)?.unref?.();
  return child;
}

let starting = false;

/**
 * Makes sure a reaper reads `line`. Spawning it blocks this thread for several ms, so it is
 * started on the next turn of the event loop, not in the middle of a pool's start (its workers are
 * still booting then, with no task that could hold them in a loop).
 */
function tell(line: string): void {
  if (reaper) reaper.stdin?.write(line);
  else startSoon();
}

/** Tells the reaper to forget something; it exits with the last thing watched. */
function forget(line: string): void {
  const child = reaper;
  if (!child) return;
  child.stdin?.write(line);
  if (watching() > 0) return;
  // Nothing left to watch: end of input, so it exits (its lists are empty: nothing is done).
  reaper = undefined;
  child.stdin?.end();
}

/** Starts a reaper on the next turn of the event loop and tells it every group tracked by then. */
function startSoon(): void {
  if (starting) return;
  starting = true;
  setImmediate(() => {
    starting = false;
    if (reaper || watching() === 0) return;
    reaper = startReaper();
    reaper?.stdin?.write(watchedLines());
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
  installExitHook();
  groups.add(pid);
  tell(`+ ${pid}\n`);
}

/** Forgets a process group that has been reaped and killed. */
export function untrackGroup(pid: number): void {
  if (groups.delete(pid)) forget(`- ${pid}\n`);
}

/** A name the reaper's shell loop can take as one word and pass to `rm` safely. */
const SEGMENT_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Registers a shared memory segment (`/dev/shm/<name>`) that this application created: it is
 * unlinked if the application exits or is killed without unlinking it.
 */
export function trackSegment(name: string): void {
  if (!SEGMENT_NAME.test(name)) return;
  installExitHook();
  segments.add(name);
  tell(`S ${name}\n`);
}

/** Forgets a segment that was unlinked. */
export function untrackSegment(name: string): void {
  if (segments.delete(name)) forget(`s ${name}\n`);
}

/** Unlinks a tracked segment whose creator is gone (a worker's own transfer heap) and forgets it. */
export function removeSegment(name: string): void {
  if (!SEGMENT_NAME.test(name)) return;
  try {
    unlinkSync(`/dev/shm/${name}`);
  } catch {
    // Unlinked already.
  }
  untrackSegment(name);
}
