"""Per-site data-quality summary: counts, flags and messages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ccdata.completeness import data_quality
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
            "site_id": ["A"] * 5 + ["B"] * 3,
            "creatinine": [80, None, None, 90, None, 1, 2, 3],
            "asa": [1, 2, None, 3, 2, 1, None, None],
            "op": ["2024-01-01"] * 8,
            "entered": [
                "2024-01-05",
                "2024-05-01",
                "2024-04-15",
                "2023-12-01",
                None,
                "2024-01-02",
                "2024-01-02",
                "2024-01-03",
            ],
        }
    )


@pytest.fixture
def expected() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": ["A", "A", "B", "C"],
            "month": ["2024-01", "2024-02", "2024-01", "2024-01"],
            "expected": [4, 6, 2, 5],
        }
    )


def test_counts_flags_and_messages(records, expected):
    out = data_quality(
        records,
        fields=["creatinine", "asa"],
        expected=expected,
        event_date="op",
        entry_date="entered",
        event_label="the operation",
        sites=["D"],
    )
    assert out.unit.tolist() == ["A", "B", "C", "D"]
    assert out.records.tolist() == [5, 3, 0, 0]
    assert out.complete_records.tolist() == [2, 1, 0, 0]
    assert out.submitted.tolist() == [5, 3, 0, 0]
    np.testing.assert_array_equal(out.expected, [10, 2, 5, np.nan])
    np.testing.assert_allclose(out.ascertainment, [0.5, 1.5, 0.0, np.nan])
    assert out.over_expected.tolist() == [False, True, False, False]
    assert out.ascertainment_concern.tolist() == [True, False, True, False]
    # A: lags 4, 121, 105 valid; one before the event; one missing.
    assert out.entered_late.tolist() == [2, 0, 0, 0]
    assert out.invalid_dates.tolist() == [1, 0, 0, 0]
    assert out.missing_dates.tolist() == [1, 0, 0, 0]
    assert out.median_lag_days[0] == 105.0
    msg = out.message.tolist()
    assert msg[0] == (
        "5 records submitted against 10 expected cases (50%), below the 80% level: "
        "outcome results should be read with care; 3 of 5 records missing creatinine; "
        "1 of 5 records missing asa; 2 entered more than 90 days after the operation; "
        "1 with an entry date before the date of the operation or an unreadable date; "
        "1 with a date missing"
    )
    assert msg[1] == (
        "3 records submitted against 2 expected cases (150%), more than expected: "
        "check for duplicate records or a different case definition; "
        "2 of 3 records missing asa"
    )
    assert msg[2].startswith("0 records submitted against 5 expected cases (0%)")
    assert msg[3] == (
        "no records submitted; no expected case count available for this site"
    )


def test_minimal_and_clean(records):
    clean = records.dropna().iloc[:1]
    out = data_quality(clean, fields=["creatinine"])
    assert out.message.tolist() == [
        "no gaps found in the data-quality measures checked"
    ]
    assert out.expected.isna().all() and not out.ascertainment_concern.any()
    assert out.entered_late.isna().all()


def test_max_fields_and_upper_limit_rule(records, expected):
    out = data_quality(records, fields=["creatinine", "asa"], max_fields=1)
    assert out.message[0] == (
        "3 of 5 records missing creatinine; and missing values in 1 other field"
    )
    out = data_quality(records, expected=expected, concern="upper_limit")
    # A: 5 of 10, Wilson upper limit 0.763 < 0.8: still a concern; C: 0 of 5 too.
    assert out.ascertainment_concern.tolist() == [True, False, True]
    out = data_quality(records, expected=expected, concern="upper_limit", threshold=0.7)
    assert out.ascertainment_concern.tolist() == [False, False, True]


def test_errors(records):
    with pytest.raises(InputError, match="entry_date"):
        data_quality(records, event_date="op")
    with pytest.raises(InputError, match="threshold"):
        data_quality(records, threshold=80)
    with pytest.raises(InputError, match="concern"):
        data_quality(records, concern="ci")
    with pytest.raises(InputError, match="within_days"):
        data_quality(records, within_days=(30, 90))
