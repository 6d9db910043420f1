"""ccdata.survey.case_mix_adjust: known answers, statsmodels, the sample truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdata.errors import InputError
from ccdata.sample_data import (
    EXPERIENCE_CASE_MIX_TRUST,
    EXPERIENCE_LOW_TRUSTS,
    sample_data_truth,
)
from ccdata.survey import case_mix_adjust, survey_indicators

KEYS = ["site_id", "survey_year", "question_id"]


def _frame(rows):
    """rows: (unit, x, answer) for one year and question."""
    return pd.DataFrame(
        {
            "site_id": [r[0] for r in rows],
            "survey_year": 2024,
            "respondent_id": [f"r{i}" for i in range(len(rows))],
            "question_id": "Q01",
            "answer": [r[2] for r in rows],
            "route": [r[1] for r in rows],
        }
    )


@pytest.fixture
def exact():
    # Within each unit, route "b" answers exactly 1 higher than route "a":
    # A: a 3, 3; b 4, 4.  B: a 2; b 3, 3, 3.  (b is the most common: reference)
    return _frame(
        [("A", "a", 3), ("A", "a", 3), ("A", "b", 4), ("A", "b", 4),
         ("B", "a", 2), ("B", "b", 3), ("B", "b", 3), ("B", "b", 3)]
    )  # fmt: skip


def test_hand_computed_adjustment(exact):
    res = case_mix_adjust(exact, case_mix=["route"], min_respondents=1)
    u = res.units.set_index("site_id")
    # national mean 25/8; share of route "a" 3/8 nationally, 1/2 in A, 1/4 in B;
    # within-unit effect of "a" vs "b" is -1
    coef = res.coefficients
    assert coef[["variable", "level", "reference"]].values.tolist() == [
        ["route", "a", "b"]
    ]
    assert coef["score_effect"].iloc[0] == pytest.approx(-1.0)
    assert u.loc["A", "observed_score"] == pytest.approx(3.5)
    assert u.loc["A", "expected_score"] == pytest.approx(25 / 8 - (0.5 - 3 / 8))
    assert u.loc["A", "adjusted_score"] == pytest.approx(3.5 + (0.5 - 3 / 8))
    assert u.loc["B", "expected_score"] == pytest.approx(25 / 8 - (0.25 - 3 / 8))
    assert u.loc["B", "adjusted_score"] == pytest.approx(2.75 + (0.25 - 3 / 8))
    # adjusted = national + observed - expected; the difference is the fixed effect
    rebuilt = u["national_score"] + u["observed_score"] - u["expected_score"]
    assert u["adjusted_score"].tolist() == pytest.approx(rebuilt.tolist())
    assert u.loc["A", "adjusted_score"] - u.loc["B", "adjusted_score"] == (
        pytest.approx(1.0)
    )
    # respondent-weighted adjusted scores average to the national score
    w = u["respondents"]
    assert (w * u["adjusted_score"]).sum() / w.sum() == pytest.approx(25 / 8)


def test_no_case_mix_means_no_adjustment(exact):
    res = case_mix_adjust(exact, case_mix=(), min_respondents=1)
    crude = survey_indicators(exact, min_respondents=1)
    u = res.units
    assert u["adjusted_score"].tolist() == pytest.approx(crude["mean_score"].tolist())
    assert (u["expected_score"] == u["national_score"]).all()
    assert u["adjusted_se"].tolist() == pytest.approx(crude["se"].tolist())


def test_coefficients_and_errors_match_statsmodels(rng):
    import statsmodels.formula.api as smf

    n = 600
    unit = rng.choice(list("ABCDEF"), n)
    age = rng.choice(["young", "mid", "old"], n, p=[0.3, 0.45, 0.25])
    sex = rng.choice(["F", "M"], n)
    y = np.clip(
        np.round(3.5 + (age == "old") * 0.5 - (age == "young") * 0.4
                 + (sex == "F") * 0.2 + rng.normal(0, 1, n)), 1, 5
    )  # fmt: skip
    frame = pd.DataFrame({"site_id": unit, "survey_year": 2024,
                          "respondent_id": [f"r{i}" for i in range(n)],
                          "question_id": "Q01", "answer": y, "age": age,
                          "sex": sex})  # fmt: skip
    res = case_mix_adjust(frame, case_mix=["age", "sex"], min_respondents=1)
    # reference levels are the most common: "mid" and whichever sex is commoner
    ref_sex = frame["sex"].value_counts().idxmax()
    fit = smf.ols(
        f"answer ~ C(site_id) + C(age, Treatment('mid')) "
        f"+ C(sex, Treatment('{ref_sex}'))",
        data=frame,
    ).fit()
    coef = res.coefficients.set_index("level")
    for level, name in (("old", "C(age, Treatment('mid'))[T.old]"),
                        ("young", "C(age, Treatment('mid'))[T.young]")):  # fmt: skip
        assert coef.loc[level, "score_effect"] == pytest.approx(fit.params[name])
        assert coef.loc[level, "score_se"] == pytest.approx(fit.bse[name])
    # the adjusted scores differ as the fixed effects do
    u = res.units.set_index("site_id")
    diff = u["adjusted_score"] - u.loc["A", "adjusted_score"]
    for s in "BCDEF":
        assert diff[s] == pytest.approx(fit.params[f"C(site_id)[T.{s}]"])


def test_missing_case_mix_is_a_level_of_its_own(exact):
    frame = exact.copy()
    frame.loc[0, "route"] = None
    res = case_mix_adjust(frame, case_mix=["route"], min_respondents=1)
    assert "(missing)" in res.coefficients["level"].tolist()


def test_suppressed_units_leave_no_trace():
    rng = np.random.default_rng(5)
    rows = []
    for unit, n in (("A", 40), ("B", 35), ("C", 12)):
        for i in range(n):
            rows.append((unit, rng.choice(["a", "b"]), int(rng.integers(1, 6)), i))
    frame = _frame([r[:3] for r in rows])
    res = case_mix_adjust(frame, case_mix=["route"])
    u = res.units.set_index("site_id")
    assert u.loc["C", "status"] == "not_assessed"
    assert u.loc["C"].drop(["survey_year", "question_id", "respondents", "status",
                            "note"]).isna().all()  # fmt: skip
    assert "fewer than 21" in u.loc["C", "note"]
    # any answers of the suppressed unit give the same published numbers
    other = frame.copy()
    other.loc[other["site_id"] == "C", "answer"] = 1
    res2 = case_mix_adjust(other, case_mix=["route"])
    pd.testing.assert_frame_equal(res.units, res2.units)
    pd.testing.assert_frame_equal(res.national, res2.national)
    assert res.national["units_assessed"].tolist() == [2]


def test_bad_case_mix_is_refused(exact):
    with pytest.raises(InputError, match="ethnicity"):
        case_mix_adjust(exact, case_mix=["ethnicity"])
    with pytest.raises(InputError, match="key columns"):
        case_mix_adjust(exact, case_mix=["site_id"])


# --- the sample data: recover the generator's truth ------------------------------


@pytest.fixture(scope="module")
def adjusted():
    from ccdata.sample_data import generate_lung_cancer_patient_experience

    return case_mix_adjust(generate_lung_cancer_patient_experience())


@pytest.fixture(scope="module")
def merged(adjusted):
    truth = sample_data_truth().lung_experience
    m = adjusted.units.merge(truth, on=KEYS)
    return m[m["status"] == "assessed"]


def test_true_adjusted_scores_lie_within_their_intervals(merged):
    inside = merged["adjusted_lower_95"].le(merged["true_adjusted_score"]) & merged[
        "adjusted_upper_95"
    ].ge(merged["true_adjusted_score"])
    assert inside.mean() > 0.88  # nominal 95%
    share = merged["true_adjusted_positive_share"]
    inside_p = merged["adjusted_positive_lower_95"].le(share) & merged[
        "adjusted_positive_upper_95"
    ].ge(share)
    assert inside_p.mean() > 0.88
    # for most trusts, most of their questions
    per_trust = inside.groupby(merged["site_id"]).mean()
    assert (per_trust >= 0.8).mean() >= 0.8


def test_adjusted_scores_track_the_true_trust_effects(merged):
    per = merged.groupby("site_id")[["adjusted_score", "trust_effect",
                                     "observed_score"]].mean()  # fmt: skip
    assert np.corrcoef(per["adjusted_score"], per["trust_effect"])[0, 1] > 0.85
    # adjustment improves on the crude score for recovering the truth
    err_adj = (merged["adjusted_score"] - merged["true_adjusted_score"]).abs()
    err_crude = (merged["observed_score"] - merged["true_adjusted_score"]).abs()
    assert err_adj.mean() < err_crude.mean()


def test_the_case_mix_trust_is_adjusted_up(merged):
    t = merged[merged["site_id"] == EXPERIENCE_CASE_MIX_TRUST]
    # its patients would be expected to report less: a real, not a care, gap
    assert (t["expected_score"] < t["national_score"] - 0.1).all()
    assert (t["adjusted_score"] - t["observed_score"]).mean() > 0.15
    assert (t["true_adjusted_score"] - t["true_mean_score"]).mean() > 0.15


def test_the_planted_low_trust_is_found_after_adjustment(merged):
    (low,) = EXPERIENCE_LOW_TRUSTS
    z = (merged["adjusted_score"] - merged["national_score"]) / merged["adjusted_se"]
    mean_z = z.groupby(merged["site_id"]).mean()
    assert mean_z[low] < -2.5
    assert (z[merged["site_id"] == low] < 0).all()


@given(
    seed=st.integers(0, 2**32 - 1),
    n_units=st.integers(2, 5),
    n=st.integers(20, 80),
)
@settings(max_examples=12)
def test_adjustment_identities_hold_on_any_data(seed, n_units, n):
    rng = np.random.default_rng(seed)
    units = rng.choice([f"U{k}" for k in range(n_units)], n)
    units[:n_units] = [f"U{k}" for k in range(n_units)]  # every unit present
    frame = pd.DataFrame(
        {
            "site_id": units,
            "survey_year": 2024,
            "respondent_id": [f"r{i}" for i in range(n)],
            "question_id": "Q01",
            "answer": rng.integers(1, 6, n),
            "age": rng.choice(["a", "b", "c"], n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    res = case_mix_adjust(frame, case_mix=["age", "sex"], min_respondents=1)
    u = res.units
    w = u["respondents"].to_numpy(float)
    national = res.national["mean_score"].iloc[0]
    # adjusted = national + observed - expected, and they average to national
    assert np.allclose(
        u["adjusted_score"], national + u["observed_score"] - u["expected_score"]
    )
    assert (w * u["adjusted_score"]).sum() / w.sum() == pytest.approx(national)
    assert (w * u["expected_score"]).sum() / w.sum() == pytest.approx(
        (w * u["observed_score"]).sum() / w.sum()
    )
    assert (u["adjusted_se"].dropna() >= 0).all()
    # relabelling the units changes nothing but the labels
    renamed = case_mix_adjust(
        frame.assign(site_id="X" + frame["site_id"]),
        case_mix=["age", "sex"],
        min_respondents=1,
    )
    assert np.allclose(
        renamed.units["adjusted_score"], u["adjusted_score"], equal_nan=True
    )
