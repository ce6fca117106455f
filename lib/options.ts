import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from './errors';
import type { LaunchOptions, StartMethod } from './launchers/launcher';
import { inheritExecArgv, inheritNodeOptions } from './launchers/exec-argv';
import { detectTsLoader } from './tasks/ts-loader';
import { resolveModuleSpecifier, type Task, type TaskFunction } from './tasks/task-ref';
import { checkArray, checkInteger, checkString, checkTimeout } from './validate';
import type { TaskPolicy } from './pool/task';
import { resolveMaxQueue, type MaxQueue } from './pool/backpressure';
import { checkStartMethod, getStartMethod } from './start-method';
import type { ClusterOptions } from './cluster/options';

/** Options of `new Pool(options)`. Every one is optional. */
export interface PoolOptions<I extends TaskFunction = TaskFunction> {
  /**
   * Number of worker processes.
   * @default os.availableParallelism()
   */
  processes?: number;
  /**
   * A task function run once in each worker before its first task (an exported function or a
   * `taskRef`), e.g. to open a database connection. If it throws, the worker does not take tasks;
   * after `maxStartFailures` failures in a row the pool stops starting workers and every pending
   * and future task rejects with a `WorkerStartError` naming the initializer's error.
   */
  initializer?: Task<I>;
  /** Arguments for `initializer`. @default [] */
  initargs?: Parameters<I>;
  /**
   * Modules each worker loads before it reports ready (paths, `file:` URLs or package names), so
   * that no task pays for loading them. Pre-warmed workers (`'fork'`, `'forkserver'`) have them
   * loaded before they are needed.
   * @default []
   */
  preload?: string[];
  /**
   * With `idleTimeout`: workers kept when the pool is idle.
   * @default processes
   */
  minProcesses?: number;
  /**
   * Ms a worker may stay idle (since it became ready, or since its last task) before it exits, as
   * long as more than `minProcesses` remain; the pool starts workers again (up to `processes`) when
   * work arrives.
   * @default undefined (workers never retire for idleness)
   */
  idleTimeout?: number;
  /**
   * A worker whose resident memory (RSS, MiB) exceeds this after a task finishes that task and
   * is then replaced (its result is delivered).
   * @default undefined (no limit)
   */
  maxMemoryPerChild?: number;
  /**
   * Default hard time limit (ms) of every task, counted from its start: the worker is killed
   * (SIGTERM, then SIGKILL after `killGracePeriod`) and replaced, the task rejects with
   * `TaskTimeoutError`. Each call can set its own.
   * @default undefined (none)
   */
  timeout?: number;
  /**
   * Default soft time limit (ms) of every task: its `taskSignal()` is aborted, so a cooperative task
   * can stop. Each call can set its own.
   * @default undefined (none)
   */
  softTimeout?: number;
  /**
   * Default number of times a task is run again when its worker dies under it. Set it only for
   * idempotent tasks; errors thrown by the task itself are never retried.
   * @default 0
   */
  retries?: number;
  /**
   * After a task's caller aborts it, ms the running task has to stop on its own before its
   * worker is killed.
   * @default 1000
   */
  abortGracePeriod?: number;
  /**
   * A worker exits after this many tasks and a fresh one replaces it (a `map` chunk counts as one
   * task, as in Python). Useful against leaks in task code.
   * @default undefined (workers live as long as the pool)
   */
  maxTasksPerChild?: number;
  /**
   * How workers are started: `'spawn'` (a fresh process each), `'fork'` (pre-warmed processes),
   * `'forkserver'` (started warm by a template process).
   * @default getStartMethod(), which is 'spawn' unless setStartMethod() chose another
   */
  startMethod?: StartMethod;
  /**
   * `'fork'` only: initialized spare workers kept ready, so that replacing a dead or recycled worker
   * is a hand-over instead of a boot. The first boots half a second after the pool is ready (not
   * during its first tasks), each later one shortly after a hand-over. They are killed when the
   * pool closes.
   * @default 1
   */
  spares?: number;
  /** Environment of the workers. @default process.env */
  env?: NodeJS.ProcessEnv;
  /**
   * Node options for the workers, e.g. `['--max-old-space-size=256']`.
   * @default the parent's `process.execArgv`, without inspector flags, `-e`/`-p` and TypeScript
   * `--require` hooks (workers load the TypeScript hook only when a `.ts` task module needs it)
   */
  execArgv?: string[];
  /** Working directory of the workers. @default process.cwd() */
  cwd?: string;
  /**
   * Starts that may fail in a row (initializer throws, process dies before it is ready) before the
   * pool stops starting workers instead of respawning forever.
   * @default 3
   */
  maxStartFailures?: number;
  /**
   * When a worker is killed (`terminate()`, a timeout, an abort), ms between SIGTERM and SIGKILL
   * to its process group.
   * @default 1000
   */
  killGracePeriod?: number;
  /**
   * Most tasks the queue may hold (a `map` chunk counts as one; `imap` is bounded by its own
   * look-ahead and not counted against it). A submission that would queue more rejects at once with
   * `QueueFullError`; the pool emits `'drain'` when the queue falls below the limit again.
   * `'auto'` is processes × processes. With `cluster`, it bounds the tasks waiting in this process
   * to enter Redis (`'auto'` then counts this machine's `processes`).
   * @default Infinity (unbounded, as Python)
   */
  maxQueue?: MaxQueue;
  /**
   * Called at every submission that passes no `context` of its own; what it returns (if not
   * undefined) travels with the task, which reads it with `taskContext()`. E.g. the active
   * OpenTelemetry trace id, so the work in the worker joins the caller's trace.
   */
  context?: () => unknown;
  /**
   * Run the tasks on `procpool agent` processes on other machines, through a BullMQ queue on Redis
   * (see {@link ClusterOptions}). The same calls work; errors keep their class, code and remote
   * stack, plus the host and pid that ran them. `maxQueue`, `context`, `shutdown()`, `drained()`
   * and `idle()` apply; `stats()` does not time the agents' tasks (its window reads as empty), and
   * no `taskStart`/`workerStart`/`workerExit` events are emitted (see the README's "Past one machine").
   * @default undefined (local worker processes)
   */
  cluster?: ClusterOptions;
}

