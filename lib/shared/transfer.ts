/**
 * Large typed arrays in task arguments, without asking: a view of 1 MiB or more is captured at the
 * call into a region of shared memory (a memory-speed copy into pages kept from earlier calls,
 * instead of a copy into the pipe, one out of it in the worker, and fresh pages there), and the
 * task receives a view of that region: no copy at all on the worker's side. The semantics stay a
 * copy's: the region holds the array as it was at the call, and nothing the task does to it
 * reaches the caller's array.
 *
 * A region is reused only once nobody can reach it: the task is final in the application, and
 * every worker it was sent to has let its view go. A worker notices that through a
 * FinalizationRegistry and reports the regions back; it collects its garbage when such views add
 * up, and when it goes idle, since V8 does not count this memory as its own.
 */
import { debuglog } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TRANSFER_MIN } from '../transport/shared-refs';
import { makeView } from '../transport/view-types';
import { unavailableReason, nativeMemory } from './native';
import { ReleaseRingWriter } from './release-ring';
import { setCollector, workerRole } from './role';
import { attachSegment, createSegment, unlinkSegment, type Segment } from './segment';

const CHUNK = 64 << 20;
const PAGE = 4096;
/** Chunks with nothing in them are let go after this long without a capture. */
const IDLE_MS = 10_000;
/** A worker collects garbage once the views it received and still holds add up to this. */
const COLLECT_AT = 128 << 20;
/** ...or once it has been idle this long while holding any. */
const IDLE_COLLECT_MS = 20;

interface Chunk {
  readonly segment: Segment;
  /** Free ranges, by offset, coalesced. */
  readonly free: { offset: number; size: number }[];
  used: number;
}

interface Region {
  readonly chunk: Chunk;
  readonly offset: number;
  readonly size: number;
  refs: number;
}

const chunks: Chunk[] = [];
const regions = new Map<number, Region>();
let nextId = 1;
/** Whether this process can capture (shared memory is available). */
let captureOn: boolean | undefined;
let trimTimer: NodeJS.Timeout | undefined;

/**
 * Copies `view` into a region of shared memory and returns where it is (with one reference, the
 * caller's), or undefined when it is small, or shared memory is not available here.
 */
export function capture(view: ArrayBufferView): { name: string; offset: number; id: number } | undefined {
  if (view.byteLength < TRANSFER_MIN) return undefined;
  captureOn ??= unavailableReason() === undefined;
  if (!captureOn) return undefined;
  // Regions the workers let go of since the last look come back first (their release rings).
  drainRings();
  const size = Math.ceil(view.byteLength / PAGE) * PAGE;
  const [chunk, offset] = allocate(size);
  new Uint8Array(chunk.segment.buffer, offset, view.byteLength).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  const id = nextId;
  nextId = nextId === 0xffffffff ? 1 : nextId + 1;
  regions.set(id, { chunk, offset, size, refs: 1 });
  scheduleTrim();
  return { name: chunk.segment.name, offset, id };
}

/** What the application holds in shared memory for large arguments now (for the specs and debugging). */
export function transferStats(): { chunks: number; regions: number; usedBytes: number } {
  drainRings();
  return { chunks: chunks.length, regions: regions.size, usedBytes: chunks.reduce((sum, c) => sum + c.used, 0) };
}

/** A worker's channel, as the transfer heap sees it. */
interface Holder {
  /** Reads the regions the worker released (its release ring). */
  drain(): void;
  /** Asks the worker to collect garbage, if it holds regions. */
  collect(): void;
}

/** The channels of workers that were sent regions. */
const drainers = new Set<Holder>();

function drainRings(): void {
  for (const holder of drainers) holder.drain();
}

/** Registers a worker that is sent regions: read before each capture; returns how to remove it. */
export function addHolder(holder: Holder): () => void {
  drainers.add(holder);
  return () => drainers.delete(holder);
}

/** One more holder of each region (a worker it was sent to). */
export function retainRegions(ids: readonly number[]): void {
  for (const id of ids) {
    const region = regions.get(id);
    if (region) region.refs++;
  }
}

/** One holder fewer; a region nobody holds goes back to its chunk. */
export function releaseRegions(ids: readonly number[]): void {
  for (const id of ids) {
    const region = regions.get(id);
    if (!region || --region.refs > 0) continue;
    regions.delete(id);
    free(region.chunk, region.offset, region.size);
  }
}

function allocate(size: number): [Chunk, number] {
  for (const chunk of chunks) {
    const at = chunk.free.findIndex((range) => range.size >= size);
    if (at < 0) continue;
    const range = chunk.free[at];
    const offset = range.offset;
    if (range.size === size) chunk.free.splice(at, 1);
    else chunk.free[at] = { offset: offset + size, size: range.size - size };
    chunk.used += size;
    return [chunk, offset];
  }
  // No room: the workers may hold views of finished tasks that only a collection finds. Ask them
  // now, so that the rest of this burst (read through their release rings) finds room.
  for (const holder of drainers) holder.collect();
  // The chunks are this process's own: a worker's are unlinked when it ends.
  const segment = createSegment(Math.max(CHUNK, size), undefined, true, 'process');
  const chunk: Chunk = { segment, free: [{ offset: size, size: segment.size - size }], used: size };
  if (chunk.free[0].size === 0) chunk.free.length = 0;
  chunks.push(chunk);
  return [chunk, 0];
}

