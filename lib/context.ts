import { availableParallelism } from 'node:os';
import { forkReserve } from './launchers';
import { forkServer, type ForkServerStatus } from './launchers/forkserver';
import type { StartMethod } from './launchers/launcher';
import { resolvePoolOptions, type PoolOptions } from './options';
import { Pool } from './pool/pool';
import { Process, type ProcessOptions } from './process';
import { checkStartMethod, getStartMethod } from './start-method';
import { resolveModuleSpecifier, type TaskFunction } from './tasks/task-ref';
import { checkInteger } from './validate';

/**
 * Python's context objects: pools and processes made through a context use its start method,
 * whatever the process-wide default is.
 *
 * @example
 * const ctx = getContext('forkserver');
 * await using pool = ctx.Pool({ processes: 2 });
 */
export class Context {
  constructor(
    /** The start method of everything made through this context. */
    readonly startMethod: StartMethod,
  ) {}

  /** A pool using this context's start method. */
  Pool(options: Omit<PoolOptions, 'startMethod'> = {}): Pool {
    return new Pool({ ...options, startMethod: this.startMethod });
  }

  /** A process using this context's start method. */
  Process<F extends TaskFunction>(options: Omit<ProcessOptions<F>, 'startMethod'>): Process<F> {
    return new Process<F>({ ...options, startMethod: this.startMethod });
  }

  /** The start method, as Python's `ctx.get_start_method()`. */
  getStartMethod(): StartMethod {
    return this.startMethod;
  }

  /**
   * `'fork'` only: boots `count` processes now, which load `options.preload` while they wait, so
   * that pools created later with the same env/execArgv/cwd (the defaults unless `options` says
   * otherwise) start by hand-over instead of booting. Resolves once they have booted.
   */
  async prewarm(count: number, options: Pick<PoolOptions, 'env' | 'execArgv' | 'cwd' | 'preload'> = {}): Promise<void> {
    checkInteger(count, 'count', 0);
    if (this.startMethod !== 'fork') return;
    const resolved = resolvePoolOptions({ ...options, processes: 1 });
    await forkReserve().prewarm(count, resolved.launch, resolved.preload);
  }

  /** `'forkserver'` only: starts the template if needed; reports how its workers start warm. */
  forkserverStatus(): Promise<ForkServerStatus> {
    return forkServer().status();
  }

  /**
   * Releases what this start method keeps between pools: the fork reserve's idle processes, or
   * the forkserver template (workers it started live on). Pools still work afterwards; they
   * start what they need again.
   */
  async close(): Promise<void> {
    if (this.startMethod === 'fork') await forkReserve().close();
    if (this.startMethod === 'forkserver') await forkServer().close();
  }
}

/** Python's `get_context(method)`; without a method, the default start method's context. */
export function getContext(method?: StartMethod): Context {
  const chosen = method ?? getStartMethod();
  checkStartMethod(chosen, 'method');
  return new Context(chosen);
}

/** Python's `set_forkserver_preload`: modules the forkserver template loads for its workers. */
export function setForkserverPreload(modules: string[]): void {
  forkServer().setPreload(modules.map(resolveModuleSpecifier));
}

/** Python's `cpu_count()`: CPUs this process may use. */
export function cpuCount(): number {
  return availableParallelism();
}
