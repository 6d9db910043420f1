"""Periods: the one frequency vocabulary and the one way to label periods (private).

Shared by :mod:`ccdata.completeness`, :mod:`ccdata.variation` and the batch job.
The frequency words are those of the batch configuration: ``"day"``, ``"week"``,
``"month"``, ``"quarter"``, ``"year"``. The pandas letters ``"D"``, ``"W"``,
``"M"``, ``"Q"``, ``"Y"`` are still read, with a :class:`FutureWarning`.

Labels are text that sorts in time order: ``"2024-04"`` (month), ``"2024Q2"``
(quarter), ``"2024"`` (year), and the ISO date of the first day for a day or a
week (weeks run Monday to Sunday), e.g. ``"2024-04-01"``. Integer values (years
given as numbers) stay as they are.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import pandas as pd

from ccdata.errors import InputError

__all__ = [
    "FREQUENCIES",
    "Frequency",
    "check_frequency",
    "format_periods",
    "label_start",
    "pandas_freq",
    "period_labels",
    "period_start",
]

Frequency = Literal["day", "week", "month", "quarter", "year"]
FREQUENCIES: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
_PANDAS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_LETTERS = {v: k for k, v in _PANDAS.items()}


def check_frequency(freq: object, *, where: str, stacklevel: int = 3) -> str:
    """Return ``freq`` as one of :data:`FREQUENCIES`, or raise :class:`InputError`.

    A pandas letter ("M", "Q", ...) is translated with a :class:`FutureWarning`.

    Examples
    --------
    >>> check_frequency("quarter", where="example")
    'quarter'
    """
    if isinstance(freq, str) and freq in FREQUENCIES:
        return freq
    if isinstance(freq, str) and freq in _LETTERS:
        word = _LETTERS[freq]
        warnings.warn(
            f"{where}: freq={freq!r} is deprecated and will stop working in ccdata "
            f"0.4; write freq={word!r} (ccdata's frequencies are "
            f"{', '.join(map(repr, FREQUENCIES))}).",
            FutureWarning,
            stacklevel=stacklevel,
        )
        return word
    raise InputError(
        f"The 'freq' parameter of {where} must be one of "
        f"{', '.join(map(repr, FREQUENCIES))}. Got {freq!r} instead."
    )


def pandas_freq(freq: str) -> str:
    """The pandas period code of a frequency word (``"month"`` -> ``"M"``)."""
    return _PANDAS[freq]


def format_periods(periods: pd.PeriodIndex, freq: str) -> np.ndarray:
    """Label each period (object array, None where missing); see :func:`period_labels`.

    Each distinct period is formatted once (formatting a million is slow).
    """
    codes, uniques = pd.factorize(periods)
    distinct = pd.PeriodIndex(uniques)
    if freq in ("day", "week"):
        text = distinct.start_time.strftime("%Y-%m-%d")
    else:
        text = distinct.astype(str)
    labels = np.asarray(text, dtype=object)
    out = np.full(len(codes), None, dtype=object)
    found = codes >= 0
    out[found] = labels[codes[found]]
    return out


def period_labels(values: Any, freq: str) -> pd.Series:
    """Label each value with its period (text that sorts in time order).

    Parameters
    ----------
    values : Series or array
        Dates (ISO text, datetimes, ``datetime64``) or integer years.
    freq : {"day", "week", "month", "quarter", "year"}

    Returns
    -------
    Series of str
        ``"2024-04"`` (month), ``"2024Q2"`` (quarter), ``"2024"`` (year), the
        ISO first day for a day or week; integer years as text; missing where a
        date is missing or unreadable. Aligned with ``values`` when it is a
        Series.

    Examples
    --------
    >>> period_labels(pd.Series(["2024-04-17", "2024-05-01"]), "month").tolist()
    ['2024-04', '2024-05']
    >>> period_labels(pd.Series(["2024-04-17"]), "week").tolist()
    ['2024-04-15']
    >>> period_labels(pd.Series([2023, 2024]), "month").tolist()
    ['2023', '2024']
    """
    index = values.index if isinstance(values, pd.Series) else None
    series = values if isinstance(values, pd.Series) else pd.Series(values)
    if pd.api.types.is_integer_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype
    ):
        return pd.Series(series.astype("int64").astype(str).to_numpy(), index=index,
                         dtype="str")
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        dates = pd.DatetimeIndex(series)
    else:
        text = series.astype("str")
        codes, uniques = pd.factorize(text)
        parsed = pd.to_datetime(pd.Index(uniques), format="mixed", errors="coerce")
        dates = pd.DatetimeIndex(
            np.where(codes >= 0, parsed.to_numpy()[np.clip(codes, 0, None)],
                     np.datetime64("NaT"))
            if len(parsed) else np.full(len(codes), np.datetime64("NaT"))
        )
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    periods = dates.to_period(pandas_freq(freq))
    return pd.Series(format_periods(periods, freq), index=index, dtype="str")


def label_start(label: str) -> pd.Timestamp:
    """First instant of the period a label names (``"2024Q4"`` -> 2024-10-01).

    Examples
    --------
    >>> str(label_start("2024-10").date()), str(label_start("2024").date())
    ('2024-10-01', '2024-01-01')
    """
    return pd.Timestamp(pd.Period(str(label)).start_time)


def period_start(labels: pd.Series) -> pd.Series:
    """Start of each period label (a Timestamp), or the integer year.

    Examples
    --------
    >>> period_start(pd.Series(["2024Q2", "2024-05"])).dt.strftime("%Y-%m-%d").tolist()
    ['2024-04-01', '2024-05-01']
    """
    labels = labels.astype(str)
    if labels.str.fullmatch(r"\d{4}").all():
        return labels.astype("int64")
    return labels.map(label_start).astype("datetime64[ns]")
