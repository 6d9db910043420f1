"""Completeness and volume measures computed by the engine, worded in pandas.

Each function aggregates the (possibly huge) table to one row per group in
the engine, then builds exactly the table the in-memory function of
:mod:`ccdata.completeness` returns (the tests compare them value for value).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ccdata._intervals import wilson_interval
from ccdata._params import check_levels, level_suffix
from ccdata.completeness import case_ascertainment as _memory_ascertainment
from ccdata.engine._source import ROW, guard, strip
from ccdata.errors import InputError
from ccdata.schemas import get_schema, mandatory_columns

__all__ = [
    "add_period",
    "case_ascertainment",
    "field_completeness",
    "submission_volume",
    "timeliness",
]

ALL_MANDATORY = "all_mandatory_fields"
_FREQS = ("M", "Q", "Y")


class _Deprecated:
    """Default of a deprecated keyword: tells "not given" apart from None."""

    def __repr__(self) -> str:
        return "<deprecated>"


DEPRECATED: Any = _Deprecated()


def _groups(
    unit: str | None,
    by: Any,
    *,
    period: str | None = None,
    where: str,
    default: str | None = "site_id",
) -> tuple[list[str], dict[str, str]]:
    """Group columns and the output renames, as the in-memory functions.

    ``unit=`` and ``period=`` (one column or None each) are called ``unit``
    and ``period`` in the output; the deprecated ``by=`` keeps its meaning
    (any columns, under their own names) with a FutureWarning.
    """
    if by is not DEPRECATED:
        if unit != default or period is not None:
            raise InputError(
                f"{where}: pass 'unit=' (and 'period='), not the deprecated 'by' "
                f"together with them. Got by={by!r}, unit={unit!r}, "
                f"period={period!r}."
            )
        warnings.warn(
            f"The 'by' parameter of {where} is deprecated and will be removed in "
            "ccdata 0.4: use unit=<id column> (and period=<period column>); the "
            "output then calls those columns 'unit' and 'period'.",
            FutureWarning,
            stacklevel=3,
        )
        return _columns(by, where=where), {}
    cols: list[str] = []
    renames: dict[str, str] = {}
    for name, value in (("unit", unit), ("period", period)):
        if value is None:
            continue
        if not isinstance(value, str):
            raise InputError(
                f"The {name!r} parameter of {where} must be one column name or "
                f"None. Got {value!r} instead."
            )
        cols.append(value)
        renames[value] = name
    if len(cols) == 2 and cols[0] == cols[1]:
        raise InputError(
            f"{where}: 'unit' and 'period' name the same column {cols[0]!r}."
        )
    return cols, renames


def _columns(by: str | Sequence[str] | None, *, where: str) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return [str(c) for c in by]


def _need(table, columns: Sequence[str], *, where: str) -> None:
    absent = [c for c in columns if c not in table.columns]
    if absent:
        raise InputError(
            f"{where}: column(s) {absent!r} are not in the table. Available "
            f"columns: {list(table.columns)!r}."
        )


def _level(level: float, *, where: str) -> float:
    return check_levels([level], where=where)[0]


def _sorted(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    if by and len(frame):
        frame = frame.sort_values(by, kind="stable", na_position="last")
    return frame.reset_index(drop=True)


def _labels(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Group keys as the in-memory tables hold them (text as str dtype)."""
    for c in by:
        s = frame[c]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            frame[c] = s.astype("str")
    return frame


def _date_expr(table, column: str):
    col = table[column]
    if col.type().is_string():
        return strip(col).try_cast("timestamp")
    return col.cast("timestamp")


