// Python's multiprocessing.Pool, when python3 is installed, under the benchmark (fork start method).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Adapter } from '../adapter';

const run = promisify(execFile);
// The .py file is not compiled: it sits in scripts/, next to this file's source.
const SCRIPT = join(__dirname, '..', '..', '..', '..', 'scripts', 'bench', 'peers', 'python_pool.py');

export function pythonAdapter(method: 'fork' | 'spawn' | 'forkserver'): Adapter {
  return {
    name: `Python 3 Pool (${method})`,
    short: 'Python',
    async available() {
      try {
        await run('python3', ['--version']);
        return true;
      } catch {
        return 'python3 is not installed';
      }
    },
    async external(workers, runs) {
      const { stdout } = await run('python3', [SCRIPT, String(workers), String(runs), method], { maxBuffer: 1 << 20, timeout: 600_000 });
      return JSON.parse(stdout) as Record<string, number[]>;
    },
  };
}
