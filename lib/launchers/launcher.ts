import type { Readable, Writable } from 'node:stream';

/** The ways procpool can start a worker process (Python's start methods). */
export type StartMethod = 'spawn' | 'fork' | 'forkserver';

/** What a launcher needs to start one worker process. The pool resolves every default first. */
export interface LaunchOptions {
  /** Environment of the worker process. */
  readonly env: NodeJS.ProcessEnv;
  /** Node options placed before the worker's entry script. */
  readonly execArgv: readonly string[];
  /** Working directory of the worker process. */
  readonly cwd: string;
}

/** How a worker process ended. */
export interface ExitStatus {
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
 * One start method. A launcher owns whatever it keeps between launches (spare processes, a
 * template process) and releases it in `close()`.
 */
export interface Launcher {
  readonly method: StartMethod;
  /** Starts (or hands over) one worker process. Failures to start surface through `exited`. */
  launch(options: LaunchOptions): WorkerProcess;
  /** Releases what the launcher keeps between launches. Workers already launched are not affected. */
  close(): Promise<void>;
}
