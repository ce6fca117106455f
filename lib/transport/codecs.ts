/**
 * How the body of every frame but Tasks (see `task-batch.ts`) is laid out, written once and used
 * by both sides: the parent's channel and the worker's loop encode and decode through these, so
 * they cannot disagree about an offset. Each codec writes a whole frame (header included) and reads
 * a body `buf[start, end)` as `FrameReader` delivers it.
 */
import { deserialize, serialize } from 'node:v8';
import { decodeError, encodeError, type EncodedError } from './error-codec';
import { FRAME_HEADER, encodeFrame, writeFrameHeader } from './frames';
import { FromWorker, ToWorker, type InitMessage, type TaskRefData } from './protocol';

/** One v8-serialized value as the body. For control frames, never for the hot path. */
function v8Codec<T>(type: number) {
  return {
    type,
    encode: (value: T): Buffer => encodeFrame(type, serialize(value)),
    decode: (buf: Buffer, start: number, end: number): T => deserialize(buf.subarray(start, end)) as T,
  };
}

/** One u32 as the body (a task id, a size). */
function u32Codec(type: number) {
  return {
    type,
    encode(value: number): Buffer {
      const frame = Buffer.allocUnsafe(FRAME_HEADER + 4);
      writeFrameHeader(frame, 0, type, 4);
      frame.writeUInt32LE(value >>> 0, FRAME_HEADER);
      return frame;
    },
    decode: (buf: Buffer, start: number): number => buf.readUInt32LE(start),
  };
}

/** A u32 (an id) and then `data` as the body. */
function u32WithData(type: number, value: number, data: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER + 4 + data.length);
  writeFrameHeader(frame, 0, type, 4 + data.length);
  frame.writeUInt32LE(value, FRAME_HEADER);
  data.copy(frame, FRAME_HEADER + 4);
  return frame;
}

/** An error as data (see `error-codec.ts`): the body of InitFailed and of a task's Error. */
function errorCodec(type: number) {
  return {
    type,
    encodeBody: (error: unknown): Buffer => serialize(encodeError(error)),
    encode: (error: unknown): Buffer => encodeFrame(type, serialize(encodeError(error))),
    /** Rebuilds the error; `where` names the worker in its stack. */
    decode: (buf: Buffer, start: number, end: number, where: string): unknown =>
      decodeError(deserialize(buf.subarray(start, end)) as EncodedError, where),
  };
}

// --- parent → worker ----------------------------------------------------------------------------

/** Init: how the worker initializes itself (preload, initializer, limits); answered Ready or InitFailed. */
export const InitCodec = v8Codec<InitMessage>(ToWorker.Init);

/** Preload: task modules to load ahead of need; answered Preloaded. */
export const PreloadCodec = v8Codec<readonly string[]>(ToWorker.Preload);

/** ReleaseRing: the ring segment's name, utf8. */
export const ReleaseRingCodec = {
  encode: (name: string): Buffer => encodeFrame(ToWorker.ReleaseRing, Buffer.from(name, 'utf8')),
  decode: (buf: Buffer, start: number, end: number): string => buf.toString('utf8', start, end),
};

/** Collect: collect garbage now (captured regions are wanted back). */
export const COLLECT_FRAME = encodeFrame(ToWorker.Collect);

/** Stop: finish the tasks received, then exit. */
export const STOP_FRAME = encodeFrame(ToWorker.Stop);

/** Define: u32 function id, then v8(TaskRefData). Sent before the first task that uses the id. */
export const DefineCodec = {
  type: ToWorker.Define,
  encode: (fnId: number, ref: TaskRefData): Buffer => u32WithData(ToWorker.Define, fnId, serialize(ref)),
  decode(buf: Buffer, start: number, end: number): { fnId: number; ref: TaskRefData } {
    return { fnId: buf.readUInt32LE(start), ref: deserialize(buf.subarray(start + 4, end)) as TaskRefData };
  },
};

/** What an Abort frame says. */
export interface AbortMessage {
  readonly taskId: number;
  /** An `AbortReason`. */
  readonly reason: number;
  /** The soft timeout that passed (words the reason); 0 otherwise. */
  readonly softTimeoutMs: number;
}

/** Abort: u32 task id, u8 AbortReason, u32 soft timeout ms. */
export const AbortCodec = {
  type: ToWorker.Abort,
  encode(message: AbortMessage): Buffer {
    const frame = Buffer.allocUnsafe(FRAME_HEADER + 9);
    writeFrameHeader(frame, 0, ToWorker.Abort, 9);
    frame.writeUInt32LE(message.taskId, FRAME_HEADER);
    frame[FRAME_HEADER + 4] = message.reason;
    frame.writeUInt32LE(Math.min(0xffffffff, message.softTimeoutMs), FRAME_HEADER + 5);
    return frame;
  },
  decode(buf: Buffer, start: number): AbortMessage {
    return { taskId: buf.readUInt32LE(start), reason: buf[start + 4], softTimeoutMs: buf.readUInt32LE(start + 5) };
  },
};

/** TaskContext: u32 task id, then the context as the caller's process serialized it (v8). */
export const TaskContextCodec = {
  type: ToWorker.TaskContext,
  encode: (taskId: number, context: Buffer): Buffer => u32WithData(ToWorker.TaskContext, taskId, context),
  decode(buf: Buffer, start: number, end: number): { taskId: number; context: unknown } {
    return { taskId: buf.readUInt32LE(start), context: deserialize(buf.subarray(start + 4, end)) };
  },
};

// --- worker → parent ----------------------------------------------------------------------------

