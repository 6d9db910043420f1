"""The fixed design of the sample communities: sites and their true parameters.

Everything here is independent of the seed: the seed only changes the
patient-level (and practice-month, trust-year, respondent-level) draws. The
site-level truth is drawn once from a fixed design stream and then a few
sites are set by hand so that the data contain known, documented features.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

_DESIGN = np.random.default_rng(17)

# ---------------------------------------------------------------------------
# Site lists (fictional names, fixed)
# ---------------------------------------------------------------------------
AAA_SITES = tuple(f"S{i:02d}" for i in range(1, 71))
CKD_PRACTICES = tuple(f"P{i:02d}" for i in range(1, 30))
LUNG_TRUSTS = tuple(f"T{i:02d}" for i in range(1, 31))
REGIONS = ("North", "Midlands", "East", "London", "South")

_PREFIXES = (
    "Ash", "Bar", "Beck", "Birch", "Bram", "Brook", "Cal", "Cran", "Dun", "Elm",
    "Fair", "Fern", "Glen", "Hal", "Hart", "Haw", "Kel", "Lark", "Mar", "Mill",
    "Nor", "Oak", "Pen", "Ros", "Sel", "Stan", "Thorn", "Wil", "Wren", "Yar",
)  # fmt: skip
_SUFFIXES = (
    "bridge", "bury", "by", "combe", "dale", "field", "ford", "ham", "hurst",
    "ley", "mere", "stead", "ton", "well", "wick", "worth",
)  # fmt: skip
_PLACES = np.array([p + s for p in _PREFIXES for s in _SUFFIXES])[
    _DESIGN.permutation(len(_PREFIXES) * len(_SUFFIXES))
][: len(AAA_SITES) + len(CKD_PRACTICES) + len(LUNG_TRUSTS)]

_HOSPITAL_KIND = ("General Hospital", "University Hospital", "District Hospital",
                  "Royal Infirmary")  # fmt: skip
_PRACTICE_KIND = ("Medical Centre", "Surgery", "Health Centre", "Family Practice")
_TRUST_KIND = ("Hospitals NHS Trust", "Teaching Hospitals NHS Trust")


def _names(places, kinds) -> tuple[str, ...]:
    return tuple(f"{p} {kinds[i % len(kinds)]}" for i, p in enumerate(places))


AAA_SITE_NAMES = _names(_PLACES[:70], _HOSPITAL_KIND)
CKD_PRACTICE_NAMES = _names(_PLACES[70:99], _PRACTICE_KIND)
LUNG_TRUST_NAMES = _names(_PLACES[99:129], _TRUST_KIND)

# Regions: 16 North, 14 Midlands, 10 East, 12 London, 18 South, in a fixed
# shuffled order. The CKD practices form one local network (Midlands).
_aaa_regions = np.repeat(np.array(REGIONS), (16, 14, 10, 12, 18))
AAA_REGIONS = tuple(str(r) for r in _aaa_regions[_DESIGN.permutation(70)])
CKD_REGIONS = ("Midlands",) * len(CKD_PRACTICES)
_lung_regions = np.repeat(np.array(REGIONS), (7, 6, 5, 5, 7))[_DESIGN.permutation(30)]
LUNG_REGIONS = tuple(str(r) for r in _lung_regions)


def _frozen(mapping: dict) -> MappingProxyType:
    return MappingProxyType(mapping)


# ---------------------------------------------------------------------------
# AAA: the programme period and the outcome model
# ---------------------------------------------------------------------------
AAA_FIRST_MONTH = "2023-04"
AAA_N_MONTHS = 36

#: The true logistic model of in-hospital death after elective AAA repair.
#: logit p = intercept + age_per_10y*(age-75)/10 + female*[sex == "F"]
#:   + asa_per_grade*(asa_grade-2) + diameter_per_10mm*(diameter-65)/10
#:   + log_creatinine*ln(creatinine/90) + cardiac_disease + respiratory_disease
#:   + open_repair*[procedure_type == "open"] + site effect (AAA_SITE_EFFECTS).
AAA_RISK_MODEL = _frozen(
    {
        "intercept": -5.80,
        "age_per_10y": 0.55,
        "female": 0.45,
        "asa_per_grade": 0.60,
        "diameter_per_10mm": 0.25,
        "log_creatinine": 1.00,
        "cardiac_disease": 0.40,
        "respiratory_disease": 0.35,
        "open_repair": 1.85,
    }
)

#: Standard deviation of the between-site random effect (logit scale).
AAA_SITE_EFFECT_SD = 0.15
#: Sites whose risk-adjusted mortality is truly higher than the rest.
AAA_OUTLIER_SITES = ("S14", "S37", "S58")
#: Their site effect on the log-odds of death (an odds ratio of about 5).
AAA_OUTLIER_LOG_ODDS = 1.6

# Expected number of true (HES) cases over the 36 months; outliers are large.
_volume = 30.0 + 400.0 * np.linspace(0.0, 1.0, 70) ** 1.6
_volume = _volume[_DESIGN.permutation(70)]
_volume_overrides = {"S14": 480.0, "S37": 450.0, "S58": 430.0}
for _site, _v in _volume_overrides.items():
    _volume[AAA_SITES.index(_site)] = _v
#: Expected true cases per site over the 36 months (before ascertainment).
AAA_SITE_VOLUMES = _frozen(
    {s: float(round(v, 1)) for s, v in zip(AAA_SITES, _volume, strict=True)}
)
#: Monthly case volume grows linearly from x0.9 to x1.1 over the 36 months.
AAA_VOLUME_TREND = (0.9, 1.1)

_effects = _DESIGN.normal(0.0, AAA_SITE_EFFECT_SD, 70)
for _site in AAA_OUTLIER_SITES:
    _effects[AAA_SITES.index(_site)] = AAA_OUTLIER_LOG_ODDS
#: True site effect on the logit of in-hospital death (outliers: exactly 1.2).
AAA_SITE_EFFECTS = _frozen(
    {s: float(round(e, 4)) for s, e in zip(AAA_SITES, _effects, strict=True)}
)
# Site preference for EVAR (logit scale), part of case-mix realism only.
AAA_EVAR_PREFERENCE = _frozen(
    {s: float(round(e, 4))
     for s, e in zip(AAA_SITES, _DESIGN.normal(0.0, 0.5, 70), strict=True)}
)  # fmt: skip

# ---------------------------------------------------------------------------
# AAA: case ascertainment (share of true cases submitted)
# ---------------------------------------------------------------------------
#: Region whose ascertainment improves from 69% to 91% over the 36 months.
AAA_IMPROVING_REGION = "East"
AAA_IMPROVING_ASCERTAINMENT = (0.69, 0.91)
#: Sites with low, constant ascertainment.
AAA_LOW_ASCERTAINMENT_SITES = _frozen({"S08": 0.62, "S41": 0.68, "S66": 0.74})

_asc = _DESIGN.uniform(0.85, 0.99, 70)
_ascertainment: dict[str, tuple[float, float]] = {}
for _i, _site in enumerate(AAA_SITES):
    if AAA_REGIONS[_i] == AAA_IMPROVING_REGION:
        _ascertainment[_site] = AAA_IMPROVING_ASCERTAINMENT
    elif _site in AAA_LOW_ASCERTAINMENT_SITES:
        _a = AAA_LOW_ASCERTAINMENT_SITES[_site]
        _ascertainment[_site] = (_a, _a)
    else:
        _a = float(round(_asc[_i], 3))
        _ascertainment[_site] = (_a, _a)
#: True ascertainment per site: (first month, last month), linear in between.
AAA_ASCERTAINMENT = _frozen(_ascertainment)
#: HES-like count: true cases, minus 2% not coded, plus Poisson extras.
AAA_EXPECTED_NOISE = (0.02, 0.02)

# ---------------------------------------------------------------------------
# AAA: missing risk factors (MCAR within site, applied after the outcome)
# ---------------------------------------------------------------------------
AAA_OPTIONAL_FIELDS = (
    "asa_grade",
    "aneurysm_diameter_mm",
    "creatinine_umol_l",
    "cardiac_disease",
    "respiratory_disease",
)
#: Sites with a high share of one field missing: {field: {site: rate}}.
AAA_HIGH_MISSING = _frozen(
    {
        "creatinine_umol_l": _frozen({"S22": 0.28, "S53": 0.22}),
        "asa_grade": _frozen({"S05": 0.25, "S44": 0.20}),
    }
)
_rates = _DESIGN.uniform(0.01, 0.05, (70, len(AAA_OPTIONAL_FIELDS))).round(3)
_missing: dict[str, MappingProxyType] = {}
for _i, _site in enumerate(AAA_SITES):
    _row = dict(zip(AAA_OPTIONAL_FIELDS, map(float, _rates[_i]), strict=True))
    for _field, _by_site in AAA_HIGH_MISSING.items():
        if _site in _by_site:
            _row[_field] = _by_site[_site]
    _missing[_site] = _frozen(_row)
#: True probability that each optional field is missing: {site: {field: rate}}.
AAA_MISSING_RATES = _frozen(_missing)

# ---------------------------------------------------------------------------
# AAA: record entry lag (days from procedure to record entry)
# ---------------------------------------------------------------------------
#: Sites entering records systematically late.
AAA_LONG_LAG_SITES = ("S27", "S63")
#: Over the 36 months the median lag and the late share shrink linearly to
#: these fractions of their April 2023 values.
AAA_LAG_TREND = _frozen({"median_days": 0.65, "late_prob": 0.5})
#: Late component: 90 days plus an exponential delay with this mean (days).
AAA_LATE_LAG_MEAN_EXTRA = 60.0
_lag_median = _DESIGN.uniform(7.0, 16.0, 70).round(1)
_lag_sigma = _DESIGN.uniform(0.6, 0.9, 70).round(2)
_lag_late = _DESIGN.uniform(0.02, 0.06, 70).round(3)
_lags: dict[str, MappingProxyType] = {}
for _i, _site in enumerate(AAA_SITES):
    if _site in AAA_LONG_LAG_SITES:
        _params = {"median_days": 55.0, "sigma": 0.6, "late_prob": 0.30}
    else:
        _params = {
            "median_days": float(_lag_median[_i]),
            "sigma": float(_lag_sigma[_i]),
            "late_prob": float(_lag_late[_i]),
        }
    _lags[_site] = _frozen(_params)
#: Lag parameters per site in April 2023 (lognormal median and sigma; share
#: in the late component).
AAA_ENTRY_LAG = _frozen(_lags)

# ---------------------------------------------------------------------------
# CKD care bundle
# ---------------------------------------------------------------------------
CKD_FIRST_MONTH = "2024-04"
CKD_N_MONTHS = 24
CKD_ELEMENTS = ("bp_measured", "acr_tested", "statin_offered", "ace_arb_offered")
#: Practices that stop returning data: {practice: last month returned}.
CKD_STOPPED_PRACTICES = _frozen(
    {
        "P03": "2024-09",
        "P07": "2024-12",
        "P11": "2025-02",
        "P14": "2025-05",
        "P18": "2025-06",
        "P21": "2025-08",
        "P24": "2025-10",
        "P26": "2025-11",
        "P29": "2026-01",
    }
)
#: First month of the care-bundle launch (step change from this month on).
CKD_LAUNCH_MONTH = "2024-10"
#: Probability of each element for an average practice before the launch.
CKD_ELEMENT_BASELINE = _frozen(
    {"bp_measured": 0.85, "acr_tested": 0.55, "statin_offered": 0.60,
     "ace_arb_offered": 0.65}
)  # fmt: skip
#: Mean and SD (between practices) of the launch effect on the log-odds.
CKD_LAUNCH_EFFECT = (0.9, 0.3)
#: SD of the practice effect on the log-odds of every element.
CKD_PRACTICE_SD = 0.4
#: Correlation of the elements within a patient (Gaussian copula).
CKD_ELEMENT_CORRELATION = 0.5
CKD_PRACTICE_EFFECTS = _frozen(
    {p: float(round(e, 4)) for p, e in
     zip(CKD_PRACTICES, _DESIGN.normal(0.0, CKD_PRACTICE_SD, 29), strict=True)}
)  # fmt: skip
CKD_LAUNCH_EFFECTS = _frozen(
    {p: float(round(e, 4)) for p, e in
     zip(CKD_PRACTICES, _DESIGN.normal(*CKD_LAUNCH_EFFECT, 29), strict=True)}
)  # fmt: skip
_list = np.clip(_DESIGN.lognormal(np.log(7500.0), 0.5, 29), 2500, 25000).round()
CKD_LIST_SIZES = _frozen({p: int(v) for p, v in zip(CKD_PRACTICES, _list, strict=True)})
CKD_EXPECTED_PREVALENCE = _frozen(
    {p: float(v) for p, v in
     zip(CKD_PRACTICES, _DESIGN.uniform(0.04, 0.08, 29).round(4), strict=True)}
)  # fmt: skip
#: Share of the expected prevalence that is on the register (April 2024);
#: it rises by 0.05 over the 24 months (case finding).
CKD_DETECTION = _frozen(
    {p: float(v) for p, v in
     zip(CKD_PRACTICES, _DESIGN.uniform(0.55, 0.85, 29).round(3), strict=True)}
)  # fmt: skip
#: Share of the register due the bundle in a month.
CKD_DUE_PER_MONTH = 1.0 / 12.0

# ---------------------------------------------------------------------------
# Lung cancer: trust x year indicators
# ---------------------------------------------------------------------------
LUNG_YEARS = (2022, 2023, 2024, 2025)
LUNG_INDICATORS = (
    "histological_confirmation",
    "seen_by_nurse_specialist",
    "surgical_resection",
)
#: Probability for an average trust in 2022.
LUNG_BASELINE = _frozen(
    {"histological_confirmation": 0.76, "seen_by_nurse_specialist": 0.87,
     "surgical_resection": 0.17}
)  # fmt: skip
#: Change in log-odds per year.
LUNG_YEAR_TREND = _frozen(
    {"histological_confirmation": 0.05, "seen_by_nurse_specialist": 0.04,
     "surgical_resection": 0.03}
)  # fmt: skip
#: SD of the trust effect (log-odds), i.e. genuine over-dispersion.
LUNG_TRUST_SD = _frozen(
    {"histological_confirmation": 0.20, "seen_by_nurse_specialist": 0.30,
     "surgical_resection": 0.15}
)  # fmt: skip
#: Trusts that truly differ: {indicator: {trust: effect on the log-odds}}.
LUNG_OUTLIER_TRUSTS = _frozen(
    {
        "histological_confirmation": _frozen({"T07": -0.9}),
        "surgical_resection": _frozen({"T19": 0.8}),
    }
)
_lung_effects: dict[str, MappingProxyType] = {}
for _ind in LUNG_INDICATORS:
    _e = _DESIGN.normal(0.0, LUNG_TRUST_SD[_ind], 30)
    _d = {t: float(round(v, 4)) for t, v in zip(LUNG_TRUSTS, _e, strict=True)}
    _d.update(LUNG_OUTLIER_TRUSTS.get(_ind, {}))
    _lung_effects[_ind] = _frozen(_d)
#: True trust effects on the log-odds: {indicator: {trust: effect}}.
LUNG_TRUST_EFFECTS = _frozen(_lung_effects)
#: Expected patients diagnosed per trust-year (the denominator's mean).
LUNG_TRUST_SIZE = _frozen(
    {t: float(v) for t, v in zip(
        LUNG_TRUSTS,
        np.clip(_DESIGN.lognormal(np.log(200.0), 0.6, 30), 55, 560).round(),
        strict=True)}
)  # fmt: skip
#: Share of patients with a recorded nurse-specialist status (denominator).
LUNG_NURSE_RECORDED = 0.95

# ---------------------------------------------------------------------------
# Lung cancer patient experience survey
# ---------------------------------------------------------------------------
EXPERIENCE_YEARS = (2024, 2025)
EXPERIENCE_QUESTIONS = tuple(f"Q{i:02d}" for i in range(1, 11))
#: Probability that a respondent skips each question.
EXPERIENCE_SKIP_RATES = _frozen(
    {q: float(v) for q, v in zip(
        EXPERIENCE_QUESTIONS,
        np.linspace(0.05, 0.15, 10).round(3)[_DESIGN.permutation(10)],
        strict=True)}
)  # fmt: skip
#: Question effect on the latent satisfaction (positive: higher answers).
EXPERIENCE_QUESTION_EFFECTS = _frozen(
    {q: float(v) for q, v in zip(
        EXPERIENCE_QUESTIONS,
        np.linspace(-0.3, 0.3, 10).round(3)[_DESIGN.permutation(10)],
        strict=True)}
)  # fmt: skip
#: The trust whose patients are much younger and more often diagnosed after an
#: emergency presentation, with an average trust effect of 0: its crude scores
#: are low, its case-mix-adjusted scores are not.
EXPERIENCE_CASE_MIX_TRUST = "T09"
#: Trusts whose patients truly report a lower experience on every question
#: (effect on the latent score, replacing the drawn trust effect).
EXPERIENCE_LOW_TRUSTS = _frozen({"T23": -0.5})
#: Trust effect on the latent satisfaction: Normal(0, 0.1^2) (the fixed design
#: draw of SD 0.2, halved), except the planted :data:`EXPERIENCE_LOW_TRUSTS`
#: and 0 for :data:`EXPERIENCE_CASE_MIX_TRUST`.
EXPERIENCE_TRUST_EFFECTS = _frozen(
    {t: float(EXPERIENCE_LOW_TRUSTS.get(t, round(0.5 * v, 4)))
     * (t != EXPERIENCE_CASE_MIX_TRUST) for t, v in
     zip(LUNG_TRUSTS, _DESIGN.normal(0.0, 0.2, 30), strict=True)}
)  # fmt: skip
#: Year effect on the latent satisfaction.
EXPERIENCE_YEAR_EFFECTS = _frozen({2024: 0.0, 2025: 0.1})
#: Cut points of the latent N(0, 1) scale: answer = 1 + number of cut points
#: below the latent value (about 5%, 7%, 13%, 30%, 45% for answers 1..5).
EXPERIENCE_CUTPOINTS = (-1.645, -1.175, -0.674, 0.126)
#: Respondents per trust-year: uniform between these bounds.
EXPERIENCE_RESPONDENTS = (60, 200)

# Respondent characteristics (case mix). A separate design stream, so that the
# draws above (and every other community's truth) are unchanged by it.
_CASE_MIX_DESIGN = np.random.default_rng(1717)
EXPERIENCE_AGE_BANDS = ("16-54", "55-64", "65-74", "75+")
EXPERIENCE_SEXES = ("F", "M")
EXPERIENCE_ROUTES = ("two_week_wait", "gp_referral", "emergency", "other")
#: Effect of each respondent characteristic on the latent score (0 for the
#: reference level). Younger patients and those diagnosed after an emergency
#: presentation report less positive experience (the direction reported from
#: the English Cancer Patient Experience Survey, Abel et al. 2014; the sizes
#: are made up).
EXPERIENCE_CASE_MIX_EFFECTS = _frozen(
    {
        "age_band": _frozen({"16-54": -0.30, "55-64": -0.12, "65-74": 0.0,
                             "75+": 0.08}),
        "sex": _frozen({"F": -0.06, "M": 0.0}),
        "route_to_diagnosis": _frozen({"two_week_wait": 0.0, "gp_referral": -0.06,
                                       "emergency": -0.35, "other": -0.12}),
    }
)  # fmt: skip
_age_base = np.array([0.18, 0.25, 0.32, 0.25])
_age_shift = _CASE_MIX_DESIGN.normal(0.0, 0.35, 30)
_female = _CASE_MIX_DESIGN.uniform(0.40, 0.56, 30)
_emergency = _CASE_MIX_DESIGN.uniform(0.10, 0.30, 30)
_i = LUNG_TRUSTS.index(EXPERIENCE_CASE_MIX_TRUST)
_age_shift[_i], _emergency[_i] = -1.2, 0.55
_age_p = _age_base[None, :] * np.exp(_age_shift[:, None] * (np.arange(4) - 1.5))
_age_p /= _age_p.sum(axis=1, keepdims=True)
_route_p = np.column_stack(
    [(1 - _emergency) * 0.68, (1 - _emergency) * 0.23, _emergency,
     (1 - _emergency) * 0.09]
)  # fmt: skip
#: Per trust: probabilities of each age band, of being female and of each route
#: to diagnosis, {trust: {"age_band": (...), "female": p, "route": (...)}}.
EXPERIENCE_CASE_MIX = _frozen(
    {t: _frozen({"age_band": tuple(float(v) for v in _age_p[k].round(4)),
                 "female": float(_female[k].round(3)),
                 "route_to_diagnosis": tuple(float(v) for v in _route_p[k].round(4))})
     for k, t in enumerate(LUNG_TRUSTS)}
)  # fmt: skip
#: Trust x question effects on the latent score (a trust's own weak area).
EXPERIENCE_TRUST_QUESTION_EFFECTS = _frozen({("T05", "Q07"): -0.8})
#: Changes in the last survey year: {(trust, question): effect in 2025 only}.
EXPERIENCE_CHANGES = _frozen({("T14", "Q10"): 0.8, ("T21", "Q02"): -1.0})
#: Trust-years with few respondents (most questions below the 21-respondent
#: threshold of the national survey): {(trust, year): respondents}.
EXPERIENCE_SMALL_CELLS = _frozen({("T30", 2025): 22})
