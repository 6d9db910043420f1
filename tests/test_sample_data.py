"""Tests of the deterministic sample-data generator (ccdata.sample_data)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdata.errors import InputError
from ccdata.sample_data import (
    AAA_ASCERTAINMENT,
    AAA_ENTRY_LAG,
    AAA_HIGH_MISSING,
    AAA_IMPROVING_REGION,
    AAA_LONG_LAG_SITES,
    AAA_LOW_ASCERTAINMENT_SITES,
    AAA_MISSING_RATES,
    AAA_OUTLIER_SITES,
    AAA_RISK_MODEL,
    AAA_SITE_EFFECTS,
    CKD_LAUNCH_MONTH,
    CKD_STOPPED_PRACTICES,
    DEFAULT_SEED,
    EXPERIENCE_CASE_MIX,
    EXPERIENCE_CASE_MIX_TRUST,
    EXPERIENCE_SMALL_CELLS,
    SAMPLE_FILES,
    generate_aaa_procedures,
    generate_ckd_care_bundle,
    generate_sites,
    sample_data_truth,
    write_sample_data,
)
from ccdata.sample_data._util import hex_ids

OPTIONAL = (
    "asa_grade",
    "aneurysm_diameter_mm",
    "creatinine_umol_l",
    "cardiac_disease",
    "respiratory_disease",
)

# The data contract: column -> kind ("str", "int", "Int", "float", "date").
CONTRACT = {
    "sites.csv": {"community": "str", "site_id": "str", "site_name": "str",
                  "region": "str"},
    "aaa_procedures.csv": {
        "record_id": "str", "site_id": "str", "admission_date": "date",
        "procedure_date": "date", "discharge_date": "date",
        "record_entered_date": "date", "age": "int", "sex": "str",
        "asa_grade": "Int", "aneurysm_diameter_mm": "float",
        "creatinine_umol_l": "float", "procedure_type": "str",
        "cardiac_disease": "Int", "respiratory_disease": "Int",
        "died_in_hospital": "int",
    },
    "aaa_expected_cases.csv": {"site_id": "str", "month": "str", "expected": "int"},
    "ckd_care_bundle.csv": {
        "site_id": "str", "month": "str", "list_size": "int", "register_size": "int",
        "expected_prevalence": "float", "eligible": "int", "bp_measured": "int",
        "acr_tested": "int", "statin_offered": "int", "ace_arb_offered": "int",
        "all_elements": "int",
    },
    "lung_cancer_indicators.csv": {"site_id": "str", "year": "int", "indicator": "str",
                                   "numerator": "int", "denominator": "int"},
    "lung_cancer_patient_experience.csv": {
        "site_id": "str", "survey_year": "int", "respondent_id": "str",
        "question_id": "str", "answer": "Int", "age_band": "str", "sex": "str",
        "route_to_diagnosis": "str",
    },
}  # fmt: skip
KEYS = {
    "sites.csv": ["community", "site_id"],
    "aaa_procedures.csv": ["record_id"],
    "aaa_expected_cases.csv": ["site_id", "month"],
    "ckd_care_bundle.csv": ["site_id", "month"],
    "lung_cancer_indicators.csv": ["site_id", "year", "indicator"],
    "lung_cancer_patient_experience.csv": [
        "survey_year",
        "respondent_id",
        "question_id",
    ],
}
ELEMENTS = ["bp_measured", "acr_tested", "statin_offered", "ace_arb_offered"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The six files written twice with the default seed."""
    first = write_sample_data(tmp_path_factory.mktemp("a"))
    second = write_sample_data(tmp_path_factory.mktemp("b") / "new" / "dir")
    return first, second


@pytest.fixture(scope="module")
def truth():
    return sample_data_truth()


@pytest.fixture(scope="module")
def files(written):
    """The written files read back with pandas (dates and months as text)."""
    return {p.name: pd.read_csv(p, dtype={"month": str}) for p in written[0]}


@pytest.fixture(scope="module")
def aaa():
    return generate_aaa_procedures()


# --- determinism ---------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(written):
    first, second = written
    assert [p.name for p in first] == list(SAMPLE_FILES)
    assert [p.name for p in second] == list(SAMPLE_FILES)
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_committed_files_equal_a_fresh_generation(written, sample_data_dir):
    for fresh in written[0]:
        committed = sample_data_dir / fresh.name
        assert committed.read_bytes() == fresh.read_bytes(), fresh.name


