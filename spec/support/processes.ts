// Helpers to prove that no process a test started outlives it.
import { readdirSync, readFileSync } from 'node:fs';

/** Every process started under this test run carries this variable (workers inherit it). */
export const LEAK_MARK = 'PROCPOOL_SPEC_RUN';

export function isAlive(pid: number): boolean {
  try {
    // A zombie still answers kill(0); treat it as gone, it runs no code.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Live processes other than this one whose environment carries this run's mark: workers,
 * templates, grandchildren, and the reaper too (it must exit once nothing needs it).
 */
export function markedProcesses(mark = process.env[LEAK_MARK]): { pid: number; cmd: string }[] {
  if (!mark) return [];
  const found: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      if (!environ.split('\0').includes(`${LEAK_MARK}=${mark}`) || !isAlive(pid)) continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      found.push({ pid, cmd });
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

export async function waitFor(predicate: () => boolean, timeoutMs: number, intervalMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (predicate()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Resolves when every pid is gone; rejects naming the survivors after `timeoutMs`. The default is
 * long: a process that was killed is gone eventually, and a loaded machine can take a while to
 * let it exit. Pass a short one only where procpool promises how fast.
 */
export async function expectGone(pids: number[], timeoutMs = 10_000): Promise<void> {
  if (await waitFor(() => pids.every((pid) => !isAlive(pid)), timeoutMs)) return;
  throw new Error(`processes still alive after ${timeoutMs} ms: ${pids.filter(isAlive).join(', ')}`);
}
