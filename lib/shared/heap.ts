/**
 * Small blocks of shared memory for shared values and arrays (Python's `multiprocessing.heap`):
 * one segment per object would spend a page, a file and a mapping on every 4-byte counter, so
 * small blocks share 1 MiB arenas. A block belongs to the process that allocated it and goes back
 * to the arena when that process's object is garbage collected (as in Python: the creating process
 * must keep the object alive while others use it); an arena whose blocks are all free is unlinked.
 * Blocks a worker allocates are never reused (the application may hold what the worker returned),
 * and its arenas are the worker's own: they are unlinked when the worker ends. An object a worker
 * made stays usable where it was received, but can be passed on only while that worker lives.
 * Large blocks get a segment of their own.
 */
import { workerRole, type SegmentScope } from './role';
import { createSegment, unlinkSegment, type Segment } from './segment';

/** Where a block is: a segment and a byte range of it. */
export interface Block {
  readonly segment: Segment;
  readonly offset: number;
  readonly size: number;
  /** The arena it was cut from (none for a large block). */
  readonly arena?: Arena;
}

const ARENA_SIZE = 1 << 20;
/** Blocks at least this large get a segment of their own. */
const LARGE = 256 * 1024;
/** Every block starts on this boundary (8-byte elements, and atomics on them). */
const ALIGN = 16;

interface Arena {
  readonly segment: Segment;
  /** Bytes handed out from the start (freed blocks are reused through `free`). */
  used: number;
  /** Blocks in use. */
  live: number;
}

const arenas: Arena[] = [];
/** Free blocks by size, reused before an arena grows. */
const free = new Map<number, Block[]>();

/** Returns blocks whose owner object was collected. */
const owners = new FinalizationRegistry<Block>((block) => release(block));

/** A block of at least `size` bytes, owned by `owner`: it is freed when `owner` is collected. */
export function allocate(size: number, owner: object): Block {
  const rounded = Math.max(ALIGN, Math.ceil(size / ALIGN) * ALIGN);
  const block: Block = rounded >= LARGE ? { segment: createSegment(rounded, undefined, true, scope()), offset: 0, size: rounded } : small(rounded);
  // A worker's object may have been returned to the application, which keeps using the memory
  // after the worker's object is gone: a worker never takes a block back.
  if (!workerRole()) owners.register(owner, block);
  return block;
}

/** A worker's memory is its own (unlinked when it ends); the application's lasts until it is freed. */
function scope(): SegmentScope {
  return workerRole() ? 'process' : 'application';
}

function small(size: number): Block {
  const reused = free.get(size)?.pop();
  if (reused) {
    new Uint8Array(reused.segment.buffer, reused.offset, reused.size).fill(0);
    (reused.arena as Arena).live++;
    return reused;
  }
  let arena = arenas.find((a) => a.used + size <= a.segment.size);
  if (!arena) {
    arena = { segment: createSegment(ARENA_SIZE, undefined, true, scope()), used: 0, live: 0 };
    arenas.push(arena);
  }
  const block = { segment: arena.segment, offset: arena.used, size, arena };
  arena.used += size;
  arena.live++;
  return block;
}

function unlinkQuietly(segment: Segment): void {
  try {
    unlinkSegment(segment.name);
  } catch {
    // Unlinked already.
  }
}

function release(block: Block): void {
  const arena = block.arena;
  if (!arena) {
    unlinkQuietly(block.segment);
    return;
  }
  if (--arena.live > 0) {
    let list = free.get(block.size);
    if (!list) free.set(block.size, (list = []));
    list.push(block);
    return;
  }
  // Every block of the arena is free: the arena goes (processes that still map it keep their view).
  arenas.splice(arenas.indexOf(arena), 1);
  for (const [size, list] of free) {
    const kept = list.filter((b) => b.arena !== arena);
    if (kept.length) free.set(size, kept);
    else free.delete(size);
  }
  unlinkQuietly(arena.segment);
}
