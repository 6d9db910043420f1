"""`survey_indicators`: crude scores per unit x period x question."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from ccdata._intervals import wilson_interval
from ccdata._params import check_columns, level_suffix
from ccdata.errors import InputError
from ccdata.survey._common import (
    ASSESSED,
    DEFAULT_MIN_RESPONDENTS,
    DEFAULT_POSITIVE,
    NOT_ASSESSED,
    Answers,
    check_level,
    check_min_respondents,
    prepare_answers,
    suppression_note,
)

__all__ = ["cell_statistics", "survey_indicators"]


def cell_statistics(ans: Answers) -> pd.DataFrame:
    """Sum per unit x period x question over answered items, on the full grid.

    The grid is every unit x period that has respondents, crossed with every
    question asked in that period; a question nobody in a unit answered has
    ``respondents == 0``. ``total`` is the number of respondents of the unit
    x period (anyone with a row), so item non-response is
    ``total - respondents``. ``cell`` is the code of :attr:`Answers.cell`.
    """
    n_u, n_p, n_q = ans.units.size, ans.periods.size, ans.questions.size
    answered = ~np.isnan(ans.y)
    cell = ans.cell[answered]
    y = ans.y[answered]
    size = ans.n_cells
    respondents = np.bincount(cell, minlength=size)
    sum_y = np.bincount(cell, weights=y, minlength=size)
    sum_y2 = np.bincount(cell, weights=y * y, minlength=size)
    positive = np.bincount(cell, weights=np.isin(y, ans.positive), minlength=size)
    # respondents of each unit x period: distinct (period, respondent) pairs
    pair = ans.p * (ans.r.max() + 1 if ans.r.size else 1) + ans.r
    _, first = np.unique(pair, return_index=True)
    total = np.bincount(ans.u[first] * n_p + ans.p[first], minlength=n_u * n_p)
    asked = np.bincount(ans.p * n_q + ans.q, minlength=n_p * n_q) > 0
    mask = (total.reshape(n_u, n_p)[:, :, None] > 0) & asked.reshape(n_p, n_q)[None]
    cu, cp, cq = np.nonzero(mask)
    cells = (cu * n_p + cp) * n_q + cq
    return pd.DataFrame(
        {
            "cell": cells,
            "unit": ans.units[cu],
            "period": ans.periods[cp],
            "question": ans.questions[cq],
            "total": total[cu * n_p + cp],
            "respondents": respondents[cells].astype(np.int64),
            "sum_y": sum_y[cells],
            "sum_y2": sum_y2[cells],
            "positive": positive[cells].astype(np.int64),
        }
    )


def _sort(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    try:
        return frame.sort_values(keys, kind="stable", ignore_index=True)
    except TypeError:
        return frame.sort_values(
            keys, key=lambda c: c.astype(str), kind="stable", ignore_index=True
        )


def survey_indicators(
    data: pd.DataFrame,
    *,
    unit: str = "site_id",
    period: str = "survey_year",
    respondent: str = "respondent_id",
    question: str = "question_id",
    answer: str = "answer",
    positive: Iterable[float] = DEFAULT_POSITIVE,
    scale: tuple[int, int] = (1, 5),
    min_respondents: int = DEFAULT_MIN_RESPONDENTS,
    level: float = 0.95,
    invitations: pd.DataFrame | None = None,
    invited: str = "invited",
) -> pd.DataFrame:
    """Survey scores per unit x period x question from respondent-level answers.

    For each unit (trust), period (survey year) and question: the number of
    respondents who answered, item non-response, the mean score with its
    standard error from the respondent-level variance, and the share of
    positive answers with a Wilson interval; the response rate when the
    number invited per unit and period is given. Results from fewer than
    ``min_respondents`` respondents are suppressed.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent and question (the layout of the
        ``lung_cancer_patient_experience`` schema); ``answer`` empty when the
        question was skipped.
    unit, period, respondent, question, answer : str
        Columns; the defaults are the schema's names.
    positive : iterable of int, default (4, 5)
        Answers counted positive (some but not all of the scale).
    scale : (int, int), default (1, 5)
        Lowest and highest answer; every answer must be a whole number on it.
    min_respondents : int, default 21
        Fewer respondents to a question and its results are suppressed (the
        threshold of the national Cancer Patient Experience Survey).
    level : float, default 0.95
        Coverage of the confidence intervals.
    invitations : pandas.DataFrame, optional
        Columns ``unit``, ``period`` and ``invited`` (people sent the survey);
        adds ``invited`` and ``response_rate`` (respondents of the unit x
        period / invited).
    invited : str, default "invited"
        Column of ``invitations`` with the number invited.

    Returns
    -------
    pandas.DataFrame
        One row per unit x period x question asked in that period, sorted by
        unit, period and question (never by score): the three key columns
        (named as in ``data``), ``respondents`` (answered), ``item_nonresponse``
        (respondents of the unit x period who skipped it),
        ``item_nonresponse_rate``, ``status`` (``"assessed"`` or
        ``"not_assessed"``), ``mean_score``, ``sd``, ``se``,
        ``mean_lower_<sfx>``, ``mean_upper_<sfx>``, ``positive`` (count),
        ``positive_share``, ``positive_lower_<sfx>``, ``positive_upper_<sfx>``,
        ``note`` (the suppression statement, empty when assessed), and
        ``invited``, ``response_rate`` when ``invitations`` is given.

    Raises
    ------
    InputError
        Missing columns; missing unit, period, respondent or question; an
        answer that is not a whole number on the scale (naming the unit and
        row); a repeated respondent x question; a respondent under two units
        in one period; bad ``positive``, ``scale``, ``level`` or
        ``min_respondents``; invitations that are missing, negative, fewer
        than the respondents, or repeated.

    Notes
    -----
    A skipped question is item non-response, never a zero: the mean and the
    share use answered items only. ``se = sd / sqrt(n)`` with the sample SD
    (``ddof=1``); the interval is ``mean +/- z se`` (normal approximation,
    adequate for the n >= 21 reported). Suppressed rows keep the counts of
    respondents and item non-response (the reason) but every score,
    interval and positive count is NaN.

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and
       statistical inference. J Am Stat Assoc 22:209-212.
    .. [2] NHS England / Picker (2023). National Cancer Patient Experience
       Survey 2022: technical documentation (scoring, suppression of results
       from fewer than 21 respondents).

    Examples
    --------
    >>> df = pd.DataFrame({
    ...     "site_id": ["A"] * 6, "survey_year": [2024] * 6,
    ...     "respondent_id": ["r1", "r1", "r2", "r2", "r3", "r3"],
    ...     "question_id": ["Q01", "Q02"] * 3,
    ...     "answer": [5, 4, 3, None, 4, 2]})
    >>> out = survey_indicators(df, min_respondents=2)
    >>> out[["question_id", "respondents", "item_nonresponse", "mean_score",
    ...      "positive_share"]]
      question_id  respondents  item_nonresponse  mean_score  positive_share
    0         Q01            3                 0         4.0        0.666667
    1         Q02            2                 1         3.0        0.500000
    """
    where = "survey_indicators"
    min_respondents = check_min_respondents(min_respondents, where=where)
    level = check_level(level, where=where)
    ans = prepare_answers(
        data,
        unit=unit,
        period=period,
        respondent=respondent,
        question=question,
        answer=answer,
        positive=positive,
        scale=scale,
        where=where,
    )
    grid = cell_statistics(ans)
    n = grid["respondents"].to_numpy(dtype=float)
    total = grid["total"].to_numpy(dtype=float)
    assessed = n >= min_respondents
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = grid["sum_y"].to_numpy() / n
        var = (grid["sum_y2"].to_numpy() - n * mean * mean) / (n - 1)
        sd = np.sqrt(np.clip(var, 0.0, None))
        se = sd / np.sqrt(n)
        share = grid["positive"].to_numpy() / n
    z = stats.norm.ppf(0.5 + level / 2)
    p_lo, p_hi = wilson_interval(grid["positive"].to_numpy(), n, level)
    sfx = level_suffix(level)
    nan = np.where(assessed, 1.0, np.nan)
    out = pd.DataFrame(
        {
            unit: grid["unit"].to_numpy(),
            period: grid["period"].to_numpy(),
            question: grid["question"].to_numpy(),
            "respondents": grid["respondents"].to_numpy(),
            "item_nonresponse": (total - n).astype(np.int64),
            "item_nonresponse_rate": (total - n) / total,
            "status": np.where(assessed, ASSESSED, NOT_ASSESSED).astype(object),
            "mean_score": mean * nan,
            "sd": sd * nan,
            "se": se * nan,
            f"mean_lower_{sfx}": (mean - z * se) * nan,
            f"mean_upper_{sfx}": (mean + z * se) * nan,
            "positive": grid["positive"].to_numpy() * nan,
            "positive_share": share * nan,
            f"positive_lower_{sfx}": p_lo * nan,
            f"positive_upper_{sfx}": p_hi * nan,
            "note": np.where(assessed, "", suppression_note(min_respondents)).astype(
                object
            ),
        }
    )
    if invitations is not None:
        out = _add_response_rate(
            out, grid, invitations, unit=unit, period=period, invited=invited
        )
    return _sort(out, [unit, period, question])


def _add_response_rate(
    out: pd.DataFrame,
    grid: pd.DataFrame,
    invitations: pd.DataFrame,
    *,
    unit: str,
    period: str,
    invited: str,
) -> pd.DataFrame:
    where = "survey_indicators (invitations)"
    check_columns(invitations, [unit, period, invited], where=where)
    inv = invitations[[unit, period, invited]].copy()
    dup = inv.duplicated([unit, period], keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"{where}: each ({unit!r}, {period!r}) must appear once; repeated in "
            f"rows {inv.index[dup][:5].tolist()!r}."
        )
    values = pd.to_numeric(inv[invited], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise InputError(
            f"{where}: column {invited!r} must be a count >= 0; got "
            f"{inv[invited][bad].head(3).tolist()!r} in rows "
            f"{inv.index[bad][:5].tolist()!r}."
        )
    inv[invited] = values
    totals = grid[["unit", "period", "total"]].drop_duplicates()
    totals = totals.rename(columns={"unit": unit, "period": period})
    merged = totals.merge(inv, on=[unit, period], how="left")
    short = (merged[invited] < merged["total"]).to_numpy()
    if short.any():
        row = merged[short].iloc[0]
        raise InputError(
            f"{where}: unit {row[unit]!r}, {period} {row[period]!r} has "
            f"{int(row['total'])} respondents but only {row[invited]:g} invited."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        merged["response_rate"] = np.where(
            merged[invited] > 0, merged["total"] / merged[invited], np.nan
        )
    merged = merged.drop(columns="total").rename(columns={invited: "invited"})
    return out.merge(merged, on=[unit, period], how="left")
