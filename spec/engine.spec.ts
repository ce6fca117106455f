// The engine and the supervisor, in-process: fake workers speak the real protocol to real
// channels over in-memory streams, so ordering, acknowledgements, retries and death accounting
// are checked in milliseconds, with no process at all.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { WorkerLostError, type WorkerExitEvent } from '../lib';
import { AsyncResult } from '../lib/pool/async-result';
import { PoolEngine, type EngineConfig } from '../lib/pool/engine';
import { PoolEventSink, type PoolEventMap } from '../lib/pool/events';
import type { PoolTask, TaskPolicy } from '../lib/pool/task';
import { ExitingCodec, READY_FRAME } from '../lib/transport/codecs';
import { TaskKind } from '../lib/transport/protocol';
import { encodeContext } from '../lib/pool/call-options';
import { FakeLauncher, type FakeWorker } from './support/fake-worker';
import { waitFor } from './support/processes';

const DEADLINE = 5000;

function setup(config: Partial<EngineConfig> = {}, launcher = new FakeLauncher()) {
  const emitter = new EventEmitter<PoolEventMap>();
  const exits: WorkerExitEvent[] = [];
  emitter.on('workerExit', (e) => exits.push(e));
  const engine = new PoolEngine({
    processes: 1,
    minProcesses: 1,
    idleTimeoutMs: undefined,
    maxStartFailures: 3,
    killGracePeriodMs: 1000,
    launcher,
    launch: { env: {}, execArgv: [], cwd: '/' },
    maxTasksPerChild: undefined,
    abortGracePeriodMs: 1000,
    events: new PoolEventSink(emitter),
    init: { preload: [] },
    ...config,
  });
  const fn = engine.functions.id({ module: '/fake/tasks.js', name: 'square' });
  const tasks: PoolTask[] = [];
  const call = (x: number, policy?: TaskPolicy): AsyncResult<number> => {
    const result = new AsyncResult<number>();
    const task = engine.createTask(fn, TaskKind.Call, engine.encode([x], fn), result, 0, policy);
    tasks.push(task);
    engine.submit(task);
    return result;
  };
  const worker = async (i: number): Promise<FakeWorker> => {
    expect(await waitFor(() => launcher.workers.length > i && launcher.workers[i].initialized, DEADLINE, 1)).to.equal(true);
    return launcher.workers[i];
  };
  const until = async (predicate: () => boolean): Promise<void> => {
    expect(await waitFor(predicate, DEADLINE, 1)).to.equal(true);
  };
  return { engine, launcher, exits, call, tasks, worker, until, emitter };
}

/** Answers a worker's first task after 5 ms, so the engine measures the function as slow (≥ 1 ms): it then keeps two tasks in a worker. */
async function primeSlow(w: FakeWorker, until: (p: () => boolean) => Promise<void>): Promise<void> {
  await until(() => w.held.length === 1);
  await new Promise((resolve) => setTimeout(resolve, 5));
  w.answer(0);
}

