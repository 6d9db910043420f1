"""One vocabulary in the completeness measures: unit=, period=, frequency words.

The deprecated spellings (by=, site=, pandas frequency letters) keep their old
output, with a FutureWarning; the new ones call the id column ``unit`` and the
period column ``period`` in every output table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ccdata import _periods
from ccdata.completeness import (
    add_period,
    case_ascertainment,
    data_quality,
    field_completeness,
    submission_status,
    submission_volume,
    timeliness,
)
from ccdata.errors import InputError


@pytest.fixture
def records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "hospital": ["A", "A", "A", "B", "B"],
            "month": ["2024-01", "2024-01", "2024-02", "2024-01", "2024-02"],
            "age": [70, None, 81, 66, None],
            "op": [
                "2024-01-02",
                "2024-01-09",
                "2024-02-01",
                "2024-01-15",
                "2024-02-20",
            ],
            "entered": [
                "2024-01-05",
                "2024-03-01",
                "2024-02-03",
                "2024-01-16",
                "2024-06-01",
            ],
        }
    )


def test_unit_is_called_unit_and_equals_the_old_by(records):
    new = field_completeness(records, unit="hospital", fields=["age"])
    with pytest.warns(FutureWarning, match="'by' parameter of field_completeness"):
        old = field_completeness(records, by="hospital", fields=["age"])
    assert new.columns[0] == "unit" and old.columns[0] == "hospital"
    pd.testing.assert_frame_equal(new, old.rename(columns={"hospital": "unit"}))
    row = new[(new.unit == "A") & (new.field == "age")].iloc[0]
    assert (row.present, row.expected) == (2, 3)


def test_unit_and_period_replace_a_list_of_group_columns(records):
    new = field_completeness(records, unit="hospital", period="month", fields=["age"])
    with pytest.warns(FutureWarning):
        old = field_completeness(records, by=["hospital", "month"], fields=["age"])
    assert list(new.columns[:2]) == ["unit", "period"]
    pd.testing.assert_frame_equal(
        new, old.rename(columns={"hospital": "unit", "month": "period"})
    )
    overall = field_completeness(records, unit=None, fields=["age"])
    assert "unit" not in overall and overall.expected.tolist() == [5, 5]


def test_timeliness_and_ascertainment_use_the_same_names(records):
    t = timeliness(records, event_date="op", entry_date="entered", unit="hospital")
    assert t.unit.tolist() == ["A", "B"] and t.n.tolist() == [3, 2]
    expected = pd.DataFrame(
        {"hospital": ["A", "B"], "month": ["2024-01"] * 2, "expected": [4, 1]}
    )
    a = case_ascertainment(records, expected, unit="hospital", period="month")
    assert list(a.columns[:2]) == ["unit", "period"]
    jan = a[a.period == "2024-01"].set_index("unit")
    assert jan.submitted.tolist() == [2, 1] and jan.expected.tolist() == [4.0, 1.0]
    with pytest.warns(FutureWarning, match="'by' parameter of case_ascertainment"):
        old = case_ascertainment(records, expected, by=["hospital", "month"])
    pd.testing.assert_frame_equal(
        a, old.rename(columns={"hospital": "unit", "month": "period"})
    )


def test_data_quality_and_status_take_unit(records):
    dq = data_quality(records, unit="hospital", fields=["age"])
    with pytest.warns(FutureWarning, match="'site' parameter of data_quality"):
        old = data_quality(records, site="hospital", fields=["age"])
    pd.testing.assert_frame_equal(dq, old.rename(columns={"hospital": "unit"}))
    assert dq.unit.tolist() == ["A", "B"] and dq.records.tolist() == [3, 2]
    subs = pd.DataFrame(
        {"practice": ["P1"], "period": ["2024-04"], "submitted_date": ["2024-05-02"]}
    )
    st = submission_status(
        subs, sites=["P1", "P2"], periods=["2024-04"], unit="practice"
    )
    assert list(st.columns[:2]) == ["unit", "period"]
    assert st.status.tolist() == ["on_time", "missing"]
    with pytest.warns(FutureWarning, match="'site' parameter"):
        old = submission_status(
            subs, sites=["P1", "P2"], periods=["2024-04"], site="practice"
        )
    pd.testing.assert_frame_equal(st, old.rename(columns={"practice": "unit"}))


def test_old_and_new_keywords_together_are_refused(records):
    with pytest.raises(InputError, match="not the deprecated 'by'"):
        field_completeness(records, by="hospital", unit="month")
    with pytest.raises(InputError, match="same column"):
        field_completeness(records, unit="month", period="month")
    with pytest.raises(InputError, match="one column name"):
        field_completeness(records, unit=["hospital", "month"])


def test_frequency_words_and_deprecated_letters(records):
    q = add_period(records, "op", freq="quarter", name="q")["q"].tolist()
    assert q == ["2024Q1"] * 5
    with pytest.warns(FutureWarning, match="freq='Q' is deprecated"):
        old = add_period(records, "op", freq="Q", name="q")["q"].tolist()
    assert old == q
    week = add_period(records, "op", freq="week", name="w")["w"].tolist()
    assert week[:2] == ["2024-01-01", "2024-01-08"]  # the Mondays, ISO dates
    with pytest.raises(InputError, match="'freq'.*'month'"):
        add_period(records, "op", freq="fortnight")
    vol = submission_volume(records, date="op", unit="hospital", freq="month")
    assert vol.columns.tolist() == ["unit", "period", "cases"]
    assert vol.cases.tolist() == [2, 1, 1, 1]


def test_one_period_labels_function_for_completeness_and_the_batch_job():
    from ccdata.completeness import _common
    from ccdata.report import indicators

    assert indicators.period_labels is _periods.period_labels
    assert indicators.period_start is _periods.period_start
    assert _common.period_labels is _periods.period_labels
    days = np.array(["2024-04-03", "2024-12-31", "NaT"], dtype="datetime64[D]")
    out = _periods.period_labels(days, "quarter")
    assert out.iloc[:2].tolist() == ["2024Q2", "2024Q4"] and out.isna().iloc[2]
    text = pd.Series(["2024-04-03", "not a date"], index=[7, 9])
    labels = _periods.period_labels(text, "month")
    assert labels.index.tolist() == [7, 9] and labels.iloc[0] == "2024-04"
    assert labels.isna().iloc[1]
    assert _periods.period_labels(pd.Series([2023, 2024]), "year").tolist() == [
        "2023",
        "2024",
    ]


def test_deprecation_warnings_point_at_the_caller(records):
    import warnings

    from ccdata.risk import observed_expected
    from ccdata.variation import spc

    risk = records.assign(died=[0, 1, 0, 0, 1], p=0.2)
    oe = observed_expected(risk, unit="hospital", outcome="died", expected="p")
    calls = [
        lambda: field_completeness(records, by="hospital", fields=["age"]),
        lambda: data_quality(records, site="hospital", fields=["age"]),
        lambda: add_period(records, "op", freq="M"),
        lambda: spc(records.assign(v=1.0), chart="i", x="op", value="v", by="hospital"),
        lambda: oe["ratio"],
    ]
    for call in calls:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            call()
        future = [w for w in caught if issubclass(w.category, FutureWarning)]
        assert future and all(w.filename == __file__ for w in future), [
            (w.filename, str(w.message)) for w in future
        ]
