"""Benchmark: fit a 10-covariate risk model on 1,000,000 patients, then O/E per site.

Run: PYTHONPATH=src python benchmarks/risk.py [n_patients]
Prints wall time of each step and the peak resident memory of the process.
Target (issues 4 and 11): under 15 s and under 2 GB on a 2-core machine. The
model is fitted by statsmodels (Logit, Newton); the second fit repeats it with
cluster-robust standard errors (patients within sites).
"""

from __future__ import annotations

import resource
import sys
import time

import numpy as np
import pandas as pd

from ccdata.risk import fit_risk_model, observed_expected, risk_adjusted_cusum, vlad


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "site_id": rng.choice([f"S{i:02d}" for i in range(1, 71)], n),
            "age": rng.normal(75, 8, n).round(),
            "sex": rng.choice(["M", "F"], n, p=[0.88, 0.12]),
            "asa_grade": rng.choice([1, 2, 3, 4], n, p=[0.05, 0.35, 0.5, 0.1]),
            "diameter": rng.normal(65, 10, n).round(1),
            "creatinine": rng.lognormal(np.log(90), 0.3, n).round(),
            "procedure_type": rng.choice(["open", "EVAR"], n, p=[0.35, 0.65]),
            "cardiac": rng.binomial(1, 0.3, n),
            "respiratory": rng.binomial(1, 0.2, n),
            "diabetes": rng.binomial(1, 0.15, n),
            "smoker": rng.choice(["never", "ex", "current"], n),
            "day": rng.integers(0, 1095, n),
        }
    )
    lp = (
        -5.8
        + 0.055 * (df.age - 75)
        + 0.45 * (df.sex == "F")
        + 0.6 * (df.asa_grade - 2)
        + 0.025 * (df.diameter - 65)
        + np.log(df.creatinine / 90)
        + 0.4 * df.cardiac
        + 0.35 * df.respiratory
        + 1.85 * (df.procedure_type == "open")
        + 0.2 * df.diabetes
        + 0.3 * (df.smoker == "current")
    )
    df["died"] = rng.binomial(1, 1 / (1 + np.exp(-lp)))
    miss = rng.random(n) < 0.03
    df.loc[miss, "creatinine"] = np.nan
    return df


COVARIATES = [
    "age",
    "sex",
    "C(asa_grade)",
    "diameter",
    "np.log(creatinine)",
    "procedure_type",
    "cardiac",
    "respiratory",
    "diabetes",
    "smoker",
]


def main(n: int = 1_000_000) -> None:
    df = simulate(n)
    t0 = time.perf_counter()
    model = fit_risk_model(df, "died", COVARIATES, missing="indicator")
    t1 = time.perf_counter()
    df["expected"] = model.predict(df)
    t2 = time.perf_counter()
    oe = observed_expected(df, unit="site_id", outcome="died", expected="expected")
    t3 = time.perf_counter()
    cus = risk_adjusted_cusum(
        df, outcome="died", expected="expected", order_by="day", unit="site_id"
    )
    vl = vlad(df, outcome="died", expected="expected", order_by="day", unit="site_id")
    t4 = time.perf_counter()
    clustered = fit_risk_model(
        df,
        "died",
        COVARIATES,
        missing="indicator",
        cov_type="cluster",
        unit="site_id",
    )
    t5 = time.perf_counter()
    diff = float(
        (model.coefficients.estimate - clustered.coefficients.estimate).abs().max()
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    print(f"patients: {n:,}; terms: {len(model.coefficients)}; sites: {len(oe.units)}")
    print(
        f"c-statistic {model.c_statistic:.3f}; CUSUM signals "
        f"{int(cus.points.signal.sum())}"
    )
    print(f"fit_risk_model (incl. diagnostics): {t1 - t0:6.2f} s")
    print(f"predict:                            {t2 - t1:6.2f} s")
    print(f"observed_expected:                  {t3 - t2:6.2f} s")
    print(f"fit + predict + O/E:                {t3 - t0:6.2f} s")
    print(
        f"risk_adjusted_cusum + vlad:         {t4 - t3:6.2f} s  "
        f"({len(vl.points):,} rows)"
    )
    print(
        f"fit, cluster-robust SEs (by site):  {t5 - t4:6.2f} s  "
        f"(max |estimate difference| {diff:.1e})"
    )
    print(f"peak memory (max RSS):              {peak:6.0f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
