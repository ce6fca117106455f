// The scheduler and death accounting as pure functions: no process, no stream, no timer.
import { expect } from 'chai';
import { accountDeath, exitReason } from '../lib/pool/death';
import { Lifecycle } from '../lib/pool/lifecycle';
import { TaskTimings, assign } from '../lib/pool/scheduler';
import { PoolTask, kSettle, type TaskHolder, type TaskPolicy } from '../lib/pool/task';
import { PoolClosedError, PoolTerminatedError } from '../lib/errors';
import { TaskKind } from '../lib/transport/protocol';
import { Deque } from '../lib/util/deque';

const owner = { [kSettle]: () => {} };
const holder: TaskHolder = { abort: () => {} };
let nextId = 1;

function task(policy: TaskPolicy = {}, fnId = 0): PoolTask {
  return new PoolTask(nextId++, fnId, TaskKind.Call, Buffer.alloc(0), owner, 0, policy);
}

function queueOf(...tasks: PoolTask[]): Deque<PoolTask> {
  const queue = new Deque<PoolTask>();
  for (const t of tasks) queue.push(t);
  return queue;
}

/** A task as far along as a worker got: sent, or acknowledged by the worker. */
function held(t: PoolTask, received: boolean): PoolTask {
  t.sent(holder);
  if (received) t.received();
  return t;
}

const ids = (batches: PoolTask[][]) => batches.map((b) => b.map((t) => t.id));

describe('scheduler', () => {
  it('gives each task of unknown duration to the least loaded worker, one each, in order', () => {
    const [a, b, c] = [task(), task(), task()];
    const queue = queueOf(a, b, c);
    const batches = assign(queue, [{ held: 0, quota: Infinity }, { held: 0, quota: Infinity }], new TaskTimings());
    expect(ids(batches)).to.deep.equal([[a.id], [b.id]]);
    expect(queue.peek()).to.equal(c);
  });

  it('prefers the worker that holds less, and skips workers at their maxTasksPerChild quota', () => {
    const [a, b] = [task(), task()];
    const batches = assign(queueOf(a, b), [{ held: 1, quota: Infinity }, { held: 0, quota: 0 }, { held: 0, quota: 5 }], new TaskTimings());
    expect(ids(batches)).to.deep.equal([[], [], [a.id]]);
  });

  it('batches quick tasks up to ~2 ms of work per worker, slow ones two at a time, then one near the end', () => {
    const timings = new TaskTimings();
    const quick = task({}, 1);
    timings.record(quick, 0.01);
    expect(timings.depth(quick, 1000, 2)).to.equal(200);
    timings.record(quick, 0.001);
    expect(timings.depth(quick, 1000, 2)).to.be.within(200, 512);
    const slow = task({}, 2);
    timings.record(slow, 50);
    expect(timings.depth(slow, 10, 2)).to.equal(2);
    expect(timings.depth(slow, 4, 2)).to.equal(1);
    expect(timings.depth(task({}, 3), 1000, 2)).to.equal(1);
    const queue = queueOf(...Array.from({ length: 600 }, () => task({}, 1)));
    const batches = assign(queue, [{ held: 0, quota: Infinity }, { held: 0, quota: Infinity }], timings);
    expect(batches.map((b) => b.length)).to.satisfy((lengths: number[]) => lengths[0] > 100 && lengths[1] > 100 && lengths[0] + lengths[1] <= 600);
  });

  it('drops tasks nobody wants before they are sent', () => {
    const [a, b] = [task(), task()];
    a.finish('abandoned');
    const queue = queueOf(a, b);
    expect(ids(assign(queue, [{ held: 0, quota: Infinity }], new TaskTimings()))).to.deep.equal([[b.id]]);
    expect(queue.length).to.equal(0);
  });
});

