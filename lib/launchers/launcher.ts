import { StartFailure, type WorkerChannel } from '../channel/worker-channel';
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

/** A worker on its way: started (or being handed over) and initializing. */
export interface Launch {
  /**
   * The worker's pid: known at once for `'spawn'` and `'fork'` (a spawned or handed-over
   * process); for `'forkserver'`, `undefined` until the template has answered.
   */
  readonly pid: number | undefined;
  /** Resolves with the worker's channel once it is ready; rejects with a {@link StartFailure}. */
  readonly ready: Promise<WorkerChannel>;
  /**
   * Gives up on the start: the process is sent `signal` (default SIGKILL), and `ready` rejects
   * (unless it already resolved).
   */
  cancel(signal?: NodeJS.Signals): void;
}

/**
 * One start method (CPython's Popen classes): a factory of ready worker channels. A launcher owns
 * whatever it keeps between launches (spare processes, a template process) and releases it in
 * `close()`.
 */
export interface Launcher {
  readonly method: StartMethod;
  /** Starts (or hands over) one worker process, initialized as requested. */
  launch(request: LaunchRequest): Launch;
  /** A task module the pool has started using: warm processes load it ahead of need. */
  learnModule(module: string): void;
  /** The pool's workers are up: a good moment to warm spares without slowing its start. */
  poolReady(): void;
  /** Initialized spare workers ready for a hand-over (always 0 for methods that keep none). */
  readySpares(): number;
  /** Releases what the launcher keeps between launches. Workers already launched are not affected. */
  close(): Promise<void>;
}

/**
 * Initializes `channel` with `init` (the request's, unless the launcher adds to it) and wraps it
 * as a {@link Launch}.
 */
export function initializeLaunch(channel: WorkerChannel, request: LaunchRequest, init = request.init): Launch {
  let cancelled = false;
  // Someone waits for this start (a pool, a Process): it keeps the application alive until then,
  // even if it came from an idle reserve.
  channel.ref();
  const ready = channel.initialize({ ...init, name: channel.name }).then(
    () => (cancelled ? channel.ended.then((end) => Promise.reject(new StartFailure(end as never, true))) : channel),
    (error: unknown) => Promise.reject(cancelled && error instanceof StartFailure ? new StartFailure(error.end, true) : error),
  );
  return {
    pid: channel.pid || undefined,
    ready,
    cancel(signal = 'SIGKILL') {
      cancelled = true;
      channel.kill(signal);
    },
  };
}

/** A launch of a channel that is ready already (a spare handed over). */
export function readyLaunch(channel: WorkerChannel): Launch {
  return { pid: channel.pid, ready: Promise.resolve(channel), cancel: (signal = 'SIGKILL') => channel.kill(signal) };
}
