"""Timeliness: known lags, invalid and missing dates, limits, properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdata.completeness import timeliness
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
            "site_id": ["A"] * 7 + ["B"],
            "procedure_date": [
                "2024-01-01",
                "2024-01-01",
                "2024-01-01",
                "2024-01-10",
                None,
                "2024-01-01",
                "2024-01-01",
                "2024-02-01",
            ],
            "record_entered_date": [
                "2024-01-06",  # lag 5
                "2024-02-10",  # lag 40
                "2024-04-10",  # lag 100
                "2024-01-07",  # entry before event: invalid
                "2024-01-20",  # event date missing
                "not a date",  # unreadable: invalid
                "2024-01-31",  # lag 30: within 30
                "2024-01-31",
            ],  # B: entry before event
        }
    )


def test_known_answers(records):
    out = timeliness(
        records,
        event_date="procedure_date",
        entry_date="record_entered_date",
        by="site_id",
    )
    assert list(out.columns) == [
        "site_id",
        "n",
        "median_lag_days",
        "p90_lag_days",
        "within_30",
        "within_90",
        "invalid_dates",
        "missing_dates",
    ]
    a, b = out.iloc[0], out.iloc[1]
    assert (a.n, a.invalid_dates, a.missing_dates) == (7, 2, 1)
    # valid lags 5, 30, 40, 100: median 35; p90 (type 7) = 40 + 0.7 * 60 = 82
    assert a.median_lag_days == 35.0
    assert a.p90_lag_days == pytest.approx(82.0)
    assert a.within_30 == 0.5  # 5 and 30 of 4 valid lags
    assert a.within_90 == 0.75
    # B: its only record is entered before the event: reported, never timely.
    assert (b.n, b.invalid_dates, b.missing_dates) == (1, 1, 0)
    assert np.isnan(b.median_lag_days) and np.isnan(b.within_30)


def test_custom_limits_and_datetimes(records):
    df = records.copy()
    df["procedure_date"] = pd.to_datetime(df["procedure_date"])
    df["record_entered_date"] = pd.to_datetime(
        df["record_entered_date"], errors="coerce"
    )
    out = timeliness(
        df,
        event_date="procedure_date",
        entry_date="record_entered_date",
        by=None,
        within_days=[7, 60, 365],
    )
    assert list(out.columns) == [
        "n",
        "median_lag_days",
        "p90_lag_days",
        "within_7",
        "within_60",
        "within_365",
        "invalid_dates",
        "missing_dates",
    ]
    assert out.n[0] == 8
    # the unreadable date is now NaT (missing) rather than unreadable text
    assert (out.invalid_dates[0], out.missing_dates[0]) == (2, 2)
    assert out.within_7[0] == 0.25 and out.within_365[0] == 1.0


def test_times_of_day_are_ignored():
    df = pd.DataFrame(
        {
            "e": pd.to_datetime(["2024-01-01 23:00"]),
            "r": pd.to_datetime(["2024-01-02 01:00"]),
        }
    )
    out = timeliness(df, event_date="e", entry_date="r", by=None)
    assert out.median_lag_days[0] == 1.0


def test_errors(records):
    for bad in ([-1], [], [30, 30], [1.5], "30", [True]):
        with pytest.raises(InputError, match="within_days"):
            timeliness(
                records,
                event_date="procedure_date",
                entry_date="record_entered_date",
                by="site_id",
                within_days=bad,
            )
    with pytest.raises(InputError, match="entered"):
        timeliness(
            records, event_date="procedure_date", entry_date="entered", by="site_id"
        )


@given(
    st.lists(
        st.tuples(st.sampled_from("AB"), st.integers(-20, 200) | st.none()),
        min_size=1,
        max_size=40,
    )
)
def test_partition_and_monotone(rows):
    base = pd.Timestamp("2024-01-01")
    df = pd.DataFrame(
        {
            "site_id": [r[0] for r in rows],
            "event": [base] * len(rows),
            "entry": [
                base + pd.Timedelta(days=r[1]) if r[1] is not None else pd.NaT
                for r in rows
            ],
        }
    )
    out = timeliness(
        df,
        event_date="event",
        entry_date="entry",
        by="site_id",
        within_days=(0, 30, 90),
    )
    for row in out.itertuples():
        lags = [r[1] for r in rows if r[0] == row.site_id]
        valid = [x for x in lags if x is not None and x >= 0]
        assert row.n == len(lags)
        assert row.missing_dates == sum(x is None for x in lags)
        assert row.invalid_dates == sum(x is not None and x < 0 for x in lags)
        if valid:
            assert row.median_lag_days == pytest.approx(np.median(valid))
            assert row.within_30 == pytest.approx(np.mean(np.array(valid) <= 30))
            assert row.within_0 <= row.within_30 <= row.within_90
        else:
            assert np.isnan(row.within_90)
