/**
 * Length-prefixed framing: `[u32 LE length][u8 type][body]`, where length counts the type byte and
 * the body. The reader parses every complete frame of a chunk in one pass (many results per wake-up)
 * and assembles a frame that spans chunks in a buffer of its final size, so an 8 MB payload
 * arriving in 64 KB reads is copied once, not re-concatenated per read.
 */

/** Bytes before a frame's body: u32 length + u8 type. */
export const FRAME_HEADER = 5;

/** Called with each frame; the body is `buf[start, end)`. `buf` is never reused by the reader. */
export type FrameHandler = (type: number, buf: Buffer, start: number, end: number) => void;

/** Writes a frame header into `target` at `offset` for a body of `bodyLength` bytes. */
export function writeFrameHeader(target: Buffer, offset: number, type: number, bodyLength: number): void {
  target.writeUInt32LE(bodyLength + 1, offset);
  target[offset + 4] = type;
}

/** One frame in one new buffer; for control messages, not the hot path. */
export function encodeFrame(type: number, body?: Uint8Array): Buffer {
  const length = body ? body.length : 0;
  const frame = Buffer.allocUnsafe(FRAME_HEADER + length);
  writeFrameHeader(frame, 0, type, length);
  if (body) frame.set(body, FRAME_HEADER);
  return frame;
}

/**
 * Reads up to `length` bytes into `target` at `offset` straight from the stream's file descriptor,
 * waiting for them if need be; returns how many it read (0: end of stream).
 */
export type ReadInto = (target: Buffer, offset: number, length: number) => number;

/** Frames at least this large are completed with `ReadInto`, when the reader has one. */
export const DIRECT_READ_MIN = 256 * 1024;

/** Turns a stream of chunks back into frames. */
export class FrameReader {
  /** An incomplete frame: either fewer than 5 bytes of header, or a buffer sized for the frame. */
  #partial: Buffer | null = null;
  #filled = 0;

  /**
   * With `readInto`, the rest of a large frame is read in place, synchronously, instead of arriving
   * as 64 KB chunks that are each allocated, emitted and copied (an 8 MB argument: 128 of them).
   */
  constructor(private readonly readInto?: ReadInto) {}

  /** Feeds one chunk; calls `onFrame` for every frame it completes, in order. */
  push(chunk: Buffer, onFrame: FrameHandler): void {
    let offset = 0;
    if (this.#partial) {
      const partial = this.#partial;
      if (partial.length < FRAME_HEADER) {
        // Header split across reads: a few bytes, so concatenating is the simple, cheap way.
        chunk = Buffer.concat([partial, chunk]);
        this.#partial = null;
      } else {
        const take = Math.min(partial.length - this.#filled, chunk.length);
        chunk.copy(partial, this.#filled, 0, take);
        this.#filled += take;
        if (this.#filled < partial.length) return;
        this.#partial = null;
        offset = take;
        onFrame(partial[4], partial, FRAME_HEADER, partial.length);
      }
    }
    const size = chunk.length;
    while (size - offset >= FRAME_HEADER) {
      const end = offset + 4 + chunk.readUInt32LE(offset);
      if (end > size) break;
      onFrame(chunk[offset + 4], chunk, offset + FRAME_HEADER, end);
      offset = end;
    }
    if (offset === size) return;
    const rest = size - offset;
    if (rest < FRAME_HEADER) {
      this.#partial = Buffer.from(chunk.subarray(offset));
    } else {
      const partial = Buffer.allocUnsafe(4 + chunk.readUInt32LE(offset));
      chunk.copy(partial, 0, offset);
      this.#partial = partial;
      this.#filled = rest;
      if (this.readInto && partial.length >= DIRECT_READ_MIN) this.#fill(partial, onFrame);
    }
  }

  /** Completes `partial` from the file descriptor; delivers it unless the stream ended first. */
  #fill(partial: Buffer, onFrame: FrameHandler): void {
    const readInto = this.readInto as ReadInto;
    while (this.#filled < partial.length) {
      const n = readInto(partial, this.#filled, partial.length - this.#filled);
      if (n === 0) return; // End of stream: the stream's own 'end'/'close' tells the owner.
      this.#filled += n;
    }
    this.#partial = null;
    onFrame(partial[4], partial, FRAME_HEADER, partial.length);
  }

  /** Bytes held of a frame not yet complete (non-zero at end of stream means a truncated frame). */
  get pendingBytes(): number {
    return this.#partial ? (this.#partial.length < FRAME_HEADER ? this.#partial.length : this.#filled) : 0;
  }
}