function free(chunk: Chunk, offset: number, size: number): void {
  chunk.used -= size;
  const ranges = chunk.free;
  let i = 0;
  while (i < ranges.length && ranges[i].offset < offset) i++;
  ranges.splice(i, 0, { offset, size });
  // Coalesce with the next range, then with the previous one.
  if (i + 1 < ranges.length && ranges[i].offset + ranges[i].size === ranges[i + 1].offset) {
    ranges[i] = { offset: ranges[i].offset, size: ranges[i].size + ranges[i + 1].size };
    ranges.splice(i + 1, 1);
  }
  if (i > 0 && ranges[i - 1].offset + ranges[i - 1].size === ranges[i].offset) {
    ranges[i - 1] = { offset: ranges[i - 1].offset, size: ranges[i - 1].size + ranges[i].size };
    ranges.splice(i, 1);
  }
}

/** Captures keep chunks warm; after a quiet while, empty chunks are unlinked. */
function scheduleTrim(): void {
  if (trimTimer) {
    trimTimer.refresh();
    return;
  }
  trimTimer = setTimeout(() => {
    trimTimer = undefined;
    trimTransfer();
  }, IDLE_MS);
  trimTimer.unref();
}

/** Unlinks every chunk that holds no region now (what the idle timer does; the specs call it too). */
export function trimTransfer(): void {
  drainRings();
  for (let i = chunks.length - 1; i >= 0; i--) {
    if (chunks[i].used > 0) continue;
    unlinkSegment(chunks[i].segment.name);
    chunks.splice(i, 1);
  }
}

// --- the receiving side (a worker) -----------------------------------------------------------------

let ring: ReleaseRingWriter | undefined;
let released: number[] = [];
let flushScheduled = false;
let outstanding = 0;
let collectGarbage: (() => void) | undefined;

/** The ring the application reads released regions from (what the sink cannot wait for). */
export function setReleaseRing(name: string): void {
  ring = new ReleaseRingWriter(name);
}

/** Notices when a region's view is collected: its memory can serve another call. */
const views = new FinalizationRegistry<{ id: number; bytes: number; segment: Segment }>((held) => {
  outstanding -= held.bytes;
  released.push(held.id);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(flush);
});

function flush(): void {
  flushScheduled = false;
  const ids = released;
  released = [];
  debug('released %d captured regions', ids.length);
  const rest = ring ? ring.write(ids) : ids;
  if (rest.length) workerRole()?.releaseRegions(rest);
}

/** Regions of workers' results copied out here since the channel last asked (see `takeCopiedRegions`). */
let copied: number[] = [];

/** The regions copied out by the last decoding: the channel tells their worker to reuse them. */
export function takeCopiedRegions(): number[] {
  const ids = copied;
  if (ids.length) copied = [];
  return ids;
}

/**
 * A region captured by another process. In a worker (an argument): a view of the region itself, its
 * own buffer, whose collection releases the region. In the application (a result): a copy, owned by
 * the caller for as long as it likes; the region goes back to the worker at once.
 */
export function regionView(name: string, offset: number, byteLength: number, type: number, id: number): ArrayBufferView {
  const segment = attachSegment(name, true);
  if (!workerRole()) {
    const own = new ArrayBuffer(byteLength);
    new Uint8Array(own).set(new Uint8Array(segment.buffer, offset, byteLength));
    copied.push(id);
    return makeView(type, own, 0, byteLength);
  }
  const buffer = nativeMemory().viewAt(segment.address + BigInt(offset), byteLength);
  // Holding the segment keeps the chunk mapped while the region's view lives.
  views.register(buffer, { id, bytes: byteLength, segment });
  outstanding += byteLength;
  return makeView(type, buffer, 0, byteLength);
}

/** Answers sent so far: an idle collection waits until they stop coming. */
let answers = 0;
let idleTimer: NodeJS.Timeout | undefined;

/** After a task: collect garbage if the received views still held add up (see COLLECT_AT). */
export function collectIfHeavy(): void {
  answers++;
  if (outstanding >= COLLECT_AT) collect();
}

/**
 * The worker has nothing to do: once it has stayed so for a moment (a full collection takes a few
 * ms: not between the batches of a burst), let go of the regions its finished tasks no longer reach.
 */
export function collectWhenIdle(): void {
  if (outstanding <= 0 || idleTimer) return;
  const seen = answers;
  idleTimer = setTimeout(() => {
    idleTimer = undefined;
    if (answers === seen) collect();
    else collectWhenIdle();
  }, IDLE_COLLECT_MS);
}

const debug = debuglog('procpool');

/** The application asked for its regions back: collect now (if any view is held). */
export function collectNow(): void {
  if (outstanding > 0) collect();
}

setCollector({ afterAnswer: collectIfHeavy, idle: collectWhenIdle, now: collectNow });

function collect(): void {
  debug('collecting garbage: %d bytes of captured regions held', outstanding);
  if (!collectGarbage) {
    // V8 does not count memory it did not allocate: only a full collection finds these views.
    setFlagsFromString('--expose-gc');
    collectGarbage = runInNewContext('gc') as () => void;
  }
  // Twice: the V8 deserializer that made a task's views keeps them until its wrapper is collected,
  // and only the collection after that one finds the views unreachable (measured: with one, the
  // last task's arrays stayed held).
  collectGarbage();
  collectGarbage();
}
