import { readSync } from 'node:fs';

/** Shared by every wait below: Atomics.wait needs an Int32Array on shared memory. */
const nap = new Int32Array(new SharedArrayBuffer(4));

/**
 * Reads between 1 and `length` bytes from `fd` into `target` at `offset`, waiting for data if none
 * is there; returns 0 at end of stream. For the worker's task socket, which libuv made non-blocking:
 * with nothing to read yet it sleeps 20 µs at a time (the parent is writing the rest of a large
 * frame) instead of spinning on a core the parent needs.
 */
export function readAllSync(fd: number, target: Buffer, offset: number, length: number): number {
  for (;;) {
    try {
      return readSync(fd, target, offset, length, null);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EAGAIN' && code !== 'EINTR') throw error;
    }
    Atomics.wait(nap, 0, 0, 0.02);
  }
}
