// Shared memory segments the specs create: each one is unlinked after its test, and the run fails
// if a segment appears in /dev/shm that nobody removed.
import { readdirSync } from 'node:fs';
import { SharedMemory, SharedMemoryNotFoundError, type SharedMemoryOptions } from '../../lib';

/** The psm_ segments in /dev/shm now. */
export function segmentsNow(): string[] {
  try {
    return readdirSync('/dev/shm').filter((name) => name.startsWith('psm_'));
  } catch {
    return [];
  }
}

/** Call inside a `describe`: segments `create()`d there are closed and unlinked after each test. */
export function trackSegments(): { create(size: number, options?: Omit<SharedMemoryOptions, 'size' | 'create'>): SharedMemory; adopt<T extends SharedMemory>(shm: T): T } {
  let made: SharedMemory[] = [];
  afterEach(() => {
    for (const shm of made) {
      shm.close();
      try {
        shm.unlink();
      } catch (error) {
        if (!(error instanceof SharedMemoryNotFoundError)) throw error;
      }
    }
    made = [];
  });
  return {
    create(size, options = {}) {
      const shm = new SharedMemory({ ...options, create: true, size });
      made.push(shm);
      return shm;
    },
    adopt(shm) {
      made.push(shm);
      return shm;
    },
  };
}
