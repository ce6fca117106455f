import { SerializationError, type WorkerExitInfo } from '../errors';
import { takeCopiedRegions } from '../shared/transfer';
import { Deque } from '../util/deque';
import {
  AbortCodec,
  AnswerCodec,
  DefineCodec,
  ExitingCodec,
  InitCodec,
  InitFailedCodec,
  PreloadCodec,
  ProgressCodec,
  RegionsCodec,
  STOP_FRAME,
  SegmentCodec,
  StartedCodec,
  TaskContextCodec,
} from '../transport/codecs';
import { FrameReader } from '../transport/frames';
import { decode } from '../transport/payload';
import { FromWorker, ToWorker, type InitMessage, type TaskRefData } from '../transport/protocol';
import { regionsOf } from '../transport/shared-refs';
import { writeTaskBatch, type WireTask } from '../transport/task-batch';
import { SharedLedger } from './shared-ledger';
import type { ExitStatus, WorkerProcess } from './worker-process';

/**
 * Where the conversation is. `booting` until the worker says Booted; `initializing` from Init to
 * Ready; `ready` takes tasks; `stopping` after Stop (it finishes what it holds); `ended` once the
 * process is gone and everything it wrote has been read.
 */
export type ChannelPhase = 'booting' | 'booted' | 'initializing' | 'ready' | 'stopping' | 'ended';

/** How a channel ended: the process's exit, and what it still held. */
export interface ChannelEnd<T> {
  /** The worker's name (`PoolWorker-3`). */
  readonly name: string;
  readonly exit: WorkerExitInfo;
  /** Why the process could not be started at all. */
  readonly spawnError?: Error;
  /** What its initializer or preload threw, when that is why it exited. */
  readonly initError?: unknown;
  /** Whether it ever reported Ready. */
  readonly wasReady: boolean;
  /** Tasks sent and not answered, oldest first: the first one was running (if it was received). */
  readonly unanswered: readonly T[];
}

/** What the owner of a ready channel (a pool, a `Process`) hears about its tasks. */
export interface ChannelListener<T> {
  /** The worker has received the Tasks frame that carried `batch` (it was not lost in the pipe). */
  received(batch: readonly T[]): void;
  /** A task flagged Timed starts now. */
  started(task: T): void;
  /** The worker answered `task`: `ok` says whether `value` is its result or its error. */
  answered(task: T, ok: boolean, value: unknown): void;
  /** The worker's memory passed `maxMemoryPerChild`: it asks to be retired after its tasks. */
  overMemory(): void;
  /** The running task reported progress (items of its chunk done; a value if `hasValue`). */
  progress(task: T, completed: number, hasValue: boolean, value: unknown): void;
}

/** Why a worker did not become ready: how its process ended, with what it said first. */
export class StartFailure extends Error {
  constructor(
    readonly end: ChannelEnd<never>,
    /** The owner gave up on the start (the pool closed); not a failure of the worker. */
    readonly cancelled = false,
  ) {
    super(`worker ${end.exit.pid} did not start`);
  }

  /** A process that could not be started at all (no channel ever existed). */
  static spawnFailed(error: Error, cancelled = false): StartFailure {
    const exit = { pid: 0, exitCode: null, signal: null, stderr: [] };
    return new StartFailure({ name: '', exit, spawnError: error, wasReady: false, unanswered: [] }, cancelled);
  }
}

/** After the process exits, how long to wait for its last frames to be read from the socket. */
const DRAIN_TIMEOUT_MS = 1000;

type Waiter = { resolve(): void; reject(error: unknown): void };

/**
 * The one owner of the conversation with one worker process: the handshake (Booted), Init and
 * Ready, Preload, task batches and their acknowledgements, aborts, answers, Stop, and the end of
 * the channel. Launchers hand out channels; the pool and `Process` speak to workers only through
 * them. It keeps the tasks it was sent in the order the worker runs them, so that when the process
 * ends, what it still held is known exactly.
 */
export class WorkerChannel<T extends WireTask = WireTask> {
  #phase: ChannelPhase = 'booting';
  readonly #process: WorkerProcess;
  readonly #reader = new FrameReader();
  readonly #inFlight = new Deque<T>();
  /** Batches sent whose Received acknowledgement has not arrived, oldest first. */
  readonly #unacknowledged = new Deque<readonly T[]>();
  readonly #knownFns = new Set<number>();
  #listener: ChannelListener<T> | undefined;
  #booted: Waiter[] = [];
  #initialized: Waiter | undefined;
  #preloads: Waiter[] = [];
  #initError: unknown;
  #wasReady = false;
  /** The code the worker reported from its 'exit' handler, if it did. */
  #exitingCode: number | undefined;
  /** The shared memory the worker holds or made. */
  readonly #shared = new SharedLedger((frame) => this.#write(frame));
  /** Settles once the process is gone and its output has been read to the end. */
  readonly ended: Promise<ChannelEnd<T>>;

