"""Timeliness: the lag between an event (e.g. an operation) and its record's entry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ccdata.completeness._common import (
    DEPRECATED,
    check_frame,
    grouped,
    index_frame,
    sort_frame,
    to_dates,
    unit_columns,
)
from ccdata.errors import InputError

__all__ = ["timeliness"]


def check_within(within_days: int | Sequence[int], *, where: str) -> list[int]:
    """Return the day limits as a list of distinct whole numbers >= 0."""
    values: Any = [within_days] if np.isscalar(within_days) else within_days
    try:
        values = list(values)
    except TypeError:
        values = [within_days]
    ok = bool(values) and all(
        isinstance(v, int | float | np.integer | np.floating)
        and not isinstance(v, bool | np.bool_)
        and np.isfinite(v)
        and float(v) == int(v)
        and v >= 0
        for v in values
    )
    limits = [int(v) for v in values] if ok else []
    if not ok or len(set(limits)) != len(limits):
        raise InputError(
            f"The 'within_days' parameter of {where} must be distinct whole numbers "
            f"of days >= 0, e.g. (30, 90). Got {within_days!r} instead."
        )
    return limits


def lag_days(
    data: pd.DataFrame, event_date: str, entry_date: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(lag, missing, invalid)`` per record.

    ``lag`` is entry minus event in calendar days (``NaN`` unless valid),
    ``missing`` marks a blank date, ``invalid`` an unreadable date or an entry
    before the event.
    """
    event, event_present = to_dates(data[event_date])
    entry, entry_present = to_dates(data[entry_date])
    missing = ~(event_present & entry_present)
    readable = ~np.isnat(event) & ~np.isnat(entry)
    raw = np.where(
        readable, (entry - event).astype("timedelta64[D]").astype(np.int64), 0
    )
    invalid = ~missing & (~readable | (raw < 0))
    valid = ~missing & ~invalid
    lag = np.where(valid, raw.astype(float), np.nan)
    return lag, missing, invalid


def timeliness_counts(
    data: pd.DataFrame,
    *,
    event_date: str,
    entry_date: str,
    by: list[str],
    limits: list[int],
) -> pd.DataFrame:
    """Count for :func:`timeliness`: n, valid, missing, invalid, within/after."""
    lag, missing, invalid = lag_days(data, event_date, entry_date)
    valid = ~np.isnan(lag)
    columns = {
        "n": np.ones(len(data), dtype=np.int64),
        "n_valid": valid,
        "missing_dates": missing,
        "invalid_dates": invalid,
    }
    for d in limits:
        columns[f"within_{d}"] = valid & (lag <= d)
        columns[f"after_{d}"] = valid & (lag > d)
    flags = pd.DataFrame(columns, index=data.index)
    counts = grouped(flags, data, by).sum()
    lags = pd.Series(lag, index=data.index)
    lag_groups = grouped(lags, data, by)
    out = index_frame(counts.index, by)
    out["median_lag_days"] = lag_groups.median().to_numpy()
    out["p90_lag_days"] = lag_groups.quantile(0.9).to_numpy()
    for c in counts.columns:
        out[c] = counts[c].to_numpy(dtype=np.int64)
    return out


def timeliness(
    data: pd.DataFrame,
    *,
    event_date: str,
    entry_date: str,
    unit: str | None = "site_id",
    period: str | None = None,
    within_days: int | Sequence[int] = (30, 90),
    by: Any = DEPRECATED,
) -> pd.DataFrame:
    """Lag from event to data entry per group: median, 90th centile, share in time.

    Parameters
    ----------
    data : DataFrame
        One row per record.
    event_date : str
        Column with the date of the event (e.g. ``"procedure_date"``).
    entry_date : str
        Column with the date the record was entered
        (e.g. ``"record_entered_date"``).
    unit : str or None, default "site_id"
        The unit (site) column; called ``unit`` in the output. ``None``
        gives one row for the community as a whole.
    period : str, optional
        A period column (e.g. from :func:`add_period`) to group by as well;
        called ``period`` in the output.
    within_days : int or sequence of int, default (30, 90)
        Limits in days; each gives a column ``within_<days>``.
    by : str or list of str or None, optional
        Deprecated (use ``unit=`` and ``period=``): group columns, kept under
        their own names in the output.

    Returns
    -------
    DataFrame
        ``unit`` and ``period`` (when given), then ``n, median_lag_days, p90_lag_days,
        within_30, within_90, invalid_dates, missing_dates`` (one
        ``within_<d>`` per limit), sorted by the group columns.

    Raises
    ------
    InputError
        If a column is absent or ``within_days`` is not a set of whole days.

    Notes
    -----
    The lag is the entry date minus the event date in whole calendar days
    (times of day are ignored). ``n`` counts every record in the group. A
    record whose event or entry date is blank is counted in
    ``missing_dates``; a record whose date cannot be read, or whose entry date
    is *before* the event date (an error in the data), is counted in
    ``invalid_dates``. Neither has a lag: they are left out of the median,
    the 90th centile and the ``within_<d>`` shares, so they are never counted
    as timely. ``within_<d>`` is the proportion of records with a valid lag
    entered within ``d`` days (lag <= d); its denominator is
    ``n - invalid_dates - missing_dates``. A group without a valid lag has
    ``NaN`` lags and shares. Centiles use linear interpolation between order
    statistics (Hyndman and Fan type 7, the pandas default) [1]_.

    References
    ----------
    .. [1] Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages.
       Am Stat 50:361-365.

    Examples
    --------
    >>> df = pd.DataFrame({"site_id": ["A", "A", "A"],
    ...                    "op": ["2024-01-01", "2024-01-01", "2024-01-10"],
    ...                    "entered": ["2024-01-11", "2024-06-01", "2024-01-05"]})
    >>> out = timeliness(df, event_date="op", entry_date="entered", unit="site_id")
    >>> int(out.loc[0, "n"]), int(out.loc[0, "invalid_dates"])
    (3, 1)
    >>> float(out.loc[0, "within_30"]), float(out.loc[0, "median_lag_days"])
    (0.5, 81.0)
    """
    where = "timeliness"
    by_cols, renames = unit_columns(unit, by, period=period, where=where)
    check_frame(data, [*by_cols, event_date, entry_date], name="data", where=where)
    limits = check_within(within_days, where=where)
    counts = timeliness_counts(
        data, event_date=event_date, entry_date=entry_date, by=by_cols, limits=limits
    )
    out = counts[[*by_cols, "n", "median_lag_days", "p90_lag_days"]].copy()
    denominator = counts["n_valid"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        for d in limits:
            out[f"within_{d}"] = counts[f"within_{d}"].to_numpy() / denominator
    out["invalid_dates"] = counts["invalid_dates"]
    out["missing_dates"] = counts["missing_dates"]
    return sort_frame(out, by_cols).rename(columns=renames)
