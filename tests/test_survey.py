"""ccdata.survey.survey_indicators: hand-computed scores, skips, suppression."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import ccdata
from ccdata.errors import InputError
from ccdata.survey import survey_indicators


def _survey(rows):
    """rows: (unit, year, respondent, question, answer)."""
    return pd.DataFrame(
        rows,
        columns=["site_id", "survey_year", "respondent_id", "question_id", "answer"],
    )


@pytest.fixture
def small():
    # Unit A, 2024: four respondents. Q01 answered 5, 4, 2 and skipped (NaN);
    # Q02 answered 3, 3, 1 with no row at all for r4 (also a skip).
    return _survey(
        [
            ("A", 2024, "r1", "Q01", 5), ("A", 2024, "r1", "Q02", 3),
            ("A", 2024, "r2", "Q01", 4), ("A", 2024, "r2", "Q02", 3),
            ("A", 2024, "r3", "Q01", 2), ("A", 2024, "r3", "Q02", 1),
            ("A", 2024, "r4", "Q01", None),
        ]
    )  # fmt: skip


def test_hand_computed_small_survey(small):
    out = survey_indicators(small, min_respondents=2).set_index("question_id")
    q1, q2 = out.loc["Q01"], out.loc["Q02"]
    # Q01: answers 5, 4, 2 -> mean 11/3, var ((4/3)^2+(1/3)^2+(5/3)^2)/2 = 7/3
    assert q1["respondents"] == 3 and q1["item_nonresponse"] == 1
    assert q1["item_nonresponse_rate"] == pytest.approx(0.25)
    assert q1["mean_score"] == pytest.approx(11 / 3)
    assert q1["sd"] == pytest.approx(np.sqrt(7 / 3))
    assert q1["se"] == pytest.approx(np.sqrt(7 / 3) / np.sqrt(3))
    z = stats.norm.ppf(0.975)
    assert q1["mean_lower_95"] == pytest.approx(11 / 3 - z * np.sqrt(7 / 9))
    assert q1["positive"] == 2 and q1["positive_share"] == pytest.approx(2 / 3)
    # Wilson interval for 2/3 by its closed form
    n, p = 3, 2 / 3
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert q1["positive_lower_95"] == pytest.approx(centre - half)
    assert q1["positive_upper_95"] == pytest.approx(centre + half)
    # Q02: 3, 3, 1 -> mean 7/3, var ((2/3)^2+(2/3)^2+(4/3)^2)/2 = 4/3; none positive
    assert q2["respondents"] == 3 and q2["item_nonresponse"] == 1
    assert q2["mean_score"] == pytest.approx(7 / 3)
    assert q2["sd"] == pytest.approx(np.sqrt(4 / 3))
    assert q2["positive_share"] == 0 and q2["positive_lower_95"] == 0
    assert (out["status"] == "assessed").all() and (out["note"] == "").all()


def test_wilson_interval_matches_statsmodels(small):
    from statsmodels.stats.proportion import proportion_confint

    out = survey_indicators(small, min_respondents=1, level=0.9)
    lo, hi = proportion_confint(2, 3, alpha=0.1, method="wilson")
    q1 = out.set_index("question_id").loc["Q01"]
    assert q1["positive_lower_90"] == pytest.approx(lo)
    assert q1["positive_upper_90"] == pytest.approx(hi)


def test_skipped_items_are_non_response_never_zeros(small):
    out = survey_indicators(small, min_respondents=1).set_index("question_id")
    # treating the skip as 0 would give 11/4; as an answer it would count in n
    assert out.loc["Q01", "mean_score"] == pytest.approx(11 / 3)
    assert out.loc["Q01", "mean_score"] != pytest.approx(11 / 4)
    # a missing row and an empty answer are the same skip
    explicit = pd.concat(
        [small, _survey([("A", 2024, "r4", "Q02", None)])], ignore_index=True
    )
    again = survey_indicators(explicit, min_respondents=1).set_index("question_id")
    pd.testing.assert_frame_equal(out, again)
    # a respondent who skipped everything still counts as a respondent
    assert out["item_nonresponse"].tolist() == [1, 1]


def test_skipped_answers_given_as_empty_text_or_pd_na():
    frame = _survey(
        [("A", 2024, "r1", "Q01", "4"), ("A", 2024, "r2", "Q01", ""),
         ("A", 2024, "r3", "Q01", pd.NA), ("A", 2024, "r4", "Q01", "2")]
    )  # fmt: skip
    frame["answer"] = frame["answer"].replace("", None)
    out = survey_indicators(frame, min_respondents=1)
    assert out.loc[0, "respondents"] == 2 and out.loc[0, "item_nonresponse"] == 2
    assert out.loc[0, "mean_score"] == pytest.approx(3.0)


def _unit_with(n, unit="A", question="Q01", answer=4):
    return [(unit, 2024, f"{unit}{i}", question, answer) for i in range(n)]


def test_suppression_below_the_threshold():
    frame = _survey(_unit_with(20, "A") + _unit_with(21, "B"))
    out = survey_indicators(frame).set_index("site_id")
    a, b = out.loc["A"], out.loc["B"]
    assert a["status"] == "not_assessed" and b["status"] == "assessed"
    # the reason is stated and the counts stay, every score is withheld
    assert "fewer than 21 respondents" in a["note"] and b["note"] == ""
    assert a["respondents"] == 20
    for col in ("mean_score", "sd", "se", "mean_lower_95", "mean_upper_95",
                "positive", "positive_share", "positive_lower_95",
                "positive_upper_95"):  # fmt: skip
        assert np.isnan(a[col]), col
        assert np.isfinite(b[col]), col
    # the threshold is configurable
    out5 = survey_indicators(frame, min_respondents=5)
    assert (out5["status"] == "assessed").all()


def test_suppression_is_per_question():
    rows = _unit_with(25, "A", "Q01") + _unit_with(18, "A", "Q02")
    rows += [("A", 2024, f"A{i}", "Q02", None) for i in range(18, 25)]
    out = survey_indicators(_survey(rows)).set_index("question_id")
    assert out.loc["Q01", "status"] == "assessed"
    assert out.loc["Q02", "status"] == "not_assessed"
    assert out.loc["Q02", "item_nonresponse"] == 7


def test_response_rate_from_invitations(small):
    inv = pd.DataFrame({"site_id": ["A"], "survey_year": [2024], "sent": [10]})
    out = survey_indicators(small, min_respondents=1, invitations=inv, invited="sent")
    assert out["invited"].tolist() == [10, 10]
    assert out["response_rate"].tolist() == pytest.approx([0.4, 0.4])
    with pytest.raises(InputError, match="only 3 invited"):
        survey_indicators(
            small, invitations=inv.assign(sent=3), invited="sent", min_respondents=1
        )
    with pytest.raises(InputError, match="count >= 0"):
        survey_indicators(small, invitations=inv.assign(sent=-1), invited="sent")


def test_configurable_positive_mapping(small):
    out = survey_indicators(small, min_respondents=1, positive=(5,))
    assert out.set_index("question_id").loc["Q01", "positive_share"] == pytest.approx(
        1 / 3
    )
    out = survey_indicators(small, min_respondents=1, positive=[3, 4, 5])
    assert out.set_index("question_id").loc["Q02", "positive_share"] == pytest.approx(
        2 / 3
    )


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ({"positive": ()}, "positive"),
        ({"positive": (1, 2, 3, 4, 5)}, "positive"),
        ({"positive": (6,)}, "positive"),
        ({"scale": (5, 1)}, "scale"),
        ({"min_respondents": 0}, "min_respondents"),
        ({"min_respondents": 2.5}, "min_respondents"),
        ({"level": 1.5}, "level"),
        ({"unit": "trust"}, "trust"),
    ],
)
def test_bad_parameters_are_named(small, bad, match):
    with pytest.raises(InputError, match=match):
        survey_indicators(small, **bad)


def test_bad_answers_name_unit_row_and_value(small):
    bad = small.copy()
    bad["answer"] = bad["answer"].astype(object)
    bad.loc[4, "answer"] = 9
    with pytest.raises(InputError, match=r"Unit 'A', row 4 has 9"):
        survey_indicators(bad)
    bad.loc[4, "answer"] = "often"
    with pytest.raises(InputError, match="'often'"):
        survey_indicators(bad)
    bad.loc[4, "answer"] = 3.5
    with pytest.raises(InputError, match="whole answers"):
        survey_indicators(bad)


def test_duplicates_and_respondents_in_two_units_are_refused(small):
    dup = pd.concat([small, small.iloc[[0]]], ignore_index=True)
    with pytest.raises(InputError, match="once"):
        survey_indicators(dup)
    moved = pd.concat(
        [small, _survey([("B", 2024, "r1", "Q03", 4)])], ignore_index=True
    )
    with pytest.raises(InputError, match="one unit per period"):
        survey_indicators(moved)
    gap = small.copy()
    gap.loc[2, "site_id"] = None
    with pytest.raises(InputError, match="site_id"):
        survey_indicators(gap)


def test_sample_data_indicators(sample_data_dir):
    pe = pd.read_csv(sample_data_dir / "lung_cancer_patient_experience.csv")
    out = survey_indicators(pe)
    assert len(out) == 30 * 2 * 10
    # rows in key order, never by score
    keys = out[["site_id", "survey_year", "question_id"]].astype(str).agg("|".join, 1)
    assert keys.is_monotonic_increasing
    # respondents + skips = the unit-year's respondents, for every question
    total = pe.groupby(["site_id", "survey_year"])["respondent_id"].nunique()
    both = out.join(total.rename("total"), on=["site_id", "survey_year"])
    assert (both["respondents"] + both["item_nonresponse"] == both["total"]).all()
    # the small trust-year is (mostly) suppressed
    small = out[(out["site_id"] == "T30") & (out["survey_year"] == 2025)]
    assert (small["status"] == "not_assessed").sum() >= 5
    assert small.loc[small["status"] == "not_assessed", "mean_score"].isna().all()
    assert (out.loc[out["respondents"] >= 21, "status"] == "assessed").all()


@given(
    answers=st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=1, max_size=40)
)
@settings(max_examples=30)
def test_scores_agree_with_numpy(answers):
    frame = _survey([("A", 2024, f"r{i}", "Q01", a) for i, a in enumerate(answers)])
    out = survey_indicators(frame, min_respondents=1).iloc[0]
    given_ = np.array([a for a in answers if a is not None], dtype=float)
    assert out["respondents"] == given_.size
    assert out["item_nonresponse"] == len(answers) - given_.size
    if given_.size:
        assert out["mean_score"] == pytest.approx(given_.mean())
        assert out["positive_share"] == pytest.approx((given_ >= 4).mean())
        assert 0 <= out["positive_lower_95"] <= out["positive_share"]
        assert out["positive_share"] <= out["positive_upper_95"] <= 1
    if given_.size > 1:
        assert out["sd"] == pytest.approx(given_.std(ddof=1), abs=1e-9)
    else:
        assert np.isnan(out["mean_score"]) or given_.size == 1


def test_root_exports():
    for name in ("survey_indicators", "case_mix_adjust", "survey_funnels",
                 "trust_priorities", "CaseMixResult", "SurveyFunnels",
                 "TrustPriorities"):  # fmt: skip
        assert getattr(ccdata, name) is getattr(ccdata.survey, name)


def test_validated_submission_feeds_the_survey(tmp_path, sample_data_dir):
    # the batch job's path: read and validate the file, then compute
    head = pd.read_csv(sample_data_dir / "lung_cancer_patient_experience.csv",
                       nrows=3000, dtype=str, keep_default_na=False)  # fmt: skip
    path = tmp_path / "pe.csv"
    head.to_csv(path, index=False)
    res = ccdata.read_submission(path, "lung_cancer_patient_experience")
    assert res.ok and len(res.valid) == 3000
    out = survey_indicators(res.valid, min_respondents=1)
    direct = survey_indicators(
        head.assign(answer=pd.to_numeric(head["answer"]),
                    survey_year=head["survey_year"].astype(int)),
        min_respondents=1,
    )  # fmt: skip
    pd.testing.assert_frame_equal(out, direct, check_dtype=False)
    adj = ccdata.case_mix_adjust(res.valid, min_respondents=1)
    assert adj.units["adjusted_score"].notna().all()
