"""Small checks of function parameters shared by the statistics modules.

Messages follow one pattern: name the parameter, say what is accepted, echo
the value that was given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ccdata.errors import InputError


def check_columns(
    data: pd.DataFrame, columns: Iterable[str | None], *, where: str
) -> None:
    """Raise :class:`InputError` naming each column of ``columns`` missing from data."""
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            f"{where} needs a pandas DataFrame. Got {type(data).__name__} instead."
        )
    missing = [c for c in columns if c is not None and c not in data.columns]
    if missing:
        raise InputError(
            f"{where}: column(s) {missing!r} not found in the data. "
            f"Available columns: {list(map(str, data.columns))!r}."
        )


def check_levels(levels: Sequence[float], *, where: str) -> tuple[float, ...]:
    """Return ``levels`` as a tuple of floats in (0, 1), or raise InputError."""
    try:
        out = tuple(float(v) for v in levels)
    except TypeError as exc:
        raise InputError(
            f"The 'levels' parameter of {where} must be a sequence of "
            f"probabilities in (0, 1). Got {levels!r} instead."
        ) from exc
    if not out or any(not (0.0 < v < 1.0) or np.isnan(v) for v in out):
        raise InputError(
            f"The 'levels' parameter of {where} must contain probabilities "
            f"in (0, 1). Got {levels!r} instead."
        )
    return out


def check_choice(value: object, allowed: Iterable[object], *, name: str, where: str):
    """Raise InputError unless ``value`` is one of ``allowed``; return value."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise InputError(
            f"The {name!r} parameter of {where} must be one of {allowed!r}. "
            f"Got {value!r} instead."
        )
    return value


def level_suffix(level: float) -> str:
    """Column suffix for a coverage level: 0.95 -> '95', 0.998 -> '998', 0.9 -> '90'.

    The digits after '0.' are used, padded to at least two: 0.95 -> '95',
    0.998 -> '998', 0.9 -> '90', 0.999 -> '999'.

    Examples
    --------
    >>> level_suffix(0.95), level_suffix(0.998), level_suffix(0.9)
    ('95', '998', '90')
    """
    text = f"{level:.10f}".rstrip("0")
    digits = text.split(".", 1)[1] if "." in text else ""
    return digits.ljust(2, "0")
