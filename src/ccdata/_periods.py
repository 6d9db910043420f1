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

import re
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
    "parse_periods",
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
    """Return the pandas period code of a frequency word (``"month"`` -> ``"M"``)."""
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
        return pd.Series(
            series.astype("int64").astype(str).to_numpy(), index=index, dtype="str"
        )
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        dates = pd.DatetimeIndex(series)
    else:
        parsed = parse_periods(series.reset_index(drop=True))
        if pd.api.types.is_integer_dtype(parsed.dtype):
            return pd.Series(parsed.astype(str).to_numpy(), index=index, dtype="str")
        dates = pd.DatetimeIndex(parsed)
    if dates.tz is not None:
        dates = dates.tz_localize(None)
    periods = dates.to_period(pandas_freq(freq))
    return pd.Series(format_periods(periods, freq), index=index, dtype="str")


_ISO_DATE = re.compile(r"\d{4}-\d{2}(-\d{2})?([ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")
_QUARTER = re.compile(r"(\d{4})-?Q([1-4])", re.IGNORECASE)
_YEAR = re.compile(r"\d{4}")


def parse_periods(values: pd.Series) -> pd.Series:
    """Dates of period values, strictly: what cannot be read is ``NaT``.

    Accepted: dates and date-times (typed, or ISO text ``2024-04-17``,
    ``2024-04-17 10:30``), months ``2024-04``, quarters ``2024Q2`` /
    ``2024-Q2`` and whole years (an integer column, or text when every value
    is a four-digit year: returned as integers). Nothing is guessed: free
    text such as ``Q1 2024``, ``FY2024``, ``2024/25``, ``01/02/2024`` (day or
    month first?) and the words ``today`` or ``now`` are not periods, so the
    caller reports those rows instead of dropping or misdating them.

    Examples
    --------
    >>> s = pd.Series(["2024-04-17", "2024-05", "2024Q3", "today", "Q1 2024", None])
    >>> parse_periods(s).dt.strftime("%Y-%m-%d").tolist()
    ['2024-04-17', '2024-05-01', '2024-07-01', nan, nan, nan]
    >>> parse_periods(pd.Series(["2023", "2024"])).tolist()
    [2023, 2024]
    """
    if pd.api.types.is_integer_dtype(values):
        return values.astype("int64")
    if pd.api.types.is_datetime64_any_dtype(values):
        out = pd.to_datetime(values)
        return out.dt.tz_localize(None) if out.dt.tz is not None else out
    text = values.astype("string").str.strip()
    present = text.notna().to_numpy()
    if (
        present.any()
        and text[present].str.fullmatch(_YEAR.pattern).all()
        and present.all()
    ):
        return text.astype("int64")
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    iso = text.str.fullmatch(_ISO_DATE.pattern).fillna(False).to_numpy(dtype=bool)
    if iso.any():
        part = text[iso]
        month_only = part.str.len() == 7
        parsed = pd.to_datetime(
            part.where(~month_only, part + "-01"), format="ISO8601", errors="coerce"
        )
        out[iso] = parsed.to_numpy(dtype="datetime64[ns]")
    quarter = text.str.extract(_QUARTER.pattern + "$", flags=re.IGNORECASE)
    q = (
        quarter[0].notna().to_numpy()
        & ~iso
        & text.str.fullmatch(_QUARTER.pattern, flags=re.IGNORECASE)
        .fillna(False)
        .to_numpy(dtype=bool)
    )
    if q.any():
        years = quarter.loc[q, 0].astype(int).to_numpy()
        months = (quarter.loc[q, 1].astype(int).to_numpy() - 1) * 3 + 1
        out[q] = pd.to_datetime({"year": years, "month": months, "day": 1}).to_numpy(
            dtype="datetime64[ns]"
        )
    return out


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