def add_period(table, date: str, *, freq: str = "M", name: str = "month"):
    """Add a period label derived from a date column to an engine table.

    As :func:`ccdata.add_period`: ``"2024-04"`` (M), ``"2024Q2"`` (Q) or
    ``"2024"`` (Y); missing where the date is missing or unreadable.

    Parameters
    ----------
    table : ibis.Table
    date : str
        A date, timestamp or ISO text column.
    freq : {"M", "Q", "Y"}, default "M"
    name : str, default "month"

    Returns
    -------
    ibis.Table

    Examples
    --------
    >>> from ccdata.engine import connect, read_source
    >>> t = read_source(connect(), pd.DataFrame({"d": ["2024-04-03", None]}))
    >>> add_period(t, "d").to_pandas()["month"].fillna("(missing)").tolist()
    ['2024-04', '(missing)']
    """
    import ibis

    where = "ccdata.engine.add_period"
    _need(table, [date], where=where)
    if freq not in _FREQS:
        raise InputError(
            f"The 'freq' parameter of {where} must be one of {_FREQS!r} on an "
            f"engine. Got {freq!r} instead."
        )
    d = _date_expr(table, date)
    year = d.year().cast("string")
    if freq == "M":
        month = d.month()
        label = year + "-" + ibis.ifelse(month < 10, "0", "") + month.cast("string")
    elif freq == "Q":
        label = year + "Q" + d.quarter().cast("string")
    else:
        label = year
    return table.mutate(**{name: label})


def _present(table, column: str):
    col = table[column]
    dt = col.type()
    present = col.notnull()
    if dt.is_floating():
        present = present & ~col.isnan()
    if dt.is_string():
        present = present & (strip(col) != "")
    return present.fill_null(False)


def field_completeness(
    table,
    *,
    unit: str | None = "site_id",
    period: str | None = None,
    fields: Sequence[str] | None = None,
    schema: Any = None,
    mandatory: Sequence[str] | None = None,
    level: float = 0.95,
    by: Any = DEPRECATED,
) -> pd.DataFrame:
    """Proportion of records holding each field, per group (engine-side counts).

    The same parameters and the same table as :func:`ccdata.field_completeness`
    (Wilson intervals [1]_); the counting runs in the engine, so the table can
    be larger than memory. Fields default to the schema's columns, or to every
    column but the group columns and ``row``.

    Parameters
    ----------
    table : ibis.Table
        One row per record.
    unit : str or None, default "site_id"
        The unit (site) column, called ``unit`` in the output; ``None`` for
        the community as a whole.
    period : str, optional
        A period column (e.g. from :func:`add_period`), called ``period`` in
        the output.
    fields, schema, mandatory, level
        As :func:`ccdata.field_completeness`.
    by : str or list of str, optional
        Deprecated (FutureWarning; use ``unit=`` and ``period=``): group
        columns, kept under their own names.

    Returns
    -------
    pandas.DataFrame
        ``unit`` and ``period`` (when given), then ``field, present,
        expected, proportion, lower_95, upper_95``.

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and
       statistical inference. J Am Stat Assoc 22:209-212.

    Examples
    --------
    >>> from ccdata.engine import connect, read_source
    >>> t = read_source(connect(), pd.DataFrame(
    ...     {"site_id": ["A", "A", "B"], "creatinine": [80.0, None, 95.0]}))
    >>> out = field_completeness(t, unit="site_id", fields=["creatinine"])
    >>> shown = out[out.field == "creatinine"]
    >>> shown[["unit", "present", "expected"]].values.tolist()
    [['A', 1, 2], ['B', 1, 1]]
    """
    where = "ccdata.engine.field_completeness"
    by_cols, renames = _groups(unit, by, period=period, where=where)
    _need(table, by_cols, where=where)
    level = _level(level, where=where)
    if schema is not None:
        schema_obj = get_schema(schema)
        schema_cols = [str(c) for c in schema_obj.columns]
        schema_must = list(mandatory_columns(schema_obj))
    if fields is None:
        chosen = (
            schema_cols
            if schema is not None
            else [c for c in table.columns if c != ROW]
        )
    else:
        chosen = _columns(fields, where=where)
        _need(table, chosen, where=where)
    if mandatory is not None:
        must = _columns(mandatory, where=where)
    elif schema is not None:
        must = schema_must
    else:
        must = list(chosen)
    chosen = [f for f in chosen if f not in by_cols and f != ALL_MANDATORY]
    must = [f for f in must if f not in by_cols]
    import ibis

    flags = {}
    for i, f in enumerate(chosen):
        flags[f"_p{i}"] = (
            _present(table, f) if f in table.columns else ibis.literal(False)
        )
    names = list(chosen)
    if must:
        allp = ibis.literal(True)
        for f in must:
            allp = allp & (_present(table, f) if f in table.columns else False)
        flags["_pall"] = allp
        names.append(ALL_MANDATORY)
    aggs = {k: v.cast("int64").sum() for k, v in flags.items()}
    aggs["_n"] = table.count()
    grouped = (
        table.group_by(by_cols).aggregate(**aggs)
        if by_cols
        else table.aggregate(**aggs)
    )
    counts = guard(where, lambda: grouped.to_pandas())
    counts = _labels(_sorted(counts, by_cols), by_cols)
    n_fields = len(names)
    keys = counts[by_cols]
    out = keys.loc[keys.index.repeat(n_fields)].reset_index(drop=True)
    present = counts[list(flags)].to_numpy(dtype=np.int64).reshape(-1)
    expected = np.repeat(counts["_n"].to_numpy(dtype=np.int64), n_fields)
    lower, upper = wilson_interval(present, expected, level)
    suffix = level_suffix(level)
    out["field"] = pd.Series(
        np.tile(np.asarray(names, dtype=object), len(counts)), dtype=object
    )
    out["present"] = present
    out["expected"] = expected
    with np.errstate(divide="ignore", invalid="ignore"):
        out["proportion"] = present / expected
    out[f"lower_{suffix}"] = lower
    out[f"upper_{suffix}"] = upper
    return out.rename(columns=renames)


