// Python's module-level functions: contexts, the default start method, process identity.
import { expect } from 'chai';
import {
  InvalidArgumentError,
  InvalidStateError,
  cpuCount,
  currentProcess,
  getAllStartMethods,
  getContext,
  getStartMethod,
  parentProcess,
  setStartMethod,
} from '../lib';

describe('contexts', () => {
  afterEach(() => setStartMethod('spawn', { force: true }));

  it('set the start method once, like Python; force changes it again', () => {
    setStartMethod('fork', { force: true });
    expect(getStartMethod()).to.equal('fork');
    expect(() => setStartMethod('spawn')).to.throw(InvalidStateError, /already set/);
    setStartMethod('forkserver', { force: true });
    expect(getStartMethod()).to.equal('forkserver');
    expect(getContext().startMethod).to.equal('forkserver');
    expect(() => setStartMethod('vfork' as never, { force: true })).to.throw(InvalidArgumentError);
  });

  it('a context makes pools and processes with its own start method', async () => {
    setStartMethod('spawn', { force: true });
    const ctx = getContext('fork');
    expect(ctx.getStartMethod()).to.equal('fork');
    const pool = ctx.Pool({ processes: 1 });
    expect(pool.startMethod).to.equal('fork');
    await pool.terminate();
    expect(() => getContext('nope' as never)).to.throw(InvalidArgumentError);
  });

  it('lists the start methods and the CPU count; names the main process', () => {
    expect(getAllStartMethods()).to.deep.equal(['spawn', 'fork', 'forkserver']);
    expect(cpuCount()).to.be.at.least(1);
    expect(currentProcess()).to.deep.equal({ name: 'MainProcess', pid: process.pid });
    expect(parentProcess()).to.equal(null);
  });
});
