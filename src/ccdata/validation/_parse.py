"""Parse: turn submitted cells (often text) into a typed frame, never raising.

These are ccdata's own text rules, deliberately stricter than pandera's
coercion (see ``docs/validation.md``):

* surrounding spaces are stripped; a blank cell is a missing value;
* whole numbers are digits with an optional sign (``"7"``, ``"-3"``, also
  ``"7.0"`` as spreadsheets export them); values beyond the range of the
  column's integer type are problems, never wrapped around;
* numbers are decimal (``"55.5"``, ``"1e3"``); ``inf``, ``nan`` and numbers
  too large for the column's float type are problems;
* booleans are ``0``/``1`` or ``true``/``false`` (any case);
* dates are ISO 8601: ``YYYY-MM-DD``, optionally followed by a time of day
  (``2024-03-01 13:45``, ``2024-03-01T13:45:00``) and a UTC offset; words
  such as ``today`` or ``now`` are not dates; a year the column's type cannot
  hold (``2924``, ``0024``) is a problem;
* categories must be one of the declared levels.

Text columns are factorised first, so stripping and parsing run once per
*distinct* value. Already-typed columns are checked for the same limits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pandera import dtypes as pa_dtypes
from pandera.engines import pandas_engine

__all__: list[str] = []

#: pandas 3 has a real text dtype ("str"); pandas 2 keeps text as objects.
PANDAS3 = int(pd.__version__.split(".")[0]) >= 3


def text_array(values: Any) -> Any:
    """Text values as pandas' text dtype, missing values kept missing.

    ``pd.array(..., dtype="str")`` turns None into 'None' under pandas 2, so
    there the values stay objects (None for missing).
    """
    if PANDAS3:
        return pd.array(values, dtype="str")
    arr = np.array(list(values), dtype=object)
    arr[pd.isna(arr)] = None
    return pd.array(arr, dtype=cast(Any, object))


def text_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Return a frame of text cells (NA for missing) as :func:`text_array` does."""
    if PANDAS3:
        return frame.astype("str")
    return frame.astype(object).where(frame.notna(), None)


_INT_RE = r"[+-]?\d+(?:\.0*)?"
_FLOAT_RE = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_DATETIME_RE = (
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?)?"
)
_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})

WORDS = {
    "int": "is not a whole number",
    "float": "is not a number",
    "bool": "is not 0 or 1",
    "date": "is not a date in the form YYYY-MM-DD",
    "timedelta": "is not a duration (such as '2 days' or 'P2D')",
}


@dataclass
class Parsed:
    """One parsed column.

    ``values`` is a full-length Series (RangeIndex) in the target dtype where
    the dtype can hold a missing value; otherwise a nullable equivalent.
    ``missing`` marks blank cells, ``bad`` cells that could not be parsed,
    with ``reasons`` the words for each bad cell (object array, '' elsewhere).
    """

    name: str
    kind: str
    values: pd.Series
    missing: np.ndarray
    bad: np.ndarray
    reasons: np.ndarray
    raw: pd.Series
    target: Any
    _value_keys: np.ndarray | None = field(default=None, repr=False)

    def value_keys(self) -> np.ndarray | None:
        """Return int64 keys of ``values``: equal where pandas finds them equal.

        Every missing value has one key (unparsable cells are missing in
        ``values``), as for ``duplicated``, ``is_unique`` and ``isin``. For
        Arrow-backed text the key is a 64-bit hash of the text
        (:func:`text_hashes`), otherwise ``pd.factorize`` codes: different
        values share a key only by a hash collision, so the keys may only
        narrow down candidates (rows that *can* share a value); the verdict
        is always taken on the values. Computed once and kept; None when the
        values cannot be hashed.
        """
        if self._value_keys is None:
            keys = text_hashes(self.values)
            if keys is None:
                try:
                    codes = pd.factorize(self.values, use_na_sentinel=False)[0]
                except TypeError:  # unhashable values (lists, dicts, ...)
                    return None
                keys = np.asarray(codes, dtype=np.int64)
            self._value_keys = keys
        return self._value_keys


def arrow_text(values: pd.Series) -> Any:
    """Return the single-chunk pyarrow array of Arrow-backed text, else None."""
    arr = getattr(values.array, "_pa_array", None)
    if arr is None:
        return None
    import pyarrow as pa  # type: ignore[import-untyped]

    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    return arr


