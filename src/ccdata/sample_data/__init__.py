"""Deterministic, documented sample data for the three example communities.

The generator writes the files of ``sample_data/`` (see its README.md for
every column): an elective AAA repair audit (70 hospitals, 36 months),
a CKD care bundle (29 GP practices, 24 months) and lung cancer indicators and
patient experience (30 trusts). The same seed gives byte-identical files.

The *site-level truth* (risk model, site effects, outlier sites, case
ascertainment, missingness and entry-lag parameters, practices that stop,
trust effects) is fixed and exposed as module constants; the seed only
changes the draws made from it (patients, practice-months, respondents).
:func:`sample_data_truth` gives the truth together with what was realised
under a seed, for tests that check a statistic recovers what was put in.

The AAA outcome model is a logistic regression (Steyerberg 2019, ch. 4;
the covariates are those of the National Vascular Registry's risk model,
Grant et al. 2013, with made-up coefficients):

``logit P(death) = b0 + b_age (age-75)/10 + b_female + b_asa (asa-2)
+ b_diam (diameter-65)/10 + b_creat ln(creatinine/90) + b_cardiac
+ b_resp + b_open + u_site``

with ``u_site ~ N(0, 0.15^2)`` and ``u_site = 1.6`` for the three
:data:`AAA_OUTLIER_SITES`. Outcomes use the complete covariates; risk factors
are masked afterwards, completely at random within a site.

References
----------
.. [1] Steyerberg EW (2019). Clinical Prediction Models, 2nd ed. Springer.
.. [2] Grant SW, Hickey GL, Grayson AD, Mitchell DC, McCollum CN (2013).
   National risk prediction model for elective abdominal aortic aneurysm
   repair. Br J Surg 100:645-653.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ccdata.errors import InputError
from ccdata.sample_data._aaa import simulate_aaa
from ccdata.sample_data._design import (
    AAA_ASCERTAINMENT,
    AAA_ENTRY_LAG,
    AAA_HIGH_MISSING,
    AAA_IMPROVING_ASCERTAINMENT,
    AAA_IMPROVING_REGION,
    AAA_LAG_TREND,
    AAA_LATE_LAG_MEAN_EXTRA,
    AAA_LONG_LAG_SITES,
    AAA_LOW_ASCERTAINMENT_SITES,
    AAA_MISSING_RATES,
    AAA_OPTIONAL_FIELDS,
    AAA_OUTLIER_LOG_ODDS,
    AAA_OUTLIER_SITES,
    AAA_REGIONS,
    AAA_RISK_MODEL,
    AAA_SITE_EFFECT_SD,
    AAA_SITE_EFFECTS,
    AAA_SITE_NAMES,
    AAA_SITE_VOLUMES,
    AAA_SITES,
    CKD_ELEMENT_BASELINE,
    CKD_LAUNCH_EFFECTS,
    CKD_LAUNCH_MONTH,
    CKD_PRACTICE_EFFECTS,
    CKD_PRACTICE_NAMES,
    CKD_PRACTICES,
    CKD_REGIONS,
    CKD_STOPPED_PRACTICES,
    EXPERIENCE_CASE_MIX,
    EXPERIENCE_CASE_MIX_EFFECTS,
    EXPERIENCE_CASE_MIX_TRUST,
    EXPERIENCE_CHANGES,
    EXPERIENCE_LOW_TRUSTS,
    EXPERIENCE_SKIP_RATES,
    EXPERIENCE_SMALL_CELLS,
    EXPERIENCE_TRUST_EFFECTS,
    EXPERIENCE_TRUST_QUESTION_EFFECTS,
    LUNG_BASELINE,
    LUNG_INDICATORS,
    LUNG_OUTLIER_TRUSTS,
    LUNG_REGIONS,
    LUNG_TRUST_EFFECTS,
    LUNG_TRUST_NAMES,
    LUNG_TRUSTS,
)
from ccdata.sample_data._other import (
    experience_truth,
    simulate_ckd,
    simulate_lung_experience,
    simulate_lung_indicators,
)
from ccdata.sample_data._util import DEFAULT_SEED, check_seed, csv_bytes

__all__ = [
    "AAA_ASCERTAINMENT",
    "AAA_ENTRY_LAG",
    "AAA_HIGH_MISSING",
    "AAA_IMPROVING_ASCERTAINMENT",
    "AAA_IMPROVING_REGION",
    "AAA_LAG_TREND",
    "AAA_LATE_LAG_MEAN_EXTRA",
    "AAA_LONG_LAG_SITES",
    "AAA_LOW_ASCERTAINMENT_SITES",
    "AAA_MISSING_RATES",
    "AAA_OUTLIER_LOG_ODDS",
    "AAA_OUTLIER_SITES",
    "AAA_RISK_MODEL",
    "AAA_SITE_EFFECTS",
    "AAA_SITE_EFFECT_SD",
    "AAA_SITE_VOLUMES",
    "CKD_ELEMENT_BASELINE",
    "CKD_LAUNCH_MONTH",
    "CKD_STOPPED_PRACTICES",
    "DEFAULT_SEED",
    "EXPERIENCE_CASE_MIX",
    "EXPERIENCE_CASE_MIX_EFFECTS",
    "EXPERIENCE_CASE_MIX_TRUST",
    "EXPERIENCE_CHANGES",
    "EXPERIENCE_LOW_TRUSTS",
    "EXPERIENCE_SKIP_RATES",
    "EXPERIENCE_SMALL_CELLS",
    "EXPERIENCE_TRUST_EFFECTS",
    "EXPERIENCE_TRUST_QUESTION_EFFECTS",
    "LUNG_BASELINE",
    "LUNG_OUTLIER_TRUSTS",
    "LUNG_TRUST_EFFECTS",
    "SAMPLE_FILES",
    "SampleDataTruth",
    "generate_aaa_expected_cases",
    "generate_aaa_procedures",
    "generate_ckd_care_bundle",
    "generate_lung_cancer_indicators",
    "generate_lung_cancer_patient_experience",
    "generate_sites",
    "sample_data_truth",
    "write_sample_data",
]

#: The files written by :func:`write_sample_data`, in the order written.
SAMPLE_FILES = (
    "sites.csv",
    "aaa_procedures.csv",
    "aaa_expected_cases.csv",
    "ckd_care_bundle.csv",
    "lung_cancer_indicators.csv",
    "lung_cancer_patient_experience.csv",
)

# Decimals written for float columns (everything else is written as is).
_DECIMALS = {
    "aaa_procedures.csv": {"aneurysm_diameter_mm": 1, "creatinine_umol_l": 0},
    "ckd_care_bundle.csv": {"expected_prevalence": 4},
}


def generate_sites() -> pd.DataFrame:
    """Load the registered site list of the three communities (``sites.csv``).

    The list is fixed (it does not depend on a seed); the names are fictional.

    Returns
    -------
    pandas.DataFrame
        Columns ``community`` (aaa, ckd, lung), ``site_id``, ``site_name``,
        ``region``; sorted by community and site id.

    Examples
    --------
    >>> sites = generate_sites()
    >>> sites.groupby("community").size().to_dict()
    {'aaa': 70, 'ckd': 29, 'lung': 30}
    """
    parts = [
        ("aaa", AAA_SITES, AAA_SITE_NAMES, AAA_REGIONS),
        ("ckd", CKD_PRACTICES, CKD_PRACTICE_NAMES, CKD_REGIONS),
        ("lung", LUNG_TRUSTS, LUNG_TRUST_NAMES, LUNG_REGIONS),
    ]
    frame = pd.concat(
        [
            pd.DataFrame(
                {"community": c, "site_id": ids, "site_name": names, "region": regions}
            )
            for c, ids, names, regions in parts
        ],
        ignore_index=True,
    )
    return frame.astype("str")


def generate_aaa_procedures(*, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Patient-level elective AAA repairs (``aaa_procedures.csv``).

    About 12,000 records from 70 sites, April 2023 to March 2026. Outcomes
    follow :data:`AAA_RISK_MODEL` plus the site effects
    :data:`AAA_SITE_EFFECTS`; optional risk factors are then masked at the
    rates :data:`AAA_MISSING_RATES`; entry lags follow :data:`AAA_ENTRY_LAG`.

    Parameters
    ----------
    seed : int, default 20261122
        Seed of the random draws (the committed file uses the default).

    Returns
    -------
    pandas.DataFrame
        The columns of the data contract, dates as ``datetime64``, optional
        integer fields as nullable ``Int64``; sorted by site, procedure date
        and record id.

    Raises
    ------
    InputError
        If ``seed`` is not a non-negative integer.

    Examples
    --------
    >>> aaa = generate_aaa_procedures()
    >>> round(float(aaa["died_in_hospital"].mean()), 3)
    0.027
    """
    seed = check_seed(seed, where="generate_aaa_procedures")
    return simulate_aaa(seed).procedures