def test_files_are_plain_utf8_with_unix_line_endings(written):
    for path in written[0]:
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert b"\r" not in raw
        assert raw.endswith(b"\n")
        raw.decode("utf-8")


def test_a_different_seed_gives_different_data():
    base = generate_aaa_procedures()
    other = generate_aaa_procedures(seed=DEFAULT_SEED + 1)
    assert not base["record_id"].equals(other["record_id"])
    assert not generate_ckd_care_bundle().equals(generate_ckd_care_bundle(seed=1))
    # the site list is fixed
    assert generate_sites().equals(generate_sites())


@pytest.mark.parametrize("seed", [-1, 1.5, "7", True, None])
def test_bad_seed_is_rejected(seed):
    with pytest.raises(InputError, match="'seed'"):
        generate_aaa_procedures(seed=seed)


def test_out_dir_that_is_a_file_is_rejected(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(InputError, match="out_dir"):
        write_sample_data(target)


@given(n=st.integers(0, 3000), seed=st.integers(0, 2**32))
def test_hex_ids_are_unique_and_well_formed(n, seed):
    ids = hex_ids(np.random.default_rng(seed), n, prefix="R")
    assert len(set(ids)) == n
    assert all(re.fullmatch(r"R[0-9A-F]{8}", s) for s in ids[:50])


# --- the data contract -----------------------------------------------------------


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_columns_and_keys_follow_the_contract(files, name):
    frame = files[name]
    assert list(frame.columns) == list(CONTRACT[name])
    assert not frame.duplicated(KEYS[name]).any()
    for col, kind in CONTRACT[name].items():
        values = frame[col].dropna()
        if kind in ("int", "Int"):
            assert (
                pd.api.types.is_integer_dtype(values)
                or (values == values.round()).all()
            ), col
        elif kind == "float":
            assert pd.api.types.is_numeric_dtype(values), col
        elif kind == "date":
            parsed = pd.to_datetime(frame[col], format="%Y-%m-%d")
            assert parsed.notna().all(), col
        if kind != "Int" and kind != "float":
            assert frame[col].notna().all(), col


def test_generated_frames_have_the_contract_dtypes(aaa):
    kinds = CONTRACT["aaa_procedures.csv"]
    for col, kind in kinds.items():
        dtype = aaa[col].dtype
        if kind == "date":
            assert pd.api.types.is_datetime64_dtype(dtype), col
        elif kind == "int":
            assert dtype == np.int64, col
        elif kind == "Int":
            assert dtype == "Int64", col
        elif kind == "float":
            assert dtype == np.float64, col
        else:
            assert pd.api.types.is_string_dtype(dtype), col


def test_aaa_records_pass_the_contract_rules(files):
    df = files["aaa_procedures.csv"]
    dates = {c: pd.to_datetime(df[c]) for c in CONTRACT["aaa_procedures.csv"]
             if c.endswith("_date")}  # fmt: skip
    assert (dates["admission_date"] <= dates["procedure_date"]).all()
    assert (dates["procedure_date"] <= dates["discharge_date"]).all()
    assert (dates["record_entered_date"] >= dates["procedure_date"]).all()
    proc = dates["procedure_date"]
    assert proc.min() >= pd.Timestamp("2023-04-01")
    assert proc.max() <= pd.Timestamp("2026-03-31")
    assert (proc.dt.day_of_week < 5).all()  # elective lists on weekdays
    assert df["record_id"].str.fullmatch(r"R[0-9A-F]{8}").all()
    assert set(df["site_id"]) == {f"S{i:02d}" for i in range(1, 71)}
    assert df["age"].between(18, 110).all()
    assert set(df["sex"]) == {"M", "F"}
    assert set(df["procedure_type"]) == {"open", "EVAR"}
    assert df["asa_grade"].dropna().between(1, 5).all()
    assert df["aneurysm_diameter_mm"].dropna().between(20, 150).all()
    assert df["creatinine_umol_l"].dropna().between(20, 2000).all()
    for col in ("cardiac_disease", "respiratory_disease", "died_in_hospital"):
        assert set(df[col].dropna()) == {0, 1}
    # realistic missingness only in the optional risk factors
    missing = df.isna().mean()
    assert missing.drop(list(OPTIONAL)).eq(0).all()
    assert missing[list(OPTIONAL)].between(0.01, 0.1).all()


def test_aggregate_files_pass_the_contract_rules(files):
    exp = files["aaa_expected_cases.csv"]
    assert len(exp) == 70 * 36 and (exp["expected"] >= 0).all()
    assert exp["month"].min() == "2023-04" and exp["month"].max() == "2026-03"

    ckd = files["ckd_care_bundle.csv"]
    assert (ckd["register_size"] <= ckd["list_size"]).all()
    assert (ckd["eligible"] <= ckd["register_size"]).all()
    assert ckd["expected_prevalence"].between(0, 1).all()
    for element in ELEMENTS:
        assert ckd[element].between(0, ckd["eligible"]).all()
        assert (ckd["all_elements"] <= ckd[element]).all()

    lung = files["lung_cancer_indicators.csv"]
    assert len(lung) == 30 * 4 * 3
    assert (lung["numerator"] <= lung["denominator"]).all()
    assert lung["denominator"].between(50, 600).all()

    pe = files["lung_cancer_patient_experience.csv"]
    assert pe["answer"].dropna().isin([1, 2, 3, 4, 5]).all()
    assert set(pe["question_id"]) == {f"Q{i:02d}" for i in range(1, 11)}
    assert set(pe["survey_year"]) == {2024, 2025}


def test_every_site_id_is_registered(files):
    sites = files["sites.csv"]
    assert len(sites) == 129
    pairs = [
        ("aaa_procedures.csv", "aaa"),
        ("ckd_care_bundle.csv", "ckd"),
        ("lung_cancer_indicators.csv", "lung"),
        ("lung_cancer_patient_experience.csv", "lung"),
    ]
    for name, community in pairs:
        registered = set(sites.loc[sites["community"] == community, "site_id"])
        assert set(files[name]["site_id"]) <= registered
    assert sites["site_name"].is_unique


# --- realism and the documented truth ------------------------------------------


def test_aaa_volume_and_case_mix_are_realistic(aaa):
    assert 11_000 <= len(aaa) <= 13_000
    per_site = aaa.groupby("site_id").size()
    assert per_site.min() < 40 and per_site.max() > 380
    assert 0.85 <= (aaa["sex"] == "M").mean() <= 0.90
    assert 0.60 <= (aaa["procedure_type"] == "EVAR").mean() <= 0.70
    assert aaa["age"].between(60, 90).mean() > 0.9
    assert 0.30 <= aaa["cardiac_disease"].mean() <= 0.40
    assert 0.20 <= aaa["respiratory_disease"].mean() <= 0.30
    assert aaa["asa_grade"].isin([2, 3]).mean() > 0.8
    assert 85 <= aaa["creatinine_umol_l"].median() <= 95
    older = aaa["age"] >= 80
    evar = aaa["procedure_type"] == "EVAR"
    assert evar[older].mean() > evar[~older].mean() + 0.1


def test_aaa_mortality_is_near_two_to_three_percent(aaa):
    rate = aaa.groupby("procedure_type")["died_in_hospital"].mean()
    assert 0.02 <= aaa["died_in_hospital"].mean() <= 0.03
    assert 0.04 <= rate["open"] <= 0.07
    assert rate["EVAR"] <= 0.02
    stay = (aaa["discharge_date"] - aaa["procedure_date"]).dt.days
    died = aaa["died_in_hospital"] == 1
    assert stay[died].median() < stay[~died & ~evar_mask(aaa)].median()
    assert 2 <= stay[~died & evar_mask(aaa)].median() <= 4
    assert 7 <= stay[~died & ~evar_mask(aaa)].median() <= 12


def evar_mask(frame):
    return frame["procedure_type"] == "EVAR"


def test_truth_matches_the_file(aaa, truth):
    rec = truth.aaa_records
    assert rec["record_id"].equals(aaa["record_id"])
    for col in OPTIONAL:
        shown = aaa[col].notna()
        assert np.allclose(
            aaa.loc[shown, col].astype(float), rec.loc[shown, col].astype(float)
        )
    # the stated model reproduces the stored risks (independent recomputation)
    b = AAA_RISK_MODEL
    eta = (
        b["intercept"]
        + b["age_per_10y"] * (rec["age"] - 75) / 10
        + b["female"] * (rec["sex"] == "F")
        + b["asa_per_grade"] * (rec["asa_grade"] - 2)
        + b["diameter_per_10mm"] * (rec["aneurysm_diameter_mm"] - 65) / 10
        + b["log_creatinine"] * np.log(rec["creatinine_umol_l"] / 90)
        + b["cardiac_disease"] * rec["cardiac_disease"]
        + b["respiratory_disease"] * rec["respiratory_disease"]
        + b["open_repair"] * (rec["procedure_type"] == "open")
        + rec["site_id"].map(dict(AAA_SITE_EFFECTS))
    )
    assert np.allclose(1 / (1 + np.exp(-eta)), rec["true_risk"])
    assert truth.aaa_sites["submitted"].sum() == len(aaa)


def test_outlier_sites_have_high_observed_over_expected(truth):
    sites = truth.aaa_sites.set_index("site_id")
    ratio = sites["observed_deaths"] / sites["expected_deaths"]
    outliers = list(AAA_OUTLIER_SITES)
    assert (ratio[outliers] > 2.0).all()
    rest = sites.drop(index=outliers)
    pooled = rest["observed_deaths"].sum() / rest["expected_deaths"].sum()
    assert 0.85 <= pooled <= 1.15
    crude = sites["observed_deaths"] / sites["submitted"]
    assert crude[outliers].min() > crude.drop(index=outliers).median() * 2


def test_missingness_follows_the_site_rates(aaa):
    share = aaa[list(OPTIONAL)].isna().groupby(aaa["site_id"]).mean()
    for field, by_site in AAA_HIGH_MISSING.items():
        for site in by_site:
            assert share.loc[site, field] > 0.12
    n = aaa.groupby("site_id").size()
    true = pd.DataFrame({s: dict(r) for s, r in AAA_MISSING_RATES.items()}).T
    true = true.loc[share.index, list(OPTIONAL)]
    z = (share - true) / np.sqrt(true * (1 - true) / n.to_numpy()[:, None])
    assert (z.abs().to_numpy() < 4.5).all()


def test_ascertainment_follows_the_truth(truth, files):
    sm = truth.aaa_site_months
    assert sm["expected"].equals(files["aaa_expected_cases.csv"]["expected"])
    assert 0 < (sm["submitted"] > sm["expected"]).mean() < 0.06
    sites = truth.aaa_sites.set_index("site_id")
    observed = sites["submitted"] / sites["expected"]
    for site, rate in AAA_LOW_ASCERTAINMENT_SITES.items():
        assert abs(observed[site] - rate) < 0.15
    steady = sites[(sites["region"] != AAA_IMPROVING_REGION)
                   & ~sites.index.isin(list(AAA_LOW_ASCERTAINMENT_SITES))]  # fmt: skip
    assert observed[steady.index].median() > 0.85
    east = sm[sm["site_id"].isin(sites.index[sites["region"] == AAA_IMPROVING_REGION])]
    first = east[east["month"] < "2024-04"][["submitted", "expected"]].sum()
    last = east[east["month"] >= "2025-04"][["submitted", "expected"]].sum()
    assert 0.65 <= first["submitted"] / first["expected"] <= 0.80
    assert 0.82 <= last["submitted"] / last["expected"] <= 0.95
    assert AAA_ASCERTAINMENT[east["site_id"].iloc[0]] == (0.69, 0.91)


def test_entry_lags_follow_the_truth(aaa, truth):
    lag = (aaa["record_entered_date"] - aaa["procedure_date"]).dt.days
    assert np.array_equal(lag, truth.aaa_records["entry_lag_days"])
    assert 0.85 <= (lag <= 30).mean() <= 0.95
    assert (lag > 90).mean() > 0.01
    within = (lag <= 30).groupby(aaa["site_id"]).mean()
    expected = truth.aaa_sites.set_index("site_id")["p_within_30"]
    assert abs((lag <= 30).mean() - truth.aaa_records["p_within_30"].mean()) < 0.01
    for site in AAA_LONG_LAG_SITES:
        assert within[site] < 0.35
        assert AAA_ENTRY_LAG[site]["median_days"] > 30
    assert (within - expected).abs().drop(list(AAA_LONG_LAG_SITES)).max() < 0.2
    year = aaa["procedure_date"].dt.year
    assert lag[year == 2023].median() > lag[year == 2025].median()


def test_ckd_practices_stop_and_the_bundle_improves(files):
    ckd = files["ckd_care_bundle.csv"]
    last = ckd.groupby("site_id")["month"].max()
    assert len(last) == 29
    for practice, month in CKD_STOPPED_PRACTICES.items():
        assert last[practice] == month
    assert (last == "2026-03").sum() == 20
    assert (ckd.groupby("site_id")["month"].min() == "2024-04").all()
    launched = ckd["month"] >= CKD_LAUNCH_MONTH
    pooled = ckd.groupby(launched)[["all_elements", "eligible"]].sum()
    rate = pooled["all_elements"] / pooled["eligible"]
    assert rate[True] > rate[False] + 0.15


def test_lung_indicator_levels(files):
    lung = files["lung_cancer_indicators.csv"]
    pooled = lung.groupby("indicator")[["numerator", "denominator"]].sum()
    rate = pooled["numerator"] / pooled["denominator"]
    assert 0.74 <= rate["histological_confirmation"] <= 0.81
    assert 0.85 <= rate["seen_by_nurse_specialist"] <= 0.90
    assert 0.15 <= rate["surgical_resection"] <= 0.20


def test_patient_experience_shape(files):
    pe = files["lung_cancer_patient_experience.csv"]
    per_cell = pe.groupby(["site_id", "survey_year"])["respondent_id"].nunique()
    small = pd.Series(dict(EXPERIENCE_SMALL_CELLS))
    assert len(per_cell) == 60
    assert per_cell.drop(small.index).between(60, 200).all()
    assert per_cell[small.index].tolist() == small.tolist()
    assert (pe.groupby("respondent_id").size() == 10).all()
    # each respondent's characteristics repeat unchanged on their rows
    chars = ["age_band", "sex", "route_to_diagnosis"]
    assert (pe.groupby("respondent_id")[chars].nunique() == 1).all().all()
    skipped = pe["answer"].isna().groupby(pe["question_id"]).mean()
    assert skipped.between(0.03, 0.17).all()
    answers = pe["answer"].dropna()
    assert answers.mean() > 3.7 and (answers >= 4).mean() > 0.6


def test_patient_experience_case_mix_differs_between_trusts(files, truth):
    pe = files["lung_cancer_patient_experience.csv"].drop_duplicates("respondent_id")
    emergency = (pe["route_to_diagnosis"] == "emergency").groupby(pe["site_id"]).mean()
    young = (pe["age_band"] == "16-54").groupby(pe["site_id"]).mean()
    # the planted case-mix trust has the most emergency and young respondents
    assert emergency.idxmax() == EXPERIENCE_CASE_MIX_TRUST == young.idxmax()
    assert emergency.max() > 0.45
    assert emergency.drop(EXPERIENCE_CASE_MIX_TRUST).max() < 0.4
    # realised shares follow the design within sampling error
    design = pd.Series(
        {t: m["route_to_diagnosis"][2] for t, m in EXPERIENCE_CASE_MIX.items()}
    )
    n = pe.groupby("site_id").size()
    z = (emergency - design) / np.sqrt(design * (1 - design) / n)
    assert (z.abs() < 4).all()
    female = (pe["sex"] == "F").groupby(pe["site_id"]).mean()
    assert female.between(0.3, 0.7).all()
    # case mix affects answers: emergency and younger respondents less positive
    ans = files["lung_cancer_patient_experience.csv"].dropna(subset=["answer"])
    by_route = ans.groupby("route_to_diagnosis")["answer"].mean()
    by_age = ans.groupby("age_band")["answer"].mean()
    assert by_route["emergency"] < by_route["two_week_wait"] - 0.2
    assert by_age["16-54"] < by_age["75+"] - 0.3


def test_patient_experience_truth_table(truth):
    t = truth.lung_experience
    assert len(t) == 30 * 2 * 10
    assert t[["true_mean_score", "true_adjusted_score"]].stack().between(1, 5).all()
    # the case-mix trust scores lower on its own case mix than on the national one
    own = t[t["site_id"] == EXPERIENCE_CASE_MIX_TRUST]
    gap = own["true_adjusted_score"] - own["true_mean_score"]
    assert (gap > 0.1).all()


def test_truth_constants_are_consistent_and_read_only(truth):
    sites = truth.aaa_sites.set_index("site_id")
    assert sites.index[sites["outlier"]].tolist() == list(AAA_OUTLIER_SITES)
    regions = sites.loc[list(AAA_OUTLIER_SITES), "region"]
    assert not regions.eq(AAA_IMPROVING_REGION).any()
    assert set(AAA_OUTLIER_SITES).isdisjoint(AAA_LOW_ASCERTAINMENT_SITES)
    assert set(AAA_MISSING_RATES) == set(sites.index)
    with pytest.raises(TypeError):
        AAA_RISK_MODEL["intercept"] = 0.0  # type: ignore[index]
    assert truth.to_frame().equals(truth.aaa_sites)