def timeliness(
    table,
    *,
    event_date: str,
    entry_date: str,
    unit: str | None = "site_id",
    period: str | None = None,
    within_days: int | Sequence[int] = (30, 90),
    by: Any = DEPRECATED,
) -> pd.DataFrame:
    """Lag from event to data entry per group, with its quantiles, in the engine.

    The same table as :func:`ccdata.timeliness`: ``unit`` and ``period``
    (when given), then ``n, median_lag_days, p90_lag_days, within_<d>...,
    invalid_dates, missing_dates``. Centiles are the engine's exact
    continuous quantiles (Hyndman and Fan type 7 [1]_, as pandas' default).
    ``unit=``/``period=`` as :func:`field_completeness`; ``by=`` is
    deprecated (FutureWarning).

    References
    ----------
    .. [1] Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages.
       Am Stat 50:361-365.

    Examples
    --------
    >>> from ccdata.engine import connect, read_source
    >>> t = read_source(connect(), pd.DataFrame({"site_id": ["A", "A", "A"],
    ...     "op": ["2024-01-01", "2024-01-01", "2024-01-10"],
    ...     "entered": ["2024-01-11", "2024-06-01", "2024-01-05"]}))
    >>> out = timeliness(t, event_date="op", entry_date="entered", unit="site_id")
    >>> float(out.loc[0, "within_30"]), float(out.loc[0, "median_lag_days"])
    (0.5, 81.0)
    """
    import ibis

    where = "ccdata.engine.timeliness"
    by_cols, renames = _groups(unit, by, period=period, where=where)
    _need(table, [*by_cols, event_date, entry_date], where=where)
    limits = [within_days] if isinstance(within_days, int) else list(within_days)
    if not limits or any(int(d) != d or d < 0 for d in limits):
        raise InputError(
            f"The 'within_days' parameter of {where} must be whole numbers of days "
            f">= 0, e.g. (30, 90). Got {within_days!r} instead."
        )
    limits = sorted({int(d) for d in limits})
    ev, en = table[event_date], table[entry_date]
    ev_present = _present(table, event_date)
    en_present = _present(table, entry_date)
    missing = ~(ev_present & en_present)
    e1, e2 = _date_expr(table, event_date), _date_expr(table, entry_date)
    readable = e1.notnull() & e2.notnull()
    lag = (e2.date().epoch_days() - e1.date().epoch_days()).cast("float64")
    valid = ~missing & readable & (lag >= 0)
    invalid = ~missing & ~valid
    del ev, en
    t = table.mutate(
        _lag=ibis.ifelse(valid, lag, ibis.null("float64")),
        _valid=valid,
        _invalid=invalid,
        _missing=missing,
    )
    aggs = {
        "n": t.count(),
        "n_valid": t._valid.cast("int64").sum(),
        "missing_dates": t._missing.cast("int64").sum(),
        "invalid_dates": t._invalid.cast("int64").sum(),
    }
    for d in limits:
        aggs[f"within_{d}"] = (t._valid & (t._lag <= d)).cast("int64").sum()
    grouped = t.group_by(by_cols).aggregate(**aggs) if by_cols else t.aggregate(**aggs)
    counts = guard(where, lambda: grouped.to_pandas())
    counts = _labels(_sorted(counts, by_cols), by_cols)
    # Centiles from the histogram of whole-day lags per group: exact (the
    # lags are whole days) and bounded, where a holistic quantile aggregate
    # would hold every lag in memory (DuckDB cannot spill it).
    tv = t.filter(t._valid)
    hist = guard(
        where,
        lambda: tv.group_by([*by_cols, "_lag"]).aggregate(_c=tv.count()).to_pandas(),
    )
    hist = _labels(_sorted(hist, [*by_cols, "_lag"]), by_cols)
    cents = _histogram_quantiles(hist, by_cols, (0.5, 0.9))
    if by_cols:
        cents = counts[by_cols].merge(cents, on=by_cols, how="left")
    else:
        cents = cents.reindex(range(len(counts)))
    out = counts[[*by_cols, "n"]].copy()
    out["n"] = out["n"].astype(np.int64)
    out["median_lag_days"] = cents["_q0"].to_numpy(dtype=float)
    out["p90_lag_days"] = cents["_q1"].to_numpy(dtype=float)
    denominator = counts["n_valid"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        for d in limits:
            out[f"within_{d}"] = (
                counts[f"within_{d}"].to_numpy(dtype=float) / denominator
            )
    out["invalid_dates"] = counts["invalid_dates"].astype(np.int64)
    out["missing_dates"] = counts["missing_dates"].astype(np.int64)
    return out.rename(columns=renames)


def _histogram_quantiles(
    hist: pd.DataFrame, keys: list[str], probs: Sequence[float]
) -> pd.DataFrame:
    """Type-7 quantiles (numpy's linear method) per group from value counts.

    ``hist`` holds the group keys, ``_lag`` (the value) and ``_c`` (its
    count), sorted by keys then value. The k-th order statistic of a group is
    found by a binary search of the cumulative counts; the interpolation is
    numpy's, so the centiles equal ``np.quantile`` of the expanded values.
    """
    if not len(hist):
        return pd.DataFrame(
            {**{k: [] for k in keys}, **{f"_q{i}": [] for i in range(len(probs))}}
        )
    if keys:
        gid = hist.groupby(keys, sort=False, dropna=False).ngroup().to_numpy()
        first = hist.drop_duplicates(subset=keys)[keys].reset_index(drop=True)
    else:
        gid = np.zeros(len(hist), dtype=np.int64)
        first = pd.DataFrame(index=pd.RangeIndex(1))
    c = hist["_c"].to_numpy(dtype=np.int64)
    x = hist["_lag"].to_numpy(dtype=float)
    n_g = np.bincount(gid, weights=c).astype(np.int64)
    start = np.concatenate([[0], np.cumsum(n_g)[:-1]])
    cum = np.cumsum(c)
    out = first.copy()
    for i, q in enumerate(probs):
        h = (n_g - 1) * float(q)
        lo = np.floor(h).astype(np.int64)
        t = h - lo
        a = x[np.searchsorted(cum, start + lo, side="right")]
        b = x[np.searchsorted(cum, start + np.minimum(lo + 1, n_g - 1), side="right")]
        diff = b - a
        value = np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)
        out[f"_q{i}"] = np.where(a == b, a, value)
    return out


