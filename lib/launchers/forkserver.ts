import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors';
import { inheritExecArgv } from '../options';
import type { FromTemplate, ToTemplate, WarmStart } from '../transport/protocol';
import { workerEntry } from './entry';
import type { ExitStatus, Launcher, LaunchOptions, LaunchRequest, WorkerProcess } from './launcher';
import { isAlive, killGroup, trackGroup, untrackGroup } from './reaper';
import { StderrTail } from './stderr-tail';
import { nextWorkerName, sendInit, workerProcess } from './worker-process';

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
  readonly resolve: (worker: WorkerProcess) => void;
  readonly reject: (error: Error) => void;
  readonly timer: NodeJS.Timeout;
}

/** How long a worker request may wait for the template (which may be building a snapshot). */
const SPAWN_TIMEOUT_MS = 60_000;
/** How long a closed template may take to exit by itself before it is killed. */
const TEMPLATE_EXIT_GRACE_MS = 2000;

/**
 * The application's side of the forkserver template: starts it on first use (and again if it
 * died), configures its preload, asks it for workers and receives their pipes over IPC.
 */
export class ForkServer {
  #template: ChildProcess | undefined;
  #preload: string[] = [];
  #configuredWith: string | undefined;
  #tsLoader: string | undefined;
  readonly #learned = new Set<string>();
  #nextId = 1;
  readonly #pending = new Map<number, PendingSpawn>();
  readonly #exits = new Map<number, (status: ExitStatus) => void>();
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
    if (this.#status) return Promise.resolve({ pid: template.pid ?? 0, ...this.#status });
    const status = new Promise<ForkServerStatus>((resolve) => this.#statusWaiters.push(resolve));
    this.#updateRef();
    return status;
  }

  /** The modules every worker of the template preloads. */
  get preload(): readonly string[] {
    return this.#preload;
  }

  /** Pid of the template process, if it is running. */
  get pid(): number | undefined {
    return this.#template?.pid;
  }

  /** Starts one worker from the template. */
  launch(options: LaunchOptions, name: string, tsLoader: string | undefined): Promise<WorkerProcess> {
    this.#tsLoader ??= tsLoader;
    const template = this.#ensure();
    const id = this.#nextId++;
    return new Promise<WorkerProcess>((resolve, reject) => {
      const timer = setTimeout(() => this.#fail(id, new Error('the forkserver template did not start a worker in time')), SPAWN_TIMEOUT_MS);
      this.#pending.set(id, { name, streams: {}, pid: 0, resolve, reject, timer });
      this.#send(template, { type: 'spawn', id, env: options.env, execArgv: options.execArgv, cwd: options.cwd, owner: process.pid });
      this.#updateRef();
    });
  }

  /** A task module in use: the template loads it and caches its compiled code for new workers. */
  learn(module: string): void {
    if (this.#learned.has(module)) return;
    this.#learned.add(module);
    if (this.#template) this.#send(this.#template, { type: 'learn', modules: [module] });
  }

  /** Stops the template. Workers it started are not affected. */
  async close(): Promise<void> {
    const template = this.#template;
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

  #ensure(): ChildProcess {
    const wanted = JSON.stringify(this.#preload);
    if (this.#template && this.#configuredWith === wanted) return this.#template;
    if (this.#template) {
      // Preload changed (set_forkserver_preload after first use): reconfigure the template.
      this.#configuredWith = wanted;
      this.#status = undefined;
      this.#send(this.#template, { type: 'configure', preload: this.#preload, execArgv: inheritExecArgv(process.execArgv), tsLoader: this.#tsLoader });
      return this.#template;
    }
    const template = spawn(process.execPath, [join(workerEntry(), '..', 'template.js')], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      detached: true,
    });
    this.#template = template;
    this.#configuredWith = wanted;
    this.#status = undefined;
    const pid = template.pid ?? 0;
    if (pid) trackGroup(pid);
    template.stderr?.on('data', (chunk: Buffer) => {
      this.#tail.push(chunk);
      process.stderr.write(chunk);
    });
    template.on('message', (message: FromTemplate, handle?: Socket) => this.#onMessage(message, handle));
    template.once('exit', () => {
      untrackGroup(pid);
      if (this.#template === template) this.#template = undefined;
      const tail = this.#tail.lines().slice(-3).join(' | ');
      for (const id of [...this.#pending.keys()]) this.#fail(id, new Error(`the forkserver template exited${tail ? `: ${tail}` : ''}`));
    });
    template.once('error', () => {});
    this.#send(template, { type: 'configure', preload: this.#preload, execArgv: inheritExecArgv(process.execArgv), tsLoader: this.#tsLoader });
    if (this.#learned.size) this.#send(template, { type: 'learn', modules: [...this.#learned] });
    this.#updateRef();
    return template;
  }

  #send(template: ChildProcess, message: ToTemplate): void {
    if (template.connected) template.send(message);
  }

  #onMessage(message: FromTemplate, handle?: Socket): void {
    switch (message.type) {
      case 'configured': {
        this.#status = { warmStart: message.warmStart, reason: message.reason, preload: message.preload };
        const pid = this.#template?.pid ?? 0;
        for (const waiter of this.#statusWaiters.splice(0)) waiter({ pid, ...this.#status });
        break;
      }
      case 'spawned': {
        const pending = this.#pending.get(message.id);
        if (!pending || !handle) {
          handle?.destroy();
          break;
        }
        pending.pid = message.pid;
        pending.streams[message.stream] = handle;
        if (pending.streams.input && pending.streams.output && pending.streams.stderr) this.#complete(message.id, pending);
        break;
      }
      case 'spawn-failed':
        this.#fail(message.id, new Error(message.message));
        break;
      case 'exit':
        this.#exits.get(message.pid)?.({ exitCode: message.code, signal: message.signal });
        break;
    }
    this.#updateRef();
  }

  #complete(id: number, pending: PendingSpawn): void {
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    const { pid } = pending;
    const input = pending.streams.input as Socket;
    const output = pending.streams.output as Socket;
    const ended = new Promise<ExitStatus>((resolve) => {
      this.#exits.set(pid, (status) => {
        this.#exits.delete(pid);
        resolve(status);
      });
      // If the template is gone, nobody reports the exit: the closed pipe and the pid say it.
      output.once('close', () => {
        const closedAt = Date.now();
        const poll = setInterval(() => {
          const report = this.#exits.get(pid);
          // Reported by the template, or still running: nothing to do yet.
          if (!report || isAlive(pid)) {
            if (!report) clearInterval(poll);
            return;
          }
          // Dead: the template normally reports how; give it a moment before settling for "unknown".
          if (this.#template && Date.now() - closedAt < 500) return;
          clearInterval(poll);
          report({ exitCode: null, signal: null });
        }, 20);
      });
    });
    pending.resolve(
      workerProcess({
        pid,
        name: pending.name,
        input,
        output: output as Readable,
        stderr: pending.streams.stderr as Socket,
        ended,
        refHandles: [input, output],
      }),
    );
  }

  #fail(id: number, error: Error): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    for (const stream of Object.values(pending.streams)) stream?.destroy();
    if (pending.pid) killGroup(pending.pid, 'SIGKILL');
    pending.reject(error);
  }

  /** The template keeps the event loop alive only while someone waits for it. */
  #updateRef(): void {
    const template = this.#template;
    if (!template) return;
    const busy = this.#pending.size > 0 || this.#statusWaiters.length > 0;
    const channel = template.channel as { ref?(): void; unref?(): void } | undefined;
    if (busy) {
      template.ref();
      channel?.ref?.();
    } else {
      template.unref();
      channel?.unref?.();
    }
    for (const stream of [template.stderr]) (stream as { unref?(): void } | null)?.unref?.();
  }
}

let shared: ForkServer | undefined;

/** The process's one forkserver (Python runs one per process too). */
export function forkServer(): ForkServer {
  return (shared ??= new ForkServer());
}

/** 'forkserver': workers started warm by the shared template process. */
export class ForkServerLauncher implements Launcher {
  readonly method = 'forkserver' as const;

  constructor(
    private readonly server: ForkServer,
    private readonly tsLoader: string | undefined,
  ) {}

  async launch(request: LaunchRequest): Promise<WorkerProcess> {
    const worker = await this.server.launch(request.options, nextWorkerName(request.namePrefix), this.tsLoader);
    // The template's preload is part of every worker it starts (taken from its snapshot if any).
    sendInit(worker, { ...request.init, preload: [...new Set([...this.server.preload, ...request.init.preload])] });
    return worker;
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
