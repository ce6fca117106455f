import { inspect } from 'node:util';
import { InvalidArgumentError, InvalidStateError } from '../errors';
import { attachSegment, createSegment, unlinkSegment, type Segment } from './segment';
import { kDescribe, markSharedUsed, registerSharedKind, type SharedDescriptor, type SharedObject } from './shared-object';

/** @internal Option: keep the mapping for later tasks (a segment that arrived in a worker). */
export const kPinned = Symbol('procpool.pinned');

/** Options of `new SharedMemory(...)` (Python's `SharedMemory(name=None, create=False, size=0)`). */
export interface SharedMemoryOptions {
  /**
   * The segment's name: with `create`, the name to give it (default: `psm_` and 8 random hex
   * digits, as Python names them); without, the existing segment to attach to.
   */
  name?: string;
  /** Create a new segment (of `size` bytes) instead of attaching to one. @default false */
  create?: boolean;
  /** With `create`: its size in bytes, above 0. Ignored when attaching (the segment's own size is used). */
  size?: number;
  /**
   * With `create`: unlink the segment if this application ends (or is killed) without unlinking
   * it, as Python's resource tracker does. Pass `false` for a segment meant to outlive the
   * application (Python 3.13's `track=False`). Attaching never tracks.
   * @default true
   */
  track?: boolean;
}

/**
 * A block of memory shared between processes (Python's `multiprocessing.shared_memory.SharedMemory`).
 * `buf` is a live view: every process that attached sees every write at once, with no copy. Pass
 * the object itself (or any typed array over `buf`) as a task argument, an `initargs` entry, a
 * `Process` arg or a result: the other process gets the same memory, not a copy.
 *
 * Segments are files in /dev/shm named as Python names them, so a Python process can attach to a
 * segment made here (`SharedMemory(name='psm_…')`) and the reverse.
 *
 * `close()` ends this object's use of the memory; the mapping itself goes once no view of it is
 * left (JavaScript cannot invalidate views, so views you kept stay safe to use). `unlink()` removes
 * the segment's name; the creator should call it once nobody needs the segment any more.
 *
 * @example
 * using shm = new SharedMemory({ create: true, size: 1024 });
 * const xs = new Float64Array(shm.buf.buffer, shm.buf.byteOffset, shm.size / 8);
 * await pool.apply(fill, [shm]);  // the worker writes into the same memory
 * xs[0];                          // ...and the parent sees it
 * shm.unlink();
 */
export class SharedMemory implements SharedObject, Disposable {
  readonly #name: string;
  readonly #size: number;
  #segment: Segment | undefined;
  #buf: Uint8Array | undefined;

  constructor(options: SharedMemoryOptions) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError(`Expected SharedMemory options ({ create: true, size } or { name }), got \`${String(options)}\`.`);
    }
    const { name, create = false, size, track = true } = options;
    if (create) {
      if (size === undefined) throw new InvalidArgumentError('A new SharedMemory needs a `size` in bytes, above 0.');
      this.#segment = createSegment(size, name, track);
    } else {
      if (name === undefined) throw new InvalidArgumentError('SharedMemory needs a `name` to attach to, or `create: true` to make a new segment.');
      this.#segment = attachSegment(name, (options as { [kPinned]?: boolean })[kPinned] === true);
    }
    this.#name = this.#segment.name;
    this.#size = this.#segment.size;
    markSharedUsed();
  }

  /** The segment's name (without a leading slash, as Python reports it). */
  get name(): string {
    return this.#name;
  }

  /** Its size in bytes. */
  get size(): number {
    return this.#size;
  }

  /**
   * The memory, as a Uint8Array over the whole segment (the same object each time). For other
   * element types, view `buf.buffer` from `buf.byteOffset`.
   * @throws {InvalidStateError} after `close()`.
   */
  get buf(): Uint8Array {
    if (!this.#segment) throw new InvalidStateError(`SharedMemory '${this.#name}' is closed: attach to it again to use its memory.`);
    return (this.#buf ??= new Uint8Array(this.#segment.buffer, 0, this.#size));
  }

  /** Ends this object's use of the memory (the segment stays; see `unlink()`). Idempotent. */
  close(): void {
    this.#segment = undefined;
    this.#buf = undefined;
  }

  /**
   * Removes the segment's name, so nobody can attach to it any more; processes that have it mapped
   * keep using it, and its memory is freed once the last of them lets go. Call it once, from one
   * process (usually the creator).
   * @throws {SharedMemoryNotFoundError} if the segment was already unlinked.
   */
  unlink(): void {
    unlinkSegment(this.#name);
  }

  /** `using shm = new SharedMemory(...)`: `close()` at the end of the scope (as Python's `with`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal How the object crosses to another process. */
  [kDescribe](): SharedDescriptor {
    return { kind: 'SharedMemory', name: this.#name };
  }

  toString(): string {
    return `SharedMemory('${this.#name}', size=${this.#size})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

// A segment received by a worker stays mapped for its later tasks (until the segment is unlinked).
registerSharedKind('SharedMemory', (descriptor) => new SharedMemory({ name: descriptor.name as string, [kPinned]: true } as SharedMemoryOptions));
