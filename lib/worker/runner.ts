import { deserialize } from 'node:v8';
import { TaskKind, type TaskKindValue, type TaskRefData } from '../transport/protocol';
import type { AnyFunction, TaskModules } from './modules';

/** Where the runner sends each task's outcome; implementations never throw. */
export interface ResultSink {
  result(taskId: number, value: unknown, ref: TaskRefData): void;
  error(taskId: number, error: unknown): void;
}

interface QueuedTask {
  readonly id: number;
  readonly fnId: number;
  readonly kind: TaskKindValue;
  readonly payload: Buffer;
}

interface FunctionEntry {
  readonly ref: TaskRefData;
  fn?: AnyFunction;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * The worker's task loop (CPython's `pool.worker()`): run queued tasks one at a time, in arrival
 * order, and report each outcome before starting the next. Synchronous tasks run back to back
 * without touching the event loop; an async task holds the loop until it settles.
 */
export class TaskRunner {
  readonly #fns = new Map<number, FunctionEntry>();
  #queue: (QueuedTask | undefined)[] = [];
  #head = 0;
  #busy = false;
  #started = false;
  #onIdle: (() => void) | undefined;

  constructor(
    private readonly modules: TaskModules,
    private readonly sink: ResultSink,
  ) {}

  /** Learns function `id`; its module is loaded at its first use. */
  define(id: number, ref: TaskRefData): void {
    this.#fns.set(id, { ref });
  }

  /** Queues the tasks of one Tasks frame body, `buf[start, end)`. */
  enqueue(buf: Buffer, start: number, end: number): void {
    while (start < end) {
      const length = buf.readUInt32LE(start + 9);
      const payloadStart = start + 13;
      this.#queue.push({
        id: buf.readUInt32LE(start),
        fnId: buf.readUInt32LE(start + 4),
        kind: buf[start + 8] as TaskKindValue,
        payload: buf.subarray(payloadStart, payloadStart + length),
      });
      start = payloadStart + length;
    }
    this.#pump();
  }

  /** Begins running tasks (after initialization). */
  start(): void {
    this.#started = true;
    this.#pump();
  }

  /** Calls `onIdle` once every task received so far has been reported. */
  stopWhenIdle(onIdle: () => void): void {
    this.#onIdle = onIdle;
    if (!this.#busy && this.#head === this.#queue.length) onIdle();
  }

  #pump(): void {
    if (this.#busy || !this.#started) return;
    this.#busy = true;
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const task = queue[this.#head] as QueuedTask;
      queue[this.#head++] = undefined;
      const pending = this.#run(task);
      if (pending) {
        void pending.then(this.#resume);
        return;
      }
    }
    this.#queue = [];
    this.#head = 0;
    this.#busy = false;
    this.#onIdle?.();
  }

  readonly #resume = (): void => {
    this.#busy = false;
    // A steady pipeline may never drain the queue: drop the consumed prefix now and then.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#pump();
  };

  #run(task: QueuedTask): Promise<void> | undefined {
    const entry = this.#fns.get(task.fnId);
    if (!entry) {
      this.sink.error(task.id, new Error(`procpool protocol error: task ${task.id} uses undefined function ${task.fnId}`));
      return undefined;
    }
    if (entry.fn) return this.#call(task, entry.fn, entry.ref);
    let resolved: AnyFunction | Promise<AnyFunction>;
    try {
      resolved = this.modules.resolve(entry.ref);
    } catch (error) {
      this.sink.error(task.id, error);
      return undefined;
    }
    if (!(resolved instanceof Promise)) return this.#call(task, (entry.fn = resolved), entry.ref);
    return resolved.then(
      (fn) => this.#call(task, (entry.fn = fn), entry.ref),
      (error: unknown) => this.sink.error(task.id, error),
    );
  }

  #call(task: QueuedTask, fn: AnyFunction, ref: TaskRefData): Promise<void> | undefined {
    const ok = (value: unknown): void => this.sink.result(task.id, value, ref);
    const fail = (error: unknown): void => this.sink.error(task.id, error);
    try {
      const input = deserialize(task.payload) as unknown[];
      if (task.kind === TaskKind.Call) {
        const out = fn(...input);
        if (isThenable(out)) return Promise.resolve(out).then(ok, fail);
        ok(out);
        return undefined;
      }
      const pending = this.#chunk(task.kind === TaskKind.Starmap, fn, input, 0, new Array<unknown>(input.length));
      if (pending instanceof Promise) return pending.then(ok, fail);
      ok(pending);
    } catch (error) {
      fail(error);
    }
    return undefined;
  }

  /** Runs a map/starmap chunk from item `i` on; returns the results, or a promise once a call is async. */
  #chunk(star: boolean, fn: AnyFunction, items: unknown[], i: number, out: unknown[]): unknown[] | Promise<unknown[]> {
    for (; i < items.length; i++) {
      const value = star ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (isThenable(value)) {
        const at = i;
        return Promise.resolve(value).then((v) => {
          out[at] = v;
          return this.#chunk(star, fn, items, at + 1, out);
        });
      }
      out[i] = value;
    }
    return out;
  }
}
