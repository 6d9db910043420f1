"""Shared helpers of the completeness measures: groups, presence, dates, intervals.

Nothing here is public; the functions are used by every measure so that they
agree on what counts as present, how groups are formed and how dates are read.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ccdata._intervals import garwood_interval
from ccdata._params import check_columns, check_levels
from ccdata._periods import FREQUENCIES, check_frequency
from ccdata._periods import period_labels as period_labels
from ccdata.errors import InputError

FREQS = FREQUENCIES


class _Deprecated:
    """Default of a deprecated keyword: tells "not given" apart from None."""

    def __repr__(self) -> str:
        return "<deprecated>"


DEPRECATED: Any = _Deprecated()


def unit_columns(
    unit: str | None,
    by: Any,
    *,
    period: str | None = None,
    where: str,
    old: str = "by",
    default: str | None = "site_id",
) -> tuple[list[str], dict[str, str]]:
    """Group columns and the renames that give the output its standard names.

    ``unit=`` (one column or None) and ``period=`` (one column or None) are
    the vocabulary: in the output they are called ``unit`` and ``period``.
    The deprecated ``by=`` (``old``) keeps its old meaning (any columns, kept
    under the caller's names) with a FutureWarning.
    """
    if by is not DEPRECATED:
        if unit != default or period is not None:
            raise InputError(
                f"{where}: pass 'unit=' (and 'period='), not the deprecated "
                f"{old!r} together with them. Got {old}={by!r}, unit={unit!r}, "
                f"period={period!r}."
            )
        warnings.warn(
            f"The {old!r} parameter of {where} is deprecated and will be removed in "
            f"ccdata 0.4: use unit=<id column> (and period=<period column>); the "
            "output then calls those columns 'unit' and 'period'.",
            FutureWarning,
            stacklevel=3,
        )
        return as_columns(by, name=old, where=where), {}
    cols: list[str] = []
    renames: dict[str, str] = {}
    for name, value in (("unit", unit), ("period", period)):
        if value is None:
            continue
        if not isinstance(value, str):
            raise InputError(
                f"The {name!r} parameter of {where} must be one column name or None. "
                f"Got {value!r} instead."
            )
        cols.append(value)
        renames[value] = name
    if len(cols) == 2 and cols[0] == cols[1]:
        raise InputError(
            f"{where}: 'unit' and 'period' name the same column {cols[0]!r}."
        )
    return cols, renames


def as_columns(by: str | Sequence[str] | None, *, name: str, where: str) -> list[str]:
    """Return ``by`` as a list of column names (``None`` gives no grouping)."""
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    try:
        cols = list(by)
    except TypeError as exc:
        raise InputError(
            f"The {name!r} parameter of {where} must be a column name, a list of "
            f"column names or None. Got {by!r} instead."
        ) from exc
    if not all(isinstance(c, Hashable) and not isinstance(c, list) for c in cols):
        raise InputError(
            f"The {name!r} parameter of {where} must list column names. "
            f"Got {by!r} instead."
        )
    if len(set(cols)) != len(cols):
        raise InputError(
            f"The {name!r} parameter of {where} names a column twice. Got {by!r}."
        )
    return cols


def check_frame(data: object, columns: Sequence[str], *, name: str, where: str) -> None:
    """Check ``data`` is a DataFrame holding ``columns`` (message names ``name``)."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            f"The {name!r} parameter of {where} must be a pandas DataFrame. "
            f"Got {type(data).__name__} instead."
        )
    check_columns(data, columns, where=f"{where} ({name!r})")


def check_level(level: float, *, where: str) -> float:
    """Return ``level`` as a float in (0, 1) or raise InputError."""
    if isinstance(level, bool) or not isinstance(level, int | float | np.floating):
        raise InputError(
            f"The 'level' parameter of {where} must be a probability in (0, 1). "
            f"Got {level!r} instead."
        )
    return check_levels([level], where=where)[0]


def grouped(frame: pd.DataFrame | pd.Series, data: pd.DataFrame, by: list[str]):
    """Group ``frame`` (aligned with ``data``) by ``data[by]``.

    Groups are those present in the data (``observed=True``), sorted, with
    missing keys kept as their own group (``dropna=False``). With no ``by`` a
    single constant key is used; callers drop it with :func:`drop_constant_key`.
    """
    if by:
        keys = [data[c] for c in by]
    else:
        keys = [
            pd.Series(
                np.zeros(len(data), dtype=np.int8), index=data.index, name="__all__"
            )
        ]
    return frame.groupby(keys, sort=True, dropna=False, observed=True)


