import type { EventEmitter } from 'node:events';
import type { StartMethod } from '../launchers/launcher';
import type { TaskRefData } from '../transport/protocol';
import type { WorkerExitReason } from './worker';

/** `workerStart`: a worker is up and initialized. */
export interface WorkerStartEvent {
  readonly pid: number;
  readonly name: string;
  readonly startMethod: StartMethod;
}

/** `workerExit`: a worker process is gone. */
export interface WorkerExitEvent {
  readonly pid: number;
  readonly name: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /**
   * Why: asked to leave (`'closed'`, `'recycled'` after maxTasksPerChild, `'memory'` over
   * maxMemoryPerChild, `'idle'`, `'timeout'`, `'aborted'`, `'terminated'`, `'broken'`), or not
   * (`'crashed'`, `'start-failed'`).
   */
  readonly reason: WorkerExitReason;
}

/** `taskQueued`: a task (a call, or one map chunk) joined the pool's queue. */
export interface TaskQueuedEvent {
  readonly id: number;
  readonly task: TaskRefData;
}

/** `taskStart`: a task was handed to a worker. */
export interface TaskStartEvent {
  readonly id: number;
  readonly pid: number;
}

/** `taskSettled`: a task finished, one way or another. */
export interface TaskSettledEvent {
  readonly id: number;
  readonly ok: boolean;
  /** The error, when `ok` is false. */
  readonly error?: unknown;
}

/** Every event a Pool emits, with its payload. */
export interface PoolEventMap {
  workerStart: [WorkerStartEvent];
  workerExit: [WorkerExitEvent];
  taskQueued: [TaskQueuedEvent];
  taskStart: [TaskStartEvent];
  taskSettled: [TaskSettledEvent];
}

/**
 * Emits pool events only when someone listens, so the per-task events cost nothing on the hot
 * path of a pool nobody observes.
 */
export class PoolEventSink {
  /** Events with listeners, kept current through 'newListener' / 'removeListener'. */
  readonly #listened = new Set<string | symbol>();

  constructor(private readonly emitter: EventEmitter) {
    emitter.on('newListener', (name: string | symbol) => this.#listened.add(name));
    emitter.on('removeListener', (name: string | symbol) => {
      // Emitted after the removal: the count is already the new one.
      if (emitter.listenerCount(name) === 0) this.#listened.delete(name);
    });
  }

  /** Whether `name` has listeners. */
  wants(name: keyof PoolEventMap): boolean {
    return this.#listened.has(name);
  }

  emit<K extends keyof PoolEventMap>(name: K, ...payload: PoolEventMap[K]): void {
    if (this.#listened.has(name)) this.emitter.emit(name, ...payload);
  }
}