def case_ascertainment(
    table,
    expected: pd.DataFrame,
    *,
    unit: str | None = "site_id",
    period: str | None = None,
    level: float = 0.95,
    by: Any = DEPRECATED,
) -> pd.DataFrame:
    """Compare submitted records (counted in the engine) with expected counts.

    The records are counted per group in the engine; the small table of
    counts then goes through :func:`ccdata.case_ascertainment` unchanged.

    Parameters
    ----------
    table : ibis.Table
        One row per submitted case.
    expected : pandas.DataFrame
        Expected counts per group (e.g. Hospital Episode Statistics).
    unit, period, level
        As :func:`ccdata.case_ascertainment` (output columns ``unit`` and
        ``period``).
    by : str or list of str, optional
        Deprecated (FutureWarning; use ``unit=`` and ``period=``).

    Returns
    -------
    pandas.DataFrame
        As :func:`ccdata.case_ascertainment`.

    Examples
    --------
    >>> from ccdata.engine import connect, read_source
    >>> t = read_source(connect(), pd.DataFrame({"site_id": ["A"] * 9 + ["B"]}))
    >>> exp = pd.DataFrame({"site_id": ["A", "B"], "expected": [10, 1]})
    >>> case_ascertainment(t, exp, unit="site_id")["ascertainment"].tolist()
    [0.9, 1.0]
    """
    where = "ccdata.engine.case_ascertainment"
    by_cols, _renames = _groups(unit, by, period=period, where=where)
    _need(table, by_cols, where=where)
    grouped = (
        table.group_by(by_cols).aggregate(submitted=table.count())
        if by_cols
        else table.aggregate(submitted=table.count())
    )
    counts = guard(where, lambda: grouped.to_pandas())
    counts = _labels(_sorted(counts, by_cols), by_cols)
    counts["submitted"] = counts["submitted"].astype(np.int64)
    if by is DEPRECATED:
        return _memory_ascertainment(
            counts, expected, unit=unit, period=period, level=level
        )
    with warnings.catch_warnings():  # warned above, once
        warnings.simplefilter("ignore", FutureWarning)
        return _memory_ascertainment(counts, expected, by=by, level=level)


