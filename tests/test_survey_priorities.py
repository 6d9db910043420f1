"""ccdata.survey: survey_funnels and trust_priorities (expected ranges, priorities)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import ccdata
from ccdata.errors import InputError
from ccdata.sample_data import (
    EXPERIENCE_CASE_MIX_TRUST,
    EXPERIENCE_CHANGES,
    EXPERIENCE_LOW_TRUSTS,
    EXPERIENCE_SMALL_CELLS,
    EXPERIENCE_TRUST_QUESTION_EFFECTS,
    generate_lung_cancer_patient_experience,
)
from ccdata.survey import (
    PRIORITY_WORDS,
    case_mix_adjust,
    survey_funnels,
    trust_priorities,
)

LOWER, HIGHER, WITHIN, NOT_ASSESSED = PRIORITY_WORDS


@pytest.fixture(scope="module")
def pe():
    return generate_lung_cancer_patient_experience()


@pytest.fixture(scope="module")
def adjusted(pe):
    return case_mix_adjust(pe)


@pytest.fixture(scope="module")
def funnels(adjusted):
    return survey_funnels(adjusted)


@pytest.fixture(scope="module")
def priorities(funnels):
    return trust_priorities(funnels)


def _toy(n_per_unit=(30, 40, 10), seed=3):
    rng = np.random.default_rng(seed)
    rows = []
    for u, n in zip("ABC", n_per_unit, strict=True):
        for year in (2024, 2025):
            for i in range(n):
                answer, route = int(rng.integers(2, 6)), rng.choice(["x", "y"])
                rows.append((u, year, f"{u}{year}{i}", "Q01", answer, route))
    return pd.DataFrame(rows, columns=["site_id", "survey_year", "respondent_id",
                                       "question_id", "answer", "route"])  # fmt: skip


def test_mean_limits_are_target_plus_z_pooled_sd_over_root_n():
    res = case_mix_adjust(_toy(), case_mix=["route"])
    f = survey_funnels(res)
    u = res.units[res.units["survey_year"] == 2024].set_index("site_id")
    ok = u[u["status"] == "assessed"]
    pooled = np.sqrt(((ok["respondents"] - 1) * ok["residual_sd"] ** 2).sum()
                     / (ok["respondents"] - 1).sum())  # fmt: skip
    target = res.national.set_index("survey_year").loc[2024, "mean_score"]
    one = f.results[(2024, "Q01")].units.set_index("unit")
    z = stats.norm.ppf(0.999)
    for s in ok.index:
        n = ok.loc[s, "respondents"]
        assert one.loc[s, "lower_998"] == pytest.approx(
            target - z * pooled / np.sqrt(n)
        )
        assert one.loc[s, "upper_998"] == pytest.approx(
            target + z * pooled / np.sqrt(n)
        )
    # target from assessed units only; the small unit is not assessed
    assert f.results[(2024, "Q01")].target == pytest.approx(target)
    assert one.loc["C", "status"] == "not_assessed"
    frame = f.to_frame().set_index(["site_id", "survey_year"])
    assert np.isnan(frame.loc[("C", 2024), "value"])
    assert "fewer than 21" in frame.loc[("C", 2024), "note"]


def test_positive_funnel_is_an_ordinary_proportion_funnel():
    res = case_mix_adjust(_toy(), case_mix=())
    f = survey_funnels(res, score="positive")
    u = res.units[(res.units["survey_year"] == 2025)
                  & (res.units["status"] == "assessed")]  # fmt: skip
    direct = ccdata.funnel(
        pd.DataFrame({"unit": u["site_id"],
                      "events": u["observed_positive_share"] * u["respondents"],
                      "n": u["respondents"]}),
        numerator="events", denominator="n", unit="unit",
    )  # fmt: skip
    mine = f.results[(2025, "Q01")].units.set_index("unit")
    theirs = direct.units.set_index("unit")
    for col in ("lower_95", "upper_95", "lower_998", "upper_998", "status"):
        assert (
            mine.loc[["A", "B"], col].tolist() == theirs.loc[["A", "B"], col].tolist()
        )


def test_overdispersion_is_passed_to_the_funnel(adjusted):
    plain = survey_funnels(adjusted)
    wide = survey_funnels(adjusted, overdispersion="additive")
    key = (2024, "Q01")
    assert plain.results[key].overdispersion is None
    assert wide.results[key].overdispersion == "additive"
    if wide.results[key].overdispersion_applied:
        p = (
            plain.results[key].units["upper_998"]
            - plain.results[key].units["lower_998"]
        )
        w = wide.results[key].units["upper_998"] - wide.results[key].units["lower_998"]
        assert (w.dropna() >= p.dropna() - 1e-12).all()


def test_bad_funnel_input_is_refused(adjusted):
    with pytest.raises(InputError, match="CaseMixResult"):
        survey_funnels(adjusted.units)
    with pytest.raises(InputError, match="score"):
        survey_funnels(adjusted, score="median")


def test_planted_low_scores_are_found(funnels):
    frame = funnels.to_frame()
    ((trust, question),) = EXPERIENCE_TRUST_QUESTION_EFFECTS
    one = frame[(frame["site_id"] == trust)].set_index(["survey_year", "question_id"])
    for year in (2024, 2025):
        assert one.loc[(year, question), "status"] == "below_998"
    (low,) = EXPERIENCE_LOW_TRUSTS
    low_rows = frame[frame["site_id"] == low]
    for year in (2024, 2025):
        status = low_rows.loc[low_rows["survey_year"] == year, "status"]
        assert status.str.startswith("below").sum() >= 9


def test_case_mix_adjustment_removes_a_spurious_low_score(pe, funnels):
    crude = survey_funnels(case_mix_adjust(pe, case_mix=())).to_frame()
    adj = funnels.to_frame()
    t = EXPERIENCE_CASE_MIX_TRUST
    c = crude[crude["site_id"] == t]
    a = adj[adj["site_id"] == t]
    assert (c["value"] < c["target"]).mean() >= 0.8
    assert not a["status"].str.startswith("below").any()


def test_priorities_of_the_planted_trusts(priorities):
    ((trust, question),) = EXPERIENCE_TRUST_QUESTION_EFFECTS
    own = priorities.for_unit(trust)
    assert own.loc[own["position"] == LOWER, "question_id"].tolist() == [question]
    (low,) = EXPERIENCE_LOW_TRUSTS
    assert (priorities.for_unit(low)["position"] == LOWER).sum() >= 8
    for (t, q), effect in EXPERIENCE_CHANGES.items():
        row = priorities.for_unit(t).set_index("question_id").loc[q]
        word = "improved" if effect > 0 else "worsened"
        assert row["change_status"] == f"{word} beyond chance since 2024"
        assert np.sign(row["change"]) == np.sign(effect)
    # false alarms are rare: a handful of changes in 300 comparisons
    changed = ~priorities.table["change_status"].str.startswith(("no change", "not"))
    assert changed.sum() <= 8


def test_suppressed_questions_are_stated_not_scored(priorities):
    ((trust, year),) = EXPERIENCE_SMALL_CELLS
    assert priorities.current == year
    own = priorities.for_unit(trust)
    gone = own[own["position"] == NOT_ASSESSED]
    assert len(gone) >= 5
    assert gone["score"].isna().all() and gone["lower"].isna().all()
    assert (gone["change_status"] == "not compared").all()
    assert "not assessed: fewer than 21 respondents" in priorities.summary(trust)


def test_a_trust_sees_only_its_own_rows_and_no_ranking(priorities):
    own = priorities.for_unit("T05")
    assert set(own["site_id"]) == {"T05"}
    assert own["question_id"].tolist() == sorted(own["question_id"])
    table = priorities.to_frame()
    assert not any(re.search("rank|best|worst|league", c) for c in table.columns)
    keys = table["site_id"] + table["question_id"]
    assert keys.is_monotonic_increasing
    text = priorities.summary("T05")
    assert "Areas your patients rate lower than expected" in text
    assert "Q07" in text
    assert not re.search(r"(?i)\b(rank|best|worst|league)", text)
    for t in table["site_id"].unique():
        assert "T0" not in priorities.summary(t).replace(str(t), "")
    with pytest.raises(InputError, match="T99"):
        priorities.for_unit("T99")


def test_first_period_has_no_comparison(funnels):
    first = trust_priorities(funnels, period=2024)
    assert first.previous is None
    assert (first.table["change_status"] == "not compared").all()
    assert "Compared with" not in first.summary("T01")


def test_priority_parameters_are_checked(funnels):
    with pytest.raises(InputError, match="SurveyFunnels"):
        trust_priorities(funnels.to_frame())
    with pytest.raises(InputError, match="period"):
        trust_priorities(funnels, period=2019)
    with pytest.raises(InputError, match="level"):
        trust_priorities(funnels, level=0.9)
    lenient = trust_priorities(funnels, level=0.95)
    strict = trust_priorities(funnels)
    n_low = (lenient.table["position"] == LOWER).sum()
    assert n_low >= (strict.table["position"] == LOWER).sum()


def test_funnel_summary_states_the_suppression_rule(funnels):
    text = funnels.summary(2025, "Q05")
    assert "not assessed (fewer than 21 respondents: results suppressed)" in text
    assert "denominator of 0" not in text
    assert "adjusted for case mix (age band, sex, route to diagnosis)" in text
    with pytest.raises(InputError, match="Q99"):
        funnels.summary(2025, "Q99")
    frame = funnels.to_frame()
    assert frame["status"].notna().all()


def test_crude_scores_are_not_called_adjusted():
    crude = trust_priorities(survey_funnels(case_mix_adjust(_toy(), case_mix=())))
    assert "case-mix" not in crude.summary("A")
    adjusted = trust_priorities(
        survey_funnels(case_mix_adjust(_toy(), case_mix=["route"]))
    )
    assert "after case-mix adjustment" in adjusted.summary("A")


def test_a_question_with_no_assessed_unit_is_stated_everywhere():
    frame = _toy()
    few = frame[frame["respondent_id"].str[-1] == "0"].assign(question_id="Q02")
    both = pd.concat([frame, few], ignore_index=True)
    f = survey_funnels(case_mix_adjust(both, case_mix=()))
    assert sorted(f.results) == [(2024, "Q01"), (2025, "Q01")]
    table = f.to_frame()
    assert (table.loc[table["question_id"] == "Q02", "status"] == "not_assessed").all()
    pri = trust_priorities(f)
    q2 = pri.table[pri.table["question_id"] == "Q02"]
    assert (q2["position"] == NOT_ASSESSED).all()
    assert (q2["change_status"] == "not compared").all()
