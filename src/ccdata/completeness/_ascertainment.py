"""Case ascertainment: cases submitted against cases expected from another source."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ccdata._intervals import wilson_interval
from ccdata._params import level_suffix
from ccdata.completeness._common import (
    DEPRECATED,
    check_frame,
    check_level,
    grouped,
    index_frame,
    poisson_ratio_interval,
    sort_frame,
    unit_columns,
)
from ccdata.errors import CompletenessWarning, InputError

__all__ = ["case_ascertainment"]


def _counts(
    frame: pd.DataFrame, column: str | None, by: list[str], *, name: str, where: str
) -> pd.DataFrame:
    """Sum ``column`` per group (or count rows when ``column`` is None)."""
    if column is None:
        sizes = grouped(frame.index.to_series(), frame, by).size()
        out = index_frame(sizes.index, by)
        out["submitted"] = sizes.to_numpy(dtype=np.int64)
        return out
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() & frame[column].notna()
    if bad.any() or (values < 0).any():
        shown = frame.loc[bad | (values < 0), column].head(3).tolist()
        raise InputError(
            f"The {column!r} column of {where}'s {name!r} must hold counts >= 0. "
            f"Got {shown!r}."
        )
    grp = grouped(values, frame, by)
    sums = grp.sum()
    unknown = grouped(values.isna(), frame, by).any().to_numpy()
    out = index_frame(sums.index, by)
    out[column] = np.where(unknown, np.nan, sums.to_numpy(dtype=float))
    return out


def case_ascertainment(
    submitted: pd.DataFrame,
    expected: pd.DataFrame,
    *,
    unit: str | None = "site_id",
    period: str | None = None,
    level: float = 0.95,
    by: Any = DEPRECATED,
) -> pd.DataFrame:
    """Cases submitted as a proportion of cases expected from an independent source.

    Parameters
    ----------
    submitted : DataFrame
        Either counts per group, in a column named ``submitted``, or the
        records themselves (one row per case; counted per group). Rows for the
        same group are added up.
    expected : DataFrame
        Counts per group from an independent source (e.g. Hospital Episode
        Statistics) in a column named ``expected``; rows for the same group
        are added up, so ``unit="site_id"`` totals monthly counts. A missing
        count makes its group's ``expected`` unknown (``NaN``).
    unit : str or None, default "site_id"
        The unit (site) column, present in both tables; called ``unit`` in
        the output. ``None`` gives one overall row.
    period : str, optional
        A period column present in both tables to group by as well (to
        compare records with monthly expected counts, derive a month column
        first with :func:`add_period`); called ``period`` in the output.
    level : float, default 0.95
        Coverage of the interval; names the columns (``lower_95``).
    by : str or list of str or None, optional
        Deprecated (use ``unit=`` and ``period=``): group columns, kept under
        their own names in the output.

    Returns
    -------
    DataFrame
        ``unit`` and ``period`` (when given), then ``submitted, expected, ascertainment,
        lower_95, upper_95, over_expected``, sorted by the group columns.
        Every group in either table appears: a group with no submitted
        records has ``submitted == 0``; a group missing from ``expected`` has
        ``expected`` (and ascertainment) ``NaN``.

    Raises
    ------
    InputError
        If a table is not a DataFrame, lacks a group column or ``expected``,
        or holds negative or non-numeric counts.

    Notes
    -----
    ``ascertainment = submitted / expected``. It is *not* capped at 1: when
    more cases are submitted than expected, ``over_expected`` is True and the
    ratio is reported as it is. That usually means duplicate records, a
    different case definition or a coding gap in the independent source, and
    is a question for the site and the core team, not a good result.

    Interval: when ``submitted <= expected`` the Wilson score interval [1]_
    [2]_ for a proportion with ``expected`` trials. When ``submitted >
    expected`` no binomial model fits, so the exact Poisson (Garwood) interval
    [3]_ for the submitted count, divided by the expected count (treated as
    fixed, as for an observed/expected ratio), is given instead; its lower
    limit shows whether the excess is more than chance. The two intervals do
    not join up exactly at ``submitted == expected``.

    With ``expected == 0`` ascertainment and its interval are ``NaN``
    (``over_expected`` is True if anything was submitted).

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and
       statistical inference. J Am Stat Assoc 22:209-212.
    .. [2] Newcombe RG (1998). Two-sided confidence intervals for the single
       proportion: comparison of seven methods. Stat Med 17:857-872.
    .. [3] Garwood F (1936). Fiducial limits for the Poisson distribution.
       Biometrika 28:437-442.

    Examples
    --------
    >>> sub = pd.DataFrame({"site_id": ["A", "B"], "submitted": [45, 12]})
    >>> exp = pd.DataFrame({"site_id": ["A", "B"], "expected": [50, 10]})
    >>> out = case_ascertainment(sub, exp, unit="site_id")
    >>> out["ascertainment"].tolist(), out["over_expected"].tolist()
    ([0.9, 1.2], [False, True])
    """
    where = "case_ascertainment"
    by_cols, renames = unit_columns(unit, by, period=period, where=where)
    check_frame(submitted, by_cols, name="submitted", where=where)
    check_frame(expected, [*by_cols, "expected"], name="expected", where=where)
    level = check_level(level, where=where)
    has_counts = "submitted" in submitted.columns and "submitted" not in by_cols
    sub = _counts(
        submitted,
        "submitted" if has_counts else None,
        by_cols,
        name="submitted",
        where=where,
    )
    exp = _counts(expected, "expected", by_cols, name="expected", where=where)

    if by_cols:
        try:
            out = sub.merge(exp, on=by_cols, how="outer", indicator=True)
        except (ValueError, TypeError) as exc:
            raise InputError(
                f"{where}: the group columns {by_cols!r} have incompatible types "
                f"in 'submitted' and 'expected' (e.g. month as text in one and as "
                f"a date or Period in the other; see add_period). {exc}"
            ) from exc
        if len(sub) and len(exp) and not (out["_merge"] == "both").any():
            warnings.warn(
                f"{where}: no group appears in both 'submitted' and 'expected'; "
                f"check that the columns {by_cols!r} use the same labels in both "
                "(e.g. month '2024-04' in both).",
                CompletenessWarning,
                stacklevel=2,
            )
        out = out.drop(columns="_merge")
    else:
        out = pd.concat([sub, exp], axis=1)
        if out.empty:
            out = pd.DataFrame({"submitted": [0], "expected": [np.nan]})

    s = out["submitted"].fillna(0).to_numpy(dtype=float)
    e = out["expected"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(e > 0, s / e, np.nan)
    over = s > e  # False where e is NaN
    w_lo, w_hi = wilson_interval(s, e, level)
    p_lo, p_hi = poisson_ratio_interval(s, e, level)
    suffix = level_suffix(level)
    out["submitted"] = s.astype(np.int64) if np.all(s == np.round(s)) else s
    out["expected"] = e
    out["ascertainment"] = ratio
    out[f"lower_{suffix}"] = np.where(over, p_lo, w_lo)
    out[f"upper_{suffix}"] = np.where(over, p_hi, w_hi)
    out["over_expected"] = over
    return sort_frame(out, by_cols).rename(columns=renames)
