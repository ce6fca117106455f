/**
 * Shared memory in a worker, loaded when a payload first needs it: until then the payload codec
 * sees these placeholders, which know that nothing is mapped here yet. An idle worker, or one
 * whose tasks never touch shared memory, never loads it (measured: +1.2 MB of RSS per worker when
 * it was loaded at start-up).
 */
import { loadedCollector } from '../shared/role';
import { sharedHooks, useSharedHooks, type SharedHooks } from '../transport/shared-refs';

type Transfer = typeof import('../shared/transfer');

/** Loads shared memory; its own hooks replace the placeholders. Returns the transfer heap. */
function load(): Transfer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../shared');
  // The other kinds of shared object, so that any of them can be revived here.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../sync');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../queues');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('../manager/proxies');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('../shared/transfer') as Transfer;
}

/** The loaded hooks, for a call that arrived at a placeholder. */
function loaded(): SharedHooks {
  load();
  return sharedHooks() as SharedHooks;
}

const placeholders: SharedHooks = {
  // Nothing is mapped in this process before shared memory is loaded.
  locate: () => undefined,
  used: () => false,
  describe: () => undefined,
  // A large typed array in a result: worth loading shared memory for (1 MiB or more, checked before).
  capture: (view) => loaded().capture(view),
  retain: () => {},
  release: () => {},
  attach: (name) => loaded().attach(name),
  regionView: (name, offset, byteLength, type, id) => loaded().regionView(name, offset, byteLength, type, id),
  revive: (descriptor) => loaded().revive(descriptor),
};

/** Installs the placeholders (the worker's entry, at start-up). */
export function installLazySharedMemory(): void {
  if (!sharedHooks()) useSharedHooks(placeholders);
}

/** A ReleaseRing frame: where to report released regions (shared memory is in use). */
export function useReleaseRing(name: string): void {
  load().setReleaseRing(name);
}

/** The application copied these regions of our results out: they can be reused. */
export function releaseResultRegions(ids: readonly number[]): void {
  load().releaseRegions(ids);
}

/** After each answer. */
export function afterAnswer(): void {
  loadedCollector()?.afterAnswer();
}

/** The worker went idle. */
export function workerIdle(): void {
  loadedCollector()?.idle();
}

/** The application wants its regions back. */
export function collectNow(): void {
  loadedCollector()?.now();
}
