"""Python's multiprocessing.Pool on the benchmark's workloads (run by scripts/bench/peers/python.ts).

Prints one JSON object: for each workload key, the list of samples (ms, latency in µs).
"""
import json
import multiprocessing as mp
import statistics
import sys
import time
from array import array
from multiprocessing import resource_tracker, shared_memory

BIG_DOUBLES = 8 * 1024 * 1024 // 8
SHARED_BYTES = 64 * 1024 * 1024
SHARED_ROUNDS = 16


def noop(_=None):
    return None


def total(values):
    return sum(values)


def attach(name):
    shm = shared_memory.SharedMemory(name=name)
    # Python < 3.13 tracks segments a process only attached to, and would unlink this one.
    resource_tracker.unregister(shm._name, "shared_memory")
    return shm


def fill_half(job):
    name, half, value = job
    shm = attach(name)
    doubles = shm.buf.cast("d")
    n = len(doubles) // 2
    doubles[half * n:(half + 1) * n] = array("d", [value]) * n
    doubles.release()
    shm.close()


def sum_other_half(job):
    name, half = job
    shm = attach(name)
    doubles = shm.buf.cast("d")
    n = len(doubles) // 2
    other = doubles[(1 - half) * n:(2 - half) * n]
    result = sum(other)
    other.release()
    doubles.release()
    shm.close()
    return result


def shared_rounds(pool):
    shm = shared_memory.SharedMemory(create=True, size=SHARED_BYTES)
    try:
        half = SHARED_BYTES // 8 // 2
        start = time.perf_counter()
        for value in range(1, SHARED_ROUNDS + 1):
            pool.map(fill_half, [(shm.name, 0, value), (shm.name, 1, value)], chunksize=1)
            sums = pool.map(sum_other_half, [(shm.name, 0), (shm.name, 1)], chunksize=1)
            assert sums == [value * half, value * half], sums
        return ms(start)
    finally:
        shm.close()
        shm.unlink()


def ms(start):
    return (time.perf_counter() - start) * 1000


def run_once(workers, samples):
    start = time.perf_counter()
    pool = mp.Pool(workers)
    pool.map(noop, range(workers), chunksize=1)
    samples["startup"].append(ms(start))

    # 20 000 tasks of one call each (the closest to 20 000 apply_async calls), twice like the others.
    for key in ("noopCold", "noop"):
        start = time.perf_counter()
        pool.map(noop, range(20000), chunksize=1)
        samples[key].append(ms(start))

    start = time.perf_counter()
    pool.map(noop, range(200000))
    samples["map200k"].append(ms(start))

    start = time.perf_counter()
    pool.map(noop, range(20000))
    samples["map20k"].append(ms(start))

    arrays = [array("d", [k + 0.5]) * BIG_DOUBLES for k in range(32)]
    for key in ("bigCold", "big"):
        start = time.perf_counter()
        sums = pool.map(total, arrays, chunksize=1)
        samples[key].append(ms(start))
        assert sums[31] == 31.5 * BIG_DOUBLES, sums[31]

    samples["shared"].append(shared_rounds(pool))

    latencies = []
    for _ in range(300):
        start = time.perf_counter()
        pool.apply(noop)
        latencies.append((time.perf_counter() - start) * 1e6)
    samples["latency"].append(statistics.median(latencies))
    pool.close()
    pool.join()


def main():
    workers, runs, method = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    mp.set_start_method(method)
    samples = {key: [] for key in ("startup", "noopCold", "noop", "map200k", "map20k", "bigCold", "big", "shared", "latency")}
    for _ in range(runs):
        run_once(workers, samples)
    print(json.dumps(samples))


if __name__ == "__main__":
    main()
