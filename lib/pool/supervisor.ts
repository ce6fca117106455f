import { debuglog } from 'node:util';
import { StartFailure, type ChannelEnd, type WorkerChannel } from '../channel/worker-channel';
import { WorkerLostError, WorkerStartError } from '../errors';
import type { Launch, Launcher, LaunchOptions } from '../launchers/launcher';
import { describeTask } from '../tasks/task-ref';
import type { WorkerInit } from '../transport/protocol';
import type { Counters } from './counters';
import { accountDeath, exitReason } from './death';
import type { PoolEventSink } from './events';
import type { Lifecycle } from './lifecycle';
import { PoolWorker, type WorkerHost } from './pool-worker';
import type { PoolTask } from './task';

/** `NODE_DEBUG=procpool` logs each worker's life. */
const debug = debuglog('procpool');

/** How many workers, and what makes one leave, with every default applied. */
export interface SupervisorConfig {
  readonly processes: number;
  /** Workers kept when idle workers retire (`idleTimeout`). */
  readonly minProcesses: number;
  /** Ms a worker may idle before it retires (down to `minProcesses`); undefined: never. */
  readonly idleTimeoutMs: number | undefined;
  readonly maxStartFailures: number;
  readonly killGracePeriodMs: number;
  readonly launcher: Launcher;
  readonly launch: LaunchOptions;
}

/** What the supervisor needs from the pool around it. */
export interface SupervisorHost extends WorkerHost {
  readonly lifecycle: Lifecycle;
  readonly counters: Counters;
  readonly events: PoolEventSink;
  /** Tasks waiting for a worker. */
  queued(): number;
  /** Puts tasks of a dead worker back at the front of the queue, in this order. */
  requeue(tasks: readonly PoolTask[]): void;
  /** Fails a task whose worker died under it. */
  lose(task: PoolTask, error: Error): void;
  /** Names a task's function, for error messages. */
  describe(task: PoolTask): string;
  /** Workers came or went: time to dispatch. */
  workersChanged(): void;
  /** Workers failed to start `maxStartFailures` times in a row. */
  startsFailed(error: WorkerStartError): void;
}

/**
 * Starts, replaces and retires a pool's workers, and accounts for their deaths: which tasks of a
 * dead worker run again, which fail, what counts as a crash, when failed starts mean the pool
 * must stop trying.
 */
export class Supervisor {
  readonly #workers = new Set<PoolWorker>();
  readonly #launches = new Set<Launch>();
  #init: WorkerInit | undefined;
  /** Whether the first workers have been requested (idle shrinking only starts after that). */
  #filled = false;
  #announcedReady = false;
  /** Failed starts in a row. */
  #failures = 0;
  #referenced = true;

  constructor(
    private readonly config: SupervisorConfig,
    private readonly host: SupervisorHost,
  ) {}

  /** How workers are initialized, once known (an ES module initializer is looked up first). */
  setInit(init: WorkerInit): void {
    this.#init = init;
  }

  get workers(): ReadonlySet<PoolWorker> {
    return this.#workers;
  }

