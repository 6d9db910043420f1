"""ccdata.schemas: registry, helpers, extension, and the bundled sample files."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa
import pytest
from pandera.typing import Series

import ccdata
from ccdata.errors import SchemaDefinitionError
from ccdata.io import read_site_list, read_submission
from ccdata.schemas import (
    get_schema,
    key_columns,
    list_schemas,
    mandatory_columns,
    register_schema,
    site_column,
)

BUNDLED = {
    "aaa_procedures": "aaa",
    "aaa_expected_cases": "aaa",
    "ckd_care_bundle": "ckd",
    "lung_cancer_indicators": "lung",
    "lung_cancer_patient_experience": "lung",
}


def test_all_bundled_schemas_registered():
    assert set(BUNDLED) | {"indicator_submission", "observed_expected"} <= set(
        list_schemas()
    )
    assert list_schemas() == sorted(list_schemas())


def test_mandatory_columns_follow_the_data_contract():
    assert mandatory_columns("aaa_procedures") == [
        "record_id",
        "site_id",
        "admission_date",
        "procedure_date",
        "discharge_date",
        "record_entered_date",
        "age",
        "sex",
        "procedure_type",
        "died_in_hospital",
    ]
    assert mandatory_columns("lung_cancer_patient_experience") == [
        "site_id",
        "survey_year",
        "respondent_id",
        "question_id",
    ]


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("aaa_procedures", ["record_id"]),
        ("aaa_expected_cases", ["site_id", "month"]),
        ("ckd_care_bundle", ["site_id", "month"]),
        ("lung_cancer_indicators", ["site_id", "year", "indicator"]),
        (
            "lung_cancer_patient_experience",
            ["survey_year", "respondent_id", "question_id"],
        ),
        ("indicator_submission", ["site_id", "period", "indicator"]),
        ("observed_expected", ["site_id", "period"]),
    ],
)
def test_key_and_site_columns(name, keys):
    assert key_columns(name) == keys
    assert key_columns(get_schema(name)) == keys
    assert site_column(name) == "site_id"


def test_get_schema_returns_a_copy():
    schema = get_schema("aaa_procedures")
    schema.columns["age"].checks.append(pa.Check.le(20))
    assert len(get_schema("aaa_procedures").columns["age"].checks) == 1


def test_unknown_schema_lists_known_names():
    with pytest.raises(SchemaDefinitionError, match="aaa_procedures.*register_schema"):
        get_schema("aaa_procedure")
    with pytest.raises(SchemaDefinitionError, match="DataFrameSchema"):
        get_schema(42)


def test_site_list_adds_a_check():
    schema = get_schema("ckd_care_bundle", sites=["P01"])
    assert [c.name for c in schema.columns["site_id"].checks] == ["registered_site"]
    assert get_schema("ckd_care_bundle").columns["site_id"].checks == []
    with pytest.raises(SchemaDefinitionError, match="not a single string"):
        get_schema("ckd_care_bundle", sites="P01")


def test_extend_and_register_a_schema():
    extended = get_schema("aaa_procedures").add_columns(
        {"smoker": pa.Column("Int64", pa.Check.isin([0, 1]), nullable=True)}
    )
    register_schema("aaa_with_smoking", extended)
    with pytest.raises(SchemaDefinitionError, match="already registered"):
        register_schema("aaa_with_smoking", extended)
    register_schema("aaa_with_smoking", extended, replace=True)
    assert "smoker" in get_schema("aaa_with_smoking").columns
    assert "smoker" not in mandatory_columns("aaa_with_smoking")
    assert get_schema("aaa_with_smoking").name == "aaa_procedures"


class _Audit(pa.DataFrameModel):
    site_id: Series[str]
    score: Series[float] = pa.Field(ge=0, le=10)


def test_register_a_dataframe_model():
    register_schema("my_audit", _Audit, replace=True)
    df = pd.DataFrame({"site_id": ["A", "B"], "score": ["3.5", "11"]})
    result = ccdata.validate(df, "my_audit")
    assert result.errors[["row", "column", "message"]].values.tolist() == [
        [3, "score", "score 11 is greater than 10"]
    ]
    assert ccdata.validate(df, _Audit).errors["row"].tolist() == [3]


def test_schemas_are_ordinary_pandera_schemas():
    typed = pd.DataFrame(
        {
            "site_id": ["T01"],
            "year": [2024],
            "indicator": ["surgical_resection"],
            "numerator": [30],
            "denominator": [20],
        }
    )
    schema = get_schema("lung_cancer_indicators")
    with pytest.raises(pa.errors.SchemaErrors) as info:
        schema.validate(typed, lazy=True)
    assert set(info.value.failure_cases["check"]) == {
        "numerator must not be greater than denominator"
    }
    typed["denominator"] = 40
    assert len(schema.validate(typed)) == 1


@pytest.mark.parametrize("name", list(BUNDLED))
def test_committed_sample_files_pass_their_schema(sample_data_dir, name):
    path = sample_data_dir / f"{name}.csv"
    sites = read_site_list(sample_data_dir / "sites.csv", community=BUNDLED[name])
    result = read_submission(path, name, sites=sites)
    assert result.ok, result.errors.head().to_string()
    assert result.n_rows == len(result.valid) > 0
    assert set(result.valid["site_id"]) <= set(sites)
