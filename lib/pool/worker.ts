import { deserialize, serialize } from 'node:v8';
import { SerializationError, type WorkerExitInfo } from '../errors';
import type { WorkerProcess } from '../launchers/launcher';
import { decodeError, type EncodedError } from '../transport/error-codec';
import { FRAME_HEADER, FrameReader, encodeFrame, writeFrameHeader } from '../transport/frames';
import { decode } from '../transport/payload';
import { AbortReason, FromWorker, ToWorker, type TaskRefData } from '../transport/protocol';
import { Deque } from './deque';
import type { PoolTask, TaskHolder } from './task';

/** Where a worker is in its life. */
export type WorkerState = 'starting' | 'ready' | 'stopping' | 'exited';

/** Why a worker left, as the pool's `workerExit` event reports it. */
export type WorkerExitReason =
  | 'closed'
  | 'recycled'
  | 'memory'
  | 'idle'
  | 'timeout'
  | 'aborted'
  | 'terminated'
  | 'broken'
  | 'crashed'
  | 'start-failed';

/** How a worker's life ended, with everything it still held. */
export interface WorkerExit extends WorkerExitInfo {
  /** Whether it ever reported ready. */
  readonly wasReady: boolean;
  /** Why the pool asked it to leave, if it did. */
  readonly requested: WorkerExitReason | undefined;
  /** What its initializer or preload threw, when that is why it exited. */
  readonly initError?: unknown;
  /** Why the process could not be started at all. */
  readonly spawnError?: Error;
  /** Tasks it had received but not answered, oldest first: the first one was running. */
  readonly unanswered: PoolTask[];
}

/** The pool's side of the conversation with one worker. */
export interface WorkerListener {
  workerReady(worker: PoolWorker): void;
  taskDone(worker: PoolWorker, task: PoolTask, ok: boolean, value: unknown): void;
  /** A task's hard timeout passed, or an aborted task ignored its signal past the grace period. */
  taskOverdue(worker: PoolWorker, task: PoolTask, why: 'timeout' | 'aborted'): void;
  /** The worker's resident memory passed `maxMemoryPerChild`. */
  workerOverMemory(worker: PoolWorker): void;
  workerExited(worker: PoolWorker, exit: WorkerExit): void;
}

/** Looks up the module + export name behind a function id. */
export type FunctionTable = (fnId: number) => TaskRefData;

/** Bodies up to this size are copied into one buffer; larger payloads are written where they are. */
const COPY_LIMIT = 256 * 1024;
/** After the process exits, how long to wait for its last results to be read from the socket. */
const DRAIN_TIMEOUT_MS = 1000;
/** u32 id, u32 function id, u8 kind, u32 payload length, u8 padding before the payload. */
const TASK_HEADER = 14;

/**
 * Parent-side record of one worker process (piscina's per-worker task ownership): the tasks it
 * holds, in the order it runs them, so that its death is attributed exactly: the first unanswered
 * task was running and is lost; the rest had not started and can run elsewhere. It also keeps the
 * clock of the running task (timeouts, the grace period after an abort).
 */
export class PoolWorker implements TaskHolder {
  state: WorkerState = 'starting';
  /** Tasks sent and not yet answered, in the order the worker runs them. */
  readonly inFlight = new Deque<PoolTask>();
  /** Tasks sent over this worker's life (for `maxTasksPerChild`). */
  dispatched = 0;
  /** When the worker last started on work it holds (its previous answer, or when idle work arrived). */
  busySince = 0;
  /** Set when the pool asks the worker to leave; an exit without it is a crash. */
  requested: WorkerExitReason | undefined;
  /** The pool's idle-timeout timer for this worker. */
  idleTimer: NodeJS.Timeout | undefined;
  readonly #knownFns = new Set<number>();
  readonly #reader = new FrameReader();
  /** Batches sent whose Received acknowledgement has not arrived, oldest first. */
  readonly #unacknowledged = new Deque<PoolTask[]>();
  #initError: unknown;
  #everReady = false;
  #killTimer: NodeJS.Timeout | undefined;
  /** Timers of the task running now (soft/hard timeout, abort grace), cleared when it answers. */
  #clock: { task: PoolTask; timers: NodeJS.Timeout[] } | undefined;

