"""Synthetic survey answers and a small survey config for the survey batch tests.

Twelve trusts, two survey years, three questions; T02's patients answer Q01
much lower in 2025; one trust (``small``) has few respondents in 2025.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TRUSTS = [f"T{i:02d}" for i in range(1, 13)]
QUESTIONS = ("Q01", "Q02", "Q03")

CONFIG = """
[run]
dpi = 20
workers = 1
site_packs = false

[sources.exp]
path = "experience.csv"
schema = "lung_cancer_patient_experience"
community = "lung"

[surveys.exp]
title = "Patient experience"
source = "exp"
case_mix = ["sex"]
level = 0.998
"""


def answers(seed: int = 17, small: tuple[str, int] = ("T06", 15)) -> pd.DataFrame:
    """Synthetic answers: T02 low on Q01 in 2025, ``small`` few respondents."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in TRUSTS:
        for year in (2024, 2025):
            n = small[1] if (t == small[0] and year == 2025) else 60
            for r in range(n):
                rid = f"RS{t}{year}{r:03d}"
                sex = "M" if rng.random() < 0.5 else "F"
                for q in QUESTIONS:
                    low = t == "T02" and year == 2025 and q == "Q01"
                    p = (
                        [0.3, 0.3, 0.2, 0.1, 0.1]
                        if low
                        else [0.05, 0.1, 0.2, 0.35, 0.3]
                    )
                    answer = int(rng.choice(5, p=p)) + 1
                    if rng.random() < 0.04:
                        answer = None  # a skipped question
                    rows.append((t, year, rid, q, answer, sex))
    frame = pd.DataFrame(
        rows,
        columns=[
            "site_id",
            "survey_year",
            "respondent_id",
            "question_id",
            "answer",
            "sex",
        ],
    )
    frame["answer"] = frame["answer"].astype("Int64")
    return frame
