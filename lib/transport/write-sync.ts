import { writevSync } from 'node:fs';

/**
 * Writes all of `buffers` to `fd` before returning. The worker sends each result this way so that a
 * finished result is in the kernel's socket buffer, not in a userland queue, before the next task
 * starts: a worker killed afterwards cannot lose it. The worker's result fd is a blocking socket,
 * so a full buffer blocks here until the parent reads (natural backpressure).
 */
export function writeAllSync(fd: number, buffers: Buffer[]): void {
  let total = 0;
  for (let i = 0; i < buffers.length; i++) total += buffers[i].length;
  let written: number;
  try {
    written = writevSync(fd, buffers);
  } catch (error) {
    written = 0;
    if (!retryable(error)) throw error;
  }
  // One call writes everything unless a signal interrupts it or the socket is full; that rare case
  // lives in its own function, so the compiled hot path stays small (it is compiled in every worker).
  if (written < total) writeRest(fd, buffers, written);
}

function retryable(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'EAGAIN' || code === 'EINTR';
}

function writeRest(fd: number, buffers: Buffer[], written: number): void {
  let left = -written;
  for (const b of buffers) left += b.length;
  while (left > 0) {
    // Drop what went out and go on with the rest.
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
    try {
      written = writevSync(fd, buffers);
    } catch (error) {
      if (!retryable(error)) throw error;
    }
    left -= written;
  }
}
