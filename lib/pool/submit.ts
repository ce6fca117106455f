import { AbortError, InvalidArgumentError, QueueFullError } from '../errors';
import { resolveTask } from '../tasks/task-ref';
import { TaskKind, type TaskKindValue, type TaskRefData } from '../transport/protocol';
import { checkInteger, checkIterable } from '../validate';
import { AsyncResult, kProgress, kReject, kResolve, type Completion } from './async-result';
import { callPolicy, collect, encodeContext, label, type ApplyAsyncOptions, type IMapOptions, type Items, type MapAsyncOptions, type TaskOptions } from './call-options';
import type { TaskEngine } from './task-engine';
import { IMapIterator } from './imap';
import { CallJob, MapJob } from './jobs';
import type { PoolTask, TaskPolicy } from './task';

function isPromise(value: unknown): value is Promise<unknown> {
  return value instanceof Promise;
}

function abortError(signal: AbortSignal): AbortError {
  return new AbortError('The task was aborted by its AbortSignal.', { cause: signal.reason });
}

/**
 * How the pool's submission calls become tasks: options checked and merged over the pool's
 * defaults, the queue limit enforced before anything is encoded, arguments captured at the call,
 * the caller's AbortSignal wired, and the function's id looked up (late for an ES module still
 * registering). The public `Pool` only names the calls.
 */
export class Submitter {
  constructor(
    private readonly engine: TaskEngine,
    private readonly defaults: TaskPolicy,
    /** The pool-wide `context` hook, called at every submission without its own `context`. */
    private readonly contextHook: (() => unknown) | undefined,
  ) {}