  constructor(process: WorkerProcess) {
    this.#process = process;
    process.output.on('data', (chunk: Buffer) => this.#reader.push(chunk, this.#onFrame));
    const drained = new Promise<void>((resolve) => {
      process.output.once('end', resolve);
      process.output.once('close', resolve);
    });
    this.ended = process.exited.then(async (status) => {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, DRAIN_TIMEOUT_MS)))]);
      clearTimeout(timer);
      return this.#end(status);
    });
  }

  /** OS process id. */
  get pid(): number {
    return this.#process.pid;
  }

  /** The worker's name (`PoolWorker-3`). */
  get name(): string {
    return this.#process.name;
  }

  get phase(): ChannelPhase {
    return this.#phase;
  }

  /** Tasks sent and not yet answered. */
  get held(): number {
    return this.#inFlight.length;
  }

  /** The task the worker runs now (or will run next): the oldest unanswered one. */
  current(): T | undefined {
    return this.#inFlight.peek();
  }

  /** Every task sent and not yet answered, oldest first. */
  pending(): T[] {
    return this.#inFlight.toArray();
  }

  /** Resolves when the worker has booted; rejects if its channel ends first. */
  whenBooted(): Promise<void> {
    if (this.#phase !== 'booting') return this.#phase === 'ended' ? Promise.reject(new Error('the worker is gone')) : Promise.resolve();
    return new Promise((resolve, reject) => this.#booted.push({ resolve, reject }));
  }

  /** Has the worker load `modules` now; resolves once it has (a module that fails is reported at its first use). */
  preload(modules: readonly string[]): Promise<void> {
    // Waiting before writing: an answer may come back within the write (in-memory streams).
    const loaded = new Promise<void>((resolve, reject) => this.#preloads.push({ resolve, reject }));
    this.#write(PreloadCodec.encode(modules));
    return loaded;
  }

  /**
   * Sends Init; resolves when the worker is Ready. Rejects with a {@link StartFailure} if the
   * initializer or a preload throws, or the process ends first.
   */
  initialize(init: InitMessage): Promise<void> {
    this.#phase = 'initializing';
    const ready = new Promise<void>((resolve, reject) => (this.#initialized = { resolve, reject }));
    this.#write(InitCodec.encode(init));
    return ready;
  }

  /** Hands the task traffic of a ready channel to its owner. */
  attach(listener: ChannelListener<T>): void {
    this.#listener = listener;
  }

  /** Sends `tasks` in one frame, teaching the worker first any function it does not know yet. */
  send(tasks: readonly T[], functions: (fnId: number) => TaskRefData): void {
    const input = this.#process.input;
    // Recorded before the frame is written: its answers may arrive within the write.
    this.#unacknowledged.push(tasks);
    input.cork();
    for (const task of tasks) {
      if (!this.#knownFns.has(task.fnId)) {
        this.#knownFns.add(task.fnId);
        input.write(DefineCodec.encode(task.fnId, functions(task.fnId)));
      }
      this.#inFlight.push(task);
      if (task.context) input.write(TaskContextCodec.encode(task.id, task.context));
      const regions = regionsOf(task.payload);
      if (regions) this.#shared.hold(regions);
    }
    writeTaskBatch(input, tasks);
    input.uncork();
  }

  /** Asks the worker to abort `task` (see `AbortReason`): skipped if it waits, its signal aborted if it runs. */
  abort(task: T, reason: number, softTimeoutMs = 0): void {
    this.#write(AbortCodec.encode({ taskId: task.id, reason, softTimeoutMs }));
  }

  /** Asks the worker to exit once it has answered every task it holds. */
  stop(): void {
    if (this.#phase === 'ended' || this.#phase === 'stopping') return;
    this.#phase = 'stopping';
    this.#write(STOP_FRAME);
  }

  /** Sends `signal` to the worker's process group. */
  kill(signal: NodeJS.Signals): void {
    this.#process.kill(signal);
  }

  /** Lets the worker keep the event loop alive... */
  ref(): void {
    this.#process.ref();
  }

  /** ...or not. */
  unref(): void {
    this.#process.unref();
  }

  #write(frame: Buffer): void {
    if (this.#phase !== 'ended') this.#process.input.write(frame);
  }

  #end(status: ExitStatus): ChannelEnd<T> {
    this.#phase = 'ended';
    this.#shared.end();
    const failure = new Error('the worker is gone');
    for (const waiter of [...this.#booted.splice(0), ...this.#preloads.splice(0)]) waiter.reject(failure);
    // Only the worker itself knew, and it said so before it exited.
    const reported = status.statusUnknown && this.#exitingCode !== undefined;
    const end: ChannelEnd<T> = {
      name: this.name,
      exit: {
        pid: this.pid,
        exitCode: reported ? (this.#exitingCode as number) : status.exitCode,
        signal: status.signal,
        ...(status.statusUnknown && !reported ? { statusUnknown: status.statusUnknown } : {}),
        stderr: this.#process.stderrTail(),
      },
      spawnError: status.error,
      initError: this.#initError,
      wasReady: this.#wasReady,
      unanswered: this.#inFlight.drain(),
    };
    const init = this.#initialized;
    this.#initialized = undefined;
    init?.reject(new StartFailure(end as ChannelEnd<never>));
    return end;
  }

  readonly #onFrame = (type: number, buf: Buffer, start: number, end: number): void => {
    switch (type) {
      case FromWorker.Result:
      case FromWorker.Error:
        this.#answer(type === FromWorker.Result, buf, start, end);
        return;
      case FromWorker.Received: {
        const batch = this.#unacknowledged.shift();
        if (batch) this.#listener?.received(batch);
        return;
      }
      case FromWorker.Started: {
        const task = this.#inFlight.peek();
        if (task && task.id === StartedCodec.decode(buf, start)) this.#listener?.started(task);
        return;
      }
      case FromWorker.Progress: {
        // Only the running task reports, and its answer has not been read yet: it is the oldest.
        const task = this.#inFlight.peek();
        const message = ProgressCodec.decode(buf, start, end);
        if (task && task.id === message.taskId) this.#listener?.progress(task, message.completed, message.hasValue, message.value);
        return;
      }
      case FromWorker.OverMemory:
        this.#listener?.overMemory();
        return;
      case FromWorker.Booted:
        if (this.#phase === 'booting') this.#phase = 'booted';
        for (const waiter of this.#booted.splice(0)) waiter.resolve();
        return;
      case FromWorker.Preloaded:
        this.#preloads.shift()?.resolve();
        return;
      case FromWorker.Ready: {
        this.#wasReady = true;
        if (this.#phase === 'initializing') this.#phase = 'ready';
        const init = this.#initialized;
        this.#initialized = undefined;
        init?.resolve();
        return;
      }
      case FromWorker.InitFailed:
        this.#initError = InitFailedCodec.decode(buf, start, end, `worker ${this.pid}`);
        return;
      case FromWorker.Exiting:
        this.#exitingCode = ExitingCodec.decode(buf, start);
        return;
      case FromWorker.SegmentCreated: {
        const { name, ownedByWorker } = SegmentCodec.decodeCreated(buf, start, end);
        this.#shared.created(name, ownedByWorker);
        return;
      }
      case FromWorker.SegmentUnlinked:
        this.#shared.unlinked(SegmentCodec.decode(buf, start, end));
        return;
      case FromWorker.RegionsReleased:
        this.#shared.released(RegionsCodec.decode(buf, start));
        return;
      default:
        this.#protocolError(`unknown frame type ${type}`);
    }
  };

  #answer(ok: boolean, buf: Buffer, start: number, end: number): void {
    const task = this.#inFlight.peek();
    const id = AnswerCodec.taskId(buf, start);
    if (!task || task.id !== id || !this.#listener) {
      this.#protocolError(`answer for task ${id} out of order`);
      return;
    }
    this.#inFlight.shift();
    let value: unknown;
    const at = AnswerCodec.payloadStart(start);
    try {
      value = ok ? decode(buf, at, end) : AnswerCodec.error.decode(buf, at, end, `worker ${this.pid}`);
    } catch (error) {
      ok = false;
      value = new SerializationError(`The result could not be deserialized in the parent: ${(error as Error).message}`, 'result', { cause: error });
    }
    // Large arrays of the result were copied out of the worker's shared memory: it may reuse it.
    const copied = takeCopiedRegions();
    if (copied.length) this.#write(RegionsCodec.encode(copied, ToWorker.RegionsReleased));
    this.#listener.answered(task, ok, value);
  }

  #protocolError(what: string): void {
    process.emitWarning(`procpool: worker ${this.pid} broke the protocol (${what}); killing it.`);
    this.kill('SIGKILL');
  }
}
