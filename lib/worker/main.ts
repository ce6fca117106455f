/**
 * Entry point of every worker process. Reads frames from fd 3, runs tasks, writes each outcome to
 * fd 4 synchronously (see `writeAllSync`), and exits when told to stop or when the parent is gone.
 */
import { Socket } from 'node:net';
import { SerializationError } from '../errors';
import {
  AbortCodec,
  AnswerCodec,
  BOOTED_FRAME,
  DefineCodec,
  ExitingCodec,
  InitCodec,
  InitFailedCodec,
  OverMemoryCodec,
  PRELOADED_FRAME,
  PreloadCodec,
  ProgressCodec,
  READY_FRAME,
  RECEIVED_FRAME,
  RegionsCodec,
  ReleaseRingCodec,
  SegmentCodec,
  StartedCodec,
  TaskContextCodec,
} from '../transport/codecs';
import { FrameReader } from '../transport/frames';
import { readAllSync } from '../transport/read-sync';
import { decode, encodeValue } from '../transport/payload';
import { FromWorker, ToWorker, type InitMessage } from '../transport/protocol';
import { readTaskBatch } from '../transport/task-batch';
import { writeAllSync } from '../transport/write-sync';
import { setWorkerRole } from '../shared/role';
import { afterAnswer, collectNow, installLazySharedMemory, releaseResultRegions, useReleaseRing, workerIdle } from './shared-access';
import { CodeCache } from './code-cache';
import { TaskModules } from './modules';
import { TaskRunner, type ResultSink } from './runner';

const TASKS_FD = 3;
const RESULTS_FD = 4;

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
// Segments this worker creates are tracked by the application (which outlives the worker), and the
// regions of large arguments it lets go of are reported to it. Shared memory itself loads when a
// task first needs it.
setWorkerRole({
  tracker: {
    track: (name, scope) => writeAllSync(RESULTS_FD, [SegmentCodec.created(name, scope === 'process')]),
    untrack: (name) => writeAllSync(RESULTS_FD, [SegmentCodec.unlinked(name)]),
  },
  releaseRegions: (ids) => writeAllSync(RESULTS_FD, [RegionsCodec.encode(ids)]),
});
installLazySharedMemory();
let stopping = false;

let maxMemoryBytes = 0;
let overMemoryReported = false;

/** Reused for every answer: the write below is synchronous, so the header is free again after it. */
const header = Buffer.alloc(AnswerCodec.headerSize);

function send(type: typeof FromWorker.Result | typeof FromWorker.Error, taskId: number, payload: Buffer): void {
  AnswerCodec.writeHeader(header, type, taskId, payload.length);
  // The retirement request goes before the answer, so the pool stops sending work to this worker
  // before the task's caller can submit more.
  const overMemory = maxMemoryBytes && !overMemoryReported ? overMemoryFrame() : undefined;
  writeAllSync(RESULTS_FD, overMemory ? [overMemory, header, payload] : [header, payload]);
  // Views of large arguments in shared memory are released when collected: collect when they add up.
  afterAnswer();
}

/** maxMemoryPerChild: after a task, a worker over the limit asks to be retired (once). */
function overMemoryFrame(): Buffer | undefined {
  const rss = process.memoryUsage.rss();
  if (rss <= maxMemoryBytes) return undefined;
  overMemoryReported = true;
  return OverMemoryCodec.encode(Math.min(0xffffffff, Math.round(rss / 1048576)));
}

