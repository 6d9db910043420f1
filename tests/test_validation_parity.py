"""Parity: ccdata rejects exactly the rows pandera fails (issue #13).

Hypothesis builds schemas (every built-in check, custom element-wise,
vectorised, frame-level and groupby checks, nullable, unique at column and
schema level with ``report_duplicates``, regex columns, index checks, strict
"filter", ordered, coerce) over many dtypes (int8 ... uint64, float32,
nullable Int64/boolean, category, datetime with and without a time zone,
timedelta, date, str) and frames for them. For a typed frame, and for the
same frame written out as text by ccdata's documented text rules, ccdata's
rejected rows must equal the rows of pandera's own
``schema.validate(typed, lazy=True)`` failure cases, and ``valid + rejected``
must be the input. The default run takes a few seconds; the long run is
marked slow.
"""

from __future__ import annotations

import datetime as dt
import warnings

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandera import errors as pa_errors

from ccdata.errors import InputError
from ccdata.schemas import date_order, not_greater_than
from ccdata.validation import _index_failures_by_position, validate

INT_TYPES = ["int8", "int16", "int32", "int64", "uint8", "uint64"]
KINDS = [
    *INT_TYPES,
    "float32",
    "float64",
    "Int64",
    "boolean",
    "bool",
    "category",
    "datetime",
    "datetime_tz",
    "timedelta",
    "date",
    "str",
]
NUMERIC = {*INT_TYPES, "float32", "float64", "Int64"}
LEVELS = ["lo", "mid", "hi"]
T0 = dt.datetime(2024, 1, 1)
NO_NA = {*INT_TYPES, "bool"}  # NumPy dtypes that cannot hold a missing value


def _dtype(kind):
    return {
        "category": pd.CategoricalDtype(LEVELS),
        "datetime": "datetime64[ns]",
        "datetime_tz": pd.DatetimeTZDtype("ns", "UTC"),
        "timedelta": "timedelta64[ns]",
        "date": pa.Date(),
    }.get(kind, kind)


def _value(kind):
    if kind in INT_TYPES:
        info = np.iinfo(kind)
        return st.one_of(
            st.integers(max(info.min, -4), min(info.max, 6)),
            st.sampled_from([int(info.min), int(info.max)]),
        )
    if kind == "Int64":
        return st.integers(-4, 6)
    if kind in ("float32", "float64"):
        return st.sampled_from([-2.5, -1.0, 0.0, 0.5, 1.0, 3.25, 6.0, 1e6])
    if kind in ("boolean", "bool"):
        return st.booleans()
    if kind == "category":
        return st.sampled_from(LEVELS)
    if kind in ("datetime", "datetime_tz"):
        zone = dt.UTC if kind == "datetime_tz" else None
        return st.builds(
            lambda d, h: (T0 + dt.timedelta(days=d, hours=h)).replace(tzinfo=zone),
            st.integers(0, 5),
            st.sampled_from([0, 0, 13]),
        )
    if kind == "timedelta":
        return st.builds(lambda s: dt.timedelta(seconds=s), st.integers(0, 50))
    if kind == "date":
        return st.builds(
            lambda d: dt.date(2024, 1, 1) + dt.timedelta(days=d), st.integers(0, 5)
        )
    return st.text(alphabet="abc d", min_size=1, max_size=3).map(str.strip).filter(bool)


def _series(kind, values, index):
    dtype = _dtype(kind)
    if kind == "date":
        return pd.Series(values, index=index, dtype=object)
    if kind == "datetime_tz":
        stamps = pd.to_datetime(pd.Series(values, index=index, dtype=object), utc=True)
        return stamps.astype(pd.DatetimeTZDtype("ns", "UTC"))
    if kind == "datetime":
        return pd.to_datetime(pd.Series(values, index=index, dtype=object)).astype(
            "datetime64[ns]"
        )
    if kind == "timedelta":
        return pd.to_timedelta(pd.Series(values, index=index, dtype=object)).astype(
            "timedelta64[ns]"
        )
    if kind == "str":
        return pd.Series(values, index=index, dtype=pa.Column("str").dtype.type)
    return pd.Series(values, index=index, dtype=dtype)


