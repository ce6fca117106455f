import { deserialize } from 'node:v8';
import { SerializationError } from '../errors';
import type { PoolTask } from '../pool/task';
import { decodeError, type EncodedError } from '../transport/error-codec';
import { decode } from '../transport/payload';
import type { PortableModule } from './modules';
import type { ChunkJob, ChunkResult } from './wire';

/** A BullMQ job (name, data, options) for one task: a call or a chunk. */
export interface JobSpec {
  readonly name: string;
  readonly data: ChunkJob;
  readonly opts: { readonly jobId: string; readonly attempts: number; readonly removeOnComplete: boolean; readonly removeOnFail: { readonly age: number } };
}

/** The job that carries `task` for the pool `pool`: its arguments encoded, its module by name. */
export function toJob(task: PoolTask, jobId: string, pool: string, portable: PortableModule, name: string): JobSpec {
  const { timeout, softTimeout, retries } = task.policy;
  const data: ChunkJob = { pool, ...portable, name, kind: task.kind, payload: task.payload.toString('base64'), timeout, softTimeout, retries };
  // Completed jobs go at once (their result travelled in the event); failed ones stay an hour, to look at.
  return { name, data, opts: { jobId, attempts: 1, removeOnComplete: true, removeOnFail: { age: 3600 } } };
}

/** What a job's return value means for its task. */
export type Outcome = { readonly ok: boolean; readonly value: unknown } | { readonly dropped: string };

/** Reads a job's return value (`describe` names the task in a decoding error). */
export function fromResult(returnvalue: unknown, describe: () => string): Outcome {
  const result = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as ChunkResult;
  if (result.ok) {
    const payload = Buffer.from(result.payload, 'base64');
    try {
      return { ok: true, value: decode(payload, 0, payload.length) };
    } catch (error) {
      return { ok: false, value: new SerializationError(`The result of ${describe()} could not be decoded: ${(error as Error).message}`, 'result', { cause: error }) };
    }
  }
  if ('dropped' in result) return { dropped: result.dropped };
  const encoded = deserialize(Buffer.from(result.error, 'base64')) as EncodedError;
  return { ok: false, value: decodeError(encoded, `agent ${result.host} pid ${result.pid}`) };
}
