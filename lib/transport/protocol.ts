/**
 * Every message that crosses between the pool and a worker, in one place: the frame types and the
 * data they carry. How each body is laid out is written once, in `codecs.ts` and `task-batch.ts`,
 * which both sides use.
 *
 * The pool writes to the worker's fd 3 and reads the worker's fd 4; each message is one frame
 * (see `frames.ts`): a type byte and a body. Task and result bodies carry a binary header (ids as
 * uint32) followed by the payload (`payload.ts`), so the hot path never builds a message object.
 */

/** Frame types, parent → worker. */
export const ToWorker = {
  /** Body: v8(InitMessage). Sent once; the worker answers Ready or InitFailed. */
  Init: 1,
  /** Body: u32 function id, v8(TaskRefData). Teaches the worker a function before a task uses it. */
  Define: 2,
  /**
   * Body: one or more [u32 task id, u32 function id, u8 TaskKind | TaskFlags, u32 length,
   * u8 padding, padding bytes, payload]; each payload starts 8-byte aligned within the frame.
   */
  Tasks: 3,
  /** Empty body: finish the tasks already received, then exit. */
  Stop: 4,
  /** Body: v8(string[]). Load these task modules now, ahead of need (pre-warmed workers). */
  Preload: 5,
  /**
   * Body: u32 task id, u8 AbortReason, u32 soft timeout in ms (words the reason of a soft timeout).
   * Abort that task: if it runs, its `taskSignal()` is aborted; if it waits in the worker's queue,
   * it is answered with an abort error instead of running.
   */
  Abort: 6,
  /**
   * Body: utf8 name of a shared memory segment, a ring of u32 slots (`shared/release-ring.ts`).
   * The worker writes there the ids of captured regions it lets go of, where the application can
   * read them at once (a frame waits for the application's event loop); RegionsReleased is the
   * fallback when the ring is full.
   */
  ReleaseRing: 7,
  /**
   * Empty body. The application ran out of free captured regions while this worker holds some:
   * collect garbage now, so that the views of finished tasks are found and their regions released.
   */
  Collect: 8,
  /**
   * Body: u32 count, then u32 region ids. The application copied these regions of the worker's
   * results (large typed arrays it captured into its own shared memory) out: reuse them.
   */
  RegionsReleased: 9,
  /**
   * Body: u32 task id, then v8(context). Sent just before the Tasks frame that carries the task:
   * the value `taskContext()` returns while it runs.
   */
  TaskContext: 10,
} as const;

/** Frame types, worker → parent. */
export const FromWorker = {
  /** Empty body: the process has booted and waits for Init. */
  Booted: 9,
  /** Empty body: initialization done, tasks welcome. */
  Ready: 10,
  /** Body: v8(EncodedError). The initializer or a preload failed; the worker exits next. */
  InitFailed: 11,
  /** Body: u32 task id, v8(result). */
  Result: 12,
  /** Body: u32 task id, v8(EncodedError). */
  Error: 13,
  /**
   * Empty body: one Tasks frame has reached the worker (acknowledged in order, one per frame).
   * A worker that dies before acknowledging never saw those tasks; they are run elsewhere.
   */
  Received: 14,
  /** Empty body: the modules of a Preload frame are loaded (or failed to, reported at first use). */
  Preloaded: 15,
  /** Body: u32 task id. A task flagged `Timed` starts now (its timeouts run from here). */
  Started: 16,
  /** Body: u32 resident set size in MiB. Over `maxMemoryPerChild`: retire me after my tasks. */
  OverMemory: 17,
  /**
   * Body: i32 exit code. Written from the worker's 'exit' handler, so the parent learns the code of
   * an exit that ran it (a return, `process.exit(n)`, an uncaught exception) even when it cannot
   * wait for the process itself (a forkserver worker whose template is gone). A death by signal
   * writes nothing.
   */
  Exiting: 18,
  /**
   * Body: utf8 name. The worker created a shared memory segment: the application tracks it, so it is
   * unlinked if the application ends without unlinking it (only the creator's side tracks).
   */
  SegmentCreated: 19,
  /** Body: utf8 name. The worker unlinked a segment: nothing is left to clean up. */
  SegmentUnlinked: 20,
  /**
   * Body: u32 count, then u32 region ids. The worker let go of its views of these captured regions
   * (large arguments in shared memory): the application may reuse their memory.
   */
  RegionsReleased: 21,
  /**
   * Body: u32 task id, u32 items of its chunk done, u8 1 if a value follows, then v8(value). What
   * the running task reported (`reportProgress`, a chunk's items), coalesced in the worker to at
   * most one frame per `PROGRESS_INTERVAL_MS` per task; always before the task's answer.
   */
  Progress: 22,
} as const;

