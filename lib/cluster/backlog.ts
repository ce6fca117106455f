import { SerializationError } from '../errors';
import { PayloadTooLargeError } from './errors';
import { encodeArgs } from '../transport/payload';
import type { ResolvedClusterOptions } from './options';

/**
 * What a cluster pool holds for its agents: encoded calls and chunks waiting in the submitter or
 * in Redis, counted in items and bytes against the documented caps until each is final.
 */
export class Backlog {
  readonly #items = new WeakMap<Buffer, number>();
  #queuedItems = 0;
  #queuedBytes = 0;

  constructor(private readonly options: Pick<ResolvedClusterOptions, 'maxJobBytes' | 'maxQueuedItems' | 'maxQueuedBytes'>) {}

  /**
   * Encodes a call's arguments or a chunk's items now (never into shared memory: the agent is on
   * another machine) and counts them.
   * @throws {SerializationError} if they cannot be serialized; {@link PayloadTooLargeError} past a cap.
   */
  encode(input: readonly unknown[], name: string): Buffer {
    let payload: Buffer;
    try {
      payload = encodeArgs(input);
    } catch (error) {
      throw new SerializationError(`The arguments of task ${name} cannot be serialized: ${(error as Error).message}.`, 'arguments', { cause: error });
    }
    const o = this.options;
    if (payload.length > o.maxJobBytes) throw new PayloadTooLargeError(`A chunk of task ${name}`, payload.length, o.maxJobBytes, 'bytes');
    if (this.#queuedItems + input.length > o.maxQueuedItems) throw new PayloadTooLargeError('The work waiting for the cluster', this.#queuedItems + input.length, o.maxQueuedItems, 'items');
    if (this.#queuedBytes + payload.length > o.maxQueuedBytes) throw new PayloadTooLargeError('The work waiting for the cluster', this.#queuedBytes + payload.length, o.maxQueuedBytes, 'bytes');
    // A payload may be a shared constant (no arguments): copy it so that it can be counted.
    if (this.#items.has(payload) || payload.length < 8) payload = Buffer.from(payload);
    this.#items.set(payload, input.length);
    this.#queuedItems += input.length;
    this.#queuedBytes += payload.length;
    return payload;
  }

  /** The payload's task is final (or was never made): it no longer counts. */
  release(payload: Buffer): void {
    const items = this.#items.get(payload);
    if (items === undefined) return;
    this.#items.delete(payload);
    this.#queuedItems -= items;
    this.#queuedBytes -= payload.length;
  }
}
