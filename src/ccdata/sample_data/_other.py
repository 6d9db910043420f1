"""Simulation of the CKD care bundle and the lung cancer files."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit
from scipy.stats import norm

from ccdata.sample_data import _design as d
from ccdata.sample_data._util import hex_ids, month_labels, stream


def simulate_ckd(seed: int) -> pd.DataFrame:
    """Practice x month CKD care-bundle returns (stopped practices absent)."""
    rng = stream(seed, "ckd")
    months = month_labels(d.CKD_FIRST_MONTH, d.CKD_N_MONTHS)
    n_p, n_m = len(d.CKD_PRACTICES), d.CKD_N_MONTHS
    frac = np.arange(n_m) / (n_m - 1)

    list_size = np.array([d.CKD_LIST_SIZES[p] for p in d.CKD_PRACTICES], float)
    # list size drifts by about +0.1% a month with small month-to-month noise
    list_size = np.rint(
        list_size[:, None] * (1.0 + 0.001 * np.arange(n_m))[None, :]
        + rng.normal(0.0, 15.0, (n_p, n_m))
    ).astype(np.int64)
    prevalence = np.array([d.CKD_EXPECTED_PREVALENCE[p] for p in d.CKD_PRACTICES])
    detection = np.array([d.CKD_DETECTION[p] for p in d.CKD_PRACTICES])
    detection = detection[:, None] + 0.05 * frac[None, :]
    register = np.rint(
        list_size * prevalence[:, None] * detection + rng.normal(0.0, 2.0, (n_p, n_m))
    ).astype(np.int64)
    register = np.clip(register, 0, list_size)
    eligible = rng.binomial(register, d.CKD_DUE_PER_MONTH)

    # log-odds of each element for every practice-month
    practice = np.array([d.CKD_PRACTICE_EFFECTS[p] for p in d.CKD_PRACTICES])
    launch = np.array([d.CKD_LAUNCH_EFFECTS[p] for p in d.CKD_PRACTICES])
    launched = months >= d.CKD_LAUNCH_MONTH
    cell_logit = practice[:, None] + launch[:, None] * launched[None, :]
    base = logit(np.array([d.CKD_ELEMENT_BASELINE[e] for e in d.CKD_ELEMENTS]))

    # patient level: correlated elements through a Gaussian copula
    cell = np.repeat(np.arange(n_p * n_m), eligible.ravel())
    rho = d.CKD_ELEMENT_CORRELATION
    z = np.sqrt(rho) * rng.normal(size=(cell.size, 1)) + np.sqrt(1 - rho) * rng.normal(
        size=(cell.size, len(base))
    )
    p = expit(base[None, :] + cell_logit.ravel()[cell][:, None])
    received = norm.cdf(z) < p
    counts = np.stack(
        [np.bincount(cell, weights=received[:, j], minlength=n_p * n_m)
         for j in range(received.shape[1])]
        + [np.bincount(cell, weights=received.all(axis=1), minlength=n_p * n_m)],
        axis=1,
    ).astype(np.int64)  # fmt: skip

    frame = pd.DataFrame(
        {
            "site_id": np.repeat(np.array(d.CKD_PRACTICES), n_m),
            "month": np.tile(months, n_p),
            "list_size": list_size.ravel(),
            "register_size": register.ravel(),
            "expected_prevalence": np.repeat(prevalence, n_m),
            "eligible": eligible.ravel().astype(np.int64),
        }
    )
    for j, element in enumerate(d.CKD_ELEMENTS):
        frame[element] = counts[:, j]
    frame["all_elements"] = counts[:, -1]
    last = frame["site_id"].map(dict(d.CKD_STOPPED_PRACTICES)).fillna(months[-1])
    frame = frame[frame["month"] <= last]
    return frame.sort_values(["site_id", "month"], ignore_index=True)


def simulate_lung_indicators(seed: int) -> pd.DataFrame:
    """Trust x year x indicator numerators and denominators."""
    rng = stream(seed, "lung_indicators")
    trusts, years = d.LUNG_TRUSTS, np.array(d.LUNG_YEARS)
    n_t, n_y = len(trusts), years.size
    size = np.array([d.LUNG_TRUST_SIZE[t] for t in trusts])
    growth = 1.0 + 0.02 * (years - years[0])
    diagnosed = np.clip(rng.poisson(size[:, None] * growth[None, :]), 50, 600)
    parts = []
    for indicator in d.LUNG_INDICATORS:
        effect = np.array([d.LUNG_TRUST_EFFECTS[indicator][t] for t in trusts])
        eta = (
            logit(d.LUNG_BASELINE[indicator])
            + d.LUNG_YEAR_TREND[indicator] * (years - years[0])[None, :]
            + effect[:, None]
        )
        if indicator == "seen_by_nurse_specialist":
            denominator = rng.binomial(diagnosed, d.LUNG_NURSE_RECORDED)
        else:
            denominator = diagnosed
        numerator = rng.binomial(denominator, expit(eta))
        parts.append(
            pd.DataFrame(
                {
                    "site_id": np.repeat(np.array(trusts), n_y),
                    "year": np.tile(years, n_t).astype(np.int64),
                    "indicator": indicator,
                    "numerator": numerator.ravel().astype(np.int64),
                    "denominator": denominator.ravel().astype(np.int64),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values(["site_id", "year", "indicator"], ignore_index=True)


def _categories(rng: np.random.Generator, probs) -> np.ndarray:
    """One category index per row of ``probs`` (rows sum to 1), vectorised."""
    u = rng.random(probs.shape[0])
    return np.minimum((u[:, None] >= np.cumsum(probs, axis=1)).sum(axis=1),
                      probs.shape[1] - 1)  # fmt: skip


def experience_latent_design(trusts, years, questions):
    """Trust x year x question latent mean without case mix, shape (T, Y, Q)."""
    trust_eff = np.array([d.EXPERIENCE_TRUST_EFFECTS[t] for t in trusts])
    year_eff = np.array([d.EXPERIENCE_YEAR_EFFECTS[int(y)] for y in years])
    q_eff = np.array([d.EXPERIENCE_QUESTION_EFFECTS[q] for q in questions])
    eta = trust_eff[:, None, None] + year_eff[None, :, None] + q_eff[None, None, :]
    t_pos = {t: k for k, t in enumerate(trusts)}
    q_pos = {q: k for k, q in enumerate(questions)}
    for (t, q), effect in d.EXPERIENCE_TRUST_QUESTION_EFFECTS.items():
        eta[t_pos[t], :, q_pos[q]] += effect
    last = int(np.argmax(years))
    for (t, q), effect in d.EXPERIENCE_CHANGES.items():
        eta[t_pos[t], last, q_pos[q]] += effect
    return eta


def simulate_lung_experience(seed: int) -> pd.DataFrame:
    """Respondent x question answers (1-5, missing when skipped) with case mix."""
    rng = stream(seed, "lung_experience")
    trusts, years = np.array(d.LUNG_TRUSTS), np.array(d.EXPERIENCE_YEARS)
    questions = np.array(d.EXPERIENCE_QUESTIONS)
    lo, hi = d.EXPERIENCE_RESPONDENTS
    n_resp = rng.integers(lo, hi + 1, size=(trusts.size, years.size))
    for (t, y), small in d.EXPERIENCE_SMALL_CELLS.items():
        n_resp[list(trusts).index(t), list(years).index(y)] = small
    cell = np.repeat(np.arange(n_resp.size), n_resp.ravel())
    trust_index, year_index = np.divmod(cell, years.size)
    n, n_q = cell.size, questions.size

    person = rng.normal(size=(n, 1))
    noise = rng.normal(size=(n, n_q))
    skipped = (
        rng.random((n, n_q))
        < np.array([d.EXPERIENCE_SKIP_RATES[q] for q in questions])[None, :]
    )
    respondent = hex_ids(rng, n, prefix="RS")

    # case mix: each respondent's characteristics follow their trust's mix
    mix = [d.EXPERIENCE_CASE_MIX[t] for t in trusts]
    age_p = np.array([m["age_band"] for m in mix])[trust_index]
    route_p = np.array([m["route_to_diagnosis"] for m in mix])[trust_index]
    female_p = np.array([m["female"] for m in mix])[trust_index]
    age = _categories(rng, age_p)
    female = rng.random(n) < female_p
    route = _categories(rng, route_p)
    effects = d.EXPERIENCE_CASE_MIX_EFFECTS
    bands = np.array(d.EXPERIENCE_AGE_BANDS)
    routes = np.array(d.EXPERIENCE_ROUTES)
    sex = np.where(female, "F", "M")
    case_mix = (
        np.array([effects["age_band"][b] for b in bands])[age]
        + np.where(female, effects["sex"]["F"], effects["sex"]["M"])
        + np.array([effects["route_to_diagnosis"][r] for r in routes])[route]
    )

    eta = experience_latent_design(trusts, years, questions)
    latent = (
        np.sqrt(0.4) * person
        + np.sqrt(0.6) * noise
        + eta[trust_index, year_index, :]
        + case_mix[:, None]
    )
    answer = 1 + np.searchsorted(np.array(d.EXPERIENCE_CUTPOINTS), latent)

    frame = pd.DataFrame(
        {
            "site_id": np.repeat(trusts[trust_index], n_q),
            "survey_year": np.repeat(years[year_index], n_q).astype(np.int64),
            "respondent_id": np.repeat(respondent, n_q),
            "question_id": np.tile(questions, n),
            "answer": pd.array(answer.ravel(), dtype="Int64"),
            "age_band": np.repeat(bands[age], n_q),
            "sex": np.repeat(sex, n_q),
            "route_to_diagnosis": np.repeat(routes[route], n_q),
        }
    )
    frame.loc[skipped.ravel(), "answer"] = pd.NA
    return frame.sort_values(
        ["site_id", "survey_year", "respondent_id", "question_id"], ignore_index=True
    )


def experience_truth(frame: pd.DataFrame) -> pd.DataFrame:
    """Compute the true scores per trust x year x question behind a generated survey.

    ``frame`` is the output of :func:`simulate_lung_experience`. Expected
    answers are exact under the ordinal model (the latent noise is N(0, 1)):
    E[answer] = 1 + sum_k Phi(eta - c_k) and P(answer >= 4) = Phi(eta - c_3),
    averaged over a case-mix distribution: the trust's own respondents
    (``true_mean_score``, ``true_positive_share``) or every respondent of the
    year, the national case mix (``true_adjusted_*``).
    """
    trusts, years = np.array(d.LUNG_TRUSTS), np.array(d.EXPERIENCE_YEARS)
    questions = np.array(d.EXPERIENCE_QUESTIONS)
    eta = experience_latent_design(trusts, years, questions)
    people = frame.drop_duplicates("respondent_id")
    effects = d.EXPERIENCE_CASE_MIX_EFFECTS
    cm = (
        people["age_band"].map(dict(effects["age_band"])).to_numpy(float)
        + people["sex"].map(dict(effects["sex"])).to_numpy(float)
        + people["route_to_diagnosis"]
        .map(dict(effects["route_to_diagnosis"]))
        .to_numpy(float)
    )
    cuts = np.array(d.EXPERIENCE_CUTPOINTS)
    t_idx = pd.Index(trusts).get_indexer(people["site_id"])
    y_idx = pd.Index(years).get_indexer(people["survey_year"])
    values, inverse = np.unique(cm, return_inverse=True)
    n_t, n_y, n_u = trusts.size, years.size, values.size
    own = np.zeros((n_t, n_y, n_u))
    np.add.at(own, (t_idx, y_idx, inverse), 1.0)
    national = own.sum(axis=0)  # (Y, U)
    own = own / own.sum(axis=2, keepdims=True)
    national = national / national.sum(axis=1, keepdims=True)
    # (T, Y, Q, U) latent means
    lat = eta[..., None] + values[None, None, None, :]
    score = 1.0 + norm.cdf(lat[..., None] - cuts).sum(axis=-1)
    positive = norm.cdf(lat - cuts[2])

    def average(values4, weights):
        return (values4 * weights).sum(axis=-1)

    w_own = own[:, :, None, :]
    w_nat = national[None, :, None, :]
    effect = eta - (
        np.array([d.EXPERIENCE_YEAR_EFFECTS[int(y)] for y in years])[None, :, None]
        + np.array([d.EXPERIENCE_QUESTION_EFFECTS[q] for q in questions])[None, None, :]
    )
    return pd.DataFrame(
        {
            "site_id": np.repeat(trusts, n_y * questions.size),
            "survey_year": np.tile(np.repeat(years, questions.size), n_t),
            "question_id": np.tile(questions, n_t * n_y),
            "trust_effect": effect.reshape(-1).round(6),
            "true_mean_score": average(score, w_own).reshape(-1),
            "true_adjusted_score": average(score, w_nat).reshape(-1),
            "true_positive_share": average(positive, w_own).reshape(-1),
            "true_adjusted_positive_share": average(positive, w_nat).reshape(-1),
        }
    ).astype({"survey_year": np.int64})
