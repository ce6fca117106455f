/** Keeps the last lines of a worker's stderr, to explain its death (`WorkerLostError.stderr`). */
export class StderrTail {
  readonly #lines: string[] = [];
  #partial = '';

  constructor(private readonly limit = 20) {}

  /** Records a chunk of the stream. */
  push(chunk: Buffer | string): void {
    const parts = (this.#partial + chunk.toString()).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const line of parts) if (line.trim() !== '') this.#lines.push(line);
    if (this.#partial.length > 4096) this.#partial = this.#partial.slice(-4096);
    if (this.#lines.length > this.limit) this.#lines.splice(0, this.#lines.length - this.limit);
  }

  /** The kept lines, oldest first, including an unfinished last line. */
  lines(): string[] {
    return this.#partial.trim() !== '' ? [...this.#lines, this.#partial].slice(-this.limit) : [...this.#lines];
  }
}
