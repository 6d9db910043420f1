"""Benchmark: field completeness, case ascertainment, timeliness and submission
volume on 1,000,000 AAA-like records (70 sites x 36 months).

Run: .venv/bin/python benchmarks/completeness.py [n_records]
Prints the wall time and the peak traced memory (tracemalloc) of each measure.
"""

from __future__ import annotations

import resource
import sys
import time
import tracemalloc

import numpy as np
import pandas as pd

from ccdata.completeness import (
    add_period,
    case_ascertainment,
    field_completeness,
    submission_volume,
    timeliness,
)


def make_records(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sites = np.array([f"S{i:02d}" for i in range(1, 71)], dtype=object)
    start = np.datetime64("2023-04-01")
    proc = start + rng.integers(0, 1096, n).astype("timedelta64[D]")
    lag = np.round(rng.lognormal(np.log(12), 0.8, n)).astype("timedelta64[D]")

    def holes(values, rate):
        out = pd.Series(values)
        return out.mask(rng.random(n) < rate)

    return pd.DataFrame(
        {
            "record_id": pd.Series(
                np.char.add("R", np.arange(n).astype(str)), dtype="str"
            ),
            "site_id": pd.Series(sites[rng.integers(0, 70, n)], dtype="str"),
            "procedure_date": pd.Series(proc.astype(str), dtype="str"),
            "record_entered_date": pd.Series((proc + lag).astype(str), dtype="str"),
            "admission_date": pd.Series(proc.astype(str), dtype="str"),
            "discharge_date": pd.Series((proc + 3).astype(str), dtype="str"),
            "age": rng.integers(50, 95, n),
            "sex": pd.Series(np.where(rng.random(n) < 0.12, "F", "M"), dtype="str"),
            "asa_grade": holes(rng.integers(1, 5, n).astype(float), 0.03),
            "aneurysm_diameter_mm": holes(rng.normal(65, 10, n).round(1), 0.03),
            "creatinine_umol_l": holes(rng.lognormal(np.log(90), 0.3, n).round(), 0.04),
            "procedure_type": pd.Series(
                np.where(rng.random(n) < 0.7, "EVAR", "open"), dtype="str"
            ),
            "cardiac_disease": holes(rng.integers(0, 2, n).astype(float), 0.02),
            "respiratory_disease": holes(rng.integers(0, 2, n).astype(float), 0.02),
            "died_in_hospital": rng.integers(0, 2, n),
        }
    )


def measure(label, func):
    """Time ``func`` untraced, then run it again under tracemalloc for the peak."""
    t0 = time.perf_counter()
    result = func()
    elapsed = time.perf_counter() - t0
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{label:<46s} {elapsed:6.2f} s   peak {peak / 2**20:6.1f} MiB   "
        f"{len(result):>6d} rows"
    )
    return result, elapsed


def main(n: int = 1_000_000) -> None:
    data = make_records(n)
    months = pd.period_range("2023-04", "2026-03", freq="M").astype(str)
    expected = pd.DataFrame(
        {
            "site_id": np.repeat([f"S{i:02d}" for i in range(1, 71)], len(months)),
            "month": np.tile(months, 70),
            "expected": np.random.default_rng(2).poisson(n / 70 / 36 * 1.1, 70 * 36),
        }
    )
    print(f"{n:,} records, {data.site_id.nunique()} sites; dates as ISO text")
    with_month, t1 = measure(
        "add_period (month from procedure_date)",
        lambda: add_period(data, "procedure_date"),
    )
    _, t2 = measure(
        "field_completeness site x month (14 fields)",
        lambda: field_completeness(
            with_month, unit="site_id", period="month", schema="aaa_procedures"
        ),
    )
    _, t3 = measure(
        "case_ascertainment by site x month",
        lambda: case_ascertainment(
            with_month, expected, unit="site_id", period="month"
        ),
    )
    _, t4 = measure(
        "timeliness by site x month",
        lambda: timeliness(
            with_month,
            event_date="procedure_date",
            entry_date="record_entered_date",
            unit="site_id",
            period="month",
        ),
    )
    _, t5 = measure(
        "submission_volume by site, monthly",
        lambda: submission_volume(data, date="procedure_date", unit="site_id"),
    )
    print(f"{'total (wall, untraced)':<46s} {t1 + t2 + t3 + t4 + t5:6.2f} s")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'process peak RSS (incl. the 1M-row input)':<46s} {rss:6.0f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
