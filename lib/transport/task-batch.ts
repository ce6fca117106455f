/**
 * The Tasks frame: one or more tasks for one worker. Each task is a 14-byte header, padding, then
 * its payload: `[u32 task id][u32 function id][u8 kind byte][u32 payload length][u8 padding]`.
 * The padding puts every payload on an 8-byte boundary within the frame, so the worker can use a
 * large typed array where it arrived instead of copying it. Both sides use this file.
 */
import type { Writable } from 'node:stream';
import { FRAME_HEADER, writeFrameHeader } from './frames';
import { ToWorker } from './protocol';

/** A task as it goes on the wire. */
export interface WireTask {
  readonly id: number;
  readonly fnId: number;
  /** The TaskKind in the low bits, TaskFlags above. */
  readonly wire: number;
  /** The encoded arguments (`payload.ts`). */
  readonly payload: Buffer;
  /** The call's context, serialized; it goes in a TaskContext frame just before the task's batch. */
  readonly context?: Buffer;
}

/** A task as the worker reads it: its payload is `buf[start, end)`, in the frame it came in. */
export interface IncomingTask {
  readonly id: number;
  readonly fnId: number;
  readonly kind: number;
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
}

const TASK_HEADER = 14;
/** Bodies up to this size are copied into one buffer; larger payloads are written where they are. */
const COPY_LIMIT = 256 * 1024;

function pad(position: number): number {
  return (8 - ((position + TASK_HEADER) % 8)) % 8;
}

function writeHeader(target: Buffer, at: number, task: WireTask, padding: number): void {
  target.writeUInt32LE(task.id, at);
  target.writeUInt32LE(task.fnId, at + 4);
  target[at + 8] = task.wire;
  target.writeUInt32LE(task.payload.length, at + 9);
  target[at + 13] = padding;
}

/**
 * Writes one Tasks frame for `tasks` to `out`. Small batches go out as one buffer; a batch with
 * large payloads is written piece by piece, so its payloads are never copied in the parent.
 */
export function writeTaskBatch(out: Writable, tasks: readonly WireTask[]): void {
  let position = FRAME_HEADER;
  for (const task of tasks) position += TASK_HEADER + pad(position) + task.payload.length;
  const bodyLength = position - FRAME_HEADER;
  if (bodyLength <= COPY_LIMIT) {
    const frame = Buffer.allocUnsafe(position);
    writeFrameHeader(frame, 0, ToWorker.Tasks, bodyLength);
    let offset = FRAME_HEADER;
    for (const task of tasks) {
      const padding = pad(offset);
      writeHeader(frame, offset, task, padding);
      offset += TASK_HEADER + padding;
      task.payload.copy(frame, offset);
      offset += task.payload.length;
    }
    out.write(frame);
    return;
  }
  const header = Buffer.allocUnsafe(FRAME_HEADER);
  writeFrameHeader(header, 0, ToWorker.Tasks, bodyLength);
  out.write(header);
  let offset = FRAME_HEADER;
  for (const task of tasks) {
    const padding = pad(offset);
    const taskHeader = Buffer.alloc(TASK_HEADER + padding);
    writeHeader(taskHeader, 0, task, padding);
    out.write(taskHeader);
    out.write(task.payload);
    offset += TASK_HEADER + padding + task.payload.length;
  }
}

/** Reads the tasks of a Tasks frame body `buf[start, end)`, in order. */
export function readTaskBatch(buf: Buffer, start: number, end: number, each: (task: IncomingTask) => void): void {
  while (start < end) {
    const length = buf.readUInt32LE(start + 9);
    const payloadStart = start + TASK_HEADER + buf[start + 13];
    each({
      id: buf.readUInt32LE(start),
      fnId: buf.readUInt32LE(start + 4),
      kind: buf[start + 8],
      buf,
      start: payloadStart,
      end: payloadStart + length,
    });
    start = payloadStart + length;
  }
}
