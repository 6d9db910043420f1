"""Case ascertainment: known answers, over-expected rows, outer join, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdata.completeness import CompletenessWarning, add_period, case_ascertainment
from ccdata.completeness._common import poisson_ratio_interval
from ccdata.errors import InputError

pytestmark = pytest.mark.filterwarnings(
    # These tests pin the behaviour of the deprecated spellings (by=, site=,
    # freq="M"), which keep their old output; the new vocabulary is tested in
    # tests/test_completeness_vocabulary.py.
    "ignore:.*is deprecated and will (be removed|stop working):FutureWarning"
)


COLUMNS = [
    "site_id",
    "month",
    "submitted",
    "expected",
    "ascertainment",
    "lower_95",
    "upper_95",
    "over_expected",
]


@pytest.fixture
def records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["A", "A", "A", "B", "D"],
            "procedure_date": [
                "2024-01-03",
                "2024-01-28",
                "2024-03-09",
                "2024-01-15",
                "2024-02-02",
            ],
        }
    )


@pytest.fixture
def expected() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["A", "A", "A", "B", "C"],
            "month": ["2024-01", "2024-02", "2024-03", "2024-01", "2024-01"],
            "expected": [1, 3, 2, 0, 4],
        }
    )


def test_known_answers_by_site_and_month(records, expected):
    sub = add_period(records, "procedure_date")
    out = case_ascertainment(sub, expected, by=["site_id", "month"])
    assert list(out.columns) == COLUMNS
    keys = out[["site_id", "month"]].values.tolist()
    # Outer join: C only expected, D only submitted; A 2024-02 has no records.
    assert keys == [
        ["A", "2024-01"],
        ["A", "2024-02"],
        ["A", "2024-03"],
        ["B", "2024-01"],
        ["C", "2024-01"],
        ["D", "2024-02"],
    ]
    assert out.submitted.tolist() == [2, 0, 1, 1, 0, 1]
    np.testing.assert_array_equal(out.expected, [1, 3, 2, 0, 4, np.nan])
    np.testing.assert_array_equal(
        out.ascertainment, [2.0, 0.0, 0.5, np.nan, 0.0, np.nan]
    )
    assert out.over_expected.tolist() == [True, False, False, True, False, False]
    # A 2024-01: 2 submitted vs 1 expected -> exact Poisson interval for 2, / 1.
    assert out.lower_95[0] == pytest.approx(0.2422093, abs=1e-6)
    assert out.upper_95[0] == pytest.approx(7.2246877, abs=1e-6)
    # A 2024-02: 0 of 3 -> Wilson (0, z^2/(3 + z^2)).
    assert out.lower_95[1] == 0.0
    assert out.upper_95[1] == pytest.approx(3.8414588 / (3 + 3.8414588), abs=1e-6)
    # A 2024-03: 1 of 2 -> Wilson.
    assert out.lower_95[2] == pytest.approx(0.0945312, abs=1e-6)
    # expected 0 or unknown -> no ratio and no interval
    assert out.loc[[3, 5], ["lower_95", "upper_95"]].isna().all().all()


def test_counts_are_summed_over_finer_groups(records, expected):
    out = case_ascertainment(records, expected, by="site_id")
    assert out.site_id.tolist() == ["A", "B", "C", "D"]
    assert out.submitted.tolist() == [3, 1, 0, 1]
    np.testing.assert_array_equal(out.expected, [6, 0, 4, np.nan])
    assert out.ascertainment[0] == 0.5


def test_submitted_counts_column():
    sub = pd.DataFrame({"site_id": ["A", "B"], "submitted": [12, 5]})
    exp = pd.DataFrame({"site_id": ["A", "B"], "expected": [10, 5]})
    out = case_ascertainment(sub, exp, by="site_id")
    assert out.ascertainment.tolist() == [1.2, 1.0]
    assert out.over_expected.tolist() == [True, False]
    # 12 over 10: Garwood limits for 12 are 6.2006 and 20.9622 (standard tables).
    assert out.lower_95[0] == pytest.approx(0.62006, abs=1e-4)
    assert out.upper_95[0] == pytest.approx(2.09622, abs=1e-4)
    # 5 of 5: Wilson, upper exactly 1 (not capped: just the Wilson limit).
    assert out.upper_95[1] == 1.0
    assert out.lower_95[1] == pytest.approx(0.5655175, abs=1e-6)


def test_unknown_expected_count_propagates():
    sub = pd.DataFrame({"site_id": ["A"], "submitted": [3]})
    exp = pd.DataFrame({"site_id": ["A", "A"], "expected": [4, np.nan]})
    out = case_ascertainment(sub, exp, by="site_id")
    assert np.isnan(out.expected[0]) and np.isnan(out.ascertainment[0])
    assert not out.over_expected[0]


def test_overall_without_grouping(records, expected):
    out = case_ascertainment(records, expected, by=None)
    assert list(out.columns) == COLUMNS[2:]
    assert (out.submitted[0], out.expected[0]) == (5, 10.0)
    out = case_ascertainment(records.iloc[:0], expected, by=None)
    assert (out.submitted[0], out.ascertainment[0]) == (0, 0.0)


def test_mismatched_labels_warn_or_raise(records, expected):
    sub = add_period(records, "procedure_date", freq="Q")
    with pytest.warns(CompletenessWarning, match="no group appears in both"):
        out = case_ascertainment(sub, expected, by=["site_id", "month"])
    assert len(out) == 3 + 5  # A, B, D in 2024Q1; five expected site-months
    sub = records.assign(month=pd.to_datetime(records.procedure_date).dt.to_period("M"))
    with pytest.raises(InputError, match="incompatible types"):
        case_ascertainment(sub, expected, by=["site_id", "month"])


def test_errors(records, expected):
    with pytest.raises(InputError, match="month"):
        case_ascertainment(records, expected, by=["site_id", "month"])
    with pytest.raises(InputError, match="expected"):
        case_ascertainment(records, expected.drop(columns="expected"), by="site_id")
    with pytest.raises(InputError, match="counts >= 0"):
        case_ascertainment(records, expected.assign(expected=-1), by="site_id")
    with pytest.raises(InputError, match="counts >= 0"):
        case_ascertainment(records, expected.assign(expected="many"), by="site_id")


def test_poisson_interval_zero_count():
    lo, hi = poisson_ratio_interval([0], [10])
    assert lo[0] == 0.0 and hi[0] == pytest.approx(0.3688879, abs=1e-6)


@given(
    st.lists(
        st.tuples(st.sampled_from("ABCD"), st.integers(0, 30), st.integers(0, 30)),
        min_size=1,
        max_size=20,
        unique_by=lambda t: t[0],
    )
)
def test_properties(rows):
    sub = pd.DataFrame(
        {"site_id": [r[0] for r in rows], "submitted": [r[1] for r in rows]}
    )
    exp = pd.DataFrame(
        {"site_id": [r[0] for r in rows], "expected": [r[2] for r in rows]}
    )
    out = case_ascertainment(sub, exp, by="site_id")
    assert out.site_id.is_monotonic_increasing
    assert out.submitted.sum() == sub.submitted.sum()
    s, e = out.submitted.to_numpy(), out.expected.to_numpy()
    np.testing.assert_array_equal(out.over_expected, s > e)
    ok = e > 0
    np.testing.assert_allclose(out.ascertainment[ok], s[ok] / e[ok])
    assert (out.lower_95[ok] <= out.ascertainment[ok] + 1e-12).all()
    assert (out.ascertainment[ok] <= out.upper_95[ok] + 1e-12).all()
    assert (out.upper_95[ok & (s <= e)] <= 1).all()