describe('engine (in-process, fake workers)', () => {
  it('hands tasks out in submission order, one per worker while their duration is unknown', async () => {
    const { engine, call, worker, until } = setup({ processes: 2, minProcesses: 2 });
    const results = [1, 2, 3, 4].map((x) => call(x));
    const [a, b] = [await worker(0), await worker(1)];
    await until(() => a.held.length === 1 && b.held.length === 1);
    a.answerAll((x) => (x as number) ** 2);
    b.answerAll((x) => (x as number) ** 2);
    await until(() => a.held.length + b.held.length === 2);
    a.answerAll((x) => (x as number) ** 2);
    b.answerAll((x) => (x as number) ** 2);
    expect(await Promise.all(results)).to.deep.equal([1, 4, 9, 16]);
    const order = [...a.log, ...b.log].map((t) => t.id).sort((x, y) => x - y);
    expect(order).to.deep.equal([1, 2, 3, 4]);
    expect(a.log[0].id).to.be.lessThan(a.log[1].id);
    expect(engine.stats().completed).to.equal(4);
    await engine.terminate();
  });

  it('a worker that dies before acknowledging a batch never saw it: its tasks run elsewhere, in order', async () => {
    const launcher = new FakeLauncher({ autoAck: false });
    const { engine, call, worker, until, exits } = setup({}, launcher);
    const first = await worker(0);
    const results = [call(1), call(2)];
    await until(() => first.held.length === 1);
    first.die({ exitCode: null, signal: 'SIGKILL' });
    const second = await worker(1);
    await until(() => second.held.length === 1);
    second.ack();
    expect(second.held[0].args).to.deep.equal([1]);
    second.answer(1);
    await until(() => second.held.length === 1);
    second.ack();
    second.answer(4);
    expect(await Promise.all(results)).to.deep.equal([1, 4]);
    expect(exits.map((e) => e.reason)).to.deep.equal(['crashed']);
    expect(engine.stats().crashes).to.equal(1);
    expect(engine.stats().retried).to.equal(0);
    await engine.terminate();
  });

  it('a worker that dies after acknowledging: the running task fails, the ones behind it run elsewhere in order', async () => {
    const { engine, call, worker, until } = setup();
    const first = await worker(0);
    void call(0);
    await primeSlow(first, until);
    const results = [1, 2, 3, 4, 5, 6].map((x) => call(x));
    await until(() => first.held.length === 2);
    expect(first.held.map((t) => t.args[0])).to.deep.equal([1, 2]);
    first.die({ exitCode: null, signal: 'SIGKILL' });
    const lost = await results[0].catch((e: unknown) => e);
    expect(lost).to.be.instanceOf(WorkerLostError);
    expect((lost as WorkerLostError).signal).to.equal('SIGKILL');
    const second = await worker(1);
    for (let i = 0; i < 5; i++) {
      await until(() => second.held.length > 0);
      second.answer((second.held[0].args[0] as number) * 10);
    }
    expect(await Promise.all(results.slice(1))).to.deep.equal([20, 30, 40, 50, 60]);
    expect(second.log.map((t) => t.args[0])).to.deep.equal([2, 3, 4, 5, 6]);
    await engine.terminate();
  });

  it('retries: the running task of a dead worker runs first on the next one, until its retries are spent', async () => {
    const { engine, call, worker, until } = setup();
    const retried = call(7, { retries: 1 });
    const after = call(8);
    const first = await worker(0);
    await until(() => first.held.length === 1);
    first.die({ exitCode: null, signal: 'SIGKILL' });
    const second = await worker(1);
    await until(() => second.held.length === 1);
    expect(second.held[0].args).to.deep.equal([7]);
    expect(engine.stats().retried).to.equal(1);
    second.die({ exitCode: 3, signal: null });
    expect(await retried.catch((e: unknown) => e)).to.be.instanceOf(WorkerLostError);
    const third = await worker(2);
    await until(() => third.held.length === 1);
    expect(third.held[0].args).to.deep.equal([8]);
    third.answer(64);
    expect(await after).to.equal(64);
    expect(engine.stats()).to.include({ retried: 1, crashes: 2, failed: 1, completed: 1 });
    await engine.terminate();
  });

  it('abandoned tasks are never sent, and never run again when their worker dies', async () => {
    const { engine, call, tasks, worker, until } = setup();
    const first = await worker(0);
    void call(0);
    await primeSlow(first, until);
    const results = [1, 2, 3, 4].map((x) => call(x));
    await until(() => first.held.length === 2);
    // 1 (running) and 3 (queued) are given up; 2 (sent, behind the running one) and 4 are still wanted.
    const [one, two, three] = tasks.slice(1);
    expect([one.status, two.status, three.status]).to.deep.equal(['received', 'received', 'queued']);
    engine.abandon([one, three], false);
    expect([one.status, three.status]).to.deep.equal(['abandoned', 'abandoned']);
    first.die({ exitCode: null, signal: 'SIGKILL' });
    const second = await worker(1);
    for (let i = 0; i < 2; i++) {
      await until(() => second.held.length > 0);
      second.answer((second.held[0].args[0] as number) * 10);
    }
    expect(await Promise.all([results[1], results[3]])).to.deep.equal([20, 40]);
    expect(second.log.map((t) => t.args[0])).to.deep.equal([2, 4]);
    expect(results[0].ready()).to.equal(false);
    expect(results[2].ready()).to.equal(false);
    expect(engine.stats()).to.include({ crashes: 1, failed: 0 });
    await engine.terminate();
  });

  it('task statuses follow the conversation: queued, sent, received, running, settled', async () => {
    const launcher = new FakeLauncher({ autoAck: false });
    const { engine, call, tasks, worker, until } = setup({}, launcher);
    const result = call(3, { timeout: 60_000 });
    const [task] = tasks;
    expect(task.status).to.equal('queued');
    const w = await worker(0);
    await until(() => w.held.length === 1);
    expect(task.status).to.equal('sent');
    w.ack();
    await until(() => task.status === 'received');
    w.start();
    await until(() => task.status === 'running');
    w.answer(9);
    expect(await result).to.equal(9);
    expect(task.status).to.equal('settled');
    await engine.terminate();
  });

  it("a worker's clean exit after close() is 'closed', also when only the worker could tell its exit code", async () => {
    for (const unknown of [false, true]) {
      const { engine, call, worker, until, exits } = setup();
      const w = await worker(0);
      const result = call(2);
      await until(() => w.held.length === 1);
      engine.close();
      w.answer(4);
      expect(await result).to.equal(4);
      await until(() => w.stopped);
      w.send(ExitingCodec.encode(0));
      w.die(unknown ? { exitCode: null, signal: null, statusUnknown: 'template-gone' } : { exitCode: 0, signal: null });
      await engine.join();
      expect(exits).to.have.length(1);
      expect(exits[0]).to.include({ reason: 'closed', exitCode: 0, signal: null });
      expect(exits[0].statusUnknown).to.equal(undefined);
      expect(engine.stats().crashes).to.equal(0);
    }
  });

  it('an exit nobody observed and the worker did not report is a crash with an unknown status, not a made-up code', async () => {
    const { engine, call, worker, until, exits } = setup();
    const w = await worker(0);
    const result = call(2);
    await until(() => w.held.length === 1);
    w.die({ exitCode: null, signal: null, statusUnknown: 'template-gone' });
    const error = (await result.catch((e: unknown) => e)) as WorkerLostError;
    expect(error).to.be.instanceOf(WorkerLostError);
    expect(error).to.include({ exitCode: null, signal: null, statusUnknown: 'template-gone' });
    expect(exits[0]).to.include({ reason: 'crashed', exitCode: null, signal: null, statusUnknown: 'template-gone' });
    await engine.terminate();
  });

  it('idleTimeout retires workers that never ran a task, down to minProcesses', async () => {
    const { engine, worker, until, launcher } = setup({ processes: 3, minProcesses: 1, idleTimeoutMs: 20 });
    const workers = [await worker(0), await worker(1), await worker(2)];
    await until(() => workers.filter((w) => w.stopped).length === 2);
    for (const w of workers.filter((x) => x.stopped)) w.exitCleanly();
    await until(() => engine.stats().workers === 1);
    expect(launcher.workers).to.have.length(3);
    await engine.terminate();
  });

  it("progress frames reach the running task's owner before its answer; a report for another task or after the answer is dropped", async () => {
    const { engine, call, worker, until } = setup();
    const w = await worker(0);
    const result = call(3);
    const seen: unknown[] = [];
    result.on('progress', (value) => seen.push(value));
    await until(() => w.held.length === 1);
    const id = w.held[0].id;
    w.progress('a');
    w.progress('not mine', id + 1000);
    w.progress('b');
    await until(() => seen.length === 2);
    w.answer(9);
    w.progress('too late', id);
    expect(await result).to.equal(9);
    // A later task's answer comes after the late report on the same stream: once it is in, so is the report.
    const next = call(4);
    await until(() => w.held.length === 1);
    w.answer(16);
    expect(await next).to.equal(16);
    expect(seen).to.deep.equal(['a', 'b']);
    await engine.terminate();
  });

  it("a task's context goes just before its batch, and again when the task runs elsewhere after a death", async () => {
    const launcher = new FakeLauncher({ autoAck: false });
    const { engine, worker, until } = setup({}, launcher);
    const fn = engine.functions.id({ module: '/fake/tasks.js', name: 'square' });
    const result = new AsyncResult<number>();
    const policy = { context: encodeContext({ traceId: 't1' }) };
    engine.submit(engine.createTask(fn, TaskKind.Call, engine.encode([4], fn), result, 0, policy));
    const first = await worker(0);
    await until(() => first.held.length === 1);
    expect(first.contexts).to.deep.equal([{ taskId: first.held[0].id, context: { traceId: 't1' } }]);
    // Never acknowledged: the task never reached the worker, so it runs on the next one, context and all.
    first.die({ exitCode: null, signal: 'SIGKILL' });
    const second = await worker(1);
    await until(() => second.held.length === 1);
    expect(second.contexts.map((c) => c.context)).to.deep.equal([{ traceId: 't1' }]);
    second.ack();
    second.answer(16);
    expect(await result).to.equal(16);
    await engine.terminate();
  });

  it("maxQueue: room() refuses what does not fit, and 'drain' follows the queue below the limit", async () => {
    const launcher = new FakeLauncher({ autoReady: false });
    const { engine, call, until, emitter } = setup({ maxQueue: 2 }, launcher);
    let drains = 0;
    emitter.on('drain', () => drains++);
    const results = [call(1), call(2)];
    expect(engine.room(1)).to.equal(false);
    expect(engine.room(0)).to.equal(true);
    // The worker becomes ready and takes the first task: the queue falls below the limit.
    await until(() => launcher.workers.length === 1 && launcher.workers[0].initialized);
    const w = launcher.workers[0];
    w.send(READY_FRAME);
    await until(() => w.held.length === 1);
    await until(() => drains === 1);
    w.answerAll((x) => (x as number) * 10);
    await until(() => w.held.length === 1);
    w.answerAll((x) => (x as number) * 10);
    expect(await Promise.all(results)).to.deep.equal([10, 20]);
    await engine.idle();
    expect(drains).to.equal(1);
    await engine.terminate();
  });
});
