"""`case_mix_adjust`: scores compared with what a unit's own patients would report."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ccdata._params import level_suffix
from ccdata.errors import InputError
from ccdata.survey._common import (
    ASSESSED,
    DEFAULT_MIN_RESPONDENTS,
    DEFAULT_POSITIVE,
    NOT_ASSESSED,
    check_level,
    check_min_respondents,
    prepare_answers,
    suppression_note,
)
from ccdata.survey._indicators import _sort, cell_statistics

__all__ = ["CaseMixResult", "case_mix_adjust", "DEFAULT_CASE_MIX"]

#: The respondent characteristics of the bundled survey schema.
DEFAULT_CASE_MIX = ("age_band", "sex", "route_to_diagnosis")
#: Level used for a missing case-mix value (a category of its own).
MISSING_LEVEL = "(missing)"


@dataclass(frozen=True)
class CaseMixResult:
    """Case-mix-adjusted survey scores per unit x period x question.

    Attributes
    ----------
    units : pandas.DataFrame
        One row per unit x period x question, sorted by the key columns
        (named as in the data): ``respondents``, ``status``, and for the mean
        score ``observed_score``, ``expected_score`` (what the unit's own
        respondents would be expected to report, given their case mix, were
        the unit like the average unit), ``adjusted_score`` (national +
        observed - expected), ``adjusted_se``, ``adjusted_lower_<sfx>``,
        ``adjusted_upper_<sfx>``, ``residual_sd``; the same for the share of
        positive answers (``observed_positive_share``,
        ``expected_positive_share``, ``adjusted_positive_share``,
        ``adjusted_positive_se``, ``adjusted_positive_lower_<sfx>``,
        ``adjusted_positive_upper_<sfx>``, ``positive_residual_sd``); and
        ``note`` (the suppression statement). Suppressed rows hold NaN.
    national : pandas.DataFrame
        Per period x question, over assessed units only: ``units_assessed``,
        ``respondents``, ``mean_score``, ``sd``, ``positive_share``.
    coefficients : pandas.DataFrame
        Per period x question x case-mix level: ``variable``, ``level``,
        ``reference`` (the level it is compared with), ``score_effect``,
        ``score_se``, ``positive_effect``, ``positive_se`` (within-unit
        regression coefficients).
    case_mix : tuple of str
        The case-mix columns (empty: no adjustment, expected = national).
    unit, period, question : str
        The key column names.
    min_respondents : int
    level : float
    positive : tuple of float
    """

    units: pd.DataFrame
    national: pd.DataFrame
    coefficients: pd.DataFrame
    case_mix: tuple[str, ...]
    unit: str
    period: str
    question: str
    min_respondents: int
    level: float
    positive: tuple[float, ...]

    def to_frame(self) -> pd.DataFrame:
        """Return the CSV-ready table (a copy of :attr:`units`)."""
        return self.units.copy()


def _codes(extra: dict[str, np.ndarray], case_mix: Sequence[str]):
    """Integer codes and level names of each case-mix column (missing: a level)."""
    out = []
    for var in case_mix:
        try:
            raw, levels = pd.factorize(extra[var], sort=True)
        except TypeError:  # levels of mixed types: compare them as text
            raw, levels = pd.factorize(  # type: ignore[assignment]
                pd.Series(extra[var], dtype=object).map(str, na_action="ignore"),
                sort=True,
            )
        names = np.asarray([str(v) for v in levels] + [MISSING_LEVEL], dtype=object)
        out.append((var, np.where(raw < 0, len(levels), raw), names))
    return out


def _design(codes: Sequence[tuple], rows: np.ndarray):
    """Build dummy columns of the rows ``rows`` (reference: the most common level)."""
    columns, labels = [], []
    for var, code, levels in codes:
        c = code[rows]
        counts = np.bincount(c, minlength=levels.size)
        reference = int(np.argmax(counts))
        for k in np.flatnonzero(counts):
            if k != reference:
                columns.append((c == k).astype(float))
                labels.append((var, levels[k], levels[reference]))
    if not columns:
        return np.zeros((rows.size, 0)), labels
    return np.column_stack(columns), labels


def _within_fit(codes: np.ndarray, n_units: int, x: np.ndarray, ys: np.ndarray):
    """Fixed-effects (within-unit) least squares of each column of ys on x.

    Returns, per outcome column, coefficients b, their covariance V, the unit
    means of y, and the within residuals; and the unit means of x.
    """
    count = np.bincount(codes, minlength=n_units).astype(float)
    k = x.shape[1]
    # unit sums of [x | ys] in one pass
    both = np.column_stack([x, ys])
    sums = np.stack(
        [np.bincount(codes, weights=both[:, j], minlength=n_units)
         for j in range(both.shape[1])], axis=1,
    )  # fmt: skip
    means = sums / count[:, None]
    within = both - means[codes]
    xw, yw = within[:, :k], within[:, k:]
    # normal equations (a handful of columns); pinv copes with a level that
    # never varies within a unit (its coefficient is then not identified: 0)
    xtx = xw.T @ xw
    inv = np.linalg.pinv(xtx) if k else np.zeros((0, 0))
    b = inv @ (xw.T @ yw)  # (k, n_outcomes)
    rank = int(np.linalg.matrix_rank(xtx)) if k else 0
    resid = yw - xw @ b
    dof = ys.shape[0] - n_units - rank
    sigma2 = (resid**2).sum(axis=0) / dof if dof > 0 else np.full(ys.shape[1], np.nan)
    fits = [
        (b[:, j], sigma2[j] * inv, means[:, k + j], resid[:, j])
        for j in range(ys.shape[1])
    ]
    return fits, means[:, :k]


def _adjust_stratum(
    unit_codes: np.ndarray,
    y_all: np.ndarray,
    pos_all: np.ndarray,
    mix_codes: Sequence[tuple],
    rows: np.ndarray,
    z: float,
):
    """Adjust the scores of the units of one period x question (rows ``rows``)."""
    units, codes = np.unique(unit_codes[rows], return_inverse=True)
    n_units = units.size
    n = np.bincount(codes, minlength=n_units).astype(float)
    x, labels = _design(mix_codes, rows)
    y_score, y_pos = y_all[rows], pos_all[rows]
    out: dict[str, np.ndarray] = {"u": units}
    coefs = {}
    fits, x_bar = _within_fit(codes, n_units, x, np.column_stack([y_score, y_pos]))
    for name, y, (b, cov, y_bar, resid) in zip(
        ("score", "positive"), (y_score, y_pos), fits, strict=True
    ):
        centre = float(y.mean())
        d = x_bar - x.mean(axis=0)[None, :]
        shift = d @ b
        with np.errstate(divide="ignore", invalid="ignore"):
            res_var = np.bincount(codes, weights=resid**2, minlength=n_units) / (n - 1)
            var = res_var / n + np.einsum("ij,jk,ik->i", d, cov, d)
        adjusted = y_bar - shift
        se = np.sqrt(var)
        prefix = "adjusted" if name == "score" else "adjusted_positive"
        obs = "observed_score" if name == "score" else "observed_positive_share"
        exp = "expected_score" if name == "score" else "expected_positive_share"
        val = "adjusted_score" if name == "score" else "adjusted_positive_share"
        out[obs] = y_bar
        out[exp] = centre + shift
        out[val] = adjusted
        out[f"{prefix}_se"] = se
        out[f"{prefix}_lo"] = adjusted - z * se
        out[f"{prefix}_hi"] = adjusted + z * se
        out["residual_sd" if name == "score" else "positive_residual_sd"] = np.sqrt(
            res_var
        )
        coefs[f"{name}_effect"] = b
        coefs[f"{name}_se"] = np.sqrt(np.clip(np.diag(cov), 0, None))
    national = {
        "units_assessed": n_units,
        "respondents": int(n.sum()),
        "mean_score": float(y_score.mean()),
        "sd": float(y_score.std(ddof=1)) if y_score.size > 1 else np.nan,
        "positive_share": float(y_pos.mean()),
    }
    coef_frame = pd.DataFrame(
        {
            "variable": [lab[0] for lab in labels],
            "level": [lab[1] for lab in labels],
            "reference": [lab[2] for lab in labels],
            **coefs,
        }
    )
    return out, national, coef_frame


def case_mix_adjust(
    data: pd.DataFrame,
    *,
    case_mix: Iterable[str] = DEFAULT_CASE_MIX,
    unit: str = "site_id",
    period: str = "survey_year",
    respondent: str = "respondent_id",
    question: str = "question_id",
    answer: str = "answer",
    positive: Iterable[float] = DEFAULT_POSITIVE,
    scale: tuple[int, int] = (1, 5),
    min_respondents: int = DEFAULT_MIN_RESPONDENTS,
    level: float = 0.95,
) -> CaseMixResult:
    """Case-mix-adjusted survey scores, with what each unit's patients would report.

    Patients' reports depend on who they are (age, sex, how their cancer was
    diagnosed) as well as on their care. A unit (trust) is therefore compared
    with what *its own* respondents would be expected to report were it like
    the average unit: the expected score. The adjusted score is
    ``national + observed - expected``, on the scale of the national score,
    for both the mean score and the share of positive answers.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent and question, with the case-mix columns (the
        ``lung_cancer_patient_experience`` layout).
    case_mix : iterable of str, default ("age_band", "sex", "route_to_diagnosis")
        Categorical respondent characteristics. A missing value is a level of
        its own. Empty: no adjustment (expected = national, adjusted =
        observed).
    unit, period, respondent, question, answer : str
        Columns; the defaults are the schema's names.
    positive : iterable of int, default (4, 5)
        Answers counted positive.
    scale : (int, int), default (1, 5)
    min_respondents : int, default 21
        Units with fewer respondents to a question are not assessed: left out
        of the model and the national values, and their results suppressed.
    level : float, default 0.95
        Coverage of the confidence intervals of the adjusted scores.

    Returns
    -------
    CaseMixResult

    Raises
    ------
    InputError
        As :func:`survey_indicators`; a missing case-mix column.

    Notes
    -----
    For each period and question separately, the answer (and the 0/1
    positive indicator) is regressed on dummy variables of the case-mix
    levels with a fixed effect per unit (least squares; the reference level
    of each characteristic is its most common one). The unit fixed effects
    make the case-mix coefficients ``b`` *within-unit* associations, so a real
    difference between units that happens to go with their case mix is not
    adjusted away (O'Malley et al. 2005, the CAHPS Hospital Survey method).
    With ``xbar_u`` the unit's mean of the dummies and ``xbar`` the national
    mean (respondents of assessed units)::

        expected_u = national + b'(xbar_u - xbar)
        adjusted_u = observed_u - b'(xbar_u - xbar)

    which for a linear model is at once indirect standardisation (observed
    against expected, scaled to the national value) and the unit's score
    at the national case mix. ``Var(adjusted_u) = s_u^2 / n_u +
    d_u' V_b d_u`` with ``s_u`` the unit's within-unit residual SD and
    ``d_u = xbar_u - xbar``. A linear (rather than logistic) model for the
    positive share follows the CAHPS practice; an adjusted share may fall
    just outside [0, 1] for an extreme unit and is left unclipped.

    National values use assessed units only, so that a suppressed unit's
    result cannot be recovered by differencing the national figure and the
    published units.

    References
    ----------
    .. [1] O'Malley AJ, Zaslavsky AM, Elliott MN, Zaborski L, Cleary PD (2005).
       Case-mix adjustment of the CAHPS Hospital Survey. Health Serv Res
       40:2162-2181.
    .. [2] Elliott MN, Zaslavsky AM, Goldstein E, et al. (2009). Effects of
       survey mode, patient mix, and nonresponse on CAHPS Hospital Survey
       scores. Health Serv Res 44:501-518.
    .. [3] Abel GA, Saunders CL, Lyratzopoulos G (2014). Cancer patient
       experience, hospital performance and case mix: evidence from England.
       Future Oncol 10:1589-1598.
    .. [4] NHS England / Picker (2023). National Cancer Patient Experience
       Survey 2022: technical documentation (case-mix adjustment, expected
       ranges, suppression below 21 respondents).

    Examples
    --------
    >>> from ccdata.sample_data import generate_lung_cancer_patient_experience
    >>> pe = generate_lung_cancer_patient_experience()
    >>> res = case_mix_adjust(pe)
    >>> t09 = res.units[(res.units["site_id"] == "T09")
    ...                 & (res.units["survey_year"] == 2024)]
    >>> bool((t09["expected_score"] < t09["national_score"]).all())
    True
    """
    where = "case_mix_adjust"
    if isinstance(case_mix, str):
        case_mix = (case_mix,)
    case_mix = tuple(case_mix)
    min_respondents = check_min_respondents(min_respondents, where=where)
    level = check_level(level, where=where)
    keys = {unit, period, respondent, question, answer}
    clash = [c for c in case_mix if c in keys]
    if clash:
        raise InputError(
            f"The 'case_mix' parameter of {where} lists key columns {clash!r}; "
            "give respondent characteristics only."
        )
    ans = prepare_answers(
        data,
        unit=unit,
        period=period,
        respondent=respondent,
        question=question,
        answer=answer,
        positive=positive,
        scale=scale,
        extra=case_mix,
        where=where,
    )
    grid = cell_statistics(ans)
    assessed_cell = np.zeros(ans.n_cells, dtype=bool)
    enough = (grid["respondents"] >= min_respondents).to_numpy()
    assessed_cell[grid["cell"].to_numpy()[enough]] = True
    row_cell = ans.cell
    use = np.flatnonzero(~np.isnan(ans.y) & assessed_cell[row_cell])
    pos_all = np.isin(ans.y, ans.positive).astype(float)
    z = float(stats.norm.ppf(0.5 + level / 2))
    mix_codes = _codes(ans.extra, case_mix)

    n_q = ans.questions.size
    stratum = ans.p[use] * n_q + ans.q[use]
    order = use[np.argsort(stratum, kind="stable")]
    strata, starts = np.unique(np.sort(stratum), return_index=True)
    bounds = [*starts[1:], order.size]
    columns_fitted = [
             "observed_score", "expected_score", "adjusted_score", "adjusted_se",
             "adjusted_lo", "adjusted_hi", "residual_sd", "observed_positive_share",
             "expected_positive_share", "adjusted_positive_share",
             "adjusted_positive_se", "adjusted_positive_lo", "adjusted_positive_hi",
             "positive_residual_sd", "national_score",
             "national_positive_share"]  # fmt: skip
    per_cell = {k: np.full(ans.n_cells, np.nan) for k in columns_fitted}
    nationals, coefs = [], []
    for key, lo, hi in zip(strata, starts, bounds, strict=True):
        rows = order[lo:hi]
        p_code, q_code = divmod(int(key), n_q)
        per, que = ans.periods[p_code], ans.questions[q_code]
        fitted, national, coef = _adjust_stratum(
            ans.u, ans.y, pos_all, mix_codes, rows, z
        )
        cells = (fitted["u"] * ans.periods.size + p_code) * n_q + q_code
        for k, v in fitted.items():
            if k != "u":
                per_cell[k][cells] = v
        per_cell["national_score"][cells] = national["mean_score"]
        per_cell["national_positive_share"][cells] = national["positive_share"]
        nationals.append({"period": per, "question": que, **national})
        coef.insert(0, "question", que)
        coef.insert(0, "period", per)
        coefs.append(coef)

    sfx = level_suffix(level)
    if nationals:
        national = pd.DataFrame(nationals)
        coefficients = pd.concat(coefs, ignore_index=True)
    else:
        national = pd.DataFrame(
            columns=["period", "question", "units_assessed", "respondents",
                     "mean_score", "sd", "positive_share"]
        )  # fmt: skip
        coefficients = pd.DataFrame(
            columns=["period", "question", "variable", "level", "reference",
                     "score_effect", "score_se", "positive_effect", "positive_se"]
        )  # fmt: skip
    units = grid[["unit", "period", "question", "respondents"]].copy()
    units["assessed"] = assessed_cell[grid["cell"].to_numpy()]
    for k, v in per_cell.items():
        units[k] = v[grid["cell"].to_numpy()]
    assessed = units["assessed"].to_numpy()
    columns = {
        unit: units["unit"],
        period: units["period"],
        question: units["question"],
        "respondents": units["respondents"],
        "status": np.where(assessed, ASSESSED, NOT_ASSESSED).astype(object),
    }
    for name, src in (
        ("observed_score", "observed_score"),
        ("expected_score", "expected_score"),
        ("adjusted_score", "adjusted_score"),
        ("national_score", "national_score"),
        ("adjusted_se", "adjusted_se"),
        (f"adjusted_lower_{sfx}", "adjusted_lo"),
        (f"adjusted_upper_{sfx}", "adjusted_hi"),
        ("residual_sd", "residual_sd"),
        ("observed_positive_share", "observed_positive_share"),
        ("expected_positive_share", "expected_positive_share"),
        ("adjusted_positive_share", "adjusted_positive_share"),
        ("national_positive_share", "national_positive_share"),
        ("adjusted_positive_se", "adjusted_positive_se"),
        (f"adjusted_positive_lower_{sfx}", "adjusted_positive_lo"),
        (f"adjusted_positive_upper_{sfx}", "adjusted_positive_hi"),
        ("positive_residual_sd", "positive_residual_sd"),
    ):
        columns[name] = np.where(assessed, units[src].to_numpy(dtype=float), np.nan)
    columns["note"] = np.where(assessed, "", suppression_note(min_respondents)).astype(
        object
    )
    table = _sort(pd.DataFrame(columns), [unit, period, question])
    national = _sort(
        national.rename(columns={"period": period, "question": question}),
        [period, question],
    )
    coefficients = _sort(
        coefficients.rename(columns={"period": period, "question": question}),
        [period, question],
    )
    return CaseMixResult(
        units=table,
        national=national,
        coefficients=coefficients,
        case_mix=case_mix,
        unit=unit,
        period=period,
        question=question,
        min_respondents=min_respondents,
        level=level,
        positive=ans.positive,
    )
