/**
 * Who unlinks the segments a process created if that process's application ends without doing
 * it. Only the creator tracks a segment: attaching never does (Python's tracker unlinked segments
 * that a process had only attached to, until 3.13).
 */
export interface SegmentTracker {
  track(name: string): void;
  untrack(name: string): void;
}

let tracker: SegmentTracker | undefined;

/**
 * The tracker of this process. In the application, its reaper process, which unlinks them if the
 * application is killed (loaded on first use: a worker never loads it).
 */
export function segmentTracker(): SegmentTracker {
  if (!tracker) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const reaper = require('../platform/reaper') as typeof import('../platform/reaper');
    tracker = { track: reaper.trackSegment, untrack: reaper.untrackSegment };
  }
  return tracker;
}

/** A worker hands its segments to the application's tracker, over its channel. */
export function setSegmentTracker(next: SegmentTracker): void {
  tracker = next;
}
