"""Helpers shared by the sample-data generators: seeds, ids, dates, CSV text."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from ccdata.errors import InputError

#: Seed of the committed sample files.
DEFAULT_SEED = 20261122

# One independent random stream per generated file, derived from the seed, so
# that changing one generator never changes the others' output.
_STREAMS = {"aaa": 1, "ckd": 2, "lung_indicators": 3, "lung_experience": 4}

_HEX = np.array(list("0123456789ABCDEF"))


def check_seed(seed: object, *, where: str) -> int:
    """Return ``seed`` as an int, or raise InputError naming the parameter."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(
            f"The 'seed' parameter of {where} must be a non-negative integer. "
            f"Got {seed!r} instead."
        )
    return int(seed)


def stream(seed: int, name: str) -> np.random.Generator:
    """Return the random generator for one file (``name``) under ``seed``."""
    return np.random.default_rng([seed, _STREAMS[name]])


def hex_ids(rng: np.random.Generator, n: int, *, prefix: str) -> np.ndarray:
    """``n`` unique pseudonymous ids ``prefix`` + 8 upper-case hex characters."""
    values = rng.choice(2**32, size=n, replace=False).astype(np.uint64)
    shifts = np.arange(28, -1, -4, dtype=np.uint64)
    nibbles = (values[:, None] >> shifts[None, :]) & np.uint64(15)
    chars = np.ascontiguousarray(_HEX[nibbles.astype(np.intp)])
    return np.char.add(prefix, chars.view("<U8").ravel())


def month_labels(first: str, n: int) -> np.ndarray:
    """``n`` consecutive month labels ``YYYY-MM`` starting at ``first``."""
    start = np.datetime64(first, "M")
    return (start + np.arange(n)).astype(str)


def weekday_sampler(first_month: str, n_months: int):
    """Return a function drawing a weekday date uniformly within given months."""
    start = np.datetime64(first_month, "M")
    days = np.arange(
        start.astype("datetime64[D]"),
        (start + n_months).astype("datetime64[D]"),
        dtype="datetime64[D]",
    )
    # 1970-01-01 was a Thursday: (days since epoch + 3) % 7 gives Monday = 0.
    weekday = (days.astype(np.int64) + 3) % 7
    days = days[weekday < 5]
    month_of_day = (days.astype("datetime64[M]") - start).astype(np.int64)
    first_index = np.searchsorted(month_of_day, np.arange(n_months), side="left")
    count = np.bincount(month_of_day, minlength=n_months)

    def draw(rng: np.random.Generator, month_index: np.ndarray) -> np.ndarray:
        pick = np.floor(rng.random(month_index.size) * count[month_index])
        return days[first_index[month_index] + pick.astype(np.int64)]

    return draw


def csv_bytes(frame: pd.DataFrame, *, decimals: dict[str, int] | None = None) -> bytes:
    r"""Return the CSV text of ``frame`` with fixed formatting, as UTF-8 bytes.

    Dates are written ``YYYY-MM-DD``, float columns with the number of
    decimals given in ``decimals`` (and integer-valued float columns not listed
    there as integers), missing values as empty cells, ``"\n"`` line endings.
    """
    decimals = decimals or {}
    out = {}
    for name in frame.columns:
        col = frame[name]
        if pd.api.types.is_datetime64_any_dtype(col):
            text = col.dt.strftime("%Y-%m-%d")
        elif name in decimals:
            spec = f"{{:.{decimals[name]}f}}"
            text = col.map(spec.format, na_action="ignore")
        else:
            text = col
        out[name] = text
    return (
        pd.DataFrame(out)
        .to_csv(index=False, lineterminator="\n", na_rep="")
        .encode("utf-8")
    )
