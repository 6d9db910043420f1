"""Simulation of the AAA community: true cases, submitted records, HES counts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from ccdata.sample_data import _design as d
from ccdata.sample_data._util import hex_ids, month_labels, stream, weekday_sampler

_N_SITES = len(d.AAA_SITES)
_T = d.AAA_N_MONTHS
_MONTHS = month_labels(d.AAA_FIRST_MONTH, _T)
_draw_weekday = weekday_sampler(d.AAA_FIRST_MONTH, _T)

# Case-mix model (not part of the outcome truth, only realism).
_FEMALE_SHARE = 0.12
_ASA_CUTPOINTS = (-1.95, -0.05, 1.55)  # latent -> ASA 1, 2, 3, 4
_EVAR_INTERCEPT = 0.45


@dataclass(frozen=True)
class AAASimulation:
    """Everything simulated for the AAA community under one seed."""

    procedures: pd.DataFrame  # the submitted file, with missing values
    complete: pd.DataFrame  # the same records before masking, with true risk
    site_months: pd.DataFrame  # true, submitted and expected cases per month


def _site_month_arrays():
    """Per site x month arrays of expected true cases and ascertainment."""
    frac = np.arange(_T) / (_T - 1)  # 0 in April 2023, 1 in March 2026
    lo, hi = d.AAA_VOLUME_TREND
    trend = lo + (hi - lo) * frac
    trend = trend / trend.mean()
    volume = np.array([d.AAA_SITE_VOLUMES[s] for s in d.AAA_SITES])
    rate = volume[:, None] / _T * trend[None, :]
    asc = np.array([d.AAA_ASCERTAINMENT[s] for s in d.AAA_SITES])
    ascertainment = asc[:, :1] + (asc[:, 1:] - asc[:, :1]) * frac[None, :]
    return rate, ascertainment


def simulate_aaa(seed: int) -> AAASimulation:
    """Simulate the AAA community (see the package docstring for the model)."""
    rng = stream(seed, "aaa")
    rate, ascertainment = _site_month_arrays()

    # --- true, submitted and HES-expected counts per site-month -------------
    true_cases = rng.poisson(rate)
    submitted = rng.binomial(true_cases, ascertainment)
    miss_rate, extra_rate = d.AAA_EXPECTED_NOISE
    expected = (
        true_cases
        - rng.binomial(true_cases, miss_rate)
        + rng.poisson(extra_rate * rate + 0.01)
    )
    site_months = pd.DataFrame(
        {
            "site_id": np.repeat(np.array(d.AAA_SITES), _T),
            "month": np.tile(_MONTHS, _N_SITES),
            "true_cases": true_cases.ravel(),
            "submitted": submitted.ravel(),
            "expected": expected.ravel(),
            "true_ascertainment": ascertainment.ravel().round(4),
        }
    )

    # --- one row per submitted record ---------------------------------------
    cell = np.repeat(np.arange(true_cases.size), submitted.ravel())
    site_index, month_index = np.divmod(cell, _T)
    n = cell.size
    sites = np.array(d.AAA_SITES)[site_index]
    procedure = _draw_weekday(rng, month_index)

    female = rng.random(n) < _FEMALE_SHARE
    age = np.clip(np.rint(rng.normal(74.5, 7.0, n) + 2.0 * female), 50, 96)
    age10 = (age - 75.0) / 10.0
    cardiac = rng.random(n) < expit(-0.62 + 0.30 * age10)
    respiratory = rng.random(n) < expit(-1.10 + 0.15 * age10)
    latent = 0.35 * age10 + 0.5 * cardiac + 0.4 * respiratory + rng.normal(size=n)
    asa = 1 + np.searchsorted(np.array(_ASA_CUTPOINTS), latent)
    diameter = np.where(
        female, 48.0 + rng.gamma(2.5, 4.5, n), 52.0 + rng.gamma(2.5, 5.0, n)
    )
    diameter = np.clip(diameter, 40.0, 120.0).round(1)
    tail = rng.random(n) < 0.08
    creatinine = np.where(
        tail,
        rng.lognormal(np.log(150.0), 0.5, n),
        rng.lognormal(np.log(88.0), 0.25, n),
    )
    creatinine = np.clip(np.rint(creatinine), 35.0, 1200.0)
    evar_pref = np.array([d.AAA_EVAR_PREFERENCE[s] for s in d.AAA_SITES])
    evar = rng.random(n) < expit(
        _EVAR_INTERCEPT
        + 0.6 * age10
        + 0.35 * (asa - 2)
        + 0.25 * cardiac
        + 0.25 * respiratory
        - 0.2 * female
        - 0.25 * (diameter - 65.0) / 10.0
        + evar_pref[site_index]
    )

    # --- outcome from the stated logistic model (complete covariates) -------
    b = d.AAA_RISK_MODEL
    case_mix = (
        b["intercept"]
        + b["age_per_10y"] * age10
        + b["female"] * female
        + b["asa_per_grade"] * (asa - 2)
        + b["diameter_per_10mm"] * (diameter - 65.0) / 10.0
        + b["log_creatinine"] * np.log(creatinine / 90.0)
        + b["cardiac_disease"] * cardiac
        + b["respiratory_disease"] * respiratory
        + b["open_repair"] * ~evar
    )
    effect = np.array([d.AAA_SITE_EFFECTS[s] for s in d.AAA_SITES])[site_index]
    risk = expit(case_mix + effect)
    died = rng.random(n) < risk

    # --- dates ---------------------------------------------------------------
    admit_before = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    los_evar = 1 + rng.poisson(1.8, n) + (rng.random(n) < 0.03) * rng.poisson(8.0, n)
    los_open = 6 + rng.poisson(3.5, n) + (rng.random(n) < 0.08) * rng.poisson(14.0, n)
    death_day = np.minimum(np.floor(rng.exponential(5.0, n)), 45)
    stay = np.where(died, death_day, np.where(evar, los_evar, los_open))
    lag = _entry_lag(rng, site_index, month_index)
    day = np.timedelta64(1, "D")
    complete = pd.DataFrame(
        {
            "record_id": hex_ids(rng, n, prefix="R"),
            "site_id": sites,
            "admission_date": procedure - admit_before * day,
            "procedure_date": procedure,
            "discharge_date": procedure + stay.astype(np.int64) * day,
            "record_entered_date": procedure + lag * day,
            "age": age.astype(np.int64),
            "sex": np.where(female, "F", "M"),
            "asa_grade": asa.astype(np.int64),
            "aneurysm_diameter_mm": diameter,
            "creatinine_umol_l": creatinine,
            "procedure_type": np.where(evar, "EVAR", "open"),
            "cardiac_disease": cardiac.astype(np.int64),
            "respiratory_disease": respiratory.astype(np.int64),
            "died_in_hospital": died.astype(np.int64),
        }
    )
    for col in ("admission_date", "procedure_date", "discharge_date",
                "record_entered_date"):  # fmt: skip
        complete[col] = complete[col].astype("datetime64[ns]")

    # --- missingness, applied after the outcome (MCAR within site) ----------
    rates = np.array(
        [[d.AAA_MISSING_RATES[s][f] for f in d.AAA_OPTIONAL_FIELDS]
         for s in d.AAA_SITES]
    )  # fmt: skip
    masked = rng.random((n, len(d.AAA_OPTIONAL_FIELDS))) < rates[site_index]
    procedures = complete.copy()
    for j, field in enumerate(d.AAA_OPTIONAL_FIELDS):
        values = procedures[field]
        if field in ("aneurysm_diameter_mm", "creatinine_umol_l"):
            procedures[field] = values.mask(masked[:, j])  # float, NaN when missing
        else:
            procedures[field] = values.astype("Int64").mask(masked[:, j])

    complete["month"] = _MONTHS[month_index]
    complete["case_mix_logit"] = case_mix
    complete["site_effect"] = effect
    complete["true_risk"] = risk
    complete["case_mix_risk"] = expit(case_mix)
    complete["entry_lag_days"] = lag
    complete["p_within_30"], complete["p_within_90"] = _lag_probabilities(
        site_index, month_index
    )
    order = np.lexsort(
        (complete["record_id"].to_numpy(), procedure, sites)
    )  # site, then procedure date, then record id
    procedures = procedures.iloc[order].reset_index(drop=True)
    complete = complete.iloc[order].reset_index(drop=True)
    return AAASimulation(procedures, complete, site_months)


def _lag_parameters(site_index: np.ndarray, month_index: np.ndarray):
    """Median, sigma and late share of the entry lag for each record."""
    params = np.array(
        [[d.AAA_ENTRY_LAG[s][k] for k in ("median_days", "sigma", "late_prob")]
         for s in d.AAA_SITES]
    )[site_index]  # fmt: skip
    frac = month_index / (_T - 1)
    median = params[:, 0] * (1.0 - (1.0 - d.AAA_LAG_TREND["median_days"]) * frac)
    late = params[:, 2] * (1.0 - (1.0 - d.AAA_LAG_TREND["late_prob"]) * frac)
    return median, params[:, 1], late


def _entry_lag(rng, site_index, month_index) -> np.ndarray:
    """Whole days from procedure to record entry (always >= 0)."""
    median, sigma, late = _lag_parameters(site_index, month_index)
    n = site_index.size
    usual = rng.lognormal(np.log(median), sigma)
    delayed = 90.0 + rng.exponential(d.AAA_LATE_LAG_MEAN_EXTRA, n)
    return np.floor(np.where(rng.random(n) < late, delayed, usual)).astype(np.int64)


def _lag_probabilities(site_index, month_index):
    """Compute the true P(lag <= 30 days) and P(lag <= 90 days) for each record."""
    median, sigma, late = _lag_parameters(site_index, month_index)
    # lag = floor(X) <= k  <=>  X < k + 1
    p30 = (1.0 - late) * norm.cdf((np.log(31.0) - np.log(median)) / sigma)
    p90 = (1.0 - late) * norm.cdf((np.log(91.0) - np.log(median)) / sigma)
    # the late component is 90 + Exponential: floor(.) <= 90 when the extra < 1
    p90 = p90 + late * -np.expm1(-1.0 / d.AAA_LATE_LAG_MEAN_EXTRA)
    return p30, p90
