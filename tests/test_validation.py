"""ccdata.validate: every problem found once, at the right row and column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccdata
from ccdata.errors import InputError, SchemaDefinitionError
from ccdata.validation import ERROR_COLUMNS, ValidationResult, validate

N_ROWS = 40


def _synthetic_aaa(n: int = N_ROWS) -> pd.DataFrame:
    """A small valid AAA submission as text, as read from a CSV file."""
    adm = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n) * 3, unit="D")
    day = pd.Timedelta(days=1)
    cycle = np.arange(n) % 3
    return pd.DataFrame(
        {
            "record_id": [f"R{i:08X}" for i in range(n)],
            "site_id": [f"S{1 + i % 3:02d}" for i in range(n)],
            "admission_date": adm.strftime("%Y-%m-%d"),
            "procedure_date": (adm + day).strftime("%Y-%m-%d"),
            "discharge_date": (adm + 6 * day).strftime("%Y-%m-%d"),
            "record_entered_date": (adm + 30 * day).strftime("%Y-%m-%d"),
            "age": [str(60 + i % 30) for i in range(n)],
            "sex": np.where(np.arange(n) % 4 == 0, "F", "M"),
            "asa_grade": np.array(["2", "3", ""])[cycle],
            "aneurysm_diameter_mm": np.array(["55.5", "61", ""])[cycle],
            "creatinine_umol_l": np.array(["90", "", "120"])[cycle],
            "procedure_type": np.where(np.arange(n) % 2 == 0, "EVAR", "open"),
            "cardiac_disease": np.array(["0", "1", ""])[cycle],
            "respiratory_disease": np.array(["0", "0", "1"])[cycle],
            "died_in_hospital": ["0"] * (n - 1) + ["1"],
        },
        dtype="str",
    )


@pytest.fixture
def aaa_text(sample_data_dir) -> pd.DataFrame:
    """First rows of the committed sample file as text; a built frame if absent."""
    path = sample_data_dir / "aaa_procedures.csv"
    if path.exists():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, nrows=N_ROWS)
        return frame.astype("str")
    return _synthetic_aaa()


def _problems(result: ValidationResult) -> set[tuple[int, str, str]]:
    table = result.errors[["row", "column", "check"]].values
    return {(int(r), c, k) for r, c, k in table}


def _shift(date: str, days: int) -> str:
    return (pd.Timestamp(date) + pd.Timedelta(days=days)).strftime("%Y-%m-%d")


# Each corruption: change the frame at some positions and return the problems
# expected as {(spreadsheet row, column, check)}. Position p is row p + 2.
def _wrong_type(df):
    df.loc[3, "age"] = "abc"
    df.loc[6, "aneurysm_diameter_mm"] = "55,5"
    return {(5, "age", "type"), (8, "aneurysm_diameter_mm", "type")}


def _out_of_range(df):
    df.loc[0, "age"] = "212"
    df.loc[4, "creatinine_umol_l"] = "5"
    df.loc[9, "asa_grade"] = "6"
    return {
        (2, "age", "in_range"),
        (6, "creatinine_umol_l", "in_range"),
        (11, "asa_grade", "in_range"),
    }


def _unknown_category(df):
    df.loc[2, "sex"] = "X"
    df.loc[5, "procedure_type"] = "keyhole"
    df.loc[7, "died_in_hospital"] = "2"
    return {
        (4, "sex", "isin"),
        (7, "procedure_type", "isin"),
        (9, "died_in_hospital", "isin"),
    }


def _reversed_dates(df):
    df.loc[4, "procedure_date"] = _shift(df.loc[4, "admission_date"], -3)
    df.loc[8, "record_entered_date"] = _shift(df.loc[8, "procedure_date"], -1)
    return {
        (6, "admission_date", "date_order"),
        (6, "procedure_date", "date_order"),
        (10, "procedure_date", "date_order"),
        (10, "record_entered_date", "date_order"),
    }


def _duplicate_id(df):
    df.loc[7, "record_id"] = df.loc[2, "record_id"]
    df.loc[11, "record_id"] = df.loc[2, "record_id"]
    return {
        (4, "record_id", "unique"),
        (9, "record_id", "unique"),
        (13, "record_id", "unique"),
    }


def _empty_required(df):
    df.loc[1, "age"] = ""
    df.loc[3, "sex"] = "  "
    df.loc[5, "asa_grade"] = ""  # optional: not a problem
    return {(3, "age", "required"), (5, "sex", "required")}


CORRUPTIONS = [
    _wrong_type,
    _out_of_range,
    _unknown_category,
    _reversed_dates,
    _duplicate_id,
    _empty_required,
]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda f: f.__name__.strip("_"))
def test_each_corruption_reported_at_its_row_and_column(aaa_text, corrupt):
    assert validate(aaa_text, "aaa_procedures").ok
    df = aaa_text.copy()
    expected = corrupt(df)
    result = validate(df, "aaa_procedures")
    assert _problems(result) == expected
    bad_rows = {row for row, _, _ in expected}
    assert set(result.rejected.index + 2) == bad_rows
    assert len(result.valid) == len(df) - len(bad_rows)
    assert result.rejected.equals(df.loc[sorted(r - 2 for r in bad_rows)])


def test_unknown_site_reported_when_site_list_given(aaa_text):
    df = aaa_text.copy()
    df.loc[5, "site_id"] = "S99"
    sites = sorted(set(aaa_text["site_id"]))
    assert validate(df, "aaa_procedures").ok  # no list, no check
    result = validate(df, "aaa_procedures", sites=sites)
    assert _problems(result) == {(7, "site_id", "registered_site")}
    assert result.errors["message"].tolist() == [
        "site_id 'S99' is not in the registered site list"
    ]
    assert result.errors["site_id"].tolist() == ["S99"]


def test_messages_are_plain_english():
    df = _synthetic_aaa(12)
    df.loc[0, "age"] = "212"
    df.loc[1, "procedure_date"] = "2024-01-01"
    df.loc[1, "admission_date"] = "2024-01-04"
    df.loc[2, "sex"] = "X"
    df.loc[9, "record_id"] = df.loc[5, "record_id"]
    df.loc[4, "asa_grade"] = "2.5"
    df.loc[6, "age"] = ""
    df.loc[7, "admission_date"] = "05/03/2024"
    messages = set(validate(df, "aaa_procedures").errors["message"])
    assert messages == {
        "age 212 is outside 18-110",
        "procedure_date 2024-01-01 is before admission_date 2024-01-04",
        "sex 'X' is not one of 'M', 'F'",
        "record_id R00000005 appears 2 times (rows 7, 11)",
        "asa_grade '2.5' is not a whole number",
        "age is empty but required",
        "admission_date '05/03/2024' is not a date in the form YYYY-MM-DD",
    }


def test_cross_field_problem_reported_under_each_column():
    df = _synthetic_aaa(6)
    df.loc[2, "discharge_date"] = "2023-01-01"
    errors = validate(df, "aaa_procedures").errors
    assert errors[["row", "column", "value"]].values.tolist() == [
        [4, "procedure_date", "2024-01-08"],
        [4, "discharge_date", "2023-01-01"],
    ]
    assert errors["message"].nunique() == 1


def test_error_table_columns_and_types():
    df = _synthetic_aaa(6)
    df.loc[1, "age"] = "17"
    errors = validate(df, "aaa_procedures").errors
    assert tuple(errors.columns) == ERROR_COLUMNS
    assert errors.loc[0, "site_id"] == "S02"
    assert errors["row"].dtype == np.int64
    assert errors.loc[0, "value"] == "17"


def test_events_greater_than_denominator_in_aggregated_file():
    df = pd.DataFrame(
        {
            "site_id": ["T01", "T01", "T02"],
            "year": ["2023", "2023", "2023"],
            "indicator": [
                "surgical_resection",
                "histological_confirmation",
                "surgical_resection",
            ],
            "numerator": ["12", "30", "-1"],
            "denominator": ["10", "40", "8"],
        }
    )
    result = validate(df, "lung_cancer_indicators")
    assert _problems(result) == {
        (2, "numerator", "not_greater_than"),
        (2, "denominator", "not_greater_than"),
        (4, "numerator", "greater_than_or_equal_to"),
    }
    messages = set(result.errors["message"])
    assert "numerator 12 is greater than denominator 10" in messages
    assert "numerator -1 is negative" in messages
    assert list(result.valid.index) == [1]


def test_all_elements_cannot_exceed_an_element():
    row = {
        "site_id": "P01",
        "month": "2024-04",
        "list_size": "5000",
        "register_size": "200",
        "expected_prevalence": "0.04",
        "eligible": "20",
        "bp_measured": "18",
        "acr_tested": "10",
        "statin_offered": "15",
        "ace_arb_offered": "12",
        "all_elements": "11",
    }
    result = validate(pd.DataFrame([row]), "ckd_care_bundle")
    assert _problems(result) == {
        (2, "acr_tested", "not_greater_than"),
        (2, "all_elements", "not_greater_than"),
    }
    assert result.errors["message"].iloc[0] == (
        "all_elements 11 is greater than acr_tested 10"
    )


def test_composite_key_duplicates_name_every_row():
    df = pd.DataFrame(
        {
            "site_id": ["S01", "S01", "S02", "S01"],
            "month": ["2024-01", "2024-02", "2024-01", "2024-01"],
            "expected": ["3", "4", "5", "6"],
        }
    )
    result = validate(df, "aaa_expected_cases")
    assert _problems(result) == {
        (2, "site_id", "unique"),
        (2, "month", "unique"),
        (5, "site_id", "unique"),
        (5, "month", "unique"),
    }
    assert result.errors["message"].iloc[0] == (
        "the key site_id S01, month 2024-01 appears 2 times (rows 2, 5)"
    )


def test_missing_required_column_raises_naming_all():
    df = _synthetic_aaa(3).drop(columns=["age", "sex"])
    with pytest.raises(InputError, match="'age', 'sex'"):
        validate(df, "aaa_procedures")


def test_valid_frame_has_schema_types_and_keeps_index():
    df = _synthetic_aaa(9)
    df.index = pd.RangeIndex(100, 109)
    df.loc[104, "age"] = "300"
    result = validate(df, "aaa_procedures")
    valid = result.valid
    assert list(valid.index) == [100, 101, 102, 103, 105, 106, 107, 108]
    assert valid["age"].dtype == np.int64
    assert valid["asa_grade"].dtype == "Int64"
    assert valid["aneurysm_diameter_mm"].dtype == np.float64
    assert valid["admission_date"].dtype == "datetime64[ns]"
    assert valid["asa_grade"].isna().sum() == 3
    assert valid.loc[101, "aneurysm_diameter_mm"] == 61.0
    assert list(valid.columns) == list(df.columns)
    assert result.rejected.loc[104, "age"] == "300"  # as submitted
    assert int(result.errors["row"].iloc[0]) == 6  # position 4 -> row 6


def test_row_index_from_file_is_kept_after_reordering():
    df = _synthetic_aaa(6)
    df.index = pd.Index([2, 3, 4, 5, 6, 7], name="row")
    df.loc[5, "sex"] = "?"
    shuffled = df.iloc[[5, 3, 1, 0, 2, 4]]
    result = validate(shuffled, "aaa_procedures")
    assert result.errors["row"].tolist() == [5]


def test_already_typed_data_validate_the_same():
    typed = validate(_synthetic_aaa(12), "aaa_procedures").valid
    typed.loc[3, "age"] = 212
    result = validate(typed, "aaa_procedures")
    assert _problems(result) == {(5, "age", "in_range")}
    assert result.valid["admission_date"].dtype == "datetime64[ns]"


def test_extra_columns_pass_through():
    df = _synthetic_aaa(3).assign(comment=["a", "b", "c"])
    result = validate(df, "aaa_procedures")
    assert result.ok and result.valid["comment"].tolist() == ["a", "b", "c"]


def test_empty_submission_is_ok():
    result = validate(_synthetic_aaa(3).iloc[:0], "aaa_procedures")
    assert result.ok and result.n_rows == 0 and len(result.errors) == 0


def test_custom_checks_and_messages():
    schema = ccdata.get_schema("observed_expected").add_columns(
        {
            "comment": pa.Column(
                "str",
                pa.Check(
                    lambda s: s.str.len() < 5, error="{column} is too long: {value}"
                ),
                nullable=True,
            )
        }
    )
    row_check = pa.Check(lambda d: d["observed"] < 100 * d["expected"], name="ratio")
    schema = pa.DataFrameSchema(schema.columns, checks=[row_check], name="oe_custom")
    df = pd.DataFrame(
        {
            "site_id": ["S1", "S2"],
            "period": ["p", "p"],
            "observed": ["1000", "1"],
            "expected": ["1", "1"],
            "comment": ["fine", "much too long"],
        }
    )
    result = validate(df, schema)
    assert result.schema == "oe_custom"
    assert result.errors[["row", "column", "message"]].values.tolist() == [
        [2, "(row)", "the row failed the check 'ratio'"],
        [3, "comment", "comment is too long: 'much too long'"],
    ]


def test_bad_input_type_and_unknown_schema():
    with pytest.raises(InputError, match="DataFrame"):
        validate([1, 2], "aaa_procedures")
    with pytest.raises(SchemaDefinitionError, match="aaa_procedures"):
        validate(_synthetic_aaa(2), "no_such_schema")


def test_problems_by_column_counts():
    df = _synthetic_aaa(6)
    df.loc[[1, 2], "age"] = "500"
    df.loc[2, "sex"] = "Q"
    table = validate(df, "aaa_procedures").problems_by_column()
    assert table.values.tolist() == [["age", 2, 2], ["sex", 1, 1]]


BAD_VALUES = [
    "",
    "abc",
    "212",
    "-1",
    "X",
    "2024-13-45",
    "=1+1",
    " 7 ",
    "1e9",
    "R00000001",
]


@settings(max_examples=30)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 19),
            st.sampled_from(list(_synthetic_aaa(1).columns)),
            st.sampled_from(BAD_VALUES),
        ),
        max_size=25,
    )
)
def test_nothing_dropped_for_arbitrary_corruptions(changes):
    df = _synthetic_aaa(20)
    for pos, col, value in changes:
        df.loc[pos, col] = value
    result = validate(df, "aaa_procedures")
    assert len(result.valid) + len(result.rejected) == len(df)
    assert set(result.valid.index).isdisjoint(result.rejected.index)
    assert set(result.valid.index) | set(result.rejected.index) == set(df.index)
    assert set(result.errors["row"]) == set(result.rejected.index + 2)
    assert tuple(result.errors.columns) == ERROR_COLUMNS
    assert result.ok == (len(result.rejected) == 0)
    assert (result.errors["message"].str.len() > 0).all()
    # "abc" can never be read as a number or a date: such a row is rejected
    numeric = {
        "admission_date",
        "procedure_date",
        "discharge_date",
        "record_entered_date",
        "age",
        "asa_grade",
        "aneurysm_diameter_mm",
        "creatinine_umol_l",
        "cardiac_disease",
        "respiratory_disease",
        "died_in_hospital",
    }
    last = {(pos, col): value for pos, col, value in changes}
    must_fail = {
        pos for (pos, col), value in last.items() if col in numeric and value == "abc"
    }
    assert must_fail <= set(result.rejected.index)


def test_written_error_tables_withhold_patient_identifiers():
    frame = pd.DataFrame(
        {
            "survey_year": ["2024", "2024", "2024"],
            "site_id": ["T01", "T01", "T01"],
            "respondent_id": ["RESP-77", "RESP-77", "RESP-78"],
            "question_id": ["Q01", "Q01", "Q01"],
            "answer": ["4", "5", "9"],
        }
    )
    result = validate(frame, "lung_cancer_patient_experience")
    assert result.identifier_columns == ("respondent_id",)
    # In memory the analyst sees everything...
    assert result.errors["message"].str.contains("RESP-77").any()
    # ...but the CSV-ready table names no respondent, in any column.
    written = result.to_frame()
    assert not written.astype(str).apply(lambda c: c.str.contains("RESP-7")).any().any()
    dup = written[written["check"] == "unique"]
    assert sorted(dup["row"].unique()) == [2, 3]
    assert (dup.loc[dup["column"] == "respondent_id", "value"] == "[withheld]").all()
    assert "answer 9" in " ".join(written["message"])  # other values are kept
