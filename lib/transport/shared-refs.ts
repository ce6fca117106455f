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

/** What the payload codec needs from shared memory. */
export interface SharedHooks {
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

/** How a host object (an ArrayBufferView) was written. */
export const HostRecord = {
  /** Copied after the structure: u32 index follows. */
  Copied: 0,
  /** Over shared memory: u32 name length, name, double byte offset, double byte length, u32 class. */
  Shared: 1,
} as const;

/** Writes `view` as a reference to its segment, if it is over one; returns whether it did. */
export function writeSharedView(serializer: Serializer, view: ArrayBufferView): boolean {
  const name = hooks?.locate(view.buffer);
  if (name === undefined) return false;
  const bytes = Buffer.from(name, 'utf8');
  serializer.writeUint32(HostRecord.Shared);
  serializer.writeUint32(bytes.length);
  serializer.writeRawBytes(bytes);
  serializer.writeDouble(view.byteOffset);
  serializer.writeDouble(view.byteLength);
  serializer.writeUint32(viewType(view));
  return true;
}

/** Reads what `writeSharedView` wrote (after its record kind): a view of the same memory here. */
export function readSharedView(deserializer: Deserializer): ArrayBufferView {
  const name = (deserializer.readRawBytes(deserializer.readUint32()) as Buffer).toString('utf8');
  const byteOffset = deserializer.readDouble();
  const byteLength = deserializer.readDouble();
  const type = deserializer.readUint32();
  if (!hooks) throw new Error(`procpool payload: a view of shared memory segment '${name}' arrived, but shared memory is not loaded`);
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
  const descriptor = describe(value);
  if (descriptor) return { [SHARED_KEY]: descriptor };
  const known = copies.get(value);
  if (known !== undefined) return known;
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
export function toWire(value: unknown): { value: unknown; shared: boolean } {
  if (!hooks?.used()) return { value, shared: false };
  const describe = hooks.describe;
  if (!holdsShared(value, new Set(), describe)) return { value, shared: false };
  return { value: replaceShared(value, new Map(), describe), shared: true };
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
