"""Python's multiprocessing.Pool on the benchmark's workloads (run by scripts/bench/peers/python.ts).

Prints one JSON object: for each workload key, the list of samples (ms, latency in µs).
"""
import json
import multiprocessing as mp
import statistics
import sys
import time
from array import array

BIG_DOUBLES = 8 * 1024 * 1024 // 8


def noop(_=None):
    return None


def total(values):
    return sum(values)


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
    start = time.perf_counter()
    sums = pool.map(total, arrays, chunksize=1)
    samples["big"].append(ms(start))
    assert sums[31] == 31.5 * BIG_DOUBLES, sums[31]

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
    samples = {key: [] for key in ("startup", "noopCold", "noop", "map200k", "map20k", "big", "latency")}
    for _ in range(runs):
        run_once(workers, samples)
    print(json.dumps(samples))


if __name__ == "__main__":
    main()
