/**
 * Entry point of every worker process. Reads frames from fd 3, runs tasks, writes each outcome to
 * fd 4 synchronously (see `writeAllSync`), and exits when told to stop or when the parent is gone.
 */
import { Socket } from 'node:net';
import { join } from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { Worker, SHARE_ENV } from 'node:worker_threads';
import { SerializationError } from '../errors';
import { encodeError } from '../transport/error-codec';
import { FrameReader, encodeFrame, writeFrameHeader, FRAME_HEADER } from '../transport/frames';
import { FromWorker, ToWorker, type InitMessage, type TaskRefData } from '../transport/protocol';
import { writeAllSync } from '../transport/write-sync';
import { CodeCache } from './code-cache';
import { TaskModules } from './modules';
import { TaskRunner, type ResultSink } from './runner';

const TASKS_FD = 3;
const RESULTS_FD = 4;
const WATCHDOG_INTERVAL_MS = 100;
const RECEIVED = encodeFrame(FromWorker.Received);
const PRELOADED = encodeFrame(FromWorker.Preloaded);

/** `--owner=<pid>` and `--code-cache=<dir>`, wherever they are (a snapshot shifts argv). */
function argument(name: string): string | undefined {
  const prefix = `--${name}=`;
  return process.argv.find((a) => a.startsWith(prefix))?.slice(prefix.length);
}

const ownerPid = Number(argument('owner') ?? process.ppid);
const codeCacheDir = argument('code-cache');
// Started by the forkserver template: compile preload and task modules from its code cache.
if (codeCacheDir) new CodeCache(codeCacheDir, 'consume').install();
const modules = new TaskModules();
let stopping = false;

function send(type: number, taskId: number, payload: Buffer): void {
  const header = Buffer.allocUnsafe(FRAME_HEADER + 4);
  writeFrameHeader(header, 0, type, 4 + payload.length);
  header.writeUInt32LE(taskId, FRAME_HEADER);
  writeAllSync(RESULTS_FD, [header, payload]);
}

const sink: ResultSink = {
  result(taskId, value, ref) {
    let payload: Buffer;
    try {
      payload = serialize(value);
    } catch (error) {
      this.error(
        taskId,
        new SerializationError(
          `The result of task '${ref.name}' (${ref.module}) cannot be serialized: ${(error as Error).message}. ` +
            'Return data the V8 serializer accepts: no functions, symbols, sockets or class instances with private state.',
          'result',
          { cause: error },
        ),
      );
      return;
    }
    send(FromWorker.Result, taskId, payload);
  },
  error(taskId, error) {
    send(FromWorker.Error, taskId, serialize(encodeError(error)));
  },
};

const runner = new TaskRunner(modules, sink);

/** Ends this worker and everything its tasks started (it leads its own process group). */
function exitWithGroup(): never {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    // Not a group leader: exiting alone is all that is left.
  }
  process.exit(1);
}

async function initialize(message: InitMessage): Promise<void> {
  try {
    process.env.PROCPOOL_WORKER_NAME = message.name;
    process.env.PROCPOOL_PARENT_PID = String(ownerPid);
    modules.setTsLoader(message.tsLoader);
    for (const specifier of message.preload) await modules.load(specifier);
    if (message.initializer) {
      const initializer = await modules.resolve(message.initializer);
      await initializer(...(message.initargs ?? []));
    }
  } catch (error) {
    writeAllSync(RESULTS_FD, [encodeFrame(FromWorker.InitFailed, serialize(encodeError(error)))]);
    process.exit(1);
  }
  writeAllSync(RESULTS_FD, [encodeFrame(FromWorker.Ready)]);
  runner.start();
}

function onFrame(type: number, buf: Buffer, start: number, end: number): void {
  switch (type) {
    case ToWorker.Tasks:
      writeAllSync(RESULTS_FD, [RECEIVED]);
      runner.enqueue(buf, start, end);
      return;
    case ToWorker.Define:
      runner.define(buf.readUInt32LE(start), deserialize(buf.subarray(start + 4, end)) as TaskRefData);
      return;
    case ToWorker.Init:
      void initialize(deserialize(buf.subarray(start, end)) as InitMessage);
      return;
    case ToWorker.Preload: {
      const loading = (deserialize(buf.subarray(start, end)) as string[]).map((specifier) => {
        try {
          return Promise.resolve(modules.load(specifier)).catch(() => {});
        } catch {
          // Reported when a task uses the module; loading ahead is only an optimization.
          return undefined;
        }
      });
      void Promise.all(loading).then(() => writeAllSync(RESULTS_FD, [PRELOADED]));
      return;
    }
    case ToWorker.Stop:
      stopping = true;
      runner.stopWhenIdle(() => process.exit(0));
      return;
    default:
      process.stderr.write(`procpool worker: unknown frame type ${type}; exiting\n`);
      exitWithGroup();
  }
}

const reader = new FrameReader();
const input = new Socket({ fd: TASKS_FD, readable: true, writable: false });
input.on('data', (chunk: Buffer) => reader.push(chunk, onFrame));
// The channel closing without a Stop means the parent is gone: nobody will read our results.
input.on('close', () => {
  if (!stopping) exitWithGroup();
});
input.on('error', () => {
  if (!stopping) exitWithGroup();
});

const watchdog = new Worker(join(__dirname, 'watchdog.js'), {
  workerData: { ownerPid, intervalMs: WATCHDOG_INTERVAL_MS },
  env: SHARE_ENV,
  stdout: false,
  stderr: false,
});
watchdog.unref();

writeAllSync(RESULTS_FD, [encodeFrame(FromWorker.Booted)]);
