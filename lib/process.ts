import { constants } from 'node:os';
import { InvalidStateError } from './errors';
import { createLauncher } from './launchers';
import type { StartMethod, WorkerProcess } from './launchers/launcher';
import { resolvePoolOptions } from './options';
import { PoolTask, kSettle, type TaskOwner } from './pool/task';
import { PoolWorker, type WorkerExit, type WorkerListener } from './pool/worker';
import { resolveTask, type Task, type TaskFunction } from './tasks/task-ref';
import { encodeArgs } from './transport/payload';
import { TaskKind, type TaskRefData } from './transport/protocol';
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
 * code of `process.exit(code)`, or minus the signal number when a signal ended it.
 *
 * @example
 * const p = new Process({ target: work, args: [1, 2] });
 * await p.start();
 * await p.join(5000);
 * p.exitCode; // 0
 */
export class Process<F extends TaskFunction = TaskFunction> {
  /** The process's name. */
  readonly name: string;
  readonly #options: ProcessOptions<F>;
  #worker: PoolWorker | undefined;
  #child: WorkerProcess | undefined;
  #state: 'initial' | 'starting' | 'running' | 'exited' = 'initial';
  /** What start() returned: join() waits for it, so `p.start(); await p.join()` works as in Python. */
  #starting: Promise<void> | undefined;
  #exitCode: number | null = null;
  #taskFailed = false;
  readonly #exited: Promise<void>;
  #markExited!: () => void;

  constructor(options: ProcessOptions<F>) {
    this.#options = options;
    this.name = options.name ?? `Process-${++processCount}`;
    this.#exited = new Promise((resolve) => (this.#markExited = resolve));
  }

  /** Process id once started. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** `null` until the process has exited; then its exit code (negative: the signal number). */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** Whether the process has started and not yet exited. */
  isAlive(): boolean {
    return this.#state === 'starting' || this.#state === 'running';
  }

  /**
   * Starts the process. Resolves once it runs (`pid` is known). Rejects if the target cannot be
   * referenced or its arguments cannot be serialized, as Python's `start()` raises; `join()` then
   * rejects with the same error, so `p.start(); await p.join()` reports it too.
   * @throws {InvalidStateError} if called twice.
   */
  start(): Promise<void> {
    if (this.#starting) return Promise.reject(new InvalidStateError(`Process ${this.name} was already started; a process can be started only once.`));
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    this.#state = 'starting';
    try {
      const ref = await resolveTask(this.#options.target);
      const args: unknown[] = this.#options.args ?? [];
      const payload = encodeArgs(args);
      const resolved = resolvePoolOptions({
        startMethod: this.#options.startMethod,
        env: this.#options.env,
        execArgv: this.#options.execArgv,
        cwd: this.#options.cwd,
        processes: 1,
      });
      const launcher = createLauncher(resolved.startMethod, { ...resolved, spares: 0 });
      const child = await launcher.launch({
        options: resolved.launch,
        init: { preload: [], tsLoader: resolved.tsLoader },
        namePrefix: 'Process',
      });
      this.#child = child;
      active.add(this);
      this.#state = 'running';
      this.#worker = new PoolWorker(child, this.#listener(ref, payload));
      this.#worker.child.ref();
    } catch (error) {
      this.#state = 'initial';
      throw error;
    }
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
    this.#child?.kill('SIGTERM');
  }

  /** SIGKILL to the process (and what it started). */
  kill(): void {
    this.#child?.kill('SIGKILL');
  }

  #listener(ref: TaskRefData, payload: Buffer): WorkerListener {
    const owner: TaskOwner = {
      [kSettle]: (_task: PoolTask, ok: boolean, value: unknown) => {
        if (ok) return;
        this.#taskFailed = true;
        const stack = (value as { cause?: { remoteStack?: string } } | null)?.cause?.remoteStack ?? String(value);
        process.stderr.write(`Process ${this.name}:\n${stack}\n`);
      },
    };
    return {
      workerReady: (worker) => {
        const task = new PoolTask(1, 0, TaskKind.Call, undefined, owner, 0);
        task.payload = payload;
        worker.send([task], () => ref);
        worker.stop('closed');
      },
      taskDone: (_worker, task, ok, value) => task.settle(ok, value),
      taskOverdue: () => {},
      workerOverMemory: () => {},
      workerExited: (_worker, exit: WorkerExit) => {
        if (exit.initError !== undefined) process.stderr.write(`Process ${this.name} failed to start: ${String((exit.initError as Error)?.message)}\n`);
        const signal = exit.signal ? -(constants.signals[exit.signal] ?? 0) : null;
        this.#exitCode = signal ?? (exit.exitCode === 0 && (this.#taskFailed || exit.initError !== undefined) ? 1 : exit.exitCode ?? 1);
        this.#state = 'exited';
        active.delete(this);
        this.#markExited();
      },
    };
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
