// The shape of lib/: small files, no import cycles, and layers that only import downwards.
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(__dirname, '..', 'lib');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The lib files a file imports (relative imports, types included), as paths relative to lib/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:import|export)[^'"]*?from\s+'(\.{1,2}\/[^']+)'/g)) {
    let target = resolve(dirname(file), match[1]);
    try {
      if (statSync(target).isDirectory()) target = join(target, 'index');
    } catch {
      // A file: the import names it without its extension.
    }
    found.push(relative(root, `${target}.ts`));
  }
  return found;
}

const files = sources(root);
const graph = new Map(files.map((file) => [relative(root, file), importsOf(file)]));

/** The first import cycle found, as a list of files, or undefined. */
function findCycle(): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('layout of lib/', () => {
  it('has no file over 400 lines', () => {
    const long = files.map((file) => ({ file: relative(root, file), lines: readFileSync(file, 'utf8').split('\n').length })).filter((f) => f.lines > 400);
    expect(long).to.deep.equal([]);
  });

  it('has no import cycle', () => {
    expect(findCycle()).to.equal(undefined);
  });

  it('keeps layers apart: the child side never imports the parent side, leaves import no layer above them', () => {
    const rules: [string, string[]][] = [
      // The worker process and the forkserver template: no pool, channel or launcher code.
      ['worker/', ['pool/', 'channel/', 'launchers/', 'process.ts', 'context.ts']],
      // The wire format is shared by both sides and depends on neither.
      ['transport/', ['pool/', 'channel/', 'launchers/', 'worker/', 'shared/']],
      ['channel/', ['pool/', 'launchers/', 'worker/']],
      ['launchers/', ['pool/', 'worker/', 'options.ts', 'process.ts', 'context.ts']],
      ['platform/', ['pool/', 'channel/', 'launchers/', 'worker/', 'transport/', 'shared/']],
      // Shared memory is used by both sides and by the pool; it knows none of them.
      ['shared/', ['pool/', 'channel/', 'launchers/', 'worker/', 'process.ts', 'context.ts', 'sync/', 'queues/', 'manager/']],
      // Coordination builds on shared memory only; queues on coordination; none of them knows the pool.
      ['sync/', ['pool/', 'channel/', 'launchers/', 'worker/', 'process.ts', 'context.ts', 'queues/', 'manager/']],
      ['queues/', ['pool/', 'channel/', 'launchers/', 'worker/', 'process.ts', 'context.ts', 'manager/']],
      ['manager/', ['pool/', 'channel/', 'worker/', 'process.ts', 'context.ts']],
      ['util/', ['pool/', 'channel/', 'launchers/', 'worker/', 'transport/']],
      // The cluster backend stands beside the local engine: it reuses the pool's tasks and jobs,
      // never the local engine's workers, channels or launchers; and no one below the pool knows it.
      ['cluster/', ['channel/', 'launchers/', 'worker/', 'pool/engine.ts', 'pool/supervisor.ts', 'pool/pool-worker.ts']],
      ['transport/', ['cluster/']],
      ['shared/', ['cluster/']],
    ];
    const broken: string[] = [];
    for (const [file, targets] of graph) {
      for (const [layer, forbidden] of rules) {
        if (!file.startsWith(layer)) continue;
        for (const target of targets) if (forbidden.some((f) => target.startsWith(f))) broken.push(`${file} → ${target}`);
      }
    }
    expect(broken).to.deep.equal([]);
  });

  it('the check sees imports (it would catch a cycle)', () => {
    expect(graph.get('pool/engine.ts')).to.include('pool/supervisor.ts');
    expect(graph.get('pool/supervisor.ts')).to.include('pool/pool-worker.ts');
  });
});
