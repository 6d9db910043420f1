"""Everyday cells that used to crash or slip through ccdata.validate (issue #13).

Each case asserts the clear verdict (a row problem at its spreadsheet row and
column, or a valid value), and that no row is lost: valid + rejected = input.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from ccdata.validation import validate


def _oe(observed="3", expected="2.5", n=3) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": [f"S{i}" for i in range(n)],
            "period": ["2024"] * n,
            "observed": ["1"] * (n - 1) + [observed],
            "expected": ["1"] * (n - 1) + [expected],
        },
        dtype="str",
    )


def _dates(value: str) -> pd.DataFrame:
    return pd.DataFrame({"d": ["2024-01-01", value, "2024-01-02"]}, dtype="str")


DATE_SCHEMA = pa.DataFrameSchema({"d": pa.Column("datetime64[ns]", nullable=False)})


def _one_problem(result, row, column):
    assert len(result.valid) + len(result.rejected) == result.n_rows
    assert result.errors[["row", "column"]].values.tolist() == [[row, column]]
    return result.errors["message"].item()


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-01 13:45:00",
        "2024-03-01T00:00",
        "2024-03-01T13:45",
        " 2024-03-01 13:45:00.5 ",
    ],
)
def test_dates_with_a_time_of_day_are_dates(text):
    result = validate(_dates(text), DATE_SCHEMA)
    assert result.ok, result.errors
    assert result.valid["d"].iloc[1] == pd.Timestamp(text.strip())


@pytest.mark.parametrize(
    "text",
    [
        "x" * 5000,
        "2024-03-01 13:45:00 and more",
        "2024-02-30",
        "05/03/2024",
        "today",
        "now",
        "Today",
        "2024-03-01T25:00",
    ],
)
def test_bad_date_texts_are_row_problems(text):
    message = _one_problem(validate(_dates(text), DATE_SCHEMA), 3, "d")
    assert message.endswith("is not a date in the form YYYY-MM-DD")


@pytest.mark.parametrize("text", ["2924-03-01", "0024-03-01", "1600-01-01"])
def test_year_typos_are_row_problems_not_exceptions(text):
    message = _one_problem(validate(_dates(text), DATE_SCHEMA), 3, "d")
    assert message == (
        f"d '{text}' is outside the dates this column can hold "
        "(1677-09-22 to 2262-04-10)"
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1e19", "is not a whole number"),
        (
            "99999999999999999999",
            "is outside the range this column can hold "
            "(-9223372036854775808 to 9223372036854775807)",
        ),
        ("-99999999999999999999", "is outside the range"),
        ("3.5", "is not a whole number"),
    ],
)
def test_counts_beyond_int64_never_wrap_around(text, words):
    message = _one_problem(
        validate(_oe(observed=text), "observed_expected"), 4, "observed"
    )
    assert message.startswith(f"observed '{text}' {words}")


@pytest.mark.parametrize("text", ["inf", "Infinity", "-inf", "1e309", "nan", "NaN"])
def test_infinite_numbers_do_not_pass_greater_than_zero(text):
    message = _one_problem(
        validate(_oe(expected=text), "observed_expected"), 4, "expected"
    )
    assert message.startswith(
        (
            f"expected '{text}' is not a number",
            f"expected '{text}' is too large a number",
        )
    )


def test_typed_infinity_is_a_row_problem():
    df = _oe().assign(expected=[1.0, np.inf, 2.0])
    _one_problem(validate(df, "observed_expected"), 3, "expected")


def test_whole_numbers_keep_exact_values_beyond_2_53():
    big = 2**53 + 1
    schema = pa.DataFrameSchema({"n": pa.Column("int64", pa.Check.le(2**53))})
    result = validate(pd.DataFrame({"n": [str(big), "5"]}), schema)
    assert _one_problem(result, 2, "n") == f"n {big} is greater than {2**53}"
    typed = validate(pd.DataFrame({"n": np.array([big, 5], dtype=np.int64)}), schema)
    assert typed.errors["row"].tolist() == [2]


def test_small_integer_types_are_range_checked():
    schema = pa.DataFrameSchema({"n": pa.Column("int8"), "u": pa.Column("uint8")})
    df = pd.DataFrame({"n": ["127", "128", "-1"], "u": ["255", "0", "-1"]})
    result = validate(df, schema)
    assert result.errors[["row", "column"]].values.tolist() == [[3, "n"], [4, "u"]]
    assert result.valid["n"].dtype == np.int8 and result.valid["u"].dtype == np.uint8


def test_raise_warning_checks_warn_and_keep_rows():
    schema = pa.DataFrameSchema(
        {
            "x": pa.Column("int64", pa.Check.le(5, raise_warning=True)),
        }
    )
    result = validate(pd.DataFrame({"x": ["1", "9"]}), schema)
    assert result.ok and len(result.valid) == 2
    assert len(result.warnings) == 1 and "less_than_or_equal_to" in result.warnings[0]


def test_a_users_check_named_date_order_is_not_replaced():
    mine = pa.Check(lambda d: d["a"] < d["b"], name="date_order", error="a before b")
    schema = pa.DataFrameSchema(
        {"a": pa.Column("int64"), "b": pa.Column("int64")}, checks=[mine]
    )
    result = validate(pd.DataFrame({"a": ["1", "2"], "b": ["1", "3"]}), schema)
    assert result.errors[["row", "column", "message"]].values.tolist() == [
        [2, "(row)", "a before b"]
    ]


def test_custom_checks_see_the_typed_frame_with_its_index():
    seen = {}

    def spy(series):
        seen["index"], seen["name"] = list(series.index), series.name
        return series > 0

    schema = pa.DataFrameSchema({"x": pa.Column("int64", pa.Check(spy))})
    df = pd.DataFrame({"x": ["1", "-1"]}, index=pd.Index([7, 9], name="row"))
    result = validate(df, schema)
    assert seen == {"index": [7, 9], "name": "x"}
    assert result.errors["row"].tolist() == [9]


def test_regex_columns_match_as_pandera_does():
    schema = pa.DataFrameSchema({"q_": pa.Column("int64", pa.Check.ge(0), regex=True)})
    df = pd.DataFrame({"q_1": ["1", "-1"], "q_2x": ["-3", "0"], "other": ["-1", "-1"]})
    result = validate(df, schema)
    assert result.errors[["row", "column"]].values.tolist() == [[2, "q_2x"], [3, "q_1"]]


def test_report_duplicates_and_missing_keys_follow_pandera():
    schema = pa.DataFrameSchema(
        {"k": pa.Column("str", nullable=True)},
        unique=["k"],
        report_duplicates="exclude_first",
    )
    df = pd.DataFrame({"k": ["a", "a", "b", "", " "]})
    result = validate(df, schema)
    # pandera: the first "a" is not reported, and two missing keys are not
    # duplicates of each other
    assert result.errors["row"].tolist() == [3]
    assert result.errors["message"].item() == "k a appears 2 times (rows 2, 3)"
    column_level = pa.DataFrameSchema(
        {"k": pa.Column("str", nullable=True, unique=True)}
    )
    assert validate(df, column_level).errors["row"].tolist() == [2, 3]


def test_duplicate_of_a_row_with_a_type_problem_is_still_reported():
    df = pd.DataFrame({"record_id": ["R1", "R1", "R2"], "age": ["abc", "50", "60"]})
    schema = pa.DataFrameSchema(
        {"record_id": pa.Column("str", unique=True), "age": pa.Column("int64")}
    )
    result = validate(df, schema)
    assert sorted(map(tuple, result.errors[["row", "column", "check"]].values)) == [
        (2, "age", "type"),
        (2, "record_id", "unique"),
        (3, "record_id", "unique"),
    ]


def test_index_checks_are_reported_at_their_row():
    schema = pa.DataFrameSchema(
        {"x": pa.Column("int64")}, index=pa.Index("int64", pa.Check.ge(3))
    )
    df = pd.DataFrame({"x": ["1", "2"]}, index=[2, 5])
    result = validate(df, schema)
    assert result.errors[["row", "column", "value"]].values.tolist() == [
        [2, "(index)", "2"]
    ]


def test_index_checks_after_an_excluded_row_keep_their_row():
    # pandera 0.24 names a failing index value by its position in the frame
    # it checked (rows already rejected are not in it); later versions by its
    # label. Either way the problem is reported at the spreadsheet row.
    schema = pa.DataFrameSchema(
        {"x": pa.Column("int64")}, index=pa.Index("int64", pa.Check.ge(3))
    )
    df = pd.DataFrame({"x": ["", "2", "3", "4"]}, index=[2, 5, 1, 7])
    result = validate(df, schema)
    assert result.errors[["row", "column", "value"]].values.tolist() == [
        [2, "x", ""],
        [4, "(index)", "1"],
    ]
    assert sorted(result.rejected.index) == [1, 2]


def test_inclusive_bounds_are_named():
    schema = pa.DataFrameSchema(
        {"x": pa.Column("float64", pa.Check.in_range(0, 1, include_min=False))}
    )
    message = _one_problem(validate(pd.DataFrame({"x": ["0", "0.5"]}), schema), 2, "x")
    assert message == "x 0 is not greater than 0 and at most 1"


def test_ordered_and_strict_are_refused_in_words():
    from ccdata.errors import InputError

    ordered = pa.DataFrameSchema(
        {"a": pa.Column(str), "b": pa.Column(str)}, ordered=True
    )
    with pytest.raises(InputError, match="order"):
        validate(pd.DataFrame({"b": ["1"], "a": ["2"]}), ordered)
    strict = pa.DataFrameSchema({"a": pa.Column(str)}, strict=True)
    with pytest.raises(InputError, match="strict"):
        validate(pd.DataFrame({"a": ["1"], "z": ["2"]}), strict)
    filtered = pa.DataFrameSchema({"a": pa.Column(str)}, strict="filter")
    assert list(
        validate(pd.DataFrame({"a": ["1"], "z": ["2"]}), filtered).valid.columns
    ) == ["a"]