def _pivot(kind, draw):
    return draw(_value(kind))


@st.composite
def _column_checks(draw, kind):
    """Checks that make sense for the kind, with random parameters."""
    checks = []
    if kind in NUMERIC or kind in ("datetime", "datetime_tz", "timedelta", "date"):
        a, b = sorted([_pivot(kind, draw), _pivot(kind, draw)])
        inc_min, inc_max = draw(st.booleans()), draw(st.booleans())
        if a == b:
            inc_min = inc_max = True
        choices = [
            pa.Check.ge(a),
            pa.Check.gt(a),
            pa.Check.le(b),
            pa.Check.lt(b),
            pa.Check.in_range(a, b, include_min=inc_min, include_max=inc_max),
            pa.Check.ne(a),
            pa.Check.eq(a),
            pa.Check.isin([a, b]),
            pa.Check.notin([a]),
        ]
        if kind in NUMERIC:
            choices += [
                pa.Check(lambda s: s % 2 == 0, name="even"),
                pa.Check(lambda x: x != 3, element_wise=True, name="not_three"),
            ]
    elif kind == "str":
        choices = [
            pa.Check.str_matches(r"a"),
            pa.Check.str_contains("b"),
            pa.Check.str_startswith("a"),
            pa.Check.str_endswith("c"),
            pa.Check.str_length(1, 2),
            pa.Check.isin(["a", "b", "ab"]),
            pa.Check.notin(["c"]),
            pa.Check(lambda x: " " not in x, element_wise=True, name="no_space"),
        ]
    elif kind == "category":
        choices = [pa.Check.isin(["lo", "hi"]), pa.Check.ne("mid")]
    else:  # booleans
        choices = [pa.Check.eq(True), pa.Check.isin([True])]
    checks += draw(st.lists(st.sampled_from(choices), max_size=2))
    if draw(st.integers(0, 7)) == 0:
        checks.append(pa.Check(lambda s: s.notna(), name="warn_me", raise_warning=True))
    return checks


@st.composite
def cases(draw):
    n = draw(st.integers(0, 7))
    start = draw(st.integers(0, 3))
    index = pd.Index(range(start, start + n), dtype="int64")
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3))
    data, columns = {}, {}
    for j, kind in enumerate(kinds):
        name = f"c{j}_{kind}"
        can_na = kind not in NO_NA
        values = draw(
            st.lists(
                st.one_of(_value(kind), st.none()) if can_na else _value(kind),
                min_size=n,
                max_size=n,
            )
        )
        data[name] = _series(kind, values, index)
        columns[name] = pa.Column(
            _dtype(kind),
            draw(_column_checks(kind)),
            nullable=draw(st.booleans()),
            unique=draw(st.integers(0, 4)) == 0,
            coerce=draw(st.booleans()),
            report_duplicates=draw(
                st.sampled_from(["all", "exclude_first", "exclude_last"])
            ),
        )
    frame = pd.DataFrame(data, index=index)
    names = list(columns)
    checks = []
    numeric = [
        c
        for c, k in zip(names, kinds, strict=True)
        if k in ("int64", "float64", "Int64", "int8")
    ]
    dates = [c for c, k in zip(names, kinds, strict=True) if k == "datetime"]
    if len(numeric) >= 2 and draw(st.booleans()):
        checks.append(not_greater_than(numeric[0], numeric[1]))
    if len(dates) >= 2 and draw(st.booleans()):
        checks.append(date_order(dates[0], dates[1]))
    if numeric and draw(st.booleans()):
        col = numeric[0]
        checks.append(pa.Check(lambda d, c=col: d[c] < 5, name="frame_small"))
    if numeric and len(names) > 1 and draw(st.integers(0, 3)) == 0:
        by = [c for c in names if c != numeric[0]][0]
        checks.append(pa.Check(lambda g: True, groupby=by, name="by_group"))
    unique = None
    if draw(st.integers(0, 2)) == 0:
        unique = draw(
            st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True)
        )
    index_schema = None
    if draw(st.integers(0, 2)) == 0:
        index_schema = pa.Index("int64", pa.Check.ge(draw(st.integers(0, 4))))
    regex = draw(st.integers(0, 3)) == 0
    if regex:  # a pattern that is a prefix of the first column name
        first = names[0]
        columns[first[:2]] = pa.Column(
            columns.pop(first).dtype,
            draw(_column_checks(kinds[0])),
            regex=True,
            nullable=True,
        )
    extra = draw(st.integers(0, 3)) == 0
    if extra:
        frame["extra"] = ["x"] * n
    schema = pa.DataFrameSchema(
        columns,
        checks=checks,
        unique=unique,
        index=index_schema,
        strict="filter" if extra and draw(st.booleans()) else False,
        ordered=draw(st.integers(0, 3)) == 0,
        coerce=draw(st.booleans()),
        report_duplicates=draw(
            st.sampled_from(["all", "exclude_first", "exclude_last"])
        ),
        name="parity",
    )
    return frame, schema, dict(zip(names, kinds, strict=True))


