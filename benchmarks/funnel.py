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
run.
"""

from __future__ import annotations

import cProfile
import pstats
import resource
import sys
import time

import numpy as np
import pandas as pd

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


def main() -> None:
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


if __name__ == "__main__":
    main()
