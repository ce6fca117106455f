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

/**
 * The job that carries `tasks` for the pool `pool`: one chunk or call, or several calls of one
 * function with one policy; arguments encoded, the module by name.
 */
export function toJob(tasks: readonly PoolTask[], jobId: string, pool: string, portable: PortableModule, name: string): JobSpec {
  const [task] = tasks;
  const { timeout, softTimeout, retries } = task.policy;
  const payload = tasks.length === 1 ? { payload: task.payload.toString('base64') } : { payload: '', calls: tasks.map((t) => t.payload.toString('base64')) };
  // Calls batched together share one policy object, and so one context.
  const context = task.policy.context?.toString('base64');
  const data: ChunkJob = { pool, ...portable, name, kind: task.kind, ...payload, timeout, softTimeout, retries, context };
  // Completed jobs go at once (their result travelled in the event); failed ones stay an hour, to look at.
  return { name, data, opts: { jobId, attempts: 1, removeOnComplete: true, removeOnFail: { age: 3600 } } };
}

/** What a job's return value means for each of its tasks, or that the agent dropped it. */
export type Outcomes = { readonly ok: boolean; readonly value: unknown }[] | { readonly dropped: string };

/** One call's outcome in a batch, as the agent writes it. */
export type CallOutcome = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: EncodedError; readonly host: string; readonly pid: number };

function rebuilt(encoded: EncodedError, host: string, pid: number): unknown {
  return decodeError(encoded, `agent ${host} pid ${pid}`);
}

/** Reads the return value of a job of `count` tasks (`describe` names the task in a decoding error). */
export function fromResult(returnvalue: unknown, count: number, describe: () => string): Outcomes {
  const result = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as ChunkResult;
  if ('dropped' in result) return { dropped: result.dropped };
  if (!result.ok) return new Array(count).fill({ ok: false, value: rebuilt(deserialize(Buffer.from(result.error, 'base64')) as EncodedError, result.host, result.pid) });
  let value: unknown;
  try {
    const payload = Buffer.from(result.payload, 'base64');
    value = decode(payload, 0, payload.length);
  } catch (error) {
    const failure = new SerializationError(`The result of ${describe()} could not be decoded: ${(error as Error).message}`, 'result', { cause: error });
    return new Array(count).fill({ ok: false, value: failure });
  }
  if (count === 1) return [{ ok: true, value }];
  return (value as CallOutcome[]).map((o) => (o.ok ? o : { ok: false, value: rebuilt(o.error, o.host, o.pid) }));
}
