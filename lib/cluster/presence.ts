import type { Redis } from 'ioredis';
import { AGENT_HEARTBEAT_MS, keys, type AgentInfo } from './wire';

/** What the submitter's presence needs from its engine. */
export interface PresenceHost {
  /** Whether chunks wait for an agent (the no-agents warning is given only then). */
  hasWork(): boolean;
  /** The agents serving the queue changed. */
  agentsChanged(): void;
}

/**
 * The submitter's side of presence in Redis: it keeps this pool's liveness key alive (agents drop
 * the jobs of a pool whose key expired) and watches which agents serve the queue, so that the pool
 * knows how many chunks to keep in Redis, and can say so when none does.
 */
export class Presence {
  #agents: AgentInfo[] = [];
  #timers: NodeJS.Timeout[] = [];
  #idleSince: number | undefined;
  #warned = false;

  constructor(
    private readonly client: Redis,
    private readonly queue: string,
    private readonly pool: string,
    private readonly ttlMs: number,
    private readonly warnAfterMs: number,
    private readonly host: PresenceHost,
  ) {}

  /** Agent processes serving the queue, as last seen. */
  get processes(): number {
    let n = 0;
    for (const agent of this.#agents) n += agent.processes;
    return n;
  }

  /** The agents serving the queue, as last seen. */
  get agents(): readonly AgentInfo[] {
    return this.#agents;
  }

  /** Sets the liveness key and looks for agents, then keeps doing both. */
  async start(): Promise<void> {
    await this.#refreshAlive();
    await this.#poll();
    const every = (ms: number, fn: () => Promise<void>) => {
      const timer = setInterval(() => void fn().catch(() => undefined), ms);
      // Redis's connections hold the process while work is pending; these timers need not.
      timer.unref();
      this.#timers.push(timer);
    };
    every(Math.max(100, Math.floor(this.ttlMs / 3)), () => this.#refreshAlive());
    every(AGENT_HEARTBEAT_MS, () => this.#poll());
  }

  /** Stops refreshing; with `release`, deletes the liveness key at once (agents drop the rest). */
  async stop(release: boolean): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    if (release) await this.client.del(keys.alive(this.queue, this.pool));
  }

  /** Sets the liveness key now (Redis came back empty: agents must not take this pool for dead). */
  refresh(): Promise<void> {
    return this.#refreshAlive();
  }

  async #refreshAlive(): Promise<void> {
    await this.client.set(keys.alive(this.queue, this.pool), String(process.pid), 'PX', this.ttlMs);
  }

  async #poll(): Promise<void> {
    const ids = await this.client.smembers(keys.agents(this.queue));
    const values = ids.length ? await this.client.mget(ids.map((id) => keys.agent(this.queue, id))) : [];
    const agents: AgentInfo[] = [];
    const gone: string[] = [];
    values.forEach((value, i) => {
      if (value === null) gone.push(ids[i]);
      else agents.push(JSON.parse(value) as AgentInfo);
    });
    // An agent that died without a word leaves its id in the set; its presence key expired.
    if (gone.length) await this.client.srem(keys.agents(this.queue), ...gone);
    const changed = agents.length !== this.#agents.length || agents.some((a, i) => a.id !== this.#agents[i]?.id);
    this.#agents = agents;
    this.#warnIfAlone();
    if (changed) this.host.agentsChanged();
  }

  #warnIfAlone(): void {
    if (this.#agents.length > 0 || !this.host.hasWork()) {
      this.#idleSince = undefined;
      this.#warned = false;
      return;
    }
    this.#idleSince ??= Date.now();
    if (this.#warned || Date.now() - this.#idleSince < this.warnAfterMs) return;
    this.#warned = true;
    process.emitWarning(
      `No procpool agent has served queue '${this.queue}' for ${this.warnAfterMs} ms; its chunks wait in Redis. ` +
        `Start one: npx procpool agent --redis <url> --queue ${this.queue} --processes N`,
      { code: 'PROCPOOL_NO_AGENTS' },
    );
  }
}
