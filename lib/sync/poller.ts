/**
 * Async waits for coordination primitives. A futex wait blocks its thread, and the only threads a
 * Node process could lend one to are libuv's four (koffi's async calls run there): a few waiting
 * locks would stall every file and DNS call of the process. So async waiters do not sleep in the
 * kernel: one loop per process re-checks every pending wait, at once for a few turns of the event
 * loop, then backing off to every {@link MAX_DELAY_MS} ms. A hand-off to an async waiter therefore
 * takes up to that long; the `…Sync` twins wake within microseconds.
 */

/** What the poller needs of a wait (see words.ts). */
export interface Pollable {
  attempt(): boolean;
  recover?(): void;
}

interface Pending {
  readonly wait: Pollable;
  readonly deadline: number;
  /** How often it looks for dead holders (`recover`). */
  readonly slice: number;
  nextRecover: number;
  readonly resolve: (done: boolean) => void;
  readonly reject: (error: unknown) => void;
}

const MAX_DELAY_MS = 4;
/** Turns of the event loop polled without delay after something changed. */
const EAGER_TURNS = 4;

const pending = new Set<Pending>();
let scheduled = false;
let eager = 0;
let delay = 0;

/** Resolves true once `wait.attempt()` succeeds, false at `deadline` (performance.now() time). */
export function poll(wait: Pollable, deadline: number, sliceMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve, reject) => {
    pending.add({ wait, deadline, slice: sliceMs, nextRecover: performance.now() + sliceMs, resolve, reject });
    eager = EAGER_TURNS;
    delay = 0;
    schedule();
  });
}

function schedule(): void {
  if (scheduled || pending.size === 0) return;
  scheduled = true;
  if (eager > 0) {
    eager--;
    setImmediate(tick);
  } else {
    delay = Math.min(MAX_DELAY_MS, Math.max(1, delay * 2));
    setTimeout(tick, delay);
  }
}

function settle(entry: Pending, done: boolean | Error): void {
  pending.delete(entry);
  if (done instanceof Error) entry.reject(done);
  else entry.resolve(done);
}

function tick(): void {
  scheduled = false;
  const now = performance.now();
  let progress = false;
  for (const entry of pending) {
    try {
      if (entry.wait.attempt()) {
        settle(entry, true);
        progress = true;
        continue;
      }
      if (now >= entry.nextRecover || now >= entry.deadline) {
        entry.nextRecover = now + entry.slice;
        entry.wait.recover?.();
        if (entry.wait.attempt()) {
          settle(entry, true);
          progress = true;
        } else if (now >= entry.deadline) {
          settle(entry, false);
        }
      }
    } catch (error) {
      settle(entry, error instanceof Error ? error : new Error(String(error)));
    }
  }
  if (progress) {
    eager = EAGER_TURNS;
    delay = 0;
  }
  schedule();
}