/** Booted: the process runs and waits for Init. */
export const BOOTED_FRAME = encodeFrame(FromWorker.Booted);
/** Ready: initialized; tasks welcome. */
export const READY_FRAME = encodeFrame(FromWorker.Ready);
/** Received: one Tasks frame arrived (acknowledged in order, one per frame). */
export const RECEIVED_FRAME = encodeFrame(FromWorker.Received);
/** Preloaded: the modules of a Preload frame are loaded (or failed to, reported at first use). */
export const PRELOADED_FRAME = encodeFrame(FromWorker.Preloaded);

/** InitFailed: what the initializer or a preload threw; the worker exits next. */
export const InitFailedCodec = errorCodec(FromWorker.InitFailed);

/** Started: u32 id of a task flagged Timed that starts now. */
export const StartedCodec = u32Codec(FromWorker.Started);

/** OverMemory: u32 resident set size in MiB. */
export const OverMemoryCodec = u32Codec(FromWorker.OverMemory);

/** Exiting: i32 exit code, from the worker's 'exit' handler. */
export const ExitingCodec = {
  type: FromWorker.Exiting,
  encode(code: number): Buffer {
    const frame = Buffer.allocUnsafe(FRAME_HEADER + 4);
    writeFrameHeader(frame, 0, FromWorker.Exiting, 4);
    frame.writeInt32LE(code | 0, FRAME_HEADER);
    return frame;
  },
  decode: (buf: Buffer, start: number): number => buf.readInt32LE(start),
};

/**
 * Result and Error: u32 task id, then the payload (`payload.ts`) or the error as data. The header
 * is written into a reused buffer and the payload sent after it (one `writev`), so an answer costs
 * no copy of its payload.
 */
export const AnswerCodec = {
  /** Bytes before the payload: frame header and task id. */
  headerSize: FRAME_HEADER + 4,
  /** Writes the header of an answer of `payloadLength` bytes into `target` at 0. */
  writeHeader(target: Buffer, type: typeof FromWorker.Result | typeof FromWorker.Error, taskId: number, payloadLength: number): void {
    writeFrameHeader(target, 0, type, 4 + payloadLength);
    target.writeUInt32LE(taskId, FRAME_HEADER);
  },
  taskId: (buf: Buffer, start: number): number => buf.readUInt32LE(start),
  /** Where the payload starts in a body that starts at `start`. */
  payloadStart: (start: number): number => start + 4,
  error: errorCodec(FromWorker.Error),
};

/** What a Progress frame says. */
export interface ProgressMessage {
  readonly taskId: number;
  /** Items of the task's chunk done so far (0 for a call). */
  readonly completed: number;
  /** Whether the task passed a value to `reportProgress`. */
  readonly hasValue: boolean;
  readonly value: unknown;
}

/** Progress: u32 task id, u32 items done, u8 1 if a value follows, then v8(value). */
export const ProgressCodec = {
  type: FromWorker.Progress,
  /** @throws if `value` cannot be serialized (the worker reports that to the task that passed it). */
  encode(taskId: number, completed: number, hasValue: boolean, value: unknown): Buffer {
    const data = hasValue ? serialize(value) : undefined;
    const length = 9 + (data ? data.length : 0);
    const frame = Buffer.allocUnsafe(FRAME_HEADER + length);
    writeFrameHeader(frame, 0, FromWorker.Progress, length);
    frame.writeUInt32LE(taskId, FRAME_HEADER);
    frame.writeUInt32LE(completed >>> 0, FRAME_HEADER + 4);
    frame[FRAME_HEADER + 8] = data ? 1 : 0;
    data?.copy(frame, FRAME_HEADER + 9);
    return frame;
  },
  decode(buf: Buffer, start: number, end: number): ProgressMessage {
    const hasValue = buf[start + 8] === 1;
    return {
      taskId: buf.readUInt32LE(start),
      completed: buf.readUInt32LE(start + 4),
      hasValue,
      value: hasValue ? deserialize(buf.subarray(start + 9, end)) : undefined,
    };
  },
};

/**
 * SegmentCreated: u8 scope (0: the application's, 1: the worker's own, unlinked when it ends), then
 * the name, utf8. SegmentUnlinked: the name.
 */
export const SegmentCodec = {
  created: (name: string, ownedByWorker: boolean): Buffer =>
    encodeFrame(FromWorker.SegmentCreated, Buffer.concat([Buffer.from([ownedByWorker ? 1 : 0]), Buffer.from(name, 'utf8')])),
  decodeCreated: (buf: Buffer, start: number, end: number): { name: string; ownedByWorker: boolean } => ({
    name: buf.toString('utf8', start + 1, end),
    ownedByWorker: buf[start] === 1,
  }),
  unlinked: (name: string): Buffer => encodeFrame(FromWorker.SegmentUnlinked, Buffer.from(name, 'utf8')),
  decode: (buf: Buffer, start: number, end: number): string => buf.toString('utf8', start, end),
};

/**
 * RegionsReleased, both ways: u32 count, then u32 region ids. From a worker: the application's
 * regions it let go of; to a worker: the regions of its results the application copied out.
 */
export const RegionsCodec = {
  encode(ids: readonly number[], type: number = FromWorker.RegionsReleased): Buffer {
    const frame = Buffer.allocUnsafe(FRAME_HEADER + 4 + 4 * ids.length);
    writeFrameHeader(frame, 0, type, 4 + 4 * ids.length);
    frame.writeUInt32LE(ids.length, FRAME_HEADER);
    ids.forEach((id, i) => frame.writeUInt32LE(id, FRAME_HEADER + 4 + 4 * i));
    return frame;
  },
  decode(buf: Buffer, start: number): number[] {
    const count = buf.readUInt32LE(start);
    return Array.from({ length: count }, (_, i) => buf.readUInt32LE(start + 4 + 4 * i));
  },
};
