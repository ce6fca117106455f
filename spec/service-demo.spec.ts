// The service demo (scripts/service-demo), scaled down: a node:http server renders markdown in a
// pool under autocannon's load while its workers are SIGKILLed. Only correctness is asserted:
// nothing hangs, only requests whose worker was killed fail, each with a 500. Its speed figures
// belong to `npm run service-demo`, not to a spec.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DemoRun } from '../scripts/service-demo';
import { tempFile } from './support/tmp';

const run = promisify(execFile);
const demo = join(__dirname, '..', 'dist', 'scripts', 'service-demo', 'index.js');

describe('service demo (node:http + marked + autocannon, workers SIGKILLed)', function () {
  this.timeout(120_000);

  for (const method of ['fork', 'spawn', 'forkserver']) {
    it(`serves under load with '${method}' while a worker is killed every 500 ms: no hung request, failures only from kills, each a 500`, async () => {
      const json = tempFile('service-demo', 'runs.json');
      await run(process.execPath, [demo, '--methods', method, '--duration', '2', '--kill-every', '500', '--connections', '4', '--json', json], { timeout: 100_000 });
      const [calm, faulty] = JSON.parse(readFileSync(json, 'utf8')) as DemoRun[];
      expect(calm.served).to.be.above(0);
      expect(calm.failed).to.deep.equal({});
      expect(calm.hung).to.equal(0);
      expect(faulty.served).to.be.above(0);
      expect(faulty.hung).to.equal(0);
      expect(faulty.kills).to.be.above(0);
      // A killed worker costs at most the one request it was rendering; the rest run elsewhere.
      expect(Object.keys(faulty.failed).every((status) => status === '500')).to.equal(true);
      expect(faulty.failed['500'] ?? 0).to.be.at.most(faulty.kills);
    });
  }
});
