"""The fast paths of :func:`ccdata.validate` give exactly the slow paths' results.

``validate`` narrows pandera's column ``unique`` check to the rows that share a
value (``ccdata.validation._NARROW_UNIQUE``) and parses whole numbers through
their distinct values. These tests run messy frames both ways and compare the
whole result: valid and rejected rows, every error row and message.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ccdata.validation as validation
from ccdata.schemas.checks import date_order
from ccdata.validation import validate


def _both(data, schema):
    fast = validate(data, schema)
    validation._NARROW_UNIQUE = False
    try:
        slow = validate(data, schema)
    finally:
        validation._NARROW_UNIQUE = True
    return fast, slow


def _same(fast, slow) -> None:
    pd.testing.assert_frame_equal(fast.errors, slow.errors, check_exact=True)
    pd.testing.assert_frame_equal(fast.valid, slow.valid, check_exact=True)
    pd.testing.assert_frame_equal(fast.rejected, slow.rejected, check_exact=True)
    assert fast.warnings == slow.warnings


def _schema(report: str, nullable: bool) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "record_id": pa.Column(
                "str",
                pa.Check.str_length(max_value=3),
                nullable=nullable,
                unique=True,
                report_duplicates=report,
            ),
            "code": pa.Column(
                "Int64",
                pa.Check.in_range(0, 5),
                nullable=True,
                unique=True,
                report_duplicates=report,
            ),
            "n": pa.Column("int64", pa.Check.ge(0), nullable=False, unique=True),
            "start": pa.Column("datetime64[ns]", nullable=True),
            "end": pa.Column("datetime64[ns]", nullable=True),
        },
        checks=[date_order("start", "end")],
        name="messy",
    )


_ID = st.sampled_from(["A", "A ", " A", "B", "b", "CCCC", "", "  ", "D", "7", "7.0"])
_CODE = st.sampled_from(["0", "1", "1.0", " 2", "9", "", "x", "-1", "1e19"])
_N = st.sampled_from(["0", "1", "2", "3", "-4", "abc", "", "12"])
_DATE = st.sampled_from(
    ["2024-01-01", "2024-01-02", "2023-12-31", "", "today", "2924-01-01", "x"]
)


@st.composite
def _frames(draw):
    n = draw(st.integers(min_value=0, max_value=25))
    cols = {
        "record_id": draw(st.lists(_ID, min_size=n, max_size=n)),
        "code": draw(st.lists(_CODE, min_size=n, max_size=n)),
        "n": draw(st.lists(_N, min_size=n, max_size=n)),
        "start": draw(st.lists(_DATE, min_size=n, max_size=n)),
        "end": draw(st.lists(_DATE, min_size=n, max_size=n)),
    }
    return pd.DataFrame({k: pd.Series(v, dtype="str") for k, v in cols.items()})


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    data=_frames(),
    report=st.sampled_from(["all", "exclude_first", "exclude_last"]),
    nullable=st.booleans(),
)
def test_narrowed_unique_equals_pandera_full_run(data, report, nullable):
    fast, slow = _both(data, _schema(report, nullable))
    _same(fast, slow)
    assert fast.n_rows == len(data)


def test_narrowed_unique_known_answer():
    # two rows share record_id "A" (one with spaces); two blank ids are missing
    # values, which pandera leaves out of its duplicate report; one id is too
    # long: pandera's verdict at the spreadsheet rows
    data = pd.DataFrame(
        {
            "record_id": ["A", "B", " A", "", "CCCC", "  "],
            "code": ["1", "2", "3", "4", "0", "5"],
            "n": ["0", "1", "2", "3", "4", "5"],
            "start": [""] * 6,
            "end": [""] * 6,
        },
        dtype="str",
    )
    fast, slow = _both(data, _schema("all", True))
    _same(fast, slow)
    got = fast.errors[["row", "column", "check"]].values.tolist()
    assert got == [
        [2, "record_id", "unique"],
        [4, "record_id", "unique"],
        [6, "record_id", "str_length"],
    ]
    messages = fast.errors["message"].tolist()
    assert messages[0] == "record_id A appears 2 times (rows 2, 4)"
    assert messages[2] == "record_id 'CCCC' is longer than 3 characters"


@pytest.mark.parametrize("kind", ["text", "typed"])
def test_benchmark_frame_fast_equals_slow(kind):
    # the benchmark's generator, small: corrupt ages, sexes, dates, duplicate ids
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "validation.py"
    spec = importlib.util.spec_from_file_location("_bench_validation", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = bench.synthetic_aaa(5000, seed=7)
    if kind == "typed":
        data = bench.typed_aaa(data)
    fast, slow = _both(data, "aaa_procedures")
    _same(fast, slow)
    assert (fast.errors["check"] == "unique").sum() == 20  # 10 pairs of ids
    assert len(fast.valid) + len(fast.rejected) == 5000


def test_whole_numbers_from_text_keep_values_and_dtypes():
    # the distinct-value take gives the same numbers as Python's int()
    text = ["7", " -3", "7.0", "", "9223372036854775807", "x", "1e3", "+12"]
    data = pd.DataFrame({"v": pd.Series(text, dtype="str")})
    for dtype, nullable in (("int64", True), ("Int64", True), ("int8", False)):
        schema = pa.DataFrameSchema({"v": pa.Column(dtype, nullable=nullable)})
        result = validate(data, schema)
        expected = {
            "int64": [7, -3, 7, None, 2**63 - 1, 12],
            "Int64": [7, -3, 7, None, 2**63 - 1, 12],
            "int8": [7, -3, 7, 12],
        }[dtype]
        got = [None if pd.isna(v) else int(v) for v in result.valid["v"].tolist()]
        assert got == expected
        bad = result.errors.loc[result.errors["check"] == "type", "value"].tolist()
        assert bad == (
            ["x", "1e3"] if dtype != "int8" else ["9223372036854775807", "x", "1e3"]
        )
    assert (
        np.dtype("int64")
        == validate(
            pd.DataFrame({"v": pd.Series(["1", "2"], dtype="str")}),
            pa.DataFrameSchema({"v": pa.Column("int64")}),
        )
        .valid["v"]
        .dtype
    )


def _order_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "k": pa.Column(
                "int64", [pa.Check.ge(0), pa.Check.le(5)], nullable=True, unique=True
            ),
            "a": pa.Column("datetime64[ns]", pa.Check.le(pd.Timestamp("2024-06-01"))),
            "b": pa.Column("datetime64[ns]"),
        },
        checks=[
            date_order("a", "b"),
            pa.Check(lambda df: df["k"] < 3, name="kcheck"),
        ],
        unique=["k", "b"],
        name="order",
    )


def test_problem_order_is_the_documented_one():
    # by row, then column in schema order, then check: type, required, the
    # column's unique, the schema's key, the column's checks in order, then
    # the DataFrame-level checks in order; "(row)" after the columns
    data = pd.DataFrame(
        {
            "k": ["-1", "-1", "9", "x"],
            "a": ["2024-07-01", "2024-07-01", "2024-01-01", "2024-01-01"],
            "b": ["2024-01-01", "2024-01-01", "2023-01-01", "2025-01-01"],
        },
        dtype="str",
    )
    result = validate(data, _order_schema())
    got = result.errors[["row", "column", "check"]].values.tolist()
    assert got == [
        [2, "k", "unique"],
        [2, "k", "unique"],
        [2, "k", "greater_than_or_equal_to"],
        [2, "a", "less_than_or_equal_to"],
        [2, "a", "date_order"],
        [2, "b", "unique"],
        [2, "b", "date_order"],
        [3, "k", "unique"],
        [3, "k", "unique"],
        [3, "k", "greater_than_or_equal_to"],
        [3, "a", "less_than_or_equal_to"],
        [3, "a", "date_order"],
        [3, "b", "unique"],
        [3, "b", "date_order"],
        [4, "k", "less_than_or_equal_to"],
        [4, "a", "date_order"],
        [4, "b", "date_order"],
        [4, "(row)", "kcheck"],
        [5, "k", "type"],
    ]
    messages = result.errors["message"].tolist()
    assert messages[0] == "k -1 appears 2 times (rows 2, 3)"
    assert messages[1] == "the key k -1, b 2024-01-01 appears 2 times (rows 2, 3)"


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_problem_order_does_not_depend_on_pandera_order(seed):
    # pandera's failure cases shuffled (pandera 0.24 lists them in another
    # order than later versions): the same error table
    data = pd.DataFrame(
        {
            "k": ["-1", "-1", "9", "1", "2", "x", "4"],
            "a": ["2024-07-01", "2024-07-01", "2024-01-01", "2024-01-01"] + [""] * 3,
            "b": ["2024-01-01", "2024-01-01", "2023-01-01", "2025-01-01"] + [""] * 3,
        },
        dtype="str",
    )
    schema = _order_schema()
    expected = validate(data, schema).errors
    original = validation._pandera

    def shuffled(schema, frame):
        fc, texts = original(schema, frame)
        if fc is not None and len(fc):
            fc = fc.iloc[np.random.default_rng(seed).permutation(len(fc))]
        return fc, texts

    validation._pandera = shuffled
    try:
        got = validate(data, schema).errors
    finally:
        validation._pandera = original
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


@pytest.mark.parametrize("kind", ["text", "typed"])
def test_threads_equal_serial(kind, monkeypatch):
    # columns parsed and rows taken in 2 threads (forced on a small frame)
    # give exactly the serial result
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "validation.py"
    spec = importlib.util.spec_from_file_location("_bench_validation_thr", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = bench.synthetic_aaa(4000, seed=3)
    if kind == "typed":
        data = bench.typed_aaa(data)
    monkeypatch.setattr(validation, "THREADS", 1)
    serial = validate(data, "aaa_procedures")
    monkeypatch.setattr(validation, "THREADS", 2)
    monkeypatch.setattr(validation, "PARALLEL_ROWS", 0)
    threaded = validate(data, "aaa_procedures")
    _same(threaded, serial)
    assert list(threaded.valid.columns) == list(data.columns)
    # the text has type problems: rows are filtered before pandera, and after
    assert ((threaded.errors["check"] == "type").sum() > 0) == (kind == "text")
    assert len(threaded.rejected) > 0
