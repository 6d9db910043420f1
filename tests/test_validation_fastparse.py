"""The vectorised reading of plain text cells equals the distinct-value rules.

``ccdata.validation._parse`` reads digits, plain decimals and valid
YYYY-MM-DD dates of Arrow-backed text straight from Arrow's buffers
(``FAST_TEXT``); every other cell goes through the per-distinct-value rules.
These tests parse generated messy columns both ways and compare every value,
missing flag, problem and reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccdata.validation._parse as parse
from ccdata.validation import validate

pytestmark = pytest.mark.skipif(
    not parse.PANDAS3, reason="pandas 2 keeps text as objects: no Arrow buffers"
)

_INT_CELLS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.integers(min_value=0, max_value=300).map(str),
    st.sampled_from(
        [
            "",
            " ",
            " 7",
            "7 ",
            "+3",
            "-0",
            "007",
            "7.0",
            "1e3",
            "x",
            "٣",
            "0" * 19,
            "9223372036854775807",
            "9223372036854775808",
            "255",
            "256",
            "127",
            "128",
        ]
    ),
)
_FLOAT_CELLS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.decimals(min_value=0, max_value=10**9, places=4, allow_nan=False).map(str),
    st.from_regex(r"\A[0-9]{0,9}\.?[0-9]{0,9}\Z"),
    st.sampled_from(
        [
            "",
            ".",
            "5.",
            ".5",
            "1..2",
            "inf",
            "nan",
            "1e309",
            "0.1",
            "123456789012345",
            "1234567890123456",
            "0.000000000000001",
            " 1.5",
            "-2.5",
            "1,5",
        ]
    ),
)
_DATE_CELLS = st.one_of(
    st.dates(min_value=pd.Timestamp("0001-01-01").date()).map(str),
    st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
    st.sampled_from(
        [
            "",
            "2024-02-29",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "0000-01-01",
            "1677-09-21",
            "1677-09-22",
            "2262-04-11",
            "2262-04-12",
            "2924-03-01",
            "2024-03-01 13:45",
            "2024-03-01T00:00",
            "2024/03/01",
            " 2024-03-01",
            "today",
            "2024-3-1",
            "2024-03-01Z",
            "２０２４-03-01",
        ]
    ),
)


def _both(cells, dtype):
    raw = pd.Series(cells, dtype="str", index=np.arange(len(cells)) * 3 + 1)
    spec = pa.Column(dtype).dtype
    fast = parse.parse_column("v", raw, spec)
    parse.FAST_TEXT = False
    try:
        slow = parse.parse_column("v", raw, spec)
    finally:
        parse.FAST_TEXT = True
    pd.testing.assert_series_equal(fast.values, slow.values, check_exact=True)
    assert fast.missing.tolist() == slow.missing.tolist()
    assert fast.bad.tolist() == slow.bad.tolist()
    assert list(fast.reasons) == list(slow.reasons)
    return fast


@settings(max_examples=80, deadline=None)
@given(
    cells=st.lists(_INT_CELLS, max_size=30),
    dtype=st.sampled_from(["int64", "Int64", "int8", "uint8", "uint64", "Int16"]),
)
def test_fast_ints_equal_distinct_rules(cells, dtype):
    _both(cells, dtype)


@settings(max_examples=80, deadline=None)
@given(
    cells=st.lists(_FLOAT_CELLS, max_size=30),
    dtype=st.sampled_from(["float64", "float32", "Float64"]),
)
def test_fast_floats_equal_distinct_rules(cells, dtype):
    _both(cells, dtype)


@settings(max_examples=80, deadline=None)
@given(
    cells=st.lists(_DATE_CELLS, max_size=30),
    dtype=st.sampled_from(
        [
            "datetime64[ns]",
            "datetime64[s]",
            "datetime64[ns, UTC]",
            "datetime64[ns, Europe/London]",
        ]
    ),
)
def test_fast_dates_equal_distinct_rules(cells, dtype):
    _both(cells, dtype)


def test_fast_path_known_answers():
    # one block of equal-width cells (read as a view), and mixed widths
    p = _both(["12", "07", "99"], "int64")
    assert p.values.tolist() == [12, 7, 99]
    p = _both(["5", "", "250", "x", "300"], "uint8")
    assert p.bad.tolist() == [False, False, False, True, True]
    assert [None if pd.isna(v) else int(v) for v in p.values] == [
        5,
        None,
        250,
        None,
        None,
    ]
    p = _both(["62.3", "", "120", ".5", "5."], "float64")
    assert p.values.tolist()[0] == 62.3 and p.values.tolist()[3:] == [0.5, 5.0]
    p = _both(["2024-02-29", "2023-02-29", "2924-03-01", ""], "datetime64[ns]")
    assert p.values.iloc[0] == pd.Timestamp("2024-02-29")
    assert p.bad.tolist() == [False, True, True, False]
    assert p.reasons[1] == "is not a date in the form YYYY-MM-DD"
    assert p.reasons[2].startswith("is outside the dates this column can hold")


def test_benchmark_frame_same_result_both_ways():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "validation.py"
    spec = importlib.util.spec_from_file_location("_bench_validation_fp", path)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    data = bench.synthetic_aaa(3000, seed=11)
    data.loc[[3, 9], "asa_grade"] = [" 2", "+3"]  # through the distinct rules
    fast = validate(data, "aaa_procedures")
    parse.FAST_TEXT = False
    try:
        slow = validate(data, "aaa_procedures")
    finally:
        parse.FAST_TEXT = True
    pd.testing.assert_frame_equal(fast.errors, slow.errors, check_exact=True)
    pd.testing.assert_frame_equal(fast.valid, slow.valid, check_exact=True)
    pd.testing.assert_frame_equal(fast.rejected, slow.rejected, check_exact=True)


@settings(max_examples=80, deadline=None)
@given(
    cells=st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=6),
            st.sampled_from(["", " ", "A", " A", "A ", "\u00a0A", "A\u3000", "\tA"]),
        ),
        max_size=30,
    )
)
def test_text_without_edges_to_strip_equals_strip(cells):
    # the strip is skipped only where no cell starts or ends with a byte
    # outside 0x21-0x7E: the same values and missing cells either way
    _both(cells, "str")


def test_plain_text_is_passed_on_known_answer():
    raw = pd.Series(["A", "", None, "BC"], dtype="str")
    assert parse._plain_edges(raw).tolist() == [False, True, True, False]
    assert parse._plain_edges(pd.Series(["A", " B"], dtype="str")) is None
    assert parse._plain_edges(pd.Series(["A", "B\u00a0"], dtype="str")) is None
    p = _both(["A", "", None, "BC"], "str")
    assert p.missing.tolist() == [False, True, True, False]
    assert p.values.tolist()[0] == "A" and p.values.tolist()[3] == "BC"
