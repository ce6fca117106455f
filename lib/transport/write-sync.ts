import { writevSync } from 'node:fs';

/**
 * Writes all of `buffers` to `fd` before returning. The worker sends each result this way so that a
 * finished result is in the kernel's socket buffer, not in a userland queue, before the next task
 * starts: a worker killed afterwards cannot lose it. The worker's result fd is a blocking socket,
 * so a full buffer blocks here until the parent reads (natural backpressure).
 */
export function writeAllSync(fd: number, buffers: Buffer[]): void {
  let total = 0;
  for (const b of buffers) total += b.length;
  for (;;) {
    let written: number;
    try {
      written = writevSync(fd, buffers);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EAGAIN' || (error as NodeJS.ErrnoException).code === 'EINTR') continue;
      throw error;
    }
    total -= written;
    if (total <= 0) return;
    // Partial write (a signal interrupted it): drop what went out and go on with the rest.
    while (written > 0) {
      const first = buffers[0];
      if (written >= first.length) {
        written -= first.length;
        buffers = buffers.slice(1);
      } else {
        buffers = [first.subarray(written), ...buffers.slice(1)];
        written = 0;
      }
    }
  }
}
