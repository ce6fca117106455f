// Real Redis servers and real agent processes for the cluster specs.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Pool, type PoolOptions } from '../../lib';
import { tempDir } from './tmp';
import { waitFor } from './processes';

const repo = resolve(__dirname, '..', '..');
const cli = join(repo, 'dist', 'scripts', 'cli.js');

const MISSING =
  'The cluster specs need redis-server on PATH (they start their own on a free port). Install it: ' +
  '`apt-get install -y redis-server` (Debian/Ubuntu), `brew install redis` (macOS).';

/**
 * Why the cluster specs cannot run here (redis-server is missing), or undefined. Where
 * `PROCPOOL_REQUIRE_REDIS=1` (set by `.ci/run`), a missing redis-server fails the run instead:
 * CI never skips them.
 */
export function redisServerMissing(): string | undefined {
  if (spawnSync('redis-server', ['--version']).status === 0) return undefined;
  if (process.env.PROCPOOL_REQUIRE_REDIS === '1') throw new Error(MISSING);
  return MISSING;
}

let noticed = false;

/** Skips the test or suite of `context` when redis-server is missing, printing once how to install it. */
export function skipWithoutRedis(context: Mocha.Context): void {
  const missing = redisServerMissing();
  if (!missing) return;
  if (!noticed) process.stderr.write(`      skipped: ${missing}\n`);
  noticed = true;
  context.skip();
}

/** Fails when redis-server is missing (the suites skip before they get here). */
export function requireRedisServer(): void {
  if (spawnSync('redis-server', ['--version']).status !== 0) throw new Error(MISSING);
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => res(port));
    });
  });
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((res) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let text = '';
    socket.setTimeout(1000, () => (socket.destroy(), res(false)));
    socket.on('error', () => res(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      text += chunk.toString();
      if (text.includes('\r\n')) {
        socket.destroy();
        // NOAUTH: up, and asking for credentials (an ACL spec's server).
        res(text.startsWith('+PONG') || text.startsWith('-NOAUTH'));
      }
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => child.once('exit', () => res()));
}

/** A redis-server of this spec's own: a free port, a temporary directory, no persistence. */
export class RedisServer {
  private child: ChildProcess | undefined;
  private constructor(
    readonly port: number,
    private readonly bind: readonly string[],
    private readonly extra: readonly string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /**
   * @param bind - addresses to listen on besides 127.0.0.1 (they must exist already).
   * @param extra - more redis-server arguments (ACL users...).
   */
  static async start(bind: readonly string[] = [], extra: readonly string[] = []): Promise<RedisServer> {
    requireRedisServer();
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(await freePort(), bind, extra);
      if (await server.launch()) return server;
      // The port was taken between our probe and redis's bind: try another.
      if (attempt >= 2) throw new Error(`redis-server did not answer on port ${server.port} within 15 s`);
    }
  }

  /** Starts redis-server on this port; resolves whether it answers PING (within 15 s). */
  private async launch(): Promise<boolean> {
    // Protected mode refuses clients from other addresses than loopback when there is no password.
    const open = this.bind.length ? ['--protected-mode', 'no'] : [];
    const args = [...open, '--port', String(this.port), '--bind', '127.0.0.1', ...this.bind, '--save', '', '--appendonly', 'no', '--dir', tempDir('redis'), ...this.extra];
    const child = spawn('redis-server', args, { stdio: 'ignore' });
    this.child = child;
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await answersPing(this.port)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.stop();
    return false;
  }

  /** Kills the server and starts an empty one on the same port (persistence is off: every key is gone). */
  async restart(): Promise<void> {
    await this.stop();
    if (!(await this.launch())) throw new Error(`redis-server did not come back on port ${this.port}`);
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill('SIGKILL');
    await exited(this.child);
  }
}

/** A `procpool agent` in its own process group, run from dist/ as a user would run it. */
export class AgentProcess {
  output = '';
  private constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  /** @param netns - a network namespace to run it in (`ip netns exec`, as root). */
  static async start(redis: string, queue: string, processes: number, extra: string[] = [], netns?: string): Promise<AgentProcess> {
    const inNamespace = netns ? ['netns', 'exec', netns, process.execPath] : [];
    const child = spawn(netns ? 'ip' : process.execPath, [...inNamespace, cli, 'agent', '--redis', redis, '--queue', queue, '--processes', String(processes), '--progress-every', '500', ...extra], {
      cwd: repo,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const agent = new AgentProcess(child);
    if (!(await waitFor(() => agent.output.includes('serving:') || child.exitCode !== null, 30_000, 20)) || !agent.output.includes('serving:')) {
      agent.kill();
      throw new Error(`agent did not start:\n${agent.output}`);
    }
    return agent;
  }

  /** SIGKILL to the agent's whole process group (its local workers notice and follow). */
  kill(): void {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }

  /** SIGTERM: graceful; resolves with the exit code. */
  async terminate(): Promise<number | null> {
    this.child.kill('SIGTERM');
    await exited(this.child);
    return this.child.exitCode;
  }

  exited(): Promise<void> {
    return exited(this.child);
  }
}

/** A fresh root that holds `fixtures/cluster-tasks.js` with `source` (an agent on "another machine"). */
export function otherRoot(source: string): string {
  const root = tempDir('agent-root');
  mkdirSync(join(root, 'fixtures'));
  writeFileSync(join(root, 'fixtures', 'cluster-tasks.js'), source);
  return root;
}

export const clusterTasks = join(repo, 'fixtures', 'cluster-tasks.js');

/** What `clusterFixture` gives a suite: its Redis, and pools on its agents that are terminated after each test. */
export interface ClusterFixture {
  readonly redis: RedisServer;
  /** Its agents; one a test starts and pushes here is terminated at the end too. */
  readonly agents: AgentProcess[];
  /** A cluster pool on `queue` (default: the fixture's own), with more Pool or cluster options. */
  pool(options?: PoolOptions, queue?: string, cluster?: object): Pool;
}

/**
 * Call first inside a `describe`: skips it where redis-server is missing, starts a redis-server
 * and `agents` agents of `processes` each on `queue` before its tests, terminates the pools a test
 * made after it, and stops everything at the end.
 */
export function clusterFixture(queue: string, agents: number, processes: number): ClusterFixture {
  let redis: RedisServer | undefined;
  const running: AgentProcess[] = [];
  const pools: Pool[] = [];
  before(function () {
    skipWithoutRedis(this);
  });
  before(async () => {
    redis = await RedisServer.start();
    running.push(...(await Promise.all(Array.from({ length: agents }, () => AgentProcess.start((redis as RedisServer).url, queue, processes)))));
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((pool) => pool.terminate()));
  });
  after(async () => {
    await Promise.all(running.splice(0).map((agent) => agent.terminate()));
    await redis?.stop();
  });
  return {
    get redis() {
      return redis as RedisServer;
    },
    agents: running,
    pool(options = {}, name = queue, cluster = {}) {
      const pool = new Pool({ ...options, cluster: { redis: (redis as RedisServer).url, queue: name, ...cluster } });
      pools.push(pool);
      return pool;
    },
  };
}
