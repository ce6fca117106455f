import { constants } from 'node:os';
import { StartFailure, type ChannelEnd, type ChannelListener, type WorkerChannel } from './channel/worker-channel';
import { InvalidStateError, SerializationError, type UnknownExitReason } from './errors';
import { createLauncher } from './launchers';
import type { Launch, Launcher, LaunchRequest, StartMethod } from './launchers/launcher';
import { resolvePoolOptions } from './options';
import { resolveTask, type Task, type TaskFunction } from './tasks/task-ref';
import { encodeArgs } from './transport/payload';
import { releasePayload } from './transport/shared-refs';
import { TaskKind, type TaskRefData } from './transport/protocol';
import type { WireTask } from './transport/task-batch';
import { checkTimeout } from './validate';

/** Options of `new Process(...)` (Python's `Process(target=, args=, name=)`). */
export interface ProcessOptions<F extends TaskFunction = TaskFunction> {
  /** The exported function to run in the new process (or a `taskRef`). */
  target: Task<F>;
  /** Arguments for `target`. @default [] */
  args?: Parameters<F>;
  /** The process's name, as `currentProcess().name` reports it. @default 'Process-N' */
  name?: string;
  /** How the process is started. @default getStartMethod() */
  startMethod?: StartMethod;
  /** Environment. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Node options. @default the parent's, as for a Pool */
  execArgv?: string[];
  /** Working directory. @default process.cwd() */
  cwd?: string;
}

/** What `currentProcess()` and `parentProcess()` describe. */
export interface ProcessInfo {
  readonly name: string;
  readonly pid: number;
}

const active = new Set<Process>();
let processCount = 0;

/**
 * One task function run in its own OS process (Python's `multiprocessing.Process`). The exit code
 * follows Python: 0 when `target` returned, 1 when it threw (its stack is printed to stderr), the
 * code of `process.exit(code)`, or minus the signal number when a signal ended it. When the exit
 * status could not be observed (a forkserver process whose template was killed, ended by a
 * signal), `exitCode` stays `null` once it is gone, and `exitStatusUnknown` says why.
 *
 * @example
 * const p = new Process({ target: work, args: [1, 2] });
 * p.start();   // p.pid is set now ('spawn', 'fork'); a promise for when it runs
 * await p.join(5000);
 * p.exitCode;  // 0
 */
export class Process<F extends TaskFunction = TaskFunction> {
  /** The process's name. */
  readonly name: string;
  readonly #options: ProcessOptions<F>;
  #launch: Launch | undefined;
  #channel: WorkerChannel | undefined;
  #state: 'initial' | 'starting' | 'running' | 'exited' = 'initial';
  /** What start() returned: join() waits for it, so `p.start(); await p.join()` works as in Python. */
  #starting: Promise<void> | undefined;
  #exitCode: number | null = null;
  #statusUnknown: UnknownExitReason | undefined;
  #targetFailed = false;
  readonly #exited: Promise<void>;
  #markExited!: () => void;

  constructor(options: ProcessOptions<F>) {
    this.#options = options;
    this.name = options.name ?? `Process-${++processCount}`;
    this.#exited = new Promise((resolve) => (this.#markExited = resolve));
  }

  /**
   * Process id once started. Set when `start()` returns for `'spawn'` and `'fork'` (unless the
   * target is an ES module function whose module is still registering); for `'forkserver'`, once
   * `start()`'s promise resolves (the template starts the process and answers asynchronously).
   */
  get pid(): number | undefined {
    return this.#channel?.pid ?? this.#launch?.pid;
  }

  /** `null` until the process has exited; then its exit code (negative: the signal number). */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** Why `exitCode` is `null` although the process is gone, if it is (see `WorkerExitInfo.statusUnknown`). */
  get exitStatusUnknown(): UnknownExitReason | undefined {
    return this.#statusUnknown;
  }

  /** Whether the process has started and not yet exited. */
  isAlive(): boolean {
    return this.#state === 'starting' || this.#state === 'running';
  }

