"""Benchmark: validate, completeness, risk fit and O/E on N records through an engine.

Run::

    python benchmarks/scale.py --rows 50000000 [--engine duckdb|spark]
        [--dir DIR] [--generate-only] [--compare] [--memory-limit 2GB]

Generates (once; reused when present) an N-row ``aaa_procedures`` Parquet
dataset, deterministic, written in chunks of a million rows, with a few
deliberate errors (ages out of range, dates out of order, duplicated record
ids, unreadable blanks). Then, through the engine: validate (bounded error
list, valid rows written to Parquet), field completeness and timeliness per
site and month, case ascertainment, the risk model (Newton steps as engine
aggregations), prediction, O/E per site and per site-month, and the CUSUM
inputs of one site. One line per step; the last line is exactly
``rows=N engine=E seconds=S peak_rss_gb=G`` (S excludes generation).

``--compare`` also runs the in-memory pandas path on the same data and prints
the largest differences (use it up to a few million rows).

Target (issue 16): 50M rows on DuckDB, 2 cores, under 10 minutes and 4 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

CHUNK = 1_000_000
WRITE_VALID = True  # write the valid rows once: later scans read typed Parquet
N_SITES = 70
FIRST_DAY = np.datetime64("2019-04-01")
N_DAYS = 6 * 365
COVARIATES = [
    "age",
    "sex",
    "C(asa_grade)",
    "aneurysm_diameter_mm",
    "np.log(creatinine_umol_l)",
    "procedure_type",
    "cardiac_disease",
    "respiratory_disease",
]


def _chunk(i: int, n: int, start: int, seed: int) -> pd.DataFrame:
    """Rows ``start .. start + n - 1``: a pure function of (seed, i)."""
    rng = np.random.default_rng([seed, i])
    sites = np.array([f"S{k:02d}" for k in range(1, N_SITES + 1)])
    weights = np.linspace(0.4, 1.6, N_SITES)
    site_idx = rng.choice(N_SITES, n, p=weights / weights.sum())
    admission = FIRST_DAY + rng.integers(0, N_DAYS, n).astype("timedelta64[D]")
    procedure = admission + rng.integers(0, 3, n).astype("timedelta64[D]")
    discharge = procedure + (1 + rng.poisson(5, n)).astype("timedelta64[D]")
    lag = np.round(rng.gamma(1.5, 20 + site_idx % 7 * 8, n)).astype("timedelta64[D]")
    entered = procedure + lag
    age = np.clip(np.round(rng.normal(74, 7.5, n)), 40, 99).astype(np.int64)
    sex = np.where(rng.random(n) < 0.12, "F", "M")
    asa = np.searchsorted([0.05, 0.40, 0.90], rng.random(n)) + 1
    diameter = np.round(rng.normal(62, 9, n).clip(30, 120), 1)
    creat = np.round(rng.lognormal(np.log(90), 0.3, n).clip(30, 1500))
    open_ = rng.random(n) < 0.35 + 0.01 * (site_idx % 10)
    cardiac = (rng.random(n) < 0.3).astype(np.int64)
    resp = (rng.random(n) < 0.2).astype(np.int64)
    lp = (
        -5.6
        + 0.055 * (age - 74)
        + 0.45 * (sex == "F")
        + 0.6 * (asa - 2)
        + 0.015 * (diameter - 62)
        + 0.9 * np.log(creat / 90)
        + 0.4 * cardiac
        + 0.35 * resp
        + 1.7 * open_
        + 0.15 * (site_idx % 5 == 0)
    )
    died = (rng.random(n) < 1.0 / (1.0 + np.exp(-lp))).astype(np.int64)
    frame = pd.DataFrame(
        {
            "record_id": pd.array(
                [f"R{k:010d}" for k in range(start, start + n)], dtype="str"
            ),
            "site_id": pd.array(sites[site_idx], dtype="str"),
            "admission_date": admission.astype("datetime64[ns]"),
            "procedure_date": procedure.astype("datetime64[ns]"),
            "discharge_date": discharge.astype("datetime64[ns]"),
            "record_entered_date": entered.astype("datetime64[ns]"),
            "age": age,
            "sex": pd.array(sex, dtype="str"),
            "asa_grade": pd.array(asa, dtype="Int64"),
            "aneurysm_diameter_mm": diameter,
            "creatinine_umol_l": creat,
            "procedure_type": pd.array(np.where(open_, "open", "EVAR"), dtype="str"),
            "cardiac_disease": pd.array(cardiac, dtype="Int64"),
            "respiratory_disease": pd.array(resp, dtype="Int64"),
            "died_in_hospital": died,
        }
    )
    # missing risk factors and a few deliberate errors (about 1 record in 5,000)
    frame.loc[rng.random(n) < 0.02, "asa_grade"] = pd.NA
    frame.loc[rng.random(n) < 0.03, "creatinine_umol_l"] = np.nan
    frame.loc[rng.random(n) < 0.01, "aneurysm_diameter_mm"] = np.nan
    frame.loc[rng.random(n) < 0.005, "cardiac_disease"] = pd.NA
    bad = rng.random(n)
    frame.loc[bad < 1e-4, "age"] = 15
    swap = (bad >= 1e-4) & (bad < 2e-4)
    frame.loc[swap, "discharge_date"] = frame.loc[
        swap, "procedure_date"
    ] - pd.Timedelta(days=2)
    frame.loc[(bad >= 2e-4) & (bad < 2.5e-4), "sex"] = "U"
    dup = np.flatnonzero((bad >= 2.5e-4) & (bad < 3e-4))
    if len(dup):
        frame.loc[dup, "record_id"] = (
            frame["record_id"].iloc[np.maximum(dup - 1, 0)].to_numpy()
        )
    return frame


def generate(rows: int, folder: Path, *, seed: int = 16) -> Path:
    """Write (or reuse) the dataset; returns its folder."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = folder / f"aaa_procedures_{rows}"
    marker = data / "_ccdata_done.json"
    if marker.exists() and json.loads(marker.read_text()) == {
        "rows": rows,
        "ts": "us",
        "seed": seed,
    }:
        print(f"generate: reusing {data}", flush=True)
        return data
    if data.exists():
        shutil.rmtree(data)
    data.mkdir(parents=True)
    t0 = time.perf_counter()
    for i, start in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - start)
        table = pa.Table.from_pandas(_chunk(i, n, start, seed), preserve_index=False)
        # microsecond timestamps: Spark cannot read pandas' nanosecond ones
        pq.write_table(
            table,
            data / f"part-{i:05d}.parquet",
            row_group_size=250_000,
            coerce_timestamps="us",
        )
    marker.write_text(json.dumps({"rows": rows, "ts": "us", "seed": seed}))
    print(
        f"generate: {rows:,} rows in {time.perf_counter() - t0:.1f} s -> {data}",
        flush=True,
    )
    return data


