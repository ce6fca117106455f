/**
 * Reusable memory for large task payloads. Fresh memory costs far more than copying: on this kind
 * of machine every first touch of a 4 KiB page costs 25–40 µs, so copying 8 MB into a new buffer
 * takes several ms, into a reused one ~0.4 ms. A call encodes its arguments when it is made, so a
 * burst of large calls holds all their payloads at once; each buffer comes back when its worker
 * has answered, and serves the next burst.
 *
 * Free buffers are kept up to `limit` bytes, and only while payloads keep coming: after
 * `idleMs` without a payload, they are let go. Keeping them never raises the peak (they were all in
 * use at once); it only keeps that peak warm between bursts.
 */
export class BufferPool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  #freeBytes = 0;
  #trimTimer: NodeJS.Timeout | undefined;

  constructor(
    /** Payloads smaller than this are allocated normally. */
    readonly minSize = 256 * 1024,
    /** Free memory kept at most, in bytes. */
    private readonly limit = 1024 * 1024 * 1024,
    /** How long free buffers are kept after the last payload. */
    private readonly idleMs = 10_000,
  ) {}

  /**
   * The size of the memory given for `size` bytes: powers of two up to 1 MiB, then whole MiB (an
   * 8 MB array and its header take 9 MiB, not 16: buffers of one size class serve each other).
   */
  static sizeClass(size: number, minSize: number): number {
    const MiB = 1024 * 1024;
    if (size > MiB) return Math.ceil(size / MiB) * MiB;
    let sizeClass = minSize;
    while (sizeClass < size) sizeClass *= 2;
    return sizeClass;
  }

  /** A buffer of `size` bytes (its memory may be reused). */
  acquire(size: number): Buffer {
    this.#touch();
    const sizeClass = BufferPool.sizeClass(size, this.minSize);
    const memory = this.#free.get(sizeClass)?.pop();
    if (memory) {
      this.#freeBytes -= sizeClass;
      return Buffer.from(memory, 0, size);
    }
    return Buffer.from(Buffer.allocUnsafeSlow(sizeClass).buffer, 0, size);
  }

  /** Gives back a buffer from `acquire` once nothing reads it any more. */
  release(buffer: Buffer): void {
    const memory = buffer.buffer as ArrayBuffer;
    const sizeClass = memory.byteLength;
    if (buffer.byteOffset !== 0 || sizeClass < this.minSize || this.#freeBytes + sizeClass > this.limit) return;
    this.#touch();
    let list = this.#free.get(sizeClass);
    if (!list) this.#free.set(sizeClass, (list = []));
    list.push(memory);
    this.#freeBytes += sizeClass;
  }

  /** Free bytes kept now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** Payloads are flowing: keep free buffers for another `idleMs`. */
  #touch(): void {
    if (this.#trimTimer) {
      this.#trimTimer.refresh();
      return;
    }
    this.#trimTimer = setTimeout(() => {
      this.#trimTimer = undefined;
      this.#free.clear();
      this.#freeBytes = 0;
    }, this.idleMs);
    this.#trimTimer.unref();
  }
}

let shared: BufferPool | undefined;

/**
 * The process's one pool of payload memory, shared by every Pool: a pool started after another
 * one's burst finds its memory warm (as the allocator's own cache would be, had the buffers been
 * freed).
 */
export function payloadBuffers(): BufferPool {
  return (shared ??= new BufferPool());
}
