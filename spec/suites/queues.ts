// Message passing between processes, per start method, modelled on CPython's _TestQueue,
// _TestConnection and the manager tests, plus the deaths Python does not survive.
import { expect } from 'chai';
import {
  ClosedError,
  Event,
  InvalidStateError,
  JoinableQueue,
  Lock,
  Manager,
  ManagerClosedError,
  Pipe,
  Process,
  Queue,
  SerializationError,
  QueueEmptyError,
  QueueFullError,
  SimpleQueue,
  WorkerLostError,
  type StartMethod,
} from '../../lib';
import * as tasks from '../../fixtures/sync-tasks';
import { trackPools } from '../support/pools';
import { waitFor } from '../support/processes';

const DEADLINE = 20_000;

export function queueSuite(method: StartMethod): void {
  describe('message passing: queues, pipes, the Manager', () => {
    const pools = trackPools(method);

    it('Queue: first in, first out, from worker to worker and to the parent; qsize/empty/full', async () => {
      const pool = pools.create({ processes: 2 });
      const q = new Queue<number>();
      expect(q.empty()).to.equal(true);
      const [sent, got] = await Promise.all([pool.apply(tasks.produce, [q, 0, 5000]), pool.apply(tasks.consume, [q, 4000])]);
      expect(sent).to.equal(5000);
      expect(got).to.deep.equal(Array.from({ length: 4000 }, (_, i) => i));
      expect(q.qsize()).to.equal(1000);
      const rest: number[] = [];
      for (let i = 0; i < 1000; i++) rest.push(await q.get());
      expect(rest[0]).to.equal(4000);
      expect(rest[999]).to.equal(4999);
      expect(q.empty()).to.equal(true);
    });

    it('Queue: a message that cannot be serialized is a SerializationError, and the queue goes on', async () => {
      const q = new Queue<unknown>(1);
      expect(() => q.putSync(() => 1)).to.throw(SerializationError);
      await q.put({ f: Symbol('no') }).then(
        () => expect.fail('an unserializable message was put'),
        (e: unknown) => expect(e).to.be.instanceOf(SerializationError),
      );
      q.putNowait('fine');
      expect(q.getNowait()).to.equal('fine');
    });

    it('Queue: maxsize makes putNowait throw QueueFullError; getNowait and a timed get throw QueueEmptyError', async () => {
      const q = new Queue<string>(2);
      q.putNowait('a');
      await q.put('b');
      expect(q.full()).to.equal(true);
      expect(() => q.putNowait('c')).to.throw(QueueFullError);
      await q.put('c', 10).then(
        () => expect.fail('a full queue took a put'),
        (e: unknown) => expect(e).to.be.instanceOf(QueueFullError),
      );
      expect(q.getNowait()).to.equal('a');
      expect(q.getSync()).to.equal('b');
      expect(() => q.getNowait()).to.throw(QueueEmptyError);
      await q.get(10).then(
        () => expect.fail('an empty queue gave an item'),
        (e: unknown) => expect(e).to.be.instanceOf(QueueEmptyError),
      );
    });

    it('Queue: a put blocked on maxsize goes through when a worker takes an item', async () => {
      const pool = pools.create({ processes: 1 });
      const q = new Queue<number>(1);
      await q.put(1);
      const blocked = q.put(2, DEADLINE);
      expect(await pool.apply(tasks.consume, [q, 2])).to.deep.equal([1, 2]);
      await blocked;
    });

    it('Queue: messages of any size (larger than its buffer) and shared objects inside them arrive whole', async () => {
      const pool = pools.create({ processes: 1 });
      const q = new Queue<Uint8Array>(0, { bufferBytes: 64 * 1024 });
      const big = pool.apply(tasks.putBig, [q, 1_000_000, 9]);
      const message = await q.get(DEADLINE);
      expect(message.length).to.equal(1_000_000);
      expect(message.every((b) => b === 9)).to.equal(true);
      expect(await big).to.equal(1_000_000);
      const carrier = new Queue<{ lock: Lock }>();
      const lock = new Lock();
      await carrier.put({ lock });
      const echoed = await pool.apply(tasks.consume, [carrier, 1]);
      expect(echoed[0].lock).to.be.instanceOf(Lock);
      lock.acquireSync();
      expect(echoed[0].lock.locked()).to.equal(true);
      lock.release();
    });

    it('Queue: a writer killed in the middle of a large message leaves no torn message behind', async () => {
      const pool = pools.create({ processes: 1 });
      const q = new Queue<Uint8Array | string>(0, { bufferBytes: 64 * 1024 });
      const ring = (q as unknown as { core: { ring: { used(): number } } }).core.ring;
      const writer = pool.apply(tasks.putBigForever, [q, 1_000_000]).catch((e: unknown) => e);
      // The writer fills the ring and waits for a reader that does not come.
      expect(await waitFor(() => ring.used() >= 32 * 1024, DEADLINE)).to.equal(true);
      expect(q.qsize()).to.equal(0);
      pool.terminate();
      expect(await writer).to.be.instanceOf(Error);
      await q.put('after', DEADLINE);
      expect(await q.get(DEADLINE)).to.equal('after');
      expect(q.empty()).to.equal(true);
    });

    it('JoinableQueue: join waits for taskDone of every item; an extra taskDone throws; a consumer killed mid-item does not wedge join', async () => {
      const pool = pools.create({ processes: 2 });
      const q = new JoinableQueue<number | null>();
      for (let i = 0; i < 100; i++) await q.put(i);
      await q.put(null);
      expect(await pool.apply(tasks.drainJoinable, [q])).to.equal(100);
      expect(await q.join(DEADLINE)).to.equal(true);
      expect(() => q.taskDone()).to.throw(InvalidStateError);
      await q.put(1);
      const taken = new Event();
      const dying = pool.apply(tasks.takeAndDieBeforeDone, [q, taken]).catch((e: unknown) => e);
      await taken.wait(DEADLINE);
      expect(await dying).to.be.instanceOf(WorkerLostError);
      expect(await q.join(DEADLINE)).to.equal(true);
    });

    it('SimpleQueue and close(): a closed queue throws ClosedError in this process only', async () => {
      const pool = pools.create({ processes: 1 });
      const q = new SimpleQueue<string>();
      q.putSync('x');
      expect(q.empty()).to.equal(false);
      q.close();
      expect(() => q.putSync('y')).to.throw(ClosedError);
      await q.get().then(
        () => expect.fail('a closed queue gave an item'),
        (e: unknown) => expect(e).to.be.instanceOf(ClosedError),
      );
      expect(await pool.apply(tasks.consume, [q, 1])).to.deep.equal(['x']);
    });

    it('Pipe: duplex ends talk both ways with a worker; poll; Pipe(false) is [receiver, sender]; closed and wrong-way ends throw', async () => {
      const pool = pools.create({ processes: 1 });
      const [here, there] = Pipe<number | null>();
      const doubling = pool.apply(tasks.doubler, [there]);
      expect(await here.poll()).to.equal(false);
      await here.send(21);
      expect(await here.poll(DEADLINE)).to.equal(true);
      expect(await here.recv()).to.equal(42);
      here.sendSync(5);
      expect(here.recvSync()).to.equal(10);
      await here.send(null);
      expect(await doubling).to.equal(2);
      const [receiver, sender] = Pipe<string>(false);
      expect([receiver.readable, receiver.writable, sender.readable, sender.writable]).to.deep.equal([true, false, false, true]);
      await sender.send('one way');
      expect(await receiver.recv()).to.equal('one way');
      expect(() => receiver.sendSync('back')).to.throw(InvalidStateError);
      sender[Symbol.dispose]();
      expect(sender.closed).to.equal(true);
      expect(() => sender.sendSync('more')).to.throw(ClosedError);
    });

    it('Manager: a dict, a list and a namespace shared by workers; errors keep their class; shutdown ends every proxy', async () => {
      const pool = pools.create({ processes: 2 });
      const manager = await Manager.start();
      try {
        const d = manager.dict<string, number>([['a', 1]]);
        expect(await d.get('a')).to.equal(1);
        expect(await pool.apply(tasks.dictRoundTrips, [d, 200])).to.equal(199);
        expect(await d.size()).to.equal(101);
        const l = manager.list<number>();
        await pool.starmap(tasks.appendAll, [
          [l, 0, 50],
          [l, 50, 50],
        ]);
        expect((await l.toArray()).sort((x, y) => x - y)).to.deep.equal(Array.from({ length: 100 }, (_, i) => i));
        expect(await l.get(-1)).to.be.a('number');
        await l.get(500).then(
          () => expect.fail('an index out of range gave an item'),
          (e: unknown) => expect((e as Error).name).to.equal('IndexError'),
        );
        const ns = manager.Namespace({ x: 1 });
        await ns.set('y', 2);
        expect(await ns.toObject()).to.deep.equal({ x: 1, y: 2 });
      } finally {
        await manager.shutdown();
      }
      expect(manager.closed).to.equal(true);
      expect(() => manager.dict()).to.throw(ManagerClosedError);
    });

    it('a Process gets a pipe end as its argument and talks through it', async () => {
      const [here, there] = Pipe<number | null>();
      const proc = new Process({ target: tasks.doubler, args: [there], startMethod: method });
      await proc.start();
      await here.send(4);
      expect(await here.recv()).to.equal(8);
      await here.send(null);
      await proc.join(DEADLINE);
      expect(proc.exitCode).to.equal(0);
    });

    it('Manager: a proxy handed to a worker at once works, even before the application’s own connection is up', async () => {
      const pool = pools.create({ processes: 2 });
      await pool.map(tasks.echo, [0, 1]);
      for (let round = 0; round < 3; round++) {
        const manager = await Manager.start();
        try {
          // The application's first request (the create) still waits for its connection here.
          const l = manager.list<number>([0]);
          await pool.starmap(tasks.appendAll, [
            [l, 1, 1],
            [l, 2, 1],
          ]);
          expect((await l.toArray()).sort()).to.deep.equal([0, 1, 2]);
        } finally {
          await manager.shutdown();
        }
      }
    });

    it('Manager: workers make blocking round trips; a server killed mid-loop ends the task’s calls with ManagerClosedError', async () => {
      const pool = pools.create({ processes: 1 });
      const manager = await Manager.start();
      try {
        const d = manager.dict<string, number>();
        expect(await pool.apply(tasks.managerClientKind, [d])).to.equal('BlockingManagerClient');
        const started = new Event();
        const looping = pool.apply(tasks.untilManagerGone, [d, started]);
        expect(await started.wait(DEADLINE)).to.equal(true);
        process.kill(manager.pid, 'SIGKILL');
        expect(await looping).to.equal('ManagerClosedError');
      } finally {
        await manager.shutdown();
      }
    });

    it('Manager: a proxy used after the server is killed rejects with ManagerClosedError, nothing hangs', async () => {
      const manager = await Manager.start();
      const d = manager.dict<string, number>();
      await d.set('k', 1);
      process.kill(manager.pid, 'SIGKILL');
      expect(await waitFor(() => manager.closed, DEADLINE)).to.equal(true);
      await d.get('k').then(
        () => expect.fail('a dead manager answered'),
        (e: unknown) => expect(e).to.be.instanceOf(ManagerClosedError),
      );
      await manager.shutdown();
    });
  });
}
