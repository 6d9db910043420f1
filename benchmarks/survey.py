"""Benchmark: survey indicators, case-mix adjustment, funnels and priorities.

On the bundled sample (82,360 answers: 30 trusts x 2 years x 10 questions) and on a
survey scaled up to about 1,000,000 answers (the national CPES size: 130 trusts,
~60,000 respondents... here 150 trusts x 2 years x 10 questions x ~330 respondents).

Run: PYTHONPATH=src .venv/bin/python benchmarks/survey.py
Prints the wall and CPU time of each step.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ccdata.sample_data import generate_lung_cancer_patient_experience
from ccdata.survey import (
    case_mix_adjust,
    survey_funnels,
    survey_indicators,
    trust_priorities,
)


def scaled(n_trusts: int = 150, per_trust: int = 330, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = n_trusts * 2 * per_trust
    trust = np.repeat([f"T{i:03d}" for i in range(n_trusts)], 2 * per_trust)
    year = np.tile(np.repeat([2024, 2025], per_trust), n_trusts)
    q = np.array([f"Q{i:02d}" for i in range(1, 11)])
    ans = rng.integers(1, 6, size=(n, q.size)).astype(float)
    ans[rng.random((n, q.size)) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "site_id": np.repeat(trust, q.size),
            "survey_year": np.repeat(year, q.size),
            "respondent_id": np.repeat([f"R{i:07d}" for i in range(n)], q.size),
            "question_id": np.tile(q, n),
            "answer": ans.ravel(),
            "age_band": np.repeat(
                rng.choice(["16-54", "55-64", "65-74", "75+"], n), q.size
            ),
            "sex": np.repeat(rng.choice(["F", "M"], n), q.size),
            "route_to_diagnosis": np.repeat(
                rng.choice(["two_week_wait", "gp_referral", "emergency", "other"], n),
                q.size,
            ),
        }
    )


def timed(label: str, fn, *args, **kwargs):
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    print(
        f"  {label:<20} {time.perf_counter() - w:7.2f} s wall "
        f"{time.process_time() - c:7.2f} s CPU"
    )
    return out


def run(data: pd.DataFrame, name: str) -> None:
    print(f"{name}: {len(data):,} answers")
    timed("survey_indicators", survey_indicators, data)
    adj = timed("case_mix_adjust", case_mix_adjust, data)
    fun = timed("survey_funnels", survey_funnels, adj, overdispersion="additive")
    timed("trust_priorities", trust_priorities, fun)


if __name__ == "__main__":
    run(generate_lung_cancer_patient_experience(), "sample")
    run(scaled(), "scaled")
