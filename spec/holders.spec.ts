// The holder table's death accounting (semaphore permits, queue items taken and not done), in process.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { Holders } from '../lib/sync/holders';

/** A pid that was a process a moment ago and is gone now. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', ''], { stdio: 'ignore' }).pid as number;
}

describe('holder table', () => {
  it('counts what this process holds in its own row, never below 0', () => {
    const i32 = new Int32Array(8);
    const holders = new Holders(i32, 2, 3, () => expect.fail('nothing died'));
    holders.add(2);
    expect([i32[2], i32[3]]).to.deep.equal([process.pid, 2]);
    holders.sub(5);
    expect(i32[3]).to.equal(0);
  });

  it('gives back what dead processes held, and frees their rows', () => {
    const i32 = new Int32Array(6);
    const given: number[] = [];
    const holders = new Holders(i32, 0, 3, (n) => given.push(n));
    i32.set([deadPid(), 2, process.ppid, 5, deadPid(), 1]);
    holders.reclaim();
    expect(given).to.deep.equal([3]);
    expect([...i32]).to.deep.equal([0, 0, process.ppid, 5, 0, 0]);
  });

  it('when every row is taken, frees the rows of dead processes before going uncounted', () => {
    const i32 = new Int32Array(4);
    const given: number[] = [];
    const holders = new Holders(i32, 0, 2, (n) => given.push(n));
    i32.set([process.ppid, 1, deadPid(), 4]);
    holders.add(1);
    expect(given).to.deep.equal([4]);
    expect([...i32]).to.deep.equal([process.ppid, 1, process.pid, 1]);
    const full = new Holders(new Int32Array([process.ppid, 1, process.ppid, 1]), 0, 2, () => expect.fail('nothing died'));
    full.add(1); // no row: counted nowhere, and no error
  });
});