def text_cells(arr: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the bytes, cell starts and cell lengths of a pyarrow text array.

    Zero-copy views of Arrow's buffers; a missing cell has length 0.
    """
    import pyarrow as pa  # type: ignore[import-untyped]

    n = len(arr)
    buffers = arr.buffers()
    wide = pa.types.is_large_string(arr.type)
    offsets = np.frombuffer(buffers[1], dtype=np.int64 if wide else np.int32)
    offsets = offsets[arr.offset : arr.offset + n + 1].astype(np.int64)
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    starts, lengths = offsets[:-1], np.diff(offsets)
    if arr.null_count:
        lengths = np.where(arr.is_null().to_numpy(zero_copy_only=False), 0, lengths)
    return data, starts, lengths


_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_NULL_HASH = np.int64(-0x61C8864680B583EB)  # any constant: the missing value's key
#: Longer text is left to ``pd.factorize`` (one pass per character position).
MAX_HASHED_LENGTH = 256


def text_hashes(values: pd.Series) -> np.ndarray | None:
    """Return 64-bit FNV-1a hashes (int64) of Arrow-backed text, else None.

    Equal text gives equal hashes and every missing value one hash; two
    different texts share one only by a collision (about 1 in 10**19 per
    pair of values). Vectorised over the rows, one pass per character
    position, on Arrow's own buffers: no Python object per row and no hash
    table, about ten times faster than ``pd.factorize`` on a million
    distinct ids (Fowler, Noll and Vo's FNV-1a: Eastlake et al. 2019,
    draft-eastlake-fnv, IETF).
    """
    arr = arrow_text(values)
    if arr is None:
        return None
    data, starts, lengths = text_cells(arr)
    n = len(starts)
    if not n:
        return np.zeros(0, dtype=np.int64)
    longest = int(lengths.max())
    if longest > MAX_HASHED_LENGTH:
        return None
    with np.errstate(over="ignore"):
        h = _FNV_OFFSET ^ lengths.astype(np.uint64)
        if (lengths == longest).all():
            for j in range(longest):
                h ^= data[starts + j]
                h *= _FNV_PRIME
        else:  # rows by decreasing length: those longer than j are a prefix
            order = np.argsort(-lengths, kind="stable")
            hs, ss = h[order], starts[order]
            longer = np.searchsorted(-lengths[order], -np.arange(longest), "left")
            for j in range(longest):
                c = int(longer[j])
                hs[:c] ^= data[ss[:c] + j]
                hs[:c] *= _FNV_PRIME
            h[order] = hs
    keys = h.view(np.int64)
    if arr.null_count:
        keys[arr.is_null().to_numpy(zero_copy_only=False)] = _NULL_HASH
    return keys


def target_of(dtype: Any) -> tuple[str, Any]:
    """Classify a pandera data type: (kind, pandas dtype)."""
    if dtype is None:
        return "other", None
    if isinstance(dtype, pandas_engine.Date):
        return "pydate", None
    try:
        target = pd.api.types.pandas_dtype(dtype.type)
    except (TypeError, AttributeError):
        return "other", None
    if isinstance(dtype, pa_dtypes.String):
        if isinstance(target, np.dtype):  # pandas 2: text is kept as objects
            target = np.dtype(object)
        return "str", target
    if isinstance(target, pd.CategoricalDtype):
        return "category", target
    if ptypes.is_bool_dtype(target):
        return "bool", target
    if ptypes.is_integer_dtype(target):
        return "int", target
    if ptypes.is_float_dtype(target):
        return "float", target
    if isinstance(target, pd.DatetimeTZDtype) or ptypes.is_datetime64_dtype(target):
        return "date", target
    if ptypes.is_timedelta64_dtype(target):
        return "timedelta", target
    if ptypes.is_string_dtype(target) and not ptypes.is_object_dtype(target):
        return "str", target
    return "other", target


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.strftime("%Y-%m-%d")
    return str(value)


def is_text(raw: pd.Series) -> bool:
    return ptypes.is_object_dtype(raw) or ptypes.is_string_dtype(raw)


def distinct_text(raw: pd.Series) -> tuple[np.ndarray, np.ndarray, bool]:
    """Code the distinct stripped text values.

    Return codes into the distinct values (the last entry, None, is the missing
    value), and whether those values are known to be all different.
    """
    codes, uniques = raw.factorize(use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    try:
        stripped = [v.strip() for v in uniques]
    except AttributeError:  # not all text: numbers, dates, ...
        stripped = [_text(v) for v in uniques]
        unchanged = False
    else:  # str.strip returns the very same object when there is nothing to strip
        unchanged = all(a is b for a, b in zip(stripped, uniques, strict=True))
    text = np.array([*stripped, None], dtype=object)
    blank = text == ""
    text[blank] = None
    codes = np.where(codes < 0, len(uniques), codes)
    return codes, text, unchanged and not blank.any()


def raw_text(raw: pd.Series, positions: np.ndarray) -> np.ndarray:
    """Return what the site typed at ``positions``, as text ('' for a missing value)."""
    part = raw.iloc[positions]
    if ptypes.is_datetime64_any_dtype(part):
        return np.asarray(stamp_text(part), dtype=object)
    if ptypes.is_integer_dtype(part) or ptypes.is_float_dtype(part):
        return np.asarray(number_text(part), dtype=object)
    if ptypes.is_string_dtype(part) and not ptypes.is_object_dtype(part):
        return part.str.strip().fillna("").to_numpy(dtype=object)
    out = np.empty(len(positions), dtype=object)
    for i, v in enumerate(part.tolist()):
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out[i] = ""
        else:
            out[i] = _text(v)
    return out


def stamp_text(values: pd.Series, empty: str = "") -> list[str]:
    """Date-times as YYYY-MM-DD, with the time of day when there is one."""
    values = values.reset_index(drop=True)
    wall = values.dt.tz_localize(None) if values.dt.tz is not None else values
    midnight = (wall == wall.dt.normalize()).to_numpy(dtype=bool, na_value=True)
    day = values.dt.strftime("%Y-%m-%d")
    full = values.dt.strftime("%Y-%m-%d %H:%M:%S")
    text = day.where(midnight, full)
    return [empty if pd.isna(t) else t for t in text.tolist()]


def number_text(values: pd.Series, empty: str = "") -> list[str]:
    """Numbers as a person would write them: 212 not 212.0, exact integers."""
    if ptypes.is_integer_dtype(values):
        arr = values.to_numpy(dtype=object, na_value=None)  # type: ignore[call-overload]
        return [empty if v is None else str(v) for v in arr]
    num = values.to_numpy(dtype="float64", na_value=np.nan)
    return [empty if np.isnan(v) else fmt_number(v) for v in num.tolist()]


_EMPTY = np.array("", dtype=object)


def _blank(n: int) -> np.ndarray:
    """No reasons: a read-only view of one '' (indexing it gives a new array)."""
    return np.broadcast_to(_EMPTY, (n,))


def _spread(reasons_u: np.ndarray, bad_u: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-row reasons from per-distinct-value ones (no object take when none)."""
    if not bad_u.any():
        return _blank(len(codes))
    return reasons_u[codes]


def _fullmatch(text: np.ndarray, pattern: str) -> np.ndarray:
    present = np.array([t is not None for t in text], dtype=bool)
    out = np.zeros(len(text), dtype=bool)
    if present.any():
        s = pd.Series(text[present], dtype=object).astype(str)
        out[present] = s.str.fullmatch(pattern).to_numpy(dtype=bool)
    return out


# --------------------------------------------------------------------------
# The vectorised fast path for Arrow-backed text
# --------------------------------------------------------------------------
#
# Cells of the plainest forms (1 to 18 ASCII digits within the column's range;
# a valid YYYY-MM-DD date from year 1 that the column can hold; blank) are
# read by Arrow's own compute kernels (C++, no Python object per row, no hash
# of the column) and give exactly what the rules above give them. Every
# other cell (spaces, signs, "7.0", times of day, words, impossible dates,
# values out of range) goes through the distinct-value path below, so that
# path alone words every problem. ``tests/test_validation_fastparse.py``
# compares both ways on generated messy columns.

#: Read the plainest cells of Arrow text with Arrow's kernels; tests switch it
#: off to compare with the distinct-value path alone.
FAST_TEXT = True


def _fast_text(raw: pd.Series) -> tuple[Any, np.ndarray] | None:
    """Return the Arrow array of Arrow-backed text and its cells' byte lengths."""
    if not FAST_TEXT:
        return None
    arr = arrow_text(raw)
    if arr is None:
        return None
    return arr, text_cells(arr)[2]


def _combine(fast_values, fast_missing, handled, slow):
    """Put the distinct-value path's reading of the cells not ``handled`` in.

    ``slow(positions)`` returns (values, missing, bad, reasons) for those
    cells; returns the full (values, missing, bad, reasons).
    """
    n = len(handled)
    if handled.all():
        return fast_values, fast_missing, np.zeros(n, dtype=bool), _blank(n)
    rest = np.flatnonzero(~handled)
    values_r, missing_r, bad_r, reasons_r = slow(rest)
    fast_values[rest] = values_r
    missing = fast_missing.copy()
    missing[rest] = missing_r
    bad = np.zeros(n, dtype=bool)
    bad[rest] = bad_r
    reasons = _blank(n)
    if bad_r.any():
        reasons = np.full(n, "", dtype=object)
        reasons[rest] = reasons_r
    return fast_values, missing, bad, reasons


def _only(arr: Any, keep: np.ndarray) -> Any:
    """Return ``arr`` with the cells not in ``keep`` missing."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    if keep.all():
        return arr
    return pc.if_else(pa.array(keep), arr, pa.scalar(None, arr.type))


def _fast_ints(arr: Any, lengths: np.ndarray, lo: int, hi: int):
    """Read cells of 1 to 18 ASCII digits within [lo, hi], and blanks."""
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    empty = lengths == 0
    ok = pc.ascii_is_decimal(arr).fill_null(False).to_numpy(zero_copy_only=False)
    ok &= lengths <= 18  # below 10**18: int64 holds it
    values = np.zeros(len(lengths), dtype=np.int64)
    if ok.any():
        ints = pc.cast(_only(arr, ok), pa.int64()).fill_null(0)
        values = np.asarray(ints.to_numpy(zero_copy_only=False), dtype=np.int64)
        ok &= (values >= max(lo, -(2**63))) & (values <= min(hi, 2**63 - 1))
        values = np.where(ok, values, 0)
    return values, empty, ok | empty


_YEAR_ONE = int(np.datetime64("0001-01-01", "D").astype(np.int64))
_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400 * 10**9}


def _fast_dates(arr: Any, lengths: np.ndarray, naive: np.dtype, lo, hi):
    """Read valid YYYY-MM-DD cells the column can hold, and blanks.

    None when a cell is not of that form: Arrow's cast reads a whole column
    or nothing, and the distinct-value path then reads the column.
    """
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    empty = lengths == 0
    try:  # Arrow's date32 cast takes exactly YYYY-MM-DD, real calendar dates
        days = pc.cast(_only(arr, ~empty), pa.date32())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if isinstance(days, pa.ChunkedArray):
        days = days.combine_chunks()
    days = days.fill_null(0) if days.null_count else days
    day = np.frombuffer(days.buffers()[1], dtype=np.int32)
    day = day[days.offset : days.offset + len(days)].astype(np.int64)
    lo_day, hi_day = int(lo.astype(np.int64)), int(hi.astype(np.int64))
    # year 0 is Arrow's, not Python's: the distinct-value path words it
    ok = ~empty & (day >= max(lo_day, _YEAR_ONE)) & (day <= hi_day)
    unit = np.datetime_data(naive)[0]
    if unit in _PER_DAY:  # days to the unit by one multiplication (in range)
        stamps = (np.where(ok, day, 0) * _PER_DAY[unit]).view(naive)
    else:
        stamps = np.where(ok, day, 0).astype("datetime64[D]").astype(naive)
    stamps[~ok] = np.datetime64("NaT")
    return stamps, empty, ok | empty


# --------------------------------------------------------------------------
# Kinds
# --------------------------------------------------------------------------


def _int_bounds(target: Any) -> tuple[int, int]:
    info = np.iinfo(getattr(target, "numpy_dtype", target))
    return int(info.min), int(info.max)


def _range_words(lo: Any, hi: Any) -> str:
    return f"is outside the range this column can hold ({lo} to {hi})"


def _ints_from_text(text: np.ndarray, target: Any):
    """Distinct text -> (python ints or None, bad, reasons)."""
    lo, hi = _int_bounds(target)
    ok = _fullmatch(text, _INT_RE)
    values = np.full(len(text), None, dtype=object)
    bad = np.zeros(len(text), dtype=bool)
    reasons = np.full(len(text), "", dtype=object)
    for i, t in enumerate(text):
        if t is None:
            continue
        if not ok[i]:
            bad[i] = True
            reasons[i] = WORDS["int"]
            continue
        number = int(t.split(".", 1)[0])
        if number < lo or number > hi:
            bad[i] = True
            reasons[i] = _range_words(lo, hi)
        else:
            values[i] = number
    return values, bad, reasons


def _int_array(values: np.ndarray, na: np.ndarray, target: Any) -> pd.Series:
    """Convert ints to the target dtype, or its nullable twin.

    ``values`` is a NumPy integer array (any value where ``na``); the result
    holds a missing value where ``na``.
    """
    np_dtype = np.dtype(getattr(target, "numpy_dtype", target))
    any_na = bool(na.any())
    if any_na:
        data = np.where(na, 0, values).astype(np_dtype, copy=False)
    else:
        data = values.astype(np_dtype, copy=False)
    if any_na or isinstance(target, pd.api.extensions.ExtensionDtype):
        name = np_dtype.name.capitalize().replace("Uint", "UInt")
        return pd.Series(pd.arrays.IntegerArray(data, na.copy()), dtype=name)
    return pd.Series(data)


def _ints_distinct(raw, target):
    """Text -> (values in the column's dtype, missing, bad, reasons), per distinct."""
    np_dtype = np.dtype(getattr(target, "numpy_dtype", target))
    codes, text, _ = distinct_text(raw)
    values_u, bad_u, reasons_u = _ints_from_text(text, target)
    # the distinct values in the column's dtype (0 where missing or bad),
    # then one take: no Python object per row
    ints_u = np.zeros(len(text), dtype=np_dtype)
    good_u = np.array([v is not None for v in values_u], dtype=bool)
    if good_u.any():
        ints_u[good_u] = np.array(values_u[good_u].tolist(), dtype=np_dtype)
    missing = pd.isna(text)[codes]
    return ints_u[codes], missing, bad_u[codes], _spread(reasons_u, bad_u, codes)


def _parse_int(name, raw, target) -> Parsed:
    n = len(raw)
    lo, hi = _int_bounds(target)
    np_dtype = np.dtype(getattr(target, "numpy_dtype", target))
    if is_text(raw):
        fast_text = _fast_text(raw)
        if fast_text is None:
            values, missing, bad, reasons = _ints_distinct(raw, target)
        else:
            fast, fast_missing, handled = _fast_ints(*fast_text, lo, hi)
            values, missing, bad, reasons = _combine(
                fast.astype(np_dtype, copy=False),
                fast_missing,
                handled,
                lambda rest: _ints_distinct(raw.iloc[rest], target),
            )
    elif raw.dtype == target:  # already the column's type: nothing can be out of range
        missing = raw.isna().to_numpy()
        return Parsed(
            name,
            "int",
            raw.reset_index(drop=True),
            missing,
            np.zeros(n, dtype=bool),
            _blank(n),
            raw,
            target,
        )
    else:
        missing = raw.isna().to_numpy()
        bad = np.zeros(n, dtype=bool)
        reasons = np.full(n, "", dtype=object)
        if ptypes.is_integer_dtype(raw) or ptypes.is_bool_dtype(raw):
            unsigned = ptypes.is_unsigned_integer_dtype(raw)
            ints = raw.to_numpy(dtype="uint64" if unsigned else "int64", na_value=0)
            out = np.zeros(n, dtype=bool)
            if unsigned:
                if hi < 2**64 - 1:
                    out = ints > np.uint64(hi)
            else:
                if lo > -(2**63):
                    out |= ints < lo
                if hi < 2**63 - 1:
                    out |= ints > hi
        else:
            num = raw.to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(invalid="ignore"):
                whole = np.isfinite(num) & (np.mod(num, 1) == 0)
            bad = ~missing & ~whole
            reasons[bad] = WORDS["int"]
            upper = float(hi) if hi < 2**53 else float(hi + 1)  # powers of 2: exact
            with np.errstate(invalid="ignore"):
                out = whole & ~(
                    (num >= float(lo)) & (num < upper if hi >= 2**53 else num <= upper)
                )
            ints = np.where(whole & ~out, num, 0).astype(
                "uint64" if lo >= 0 else "int64"
            )
        out &= ~missing & ~bad
        bad = bad | out
        reasons[out] = _range_words(lo, hi)
        values = ints
    na = missing | bad
    return Parsed(
        name,
        "int",
        _int_array(values, na, target),
        missing,
        bad,
        reasons,
        raw,
        target,
    )


def _floats_distinct(raw, big: float):
    """Text -> (float64 values, missing, bad, reasons), per distinct value."""
    codes, text, _ = distinct_text(raw)
    ok = _fullmatch(text, _FLOAT_RE)
    num_u = np.full(len(text), np.nan)
    bad_u = np.zeros(len(text), dtype=bool)
    reasons_u = np.full(len(text), "", dtype=object)
    for i, t in enumerate(text):
        if t is None:
            continue
        if not ok[i]:
            bad_u[i], reasons_u[i] = True, WORDS["float"]
            continue
        num_u[i] = float(t)
    too_big = ok & ~np.isnan(num_u) & ~(np.abs(num_u) <= big)
    bad_u |= too_big
    reasons_u[too_big] = "is too large a number for this column"
    num_u[bad_u] = np.nan
    missing = pd.isna(text)[codes]
    return num_u[codes], missing, bad_u[codes], _spread(reasons_u, bad_u, codes)


def _parse_float(name, raw, target) -> Parsed:
    np_dtype = np.dtype(getattr(target, "numpy_dtype", target))
    big = float(np.finfo(np_dtype).max)
    if is_text(raw):
        num, missing, bad, reasons = _floats_distinct(raw, big)
    else:
        num = raw.to_numpy(dtype="float64", na_value=np.nan)
        missing = np.isnan(num)
        bad = ~missing & ~(np.abs(num) <= big)
        reasons = _blank(len(num))
        if bad.any():
            reasons = np.full(len(num), "", dtype=object)
            reasons[bad] = "is not a finite number"
        if (  # already a NumPy float of the column's type: no copy
            isinstance(target, np.dtype) and raw.dtype == target and not bad.any()
        ):
            return Parsed(
                name,
                "float",
                raw.reset_index(drop=True),
                missing,
                bad,
                reasons,
                raw,
                target,
            )
        num = num.copy()  # never write into the input
        num[bad] = np.nan
    if isinstance(target, pd.api.extensions.ExtensionDtype):
        values = pd.Series(
            pd.array(
                np.where(np.isnan(num), None, num),  # type: ignore[call-overload]
                dtype=target,
            )
        )
    else:
        values = pd.Series(num.astype(np_dtype, copy=False))
    return Parsed(name, "float", values, missing, bad, reasons, raw, target)


def _parse_bool(name, raw, target) -> Parsed:
    n = len(raw)
    if is_text(raw):
        codes, text, _ = distinct_text(raw)
        lower = [None if t is None else t.lower() for t in text]
        val_u = np.array([t in _TRUE for t in lower], dtype=bool)
        bad_u = np.array(
            [t is not None and t not in _TRUE and t not in _FALSE for t in lower],
            dtype=bool,
        )
        missing, bad, val = pd.isna(text)[codes], bad_u[codes], val_u[codes]
    else:
        missing = raw.isna().to_numpy()
        num = raw.to_numpy(dtype="float64", na_value=np.nan)
        bad = ~missing & ~np.isin(num, (0.0, 1.0))
        val = num == 1.0
    reasons = np.where(bad, WORDS["bool"], "").astype(object)
    na = missing | bad
    if na.any() or isinstance(target, pd.api.extensions.ExtensionDtype):
        values = pd.Series(pd.arrays.BooleanArray(val.copy(), na.copy()))
    else:
        values = pd.Series(val.copy())
    del n
    return Parsed(name, "bool", values, missing, bad, reasons, raw, target)


def _unit_bounds(target: Any) -> tuple[np.datetime64, np.datetime64]:
    unit = getattr(target, "unit", None) or np.datetime_data(target)[0]
    info = np.iinfo(np.int64)
    bounds = np.array([info.min + 1, info.max], dtype=np.int64)
    per_day = np.timedelta64(1, "D").astype(f"timedelta64[{unit}]").astype(np.int64)
    days = bounds // per_day  # whole days the unit can hold, compared by day
    return (np.datetime64(int(days[0]) + 1, "D"), np.datetime64(int(days[1]) - 1, "D"))


def _fmt_bound(value: np.datetime64) -> str:
    return str(value.astype("datetime64[D]"))


def _parse_date(name, raw, target) -> Parsed:
    n = len(raw)
    tz = getattr(target, "tz", None)
    unit = getattr(target, "unit", None) or np.datetime_data(target)[0]
    naive = np.dtype(f"datetime64[{unit}]")
    lo, hi = _unit_bounds(naive)
    range_words = (
        f"is outside the dates this column can hold "
        f"({_fmt_bound(lo)} to {_fmt_bound(hi)})"
    )
    reasons = _blank(n)
    if ptypes.is_datetime64_any_dtype(raw):
        values = raw.reset_index(drop=True)
        if tz is None and values.dt.tz is not None:
            values = values.dt.tz_localize(None)
        elif tz is not None:
            values = (
                values.dt.tz_localize(tz)
                if values.dt.tz is None
                else values.dt.tz_convert(tz)
            )
        missing = values.isna().to_numpy()
        bad = np.zeros(n, dtype=bool)
        try:
            values = values.astype(target)
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            wall = values.dt.tz_localize(None) if values.dt.tz is not None else values
            stamp = wall.to_numpy(dtype="datetime64[s]").astype("datetime64[D]")
            bad = ~missing & ((stamp < lo) | (stamp > hi))
            reasons = np.where(bad, range_words, "").astype(object)
            values = values.where(~bad).astype(target)
        return Parsed(name, "date", values, missing, bad, reasons, raw, target)
    fast_text = _fast_text(raw)
    fast = None if fast_text is None else _fast_dates(*fast_text, naive, lo, hi)
    if fast is None:
        raw_obj = raw if is_text(raw) else raw.astype(object).where(raw.notna(), None)
        stamps, missing, bad, reasons = _stamps_distinct(
            raw_obj, naive, tz, lo, hi, range_words
        )
    else:
        fast_stamps, fast_missing, handled = fast
        stamps, missing, bad, reasons = _combine(
            fast_stamps,
            fast_missing,
            handled,
            lambda rest: _stamps_distinct(
                raw.iloc[rest], naive, tz, lo, hi, range_words
            ),
        )
    values = pd.Series(stamps)
    if tz is not None:
        values = values.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
        lost = values.isna().to_numpy() & ~missing & ~bad
        if lost.any():
            bad = bad | lost
            reasons = reasons.copy()
            reasons[lost] = f"is not a valid local time in {tz}"
    return Parsed(name, "date", values, missing, bad, reasons, raw, target)


def _stamps_distinct(raw_obj, naive, tz, lo, hi, range_words):
    """Text -> (naive stamps, missing, bad, reasons), per distinct value."""
    codes, text, _ = distinct_text(raw_obj)
    ok = _fullmatch(text, _DATETIME_RE)
    m = len(text)
    stamps = np.full(m, np.datetime64("NaT"), dtype=naive)
    bad_u = np.zeros(m, dtype=bool)
    reasons_u = np.full(m, "", dtype=object)
    for i, t in enumerate(text):
        if t is None:
            continue
        if not ok[i]:
            bad_u[i], reasons_u[i] = True, WORDS["date"]
            continue
        try:
            stamp = dt.datetime.fromisoformat(t.replace("Z", "+00:00"))
        except ValueError:
            # a valid form with an impossible date, or a year out of range
            bad_u[i], reasons_u[i] = True, WORDS["date"]
            continue
        if stamp.tzinfo is not None:
            if tz is not None:
                stamp = pd.Timestamp(stamp).tz_convert(tz).tz_localize(None)
            else:
                stamp = stamp.replace(tzinfo=None)
        day = np.datetime64(stamp.date(), "D")
        if day < lo or day > hi:
            bad_u[i], reasons_u[i] = True, range_words
            continue
        stamps[i] = np.datetime64(stamp.replace(tzinfo=None), "us").astype(naive)
    missing = pd.isna(text)[codes]
    return stamps[codes], missing, bad_u[codes], _spread(reasons_u, bad_u, codes)


def _parse_pydate(name, raw, target) -> Parsed:
    parsed = _parse_date(name, raw, np.dtype("datetime64[ns]"))
    stamps = parsed.values
    has_time = (
        ~parsed.missing
        & ~parsed.bad
        & (stamps.dt.normalize() != stamps).to_numpy(dtype=bool, na_value=False)
    )
    bad = parsed.bad | has_time
    reasons = parsed.reasons.copy()
    reasons[has_time] = "has a time of day; this column takes a date only"
    objs = np.full(len(stamps), None, dtype=object)
    keep = ~parsed.missing & ~bad
    if keep.any():
        objs[keep] = np.array(stamps[keep].dt.date.tolist(), dtype=object)
    values = pd.Series(objs, dtype=object)
    return Parsed(name, "pydate", values, parsed.missing, bad, reasons, raw, None)


def _parse_timedelta(name, raw, target) -> Parsed:
    n = len(raw)
    if ptypes.is_timedelta64_dtype(raw):
        values = raw.reset_index(drop=True).astype(target)
        missing = values.isna().to_numpy()
        return Parsed(
            name,
            "timedelta",
            values,
            missing,
            np.zeros(n, dtype=bool),
            _blank(n),
            raw,
            target,
        )
    codes, text, _ = distinct_text(raw)
    m = len(text)
    deltas = np.full(m, np.timedelta64("NaT"), dtype=target)
    bad_u = np.zeros(m, dtype=bool)
    for i, t in enumerate(text):
        if t is None:
            continue
        if t.lower() in ("nan", "nat", "none", "inf", "-inf"):
            bad_u[i] = True
            continue
        try:
            deltas[i] = pd.Timedelta(t).to_timedelta64().astype(target)
        except (ValueError, OverflowError):
            bad_u[i] = True
    reasons_u = np.where(bad_u, WORDS["timedelta"], "").astype(object)
    return Parsed(
        name,
        "timedelta",
        pd.Series(deltas[codes]),
        pd.isna(text)[codes],
        bad_u[codes],
        _spread(reasons_u, bad_u, codes),
        raw,
        target,
    )


def _plain_edges(raw: pd.Series) -> np.ndarray | None:
    """Return the blank cells of Arrow text that has nothing to strip, else None.

    A cell has nothing to strip when its first and last bytes are printable
    ASCII other than a space (0x21-0x7E): no definition of white space holds
    such a character. Two bytes per cell, read from Arrow's buffers.
    """
    arr = arrow_text(raw) if FAST_TEXT else None
    if arr is None:
        return None
    data, starts, lengths = text_cells(arr)
    blank = lengths == 0
    if len(data) and not blank.all():
        top = len(data) - 1
        first = data[np.minimum(starts, top)]
        last = data[np.clip(starts + lengths - 1, 0, top)]
        plain = (first >= 0x21) & (first <= 0x7E) & (last >= 0x21) & (last <= 0x7E)
        if not (plain | blank).all():
            return None
    return blank


def _strip_text(name, raw, target) -> Parsed:
    """Convert a text column to the str dtype: vectorised strip, blank = missing."""
    n = len(raw)
    blank = _plain_edges(raw) if raw.dtype == target else None
    if blank is not None:  # nothing to strip: the column as it is
        values = raw.reset_index(drop=True)
        if blank.any():
            values = values.where(~blank)
        return Parsed(
            name, "str", values, blank, np.zeros(n, dtype=bool), _blank(n), raw, target
        )
    stripped = raw.reset_index(drop=True).str.strip()
    missing = (stripped.isna() | (stripped == "")).to_numpy(dtype=bool, na_value=True)
    values = stripped.astype(target) if stripped.dtype != target else stripped
    if missing.any():
        values = values.where(~missing)
    return Parsed(
        name,
        "str",
        values,
        missing,
        np.zeros(n, dtype=bool),
        _blank(n),
        raw,
        target,
    )


def _parse_text(name, raw, target, kind) -> Parsed:
    n = len(raw)
    all_text = ptypes.is_string_dtype(raw) and not ptypes.is_object_dtype(raw)
    if (
        kind == "str"
        and all_text
        and isinstance(target, pd.api.extensions.ExtensionDtype)
    ):
        return _strip_text(name, raw, target)
    codes, text, _ = distinct_text(raw)
    missing = pd.isna(text)[codes]
    bad = np.zeros(n, dtype=bool)
    reasons = np.full(n, "", dtype=object)
    if kind == "category" and target.categories is not None:
        levels = list(target.categories)
        level_text = {_text(v): i for i, v in enumerate(levels)}
        mapped = np.array(
            [level_text.get(t, -1) if t is not None else -1 for t in text],
            dtype=np.int64,
        )
        bad_u = np.array([t is not None and t not in level_text for t in text])
        bad = bad_u[codes]
        shown = ", ".join(f"'{v}'" for v in levels)
        reasons[bad] = f"is not one of {shown}"
        values = pd.Series(pd.Categorical.from_codes(mapped[codes], dtype=target))
    elif kind == "category":
        values = pd.Series(pd.Categorical(text[codes]))
    elif isinstance(target, pd.api.extensions.ExtensionDtype):
        values = pd.Series(pd.array(text, dtype=target).take(codes))  # type: ignore[call-overload]
    else:
        values = pd.Series(text[codes], dtype=target)
    return Parsed(
        name,
        kind,
        values,
        missing,
        bad,
        reasons,
        raw,
        target,
    )


def parse_column(name: str, raw: pd.Series, dtype: Any) -> Parsed:
    """Parse one raw column to the pandera ``dtype``; never raises on bad values."""
    kind, target = target_of(dtype)
    if kind == "int":
        return _parse_int(name, raw, target)
    if kind == "float":
        return _parse_float(name, raw, target)
    if kind == "bool":
        return _parse_bool(name, raw, target)
    if kind == "date":
        return _parse_date(name, raw, target)
    if kind == "pydate":
        return _parse_pydate(name, raw, target)
    if kind == "timedelta":
        return _parse_timedelta(name, raw, target)
    if kind in ("str", "category"):
        if (
            kind == "category"
            and isinstance(raw.dtype, pd.CategoricalDtype)
            and (target.categories is None or raw.dtype == target)
        ):
            values = raw.reset_index(drop=True)
        else:
            return _parse_text(name, raw, target, kind)
    else:
        values = raw.reset_index(drop=True)
    n = len(raw)
    return Parsed(
        name,
        kind,
        values,
        values.isna().to_numpy(),
        np.zeros(n, dtype=bool),
        _blank(n),
        raw,
        target,
    )


def fmt_number(value: Any) -> str:
    """Format a number as a person would write it: 212 not 212.0."""
    if (
        isinstance(value, (float, np.floating))
        and np.isfinite(value)
        and float(value).is_integer()
        and abs(cast(float, value)) < 2**53
    ):
        return str(int(value))
    return str(value)


def display_values(values: pd.Series, kind: str, raw_texts: np.ndarray) -> list[str]:
    """Values for messages: dates as YYYY-MM-DD, numbers bare, text quoted."""
    if kind == "date" and ptypes.is_datetime64_any_dtype(values):
        return stamp_text(values, empty="(empty)")
    if kind in ("int", "float") and ptypes.is_numeric_dtype(values):
        return number_text(values, empty="(empty)")
    if kind in ("int", "float", "bool"):
        return [fmt_number(v) if not pd.isna(v) else "(empty)" for v in values.tolist()]
    if kind == "pydate":
        return [str(v) for v in values.tolist()]
    return [f"'{t}'" for t in raw_texts]