  /** Workers ready for tasks. */
  ready(): PoolWorker[] {
    return [...this.#workers].filter((w) => w.state === 'ready');
  }

  /** Pids of the workers alive, and of those starting whose pid is known. */
  pids(): number[] {
    const pids = [...this.#workers].filter((w) => w.state !== 'exited').map((w) => w.pid);
    for (const launch of this.#launches) if (launch.pid) pids.push(launch.pid);
    return pids;
  }

  /** Whether a ready worker holds no task. */
  anyIdle(): boolean {
    for (const w of this.#workers) if (w.state === 'ready' && w.held === 0) return true;
    return false;
  }

  /** Processes alive or starting. */
  get size(): number {
    return this.#workers.size + this.#launches.size;
  }

  /** Whether no worker is alive or starting. */
  get empty(): boolean {
    return this.size === 0;
  }

  /** Whether `processes` workers are ready (or fewer, while an idle pool keeps fewer). */
  get full(): boolean {
    return this.ready().length >= this.#target();
  }

  /** Starts workers up to the number the pool wants now. */
  fill(): void {
    const lifecycle = this.host.lifecycle;
    if (!this.#init || !lifecycle.working) return;
    if (lifecycle.state === 'closing' && this.host.queued() === 0) return;
    let live = this.#launches.size;
    for (const w of this.#workers) if (w.state === 'ready') live++;
    for (; live < this.#target(); live++) this.#launch();
    this.#filled = true;
  }

  /**
   * Asks every worker to leave after its tasks. On `close()` starts in progress are given up; when
   * starts keep failing (`'broken'`) they finish, so that each one that ran the initializer is
   * counted (a failure) or stopped (a success), never killed halfway.
   */
  stopAll(reason: 'closed' | 'broken'): void {
    for (const worker of this.#workers) worker.stop(reason);
    if (reason === 'closed') for (const launch of this.#launches) launch.cancel();
  }

  /**
   * Kills every worker now (SIGTERM, SIGKILL after the grace period) and every start in progress;
   * returns the tasks the workers held.
   */
  terminateAll(): PoolTask[] {
    const held: PoolTask[] = [];
    for (const worker of this.#workers) {
      held.push(...worker.channel.pending());
      worker.terminate(this.config.killGracePeriodMs, 'terminated');
    }
    for (const launch of this.#launches) launch.cancel();
    return held;
  }

  /**
   * Worker handles keep the event loop alive only while there is something to wait for, so a
   * script that forgets `close()` still exits (its workers are then killed by the exit hook).
   */
  setReferenced(busy: boolean): void {
    if (busy === this.#referenced) return;
    this.#referenced = busy;
    debug('pool %s the event loop', busy ? 'holds' : 'releases');
    for (const w of this.#workers) {
      if (busy) w.channel.ref();
      else w.channel.unref();
    }
  }

  /** idleTimeout: a worker with nothing to do for that long retires, down to minProcesses. */
  idle(worker: PoolWorker): void {
    const ms = this.config.idleTimeoutMs;
    if (ms === undefined || worker.state !== 'ready' || worker.held > 0) return;
    worker.armIdle(ms, () => {
      if (worker.state !== 'ready' || worker.held > 0 || this.host.queued() > 0) return;
      if (this.ready().length + this.#launches.size <= this.config.minProcesses) return;
      worker.stop('idle');
      this.host.workersChanged();
    });
  }

  /**
   * How many workers the pool wants now: all of them, except that with idleTimeout an idle pool
   * (once started) only replaces workers down to minProcesses, and grows back when work comes.
   */
  #target(): number {
    const { processes, minProcesses, idleTimeoutMs } = this.config;
    const shrinking = idleTimeoutMs !== undefined && this.#filled && this.host.queued() === 0;
    return shrinking ? Math.min(processes, Math.max(minProcesses, this.ready().length)) : processes;
  }

  #launch(): void {
    const launch = this.config.launcher.launch({ options: this.config.launch, init: this.#init as WorkerInit, namePrefix: 'PoolWorker' });
    this.#launches.add(launch);
    launch.ready.then(
      (channel) => {
        this.#launches.delete(launch);
        this.#adopt(channel as WorkerChannel<PoolTask>);
      },
      (error: unknown) => {
        this.#launches.delete(launch);
        this.#launchFailed(error instanceof StartFailure ? error : StartFailure.spawnFailed(error as Error));
      },
    );
  }

  #adopt(channel: WorkerChannel<PoolTask>): void {
    const worker = new PoolWorker(channel, this.host);
    this.#workers.add(worker);
    if (this.#referenced) channel.ref();
    else channel.unref();
    void channel.ended.then((end) => this.#ended(worker, end));
    debug('%s (pid %d) ready (%s)', worker.name, worker.pid, this.config.launcher.method);
    // Started while the pool was told to stop: it leaves at once, through the usual exit path.
    const lifecycle = this.host.lifecycle;
    if (lifecycle.ending) {
      worker.terminate(0, 'terminated');
      return;
    }
    if (!lifecycle.working) {
      worker.stop(lifecycle.failure ? 'broken' : 'closed');
      return;
    }
    this.#failures = 0;
    this.host.events.emit('workerStart', { pid: worker.pid, name: worker.name, startMethod: this.config.launcher.method });
    if (!this.#announcedReady && this.full) {
      this.#announcedReady = true;
      this.config.launcher.poolReady();
    }
    // Idle means idle since it became ready: a worker that never gets a task retires too.
    this.idle(worker);
    this.host.workersChanged();
  }

  #launchFailed(failure: StartFailure): void {
    const { name, exit, initError, spawnError } = failure.end;
    const lifecycle = this.host.lifecycle;
    const cancelled = failure.cancelled || lifecycle.ending;
    if (exit.pid) {
      const reason = cancelled ? (lifecycle.ending ? 'terminated' : 'closed') : 'start-failed';
      this.host.events.emit('workerExit', { pid: exit.pid, name, exitCode: exit.exitCode, signal: exit.signal, reason });
    }
    if (!cancelled) this.#startFailed(failure, initError, spawnError);
    this.host.workersChanged();
  }

  #startFailed(failure: StartFailure, initError: unknown, spawnError: Error | undefined): void {
    this.#failures++;
    this.host.counters.startFailures++;
    debug('a worker failed to start (%d in a row)', this.#failures);
    if (this.#failures < this.config.maxStartFailures) return;
    const init = this.#init;
    let reason: string;
    let cause: unknown;
    if (initError !== undefined) {
      const what = init?.initializer ? `the initializer ${describeTask(init.initializer)}` : 'a preload module';
      reason = `${what} threw: ${String((initError as Error)?.message ?? initError)}`;
      cause = initError;
    } else if (spawnError) {
      reason = `the process could not be started: ${spawnError.message}`;
      cause = spawnError;
    } else {
      cause = new WorkerLostError(failure.end.exit, 'its start-up');
      reason = (cause as Error).message.split('\n')[0];
    }
    this.host.startsFailed(
      new WorkerStartError(
        `Workers failed to start ${this.#failures} times in a row, so the pool stopped starting them. Last failure: ${reason}`,
        this.#failures,
        cause,
        failure.end.exit.stderr,
      ),
    );
  }

  #ended(worker: PoolWorker, end: ChannelEnd<PoolTask>): void {
    worker.exited();
    this.#workers.delete(worker);
    const { exit } = end;
    const reason = exitReason(exit, worker.requested, end.unanswered);
    debug('%s (pid %d) exited: code %s, signal %s, %s, %d unanswered', worker.name, worker.pid, exit.exitCode, exit.signal, reason, end.unanswered.length);
    this.host.events.emit('workerExit', {
      pid: worker.pid,
      name: worker.name,
      exitCode: exit.exitCode,
      signal: exit.signal,
      ...(exit.statusUnknown ? { statusUnknown: exit.statusUnknown } : {}),
      reason,
    });
    if (!this.host.lifecycle.ending) {
      if (reason === 'crashed') this.host.counters.crashes++;
      const outcome = accountDeath(end.unanswered);
      if (outcome.retried) {
        outcome.retried.retriesLeft--;
        this.host.counters.retried++;
      }
      for (const task of end.unanswered) task.released();
      this.host.requeue(outcome.requeue);
      if (outcome.lost) this.host.lose(outcome.lost, new WorkerLostError(exit, `task ${this.host.describe(outcome.lost)}`));
    }
    this.host.workersChanged();
  }
}