/** Most often a running task reports progress, in ms: later values in between replace earlier ones. */
export const PROGRESS_INTERVAL_MS = 50;

/** Bits above the TaskKind in a task's kind byte. */
export const TaskFlags = {
  /** Report `Started` when the task starts (it has a timeout). */
  Timed: 1 << 4,
  /** Give the task an AbortSignal (`taskSignal()`) that an Abort frame can abort. */
  Abortable: 1 << 5,
  /** A map chunk: report its items' completion in Progress frames (someone follows the map's progress). */
  Counted: 1 << 6,
} as const;

/** The low bits of a kind byte: the TaskKind. */
export const KIND_MASK = 0x0f;

/** Why a task is aborted. */
export const AbortReason = {
  /** The caller's AbortSignal fired. */
  Cancelled: 0,
  /** Its `softTimeout` passed. */
  SoftTimeout: 1,
} as const;

/** How a task's payload becomes calls of its function. */
export const TaskKind = {
  /** Payload: an argument list; one call. */
  Call: 0,
  /** Payload: a list of items; one call per item, `fn(item)`; the result is the list of results. */
  Map: 1,
  /** Payload: a list of argument lists; one call per list, `fn(...args)`. */
  Starmap: 2,
} as const;

/** One of {@link TaskKind}'s values. */
export type TaskKindValue = (typeof TaskKind)[keyof typeof TaskKind];

/** Where a task function lives: an absolute module path (or bare specifier / URL) and an export name. */
export interface TaskRefData {
  readonly module: string;
  readonly name: string;
}

/** Body of the Init frame. */
export interface InitMessage {
  /** The worker's name, e.g. `PoolWorker-3`. */
  readonly name: string;
  /** Modules to load before the worker reports ready. */
  readonly preload: readonly string[];
  /** Function run once before the first task. */
  readonly initializer?: TaskRefData;
  /**
   * Arguments for the initializer, encoded as a task's arguments are (`payload.ts`), so shared
   * memory and large arrays travel as they do for tasks.
   */
  readonly initargs?: Uint8Array;
  /** A CommonJS hook (e.g. ts-node's register) to load before the first TypeScript module. */
  readonly tsLoader?: string;
  /** Resident set size (MiB) above which the worker asks to be retired after a task. */
  readonly maxMemoryMb?: number;
}

/** An Init message before a launcher names the worker. */
export type WorkerInit = Omit<InitMessage, 'name'>;

/** How the forkserver's workers start warm. */
export type WarmStart = 'snapshot' | 'code-cache';

/** Messages to the forkserver template (over its IPC channel). */
export type ToTemplate =
  | { readonly type: 'configure'; readonly preload: readonly string[]; readonly execArgv: readonly string[]; readonly tsLoader?: string }
  | { readonly type: 'learn'; readonly modules: readonly string[] }
  | {
      readonly type: 'spawn';
      readonly id: number;
      readonly env: NodeJS.ProcessEnv;
      readonly execArgv: readonly string[];
      readonly cwd: string;
      readonly owner: number;
    };

/** Messages from the forkserver template. A `spawned` message carries one stream handle. */
export type FromTemplate =
  | { readonly type: 'configured'; readonly warmStart: WarmStart; readonly reason?: string; readonly preload: readonly string[] }
  | { readonly type: 'spawned'; readonly id: number; readonly pid: number; readonly stream: 'input' | 'output' | 'stderr' }
  | { readonly type: 'spawn-failed'; readonly id: number; readonly message: string }
  | { readonly type: 'exit'; readonly pid: number; readonly code: number | null; readonly signal: NodeJS.Signals | null };
