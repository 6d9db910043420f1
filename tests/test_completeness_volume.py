"""Submission volume, period labels and the status of periodic returns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdata.completeness import (
    CompletenessWarning,
    add_period,
    submission_status,
    submission_volume,
)
from ccdata.errors import InputError

pytestmark = pytest.mark.filterwarnings(
    # These tests pin the behaviour of the deprecated spellings (by=, site=,
    # freq="M"), which keep their old output; the new vocabulary is tested in
    # tests/test_completeness_vocabulary.py.
    "ignore:.*is deprecated and will (be removed|stop working):FutureWarning"
)


@pytest.fixture
def records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["A", "A", "A", "B", "B"],
            "procedure_date": [
                "2024-01-05",
                "2024-01-31",
                "2024-03-01",
                "2024-02-29",
                None,
            ],
        }
    )


def test_add_period_labels(records):
    out = add_period(records, "procedure_date")
    assert out["month"].tolist()[:4] == ["2024-01", "2024-01", "2024-03", "2024-02"]
    assert pd.isna(out["month"].iloc[4])
    assert "month" not in records.columns  # a copy
    q = add_period(records, "procedure_date", freq="Q", name="quarter")["quarter"]
    assert q.tolist()[:4] == ["2024Q1"] * 4
    y = add_period(records, "procedure_date", freq="Y", name="year")["year"]
    assert y.iloc[0] == "2024"
    with pytest.raises(InputError, match="freq"):
        add_period(records, "procedure_date", freq="ME")


def test_volume_per_site_with_zero_months(records):
    with pytest.warns(CompletenessWarning, match="1 of 5 records"):
        out = submission_volume(records, date="procedure_date", by="site_id")
    assert list(out.columns) == ["site_id", "period", "cases"]
    assert out.values.tolist() == [
        ["A", "2024-01", 2],
        ["A", "2024-02", 0],
        ["A", "2024-03", 1],
        ["B", "2024-01", 0],
        ["B", "2024-02", 1],
        ["B", "2024-03", 0],
    ]
    assert out["cases"].dtype == np.int64


def test_volume_community_wide_and_range(records):
    with pytest.warns(CompletenessWarning):
        out = submission_volume(records, date="procedure_date")
    assert out.values.tolist() == [["2024-01", 2], ["2024-02", 1], ["2024-03", 1]]
    with pytest.warns(CompletenessWarning):
        out = submission_volume(
            records, date="procedure_date", start="2023-12", end="2024-02"
        )
    assert out.values.tolist() == [["2023-12", 0], ["2024-01", 2], ["2024-02", 1]]


def test_volume_registered_sites_and_quarters(records):
    df = records.dropna()
    out = submission_volume(
        df, date="procedure_date", by="site_id", freq="Q", sites=["C", "A", "B"]
    )
    assert out.values.tolist() == [
        ["A", "2024Q1", 3],
        ["B", "2024Q1", 1],
        ["C", "2024Q1", 0],
    ]
    two = df.assign(region=["N", "N", "N", "S"])
    out = submission_volume(
        two,
        date="procedure_date",
        by=["region", "site_id"],
        sites=pd.DataFrame({"region": ["S"], "site_id": ["Z"]}),
    )
    assert out[["region", "site_id"]].drop_duplicates().values.tolist() == [
        ["N", "A"],
        ["S", "B"],
        ["S", "Z"],
    ]
    with pytest.raises(InputError, match="sites"):
        submission_volume(
            two, date="procedure_date", by=["region", "site_id"], sites=["Z"]
        )


def test_volume_empty():
    out = submission_volume(pd.DataFrame({"d": pd.Series([], dtype=object)}), date="d")
    assert out.empty and list(out.columns) == ["period", "cases"]


@given(st.lists(st.tuples(st.sampled_from("ABC"), st.integers(0, 400)), max_size=50))
def test_volume_totals(rows):
    base = pd.Timestamp("2024-01-01")
    df = pd.DataFrame(
        {
            "site_id": [r[0] for r in rows],
            "date": [base + pd.Timedelta(days=r[1]) for r in rows],
        }
    )
    by_site = submission_volume(df, date="date", by="site_id")
    overall = submission_volume(df, date="date")
    assert by_site.cases.sum() == overall.cases.sum() == len(rows)
    summed = by_site.groupby("period").cases.sum()
    assert summed.tolist() == overall.cases.tolist()
    assert by_site.groupby("site_id").size().nunique() <= 1  # same periods each


@pytest.fixture
def returns() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["P01", "P01", "P02", "P02", "P02", "P03", "P09"],
            "period": [
                "2024-04",
                "2024-05",
                "2024-04",
                "2024-04",
                "2024-05",
                "2024-04",
                "2024-04",
            ],
            "submitted_date": [
                "2024-05-30",
                "2024-07-15",
                "2024-06-20",
                "2024-06-01",
                None,
                "2024-05-31",
                "2024-05-01",
            ],
        }
    )


def test_status_known_answers(returns):
    with pytest.warns(CompletenessWarning, match="1 site-period"):
        out = submission_status(
            returns, sites=["P03", "P02", "P01"], periods=["2024-05", "2024-04"], due=30
        )
    assert list(out.columns) == [
        "unit",
        "period",
        "submitted_date",
        "due_date",
        "status",
        "days_late",
    ]
    assert out[["unit", "period"]].values.tolist() == [
        ["P01", "2024-04"],
        ["P01", "2024-05"],
        ["P02", "2024-04"],
        ["P02", "2024-05"],
        ["P03", "2024-04"],
        ["P03", "2024-05"],
    ]
    # Due 30 days after the month's last day: 2024-05-30 and 2024-06-30.
    assert (
        out.due_date.dt.strftime("%Y-%m-%d").tolist()
        == ["2024-05-30", "2024-06-30"] * 3
    )
    assert out.status.tolist() == [
        "on_time",
        "late",
        "late",
        "submitted",
        "late",
        "missing",
    ]
    # P02 2024-04: earliest of two returns (2024-06-01) is 2 days late.
    assert out.days_late.tolist() == [0, 15, 2, pd.NA, 1, pd.NA]
    assert out.submitted_date[2] == pd.Timestamp("2024-06-01")


def test_status_due_table_and_no_dates(returns):
    due = pd.DataFrame({"period": ["2024-04"], "due_date": ["2024-06-30"]})
    with pytest.warns(CompletenessWarning, match="3 site-period"):
        out = submission_status(
            returns[returns.site_id != "P09"],
            sites=["P01", "P02"],
            periods=pd.period_range("2024-04", "2024-04", freq="M"),
            due=due,
        )
    assert out.status.tolist() == ["on_time", "on_time"]
    site_due = pd.DataFrame(
        {
            "site_id": ["P01", "P02"],
            "period": ["2024-04"] * 2,
            "due_date": ["2024-05-01", "2024-06-01"],
        }
    )
    one = returns[returns.period == "2024-04"]
    out = submission_status(
        one[one.site_id != "P09"],
        sites=["P01", "P02", "P03"],
        periods=["2024-04"],
        due=site_due,
    )
    # P03 has no due date in the table: its timing cannot be judged.
    assert out.status.tolist() == ["late", "on_time", "submitted"]
    assert out.days_late.tolist() == [29, 0, pd.NA]
    out = submission_status(
        one[one.site_id.isin(["P01"])],
        sites=["P01", "P04"],
        periods=["2024-04"],
        date=None,
    )
    assert out.status.tolist() == ["submitted", "missing"]


@pytest.mark.filterwarnings("ignore::ccdata.completeness.CompletenessWarning")
def test_status_errors(returns):
    with pytest.raises(InputError, match="'due'"):
        submission_status(returns, sites=["P01"], periods=["2024-04"], due=-1)
    with pytest.raises(InputError, match="'periods'"):
        submission_status(returns, sites=["P01"], periods=["April"])
    with pytest.raises(InputError, match="received"):
        submission_status(returns, sites=["P01"], periods=["2024-04"], date="received")
