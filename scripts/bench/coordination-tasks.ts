// The coordination benchmark's task module (loaded by procpool's workers): the same work as
// peers/python_coordination.py does in Python's processes.
import type { Event, JoinableQueue, Lock, Queue, Value } from '../../lib';
import type { DictProxy } from '../../lib/manager';

/** Uncontended acquireSync + release, `pairs` times: µs per pair. */
export function lockPairs(lock: Lock, pairs: number): number {
  const t0 = performance.now();
  for (let i = 0; i < pairs; i++) {
    lock.acquireSync();
    lock.release();
  }
  return ((performance.now() - t0) * 1000) / pairs;
}

/** One side of a ping-pong through two events. */
export function pingPong(mine: Event, theirs: Event, rounds: number, first: boolean): void {
  for (let i = 0; i < rounds; i++) {
    if (first) {
      theirs.set();
      mine.waitSync();
      mine.clear();
    } else {
      mine.waitSync();
      mine.clear();
      theirs.set();
    }
  }
}

/** Python's counter: `times` locked `v.value += 1`. */
export function count(value: Value<'int32'>, times: number): void {
  const lock = value.getLock();
  for (let i = 0; i < times; i++) {
    lock.acquireSync();
    value.value += 1;
    lock.release();
  }
}

/** Puts `n` messages: the number 1, or `size` bytes. */
export function produce(queue: Queue<unknown> | JoinableQueue<unknown>, n: number, size: number): void {
  const item = size === 0 ? 1 : new Uint8Array(size);
  for (let i = 0; i < n; i++) queue.putSync(item);
}

/** Takes `n` messages. */
export function consume(queue: Queue<unknown>, n: number): void {
  for (let i = 0; i < n; i++) queue.getSync();
}

/** `ops` set + get pairs on a managed dict. */
export async function managerOps(d: DictProxy<string, number>, ops: number): Promise<void> {
  for (let i = 0; i < ops; i++) {
    const key = `k${i % 100}`;
    await d.set(key, i);
    await d.get(key);
  }
}
