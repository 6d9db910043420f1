"""Field completeness: known answers on a hand-built data set, and properties."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from ccdata._intervals import wilson_interval
from ccdata.completeness import (
    CompletenessWarning,
    field_completeness,
    record_completeness,
)
from ccdata.completeness._common import present_mask
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
    "field",
    "present",
    "expected",
    "proportion",
    "lower_95",
    "upper_95",
]


@pytest.fixture
def records() -> pd.DataFrame:
    # Site A: 3 records in 2024-01, none in 2024-02, 2 in 2024-03. Site B: 1 in 2024-01.
    return pd.DataFrame(
        {
            "site_id": ["A", "A", "A", "A", "A", "B"],
            "month": ["2024-01", "2024-01", "2024-01", "2024-03", "2024-03", "2024-01"],
            "age": [70, np.nan, 80, 65, 90, 50],
            "sex": ["M", " ", "F", "", "M", "F"],
            "creatinine": [90.0, 0.0, None, np.nan, 110.0, np.nan],
        }
    )


def _row(out, **keys):
    mask = np.ones(len(out), dtype=bool)
    for k, v in keys.items():
        mask &= (out[k] == v).to_numpy()
    assert mask.sum() == 1, keys
    return out[mask].iloc[0]


def test_known_counts_by_site_and_month(records):
    out = field_completeness(
        records,
        by=["site_id", "month"],
        fields=["age", "sex", "creatinine"],
        mandatory=["age", "sex"],
    )
    assert list(out.columns) == COLUMNS
    # Three groups x (3 fields + all_mandatory) rows; no row for A in 2024-02.
    assert len(out) == 12
    assert not ((out.site_id == "A") & (out.month == "2024-02")).any()
    assert out[["site_id", "month"]].drop_duplicates().values.tolist() == [
        ["A", "2024-01"],
        ["A", "2024-03"],
        ["B", "2024-01"],
    ]
    assert out.field.tolist()[:4] == [
        "age",
        "sex",
        "creatinine",
        "all_mandatory_fields",
    ]
    a1 = {
        r.field: (r.present, r.expected)
        for r in out[(out.site_id == "A") & (out.month == "2024-01")].itertuples()
    }
    # age: 70, nan, 80; sex: "M", " " (blank), "F"; creatinine: 90, 0 (present), None
    assert a1 == {
        "age": (2, 3),
        "sex": (2, 3),
        "creatinine": (2, 3),
        "all_mandatory_fields": (2, 3),
    }
    a3 = {
        r.field: (r.present, r.expected)
        for r in out[(out.site_id == "A") & (out.month == "2024-03")].itertuples()
    }
    assert a3 == {
        "age": (2, 2),
        "sex": (1, 2),
        "creatinine": (1, 2),
        "all_mandatory_fields": (1, 2),
    }
    b = _row(out, site_id="B", field="creatinine")
    assert (b.present, b.expected, b.proportion) == (0, 1, 0.0)
    assert b.lower_95 == 0.0
    # Wilson upper limit for 0/1 at 95%: z^2 / (1 + z^2) = 0.793451
    assert b.upper_95 == pytest.approx(0.7934506, abs=1e-6)


def test_wilson_known_values_and_independent_check():
    lo, hi = wilson_interval([1, 0, 5, 10], [2, 10, 10, 10])
    np.testing.assert_allclose(lo, [0.0945312, 0.0, 0.2365931, 0.7224672], atol=1e-6)
    np.testing.assert_allclose(hi, [0.9054688, 0.2775328, 0.7634069, 1.0], atol=1e-6)
    lo, hi = wilson_interval([3, 0, 4], [0, 0, 3])  # n = 0 or x > n: undefined
    assert np.isnan(lo).all() and np.isnan(hi).all()


@given(
    n=st.integers(1, 5000),
    frac=st.floats(0, 1),
    level=st.sampled_from([0.9, 0.95, 0.99]),
)
def test_wilson_matches_scipy(n, frac, level):
    x = int(round(frac * n))
    lo, hi = wilson_interval(x, n, level)
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=level, method="wilson")
    assert lo == pytest.approx(ci.low, abs=1e-9)
    assert hi == pytest.approx(ci.high, abs=1e-9)
    assert 0 <= lo <= x / n <= hi <= 1


def test_all_mandatory_defaults_to_schema(records):
    schema = pa.DataFrameSchema(
        {
            "site_id": pa.Column(str),
            "age": pa.Column(float),
            "sex": pa.Column(str),
            "creatinine": pa.Column(float, nullable=True),
        }
    )
    out = field_completeness(records, by="site_id", schema=schema)
    assert out.field.unique().tolist() == [
        "age",
        "sex",
        "creatinine",
        "all_mandatory_fields",
    ]
    allm = out[out.field == "all_mandatory_fields"]
    # mandatory: age and sex (site_id is the group column)
    assert allm.present.tolist() == [3, 1]
    assert allm.expected.tolist() == [5, 1]


def test_schema_by_name_and_absent_column_warns():
    df = pd.DataFrame({"site_id": ["S01", "S01"], "age": [70, None]})
    with pytest.warns(CompletenessWarning, match="absent from the data"):
        out = field_completeness(df, by="site_id", schema="aaa_procedures")
    assert _row(out, field="age").present == 1
    assert _row(out, field="creatinine_umol_l").present == 0
    assert _row(out, field="all_mandatory_fields").present == 0
    assert "site_id" not in out.field.tolist()


def test_no_grouping_and_default_fields(records):
    out = field_completeness(records, by=None)
    assert list(out.columns) == COLUMNS[2:]
    # Default fields: every column (group columns excluded: none here).
    assert out.field.tolist() == [
        "site_id",
        "month",
        "age",
        "sex",
        "creatinine",
        "all_mandatory_fields",
    ]
    assert _row(out, field="sex").present == 4
    assert _row(out, field="all_mandatory_fields").present == 2


def test_empty_data_has_no_rows():
    df = pd.DataFrame({"site_id": pd.Series([], dtype=object), "age": []})
    out = field_completeness(df, by="site_id", fields=["age"])
    assert out.empty and list(out.columns) == ["site_id", *COLUMNS[2:]]


def test_missing_group_key_is_its_own_group():
    df = pd.DataFrame({"site_id": ["A", None], "age": [1, None]})
    out = field_completeness(df, by="site_id", fields=["age"])
    age = out[out.field == "age"]
    assert age.site_id.iloc[0] == "A" and pd.isna(age.site_id.iloc[1])
    assert age.present.tolist() == [1, 0]


def test_categorical_group_does_not_fabricate_empty_groups():
    df = pd.DataFrame(
        {"site_id": pd.Categorical(["A", "A"], categories=["A", "Z"]), "age": [1, None]}
    )
    out = field_completeness(df, by="site_id", fields=["age"])
    assert out.site_id.astype(str).unique().tolist() == ["A"]


def test_presence_rules():
    s = pd.Series(["x", "", "   ", None, "0", np.nan], dtype=object)
    assert present_mask(s).tolist() == [True, False, False, False, True, False]
    assert present_mask(pd.Series([0, np.nan, 1.5])).tolist() == [True, False, True]
    assert present_mask(pd.Series(pd.to_datetime(["2024-01-01", None]))).tolist() == [
        True,
        False,
    ]
    cat = pd.Series(pd.Categorical(["a", " ", None]))
    assert present_mask(cat).tolist() == [True, False, False]
    assert present_mask(pd.Series(["a", " ", None], dtype="string")).tolist() == [
        True,
        False,
        False,
    ]
    mask = present_mask(pd.Series([True, None], dtype="boolean"))
    assert mask.tolist() == [True, False]


def test_record_completeness(records):
    out = record_completeness(records, fields=["age", "sex"])
    assert list(out.columns) == ["age", "sex", "all_mandatory_fields"]
    assert out.index.equals(records.index)
    assert out["all_mandatory_fields"].tolist() == [
        True,
        False,
        True,
        False,
        True,
        True,
    ]


def test_errors(records):
    with pytest.raises(InputError, match="'fields'.*'weight'"):
        field_completeness(records, by="site_id", fields=["weight"])
    with pytest.raises(InputError, match="region"):
        field_completeness(records, by="region")
    with pytest.raises(InputError, match="level"):
        field_completeness(records, by="site_id", level=95)
    with pytest.raises(InputError, match="DataFrame"):
        field_completeness([1, 2], by="site_id")
    with pytest.raises(ValueError, match="no_such_schema"):
        field_completeness(records, by="site_id", schema="no_such_schema")


def test_level_names_columns(records):
    out = field_completeness(records, by="site_id", fields=["age"], level=0.998)
    assert {"lower_998", "upper_998"} <= set(out.columns)


@given(
    sites=st.lists(st.sampled_from(["A", "B", "C"]), min_size=0, max_size=40),
    data=st.data(),
)
def test_counts_match_brute_force(sites, data):
    n = len(sites)
    values = data.draw(
        st.lists(
            st.sampled_from([1.0, np.nan, "x", "", " ", None, 0]),
            min_size=n,
            max_size=n,
        )
    )
    df = pd.DataFrame({"site_id": sites, "v": pd.Series(values, dtype=object)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = field_completeness(df, unit="site_id", fields=["v"])
    out = out.rename(columns={"unit": "site_id"})
    for site in sorted(set(sites)):
        vals = [v for s, v in zip(sites, values, strict=True) if s == site]
        present = sum(
            1
            for v in vals
            if not (
                v is None
                or (isinstance(v, float) and np.isnan(v))
                or (isinstance(v, str) and not v.strip())
            )
        )
        row = _row(out, site_id=site, field="v")
        assert (row.present, row.expected) == (present, len(vals))
        assert row.lower_95 <= row.proportion <= row.upper_95
    assert out.site_id.is_monotonic_increasing
