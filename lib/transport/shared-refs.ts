/**
 * Shared memory in task arguments and results travels by reference, not by copy:
 * - a typed array, Buffer or DataView over a mapped segment goes as (segment name, offset,
 *   length, class); the receiver maps the same segment (once: attachments are cached) and gets a
 *   view of the same memory;
 * - a shared object (a SharedMemory, a ShareableList, a RawValue...) goes as a marker,
 *   `{ __procpool_shared__: descriptor }`, and the receiver rebuilds it from the descriptor.
 * The shared-memory module installs the hooks below when it is loaded; payloads of a process that
 * never used shared memory are never walked.
 */
import type { Deserializer, Serializer } from 'node:v8';
import { makeView, viewType } from './view-types';

/** Views at least this large are captured into shared memory when it is available. */
export const TRANSFER_MIN = 1 << 20;

/** What the payload codec needs from shared memory. */
export interface SharedHooks {
  /**
   * Copies a large view into a region of shared memory, returning where it is, or undefined
   * (shared memory unavailable, or this process does not capture).
   */
  capture(view: ArrayBufferView): { name: string; offset: number; id: number } | undefined;
  /** A view of a captured region, whose collection is reported back to the capturing process. */
  regionView(name: string, offset: number, byteLength: number, type: number, id: number): ArrayBufferView;
  /** One more holder of these regions (a worker they were sent to). */
  retain(ids: readonly number[]): void;
  /** One holder fewer; a region nobody holds is reused. */
  release(ids: readonly number[]): void;
  /** The name of the segment that `buffer` maps, if it maps one. */
  locate(buffer: ArrayBufferLike): string | undefined;
  /** Maps segment `name` in this process (or reuses its mapping) and returns its memory. */
  attach(name: string): ArrayBuffer;
  /** Whether this process has made or received any shared object (only then are values walked). */
  used(): boolean;
  /** The descriptor of a shared object, or undefined for any other value. */
  describe(value: object): object | undefined;
  /** Rebuilds a shared object in this process from its descriptor. */
  revive(descriptor: object): unknown;
}

/** The key of the marker that stands for a shared object on the wire. */
export const SHARED_KEY = '__procpool_shared__';

let hooks: SharedHooks | undefined;

/** Installs the shared-memory hooks (done by `lib/shared` when it loads). */
export function useSharedHooks(next: SharedHooks): void {
  hooks = next;
}

/** The hooks installed now, if any. */
export function sharedHooks(): SharedHooks | undefined {
  return hooks;
}

/** How a host object (an ArrayBufferView) was written. */
export const HostRecord = {
  /** Copied after the structure: u32 index follows. */
  Copied: 0,
  /** Over shared memory: u32 name length, name, double byte offset, double byte length, u32 class. */
  Shared: 1,
  /** Captured into a region of shared memory: as Shared, then u32 region id. */
  Captured: 2,
} as const;

/** The regions each encoded payload references, for the channel and the task to hold and release. */
const payloadRegions = new WeakMap<Buffer, number[]>();

/** The regions a payload references, if any. */
export function regionsOf(payload: Buffer): readonly number[] | undefined {
  return payloadRegions.get(payload);
}

/** Records the regions a payload references. */
export function setRegions(payload: Buffer, ids: number[]): void {
  if (ids.length) payloadRegions.set(payload, ids);
}

/** The holder of a payload (its task, its Process) lets go of the regions the payload references. */
export function releasePayload(payload: Buffer): void {
  const ids = payloadRegions.get(payload);
  if (ids) hooks?.release(ids);
}

/** One more holder of these regions. */
export function retainRegions(ids: readonly number[]): void {
  hooks?.retain(ids);
}

/** One holder fewer of these regions. */
export function releaseRegions(ids: readonly number[]): void {
  hooks?.release(ids);
}

function writeLocation(serializer: Serializer, kind: number, name: string, byteOffset: number, view: ArrayBufferView): void {
  const bytes = Buffer.from(name, 'utf8');
  serializer.writeUint32(kind);
  serializer.writeUint32(bytes.length);
  serializer.writeRawBytes(bytes);
  serializer.writeDouble(byteOffset);
  serializer.writeDouble(view.byteLength);
  serializer.writeUint32(viewType(view));
}

/**
 * Writes `view` as a reference, if it is over shared memory (the same memory for the receiver) or
 * large enough to be captured into it (`regions` gets the region's id); returns whether it did.
 */
export function writeSharedView(serializer: Serializer, view: ArrayBufferView, regions: number[] | undefined): boolean {
  if (!hooks) return false;
  const name = hooks.locate(view.buffer);
  if (name !== undefined) {
    writeLocation(serializer, HostRecord.Shared, name, view.byteOffset, view);
    return true;
  }
  const captured = regions && view.byteLength >= TRANSFER_MIN ? hooks.capture(view) : undefined;
  if (!captured) return false;
  writeLocation(serializer, HostRecord.Captured, captured.name, captured.offset, view);
  serializer.writeUint32(captured.id);
  (regions as number[]).push(captured.id);
  return true;
}