def index_frame(index: pd.Index, by: list[str]) -> pd.DataFrame:
    """Turn a group index into a DataFrame of the ``by`` columns (or no columns)."""
    if not by:
        return pd.DataFrame(index=pd.RangeIndex(len(index)))
    frame = index.to_frame(index=False)
    frame.columns = by
    return frame


def present_mask(values: pd.Series) -> np.ndarray:
    """Mark where a value is present: not missing and not a blank string.

    Missing means ``NaN``, ``None``, ``pd.NA`` or ``NaT``; a string that is
    empty or holds only whitespace is also missing. Zero, ``False`` and the
    string ``"0"`` are present.
    """
    mask = values.notna().to_numpy(dtype=bool, na_value=False, copy=True)
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        if cats.dtype == object or pd.api.types.is_string_dtype(cats.dtype):
            blank = pd.Series(cats.astype(str)).str.strip().eq("").to_numpy()
            codes = values.cat.codes.to_numpy()
            mask &= ~(blank[np.clip(codes, 0, None)] & (codes >= 0))
    elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
        mask &= ~_blank_strings(values)
    return mask


def _blank_strings(values: pd.Series) -> np.ndarray:
    """Mark where a value is a string that is empty or only whitespace."""
    sample = values.iloc[:10_000]
    if len(values) > 20_000 and sample.nunique() < len(sample) // 2:
        # Few distinct values (codes, dates as text): test each distinct one once.
        codes, uniques = pd.factorize(values)
        blank_uniques = _blank_strings(pd.Series(uniques, dtype=values.dtype))
        return np.where(codes >= 0, blank_uniques[np.clip(codes, 0, None)], False)
    try:
        blank = values.str.strip().eq("")
    except AttributeError:  # an object column without any strings
        return np.zeros(len(values), dtype=bool)
    return blank.to_numpy(dtype=bool, na_value=False)


def to_dates(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Read a column of dates as calendar days.

    Returns ``(days, present)``: ``days`` is ``datetime64[D]`` with ``NaT``
    where the value is missing or cannot be read as a date; ``present`` is
    :func:`present_mask`, so ``present & isnat(days)`` marks unreadable dates.
    ISO 8601 strings, datetimes and ``datetime.date`` objects are accepted;
    times of day are dropped (lags are in whole calendar days).
    """
    present = present_mask(values)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_localize(None)
    elif pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = values
    elif isinstance(values.dtype, pd.PeriodDtype):
        parsed = values.dt.start_time
    else:
        # Parse each distinct value once: dates repeat across records.
        codes, uniques = pd.factorize(values)
        parsed_uniques = pd.to_datetime(
            pd.Series(uniques, dtype=object), errors="coerce", format="ISO8601"
        )
        if isinstance(parsed_uniques.dtype, pd.DatetimeTZDtype):
            parsed_uniques = parsed_uniques.dt.tz_localize(None)
        unique_days = parsed_uniques.to_numpy(dtype="datetime64[ns]").astype(
            "datetime64[D]"
        )
        days = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[D]")
        days[codes >= 0] = unique_days[codes[codes >= 0]]
        return days, present
    days = parsed.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return days, present


def check_freq(freq: str, *, where: str) -> str:
    """Return ``freq`` as a frequency word of :mod:`ccdata._periods`.

    "day", "week", "month", "quarter" or "year"; a pandas letter ("M", ...) is
    read with a FutureWarning pointing at the caller of the public function.
    """
    return check_frequency(freq, where=where, stacklevel=4)


def poisson_ratio_interval(x, e, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson interval for the count ``x``, divided by ``e``.

    Treats ``e`` as a fixed known count, as for an observed/expected ratio.
    ``NaN`` where ``e <= 0``.
    """
    e = np.asarray(e, dtype=float)
    lower, upper = garwood_interval(x, level)
    with np.errstate(divide="ignore", invalid="ignore"):
        bad = ~(e > 0)
        return np.where(bad, np.nan, lower / e), np.where(bad, np.nan, upper / e)


def sort_frame(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Sort by the group columns (missing keys last), with a fresh index."""
    if by and len(frame):
        frame = frame.sort_values(by, kind="stable", na_position="last")
    return frame.reset_index(drop=True)