  /**
   * Starts the process; `pid` is set when it returns (see `pid`). Resolves once the process runs
   * its target. Rejects if the target cannot be referenced or its arguments cannot be serialized,
   * as Python's `start()` raises; `join()` then rejects with the same error, so
   * `p.start(); await p.join()` reports it too. The arguments are captured here: changing them
   * afterwards does not change what the target receives.
   * @throws {InvalidStateError} if called twice.
   */
  start(): Promise<void> {
    if (this.#starting) return Promise.reject(new InvalidStateError(`Process ${this.name} was already started; a process can be started only once.`));
    this.#state = 'starting';
    try {
      const ref = resolveTask(this.#options.target);
      const payload = this.#encode();
      const resolved = resolvePoolOptions({
        startMethod: this.#options.startMethod,
        env: this.#options.env,
        execArgv: this.#options.execArgv,
        cwd: this.#options.cwd,
        processes: 1,
      });
      const launcher = createLauncher(resolved.startMethod, { ...resolved, spares: 0 });
      const request: LaunchRequest = { options: resolved.launch, init: { preload: [], tsLoader: resolved.tsLoader }, namePrefix: 'Process' };
      // A function of a CommonJS module is known at once: the process starts now, and has a pid.
      if (!(ref instanceof Promise)) this.#launch = launcher.launch(request);
      active.add(this);
      this.#starting = this.#run(ref, payload, launcher, request);
    } catch (error) {
      this.#state = 'initial';
      this.#starting = Promise.reject(error);
    }
    return this.#starting;
  }

  /**
   * Waits until the process exits, or `timeout` ms pass (then check `exitCode`). Rejects only if
   * it was never started: before `start()`, or with the error that made `start()` fail.
   */
  async join(timeout?: number): Promise<void> {
    checkTimeout(timeout, 'timeout');
    if (!this.#starting) throw new InvalidStateError(`Process ${this.name} cannot be joined before start().`);
    const finished = this.#starting.then(() => this.#exited);
    if (timeout === undefined) return finished;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([finished, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeout)))]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM to the process (and what it started). */
  terminate(): void {
    this.#signal('SIGTERM');
  }

  /** SIGKILL to the process (and what it started). */
  kill(): void {
    this.#signal('SIGKILL');
  }

  #signal(signal: NodeJS.Signals): void {
    if (this.#channel) this.#channel.kill(signal);
    else this.#launch?.cancel(signal);
  }

  #encode(): Buffer {
    try {
      return encodeArgs(this.#options.args ?? [], undefined, true);
    } catch (error) {
      throw new SerializationError(`The arguments of process ${this.name} cannot be serialized: ${(error as Error).message}`, 'arguments', { cause: error });
    }
  }

  async #run(target: TaskRefData | Promise<TaskRefData>, payload: Buffer, launcher: Launcher, request: LaunchRequest): Promise<void> {
    let ref: TaskRefData;
    try {
      ref = await target;
      this.#launch ??= launcher.launch(request);
      this.#channel = await this.#launch.ready;
    } catch (error) {
      if (error instanceof StartFailure && error.end.exit.pid) {
        releasePayload(payload);
        // It started, then was killed (terminate(), kill()) or died before it could run the target.
        if (!error.cancelled) process.stderr.write(`Process ${this.name} failed to start: ${String((error.end.initError as Error)?.message ?? 'it exited')}\n`);
        this.#exit(error.end);
        return;
      }
      releasePayload(payload);
      active.delete(this);
      this.#state = 'initial';
      throw error instanceof StartFailure ? (error.end.spawnError ?? error) : error;
    }
    const channel = this.#channel;
    this.#state = 'running';
    // Like Python's non-daemon processes, it keeps the application alive until it exits.
    channel.ref();
    void channel.ended.then((end) => this.#exit(end));
    const task: WireTask = { id: 1, fnId: 0, wire: TaskKind.Call, payload };
    channel.attach(this.#listener());
    channel.send([task], () => ref);
    // The channel holds what the arguments captured in shared memory for as long as the process does.
    releasePayload(payload);
    channel.stop();
  }

  #listener(): ChannelListener<WireTask> {
    return {
      received: () => {},
      started: () => {},
      overMemory: () => {},
      // A Process target has no caller to report to.
      progress: () => {},
      answered: (_task, ok, value) => {
        if (ok) return;
        this.#targetFailed = true;
        const stack = (value as { cause?: { remoteStack?: string } } | null)?.cause?.remoteStack ?? String(value);
        process.stderr.write(`Process ${this.name}:\n${stack}\n`);
      },
    };
  }

  #exit(end: ChannelEnd<unknown>): void {
    const { exitCode, signal, statusUnknown } = end.exit;
    if (signal) this.#exitCode = -(constants.signals[signal] ?? 0);
    else if (exitCode === 0 && (this.#targetFailed || end.initError !== undefined)) this.#exitCode = 1;
    else this.#exitCode = exitCode;
    this.#statusUnknown = statusUnknown;
    this.#state = 'exited';
    active.delete(this);
    this.#markExited();
  }
}

/** Python's `current_process()`: `MainProcess` in the application, the worker's name in a worker. */
export function currentProcess(): ProcessInfo {
  return { name: process.env.PROCPOOL_WORKER_NAME ?? 'MainProcess', pid: process.pid };
}

/** Python's `parent_process()`: the application, seen from a worker; `null` in the application. */
export function parentProcess(): ProcessInfo | null {
  const owner = Number(process.env.PROCPOOL_PARENT_PID);
  return process.env.PROCPOOL_WORKER_NAME && owner ? { name: 'MainProcess', pid: owner } : null;
}

/** Python's `active_children()`: the `Process` objects started here that are still alive. */
export function activeChildren(): Process[] {
  return [...active].filter((p) => p.isAlive());
}
