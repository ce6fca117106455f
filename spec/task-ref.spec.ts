// How functions are named across the process boundary.
import { expect } from 'chai';
import { join } from 'node:path';
import { resolveTask, taskRef } from '../lib/tasks/task-ref';
import { TaskReferenceError } from '../lib';
import * as tasks from '../fixtures/tasks';

const fixtures = join(__dirname, '..', 'fixtures');

/** Lookups turn asynchronous once an ES module has registered; either way they must fail. */
async function lookupError(fn: unknown): Promise<Error> {
  try {
    await resolveTask(fn);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the lookup to fail');
}

describe('task references', () => {
  it('finds an exported function of a loaded CommonJS/TypeScript module', () => {
    expect(resolveTask(tasks.square)).to.deep.equal({ module: join(fixtures, 'tasks.js'), name: 'square' });
  });

  it('never calls getters while searching (TypeScript re-exports are getters)', async () => {
    let called = false;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('../fixtures/plain-tasks');
    const mod = require.cache[require.resolve('../fixtures/plain-tasks')];
    expect(mod).to.not.equal(undefined);
    Object.defineProperty(mod!.exports, 'trap', {
      enumerable: true,
      configurable: true,
      get() {
        called = true;
        return undefined;
      },
    });
    try {
      expect(await lookupError(function unknown() {})).to.be.instanceOf(TaskReferenceError);
      expect(called).to.equal(false);
    } finally {
      delete (mod!.exports as Record<string, unknown>).trap;
    }
  });

  it('rejects closures with an error that explains how to export', async () => {
    const error = await lookupError(() => 1);
    expect(error).to.be.instanceOf(TaskReferenceError);
    expect(error.message).to.match(/cannot be sent to a worker.*Export it from a module/s);
  });

  it('normalizes explicit references: relative paths, file URLs, objects', () => {
    expect(taskRef('./fixtures/tasks.ts', 'square').module).to.equal(join(process.cwd(), 'fixtures', 'tasks.ts'));
    expect(taskRef(new URL(`file://${fixtures}/tasks.ts`), 'square').module).to.equal(join(fixtures, 'tasks.ts'));
    expect(resolveTask({ module: 'some-package', name: 'fn' })).to.deep.equal({ module: 'some-package', name: 'fn' });
    expect(() => taskRef('x', '')).to.throw(TaskReferenceError);
    expect(() => resolveTask(null)).to.throw(TaskReferenceError);
  });
});
