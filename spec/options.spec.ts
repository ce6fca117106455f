// Option defaults and checks, and what workers inherit from the parent's command line.
import { expect } from 'chai';
import { inheritExecArgv } from '../lib/launchers/exec-argv';
import { resolvePoolOptions } from '../lib/options';
import { defaultChunksize } from '../lib/pool/jobs';
import { InvalidArgumentError } from '../lib';

describe('options', () => {
  it('workers inherit Node options but not inspector, eval, watch or TypeScript hooks', () => {
    expect(
      inheritExecArgv([
        '--max-old-space-size=300',
        '--inspect=9229',
        '-r',
        'ts-node/register',
        '--require=ts-node/register/transpile-only',
        '-r',
        './my-hook.js',
        '-e',
        'console.log(1)',
        '--enable-source-maps',
        '--watch',
      ]),
    ).to.deep.equal(['--max-old-space-size=300', '-r', './my-hook.js', '--enable-source-maps']);
  });

  it('quotes the bad value in every option error', () => {
    expect(() => resolvePoolOptions({ processes: 1.5 })).to.throw(InvalidArgumentError, /`processes`.*got `1.5`/);
    expect(() => resolvePoolOptions({ maxTasksPerChild: 0 })).to.throw(InvalidArgumentError, /`maxTasksPerChild`/);
    expect(() => resolvePoolOptions({ initargs: 'x' as never })).to.throw(InvalidArgumentError, /`initargs`.*got `"x"`/);
    expect(() => resolvePoolOptions({ cwd: 3 as never })).to.throw(InvalidArgumentError, /`cwd`/);
  });

  it('defaults to one worker per CPU, the parent env and cwd', () => {
    const resolved = resolvePoolOptions({});
    expect(resolved.processes).to.be.at.least(1);
    expect(resolved.launch.cwd).to.equal(process.cwd());
    expect(resolved.startMethod).to.equal('spawn');
    expect(resolved.launch.env.PATH).to.equal(process.env.PATH);
  });

  it('finds the TypeScript hook of this process (mocha --require ts-node/register)', () => {
    expect(resolvePoolOptions({}).tsLoader).to.match(/ts-node[\\/]register[\\/]index\.js$/);
  });

  it('default chunksize follows CPython: ceil(n / (4 * workers))', () => {
    expect(defaultChunksize(100, 2)).to.equal(13);
    expect(defaultChunksize(8, 2)).to.equal(1);
    expect(defaultChunksize(20000, 2)).to.equal(2500);
    expect(defaultChunksize(1, 8)).to.equal(1);
  });
});
