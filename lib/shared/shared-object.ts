/**
 * What every shared object (SharedMemory, ShareableList, RawValue, RawArray...) has in common:
 * it crosses the process boundary as a small descriptor, and the receiving process rebuilds the
 * same object over the same memory from it. Each kind registers how it is rebuilt.
 */
import { useSharedHooks } from '../transport/shared-refs';
import { attachSegment, segmentOf } from './segment';
import { capture, regionView, releaseRegions, retainRegions } from './transfer';

/** The method through which a shared object describes itself for another process. */
export const kDescribe = Symbol('procpool.shared.describe');

/** A shared object's descriptor: its kind and what rebuilding it needs (plain data). */
export interface SharedDescriptor {
  readonly kind: string;
  readonly [field: string]: unknown;
}

/** An object that is shared, not copied, when it is a task's argument or result. */
export interface SharedObject {
  [kDescribe](): SharedDescriptor;
}

const revivers = new Map<string, (descriptor: SharedDescriptor) => unknown>();
let used = false;

/** Registers how objects of `kind` are rebuilt in a receiving process. */
export function registerSharedKind(kind: string, revive: (descriptor: SharedDescriptor) => unknown): void {
  revivers.set(kind, revive);
}

/** Modules that register kinds, by kind, for kinds whose module was not loaded yet. */
const loaders = new Map<string, () => unknown>();

/** Says which module registers `kinds` (it is loaded when one of them first arrives). */
export function registerKindLoader(kinds: readonly string[], load: () => unknown): void {
  for (const kind of kinds) loaders.set(kind, load);
}

/** Rebuilds the shared object a descriptor describes (one nested in another object's descriptor). */
export function reviveShared(descriptor: SharedDescriptor): unknown {
  used = true;
  if (!revivers.has(descriptor.kind)) loaders.get(descriptor.kind)?.();
  const revive = revivers.get(descriptor.kind);
  if (!revive) throw new Error(`procpool payload: unknown kind of shared object '${String(descriptor.kind)}'`);
  return revive(descriptor);
}

/** This process made or received a shared object: payloads are checked for them from now on. */
export function markSharedUsed(): void {
  used = true;
}

function isShared(value: object): value is SharedObject {
  return typeof (value as Partial<SharedObject>)[kDescribe] === 'function';
}

useSharedHooks({
  capture,
  regionView,
  retain: retainRegions,
  release: releaseRegions,
  locate: (buffer) => segmentOf(buffer)?.name,
  // Mappings made for what tasks receive stay, so the next task given the same segment costs nothing.
  attach: (name) => {
    used = true;
    return attachSegment(name, true).buffer;
  },
  used: () => used,
  describe: (value) => (isShared(value) ? value[kDescribe]() : undefined),
  revive: (descriptor) => reviveShared(descriptor as SharedDescriptor),
});
