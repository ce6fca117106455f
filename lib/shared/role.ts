/**
 * What shared memory does differently in a worker: who tracks the segments it creates, where the
 * regions it releases are reported, and that it captures nothing. Tiny on purpose: a worker sets
 * its role at start-up without loading the rest of shared memory, which loads only when a task
 * first needs it (an idle worker stays the size it was without it).
 */

/**
 * Who unlinks the segments a process created if that process's application ends without doing
 * it. Only the creator tracks a segment: attaching never does (Python's tracker unlinked segments
 * that a process had only attached to, until 3.13).
 */
export interface SegmentTracker {
  /**
   * `scope`: `'application'` (unlinked if the application ends without unlinking it) or
   * `'process'` (the creating process's own, unlinked when that process ends: a worker's transfer
   * heap).
   */
  track(name: string, scope?: SegmentScope): void;
  untrack(name: string): void;
}

/** How long a tracked segment may live unless it is unlinked: the application's life, or its creator's. */
export type SegmentScope = 'application' | 'process';

/** A worker's part: it hands its segments and released regions to the application. */
export interface WorkerRole {
  readonly tracker: SegmentTracker;
  /** Reports captured regions the worker let go of (when its release ring is full or absent). */
  releaseRegions(ids: number[]): void;
}

/** The hooks the transfer heap installs when it loads, for the worker's loop to call. */
export interface Collector {
  /** After each answer: collect garbage if received views add up. */
  afterAnswer(): void;
  /** The worker went idle. */
  idle(): void;
  /** The application asked for its regions back. */
  now(): void;
}

let tracker: SegmentTracker | undefined;
let worker: WorkerRole | undefined;
let collector: Collector | undefined;

/**
 * The tracker of this process. In the application, its reaper process, which unlinks segments if
 * the application is killed (loaded on first use: a worker never loads it).
 */
export function segmentTracker(): SegmentTracker {
  if (!tracker) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const reaper = require('../platform/reaper') as typeof import('../platform/reaper');
    tracker = { track: reaper.trackSegment, untrack: reaper.untrackSegment };
  }
  return tracker;
}

/** Makes this process a worker (its entry does this first). */
export function setWorkerRole(role: WorkerRole): void {
  worker = role;
  tracker = role.tracker;
}

/** The worker's role, or undefined in the application. */
export function workerRole(): WorkerRole | undefined {
  return worker;
}

/** Installed by the transfer heap when it loads. */
export function setCollector(next: Collector): void {
  collector = next;
}

/** The transfer heap's collection hooks, once it is loaded. */
export function loadedCollector(): Collector | undefined {
  return collector;
}