const sink: ResultSink = {
  result(taskId, value, ref) {
    let payload: Buffer;
    try {
      // Large typed arrays go back through this worker's shared memory, which the application copies out of.
      payload = encodeValue(value, true);
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
    send(FromWorker.Error, taskId, AnswerCodec.error.encodeBody(error));
  },
  started(taskId) {
    writeAllSync(RESULTS_FD, [StartedCodec.encode(taskId)]);
  },
  idle: workerIdle,
  progress(taskId, completed, hasValue, value) {
    let frame: Buffer;
    try {
      frame = ProgressCodec.encode(taskId, completed, hasValue, value);
    } catch (error) {
      throw new SerializationError(`A progress value cannot be serialized: ${(error as Error).message}`, 'result', { cause: error });
    }
    writeAllSync(RESULTS_FD, [frame]);
  },
};

const runner = new TaskRunner(modules, sink);

/**
 * Ends this worker and everything its tasks started (it leads its own process group). A worker
 * stuck in a synchronous loop never gets here; the application's reaper process covers that case.
 */
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
    maxMemoryBytes = (message.maxMemoryMb ?? 0) * 1048576;
    modules.setTsLoader(message.tsLoader);
    for (const specifier of message.preload) await modules.load(specifier);
    if (message.initializer) {
      const initializer = await modules.resolve(message.initializer);
      const args = message.initargs;
      await initializer(...(args ? (decode(Buffer.from(args.buffer, args.byteOffset, args.byteLength), 0, args.byteLength) as unknown[]) : []));
    }
  } catch (error) {
    writeAllSync(RESULTS_FD, [InitFailedCodec.encode(error)]);
    process.exit(1);
  }
  writeAllSync(RESULTS_FD, [READY_FRAME]);
  runner.start();
}

function onFrame(type: number, buf: Buffer, start: number, end: number): void {
  switch (type) {
    case ToWorker.Tasks:
      writeAllSync(RESULTS_FD, [RECEIVED_FRAME]);
      readTaskBatch(buf, start, end, runner.enqueue);
      runner.pump();
      return;
    case ToWorker.Define: {
      const { fnId, ref } = DefineCodec.decode(buf, start, end);
      runner.define(fnId, ref);
      return;
    }
    case ToWorker.Init:
      void initialize(InitCodec.decode(buf, start, end));
      return;
    case ToWorker.Preload: {
      const loading = PreloadCodec.decode(buf, start, end).map((specifier) => {
        try {
          return Promise.resolve(modules.load(specifier)).catch(() => {});
        } catch {
          // Reported when a task uses the module; loading ahead is only an optimization.
          return undefined;
        }
      });
      void Promise.all(loading).then(() => writeAllSync(RESULTS_FD, [PRELOADED_FRAME]));
      return;
    }
    case ToWorker.TaskContext: {
      const { taskId, context } = TaskContextCodec.decode(buf, start, end);
      runner.setContext(taskId, context);
      return;
    }
    case ToWorker.Abort:
      runner.abort(AbortCodec.decode(buf, start));
      return;
    case ToWorker.ReleaseRing:
      useReleaseRing(ReleaseRingCodec.decode(buf, start, end));
      return;
    case ToWorker.Collect:
      collectNow();
      return;
    case ToWorker.RegionsReleased:
      releaseResultRegions(RegionsCodec.decode(buf, start));
      return;
    case ToWorker.Stop:
      stopping = true;
      runner.stopWhenIdle(() => process.exit(0));
      return;
    default:
      process.stderr.write(`procpool worker: unknown frame type ${type}; exiting\n`);
      exitWithGroup();
  }
}

const reader = new FrameReader((target, offset, length) => readAllSync(TASKS_FD, target, offset, length));
const input = new Socket({ fd: TASKS_FD, readable: true, writable: false });
input.on('data', (chunk: Buffer) => reader.push(chunk, onFrame));
// The channel closing without a Stop means the parent is gone: nobody will read our results.
input.on('close', () => {
  if (!stopping) exitWithGroup();
});
input.on('error', () => {
  if (!stopping) exitWithGroup();
});

// Tell the parent how this process ends, whenever it ends by running its exit handlers (a return,
// process.exit(n), an uncaught exception): the parent may be unable to wait for it (a forkserver
// worker whose template is gone). A write to a parent that is gone fails, and nobody needs it then.
process.on('exit', (code) => {
  try {
    writeAllSync(RESULTS_FD, [ExitingCodec.encode(code)]);
  } catch {
    // The parent is gone.
  }
});

writeAllSync(RESULTS_FD, [BOOTED_FRAME]);
