"""Coerce submitted columns (often text) to the schema's types, vectorised.

Text columns are factorised first: stripping and parsing run once per
*distinct* value and are expanded back with integer codes. Most columns of a
submission hold few distinct values (sites, sexes, dates, ages), so a million
rows are coerced in about a second.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

__all__: list[str] = []

#: Plain-English description of a value that cannot be read as the type.
TYPE_WORDS = {
    "int": "is not a whole number",
    "float": "is not a number",
    "date": "is not a date in the form YYYY-MM-DD",
    "bool": "is not 0 or 1",
}


class Column:
    """One schema column of the submission: raw values and coerced values.

    When the raw column was factorised, ``codes`` index into ``distinct``
    (coerced distinct values; the last entry is the missing value) and the
    full-length ``values`` are built only when needed.
    """

    def __init__(self, name, kind, target, raw, missing, bad, *, values=None,
                 codes=None, distinct=None) -> None:
        self.name = name
        self.kind = kind  # "int", "float", "bool", "date", "str" or "other"
        self.target = target
        self.raw = raw
        self.missing = missing
        self.bad = bad
        self.codes = codes
        self.distinct = distinct
        self._values = values
        self.distinct_unique = False  # distinct values known to be all different

    @property
    def values(self) -> pd.Series:
        """Coerced values, RangeIndex; NaN/NaT/None where missing or unreadable."""
        if self._values is None:
            self._values = pd.Series(
                self.distinct.to_numpy()[self.codes], dtype=self.distinct.dtype
            )
        return self._values

    def take(self, positions: np.ndarray) -> np.ndarray:
        """Coerced values at ``positions`` as a numpy array."""
        if self.codes is not None:
            return self.distinct.to_numpy()[self.codes[positions]]
        return self.values.to_numpy()[positions]

    def key_codes(self) -> np.ndarray:
        """Integer codes equal for equal coerced values; -1 when missing/bad."""
        if self.codes is not None:
            if self.distinct_unique:
                canon = np.arange(len(self.distinct))
                canon[pd.isna(self.distinct.to_numpy())] = -1
            else:
                canon = pd.factorize(self.distinct, use_na_sentinel=True)[0]
            out = canon[self.codes]
        else:
            out = pd.factorize(self.values, use_na_sentinel=True)[0]
        return np.where(self.bad, -1, out)


def kind_of(dtype: Any) -> tuple[str, Any]:
    """Classify a pandera dtype: (kind, pandas dtype of the valid frame)."""
    if dtype is None:
        return "other", None
    try:
        target = pd.api.types.pandas_dtype(dtype.type)
    except (TypeError, AttributeError):
        return "other", None
    if ptypes.is_bool_dtype(target):
        return "bool", target
    if ptypes.is_integer_dtype(target):
        return "int", target
    if ptypes.is_float_dtype(target):
        return "float", target
    if ptypes.is_datetime64_any_dtype(target):
        return "date", target
    if ptypes.is_string_dtype(target) or isinstance(target, pd.CategoricalDtype):
        return "str", "str"
    return "other", None


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.strftime("%Y-%m-%d")
    return str(value)


def distinct_text(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, bool]:
    """Factorise a column: codes, its distinct values as stripped text, and
    whether those stripped values are still all different.

    Missing and blank cells map to the last entry of the distinct array,
    which is None.
    """
    obj = raw.to_numpy(dtype=object) if ptypes.is_string_dtype(raw) else raw
    codes, uniques = pd.factorize(obj, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    try:
        stripped = [v.strip() for v in uniques]
    except AttributeError:  # not all text: numbers, dates, ...
        stripped = [_text(v) for v in uniques]
        still_unique = False
    else:
        still_unique = all(a is b for a, b in zip(stripped, uniques, strict=True))
    text = np.array([*stripped, None], dtype=object)
    text[text == ""] = None
    codes = np.where(codes < 0, len(uniques), codes)
    return codes, text, still_unique


def _numeric(name, kind, target, raw) -> Column:
    n = len(raw)
    if ptypes.is_bool_dtype(raw) or ptypes.is_numeric_dtype(raw):
        num = raw.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(num)
        bad = np.zeros(n, dtype=bool)
        if kind in ("int", "bool"):
            bad = _not_whole(num, missing, kind)
            num = np.where(bad, np.nan, num)
        return Column(name, kind, target, raw, missing, bad, values=pd.Series(num))
    codes, text, _ = distinct_text(raw)
    missing_u = pd.isna(text)
    num_u = pd.to_numeric(pd.Series(text, dtype=object), errors="coerce")
    num_u = num_u.astype("float64").to_numpy()
    bad_u = np.isnan(num_u) & ~missing_u
    if kind in ("int", "bool"):
        bad_u |= _not_whole(num_u, missing_u | bad_u, kind)
        num_u = np.where(bad_u, np.nan, num_u)
    return Column(name, kind, target, raw, missing_u[codes], bad_u[codes],
                  codes=codes, distinct=pd.Series(num_u))


def _not_whole(num: np.ndarray, skip: np.ndarray, kind: str) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        bad = ~skip & (np.mod(num, 1) != 0)
    if kind == "bool":
        bad |= ~skip & ~np.isin(num, (0.0, 1.0))
    return bad


def _dates(name, target, raw) -> Column:
    n = len(raw)
    if ptypes.is_datetime64_any_dtype(raw):
        values = raw.dt.tz_localize(None) if raw.dt.tz is not None else raw
        values = values.reset_index(drop=True).astype("datetime64[ns]")
        return Column(name, "date", target, raw, values.isna().to_numpy(),
                      np.zeros(n, dtype=bool), values=values)
    codes, text, _ = distinct_text(raw)
    missing_u = pd.isna(text)
    series = pd.Series(text, dtype=object)
    dates = pd.to_datetime(series, format="%Y-%m-%d", errors="coerce")
    dates = dates.astype("datetime64[ns]").to_numpy()
    retry = np.isnat(dates) & ~missing_u
    if retry.any():  # "2024-03-05 00:00:00" and other ISO 8601 forms
        long_ = retry & np.array([len(t) > 10 if t else False for t in text])
        if long_.any():
            again = pd.to_datetime(series[long_], format="ISO8601", errors="coerce")
            if getattr(again.dt, "tz", None) is not None:
                again = again.dt.tz_localize(None)
            dates[long_] = again.astype("datetime64[ns]").to_numpy()
    bad_u = np.isnat(dates) & ~missing_u
    return Column(name, "date", target, raw, missing_u[codes], bad_u[codes],
                  codes=codes, distinct=pd.Series(dates))


def coerce(name: str, raw: pd.Series, dtype: Any) -> Column:
    """Coerce one raw column to the pandera ``dtype``; never raises on bad values."""
    kind, target = kind_of(dtype)
    if kind in ("int", "float", "bool"):
        return _numeric(name, kind, target, raw)
    if kind == "date":
        return _dates(name, target, raw)
    n = len(raw)
    if kind == "str":
        codes, text, unique = distinct_text(raw)
        col = Column(name, kind, target, raw, pd.isna(text)[codes],
                     np.zeros(n, dtype=bool), codes=codes,
                     distinct=pd.Series(text, dtype=object))
        col.distinct_unique = unique
        return col
    values = raw.reset_index(drop=True)
    return Column(name, kind, target, raw, values.isna().to_numpy(),
                  np.zeros(n, dtype=bool), values=values)


def final(col: Column, keep: np.ndarray, index: pd.Index) -> pd.Series:
    """The coerced values of the kept rows, cast to the schema's dtype."""
    values = col.take(keep)
    if col.kind == "int":
        values = values.astype("float64")
        if col.target == np.dtype("int64") and not np.isnan(values).any():
            out: Any = values.astype("int64")
        else:
            out = pd.array(values, dtype="Int64")
    elif col.kind == "bool":
        isna = np.isnan(values.astype("float64"))
        if isna.any():
            out = pd.array(np.where(isna, None, values == 1.0), dtype="boolean")
        else:
            out = values == 1.0
    elif col.kind == "float":
        dtype = col.target if isinstance(col.target, np.dtype) else "float64"
        out = values.astype(dtype)
    elif col.kind == "date":
        out = values.astype("datetime64[ns]")
    elif col.kind == "str":
        out = pd.array(values, dtype="str")
    else:
        return pd.Series(col.raw.iloc[keep].array, index=index, name=col.name)
    return pd.Series(out, index=index, name=col.name)


def raw_text(raw: pd.Series, positions: np.ndarray) -> np.ndarray:
    """What the site typed at ``positions``, as text ('' for a missing value)."""
    out = np.empty(len(positions), dtype=object)
    for i, v in enumerate(raw.iloc[positions].tolist()):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out[i] = ""
        else:
            out[i] = _text(v)
    return out


def fmt_number(value: Any) -> str:
    """A number as a person would write it: 212 not 212.0."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def display(col: Column, positions: np.ndarray) -> np.ndarray:
    """Values for messages: dates as YYYY-MM-DD, numbers bare, text quoted."""
    if col.kind == "date":
        values = pd.Series(col.take(positions)).dt.strftime("%Y-%m-%d")
        return values.to_numpy(dtype=object)
    if col.kind in ("int", "float", "bool"):
        return np.array([fmt_number(v) for v in col.take(positions)], dtype=object)
    return np.array([f"'{t}'" for t in raw_text(col.raw, positions)], dtype=object)