def submission_volume(
    table,
    *,
    date: str,
    unit: str | None = None,
    freq: str = "M",
    sites: Sequence[Any] | None = None,
    by: Any = DEPRECATED,
) -> pd.DataFrame:
    """Cases per group and period, zero periods included (engine-side counts).

    The same table as :func:`ccdata.submission_volume` (columns: ``unit``
    when given, ``period``, ``cases``; ``by=`` is deprecated and keeps its
    columns' names), for ``freq`` "M", "Q" or "Y"; the range
    runs from the first to the last period holding a case. Cases without a
    readable date are not counted.

    Examples
    --------
    >>> from ccdata.engine import connect, read_source
    >>> t = read_source(connect(), pd.DataFrame({"site_id": ["A", "A", "B"],
    ...     "procedure_date": ["2024-01-05", "2024-03-09", "2024-01-20"]}))
    >>> submission_volume(t, date="procedure_date", unit="site_id")["cases"].tolist()
    [1, 0, 1, 1, 0, 0]
    """
    where = "ccdata.engine.submission_volume"
    by_cols, renames = _groups(unit, by, where=where, default=None)
    _need(table, [*by_cols, date], where=where)
    t = add_period(table, date, freq=freq, name="_period")
    t = t.filter(t._period.notnull())
    grouped = t.group_by([*by_cols, "_period"]).aggregate(cases=t.count())
    counts = guard(where, lambda: grouped.to_pandas())
    if not len(counts):
        empty = pd.DataFrame({**{c: [] for c in by_cols}, "period": [], "cases": []})
        return empty.rename(columns=renames)
    periods = pd.PeriodIndex(counts["_period"].astype(str), freq=freq)
    grid = pd.period_range(periods.min(), periods.max(), freq=freq)
    counts["_k"] = (periods.asi8 - grid[0].ordinal).astype(np.int64)
    if by_cols:
        groups = counts[by_cols].drop_duplicates()
        if sites is not None:
            extra = pd.DataFrame({by_cols[0]: list(sites)})
            groups = pd.concat([groups, extra], ignore_index=True).drop_duplicates()
        groups = _labels(_sorted(groups, by_cols), by_cols)
        position = pd.MultiIndex.from_frame(groups).get_indexer(
            pd.MultiIndex.from_frame(_labels(counts[by_cols].copy(), by_cols))
        )
    else:
        groups = pd.DataFrame(index=pd.RangeIndex(1))
        position = np.zeros(len(counts), dtype=np.int64)
    n = len(grid)
    cases = np.zeros(len(groups) * n, dtype=np.int64)
    np.add.at(
        cases,
        position * n + counts["_k"].to_numpy(),
        counts["cases"].to_numpy(dtype=np.int64),
    )
    out = groups.loc[groups.index.repeat(n)].reset_index(drop=True)
    out["period"] = np.tile(grid.astype(str).to_numpy(dtype=object), len(groups))
    out["cases"] = cases
    return out.rename(columns=renames)