/** Reads what `writeSharedView` wrote after its record kind: a view over the same memory here. */
export function readSharedView(deserializer: Deserializer, kind: number): ArrayBufferView {
  const name = (deserializer.readRawBytes(deserializer.readUint32()) as Buffer).toString('utf8');
  const byteOffset = deserializer.readDouble();
  const byteLength = deserializer.readDouble();
  const type = deserializer.readUint32();
  if (!hooks) throw new Error(`procpool payload: a view of shared memory segment '${name}' arrived, but shared memory is not loaded`);
  if (kind === HostRecord.Captured) return hooks.regionView(name, byteOffset, byteLength, type, deserializer.readUint32());
  return makeView(type, hooks.attach(name), byteOffset, byteLength);
}

function isPlainContainer(value: object): boolean {
  return !(ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp || value instanceof Error);
}

/** Whether a shared object can be reached from `value`. */
function holdsShared(value: unknown, seen: Set<object>, describe: SharedHooks['describe']): boolean {
  if (typeof value !== 'object' || value === null || seen.has(value) || !isPlainContainer(value)) return false;
  if (describe(value)) return true;
  seen.add(value);
  if (value instanceof Map) {
    for (const [k, v] of value) if (holdsShared(k, seen, describe) || holdsShared(v, seen, describe)) return true;
    return false;
  }
  const items = value instanceof Set ? value : Array.isArray(value) ? value : Object.values(value);
  for (const item of items) if (holdsShared(item, seen, describe)) return true;
  return false;
}

/** A copy of `value` in which every shared object is its marker (cycles kept). */
function replaceShared(value: unknown, copies: Map<object, unknown>, describe: SharedHooks['describe']): unknown {
  if (typeof value !== 'object' || value === null || !isPlainContainer(value)) return value;
  const known = copies.get(value);
  if (known !== undefined) return known;
  const descriptor = describe(value);
  if (descriptor) {
    const marker = { [SHARED_KEY]: descriptor };
    copies.set(value, marker);
    return marker;
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    copies.set(value, out);
    for (const item of value) out.push(replaceShared(item, copies, describe));
    return out;
  }
  if (value instanceof Map) {
    const out = new Map();
    copies.set(value, out);
    for (const [k, v] of value) out.set(replaceShared(k, copies, describe), replaceShared(v, copies, describe));
    return out;
  }
  if (value instanceof Set) {
    const out = new Set();
    copies.set(value, out);
    for (const item of value) out.add(replaceShared(item, copies, describe));
    return out;
  }
  const out: Record<string, unknown> = {};
  copies.set(value, out);
  for (const [k, v] of Object.entries(value)) out[k] = replaceShared(v, copies, describe);
  return out;
}

/**
 * `value` ready for the wire: the same value when it holds no shared object (the usual case, and
 * always when this process never used shared memory), else a copy with markers in their place.
 */
export function toWire(value: unknown): { value: unknown; shared: boolean; held?: readonly object[] } {
  if (!hooks?.used()) return { value, shared: false };
  const describe = hooks.describe;
  if (!holdsShared(value, new Set(), describe)) return { value, shared: false };
  const copies = new Map<object, unknown>();
  const wire = replaceShared(value, copies, describe);
  return { value: wire, shared: true, held: [...copies.keys()] };
}

/**
 * What a payload holds alive: the shared objects (and containers) it was made from. A shared
 * object's memory goes back to its heap when the object is collected, so the caller's object must
 * outlive the payload: `pool.apply(f, [new Lock()])` keeps no other reference to the lock.
 */
const heldBy = new WeakMap<Buffer, readonly object[]>();

/** Keeps `objects` alive as long as `payload` is (none: forgets what a reused buffer held before). */
export function holdWith(payload: Buffer, objects: readonly object[] | undefined): void {
  if (objects) heldBy.set(payload, objects);
  else heldBy.delete(payload);
}

/** Rebuilds, in place, the shared objects of a value that came off the wire with markers. */
export function fromWire(value: unknown): unknown {
  const revive = (hooks as SharedHooks).revive;
  const visit = (item: unknown, seen: Set<object>): unknown => {
    if (typeof item !== 'object' || item === null || seen.has(item) || !isPlainContainer(item)) return item;
    const marker = (item as Record<string, unknown>)[SHARED_KEY];
    if (marker !== undefined && Object.keys(item).length === 1) return revive(marker as object);
    seen.add(item);
    if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) item[i] = visit(item[i], seen);
    } else if (item instanceof Map) {
      for (const [k, v] of [...item]) {
        item.delete(k);
        item.set(visit(k, seen), visit(v, seen));
      }
    } else if (item instanceof Set) {
      const values = [...item];
      item.clear();
      for (const v of values) item.add(visit(v, seen));
    } else {
      const record = item as Record<string, unknown>;
      for (const key of Object.keys(record)) record[key] = visit(record[key], seen);
    }
    return item;
  };
  return visit(value, new Set());
}
