"""Benchmark: validate 1,000,000 synthetic AAA rows, as CSV text and as a typed frame.

Run with ``python benchmarks/validation.py [n_rows]``. Each case runs in its own
process and prints the best of three wall and CPU times of
:func:`ccdata.validate` (CPU time is the steadier figure on a shared
machine), the peak resident set size of that process (input data included;
tracemalloc is not used because it slows pandas down) and the 1-minute load
average after the runs (the machine is shared: wall times are only comparable
at a low load). About 1% of rows are corrupted
(out-of-range ages, reversed dates, unknown sexes, text in numeric columns,
duplicate record ids) so the error path is exercised as well.

Targets (issue #13, 2 cores): text <= 1.3 s, typed <= 1.0 s, peak RSS < 1.5 GB.
"""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np
import pandas as pd


def synthetic_aaa(n: int, *, seed: int = 20261122) -> pd.DataFrame:
    """A text DataFrame of ``n`` AAA records following the aaa_procedures schema."""
    rng = np.random.default_rng(seed)
    days = rng.integers(0, 1000, n).astype("timedelta64[D]")
    start = np.datetime64("2023-04-01") + days
    proc = start + rng.integers(0, 3, n).astype("timedelta64[D]")
    disc = proc + rng.integers(1, 20, n).astype("timedelta64[D]")
    entered = proc + rng.integers(0, 200, n).astype("timedelta64[D]")

    def dates(a):
        return pd.Series(a.astype("datetime64[D]").astype(str), dtype="str")

    def maybe_missing(values, p):
        s = pd.Series(values.astype(str), dtype="str")
        return s.mask(rng.random(n) < p, "")

    ids = np.array([f"R{i:08X}" for i in rng.permutation(n)])
    frame = pd.DataFrame(
        {
            "record_id": pd.Series(ids, dtype="str"),
            "site_id": pd.Series(
                np.char.add("S", np.char.zfill(rng.integers(1, 71, n).astype(str), 2)),
                dtype="str",
            ),
            "admission_date": dates(start),
            "procedure_date": dates(proc),
            "discharge_date": dates(disc),
            "record_entered_date": dates(entered),
            "age": pd.Series(rng.integers(50, 95, n).astype(str), dtype="str"),
            "sex": pd.Series(rng.choice(["M", "F"], n, p=[0.85, 0.15]), dtype="str"),
            "asa_grade": maybe_missing(rng.integers(1, 5, n), 0.08),
            "aneurysm_diameter_mm": maybe_missing(
                np.round(rng.normal(62, 8, n).clip(30, 120), 1), 0.05
            ),
            "creatinine_umol_l": maybe_missing(rng.integers(50, 300, n), 0.1),
            "procedure_type": pd.Series(rng.choice(["open", "EVAR"], n), dtype="str"),
            "cardiac_disease": maybe_missing(rng.integers(0, 2, n), 0.1),
            "respiratory_disease": maybe_missing(rng.integers(0, 2, n), 0.1),
            "died_in_hospital": pd.Series(
                rng.binomial(1, 0.025, n).astype(str), dtype="str"
            ),
        }
    )
    # corrupt about 1% of rows
    k = max(n // 500, 1)
    frame.loc[rng.choice(n, k, replace=False), "age"] = "212"
    frame.loc[rng.choice(n, k, replace=False), "age"] = "abc"
    frame.loc[rng.choice(n, k, replace=False), "sex"] = "X"
    frame.loc[rng.choice(n, k, replace=False), "admission_date"] = "2030-01-01"
    dup = rng.choice(n, 2 * k, replace=False)
    frame.loc[dup[:k], "record_id"] = frame.loc[dup[k:], "record_id"].to_numpy()
    return frame


def typed_aaa(text: pd.DataFrame) -> pd.DataFrame:
    """The same records already typed (as from Parquet or a database)."""
    out = text.copy()
    for c in (
        "admission_date",
        "procedure_date",
        "discharge_date",
        "record_entered_date",
    ):
        out[c] = pd.to_datetime(out[c], format="%Y-%m-%d").astype("datetime64[ns]")
    out["age"] = pd.to_numeric(out["age"], errors="coerce").fillna(-5).astype("int64")
    for c in ("asa_grade", "cardiac_disease", "respiratory_disease"):
        out[c] = pd.to_numeric(out[c].replace("", None)).astype("Int64")
    for c in ("aneurysm_diameter_mm", "creatinine_umol_l"):
        out[c] = pd.to_numeric(out[c].replace("", None)).astype("float64")
    out["died_in_hospital"] = out["died_in_hospital"].astype("int64")
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _one(kind: str, n: int, repeats: int = 3) -> None:
    from ccdata.validation import validate

    data = synthetic_aaa(n)
    if kind == "typed":
        data = typed_aaa(data)
    validate(data.head(1000), "aaa_procedures")  # warm up imports
    walls, cpus = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        result = validate(data, "aaa_procedures")
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        counts = len(result.valid), len(result.rejected), len(result.errors)
        del result  # one result alive at a time: the RSS of a single run
    print(
        f"{kind:>5}: validate(aaa_procedures) best of {repeats}: "
        f"{min(walls):.2f} s wall, {min(cpus):.2f} s CPU; "
        f"peak RSS {_peak_rss_mb():,.0f} MB; rows valid/rejected "
        f"{counts[0]:,}/{counts[1]:,}; problems {counts[2]:,}; "
        f"load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )


def main(n: int = 1_000_000) -> None:
    import subprocess

    print(f"rows: {n:,}")
    for kind in ("text", "typed"):
        subprocess.run([sys.executable, __file__, str(n), kind], check=True)


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    if len(sys.argv) > 2:
        _one(sys.argv[2], rows)
    else:
        main(rows)
