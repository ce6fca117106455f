"""Python's multiprocessing coordination on the coordination benchmark's workloads
(run by scripts/bench/coordination.ts, same workloads and sizes as procpool's side there).

Usage: python_coordination.py RUNS. Prints one JSON object: for each workload key, its samples.
"""
import json
import multiprocessing as mp
import sys
import time

LOCK_PAIRS = 1_000_000
PING_ROUNDS = 10_000
COUNTER = 100_000
SMALL_MESSAGES = 100_000
BIG_MESSAGES = 200
BIG_BYTES = 1_000_000
MANAGER_OPS = 10_000


def lock_pairs(lock):
    t = time.perf_counter()
    for _ in range(LOCK_PAIRS):
        lock.acquire()
        lock.release()
    return (time.perf_counter() - t) / LOCK_PAIRS * 1e6


def ping_pong(mine, theirs, first):
    for _ in range(PING_ROUNDS):
        if first:
            theirs.set()
            mine.wait()
            mine.clear()
        else:
            mine.wait()
            mine.clear()
            theirs.set()


def count(value):
    for _ in range(COUNTER):
        with value.get_lock():
            value.value += 1


def produce(queue, n, size):
    item = 1 if size == 0 else bytes(size)
    for _ in range(n):
        queue.put(item)


def consume(queue, n):
    for _ in range(n):
        queue.get()


def manager_ops(d):
    for i in range(MANAGER_OPS):
        key = "k%d" % (i % 100)
        d[key] = i
        d[key]


def main():
    runs = int(sys.argv[1])
    manager = mp.Manager()
    out = {key: [] for key in ("lockPair", "pingPong", "counter", "smallMessages", "bigMessages", "managerDict")}
    # Python passes these objects to processes only by inheritance (it refuses to pickle them for
    # pool tasks), so each workload runs in Process objects started ahead, as Python's docs show.
    for _ in range(runs):
        lock = mp.Lock()
        with mp.Pool(1, initializer=_keep, initargs=(lock,)) as pool:
            out["lockPair"].append(pool.apply(_kept_lock_pairs))
        a, b = mp.Event(), mp.Event()
        out["pingPong"].append(_processes_ms([(ping_pong, (a, b, True)), (ping_pong, (b, a, False))]) / PING_ROUNDS * 1000)
        value = mp.Value("i", 0)
        out["counter"].append(_processes_ms([(count, (value,)), (count, (value,))]))
        if value.value != 2 * COUNTER:
            raise SystemExit("the counter is wrong: %d" % value.value)
        queue = mp.Queue()
        out["smallMessages"].append(_processes_ms([(produce, (queue, SMALL_MESSAGES, 0)), (consume, (queue, SMALL_MESSAGES))]))
        queue = mp.Queue()
        out["bigMessages"].append(_processes_ms([(produce, (queue, BIG_MESSAGES, BIG_BYTES)), (consume, (queue, BIG_MESSAGES))]))
        d = manager.dict()
        out["managerDict"].append(_processes_ms([(manager_ops, (d,))]))
    manager.shutdown()
    print(json.dumps(out))


_lock = None


def _keep(lock):
    global _lock
    _lock = lock


def _kept_lock_pairs():
    return lock_pairs(_lock)


def _processes_ms(jobs):
    """Starts one process per job; times from a common start (a barrier) to the last job's end,
    read from CLOCK_MONOTONIC in each process (start-up and exit are not part of the figure)."""
    ready = mp.Barrier(len(jobs) + 1)
    ends = mp.Queue()
    procs = [mp.Process(target=_after, args=(ready, ends, fn, args)) for fn, args in jobs]
    for p in procs:
        p.start()
    ready.wait()
    t = time.perf_counter()
    last = max(ends.get() for _ in procs)
    for p in procs:
        p.join()
    return (last - t) * 1000


def _after(ready, ends, fn, args):
    ready.wait()
    fn(*args)
    ends.put(time.perf_counter())


if __name__ == "__main__":
    main()
