"""The submission schemas bundled with ccdata (see the data contract).

Conventions used by every schema here, and relied on by
:func:`ccdata.validate`:

* ``nullable=False`` means the value is mandatory (a missing value is a
  problem); ``required=True`` (pandera's default) means the *column* must be
  present in the file.
* Integers that may be missing use pandas' nullable ``"Int64"``; mandatory
  integers use ``"int64"``; dates use ``"datetime64[ns]"``; text uses ``"str"``.
* The unique key is given either as ``unique=True`` on a single column or as
  ``DataFrameSchema(unique=[...])`` for a composite key.
* ``metadata={"site_column": "site_id"}`` names the column holding the site,
  and ``"identifier_columns"`` the pseudonymous patient or respondent
  identifiers, whose values are withheld from every file ccdata writes.
"""

from __future__ import annotations

import pandera.pandas as pa

from ccdata.schemas.checks import date_order, not_greater_than

__all__ = ["BUILTIN_SCHEMAS"]

_MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
_META = {"site_column": "site_id"}


def _month_check() -> pa.Check:
    return pa.Check.str_matches(_MONTH, error="is not a month in the form YYYY-MM")


def _site(description: str = "Site identifier") -> pa.Column:
    return pa.Column("str", nullable=False, description=description)


def _flag(nullable: bool, description: str) -> pa.Column:
    return pa.Column(
        "Int64" if nullable else "int64",
        pa.Check.isin([0, 1]),
        nullable=nullable,
        description=description,
    )


def _count(description: str, *, nullable: bool = False) -> pa.Column:
    return pa.Column(
        "Int64" if nullable else "int64",
        pa.Check.ge(0),
        nullable=nullable,
        description=description,
    )


def _date(description: str) -> pa.Column:
    return pa.Column("datetime64[ns]", nullable=False, description=description)


def aaa_procedures() -> pa.DataFrameSchema:
    """Patient-level elective abdominal aortic aneurysm repairs."""
    return pa.DataFrameSchema(
        {
            "record_id": pa.Column(
                "str",
                nullable=False,
                unique=True,
                description="Pseudonymous record identifier",
            ),
            "site_id": _site("Hospital identifier"),
            "admission_date": _date("Date of admission"),
            "procedure_date": _date("Date of the repair"),
            "discharge_date": _date("Date of discharge (or of in-hospital death)"),
            "record_entered_date": _date("Date the record was entered"),
            "age": pa.Column(
                "int64",
                pa.Check.in_range(18, 110),
                nullable=False,
                description="Age in years at procedure",
            ),
            "sex": pa.Column(
                "str", pa.Check.isin(["M", "F"]), nullable=False, description="Sex"
            ),
            "asa_grade": pa.Column(
                "Int64",
                pa.Check.in_range(1, 5),
                nullable=True,
                description="ASA physical status grade 1-5",
            ),
            "aneurysm_diameter_mm": pa.Column(
                "float64",
                pa.Check.in_range(20, 150),
                nullable=True,
                description="Maximum aneurysm diameter (mm)",
            ),
            "creatinine_umol_l": pa.Column(
                "float64",
                pa.Check.in_range(20, 2000),
                nullable=True,
                description="Pre-operative serum creatinine (umol/L)",
            ),
            "procedure_type": pa.Column(
                "str",
                pa.Check.isin(["open", "EVAR"]),
                nullable=False,
                description="Open repair or endovascular repair (EVAR)",
            ),
            "cardiac_disease": _flag(True, "History of cardiac disease (0/1)"),
            "respiratory_disease": _flag(True, "History of respiratory disease (0/1)"),
            "died_in_hospital": _flag(False, "Died before discharge (0/1)"),
        },
        checks=[
            date_order("admission_date", "procedure_date"),
            date_order("procedure_date", "discharge_date"),
            date_order("procedure_date", "record_entered_date"),
        ],
        name="aaa_procedures",
        description="Elective AAA repairs, one row per patient record",
        metadata={**_META, "identifier_columns": ["record_id"]},
    )


def aaa_expected_cases() -> pa.DataFrameSchema:
    """Independent count of expected cases per site and month (e.g. HES)."""
    return pa.DataFrameSchema(
        {
            "site_id": _site("Hospital identifier"),
            "month": pa.Column(
                "str", _month_check(), nullable=False, description="Month, YYYY-MM"
            ),
            "expected": _count("Expected number of cases from the independent source"),
        },
        unique=["site_id", "month"],
        name="aaa_expected_cases",
        description="Expected AAA cases per site and month",
        metadata=dict(_META),
    )


