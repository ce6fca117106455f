// The README's examples are programs: every block that starts with `// example: NAME` is written
// out, type-checked against the built package, compiled and (if it asserts anything) run.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';
import { AgentProcess, RedisServer, skipWithoutRedis } from './support/cluster';
import { tempDir } from './support/tmp';

const root = join(__dirname, '..');
const run = promisify(execFile);

interface Example {
  readonly name: string;
  readonly code: string;
}

function examples(): Example[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const found: Example[] = [];
  for (const match of readme.matchAll(/```(?:js|ts)\n\/\/ example: (\S+)\n([\s\S]*?)```/g)) {
    found.push({ name: match[1], code: match[2] });
  }
  return found;
}

describe('README examples', function () {
  this.timeout(120000);
  const dir = tempDir('readme');
  const src = join(dir, 'src');
  const out = join(dir, 'out');
  const all = examples();

  let diagnostics: string[] = [];

  before(() => {
    mkdirSync(src);
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'procpool'));
    // The Prometheus example imports prom-client (a devDependency) as an application would.
    symlinkSync(join(root, 'node_modules', 'prom-client'), join(dir, 'node_modules', 'prom-client'));
    for (const example of all) writeFileSync(join(src, example.name), example.code);
    const program = ts.createProgram(
      all.map((e) => join(src, e.name)),
      {
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        target: ts.ScriptTarget.ES2022,
        lib: ['lib.es2022.d.ts', 'lib.esnext.disposable.d.ts'],
        strict: true,
        allowJs: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(root, 'node_modules', '@types')],
        outDir: out,
      },
    );
    diagnostics = ts
      .getPreEmitDiagnostics(program)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n') + (d.file ? ` (${d.file.fileName})` : ''));
    program.emit();
  });

  it('has examples for the tour, lifecycle, crashes, task references and contexts', () => {
    expect(all.map((e) => e.name)).to.include.members(['tasks.js', 'tour.mts', 'lifecycle.mts', 'crash.mts', 'typed.mts', 'contexts.mts', 'shared.mts', 'coordination.mts']);
  });

  it('has examples for running a service: backpressure, progress, Prometheus, tracing, shutdown', () => {
    expect(all.map((e) => e.name)).to.include.members(['backpressure.mts', 'progress.mts', 'prometheus.mts', 'tracing.mts', 'service.mts', 'shutdown.mts']);
  });

  it('type-checks every example against the built package', () => {
    expect(diagnostics).to.deep.equal([]);
  });

  for (const example of examples().filter((e) => e.code.includes('assert'))) {
    it(`runs ${example.name}`, async () => {
      const file = join(out, example.name.replace(/\.mts$/, '.mjs'));
      const { stderr } = await run(process.execPath, [file], { cwd: out, timeout: 90000 }).catch((error: { stderr?: string; message: string }) => {
        throw new Error(`${example.name} failed:\n${error.stderr ?? error.message}`);
      });
      expect(stderr).to.not.match(/AssertionError/);
    });
  }

  it('runs cluster.mts against a redis-server and two agents of its own, rooted where the example lives', async function () {
    skipWithoutRedis(this);
    const redis = await RedisServer.start();
    const agents = await Promise.all([1, 2].map(() => AgentProcess.start(redis.url, 'demo', 2, ['--root', out])));
    try {
      const { stdout } = await run(process.execPath, [join(out, 'cluster.mjs')], { cwd: out, timeout: 90000, env: { ...process.env, PROCPOOL_REDIS: redis.url } });
      expect(stdout).to.include('[ 1, 4, 9, 16 ]');
      expect(stdout.trim().split('\n').slice(1).map(Number).sort()).to.deep.equal([25, 36, 49]);
    } finally {
      await Promise.all(agents.map((agent) => agent.terminate()));
      await redis.stop();
    }
  });
});
