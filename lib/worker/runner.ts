import { AbortError, TaskTimeoutError } from '../errors';
import { setCurrentTask } from '../tasks/current-task';
import { runWithSignal } from '../tasks/task-signal';
import type { AbortMessage } from '../transport/codecs';
import { decode } from '../transport/payload';
import { AbortReason, KIND_MASK, TaskFlags, TaskKind, type TaskRefData } from '../transport/protocol';
import type { IncomingTask } from '../transport/task-batch';
import type { AnyFunction, TaskModules } from './modules';
import { TaskProgress, type ProgressSend } from './progress';

/** Where the runner sends each task's outcome; implementations never throw. */
export interface ResultSink {
  result(taskId: number, value: unknown, ref: TaskRefData): void;
  error(taskId: number, error: unknown): void;
  /** A task flagged Timed is starting. */
  started(taskId: number): void;
  /** Every task received so far has been answered. */
  idle(): void;
  /** Progress of the running task, coalesced (see `TaskProgress`). */
  progress: ProgressSend;
}

/** A task as the Tasks frame carried it: its payload is `buf[start, end)` (never reused). */
type QueuedTask = IncomingTask;

interface FunctionEntry {
  readonly ref: TaskRefData;
  fn?: AnyFunction;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

/** What an Abort frame means to the task, as the reason of its signal. */
function abortReason(reason: number, softTimeoutMs: number): Error {
  return reason === AbortReason.SoftTimeout ? new TaskTimeoutError(softTimeoutMs, 'soft') : new AbortError('The task was cancelled by its caller.');
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
  /** The abortable task running now, and its controller. */
  #running: { id: number; controller: AbortController } | undefined;
  /** Queued tasks aborted before they started: answered with the reason instead of running. */
  readonly #abortedEarly = new Map<number, Error>();
  /** Contexts of tasks received and not yet run, by task id (TaskContext frames). */
  readonly #contexts = new Map<number, unknown>();
  /** The running task as `reportProgress` and `taskContext` see it. */
  readonly #progress: TaskProgress;

  constructor(
    private readonly modules: TaskModules,
    private readonly sink: ResultSink,
  ) {
    this.#progress = new TaskProgress(sink.progress);
  }

  /** The context of task `taskId`, which comes in a later Tasks frame. */
  setContext(taskId: number, context: unknown): void {
    this.#contexts.set(taskId, context);
  }

  /** Learns function `id`; its module is loaded at its first use. */
  define(id: number, ref: TaskRefData): void {
    this.#fns.set(id, { ref });
  }

  /** Queues one task of a Tasks frame; `pump()` runs them once the frame is read. */
  readonly enqueue = (task: IncomingTask): void => {
    this.#queue.push(task);
  };

  /**
   * Aborts a task: the running one through its signal, a queued one before it starts.
   * `softTimeoutMs` only words the reason of a soft timeout.
   */
  abort({ taskId, reason, softTimeoutMs }: AbortMessage): void {
    const error = abortReason(reason, softTimeoutMs);
    if (this.#running?.id === taskId) this.#running.controller.abort(error);
    else this.#abortedEarly.set(taskId, error);
  }

  /** Begins running tasks (after initialization). */
  start(): void {
    this.#started = true;
    this.pump();
  }

  /** Calls `onIdle` once every task received so far has been reported. */
  stopWhenIdle(onIdle: () => void): void {
    this.#onIdle = onIdle;
    if (!this.#busy && this.#head === this.#queue.length) onIdle();
  }

  /** Runs queued tasks, unless one is running or the worker is not initialized yet. */
  pump(): void {
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
    this.sink.idle();
    this.#onIdle?.();
  }

  readonly #resume = (): void => {
    this.#busy = false;
    this.#running = undefined;
    // A steady pipeline may never drain the queue: drop the consumed prefix now and then.
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.pump();
  };

  #run(task: QueuedTask): Promise<void> | undefined {
    let context: unknown;
    if (this.#contexts.size && this.#contexts.has(task.id)) {
      context = this.#contexts.get(task.id);
      this.#contexts.delete(task.id);
    }
    if (this.#abortedEarly.size) {
      const aborted = this.#abortedEarly.get(task.id);
      if (aborted) {
        this.#abortedEarly.delete(task.id);
        this.sink.error(task.id, aborted);
        return undefined;
      }
    }
    const entry = this.#fns.get(task.fnId);
    if (!entry) {
      this.sink.error(task.id, new Error(`procpool protocol error: task ${task.id} uses undefined function ${task.fnId}`));
      return undefined;
    }
    if (entry.fn) return this.#call(task, entry.fn, entry.ref, context);
    let resolved: AnyFunction | Promise<AnyFunction>;
    try {
      resolved = this.modules.resolve(entry.ref);
    } catch (error) {
      this.sink.error(task.id, error);
      return undefined;
    }
    if (!(resolved instanceof Promise)) return this.#call(task, (entry.fn = resolved), entry.ref, context);
    return resolved.then(
      (fn) => this.#call(task, (entry.fn = fn), entry.ref, context),
      (error: unknown) => this.sink.error(task.id, error),
    );
  }

  #call(task: QueuedTask, fn: AnyFunction, ref: TaskRefData, context: unknown): Promise<void> | undefined {
    if (task.kind & TaskFlags.Timed) this.sink.started(task.id);
    const progress = this.#progress;
    progress.begin(task.id, context);
    setCurrentTask(progress);
    let out: unknown;
    try {
      const input = decode(task.buf, task.start, task.end) as unknown[];
      if (task.kind & TaskFlags.Abortable) {
        const controller = new AbortController();
        this.#running = { id: task.id, controller };
        out = runWithSignal(controller.signal, () => this.#invoke(task.kind, fn, input));
      } else {
        out = this.#invoke(task.kind, fn, input);
      }
    } catch (error) {
      this.#running = undefined;
      this.#ended();
      this.sink.error(task.id, error);
      return undefined;
    }
    // The usual case, a synchronous result, allocates no closure: those are for async tasks only.
    if (isThenable(out)) {
      return Promise.resolve(out).then(
        (value) => {
          this.#ended();
          this.sink.result(task.id, value, ref);
        },
        (error: unknown) => {
          this.#ended();
          this.sink.error(task.id, error);
        },
      );
    }
    this.#running = undefined;
    this.#ended();
    this.sink.result(task.id, out, ref);
    return undefined;
  }

  /** The task's last progress goes out before its answer; from now on it reports nothing. */
  #ended(): void {
    setCurrentTask(undefined);
    this.#progress.end();
  }

  #invoke(wire: number, fn: AnyFunction, input: unknown[]): unknown {
    const kind = wire & KIND_MASK;
    if (kind === TaskKind.Call) return fn(...input);
    // A chunk's results are pushed, never preallocated: V8 serializes a holey array element by
    // element with its index (2-4x slower to encode and decode, twice the bytes).
    return this.#chunk(kind === TaskKind.Starmap, fn, input, 0, [], (wire & TaskFlags.Counted) !== 0);
  }

  /** Runs a map/starmap chunk from item `i` on; returns the results, or a promise once a call is async. */
  #chunk(star: boolean, fn: AnyFunction, items: unknown[], i: number, out: unknown[], counted: boolean): unknown[] | Promise<unknown[]> {
    for (; i < items.length; i++) {
      const value = star ? fn(...(items[i] as unknown[])) : fn(items[i]);
      if (isThenable(value)) {
        const at = i;
        return Promise.resolve(value).then((v) => {
          out.push(v);
          if (counted) this.#progress.item();
          return this.#chunk(star, fn, items, at + 1, out, counted);
        });
      }
      out.push(value);
      // Someone follows the map's progress: each item done counts (coalesced like any report).
      if (counted) this.#progress.item();
    }
    return out;
  }
}
