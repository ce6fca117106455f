import { describeTask } from '../tasks/task-ref';
import type { TaskRefData } from '../transport/protocol';

/**
 * The pool's task functions by small stable id: a worker learns each id once (a Define frame) and
 * every task names its function by id.
 */
export class FunctionTable {
  readonly #ids = new Map<string, number>();
  readonly #refs: TaskRefData[] = [];
  /** The same reference object again (the usual case: one exported function) skips the key string. */
  #lastRef: TaskRefData | undefined;
  #lastId = 0;

  /** @param learned - called with the module of each function the table sees for the first time. */
  constructor(private readonly learned: (module: string) => void) {}

  /** The id of `ref`, assigned on first sight. */
  id(ref: TaskRefData): number {
    if (ref === this.#lastRef) return this.#lastId;
    const key = `${ref.module}\0${ref.name}`;
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#refs.length;
      this.#refs.push(ref);
      this.#ids.set(key, id);
      this.learned(ref.module);
    }
    this.#lastRef = ref;
    this.#lastId = id;
    return id;
  }

  /** The reference behind an id. */
  readonly ref = (id: number): TaskRefData => this.#refs[id];

  /** `'square' (/app/tasks.js)`, for error messages. */
  describe(id: number): string {
    return describeTask(this.#refs[id]);
  }
}
