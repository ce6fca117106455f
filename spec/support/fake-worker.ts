// An in-process stand-in for a worker process: the real WorkerChannel talks to it over in-memory
// streams, and the spec plays the worker's side of the protocol with the same codecs the worker
// uses. The engine, the supervisor and the channel then run without a single process.
import { PassThrough } from 'node:stream';
import type { WorkerProcess, ExitStatus } from '../../lib/channel/worker-process';
import { WorkerChannel } from '../../lib/channel/worker-channel';
import { initializeLaunch, type Launch, type Launcher, type LaunchRequest } from '../../lib/launchers/launcher';
import {
  AbortCodec,
  AnswerCodec,
  DefineCodec,
  ExitingCodec,
  ProgressCodec,
  READY_FRAME,
  RECEIVED_FRAME,
  StartedCodec,
  TaskContextCodec,
} from '../../lib/transport/codecs';
import { FrameReader } from '../../lib/transport/frames';
import { decode, encodeValue } from '../../lib/transport/payload';
import { ToWorker, type TaskRefData } from '../../lib/transport/protocol';
import { readTaskBatch, type IncomingTask } from '../../lib/transport/task-batch';

/** A task the fake worker received: its id, function and decoded arguments. */
export interface ReceivedTask {
  readonly id: number;
  readonly fn: TaskRefData;
  readonly args: unknown[];
  readonly kind: number;
}

let nextPid = 100_000;

export class FakeWorker {
  readonly pid = nextPid++;
  readonly #input = new PassThrough();
  readonly #output = new PassThrough();
  readonly #reader = new FrameReader();
  readonly #functions = new Map<number, TaskRefData>();
  /** Tasks received and not yet answered, oldest first. */
  readonly held: ReceivedTask[] = [];
  /** Every task ever received, in order. */
  readonly log: ReceivedTask[] = [];
  /** Batches received and not yet acknowledged. */
  #unacked = 0;
  readonly aborts: number[] = [];
  /** Contexts received (TaskContext frames), in order, with the id of their task. */
  readonly contexts: { taskId: number; context: unknown }[] = [];
  stopped = false;
  initialized = false;
  #exit!: (status: ExitStatus) => void;
  readonly process: WorkerProcess;

  constructor(
    name: string,
    /** Acknowledge each Tasks frame as it arrives (as a real worker does). */
    private readonly autoAck = true,
    /** Answer Init with Ready at once. */
    autoReady = true,
  ) {
    const exited = new Promise<ExitStatus>((resolve) => (this.#exit = resolve));
    this.process = {
      pid: this.pid,
      name,
      input: this.#input,
      output: this.#output,
      exited,
      stderrTail: () => [],
      kill: (signal) => this.die({ exitCode: null, signal }),
      ref: () => {},
      unref: () => {},
    };
    this.#input.on('data', (chunk: Buffer) =>
      this.#reader.push(chunk, (type, buf, start, end) => {
        if (type === ToWorker.Init) {
          this.initialized = true;
          if (autoReady) this.send(READY_FRAME);
        } else if (type === ToWorker.Define) {
          const { fnId, ref } = DefineCodec.decode(buf, start, end);
          this.#functions.set(fnId, ref);
        } else if (type === ToWorker.Tasks) {
          readTaskBatch(buf, start, end, (task: IncomingTask) => {
            const received = { id: task.id, fn: this.#functions.get(task.fnId) as TaskRefData, args: decode(task.buf, task.start, task.end) as unknown[], kind: task.kind };
            this.held.push(received);
            this.log.push(received);
          });
          this.#unacked++;
          if (this.autoAck) this.ack();
        } else if (type === ToWorker.TaskContext) {
          // A task's context comes before the batch that carries it.
          this.contexts.push(TaskContextCodec.decode(buf, start, end));
        } else if (type === ToWorker.Abort) {
          this.aborts.push(AbortCodec.decode(buf, start).taskId);
        } else if (type === ToWorker.Stop) {
          this.stopped = true;
        }
      }),
    );
  }

  send(frame: Buffer): void {
    this.#output.write(frame);
  }

  /** Acknowledges every batch received so far. */
  ack(): void {
    for (; this.#unacked > 0; this.#unacked--) this.send(RECEIVED_FRAME);
  }

  /** Reports the start of the oldest held task. */
  start(): void {
    this.send(StartedCodec.encode(this.held[0].id));
  }

  /** Reports progress for task `taskId` (the oldest held by default). */
  progress(value: unknown, taskId = this.held[0].id, completed = 0): void {
    this.send(ProgressCodec.encode(taskId, completed, true, value));
  }

  /** Answers the oldest held task with `value`. */
  answer(value: unknown): ReceivedTask {
    const task = this.held.shift() as ReceivedTask;
    const payload = encodeValue(value);
    const header = Buffer.alloc(AnswerCodec.headerSize);
    AnswerCodec.writeHeader(header, 12, task.id, payload.length);
    this.send(Buffer.concat([header, payload]));
    return task;
  }

  /** Answers every held task with `fn(args)`. */
  answerAll(fn: (...args: unknown[]) => unknown): void {
    while (this.held.length) {
      const args = this.held[0].args;
      this.answer(fn(...args));
    }
  }

  /** Ends the process: its output closes and it exits with `status`. */
  die(status: ExitStatus): void {
    this.#output.end();
    this.#exit(status);
  }

  /** Exits as a worker does after Stop: Exiting(0), then exit code 0. */
  exitCleanly(): void {
    this.send(ExitingCodec.encode(0));
    this.die({ exitCode: 0, signal: null });
  }
}

/** A launcher of fake workers; `workers` lists every one it started, in order. */
export class FakeLauncher implements Launcher {
  readonly method = 'spawn' as const;
  readonly workers: FakeWorker[] = [];
  readonly learned: string[] = [];
  closed = false;

  constructor(private readonly options: { autoAck?: boolean; autoReady?: boolean } = {}) {}

  launch(request: LaunchRequest): Launch {
    const worker = new FakeWorker(`PoolWorker-${this.workers.length + 1}`, this.options.autoAck ?? true, this.options.autoReady ?? true);
    this.workers.push(worker);
    return initializeLaunch(new WorkerChannel(worker.process), request);
  }

  learnModule(module: string): void {
    this.learned.push(module);
  }

  poolReady(): void {}

  readySpares(): number {
    return 0;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