def generate_aaa_expected_cases(*, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Load the expected AAA cases per site and month (``aaa_expected_cases.csv``).

    The HES-like independent count: each month's true number of cases, less
    about 2% not coded, plus a few extra coded cases (Poisson, about 2%).
    The submitted records are a per-site share (:data:`AAA_ASCERTAINMENT`)
    of the true cases, so ascertainment = submitted / expected.

    Parameters
    ----------
    seed : int, default 20261122
        Seed; the same seed as :func:`generate_aaa_procedures` gives the
        matching counts.

    Returns
    -------
    pandas.DataFrame
        Columns ``site_id, month, expected``; every site x month (2,520 rows).

    Raises
    ------
    InputError
        If ``seed`` is not a non-negative integer.
    """
    seed = check_seed(seed, where="generate_aaa_expected_cases")
    return simulate_aaa(seed).site_months[["site_id", "month", "expected"]].copy()


def generate_ckd_care_bundle(*, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """GP practice x month CKD care-bundle returns (``ckd_care_bundle.csv``).

    Parameters
    ----------
    seed : int, default 20261122
        Seed of the random draws.

    Returns
    -------
    pandas.DataFrame
        One row per practice-month returned; the practices of
        :data:`CKD_STOPPED_PRACTICES` have no rows after their last month.

    Raises
    ------
    InputError
        If ``seed`` is not a non-negative integer.

    Examples
    --------
    >>> ckd = generate_ckd_care_bundle()
    >>> ckd["site_id"].nunique(), bool((ckd["all_elements"] <= ckd["eligible"]).all())
    (29, True)
    """
    seed = check_seed(seed, where="generate_ckd_care_bundle")
    return simulate_ckd(seed)


def generate_lung_cancer_indicators(*, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Trust x year lung cancer indicators (``lung_cancer_indicators.csv``).

    Parameters
    ----------
    seed : int, default 20261122
        Seed of the random draws.

    Returns
    -------
    pandas.DataFrame
        ``site_id, year, indicator, numerator, denominator``; 360 rows.

    Raises
    ------
    InputError
        If ``seed`` is not a non-negative integer.
    """
    seed = check_seed(seed, where="generate_lung_cancer_indicators")
    return simulate_lung_indicators(seed)


def generate_lung_cancer_patient_experience(
    *, seed: int = DEFAULT_SEED
) -> pd.DataFrame:
    """Respondent-level survey answers (``lung_cancer_patient_experience.csv``).

    Parameters
    ----------
    seed : int, default 20261122
        Seed of the random draws.

    The answer is an ordinal (cumulative probit) model of a latent score:
    answer = 1 + the number of :data:`EXPERIENCE_CUTPOINTS` below
    sqrt(0.4) person + sqrt(0.6) noise + trust effect
    (:data:`EXPERIENCE_TRUST_EFFECTS`) + question effect + year effect +
    case mix (:data:`EXPERIENCE_CASE_MIX_EFFECTS` of the respondent's age
    band, sex and route to diagnosis) + the planted trust x question effects
    (:data:`EXPERIENCE_TRUST_QUESTION_EFFECTS`, :data:`EXPERIENCE_CHANGES`).
    Case mix differs between trusts (:data:`EXPERIENCE_CASE_MIX`), so crude
    scores confound it with the trust effect.

    Returns
    -------
    pandas.DataFrame
        ``site_id, survey_year, respondent_id, question_id, answer, age_band,
        sex, route_to_diagnosis``; one row per respondent and question,
        ``answer`` missing (``<NA>``) when the question was skipped; the three
        respondent characteristics repeat on each of a respondent's rows.

    Raises
    ------
    InputError
        If ``seed`` is not a non-negative integer.
    """
    seed = check_seed(seed, where="generate_lung_cancer_patient_experience")
    return simulate_lung_experience(seed)


def write_sample_data(
    out_dir: str | os.PathLike[str], *, seed: int = DEFAULT_SEED
) -> list[pathlib.Path]:
    r"""Write the six sample CSV files to ``out_dir`` (created if needed).

    The files are byte-identical for the same seed: fixed float formatting,
    ISO dates, ``"\n"`` line endings, sorted rows and no timestamps.

    Parameters
    ----------
    out_dir : str or path-like
        Directory to write to; existing files of the same names are replaced.
    seed : int, default 20261122
        Seed of the random draws (the committed ``sample_data/`` uses the
        default).

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of :data:`SAMPLE_FILES`.

    Raises
    ------
    InputError
        If ``seed`` is not a non-negative integer or ``out_dir`` is an
        existing file.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in write_sample_data(tmp)][:2]
    ['sites.csv', 'aaa_procedures.csv']
    """
    seed = check_seed(seed, where="write_sample_data")
    out = pathlib.Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InputError(
            f"The 'out_dir' parameter of write_sample_data must be a directory. "
            f"Got {str(out)!r}, which is an existing file."
        )
    out.mkdir(parents=True, exist_ok=True)
    aaa = simulate_aaa(seed)
    frames = {
        "sites.csv": generate_sites(),
        "aaa_procedures.csv": aaa.procedures,
        "aaa_expected_cases.csv": aaa.site_months[["site_id", "month", "expected"]],
        "ckd_care_bundle.csv": simulate_ckd(seed),
        "lung_cancer_indicators.csv": simulate_lung_indicators(seed),
        "lung_cancer_patient_experience.csv": simulate_lung_experience(seed),
    }
    paths = []
    for name in SAMPLE_FILES:
        path = out / name
        path.write_bytes(csv_bytes(frames[name], decimals=_DECIMALS.get(name)))
        paths.append(path)
    return paths


@dataclass(frozen=True)
class SampleDataTruth:
    """The truth behind the sample data under one seed.

    Attributes
    ----------
    seed : int
        The seed.
    aaa_risk_model : Mapping[str, float]
        :data:`AAA_RISK_MODEL` (intercept and coefficients).
    aaa_sites : pandas.DataFrame
        One row per AAA site: ``site_id, region, outlier, site_effect,
        volume`` (expected true cases over 36 months), ``ascertainment_start,
        ascertainment_end`` (true), ``true_cases, submitted, expected``
        (realised totals), ``missing_<field>`` (true missing rate of each
        optional field), ``lag_median_days, lag_sigma, lag_late_prob``
        (April 2023), ``p_within_30, p_within_90`` (true probability that a
        record of the site is entered within 30 / 90 days, averaged over its
        records), ``observed_deaths, expected_deaths`` (sum of the case-mix
        risk without site effect) and ``true_expected_deaths`` (with it).
    aaa_site_months : pandas.DataFrame
        ``site_id, month, true_cases, submitted, expected,
        true_ascertainment`` for every site x month.
    aaa_records : pandas.DataFrame
        The submitted records before masking (complete risk factors) with
        ``month, case_mix_logit, site_effect, true_risk, case_mix_risk,
        entry_lag_days, p_within_30, p_within_90``; same order as the file.
    ckd_practices : pandas.DataFrame
        ``site_id, practice_effect, launch_effect, last_month``.
    lung_trust_effects : pandas.DataFrame
        ``site_id, indicator, trust_effect, outlier``.
    lung_experience : pandas.DataFrame
        One row per trust x survey year x question: ``trust_effect`` (on the
        latent score: trust + planted trust x question and change effects),
        ``true_mean_score`` and ``true_positive_share`` (expected under the
        trust's own realised case mix), ``true_adjusted_score`` and
        ``true_adjusted_positive_share`` (expected had the trust the national
        case mix of that year: what a case-mix-adjusted score estimates).
    """

    seed: int
    aaa_risk_model: Mapping[str, float]
    aaa_sites: pd.DataFrame
    aaa_site_months: pd.DataFrame
    aaa_records: pd.DataFrame
    ckd_practices: pd.DataFrame
    lung_trust_effects: pd.DataFrame
    lung_experience: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """Return the per-site AAA truth table (``aaa_sites``)."""
        return self.aaa_sites.copy()


def sample_data_truth(*, seed: int = DEFAULT_SEED) -> SampleDataTruth:
    """Return the truth the generator used, with what was realised under ``seed``.

    Parameters
    ----------
    seed : int, default 20261122
        Seed of the sample data whose truth is wanted.

    Returns
    -------
    SampleDataTruth

    Raises
    ------
    InputError
        If ``seed`` is not a non-negative integer.

    Examples
    --------
    >>> truth = sample_data_truth()
    >>> truth.aaa_sites.loc[truth.aaa_sites["outlier"], "site_id"].tolist()
    ['S14', 'S37', 'S58']
    """
    seed = check_seed(seed, where="sample_data_truth")
    aaa = simulate_aaa(seed)
    rec = aaa.complete
    sites = pd.DataFrame(
        {
            "site_id": list(AAA_SITES),
            "region": list(AAA_REGIONS),
            "outlier": [s in AAA_OUTLIER_SITES for s in AAA_SITES],
            "site_effect": [AAA_SITE_EFFECTS[s] for s in AAA_SITES],
            "volume": [AAA_SITE_VOLUMES[s] for s in AAA_SITES],
            "ascertainment_start": [AAA_ASCERTAINMENT[s][0] for s in AAA_SITES],
            "ascertainment_end": [AAA_ASCERTAINMENT[s][1] for s in AAA_SITES],
        }
    )
    totals = aaa.site_months.groupby("site_id")[
        ["true_cases", "submitted", "expected"]
    ].sum()
    sites = sites.join(totals, on="site_id")
    for field in AAA_OPTIONAL_FIELDS:
        sites[f"missing_{field}"] = [AAA_MISSING_RATES[s][field] for s in AAA_SITES]
    for key in ("median_days", "sigma", "late_prob"):
        name = "lag_median_days" if key == "median_days" else f"lag_{key}"
        sites[name] = [AAA_ENTRY_LAG[s][key] for s in AAA_SITES]
    per_site = rec.groupby("site_id").agg(
        p_within_30=("p_within_30", "mean"),
        p_within_90=("p_within_90", "mean"),
        observed_deaths=("died_in_hospital", "sum"),
        expected_deaths=("case_mix_risk", "sum"),
        true_expected_deaths=("true_risk", "sum"),
    )
    sites = sites.join(per_site, on="site_id")
    sites["observed_deaths"] = sites["observed_deaths"].fillna(0).astype(np.int64)
    ckd = pd.DataFrame(
        {
            "site_id": list(CKD_PRACTICES),
            "practice_effect": [CKD_PRACTICE_EFFECTS[p] for p in CKD_PRACTICES],
            "launch_effect": [CKD_LAUNCH_EFFECTS[p] for p in CKD_PRACTICES],
            "last_month": [
                CKD_STOPPED_PRACTICES.get(p, "2026-03") for p in CKD_PRACTICES
            ],
        }
    )
    lung = pd.DataFrame(
        [
            (t, ind, LUNG_TRUST_EFFECTS[ind][t], t in LUNG_OUTLIER_TRUSTS.get(ind, {}))
            for t in LUNG_TRUSTS
            for ind in LUNG_INDICATORS
        ],
        columns=["site_id", "indicator", "trust_effect", "outlier"],
    )
    return SampleDataTruth(
        seed=seed,
        aaa_risk_model=AAA_RISK_MODEL,
        aaa_sites=sites,
        aaa_site_months=aaa.site_months,
        aaa_records=rec,
        ckd_practices=ckd,
        lung_trust_effects=lung,
        lung_experience=experience_truth(simulate_lung_experience(seed)),
    )
