// A progress bar on stderr: redrawn in place on a terminal, one line per 10 % otherwise (CI logs).

export class Progress {
  #done = 0;
  #lastTenth = -1;
  readonly #tty = Boolean(process.stderr.isTTY);

  constructor(
    private readonly total: number,
    private readonly width = 30,
  ) {}

  /** Marks one step done; `label` says what runs next. */
  tick(label: string): void {
    this.#done = Math.min(this.total, this.#done + 1);
    this.draw(label);
  }

  /** Shows the bar with the current label. */
  draw(label: string): void {
    const fraction = this.total ? this.#done / this.total : 1;
    const filled = Math.round(fraction * this.width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}% ${label}`;
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${bar}`);
    } else {
      const tenth = Math.floor(fraction * 10);
      if (tenth !== this.#lastTenth) {
        this.#lastTenth = tenth;
        process.stderr.write(`${bar}\n`);
      }
    }
  }

  /** Clears the bar. */
  finish(): void {
    if (this.#tty) process.stderr.write('\r\x1b[2K');
  }
}
