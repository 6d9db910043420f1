"""Benchmark funnel statistics: exact verdicts with additive over-dispersion.

Run: PYTHONPATH=src python benchmarks/funnel.py [--profile]

Prints wall and CPU time (both, because the benchmark machine is shared: CPU
time is the work done, wall time what a user waits on an idle 2-core machine,
at best CPU / 2 when both threads are busy) for 1,000, 100,000 and 1,000,000
units: proportions (integer case numbers 20-5,000, so denominators repeat) and
ratios (distinct expected counts 2-400, the worst case: nothing repeats), exact
tail-probability verdicts, with and without additive over-dispersion
(beta-binomial and negative-binomial predictive limits), and a 1,000-point
limit curve. Each timing is the best of ``REPEATS`` (5) runs after a warm-up
(3 runs at 1,000,000 units).
``--profile`` prints the cProfile hot spots of the 1,000,000-unit proportion
run. ``--floor`` prints the cost of the one tail-probability call per unit
that exact verdicts need (incomplete gamma for a Poisson count, incomplete
beta for a binomial or negative binomial), on the benchmark's own counts, in
one thread and split over two (scipy.special releases the GIL, so two
threads halve the wall time on an idle 2-core machine), and whether a Python
thread keeps running while one of those calls runs.
The load average is printed first and last: on a shared machine wall times
are only comparable at the same load.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import resource
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy import special, stats

from ccdata.comparison import funnel, funnel_limits

REPEATS = 5


def _proportion_data(n_units: int, rng: np.random.Generator) -> pd.DataFrame:
    cases = rng.integers(20, 5000, n_units)
    p = np.clip(rng.normal(0.08, 0.015, n_units), 0.001, 0.999)
    return pd.DataFrame(
        {
            "site_id": np.arange(n_units),
            "events": rng.binomial(cases, p),
            "cases": cases,
        }
    )


def _ratio_data(n_units: int, rng: np.random.Generator) -> pd.DataFrame:
    expected = rng.uniform(2, 400, n_units)
    rr = np.exp(rng.normal(0, 0.1, n_units))
    return pd.DataFrame(
        {
            "unit": np.arange(n_units),
            "observed": rng.poisson(expected * rr),
            "expected": expected,
        }
    )


def _timed(label: str, fn, repeats: int = REPEATS) -> None:
    fn()  # warm-up
    best_wall = best_cpu = float("inf")
    for _ in range(repeats):
        cpu0, t0 = time.process_time(), time.perf_counter()
        fn()
        best_wall = min(best_wall, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - cpu0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label:<58} wall {best_wall:7.3f} s  cpu {best_cpu:7.3f} s  "
        f"peak RSS {peak:6.0f} MiB"
    )


def _prop(d, od=None):
    return funnel(d, numerator="events", denominator="cases", overdispersion=od)


def _ratio(d, od=None):
    return funnel(
        d,
        numerator="observed",
        denominator="expected",
        unit="unit",
        kind="ratio",
        overdispersion=od,
    )


def _load() -> str:
    one, five, _ = os.getloadavg()
    cores = os.cpu_count()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min), {cores} cores"


def _floor(n: int = 1_000_000) -> None:
    """Time the one special-function call per unit, in 1 and 2 threads."""
    rng = np.random.default_rng(7)
    ratio = _ratio_data(n, rng)
    mu = ratio["expected"].to_numpy()
    k = ratio["observed"].to_numpy().astype(float)
    shape = np.full(n, 80.0)  # tau^2 = 0.0125 on the ratio scale
    prop = _proportion_data(n, rng)
    cases = prop["cases"].to_numpy()
    events = prop["events"].to_numpy().astype(float)
    calls = {
        "Poisson P(X >= O): special.gammainc": lambda s: special.gammainc(
            np.maximum(k[s], 1), mu[s]
        ),
        "negative binomial P(X >= O): stats.nbinom.sf": lambda s: stats.nbinom.sf(
            k[s] - 1, shape[s], shape[s] / (shape[s] + mu[s])
        ),
        "binomial P(X >= O): stats.binom.sf": lambda s: stats.binom.sf(
            events[s] - 1, cases[s], 0.08
        ),
    }
    halves = [slice(0, n // 2), slice(n // 2, n)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for label, fn in calls.items():
            one = two = float("inf")
            for _ in range(3):
                t0 = time.perf_counter()
                fn(slice(0, n))
                one = min(one, time.perf_counter() - t0)
                t0 = time.perf_counter()
                list(pool.map(fn, halves))
                two = min(two, time.perf_counter() - t0)
            print(
                f"floor {label:<46} {n:,} units: 1 thread {one:6.3f} s, "
                f"2 threads {two:6.3f} s (wall)"
            )
    done = threading.Event()
    count = 0

    def work() -> None:
        calls["Poisson P(X >= O): special.gammainc"](slice(0, n))
        done.set()

    thread = threading.Thread(target=work)
    t0 = time.perf_counter()
    thread.start()
    while not done.is_set():
        count += 1
    thread.join()
    elapsed = time.perf_counter() - t0
    print(
        f"GIL check: {count / elapsed / 1e6:.2f} M Python loop steps/s ran while "
        f"special.gammainc ran in another thread ({elapsed:.3f} s): the GIL is "
        "released"
    )


def main() -> None:
    print(_load())
    rng = np.random.default_rng(2026)
    for n_units in (1_000, 100_000, 1_000_000):
        prop = _proportion_data(n_units, rng)
        ratio = _ratio_data(n_units, rng)
        reps = 3 if n_units == 1_000_000 else REPEATS
        _timed(
            f"funnel proportion, exact + additive,      {n_units:>9,} units",
            lambda d=prop: _prop(d, "additive"),
            reps,
        )
        _timed(
            f"funnel proportion, exact (no adjustment), {n_units:>9,} units",
            lambda d=prop: _prop(d),
            reps,
        )
        _timed(
            f"funnel ratio, exact (no adjustment),      {n_units:>9,} units",
            lambda d=ratio: _ratio(d),
            reps,
        )
        _timed(
            f"funnel ratio, exact + additive,           {n_units:>9,} units",
            lambda d=ratio: _ratio(d, "additive"),
            reps,
        )
    grid = np.geomspace(10, 100_000, 1_000).round()
    _timed(
        "funnel_limits proportion exact, 1,000-point curve",
        lambda: funnel_limits(grid, 0.08),
    )
    _timed(
        "funnel_limits ratio exact, 1,000-point curve",
        lambda: funnel_limits(grid / 10, 1.0, kind="ratio"),
    )
    if "--profile" in sys.argv:
        d = _proportion_data(1_000_000, rng)
        prof = cProfile.Profile()
        prof.enable()
        _prop(d, "additive")
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    if "--floor" in sys.argv:
        _floor()
    print(_load())


if __name__ == "__main__":
    main()