  constructor(
    readonly child: WorkerProcess,
    private readonly listener: WorkerListener,
  ) {
    child.output.on('data', (chunk: Buffer) => this.#reader.push(chunk, this.#onFrame));
    // A launcher that read the worker's first frames paused the stream; take it over.
    child.output.resume();
    const drained = new Promise<void>((resolve) => {
      child.output.once('end', resolve);
      child.output.once('close', resolve);
    });
    void child.exited.then(async (status) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_TIMEOUT_MS)))]);
      clearTimeout(timer);
      clearTimeout(this.#killTimer);
      clearTimeout(this.idleTimer);
      this.#stopClock();
      const wasReady = this.#everReady;
      this.state = 'exited';
      const unanswered = this.inFlight.drain();
      for (const task of unanswered) task.holder = undefined;
      listener.workerExited(this, {
        pid: child.pid,
        exitCode: status.exitCode,
        signal: status.signal,
        stderr: child.stderrTail(),
        wasReady,
        requested: this.requested,
        initError: this.#initError,
        spawnError: status.error,
        unanswered,
      });
    });
    if (child.initialized) {
      this.state = 'ready';
      this.#everReady = true;
      queueMicrotask(() => {
        if (this.state === 'ready') listener.workerReady(this);
      });
    }
  }

  /** The worker's name (`PoolWorker-3`). */
  get name(): string {
    return this.child.name;
  }

  /** OS process id. */
  get pid(): number {
    return this.child.pid;
  }

  /**
   * Sends tasks in one frame, teaching the worker any function it does not know yet. Each payload
   * starts 8-byte aligned within the frame, so typed arrays in it can be used where they arrive.
   */
  send(tasks: PoolTask[], functions: FunctionTable): void {
    const input = this.child.input;
    input.cork();
    let position = FRAME_HEADER;
    const pads: number[] = [];
    for (const task of tasks) {
      if (!this.#knownFns.has(task.fnId)) {
        this.#knownFns.add(task.fnId);
        const ref = serialize(functions(task.fnId));
        const body = Buffer.allocUnsafe(4 + ref.length);
        body.writeUInt32LE(task.fnId, 0);
        ref.copy(body, 4);
        input.write(encodeFrame(ToWorker.Define, body));
      }
      task.holder = this;
      this.inFlight.push(task);
      const pad = (8 - ((position + TASK_HEADER) % 8)) % 8;
      pads.push(pad);
      position += TASK_HEADER + pad + (task.payload as Buffer).length;
    }
    this.dispatched += tasks.length;
    const bodyLength = position - FRAME_HEADER;
    const copy = bodyLength <= COPY_LIMIT;
    // Small batches go out as one buffer; large payloads are written where they are, not copied.
    const out = Buffer.allocUnsafe(copy ? position : FRAME_HEADER);
    writeFrameHeader(out, 0, ToWorker.Tasks, bodyLength);
    let offset = FRAME_HEADER;
    if (!copy) input.write(out);
    tasks.forEach((task, i) => {
      const pad = pads[i];
      const header = copy ? out : Buffer.alloc(TASK_HEADER + pad);
      const at = copy ? offset : 0;
      header.writeUInt32LE(task.id, at);
      header.writeUInt32LE(task.fnId, at + 4);
      header[at + 8] = task.wire;
      header.writeUInt32LE((task.payload as Buffer).length, at + 9);
      header[at + 13] = pad;
      if (copy) {
        (task.payload as Buffer).copy(out, at + TASK_HEADER + pad);
        offset = at + TASK_HEADER + pad + (task.payload as Buffer).length;
      } else {
        input.write(header);
        input.write(task.payload as Buffer);
      }
    });
    if (copy) input.write(out);
    input.uncork();
    this.#unacknowledged.push(tasks);
  }

  /**
   * Asks the worker to abort a task it holds (the caller's signal fired). A task still waiting in
   * the worker is skipped; the running one has its signal aborted and `graceMs` to stop before the
   * pool is told it is overdue.
   */
  abort(task: PoolTask, graceMs: number): void {
    this.#sendAbort(task, AbortReason.Cancelled, 0);
    task.abortGraceMs = graceMs;
    // The grace period runs from the task's start: before it, the worker will just skip it.
    if (task.started) this.#armAbortGrace(task);
  }

  #armAbortGrace(task: PoolTask): void {
    this.#clockFor(task).timers.push(setTimeout(() => this.listener.taskOverdue(this, task, 'aborted'), task.abortGraceMs));
  }

  /** Asks the worker to exit once it has answered every task it holds. */
  stop(reason: WorkerExitReason): void {
    if (this.state === 'exited') return;
    this.state = 'stopping';
    this.requested ??= reason;
    this.child.input.write(encodeFrame(ToWorker.Stop));
  }

  /** SIGTERM to the worker's group, then SIGKILL after `graceMs` if it is still there. */
  terminate(graceMs: number, reason: WorkerExitReason): void {
    if (this.state === 'exited' || this.#killTimer) return;
    this.requested ??= reason;
    this.state = 'stopping';
    this.child.kill('SIGTERM');
    this.#killTimer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
  }

  #sendAbort(task: PoolTask, reason: number, ms: number): void {
    const body = Buffer.allocUnsafe(9);
    body.writeUInt32LE(task.id, 0);
    body[4] = reason;
    body.writeUInt32LE(ms, 5);
    this.child.input.write(encodeFrame(ToWorker.Abort, body));
  }

  #clockFor(task: PoolTask): { task: PoolTask; timers: NodeJS.Timeout[] } {
    if (this.#clock?.task !== task) {
      this.#stopClock();
      this.#clock = { task, timers: [] };
    }
    return this.#clock;
  }

  #stopClock(): void {
    if (!this.#clock) return;
    for (const timer of this.#clock.timers) clearTimeout(timer);
    this.#clock = undefined;
  }

  /** A timed task reported its start: its timeouts run from now. */
  #started(task: PoolTask): void {
    task.started = true;
    const { timeout, softTimeout } = task.policy;
    const clock = this.#clockFor(task);
    if (task.abortGraceMs !== undefined) this.#armAbortGrace(task);
    if (softTimeout !== undefined) clock.timers.push(setTimeout(() => this.#sendAbort(task, AbortReason.SoftTimeout, softTimeout), softTimeout));
    if (timeout !== undefined) clock.timers.push(setTimeout(() => this.listener.taskOverdue(this, task, 'timeout'), timeout));
  }

  readonly #onFrame = (type: number, buf: Buffer, start: number, end: number): void => {
    switch (type) {
      case FromWorker.Result:
      case FromWorker.Error: {
        const task = this.inFlight.peek();
        if (!task || task.id !== buf.readUInt32LE(start)) {
          this.#protocolError(`answer for task ${buf.readUInt32LE(start)} out of order`);
          return;
        }
        this.inFlight.shift();
        task.holder = undefined;
        if (this.#clock?.task === task) this.#stopClock();
        let ok = type === FromWorker.Result;
        let value: unknown;
        try {
          value = ok ? decode(buf, start + 4, end) : decodeError(deserialize(buf.subarray(start + 4, end)) as EncodedError, `worker ${this.pid}`);
        } catch (error) {
          ok = false;
          value = new SerializationError(`The result could not be deserialized in the parent: ${(error as Error).message}`, 'result', { cause: error });
        }
        this.listener.taskDone(this, task, ok, value);
        return;
      }
      case FromWorker.Started: {
        const task = this.inFlight.peek();
        if (task && task.id === buf.readUInt32LE(start)) this.#started(task);
        return;
      }
      case FromWorker.Received: {
        const batch = this.#unacknowledged.shift();
        if (batch) for (const task of batch) task.received = true;
        return;
      }
      case FromWorker.OverMemory:
        this.listener.workerOverMemory(this);
        return;
      case FromWorker.Booted:
      case FromWorker.Preloaded:
        return;
      case FromWorker.Ready:
        this.#everReady = true;
        if (this.state === 'starting') this.state = 'ready';
        this.listener.workerReady(this);
        return;
      case FromWorker.InitFailed:
        this.#initError = decodeError(deserialize(buf.subarray(start, end)) as EncodedError, `worker ${this.pid}`);
        return;
      default:
        this.#protocolError(`unknown frame type ${type}`);
    }
  };

  #protocolError(what: string): void {
    process.emitWarning(`procpool: worker ${this.pid} broke the protocol (${what}); killing it.`);
    this.child.kill('SIGKILL');
  }
}