describe('death accounting', () => {
  it('the running task is lost; the tasks behind it run again, in order', () => {
    const [running, next, last] = [held(task(), true), held(task(), true), held(task(), false)];
    const outcome = accountDeath([running, next, last]);
    expect(outcome.lost).to.equal(running);
    expect(outcome.requeue).to.deep.equal([next, last]);
    expect(outcome.retried).to.equal(undefined);
  });

  it('a task the worker never acknowledged runs again, without spending a retry', () => {
    const unseen = held(task(), false);
    expect(accountDeath([unseen])).to.deep.equal({ requeue: [unseen] });
  });

  it('a running task with retries left runs again first', () => {
    const [running, next] = [held(task({ retries: 1 }), true), held(task(), true)];
    const outcome = accountDeath([running, next]);
    expect(outcome.retried).to.equal(running);
    expect(outcome.requeue).to.deep.equal([running, next]);
    expect(outcome.lost).to.equal(undefined);
  });

  it('tasks that are settled (a hard timeout) or abandoned (an abort) are neither lost nor run again', () => {
    const [timedOut, abandoned, wanted] = [held(task(), true), held(task(), true), held(task(), true)];
    timedOut.finish('settled');
    abandoned.finish('abandoned');
    expect(accountDeath([timedOut, abandoned, wanted])).to.deep.equal({ requeue: [wanted] });
    expect(accountDeath([])).to.deep.equal({ requeue: [] });
  });

  it("why a worker left: what the pool asked for if it exited cleanly, 'crashed' otherwise", () => {
    const exit = (exitCode: number | null, signal: NodeJS.Signals | null, statusUnknown?: 'template-gone') => ({ pid: 1, exitCode, signal, stderr: [], ...(statusUnknown ? { statusUnknown } : {}) });
    expect(exitReason(exit(0, null), 'closed', [])).to.equal('closed');
    expect(exitReason(exit(0, null), 'recycled', [])).to.equal('recycled');
    expect(exitReason(exit(0, null), undefined, [])).to.equal('crashed');
    expect(exitReason(exit(1, null), 'closed', [])).to.equal('crashed');
    expect(exitReason(exit(0, null), 'closed', [held(task(), true)])).to.equal('crashed');
    expect(exitReason(exit(null, null, 'template-gone'), 'closed', [])).to.equal('crashed');
    expect(exitReason(exit(null, 'SIGTERM'), 'terminated', [held(task(), true)])).to.equal('terminated');
    expect(exitReason(exit(null, 'SIGKILL'), 'timeout', [])).to.equal('timeout');
  });
});

describe('task status', () => {
  it('moves queued → sent → received → running → settled, once, and back to queued after a death', () => {
    const t = task({ timeout: 10 });
    expect(t.status).to.equal('queued');
    t.sent(holder);
    expect([t.status, t.holder]).to.deep.equal(['sent', holder]);
    t.received();
    t.started();
    expect(t.status).to.equal('running');
    t.requeued();
    expect([t.status, t.holder]).to.deep.equal(['queued', undefined]);
    expect(t.finish('settled')).to.equal(true);
    expect(t.finish('abandoned')).to.equal(false);
    t.requeued();
    expect(t.status).to.equal('settled');
  });
});

describe('pool lifecycle', () => {
  it('running → closing → closed; a second close() or terminate() changes nothing', async () => {
    const life = new Lifecycle();
    expect(life.refusal()).to.equal(undefined);
    expect(life.close()).to.equal(true);
    expect(life.close()).to.equal(false);
    expect(life.refusal()).to.be.instanceOf(PoolClosedError);
    expect(life.queueRefusal()).to.equal(undefined);
    life.finish(async () => {});
    expect(life.state).to.equal('closed');
    expect(life.terminate()).to.equal(false);
    await life.closed;
  });

  it("'broken' refuses work with the failure, also once closing; terminate() wins over everything", () => {
    const life = new Lifecycle();
    const failure = new Error('initializer exploded');
    expect(life.break(failure)).to.equal(true);
    expect(life.state).to.equal('broken');
    expect(life.refusal()).to.equal(failure);
    expect(life.working).to.equal(false);
    life.close();
    expect(life.state).to.equal('closing');
    expect(life.queueRefusal()).to.equal(failure);
    expect(life.terminate()).to.equal(true);
    expect(life.queueRefusal()).to.be.instanceOf(PoolTerminatedError);
    expect(life.break(new Error('later'))).to.equal(false);
  });
});
