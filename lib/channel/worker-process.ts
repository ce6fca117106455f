import type { Readable, Writable } from 'node:stream';
import type { UnknownExitReason } from '../errors';

/** How a worker process ended. */
export interface ExitStatus {
  /** Exit code, or `null` when a signal ended the process or the status is unknown. */
  readonly exitCode: number | null;
  /** The signal that ended it, or `null`. */
  readonly signal: NodeJS.Signals | null;
  /** Set when neither could be observed (then both are null). */
  readonly statusUnknown?: UnknownExitReason;
  /** Set when the process could not be started at all (e.g. `ENOENT`, `EAGAIN`). */
  readonly error?: Error;
}

/**
 * A started worker OS process, whatever started it: what a launcher (a process factory) hands to
 * a {@link WorkerChannel}, which speaks the protocol over `input` and `output`.
 */
export interface WorkerProcess {
  /** OS process id (0 if the process could not be started). */
  readonly pid: number;
  /** The worker's name, as `currentProcess().name` reports it inside the worker. */
  readonly name: string;
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
  /** Lets this process keep the parent's event loop alive (while its owner has work)... */
  ref(): void;
  /** ...or not (an idle pool must not stop a script from exiting). */
  unref(): void;
}
