import type { PoolTask } from '../pool/task';

/**
 * The jobs a cluster pool has in Redis (waiting or running) and the tasks each carries: one chunk,
 * one call, or a batch of calls. A task is in at most one job at a time; a job sent again after
 * its agent was lost gets a new id (BullMQ refuses a second job with an id it still holds).
 */
export class JobTable {
  readonly #jobs = new Map<string, PoolTask[]>();
  readonly #jobOf = new WeakMap<PoolTask, string>();
  readonly #losses = new WeakMap<PoolTask, number>();
  /** Jobs found missing from Redis at the last sweep. */
  #missing = new Set<string>();

  /** @param pool - the pool's id: the prefix of its job ids. */
  constructor(private readonly pool: string) {}

  /** Jobs in Redis. */
  get size(): number {
    return this.#jobs.size;
  }

  /** Every job's id. */
  ids(): string[] {
    return [...this.#jobs.keys()];
  }

  /** Records a new job carrying `tasks`; returns its id. */
  add(tasks: PoolTask[]): string {
    const id = `${this.pool}-${tasks[0].id}-${this.#losses.get(tasks[0]) ?? 0}`;
    this.#jobs.set(id, tasks);
    for (const task of tasks) this.#jobOf.set(task, id);
    return id;
  }

  /** The job answered (or failed): its tasks, once; undefined for a job this pool no longer tracks. */
  take(id: string): PoolTask[] | undefined {
    const tasks = this.#jobs.get(id);
    this.#jobs.delete(id);
    return tasks;
  }

  /** Every job's tasks; the table is then empty. */
  drain(): PoolTask[] {
    const tasks = [...this.#jobs.values()].flat();
    this.#jobs.clear();
    return tasks;
  }

  /**
   * `task` is no longer wanted: if no task of its job is, the job is forgotten and its id returned
   * (the caller removes it from Redis); a batch with a task still wanted runs on.
   */
  forget(task: PoolTask): string | undefined {
    const id = this.#jobOf.get(task);
    const tasks = id === undefined ? undefined : this.#jobs.get(id);
    if (!tasks || tasks.some((t) => t.live)) return undefined;
    this.#jobs.delete(id as string);
    return id;
  }

  /** Counts one more lost run of `task`; returns how many it has had. */
  lost(task: PoolTask): number {
    const losses = (this.#losses.get(task) ?? 0) + 1;
    this.#losses.set(task, losses);
    return losses;
  }

  /**
   * Given whether each of `ids` still exists in Redis, the ids missing now and at the previous
   * sweep too: their jobs vanished (once only could be a job that just completed, whose event is
   * on its way). They are forgotten; their tasks are returned with them.
   */
  vanished(ids: readonly string[], exists: readonly unknown[]): PoolTask[] {
    const before = this.#missing;
    this.#missing = new Set();
    const gone: PoolTask[] = [];
    ids.forEach((id, i) => {
      if (exists[i] || !this.#jobs.has(id)) return;
      if (!before.has(id)) return void this.#missing.add(id);
      gone.push(...(this.take(id) as PoolTask[]));
    });
    return gone;
  }
}