def expected_cases(counts: pd.DataFrame, seed: int = 16) -> pd.DataFrame:
    """An 'independent' expected count per site-month (submitted + noise)."""
    rng = np.random.default_rng(seed)
    out = counts[["site_id", "month"]].copy()
    out["expected"] = (
        (counts["submitted"] * rng.uniform(0.97, 1.08, len(counts)))
        .round()
        .astype(np.int64)
    )
    return out


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - no load average on this platform
        return "n/a"


class Steps:
    """Wall and CPU seconds per step (CPU: this process, every engine thread)."""

    def __init__(self) -> None:
        self.total = 0.0
        self.cpu = 0.0

    def run(self, name, fn):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        self.total += dt
        self.cpu += dc
        print(
            f"{name}: {dt:.1f} s (CPU {dc:.1f} s, peak RSS {peak_rss_gb():.2f} GB, "
            f"load {load_average()})",
            flush=True,
        )
        return out


def run_engine(data: Path, engine: str, workdir: Path, memory_limit: str | None):
    from ccdata import engine as eng

    steps = Steps()
    if engine == "duckdb":
        con = eng.connect(
            "duckdb", memory_limit=memory_limit, temp_directory=workdir / "duckdb_tmp"
        )
    else:
        con = steps.run("spark session", lambda: eng.connect("spark"))
    source = eng.read_source(con, data)
    res = steps.run("validate", lambda: eng.validate(source, "aaa_procedures"))
    print(
        f"  rows={res.n_rows:,} valid={res.n_valid:,} rejected={res.n_rejected:,} "
        f"problems={int(res.counts['problems'].sum()):,} listed={len(res.errors):,}"
    )
    valid_path = workdir / f"valid_{engine}_{res.n_rows}.parquet"

    def write_valid():
        if valid_path.exists():
            shutil.rmtree(valid_path) if valid_path.is_dir() else valid_path.unlink()
        con.to_parquet(res.valid, str(valid_path))
        return eng.read_source(con, valid_path)

    valid = res.valid if not WRITE_VALID else steps.run("write valid rows", write_valid)
    valid = eng.add_period(valid, "procedure_date")
    fields = steps.run(
        "field completeness (site x month)",
        lambda: eng.field_completeness(
            valid, unit="site_id", period="month", schema="aaa_procedures"
        ),
    )
    timely = steps.run(
        "timeliness (site x month)",
        lambda: eng.timeliness(
            valid,
            event_date="procedure_date",
            entry_date="record_entered_date",
            unit="site_id",
            period="month",
        ),
    )
    volume = steps.run(
        "volume (site x month)",
        lambda: eng.submission_volume(valid, date="procedure_date", unit="site_id"),
    )
    counts = volume.rename(
        columns={"unit": "site_id", "period": "month", "cases": "submitted"}
    )
    asc = steps.run(
        "case ascertainment (site x month)",
        lambda: eng.case_ascertainment(
            valid, expected_cases(counts), unit="site_id", period="month"
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = steps.run(
            "fit risk model",
            lambda: eng.fit_risk_model(valid, "died_in_hospital", COVARIATES),
        )
    print(
        f"  terms={len(model.coefficients)} used={model.n_used:,} "
        f"c={model.c_statistic:.4f}"
    )
    scored = eng.predict(valid, model)
    scored = scored.filter(scored.expected.notnull())
    oe = steps.run(
        "O/E per site",
        lambda: eng.observed_expected(
            scored, outcome="died_in_hospital", expected="expected"
        ),
    )
    oe_month = steps.run(
        "O/E per site x month",
        lambda: eng.observed_expected(
            scored, outcome="died_in_hospital", expected="expected", period="month"
        ),
    )
    cus = steps.run(
        "CUSUM inputs (one site)",
        lambda: eng.cusum_inputs(
            scored,
            outcome="died_in_hospital",
            expected="expected",
            order_by="procedure_date",
            units=["S01"],
        ),
    )
    print(
        f"  fields={len(fields)} timeliness={len(timely)} volume={len(volume)} "
        f"ascertainment={len(asc)} oe={len(oe.units)} "
        f"oe_month={len(oe_month.units)} "
        f"cusum_rows={len(cus)}"
    )
    print(f"  total: wall {steps.total:.1f} s, CPU {steps.cpu:.1f} s")
    return steps.total, {
        "validation": res,
        "fields": fields,
        "timeliness": timely,
        "volume": volume,
        "ascertainment": asc,
        "model": model,
        "oe": oe,
        "oe_month": oe_month,
    }


def _diff(a, b) -> float:
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    both = ~(np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore"):
        rel = np.abs(a[both] - b[both]) / np.maximum(1.0, np.abs(b[both]))
    return float(np.nanmax(rel)) if rel.size else 0.0


def compare_in_memory(data: Path, got: dict) -> float:
    """The pandas path on the same data; returns the largest relative difference."""
    import ccdata

    frame = pd.read_parquet(data)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="row")
    res = ccdata.validate(frame, "aaa_procedures")
    worst = 0.0
    eres = got["validation"]
    same_errors = (
        res.errors.head(len(eres.errors)).equals(eres.errors)
        if not (eres.truncated)
        else True
    )
    print(
        f"compare: valid {len(res.valid):,} vs {eres.n_valid:,}; errors equal: "
        f"{same_errors}"
    )
    valid = ccdata.add_period(res.valid, "procedure_date")
    pairs = [
        (
            "fields",
            ccdata.field_completeness(
                valid, unit="site_id", period="month", schema="aaa_procedures"
            ),
            "proportion",
        ),
        (
            "timeliness",
            ccdata.timeliness(
                valid,
                event_date="procedure_date",
                entry_date="record_entered_date",
                unit="site_id",
                period="month",
            ),
            "p90_lag_days",
        ),
        (
            "volume",
            ccdata.submission_volume(valid, date="procedure_date", unit="site_id"),
            "cases",
        ),
    ]
    for name, mem, col in pairs:
        d = _diff(got[name][col], mem[col])
        worst = max(worst, d)
        print(f"compare: {name} max rel diff {d:.2e}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ccdata.fit_risk_model(res.valid, "died_in_hospital", COVARIATES)
    em = got["model"]
    for col in ("estimate", "std_error", "p_value"):
        d = _diff(em.coefficients[col], model.coefficients[col])
        worst = max(worst, d)
        print(f"compare: model {col} max rel diff {d:.2e}")
    d = _diff(em.diagnostics.to_frame()["value"], model.diagnostics.to_frame()["value"])
    worst = max(worst, d)
    print(f"compare: diagnostics max rel diff {d:.2e}")
    scored = res.valid.assign(expected=model.predict(res.valid)).dropna(
        subset=["expected"]
    )
    oe = ccdata.observed_expected(
        scored, outcome="died_in_hospital", expected="expected"
    )
    for col in ("observed", "expected", "ratio", "ratio_upper_95"):
        d = _diff(got["oe"].to_frame()[col], oe.to_frame()[col])
        worst = max(worst, d)
        print(f"compare: O/E {col} max rel diff {d:.2e}")
    print(
        f"compare: largest relative difference {worst:.2e} "
        f"({'within' if worst <= 1e-9 else 'OUTSIDE'} 1e-9)"
    )
    return worst


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(os.environ.get("CCDATA_SCALE_DIR", "/tmp/ccdata_scale")),
    )
    parser.add_argument("--generate-only", action="store_true")
    parser.add_argument(
        "--compare", action="store_true", help="also run the in-memory path and compare"
    )
    parser.add_argument(
        "--memory-limit",
        default="2GB",
        help="DuckDB memory limit (it spills beyond it)",
    )
    args = parser.parse_args(argv)
    args.dir.mkdir(parents=True, exist_ok=True)
    data = generate(args.rows, args.dir)
    if args.generate_only:
        return 0
    seconds, got = run_engine(data, args.engine, args.dir, args.memory_limit)
    peak = peak_rss_gb()
    if args.compare:
        compare_in_memory(data, got)
    print(
        f"rows={args.rows} engine={args.engine} seconds={seconds:.1f} "
        f"peak_rss_gb={peak:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
