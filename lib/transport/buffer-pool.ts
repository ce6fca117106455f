/**
 * Reusable memory for large task payloads. Fresh memory costs far more than copying: on this kind
 * of machine, copying 8 MB into a new buffer takes ~3.5 ms (the kernel maps and zeroes every
 * page), into a reused one ~0.4 ms. Payloads are encoded when a task is sent and their buffer comes
 * back when the worker has answered, so a pool that streams 8 MB arrays keeps reusing a handful.
 */
export class BufferPool {
  readonly #free = new Map<number, ArrayBuffer[]>();
  #freeBytes = 0;

  constructor(
    /** Payloads smaller than this are allocated normally. */
    readonly minSize = 256 * 1024,
    /** Free memory kept at most, in bytes. */
    private readonly limit = 128 * 1024 * 1024,
  ) {}

  /** A buffer of `size` bytes (its memory may be reused). */
  acquire(size: number): Buffer {
    let sizeClass = this.minSize;
    while (sizeClass < size) sizeClass *= 2;
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
    let list = this.#free.get(sizeClass);
    if (!list) this.#free.set(sizeClass, (list = []));
    list.push(memory);
    this.#freeBytes += sizeClass;
  }
}