def ckd_care_bundle() -> pa.DataFrameSchema:
    """GP practice x month counts for a chronic kidney disease care bundle."""
    elements = ["bp_measured", "acr_tested", "statin_offered", "ace_arb_offered"]
    columns = {
        "site_id": _site("GP practice identifier"),
        "month": pa.Column(
            "str", _month_check(), nullable=False, description="Month, YYYY-MM"
        ),
        "list_size": pa.Column(
            "int64",
            pa.Check.gt(0),
            nullable=False,
            description="Registered practice population",
        ),
        "register_size": _count("Patients on the CKD register"),
        "expected_prevalence": pa.Column(
            "float64",
            pa.Check.in_range(0, 1),
            nullable=False,
            description="Modelled expected CKD prevalence (proportion)",
        ),
        "eligible": _count("Patients due the bundle this month"),
    }
    for element in elements:
        columns[element] = _count(f"Patients who received: {element}")
    columns["all_elements"] = _count("Patients who received every element")
    checks = [
        not_greater_than("register_size", "list_size"),
        not_greater_than("eligible", "register_size"),
    ]
    checks += [not_greater_than(e, "eligible") for e in elements]
    checks += [not_greater_than("all_elements", e) for e in elements]
    return pa.DataFrameSchema(
        columns,
        checks=checks,
        unique=["site_id", "month"],
        name="ckd_care_bundle",
        description="CKD care bundle, one row per practice and month",
        metadata=dict(_META),
    )


def lung_cancer_indicators() -> pa.DataFrameSchema:
    """Trust x year aggregated lung cancer indicators."""
    return pa.DataFrameSchema(
        {
            "site_id": _site("Trust identifier"),
            "year": pa.Column(
                "int64",
                pa.Check.in_range(1990, 2100),
                nullable=False,
                description="Calendar year",
            ),
            "indicator": pa.Column(
                "str",
                pa.Check.isin(
                    [
                        "histological_confirmation",
                        "seen_by_nurse_specialist",
                        "surgical_resection",
                    ]
                ),
                nullable=False,
                description="Indicator name",
            ),
            "numerator": _count("Patients meeting the indicator"),
            "denominator": _count("Patients eligible for the indicator"),
        },
        checks=[not_greater_than("numerator", "denominator")],
        unique=["site_id", "year", "indicator"],
        name="lung_cancer_indicators",
        description="Lung cancer indicators, one row per trust, year and indicator",
        metadata=dict(_META),
    )


def lung_cancer_patient_experience() -> pa.DataFrameSchema:
    """Respondent-level answers to a lung cancer patient experience survey."""
    return pa.DataFrameSchema(
        {
            "site_id": _site("Trust identifier"),
            "survey_year": pa.Column(
                "int64",
                pa.Check.in_range(1990, 2100),
                nullable=False,
                description="Survey year",
            ),
            "respondent_id": pa.Column(
                "str", nullable=False, description="Pseudonymous respondent id"
            ),
            "question_id": pa.Column(
                "str",
                pa.Check.str_matches(
                    r"^Q\d{2}$", error="is not a question id like Q01"
                ),
                nullable=False,
                description="Question identifier, Q01..Q10",
            ),
            "answer": pa.Column(
                "Int64",
                pa.Check.in_range(1, 5),
                nullable=True,
                description="Answer 1-5; empty when skipped",
            ),
            # Optional respondent characteristics (case mix); empty when unknown.
            "age_band": pa.Column(
                "str",
                pa.Check.isin(["16-54", "55-64", "65-74", "75+"]),
                nullable=True,
                required=False,
                description="Age band of the respondent (case mix)",
            ),
            "sex": pa.Column(
                "str",
                pa.Check.isin(["M", "F"]),
                nullable=True,
                required=False,
                description="Sex of the respondent (case mix)",
            ),
            "route_to_diagnosis": pa.Column(
                "str",
                pa.Check.isin(["two_week_wait", "gp_referral", "emergency", "other"]),
                nullable=True,
                required=False,
                description="Route to diagnosis (case mix)",
            ),
        },
        unique=["survey_year", "respondent_id", "question_id"],
        name="lung_cancer_patient_experience",
        description="Patient experience answers, one row per respondent and question",
        metadata={**_META, "identifier_columns": ["respondent_id"]},
    )


def indicator_submission() -> pa.DataFrameSchema:
    """Define a generic indicator: numerator and denominator per site and period."""
    return pa.DataFrameSchema(
        {
            "site_id": _site(),
            "period": pa.Column("str", nullable=False, description="Reporting period"),
            "indicator": pa.Column("str", nullable=False, description="Indicator name"),
            "numerator": pa.Column(
                "float64",
                pa.Check.ge(0),
                nullable=False,
                description="Events (non-negative)",
            ),
            "denominator": pa.Column(
                "float64",
                pa.Check.ge(0),
                nullable=False,
                description="Population at risk (non-negative)",
            ),
        },
        checks=[not_greater_than("numerator", "denominator")],
        unique=["site_id", "period", "indicator"],
        name="indicator_submission",
        description="Generic numerator/denominator indicator submission",
        metadata=dict(_META),
    )


def observed_expected() -> pa.DataFrameSchema:
    """Define generic observed and expected counts per site and period."""
    return pa.DataFrameSchema(
        {
            "site_id": _site(),
            "period": pa.Column("str", nullable=False, description="Reporting period"),
            "observed": _count("Observed events"),
            "expected": pa.Column(
                "float64",
                pa.Check.gt(0),
                nullable=False,
                description="Expected events (> 0)",
            ),
        },
        unique=["site_id", "period"],
        name="observed_expected",
        description="Generic observed/expected submission",
        metadata=dict(_META),
    )


BUILTIN_SCHEMAS = {
    f.__name__: f
    for f in (
        aaa_procedures,
        aaa_expected_cases,
        ckd_care_bundle,
        lung_cancer_indicators,
        lung_cancer_patient_experience,
        indicator_submission,
        observed_expected,
    )
}