  /** `applyAsync`: one task, owned by `result`. */
  apply<T>(fn: unknown, args: unknown, options: ApplyAsyncOptions<T>, result: AsyncResult<T>): void {
    try {
      const policy = this.#policy(options, false);
      const input: unknown[] = args === undefined ? [] : (args as unknown[]);
      if (!Array.isArray(input)) throw new InvalidArgumentError(`Expected \`args\` to be an array of arguments, got \`${String(input)}\`.`);
      const id = options.signal ? undefined : this.#functionId(fn);
      const engine = this.engine;
      if (!engine.room(1)) {
        result[kReject](new QueueFullError(engine.pressure.maxQueue));
        return;
      }
      if (typeof id === 'number') {
        // The usual call: one task owned by its AsyncResult, and no closure or bookkeeping array.
        engine.submit(engine.createTask(id, TaskKind.Call, engine.encode(input, id), result, 0, policy));
        return;
      }
      const lookup = id ?? this.#functionId(fn);
      const tasks: PoolTask[] = [];
      const done = this.#guard<T>(result, options.signal, tasks);
      // Encoded now even when the function's id comes later: the call captures its arguments.
      const payload = engine.encode(input, typeof lookup === 'number' ? lookup : label(fn));
      const owner = done === result ? result : new CallJob(done as Completion<unknown>, result);
      this.#withFunction(lookup, done, [payload], (fnId) => {
        const task = engine.createTask(fnId, TaskKind.Call, payload, owner, 0, policy);
        tasks.push(task);
        engine.submit(task);
      });
    } catch (error) {
      result[kReject](error);
    }
  }

  /** `map`/`starmap` and their async forms: the items in chunks, one task each, owned by a MapJob. */
  map<R>(fn: unknown, items: Items<unknown>, kind: TaskKindValue, options: MapAsyncOptions<R>, result: AsyncResult<R[]>, counted: boolean): void {
    try {
      const policy = this.#policy(options, counted || options.onProgress !== undefined);
      checkInteger(options.chunksize, 'chunksize', 1);
      checkIterable(items, 'items');
      const tasks: PoolTask[] = [];
      const done = this.#guard<R[]>(result, options.signal, tasks);
      const fail = (error: unknown): void => done[kReject](error);
      const engine = this.engine;
      const start = (list: unknown[]): void => {
        const lookup = this.#functionId(fn);
        const size = options.chunksize ?? engine.defaultChunksize(list.length);
        if (!engine.room(Math.ceil(list.length / size))) throw new QueueFullError(engine.pressure.maxQueue);
        const progress = (completed: number, value: unknown): void => result[kProgress]({ completed, total: list.length, value });
        const job = new MapJob(list.length, done as Completion<unknown[]>, (unwanted) => engine.abandon(unwanted, false), progress);
        const submit = (fnId: number, offset: number, payload: Buffer): void => {
          const task = engine.createTask(fnId, kind, payload, job, offset, policy);
          job.add(task);
          tasks.push(task);
          engine.submit(task);
        };
        if (list.length === 0) {
          this.#withFunction(lookup, done, [], () => done[kResolve]([]));
        } else if (typeof lookup === 'number') {
          // Each chunk is captured and handed out in turn: a worker starts on the first while the
          // next are captured. A chunk that cannot be serialized fails the map (as in Python, the
          // chunks before it may have run).
          for (let offset = 0; offset < list.length && !job.failed; offset += size) {
            let payload: Buffer;
            try {
              payload = engine.encode(list.slice(offset, offset + size), lookup);
            } catch (error) {
              job.fail(error);
              return;
            }
            submit(lookup, offset, payload);
          }
        } else {
          // The function's ES module is still registering: every chunk is captured now, at the call.
          const chunks: { offset: number; payload: Buffer }[] = [];
          try {
            for (let offset = 0; offset < list.length; offset += size) chunks.push({ offset, payload: engine.encode(list.slice(offset, offset + size), label(fn)) });
          } catch (error) {
            engine.discard(chunks.map((c) => c.payload));
            throw error;
          }
          this.#withFunction(lookup, done, chunks.map((c) => c.payload), (fnId) => {
            for (const { offset, payload } of chunks) submit(fnId, offset, payload);
          });
        }
      };
      const list = collect(items);
      if (isPromise(list)) list.then(start).catch(fail);
      else start(list);
    } catch (error) {
      result[kReject](error);
    }
  }

  /** `imap`/`imapUnordered`: a lazy iterator (bounded by its own look-ahead, not by `maxQueue`). */
  imap<T>(fn: unknown, items: Items<unknown>, options: IMapOptions, ordered: boolean): IMapIterator<T> {
    let fnId: number | Promise<number>;
    let policy: TaskPolicy = {};
    try {
      policy = this.#policy(options, false);
      checkInteger(options.chunksize, 'chunksize', 1);
      checkIterable(items, 'items');
      if (options.signal?.aborted) throw abortError(options.signal);
      const refusal = this.engine.lifecycle.refusal();
      if (refusal) throw refusal;
      const ref = resolveTask(fn);
      const functions = this.engine.functions;
      fnId = isPromise(ref) ? ref.then((r) => functions.id(r)) : functions.id(ref);
    } catch (error) {
      fnId = Promise.reject(error);
      items = [];
    }
    return new IMapIterator<T>({
      engine: this.engine,
      fnId,
      source: items,
      kind: TaskKind.Map,
      chunksize: options.chunksize ?? 1,
      ordered,
      policy,
      signal: options.signal,
      abortError,
    });
  }

  /**
   * The call's policy: its options over the pool's defaults, with its context (its own, or the
   * pool's hook's) captured now. `counted`: map chunks report their items' completion.
   */
  #policy(options: TaskOptions, counted: boolean): TaskPolicy {
    const policy = callPolicy(options, this.defaults);
    const hook = this.contextHook;
    if (options.context === undefined && hook === undefined && !counted) return policy;
    const context = options.context !== undefined ? options.context : hook?.();
    return { ...policy, context: context === undefined ? undefined : encodeContext(context), counted };
  }

  /**
   * Wires a call's AbortSignal: when it fires, the call rejects with `AbortError` and its tasks are
   * abandoned (dropped, or aborted in their worker). The listener goes when the call settles.
   */
  #guard<T>(done: Completion<T>, signal: AbortSignal | undefined, tasks: Iterable<PoolTask>): Completion<T> {
    if (!signal) return done;
    if (signal.aborted) throw abortError(signal);
    const onAbort = (): void => {
      done[kReject](abortError(signal));
      this.engine.abandon(tasks, true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    return {
      [kResolve]: (value: T) => {
        signal.removeEventListener('abort', onAbort);
        done[kResolve](value);
      },
      [kReject]: (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        done[kReject](error);
      },
    };
  }

  /**
   * The engine's id for `fn`, or a promise of its reference while the ES module exporting it has
   * yet to register. Throws if the pool refuses work or `fn` is not a task.
   */
  #functionId(fn: unknown): number | Promise<TaskRefData> {
    const refusal = this.engine.lifecycle.refusal();
    if (refusal) throw refusal;
    const ref = resolveTask(fn);
    return isPromise(ref) ? ref : this.engine.functions.id(ref);
  }

  /** Hands the function's id to `submit`, once known; a late failure goes to `done` (and `payloads` are discarded). */
  #withFunction(id: number | Promise<TaskRefData>, done: Completion<never>, payloads: readonly Buffer[], submit: (fnId: number) => void): void {
    if (typeof id === 'number') {
      submit(id);
      return;
    }
    id.then((late) => {
      const lateRefusal = this.engine.lifecycle.refusal();
      if (lateRefusal) throw lateRefusal;
      submit(this.engine.functions.id(late));
    }).catch((error: unknown) => {
      // No task was made of these arguments: what they hold in shared memory is let go.
      this.engine.discard(payloads);
      done[kReject](error);
    });
  }
}
