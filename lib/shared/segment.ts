/**
 * Shared memory segments: files in /dev/shm (where POSIX `shm_open` and Python put them), mapped
 * into each process that uses them. This module creates, attaches, unlinks and caches them; the
 * public classes (SharedMemory, ShareableList, RawValue, RawArray) are built on it.
 *
 * A mapping is never unmapped while JavaScript can still reach its memory (a view into unmapped
 * memory would crash the process, and JavaScript cannot invalidate views): it is unmapped once its
 * ArrayBuffer has been garbage collected.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, statSync, statfsSync, unlinkSync } from 'node:fs';
import { InvalidArgumentError, SharedMemoryFullError, SharedMemoryNotFoundError } from '../errors';
import { nativeMemory, type Mapping } from './native';
import { segmentTracker, type SegmentScope } from './role';

/** Where segments live. */
export const SHM_DIR = '/dev/shm';
/** Python's prefix, so segments of both are recognisable as such. */
const PREFIX = 'psm_';
const NAME = /^[A-Za-z0-9_.-]{1,200}$/;
const ENOSPC = 28;

/** One segment mapped into this process. */
export interface Segment {
  readonly name: string;
  readonly size: number;
  /** The mapped memory. */
  readonly buffer: ArrayBuffer;
  /** The file's inode: a segment unlinked and created again under the same name is another one. */
  readonly inode: number;
  /** Where it is mapped in this process. */
  readonly address: bigint;
}

/** Unmaps a mapping once its buffer is unreachable. */
const unmapper = new FinalizationRegistry<Mapping>((mapping) => mapping.unmap());

/** Which segment a mapped buffer belongs to (what the serializer asks about views). */
const byBuffer = new WeakMap<ArrayBuffer, Segment>();
/** This process's mappings by name, reused while their buffer lives. */
const mapped = new Map<string, WeakRef<Segment>>();
/** Mappings kept for what tasks received (workers): reused across tasks until the name goes away. */
const pinned = new Map<string, Segment>();
let pruneTimer: NodeJS.Timeout | undefined;

/** Free and total bytes of /dev/shm, for the error that says it is too full. */
function room(): { free: number; total: number } | undefined {
  try {
    const stats = statfsSync(SHM_DIR);
    return { free: stats.bavail * stats.bsize, total: stats.blocks * stats.bsize };
  } catch {
    return undefined;
  }
}

/** The file of segment `name`. */
export function segmentPath(name: string): string {
  return `${SHM_DIR}/${name}`;
}

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new InvalidArgumentError(`Expected a segment name of letters, digits, '_', '.' or '-' (as 'psm_1a2b3c4d'), got \`${String(name)}\`.`);
  }
}

function randomName(): string {
  let hex = '';
  for (let i = 0; i < 8; i++) hex += Math.floor(Math.random() * 16).toString(16);
  return PREFIX + hex;
}

function map(name: string, fd: number, size: number): Segment {
  const mapping = nativeMemory().map(fd, size);
  const segment: Segment = { name, size, buffer: mapping.buffer, inode: fstatSync(fd).ino, address: mapping.address };
  unmapper.register(mapping.buffer, mapping);
  byBuffer.set(mapping.buffer, segment);
  mapped.set(name, new WeakRef(segment));
  return segment;
}

/** The segment whose mapping `buffer` is, if it is one. */
export function segmentOf(buffer: ArrayBufferLike): Segment | undefined {
  return byBuffer.get(buffer as ArrayBuffer);
}

/**
 * Creates a segment of `size` bytes (named `name`, or `psm_` and 8 random hex digits) and maps it.
 * Its space is reserved now: a full /dev/shm is a {@link SharedMemoryFullError} here, never a
 * SIGBUS when the memory is written. Tracked segments are unlinked if this application ends
 * without unlinking them.
 */
export function createSegment(size: number, name?: string, track = true, scope: SegmentScope = 'application'): Segment {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new InvalidArgumentError(`Expected the size of a new shared memory segment to be a positive whole number of bytes, got \`${String(size)}\`.`);
  }
  if (name !== undefined) checkName(name);
  const native = nativeMemory();
  let fd = -1;
  let chosen = name ?? randomName();
  for (;;) {
    try {
      fd = openSync(segmentPath(chosen), constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (name !== undefined) throw new InvalidArgumentError(`A shared memory segment named '${name}' exists already: attach to it, or choose another name.`, { cause: error });
      chosen = randomName();
    }
  }
  const path = segmentPath(chosen);
  try {
    ftruncateSync(fd, size);
    const reserved = native.reserve(fd, size);
    if (reserved === ENOSPC) throw new SharedMemoryFullError(size, path, room());
    const segment = map(chosen, fd, size);
    if (track) segmentTracker().track(chosen, scope);
    return segment;
  } catch (error) {
    try {
      unlinkSync(path);
    } catch {
      // Nothing more to undo.
    }
    throw error;
  } finally {
    closeSync(fd);
  }
}

/**
 * Maps the existing segment `name`, reusing this process's mapping of it while there is one.
 * `pin` keeps the mapping for later (what tasks receive) until the segment is unlinked.
 */
export function attachSegment(name: string, pin = false): Segment {
  checkName(name);
  let inode: number;
  try {
    inode = statSync(segmentPath(name)).ino;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new SharedMemoryNotFoundError(name, { cause: error });
    throw error;
  }
  let segment = mapped.get(name)?.deref();
  if (!segment || segment.inode !== inode) {
    const fd = openSync(segmentPath(name), constants.O_RDWR);
    try {
      const size = fstatSync(fd).size;
      if (size === 0) throw new InvalidArgumentError(`The shared memory segment '${name}' is empty: it has no memory to map.`);
      segment = map(name, fd, size);
    } finally {
      closeSync(fd);
    }
  }
  if (pin) pinSegment(segment);
  return segment;
}

/** Removes segment `name` (mappings stay valid until they are let go). */
export function unlinkSegment(name: string): void {
  checkName(name);
  try {
    unlinkSync(segmentPath(name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new SharedMemoryNotFoundError(name, { cause: error });
    throw error;
  } finally {
    segmentTracker().untrack(name);
    pinned.delete(name);
  }
}

/** Keeps `segment` mapped for later tasks, until its name is unlinked (checked every few seconds). */
function pinSegment(segment: Segment): void {
  pinned.set(segment.name, segment);
  if (pruneTimer) return;
  pruneTimer = setInterval(prunePinned, 5000);
  pruneTimer.unref();
}

/** Lets go of pinned mappings whose segment was unlinked (or replaced), so their memory can be freed. */
export function prunePinned(): void {
  for (const [name, segment] of pinned) {
    let inode: number | undefined;
    try {
      inode = statSync(segmentPath(name)).ino;
    } catch {
      inode = undefined;
    }
    if (inode !== segment.inode) pinned.delete(name);
  }
  if (pinned.size === 0 && pruneTimer) {
    clearInterval(pruneTimer);
    pruneTimer = undefined;
  }
}
