import type { Readable, Writable } from 'node:stream';
import type { WorkerInit } from '../transport/protocol';

/** The ways procpool can start a worker process (Python's start methods). */
export type StartMethod = 'spawn' | 'fork' | 'forkserver';

/** The environment a worker process runs in. The pool resolves every default first. */
export interface LaunchOptions {
  /** Environment of the worker process. */
  readonly env: NodeJS.ProcessEnv;
  /** Node options placed before the worker's entry script. */
  readonly execArgv: readonly string[];
  /** Working directory of the worker process. */
  readonly cwd: string;
}

/** One request for a worker: where it runs and how it is initialized. */
export interface LaunchRequest {
  readonly options: LaunchOptions;
  readonly init: WorkerInit;
  /** Name prefix; the launcher appends a process-wide counter (`PoolWorker-3`). */
  readonly namePrefix: string;
}

/** How a worker process ended. */
export interface ExitStatus {
  /** Exit code, or `null` when a signal ended the process (or the status could not be known). */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. `ENOENT`, `EAGAIN`). */
  readonly error?: Error;
}

/**
 * A started worker OS process as the pool sees it, whatever started it. The pool speaks the
 * protocol over `input`/`output`; everything about how the process came to be stays in the launcher.
 */
export interface WorkerProcess {
  /** OS process id (0 if the process could not be started). */
  readonly pid: number;
  /** The worker's name, as `currentProcess().name` reports it inside the worker. */
  readonly name: string;
  /** When the OS process was started (`Date.now()` in the parent). */
  readonly startedAt: number;
  /**
   * True when the launcher already initialized the worker and consumed its Ready frame (a
   * pre-warmed spare): it takes tasks at once.
   */
  readonly initialized: boolean;
  /** Parent → worker byte stream (the worker's fd 3). */
  readonly input: Writable;
  /** Worker → parent byte stream (the worker's fd 4). */
  readonly output: Readable;
  /**
   * Settles once the process is gone and its process group has been killed, so no process the
   * worker's tasks started survives it. Never rejects.
   */
  readonly exited: Promise<ExitStatus>;
  /** The last lines the process wrote to stderr (which is also forwarded to the parent's stderr). */
  stderrTail(): string[];
  /** Sends `signal` to the worker's whole process group (the worker and anything it started). */
  kill(signal: NodeJS.Signals): void;
  /** Lets this process keep the parent's event loop alive (while the pool has work)... */
  ref(): void;
  /** ...or not (an idle pool must not stop a script from exiting). */
  unref(): void;
}

/**
 * One start method (CPython's Popen classes). A launcher owns whatever it keeps between launches
 * (spare processes, a template process) and releases it in `close()`.
 */
export interface Launcher {
  readonly method: StartMethod;
  /** Starts (or hands over) one worker process, initialized as requested. */
  launch(request: LaunchRequest): Promise<WorkerProcess>;
  /** A task module the pool has started using: warm processes load it ahead of need. */
  learnModule(module: string): void;
  /** The pool's workers are up: a good moment to warm spares without slowing its start. */
  poolReady(): void;
  /** Initialized spare workers ready for a hand-over (always 0 for methods that keep none). */
  readySpares(): number;
  /** Releases what the launcher keeps between launches. Workers already launched are not affected. */
  close(): Promise<void>;
}
