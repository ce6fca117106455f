// The service parts in-process (issue 14): the stats window on a fake clock, the queue limit's
// bookkeeping, the diagnostics channels and progress coalescing, without a single process.
import { expect } from 'chai';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import { InvalidArgumentError, reportProgress, taskContext } from '../lib';
import { Backpressure, resolveMaxQueue } from '../lib/pool/backpressure';
import { PoolEventSink, type PoolEventMap } from '../lib/pool/events';
import { PoolMeter, STATS_WINDOW_MS } from '../lib/pool/stats';
import { setCurrentTask } from '../lib/tasks/current-task';
import { TaskProgress } from '../lib/worker/progress';

function clock(): { now: () => number; set: (t: number) => void } {
  let t = 0;
  return { now: () => t, set: (v) => (t = v) };
}

describe('stats window (fake clock)', () => {
  it('a saturated new pool reads ~1: its window is its age, running work counts', () => {
    const c = clock();
    const meter = new PoolMeter(2, c.now);
    c.set(1000);
    meter.busy(0, 1000);
    // The second worker has run one long task since t=0 that has not answered yet.
    const stats = meter.snapshot([0]);
    expect(stats.windowMs).to.equal(1000);
    expect(stats.utilization).to.equal(1);
    expect(meter.snapshot([]).utilization).to.equal(0.5);
  });

  it('slides: what is older than the window is forgotten, and the window spans 50–60 s', () => {
    const c = clock();
    const meter = new PoolMeter(1, c.now);
    meter.busy(0, 10_000);
    meter.ran(10_000, 10_000);
    c.set(30_000);
    expect(meter.snapshot([]).runTime.count).to.equal(1);
    c.set(75_000);
    const stats = meter.snapshot([]);
    expect(stats.runTime.count).to.equal(0);
    expect(stats.utilization).to.equal(0);
    expect(stats.windowMs).to.be.within(STATS_WINDOW_MS - STATS_WINDOW_MS / 6, STATS_WINDOW_MS);
  });

  it('a busy stretch longer than the window counts only its part in the window', () => {
    const c = clock();
    const meter = new PoolMeter(1, c.now);
    c.set(125_000);
    meter.busy(0, 125_000);
    expect(meter.snapshot([]).utilization).to.equal(1);
  });

  it('percentiles come from the perf_hooks histograms, in ms', () => {
    const c = clock();
    const meter = new PoolMeter(1, c.now);
    for (let ms = 1; ms <= 100; ms++) meter.ran(ms, 0);
    meter.waited(0, 0);
    const { runTime, waitTime } = meter.snapshot([]);
    expect(runTime.count).to.equal(100);
    expect(runTime.mean).to.be.closeTo(50.5, 1);
    expect(runTime.p50).to.be.closeTo(50, 1);
    expect(runTime.p90).to.be.closeTo(90, 1);
    expect(runTime.p99).to.be.closeTo(99, 1);
    expect(runTime.max).to.be.closeTo(100, 1);
    // A wait of 0 ms is recorded as the histogram's lowest value, 1 µs.
    expect(waitTime).to.deep.include({ count: 1 });
    expect(waitTime.max).to.be.at.most(0.002);
    const empty = new PoolMeter(1, c.now).snapshot([]);
    expect(empty.runTime).to.deep.equal({ count: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });
});

describe('backpressure bookkeeping', () => {
  it("maxQueue: a number >= 1, 'auto' (processes²) or Infinity; anything else is refused", () => {
    expect(resolveMaxQueue(undefined, 4)).to.equal(Infinity);
    expect(resolveMaxQueue('auto', 3)).to.equal(9);
    expect(resolveMaxQueue(5, 3)).to.equal(5);
    for (const bad of [0, -1, 1.5, 'many', null]) expect(() => resolveMaxQueue(bad, 2)).to.throw(InvalidArgumentError);
  });

  it("'drain' fires once when a queue that was full falls below the limit; drained() and idle() wait for it", async () => {
    let drains = 0;
    const pressure = new Backpressure(2, () => drains++);
    expect(pressure.admits(1, 1)).to.equal(true);
    pressure.queued(2);
    expect(pressure.admits(2, 1)).to.equal(false);
    pressure.update(2, true);
    expect(drains).to.equal(0);
    const order: string[] = [];
    const drained = pressure.drained(2).then(() => order.push('drained'));
    const idle = pressure.idle(2, true).then(() => order.push('idle'));
    pressure.update(1, true);
    pressure.update(0, true);
    expect(drains).to.equal(1);
    await drained;
    expect(order).to.deep.equal(['drained']);
    pressure.update(0, false);
    await idle;
    expect(order).to.deep.equal(['drained', 'idle']);
    // A refusal alone makes the next fall below the limit a 'drain' too.
    expect(pressure.admits(0, 3)).to.equal(false);
    pressure.update(0, false);
    expect(drains).to.equal(2);
  });
});

describe('diagnostics channels', () => {
  it('cost nothing without subscribers, and publish each event with its pool to those who subscribe', () => {
    const emitter = new EventEmitter<PoolEventMap>();
    const sink = new PoolEventSink(emitter);
    expect(sink.wants('taskSettled')).to.equal(false);
    const seen: unknown[] = [];
    const handler = (message: unknown): void => void seen.push(message);
    subscribe('procpool:task:settled', handler);
    try {
      expect(sink.wants('taskSettled')).to.equal(true);
      expect(sink.wants('taskQueued')).to.equal(false);
      sink.emit('taskSettled', { id: 7, ok: true, durationMs: 3 });
    } finally {
      unsubscribe('procpool:task:settled', handler);
    }
    expect(seen).to.deep.equal([{ pool: emitter, id: 7, ok: true, durationMs: 3 }]);
    expect(sink.wants('taskSettled')).to.equal(false);
  });
});

describe('progress coalescing in the worker', () => {
  it('sends the first report at once, the last before the answer, and only what was reported in between', () => {
    const sent: { taskId: number; completed: number; value: unknown }[] = [];
    const progress = new TaskProgress((taskId, completed, _hasValue, value) => sent.push({ taskId, completed, value }));
    progress.begin(9, { traceId: 'x' });
    setCurrentTask(progress);
    expect(taskContext()).to.deep.equal({ traceId: 'x' });
    for (let i = 1; i <= 1000; i++) reportProgress(i);
    setCurrentTask(undefined);
    progress.end();
    expect(sent[0]).to.deep.equal({ taskId: 9, completed: 0, value: 1 });
    expect(sent.at(-1)?.value).to.equal(1000);
    const values = sent.map((s) => s.value as number);
    expect(values).to.deep.equal([...values].sort((a, b) => a - b));
    // Outside a task both are inert.
    reportProgress('nobody listens');
    expect(taskContext()).to.equal(undefined);
  });

  it("counts a chunk's items; the count alone is not flushed at the end (the answer implies it)", () => {
    const sent: number[] = [];
    const progress = new TaskProgress((_taskId, completed) => sent.push(completed));
    progress.begin(1, undefined);
    progress.item();
    progress.item();
    progress.end();
    expect(sent[0]).to.equal(1);
    expect(sent.every((n) => n <= 2)).to.equal(true);
  });

  it('a value the serializer refuses throws to the task that reported it', () => {
    const progress = new TaskProgress(() => {
      throw new TypeError('cannot serialize');
    });
    progress.begin(1, undefined);
    expect(() => progress.report(() => {})).to.throw(TypeError);
    progress.end();
  });
});
