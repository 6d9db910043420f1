"""Submission volume per period, period labels, and the status of periodic returns."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ccdata._periods import format_periods, pandas_freq
from ccdata.completeness._common import (
    DEPRECATED,
    check_frame,
    check_freq,
    period_labels,
    sort_frame,
    to_dates,
    unit_columns,
)
from ccdata.errors import CompletenessWarning, InputError

__all__ = ["add_period", "submission_status", "submission_volume"]

STATUSES = ("on_time", "late", "missing", "submitted")


def add_period(
    data: pd.DataFrame, date: str, *, freq: str = "month", name: str = "month"
) -> pd.DataFrame:
    """Return a copy of ``data`` with a period label derived from a date column.

    Parameters
    ----------
    data : DataFrame
    date : str
        Column holding dates (ISO strings, datetimes or dates).
    freq : {"month", "quarter", "year", "week", "day"}, default "month"
        Calendar month, quarter, year, week (Monday to Sunday) or day. The
        pandas letters "M", "Q", "Y", "W", "D" are deprecated.
    name : str, default "month"
        Name of the new column (replaced if it exists).

    Returns
    -------
    DataFrame
        A copy with column ``name`` holding text labels: ``"2024-04"``
        (month), ``"2024Q2"`` (quarter), ``"2024"`` (year), ``"2024-04-01"``
        (the Monday of a week), ``"2024-04-03"`` (day); missing where the date
        is missing or unreadable (the labels of :mod:`ccdata._periods`).
        Monthly labels match the ``month`` column (``YYYY-MM``) of the
        expected-cases file, so records and expected counts can be joined.

    Examples
    --------
    >>> df = pd.DataFrame({"procedure_date": ["2024-04-03", "2024-05-30", None]})
    >>> add_period(df, "procedure_date")["month"].fillna("(missing)").tolist()
    ['2024-04', '2024-05', '(missing)']
    """
    where = "add_period"
    check_frame(data, [date], name="data", where=where)
    freq = check_freq(freq, where=where)
    days, _ = to_dates(data[date])
    out = data.copy()
    out[name] = period_labels(days, freq).to_numpy()
    return out


def _as_periods(values: Any, freq: str, *, name: str, where: str) -> pd.PeriodIndex:
    """Parse period labels, dates or Periods into a PeriodIndex of ``freq``."""
    if isinstance(values, pd.PeriodIndex | pd.Series) and isinstance(
        values.dtype, pd.PeriodDtype
    ):
        return pd.PeriodIndex(values).asfreq(freq)
    items = [values] if isinstance(values, str | pd.Period) else list(values)
    try:
        labels = pd.Index(items).astype(str)
        unreadable = ~labels.str.match(r"^\d{4}") & ~labels.isin(["nan", "NaT", "None"])
        if unreadable.any():
            raise ValueError(
                f"{list(labels[unreadable][:3])!r} do not start with a year"
            )
        return pd.PeriodIndex(
            [pd.Period(v, freq=freq) for v in pd.unique(labels)], freq=freq
        )[pd.Index(pd.unique(labels)).get_indexer(labels)]
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"The {name!r} parameter of {where} must hold periods of frequency "
            f"{freq!r} (e.g. '2024-04' for months). Got {items[:5]!r}: {exc}"
        ) from exc


def submission_volume(
    data: pd.DataFrame,
    *,
    date: str,
    unit: str | None = None,
    freq: str = "month",
    sites: Sequence[Any] | pd.DataFrame | None = None,
    start: Any = None,
    end: Any = None,
    by: Any = DEPRECATED,
) -> pd.DataFrame:
    """Count cases per period, community-wide or per group, zero months included.

    Parameters
    ----------
    data : DataFrame
        One row per case.
    date : str
        Column giving the case's date (e.g. ``"procedure_date"``).
    unit : str, optional
        The unit (site) column, e.g. ``"site_id"``; called ``unit`` in the
        output. Default: community-wide totals.
    freq : {"month", "quarter", "year", "week", "day"}, default "month"
        Period length (see :func:`add_period` for the labels).
    sites : sequence or DataFrame, optional
        Units to report even without records (e.g. every registered site):
        values of the ``unit`` column, or a DataFrame with that column. They
        get zero cases in every period.
    start, end : period label or date, optional
        First and last period reported. Default: the first and last period
        holding a case (across all groups). Cases outside are left out.
    by : str or list of str, optional
        Deprecated: group columns, kept under their own names in the output.
        Use ``unit=``.

    Returns
    -------
    DataFrame
        ``unit`` (when given), then ``period`` (text label) and ``cases`` (int):
        one row per group and period in the range, sorted by group and
        period. Ready for a run or c chart (``ccdata.spc(chart="run")``).

    Raises
    ------
    InputError
        If a column is absent, ``freq`` is unknown, ``sites`` lacks the group
        columns, or ``start`` / ``end`` cannot be read as periods.

    Warns
    -----
    CompletenessWarning
        When cases have a missing or unreadable date; they cannot be placed
        in a period and are not counted.

    Notes
    -----
    Every group gets every period of the range: a site with no records in a
    month has ``cases == 0`` for that month. Unlike completeness (where such a
    month has no records to be complete and so no row), a count of zero is a
    true value here. Groups are those holding at least one case, plus
    ``sites``. Periods are calendar periods of the date column.

    Examples
    --------
    >>> df = pd.DataFrame({"site_id": ["A", "A", "B"],
    ...     "procedure_date": ["2024-01-05", "2024-03-09", "2024-01-20"]})
    >>> out = submission_volume(df, date="procedure_date", unit="site_id")
    >>> out["cases"].tolist()
    [1, 0, 1, 1, 0, 0]
    >>> out["period"].tolist()[:3]
    ['2024-01', '2024-02', '2024-03']
    """
    where = "submission_volume"
    by_cols, renames = unit_columns(unit, by, where=where, default=None)
    check_frame(data, [*by_cols, date], name="data", where=where)
    word = check_freq(freq, where=where)
    freq = pandas_freq(word)
    days, _ = to_dates(data[date])
    dated = ~np.isnat(days)
    if not dated.all():
        warnings.warn(
            f"{where}: {int((~dated).sum())} of {len(data)} records have a missing "
            f"or unreadable {date!r} and are not counted in any period.",
            CompletenessWarning,
            stacklevel=2,
        )
    periods = pd.PeriodIndex(days[dated], freq=freq)
    first = (
        _as_periods(start, freq, name="start", where=where)[0]
        if start is not None
        else (periods.min() if len(periods) else None)
    )
    last = (
        _as_periods(end, freq, name="end", where=where)[0]
        if end is not None
        else (periods.max() if len(periods) else None)
    )
    grid = (
        pd.period_range(first, last, freq=freq)
        if first is not None and last is not None
        else pd.PeriodIndex([], freq=freq)
    )
    ordinal = np.full(len(data), -1, dtype=np.int64)
    if len(grid):
        ordinal[dated] = periods.asi8 - grid[0].ordinal
    in_range = dated & (ordinal >= 0) & (ordinal < len(grid))

    kept = data.loc[in_range, by_cols]
    groups = kept.drop_duplicates()
    if sites is not None:
        extra = _sites_frame(sites, by_cols, where=where)
        groups = pd.concat([groups, extra], ignore_index=True).drop_duplicates()
    codes = ordinal[in_range]
    if by_cols:
        groups = sort_frame(groups, by_cols)
        position = pd.MultiIndex.from_frame(groups).get_indexer(
            pd.MultiIndex.from_frame(kept)
        )
    else:
        groups = pd.DataFrame(index=pd.RangeIndex(1))
        position = np.zeros(len(codes), dtype=np.int64)
    n_periods = len(grid)
    counts = np.bincount(
        position * n_periods + codes, minlength=len(groups) * n_periods
    )
    out = groups.loc[groups.index.repeat(n_periods)].reset_index(drop=True)
    out["period"] = np.tile(format_periods(grid, word), len(groups))
    out["cases"] = counts.astype(np.int64)
    return out.rename(columns=renames)


def _sites_frame(sites: Any, by: list[str], *, where: str) -> pd.DataFrame:
    if isinstance(sites, pd.DataFrame):
        check_frame(sites, by, name="sites", where=where)
        return sites[by].drop_duplicates()
    if len(by) != 1:
        raise InputError(
            f"The 'sites' parameter of {where} must be a DataFrame with the columns "
            f"{by!r} when grouping by {len(by)} columns. Got {type(sites).__name__}."
        )
    values = [sites] if isinstance(sites, str) else list(sites)
    return pd.DataFrame({by[0]: pd.unique(pd.Series(values, dtype=object))})


def submission_status(
    submissions: pd.DataFrame,
    *,
    sites: Sequence[Any],
    periods: Sequence[Any],
    due: int | pd.DataFrame = 30,
    unit: str = "site_id",
    period: str = "period",
    date: str | None = "submitted_date",
    freq: str = "month",
    site: Any = DEPRECATED,
) -> pd.DataFrame:
    """Grid of sites x periods: each return on time, late (and how late) or missing.

    Parameters
    ----------
    submissions : DataFrame
        One row per return received, with the site, the period it covers and
        (optionally) the date it was received.
    sites : sequence
        Every site expected to send returns (e.g. the registered site list).
    periods : sequence
        Every period a return is due for: labels such as ``"2024-04"``,
        ``pd.Period`` objects or a ``PeriodIndex``.
    due : int or DataFrame, default 30
        When a return is due. An int is a number of days after the last day
        of the period (0: due on the last day). A DataFrame gives due dates
        explicitly, in a column ``due_date``, keyed by ``period`` (and
        optionally by ``site`` too, for site-specific deadlines).
    unit, period : str, default "site_id", "period"
        Columns of ``submissions`` (and of a ``due`` DataFrame): the unit (site)
        and the period each return covers. In the output they are called
        ``unit`` and ``period``.
    date : str or None, default "submitted_date"
        Column with the date each return was received; ``None`` when unknown.
    freq : {"month", "quarter", "year", "week", "day"}, default "month"
        Frequency of the periods.
    site : str, optional
        Deprecated spelling of ``unit``; with it the output keeps the caller's
        column names, as before.

    Returns
    -------
    DataFrame
        Columns ``unit, period, submitted_date, due_date, status, days_late``,
        one row per site and period, sorted by site then period. ``status`` is
        ``"on_time"`` (received on or before the due date), ``"late"``
        (after it; ``days_late`` says by how many days), ``"missing"`` (no
        return) or ``"submitted"`` (received, but the date is unknown or
        unreadable, so timing cannot be judged). ``days_late`` is 0 when on
        time and missing (``<NA>``) when there is no dated return.

    Raises
    ------
    InputError
        If a column is absent, or periods or due dates cannot be read.

    Warns
    -----
    CompletenessWarning
        When returns are for a site or period outside the grid; they are
        not shown.

    Notes
    -----
    When a site sends several returns for one period the earliest dated one
    counts. A period's last day is its calendar end (e.g. 30 April for
    ``"2024-04"``); a return received on the due date is on time.

    Examples
    --------
    >>> subs = pd.DataFrame({"site_id": ["P01", "P02"], "period": ["2024-04"] * 2,
    ...                      "submitted_date": ["2024-05-20", "2024-06-15"]})
    >>> out = submission_status(subs, sites=["P01", "P02", "P03"],
    ...                         periods=["2024-04"], due=30)
    >>> out["status"].tolist(), out["days_late"].tolist()
    (['on_time', 'late', 'missing'], [0, 16, <NA>])
    """
    where = "submission_status"
    renames = {unit: "unit", period: "period"}
    if site is not DEPRECATED:
        unit_columns("site_id", site, where=where, old="site")  # warns
        renames = {}
    else:
        site = unit
    cols = [site, period] + ([date] if date is not None else [])
    check_frame(submissions, cols, name="submissions", where=where)
    word = check_freq(freq, where=where)
    freq = pandas_freq(word)
    grid_periods = _as_periods(periods, freq, name="periods", where=where).unique()
    grid_periods = grid_periods.sort_values()
    site_values = (
        pd.Series([sites] if isinstance(sites, str) else list(sites), dtype=object)
        .drop_duplicates()
        .sort_values(kind="stable")
    )
    n_sites, n_periods = len(site_values), len(grid_periods)
    grid = pd.DataFrame(
        {
            site: np.repeat(site_values.to_numpy(), n_periods),
            "_ordinal": np.tile(grid_periods.asi8, n_sites),
        }
    )

    received = pd.DataFrame(
        {
            site: submissions[site].to_numpy(dtype=object),
            "_ordinal": _as_periods(
                submissions[period], freq, name=period, where=where
            ).asi8,
        }
    )
    if date is not None:
        days, _ = to_dates(submissions[date])
        received["submitted_date"] = days.astype("datetime64[s]")
    else:
        received["submitted_date"] = np.full(len(received), "NaT", "datetime64[s]")
    # Earliest dated return per site and period; undated returns still count.
    received = received.sort_values("submitted_date", na_position="last")
    received = received.drop_duplicates([site, "_ordinal"], keep="first")
    out = grid.merge(received, on=[site, "_ordinal"], how="left", indicator=True)
    outside = len(received) - int((out["_merge"] == "both").sum())
    if outside:
        warnings.warn(
            f"{where}: {outside} site-period returns are for a site or period "
            "outside 'sites' x 'periods' and are not shown.",
            CompletenessWarning,
            stacklevel=2,
        )
    present = (out["_merge"] == "both").to_numpy()
    # (PeriodIndex.from_ordinals is pandas >= 2.2; a PeriodArray of ordinals is
    # the same on every supported pandas)
    period_index = pd.PeriodIndex(
        pd.arrays.PeriodArray(
            out["_ordinal"].to_numpy(dtype="int64"), dtype=pd.PeriodDtype(freq)
        )
    )
    out[period] = format_periods(period_index, word)
    out["due_date"] = _due_dates(
        out,
        due,
        period_index,
        site=site,
        period=period,
        freq=freq,
        word=word,
        where=where,
    )
    sub = out["submitted_date"].to_numpy(dtype="datetime64[D]")
    due_days = out["due_date"].to_numpy(dtype="datetime64[D]")
    dated = present & ~np.isnat(sub) & ~np.isnat(due_days)
    late_by = np.where(
        dated, (sub - due_days).astype("timedelta64[D]").astype(np.int64), 0
    )
    status = np.where(
        ~present,
        "missing",
        np.where(~dated, "submitted", np.where(late_by > 0, "late", "on_time")),
    )
    out["status"] = status.astype(object)
    out["days_late"] = pd.array(
        np.where(dated, np.maximum(late_by, 0), 0), dtype="Int64"
    )
    out.loc[~dated, "days_late"] = pd.NA
    out = out[[site, period, "submitted_date", "due_date", "status", "days_late"]]
    return out.rename(columns=renames)


def _due_dates(
    out, due, period_index, *, site, period, freq, word, where
) -> np.ndarray:
    ends = period_index.end_time.normalize().to_numpy(dtype="datetime64[s]")
    if isinstance(due, pd.DataFrame):
        keys = [site, period] if site in due.columns else [period]
        check_frame(due, [*keys, "due_date"], name="due", where=where)
        table = pd.DataFrame({k: due[k].to_numpy(dtype=object) for k in keys})
        table[period] = format_periods(
            _as_periods(due[period], freq, name="due", where=where), word
        )
        days, _ = to_dates(due["due_date"])
        table["_due"] = days.astype("datetime64[s]")
        table = table.drop_duplicates(keys, keep="first")
        merged = out[keys].merge(table, on=keys, how="left")
        return merged["_due"].to_numpy(dtype="datetime64[s]")
    if isinstance(due, bool) or not isinstance(due, int | np.integer) or due < 0:
        raise InputError(
            f"The 'due' parameter of {where} must be a whole number of days >= 0 "
            f"after the end of each period, or a DataFrame with a 'due_date' "
            f"column. Got {due!r} instead."
        )
    return ends + np.timedelta64(int(due), "D")
