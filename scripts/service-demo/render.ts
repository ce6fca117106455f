// The demo service's CPU-bound handler: markdown to HTML with `marked`, a real library's work.
import { pbkdf2Sync } from 'node:crypto';
import type { marked as Marked } from 'marked' with { 'resolution-mode': 'import' };

// marked is an ES module; Node 20.19+ require()s it synchronously, so this stays a CommonJS task module.
const { marked } = require('marked') as { marked: typeof Marked };

/** Renders `markdown` to HTML (synchronously: a CPU-bound task). */
export function render(markdown: string): string {
  return marked.parse(markdown, { async: false });
}

/** A markdown document of about `kb` kilobytes: headings, lists, emphasis, code, tables, links. */
export function sampleDocument(kb: number): string {
  const section = (i: number): string =>
    [
      `## Section ${i}`,
      '',
      `Some *emphasis*, some **strong text**, \`inline code\` and a [link](https://example.org/${i}).`,
      '',
      '- one item',
      '- another item with `code`',
      '  - a nested item',
      '',
      '| a | b | c |',
      '|---|---|---|',
      `| ${i} | ${i * 2} | ${i * 3} |`,
      '',
      '```js',
      `const x${i} = ${i};`,
      '```',
      '',
    ].join('\n');
  const parts: string[] = ['# A document', ''];
  for (let i = 0, size = 0; size < kb * 1024; i++) {
    const s = section(i);
    parts.push(s);
    size += s.length;
  }
  return parts.join('\n');
}

/**
 * The pool's initializer: renders a sample `rounds` times, so that V8 has compiled and optimized
 * marked before the worker takes a request (a cold worker renders ~10× slower for its first calls).
 * With 'fork' this happens in the spare, before any hand-over, off the requests' path.
 */
export function warmUp(rounds: number): void {
  const sample = sampleDocument(4);
  for (let i = 0; i < rounds; i++) render(sample);
}

/**
 * The other handler: a password-style key derivation (node:crypto's PBKDF2, OpenSSL's work), CPU-bound
 * like rendering but native code, so a fresh worker is as fast as an old one (no JIT to warm up).
 */
export function derive(text: string, iterations: number): string {
  return pbkdf2Sync(text, 'procpool-demo', iterations, 32, 'sha256').toString('hex');
}
