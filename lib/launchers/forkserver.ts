import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { StartFailure, WorkerChannel } from '../channel/worker-channel';
import type { ExitStatus } from '../channel/worker-process';
import { InvalidArgumentError } from '../errors';
import { isAlive } from '../platform/processes';
import type { FromTemplate, ToTemplate, WarmStart } from '../transport/protocol';
import { workerEntry } from './entry';
import { inheritExecArgv } from './exec-argv';
import { initializeLaunch, type Launch, type Launcher, type LaunchOptions, type LaunchRequest } from './launcher';
import { killGroup, trackGroup, untrackGroup } from '../platform/reaper';
import { StderrTail } from './stderr-tail';
import { nextWorkerName, workerProcess } from './worker-process';

/** What the template reports about how its workers start. */
export interface ForkServerStatus {
  /** The template's process id. */
  readonly pid: number;
  /** `'snapshot'` (V8 startup snapshot of the preload) or `'code-cache'` (V8 code cache). */
  readonly warmStart: WarmStart;
  /** Why there is no snapshot, when there is none. */
  readonly reason?: string;
  /** The preload modules the template was configured with. */
  readonly preload: readonly string[];
}

interface PendingSpawn {
  readonly name: string;
  readonly streams: Partial<Record<'input' | 'output' | 'stderr', Socket>>;
  pid: number;
  readonly resolve: (channel: WorkerChannel) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** How the application learns that a worker of a template exited. */
interface ExitWatch {
  /** The template reported the exit. */
  report(status: ExitStatus): void;
  /** The template is gone: nobody will report it, so the pid is watched here. */
  orphan(): void;
}

/** A running template and the workers whose exit it reports. */
interface Template {
  readonly child: ChildProcess;
  readonly watches: Map<number, ExitWatch>;
  gone: boolean;
}

/** How long a worker request may wait for the template (which may be building a snapshot). */
const SPAWN_TIMEOUT_MS = 60_000;
/** How long a closed template may take to exit by itself before it is killed. */
const TEMPLATE_EXIT_GRACE_MS = 2000;
/** How often the pid of a worker whose template is gone is checked. */
const ORPHAN_POLL_MS = 50;

/**
 * The application's side of the forkserver template: starts it on first use (and again if it
 * died), configures its preload, asks it for workers and receives their pipes over IPC. The
 * template lives until its context is closed (`getContext('forkserver').close()`), as Python's
 * forkserver lives until the application exits; it never keeps the application alive by itself.
 */
export class ForkServer {
  #template: Template | undefined;
  #preload: string[] = [];
  #configuredWith: string | undefined;
  #tsLoader: string | undefined;
  readonly #learned = new Set<string>();
  #nextId = 1;
  readonly #pending = new Map<number, PendingSpawn>();
  /** Workers that have exited and whose exit the template has yet to report. */
  #awaitedExits = 0;
  #status: Omit<ForkServerStatus, 'pid'> | undefined;
  #statusWaiters: ((status: ForkServerStatus) => void)[] = [];
  readonly #tail = new StderrTail();

  /** Python's `set_forkserver_preload`: modules the template loads, and snapshots when it can. */
  setPreload(modules: readonly string[]): void {
    if (!Array.isArray(modules) || modules.some((m) => typeof m !== 'string')) {
      throw new InvalidArgumentError(`Expected the forkserver preload to be an array of module paths, got \`${String(modules)}\`.`);
    }
    this.#preload = [...modules];
  }

  /** The template's state once it is configured (starting it if needed). */
  status(): Promise<ForkServerStatus> {
    const template = this.#ensure();
    if (this.#status) return Promise.resolve({ pid: template.child.pid ?? 0, ...this.#status });
    const status = new Promise<ForkServerStatus>((resolve) => this.#statusWaiters.push(resolve));
    this.#updateRef();
    return status;
  }

  /** The modules every worker of the template preloads. */
  get preload(): readonly string[] {
    return this.#preload;
  }

  /** Starts one worker from the template; `cancel` gives up on it (the worker is not used). */
  launch(options: LaunchOptions, name: string, tsLoader: string | undefined): { channel: Promise<WorkerChannel>; cancel(): void } {
    this.#tsLoader ??= tsLoader;
    const template = this.#ensure();
    const id = this.#nextId++;
    const channel = new Promise<WorkerChannel>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(id, new Error('the forkserver template did not start a worker in time')), SPAWN_TIMEOUT_MS);
      this.#pending.set(id, { name, streams: {}, pid: 0, resolve, reject, timer });
      this.#send(template, { type: 'spawn', id, env: options.env, execArgv: options.execArgv, cwd: options.cwd, owner: process.pid });
      this.#updateRef();
    });
    return { channel, cancel: () => this.#fail(id, new Error('cancelled'), true) };
  }

