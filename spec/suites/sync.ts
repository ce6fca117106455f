// Coordination between processes, per start method, modelled on CPython's _TestLock, _TestSemaphore,
// _TestEvent, _TestCondition, _TestBarrier and _TestValue, plus the dead-holder cases Python lacks.
import { expect } from 'chai';
import {
  Barrier,
  BoundedSemaphore,
  BrokenBarrierError,
  Condition,
  Event,
  InvalidArgumentError,
  Lock,
  RawValue,
  ReleaseError,
  RLock,
  Semaphore,
  SharedArray,
  Value,
  WorkerLostError,
  type StartMethod,
} from '../../lib';
import * as tasks from '../../fixtures/sync-tasks';
import { trackPools } from '../support/pools';
import { waitFor } from '../support/processes';

const DEADLINE = 20_000;

export function syncSuite(method: StartMethod): void {
  describe('coordination: locks, semaphores, events, conditions, barriers, values', () => {
    const pools = trackPools(method);

    it('Python’s counter: 2 workers × 20 000 locked `v.value += 1` give exactly 40 000', async () => {
      const pool = pools.create({ processes: 2 });
      const v = new Value('i', 0);
      const pids = await pool.starmap(tasks.lockedCount, [
        [v, 20_000],
        [v, 20_000],
      ]);
      expect(v.value).to.equal(40_000);
      expect(pids).to.have.length(2);
      // The same through holdSync() disposal, on a Value given its own lock.
      const w = new Value('i', 0, { lock: new Lock() });
      await pool.starmap(tasks.heldCount, [
        [w, 5_000],
        [w, 5_000],
      ]);
      expect(w.value).to.equal(10_000);
    });

    it('a Lock held by the parent blocks a worker until released; acquireSync(ms) times out with false', async () => {
      const pool = pools.create({ processes: 1 });
      const lock = new Lock();
      expect(await lock.acquire()).to.equal(true);
      expect(lock.locked()).to.equal(true);
      expect(lock.owner()).to.equal(process.pid);
      expect(await pool.apply(tasks.tryLock, [lock, 50])).to.equal(false);
      const waiting = pool.apply(tasks.tryLock, [lock, DEADLINE]);
      lock.release();
      expect(await waiting).to.equal(true);
      expect(lock.locked()).to.equal(false);
      expect(() => lock.release()).to.throw(ReleaseError);
      expect(() => lock.acquireSync(-1)).to.throw(InvalidArgumentError);
      await lock.acquire(Number.NaN).then(
        () => expect.fail('a NaN timeout was taken'),
        (e: unknown) => expect(e).to.be.instanceOf(InvalidArgumentError),
      );
      expect(lock.locked()).to.equal(false);
    });

    it('a worker’s hold blocks the parent’s async acquire, which never blocks the event loop', async () => {
      const pool = pools.create({ processes: 1 });
      const lock = new Lock();
      const [held, release] = [new Event(), new Event()];
      const holder = pool.apply(tasks.holdUntil, [lock, held, release]);
      expect(await held.wait(DEADLINE)).to.equal(true);
      expect(await lock.acquire(0)).to.equal(false);
      let ticks = 0;
      const ticker = setInterval(() => ticks++, 1);
      const acquired = lock.acquire(DEADLINE);
      await waitFor(() => ticks >= 3, DEADLINE);
      release.set();
      expect(await acquired).to.equal(true);
      clearInterval(ticker);
      expect(lock.previousOwnerDied).to.equal(false);
      lock.release();
      expect(await holder).to.be.a('number');
    });

    for (const kind of ['Lock', 'RLock'] as const) {
      it(`a worker killed while holding a ${kind} does not wedge the others: the next owner takes over and is told`, async () => {
        const pool = pools.create({ processes: 2 });
        const lock = kind === 'Lock' ? new Lock() : new RLock();
        const taken = new Event();
        const dying = pool.apply(tasks.takeAndDie, [lock, taken]).catch((e: unknown) => e);
        expect(await taken.wait(DEADLINE)).to.equal(true);
        expect(await dying).to.be.instanceOf(WorkerLostError);
        const report = await pool.apply(tasks.acquireReport, [lock]);
        expect(report.previousOwnerDied).to.equal(true);
        // The lock works on: the parent takes it normally.
        expect(lock.acquireSync(DEADLINE)).to.equal(true);
        expect(lock.previousOwnerDied).to.equal(false);
        lock.release();
      });
    }

    it('RLock: re-entrant for its process, depth counted; a non-owner’s release throws ReleaseError', async () => {
      const pool = pools.create({ processes: 1 });
      const rlock = new RLock();
      expect(rlock.acquireSync()).to.equal(true);
      expect(await rlock.acquire()).to.equal(true);
      expect(rlock.depth).to.equal(2);
      expect(await pool.apply(tasks.tryLock, [rlock, 0])).to.equal(false);
      rlock.release();
      expect(rlock.locked()).to.equal(true);
      rlock.release();
      expect(rlock.locked()).to.equal(false);
      expect(() => rlock.release()).to.throw(ReleaseError, /does not hold/);
      const [held, release] = [new Event(), new Event()];
      const holder = pool.apply(tasks.holdUntil, [rlock, held, release]);
      await held.wait(DEADLINE);
      expect(() => rlock.release()).to.throw(ReleaseError);
      release.set();
      await holder;
    });

    it('Semaphore: at most its value inside at once, across processes; getValue; a killed holder’s permit comes back', async () => {
      const pool = pools.create({ processes: 3 });
      const sem = new Semaphore(2);
      const [inside, most, gate] = [new RawValue('int32', 0), new RawValue('int32', 0), new Event()];
      const runs = [0, 1, 2].map(() => pool.apply(tasks.inside, [sem, inside, most, gate]));
      expect(await waitFor(() => inside.value === 2, DEADLINE)).to.equal(true);
      expect(sem.getValue()).to.equal(0);
      gate.set();
      await Promise.all(runs);
      expect(most.value).to.equal(2);
      expect(sem.getValue()).to.equal(2);
      const taken = new Event();
      const dying = pool.apply(tasks.takeAndDie, [sem, taken]).catch((e: unknown) => e);
      await taken.wait(DEADLINE);
      expect(await dying).to.be.instanceOf(WorkerLostError);
      expect(sem.getValue()).to.equal(1);
      // Waiting for 2 permits' worth: the dead holder's comes back while the parent waits.
      expect(await sem.acquire(DEADLINE)).to.equal(true);
      expect(await sem.acquire(DEADLINE)).to.equal(true);
      expect(await sem.acquire(0)).to.equal(false);
      sem.release(2);
      expect(sem.getValue()).to.equal(2);
    });

    it('BoundedSemaphore throws ReleaseError on over-release; Semaphore does not', () => {
      const bounded = new BoundedSemaphore(1);
      expect(() => bounded.release()).to.throw(ReleaseError, /too many/);
      expect(bounded.acquireSync(0)).to.equal(true);
      bounded.release();
      const sem = new Semaphore(0);
      sem.release(3);
      expect(sem.getValue()).to.equal(3);
    });

    it('Event: workers ping-pong through two events; wait(ms) resolves false when unset', async () => {
      const pool = pools.create({ processes: 2 });
      const [a, b] = [new Event(), new Event()];
      expect(await a.wait(10)).to.equal(false);
      expect(a.waitSync(0)).to.equal(false);
      expect(
        await pool.starmap(tasks.pingPong, [
          [a, b, 500, true],
          [b, a, 500, false],
        ]),
      ).to.deep.equal([500, 500]);
      a.set();
      expect(a.isSet()).to.equal(true);
      expect(await a.wait()).to.equal(true);
      a.clear();
      expect(a.isSet()).to.equal(false);
    });

    it('Condition: notify(1) wakes one waiter, notifyAll the rest; waitFor sees the predicate; misuse throws', async () => {
      const pool = pools.create({ processes: 2 });
      const cond = new Condition();
      const flag = new Value('i', 0);
      const waiting = new RawValue('int32', 0);
      const waiters = [0, 1].map(() => pool.apply(tasks.waitForFlag, [cond, flag, waiting]));
      expect(await waitFor(() => waiting.value === 2, DEADLINE)).to.equal(true);
      // Both are inside wait() once the lock is free again with both counted.
      await cond.acquire();
      flag.value = 1;
      cond.notifyAll();
      cond.release();
      expect(await Promise.all(waiters)).to.deep.equal([true, true]);
      expect(() => cond.notify()).to.throw(/needs the condition's lock/);
      await cond.acquire();
      expect(await cond.wait(20)).to.equal(false);
      expect(cond.waitForSync(() => flag.value === 1, 0)).to.equal(true);
      cond.release();
    });

    it('Barrier: each party gets its own index; a timeout breaks it; abort and reset', async () => {
      const pool = pools.create({ processes: 2 });
      const barrier = new Barrier(3);
      const results = await Promise.all([pool.apply(tasks.barrierWait, [barrier]), pool.apply(tasks.barrierWaitAsync, [barrier]), barrier.wait(DEADLINE)]);
      expect([...results].sort()).to.deep.equal([0, 1, 2]);
      expect(barrier.parties).to.equal(3);
      const lonely = new Barrier(2);
      expect(await pool.apply(tasks.barrierWait, [lonely, 30])).to.equal('BrokenBarrierError');
      expect(lonely.broken).to.equal(true);
      await lonely.wait().then(
        () => expect.fail('a broken barrier let a waiter through'),
        (e: unknown) => expect(e).to.be.instanceOf(BrokenBarrierError),
      );
      lonely.reset();
      expect(lonely.broken).to.equal(false);
      const both = await Promise.all([pool.apply(tasks.barrierWait, [lonely]), lonely.wait(DEADLINE)]);
      expect([...both].sort()).to.deep.equal([0, 1]);
      const aborted = pool.apply(tasks.barrierWait, [lonely]);
      await waitFor(() => lonely.nWaiting === 1, DEADLINE);
      lonely.abort();
      expect(await aborted).to.equal('BrokenBarrierError');
    });

    it('Barrier: a party killed before arriving breaks it, and the waiters are released', async () => {
      const pool = pools.create({ processes: 2 });
      const barrier = new Barrier(3);
      const joined = new Event();
      const dying = pool.apply(tasks.joinAndDie, [barrier, joined]).catch((e: unknown) => e);
      await joined.wait(DEADLINE);
      expect(await dying).to.be.instanceOf(WorkerLostError);
      const waiter = pool.apply(tasks.barrierWait, [barrier]);
      const mine = barrier.wait().catch((e: unknown) => e);
      expect(await waiter).to.equal('BrokenBarrierError');
      expect(await mine).to.be.instanceOf(BrokenBarrierError);
    });

    it('Value and SharedArray: Python’s typecodes, getLock/getObj, { lock: false }, a lock of your own', async () => {
      const pool = pools.create({ processes: 1 });
      const v = new Value('d', 1.5);
      expect(v.type).to.equal('float64');
      expect(v.getLock()).to.be.instanceOf(RLock);
      expect(v.getObj().value).to.equal(1.5);
      const a = new SharedArray('i', [1, 2, 3]);
      expect([...a]).to.deep.equal([1, 2, 3]);
      expect(a.length).to.equal(3);
      const echoed = (await pool.apply(tasks.echo, [{ v, a }])) as { v: typeof v; a: typeof a };
      echoed.a.array[0] = 10;
      echoed.v.value = 2.5;
      expect(a.array[0]).to.equal(10);
      expect(v.value).to.equal(2.5);
      const lock = new Lock();
      expect(new Value('i', 0, { lock }).getLock()).to.equal(lock);
      expect(() => new Value('i', 0, { lock: false }).getLock()).to.throw(/no lock/);
    });

    it('objects a worker makes come back as themselves: a Lock it holds is held here too', async () => {
      const pool = pools.create({ processes: 1 });
      const { lock, event } = await pool.apply(tasks.makeHere, []);
      expect(lock).to.be.instanceOf(Lock);
      expect(lock.locked()).to.equal(true);
      event.set();
      expect(event.isSet()).to.equal(true);
    });

    it('an object made in the call lives as long as its task: pool.apply(f, [new Lock()]) survives a collection while queued', async () => {
      const pool = pools.create({ processes: 1 });
      const [held, release] = [new Event(), new Event()];
      const busy = pool.apply(tasks.holdUntil, [new Lock(), held, release]);
      expect(await held.wait(DEADLINE)).to.equal(true);
      // Queued behind the busy task: nothing here references its lock but the task's payload.
      const queued = pool.apply(tasks.tryLock, [new Lock(), 0]);
      const gc = (globalThis as { gc?: () => void }).gc;
      expect(gc, 'run the specs with --expose-gc').to.be.a('function');
      for (let i = 0; i < 3; i++) {
        gc?.();
        await new Promise((resolve) => setImmediate(resolve));
      }
      release.set();
      expect(await queued).to.equal(true);
      expect(await busy).to.be.a('number');
    });

    it('initargs: a Lock given to the initializer is the same lock in every worker', async () => {
      const lock = new Lock();
      const pool = pools.create({ processes: 2, initializer: tasks.keepLock, initargs: [lock] });
      lock.acquireSync();
      expect(await pool.map(tasks.tryKept, [0, 0])).to.deep.equal([false, false]);
      lock.release();
      expect(await pool.map(tasks.tryKept, [DEADLINE, DEADLINE])).to.deep.equal([true, true]);
    });
  });
}