def _pandera_rows(schema, frame):
    """Rows of pandera's failure cases, and the checks of failures without a
    row ("CHECK_ERROR" when a check could not run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            schema.validate(frame.copy(), lazy=True)
        except pa_errors.SchemaErrors as exc:
            fc = exc.failure_cases
            located = fc["index"].notna()
            unlocated = fc.loc[~located, "check"].tolist()
            if any(
                e.reason_code == pa_errors.SchemaErrorReason.CHECK_ERROR
                for e in exc.schema_errors
            ):
                unlocated.append("CHECK_ERROR")
            rows = fc.loc[located, "index"]
            on_index = fc.loc[located, "schema_context"] == "Index"
            if on_index.any() and _index_failures_by_position():
                # pandera 0.24 names a failing index value by its position
                rows = rows.astype(object)
                rows[on_index] = frame.index[rows[on_index].astype("int64")]
            return set(rows), unlocated
    return set(), []


def _as_text(series: pd.Series, kind: str) -> pd.Series:
    """The frame as a CSV export would hold it (ccdata's documented text rules)."""

    def one(v):
        if v is None or (not isinstance(v, (list, tuple)) and pd.isna(v)):
            return ""
        if kind in ("boolean", "bool"):
            return "1" if v else "0"
        if kind in ("float32", "float64"):
            return repr(float(v))
        if kind in ("datetime", "datetime_tz", "date"):
            return v.isoformat()
        if kind == "timedelta":
            return str(pd.Timedelta(v))
        return str(v)

    return pd.Series([one(v) for v in series.tolist()], index=series.index, dtype="str")


def _check(frame, schema, kinds):
    expected, unlocated = _pandera_rows(schema, frame)
    refused = {
        "column_in_dataframe",
        "column_in_schema",
        "column_ordered",
        "CHECK_ERROR",
    }
    texts = frame.copy()
    for name, kind in kinds.items():
        texts[name] = _as_text(frame[name], kind)
    for data in (frame, texts):
        if refused & set(map(str, unlocated)):
            with pytest.raises(InputError):
                validate(data, schema)
            continue
        result = validate(data, schema)
        assert set(result.rejected.index) == expected, result.errors.to_dict("records")
        assert len(result.valid) + len(result.rejected) == len(data)
        assert set(result.valid.index).isdisjoint(result.rejected.index)
        located = result.errors["row"].notna()
        assert (result.errors.loc[located, "message"].str.len() > 0).all()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(cases())
def test_ccdata_rejects_exactly_the_rows_pandera_fails(case):
    _check(*case)


@pytest.mark.slow
@settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(cases())
def test_parity_long_run(case):
    _check(*case)