/** Options with every default applied, as the engine and launchers take them. */
export interface ResolvedPoolOptions {
  readonly processes: number;
  readonly minProcesses: number;
  readonly idleTimeoutMs: number | undefined;
  readonly maxMemoryMb: number | undefined;
  readonly defaults: TaskPolicy;
  readonly abortGracePeriodMs: number;
  readonly maxTasksPerChild: number | undefined;
  readonly maxStartFailures: number;
  readonly killGracePeriodMs: number;
  readonly startMethod: StartMethod;
  readonly spares: number;
  readonly launch: LaunchOptions;
  readonly tsLoader: string | undefined;
  readonly preload: readonly string[];
  readonly maxQueue: number;
}


/** Validates `options` (quoting any bad value) and applies every default. */
export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError(`Expected pool options to be an object, got \`${String(options)}\`.`);
  }
  checkInteger(options.processes, 'processes', 1);
  checkInteger(options.maxTasksPerChild, 'maxTasksPerChild', 1);
  checkInteger(options.maxStartFailures, 'maxStartFailures', 1);
  checkInteger(options.killGracePeriod, 'killGracePeriod', 0);
  checkInteger(options.abortGracePeriod, 'abortGracePeriod', 0);
  checkInteger(options.minProcesses, 'minProcesses', 0);
  checkInteger(options.idleTimeout, 'idleTimeout', 0);
  checkInteger(options.maxMemoryPerChild, 'maxMemoryPerChild', 1);
  checkInteger(options.retries, 'retries', 0);
  checkTimeout(options.timeout, 'timeout');
  checkTimeout(options.softTimeout, 'softTimeout');
  checkArray(options.initargs, 'initargs');
  checkArray(options.execArgv, 'execArgv');
  checkArray(options.preload, 'preload');
  for (const entry of options.preload ?? []) checkString(entry, 'preload[]');
  checkString(options.cwd, 'cwd');
  if (options.env !== undefined && (options.env === null || typeof options.env !== 'object')) {
    throw new InvalidArgumentError(`Expected \`env\` to be an object, got \`${String(options.env)}\`.`);
  }
  checkInteger(options.spares, 'spares', 0);
  const startMethod = options.startMethod ?? getStartMethod();
  checkStartMethod(startMethod);
  const baseEnv = options.env ?? process.env;
  const tsLoader = detectTsLoader(baseEnv);
  const env: NodeJS.ProcessEnv = { ...baseEnv, ...tsLoader?.env };
  if (env.NODE_OPTIONS) env.NODE_OPTIONS = inheritNodeOptions(env.NODE_OPTIONS);
  const processes = options.processes ?? availableParallelism();
  if (options.minProcesses !== undefined && options.minProcesses > processes) {
    throw new InvalidArgumentError(`Expected \`minProcesses\` (${options.minProcesses}) to be at most \`processes\` (${processes}).`);
  }
  return {
    processes,
    minProcesses: options.minProcesses ?? processes,
    idleTimeoutMs: options.idleTimeout,
    maxMemoryMb: options.maxMemoryPerChild,
    defaults: { timeout: options.timeout, softTimeout: options.softTimeout, retries: options.retries },
    abortGracePeriodMs: options.abortGracePeriod ?? 1000,
    maxTasksPerChild: options.maxTasksPerChild,
    maxStartFailures: options.maxStartFailures ?? 3,
    killGracePeriodMs: options.killGracePeriod ?? 1000,
    startMethod,
    spares: options.spares ?? 1,
    tsLoader: tsLoader?.register,
    preload: (options.preload ?? []).map(resolveModuleSpecifier),
    maxQueue: resolveMaxQueue(options.maxQueue, processes),
    launch: {
      env,
      execArgv: options.execArgv ? [...options.execArgv] : inheritExecArgv(process.execArgv),
      cwd: options.cwd ?? process.cwd(),
    },
  };
}
