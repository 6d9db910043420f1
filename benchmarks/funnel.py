"""Benchmark funnel statistics: exact limits with additive over-dispersion.

Run: .venv/bin/python benchmarks/funnel.py
Prints wall time and peak traced memory for 1,000 and 1,000,000 units
(proportions and ratios, exact limits, additive over-dispersion) and for a
1,000-point limit curve.
"""

from __future__ import annotations

import resource
import time

import numpy as np
import pandas as pd

from ccdata.comparison import funnel, funnel_limits


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


def _timed(label: str, fn) -> None:
    cpu0, t0 = time.process_time(), time.perf_counter()
    fn()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{label:<58} wall {elapsed:7.3f} s  cpu {cpu:7.3f} s  peak RSS {peak:7.0f} MiB"
    )


def main() -> None:
    rng = np.random.default_rng(2026)
    for n_units in (1_000, 1_000_000):
        prop = _proportion_data(n_units, rng)
        ratio = _ratio_data(n_units, rng)
        _timed(
            f"funnel proportion, exact + additive, {n_units:>9,} units",
            lambda d=prop: funnel(
                d, numerator="events", denominator="cases", overdispersion="additive"
            ),
        )
        _timed(
            f"funnel proportion, exact (no adjustment), {n_units:>9,} units",
            lambda d=prop: funnel(d, numerator="events", denominator="cases"),
        )
        _timed(
            f"funnel ratio, exact (no adjustment), {n_units:>9,} units",
            lambda d=ratio: funnel(
                d,
                numerator="observed",
                denominator="expected",
                unit="unit",
                kind="ratio",
            ),
        )
        _timed(
            f"funnel ratio, exact + additive,      {n_units:>9,} units",
            lambda d=ratio: funnel(
                d,
                numerator="observed",
                denominator="expected",
                unit="unit",
                kind="ratio",
                overdispersion="additive",
            ),
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


if __name__ == "__main__":
    main()