  /** A task module in use: the template loads it and caches its compiled code for new workers. */
  learn(module: string): void {
    if (this.#learned.has(module)) return;
    this.#learned.add(module);
    if (this.#template) this.#send(this.#template, { type: 'learn', modules: [module] });
  }

  /** Stops the template. Workers it started are not affected. */
  async close(): Promise<void> {
    const template = this.#template?.child;
    if (!template) return;
    this.#template = undefined;
    if (template.exitCode !== null || template.signalCode !== null) return;
    const gone = new Promise((resolve) => template.once('exit', resolve));
    template.ref();
    // Disconnecting lets it exit by itself and remove its directory; it is killed if it does not.
    if (template.connected) template.disconnect();
    const timer = setTimeout(() => killGroup(template.pid ?? 0, 'SIGKILL'), TEMPLATE_EXIT_GRACE_MS);
    await gone;
    clearTimeout(timer);
  }

  #configure(template: Template): void {
    this.#send(template, { type: 'configure', preload: this.#preload, execArgv: inheritExecArgv(process.execArgv), tsLoader: this.#tsLoader });
  }

  #ensure(): Template {
    const wanted = JSON.stringify(this.#preload);
    if (this.#template && this.#configuredWith === wanted) return this.#template;
    this.#configuredWith = wanted;
    this.#status = undefined;
    if (this.#template) {
      // Preload changed (set_forkserver_preload after first use): reconfigure the template.
      this.#configure(this.#template);
      return this.#template;
    }
    const child = spawn(process.execPath, [join(workerEntry(), '..', 'template.js')], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      detached: true,
    });
    const template: Template = { child, watches: new Map(), gone: false };
    this.#template = template;
    const pid = child.pid ?? 0;
    if (pid) trackGroup(pid);
    child.stderr?.on('data', (chunk: Buffer) => {
      this.#tail.push(chunk);
      process.stderr.write(chunk);
    });
    child.on('message', (message: FromTemplate, handle?: Socket) => this.#onMessage(template, message, handle));
    child.once('exit', () => {
      untrackGroup(pid);
      template.gone = true;
      if (this.#template === template) this.#template = undefined;
      for (const watch of [...template.watches.values()]) watch.orphan();
      const tail = this.#tail.lines().slice(-3).join(' | ');
      for (const id of [...this.#pending.keys()]) this.#fail(id, new Error(`the forkserver template exited${tail ? `: ${tail}` : ''}`));
    });
    child.once('error', () => {});
    this.#configure(template);
    if (this.#learned.size) this.#send(template, { type: 'learn', modules: [...this.#learned] });
    this.#updateRef();
    return template;
  }

  #send(template: Template, message: ToTemplate): void {
    if (template.child.connected) template.child.send(message);
  }

  #onMessage(template: Template, message: FromTemplate, handle?: Socket): void {
    switch (message.type) {
      case 'configured': {
        this.#status = { warmStart: message.warmStart, reason: message.reason, preload: message.preload };
        const pid = template.child.pid ?? 0;
        for (const waiter of this.#statusWaiters.splice(0)) waiter({ pid, ...this.#status });
        break;
      }
      case 'spawned': {
        const pending = this.#pending.get(message.id);
        if (!pending || !handle) {
          // Given up on: closing its pipes makes the worker exit by itself.
          handle?.destroy();
          break;
        }
        pending.pid = message.pid;
        pending.streams[message.stream] = handle;
        if (pending.streams.input && pending.streams.output && pending.streams.stderr) this.#complete(template, message.id, pending);
        break;
      }
      case 'spawn-failed':
        this.#fail(message.id, new Error(message.message));
        break;
      case 'exit':
        template.watches.get(message.pid)?.report({ exitCode: message.code, signal: message.signal });
        break;
    }
    this.#updateRef();
  }

  #complete(template: Template, id: number, pending: PendingSpawn): void {
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    const { pid } = pending;
    const input = pending.streams.input as Socket;
    const output = pending.streams.output as Socket;
    const ended = new Promise<ExitStatus>((resolve) => {
      let poll: NodeJS.Timeout | undefined;
      let settled = false;
      /** Its pipe closed (it is exiting) and nobody has said how yet: someone waits for the report. */
      let awaited = false;
      const settle = (status: ExitStatus): void => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        template.watches.delete(pid);
        if (awaited) this.#awaitedExits--;
        this.#updateRef();
        resolve(status);
      };
      const check = (): void => {
        if (!isAlive(pid)) settle({ exitCode: null, signal: null, statusUnknown: 'template-gone' });
      };
      const watch: ExitWatch = {
        report: settle,
        orphan() {
          if (poll || settled) return;
          poll = setInterval(check, ORPHAN_POLL_MS);
          // An idle worker may live on for long; only a worker on its way out holds the application.
          if (!awaited) poll.unref();
          check();
        },
      };
      template.watches.set(pid, watch);
      if (template.gone) watch.orphan();
      output.once('close', () => {
        if (settled) return;
        awaited = true;
        this.#awaitedExits++;
        this.#updateRef();
        poll?.ref();
        if (template.gone) check();
      });
    });
    pending.resolve(
      new WorkerChannel(
        workerProcess({
          pid,
          name: pending.name,
          input,
          output: output as Readable,
          stderr: pending.streams.stderr as Socket,
          ended,
          refHandles: [input, output],
        }),
      ),
    );
  }

  #fail(id: number, error: Error, cancelled = false): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    for (const stream of Object.values(pending.streams)) stream?.destroy();
    if (pending.pid) killGroup(pending.pid, 'SIGKILL');
    pending.reject(StartFailure.spawnFailed(error, cancelled));
    this.#updateRef();
  }

  /** The template keeps the event loop alive only while someone waits for it (a worker, an exit, its status). */
  #updateRef(): void {
    const child = this.#template?.child;
    if (!child) return;
    const busy = this.#pending.size > 0 || this.#statusWaiters.length > 0 || this.#awaitedExits > 0;
    const channel = child.channel as { ref?(): void; unref?(): void } | undefined;
    if (busy) {
      child.ref();
      channel?.ref?.();
    } else {
      child.unref();
      channel?.unref?.();
    }
    (child.stderr as { unref?(): void } | null)?.unref?.();
  }
}

let shared: ForkServer | undefined;

/** The process's one forkserver (Python runs one per process too). */
export function forkServer(): ForkServer {
  return (shared ??= new ForkServer());
}

/**
 * 'forkserver': workers started warm by the shared template process. A worker's pid is known only
 * once the template has answered, so `Launch.pid` is undefined until then.
 */
export class ForkServerLauncher implements Launcher {
  readonly method = 'forkserver' as const;

  constructor(
    private readonly server: ForkServer,
    private readonly tsLoader: string | undefined,
  ) {}

  launch(request: LaunchRequest): Launch {
    const started = this.server.launch(request.options, nextWorkerName(request.namePrefix), this.tsLoader);
    let cancelled = false;
    let initializing: Launch | undefined;
    // The template's preload is part of every worker it starts (taken from its snapshot if any).
    const init = { ...request.init, preload: [...new Set([...this.server.preload, ...request.init.preload])] };
    const ready = started.channel.then((channel) => {
      initializing = initializeLaunch(channel, request, init);
      if (cancelled) initializing.cancel();
      return initializing.ready;
    });
    return {
      get pid() {
        return initializing?.pid;
      },
      ready,
      cancel(signal) {
        cancelled = true;
        started.cancel();
        initializing?.cancel(signal);
      },
    };
  }

  learnModule(module: string): void {
    this.server.learn(module);
  }

  poolReady(): void {
    // The template is already warm.
  }

  readySpares(): number {
    return 0;
  }

  async close(): Promise<void> {
    // The template belongs to the process, not to one pool.
  }
}
