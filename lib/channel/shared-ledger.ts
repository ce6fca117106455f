import { removeSegment, trackSegment, untrackSegment } from '../platform/reaper';
import { ReleaseRing } from '../shared/release-ring';
import { addHolder } from '../shared/transfer';
import { COLLECT_FRAME, ReleaseRingCodec } from '../transport/codecs';
import { releaseRegions, retainRegions } from '../transport/shared-refs';

/**
 * A channel's account of the shared memory its worker holds or made: the application's captured
 * regions it was sent (until it reports them released, or ends), its release ring, and the
 * segments it created (tracked by the application; its own transfer heap goes when it ends).
 */
export class SharedLedger {
  /** Regions the worker may still hold, with how many times it was sent each. */
  readonly #regions = new Map<number, number>();
  #ring: { ring: ReleaseRing; remove(): void } | undefined;
  /** Asked to collect garbage, and no region has come back since. */
  #collectAsked = false;
  /** Segments the worker made for itself (its transfer heap). */
  readonly #own = new Set<string>();

  /** @param write - writes a frame to the worker. */
  constructor(private readonly write: (frame: Buffer) => void) {}

  /** The worker is sent these regions (a task's arguments). */
  hold(ids: readonly number[]): void {
    if (!this.#ring) {
      // With its first region, the worker gets a ring to report released ones where the
      // application reads them at once.
      const ring = new ReleaseRing();
      const remove = addHolder({
        drain: () => this.released(ring.drain()),
        collect: () => {
          if (this.#regions.size === 0 || this.#collectAsked) return;
          this.#collectAsked = true;
          this.write(COLLECT_FRAME);
        },
      });
      this.#ring = { ring, remove };
      this.write(ReleaseRingCodec.encode(ring.name));
    }
    retainRegions(ids);
    for (const id of ids) this.#regions.set(id, (this.#regions.get(id) ?? 0) + 1);
  }

  /** The worker let go of these regions (reported in a frame, or read from its ring). */
  released(ids: readonly number[]): void {
    if (ids.length) this.#collectAsked = false;
    const known = ids.filter((id) => {
      const count = this.#regions.get(id);
      if (count === undefined) return false;
      if (count > 1) this.#regions.set(id, count - 1);
      else this.#regions.delete(id);
      return true;
    });
    releaseRegions(known);
  }

  /** The worker created a segment: the application tracks it; its own go when it ends. */
  created(name: string, ownedByWorker: boolean): void {
    trackSegment(name);
    if (ownedByWorker) this.#own.add(name);
  }

  /** The worker unlinked a segment. */
  unlinked(name: string): void {
    untrackSegment(name);
    this.#own.delete(name);
  }

  /** The worker is gone: it holds nothing, and its own segments are unlinked. */
  end(): void {
    if (this.#ring) {
      this.#ring.remove();
      this.#ring.ring.close();
    }
    for (const [id, count] of this.#regions) for (let i = 0; i < count; i++) releaseRegions([id]);
    this.#regions.clear();
    for (const name of this.#own) removeSegment(name);
    this.#own.clear();
  }
}
