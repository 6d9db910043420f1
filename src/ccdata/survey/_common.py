"""Checks and tidy preparation of respondent-level survey answers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ccdata._params import check_columns, check_levels
from ccdata.errors import InputError

#: Status of a unit x period x question whose results are suppressed.
NOT_ASSESSED = "not_assessed"
#: Status of a unit x period x question with enough respondents.
ASSESSED = "assessed"
#: The national survey's threshold: fewer respondents and results are suppressed.
DEFAULT_MIN_RESPONDENTS = 21
#: Answers counted positive on a 1-5 scale by default.
DEFAULT_POSITIVE = (4, 5)


def suppression_note(min_respondents: int) -> str:
    """The words stated next to every suppressed result."""
    return (
        f"fewer than {min_respondents} respondents: results suppressed (not assessed)"
    )


@dataclass(frozen=True)
class Answers:
    """Checked answers, one row per respondent x question (skips as NaN)."""

    frame: pd.DataFrame  # columns unit, period, respondent, question, y
    positive: tuple[float, ...]
    scale: tuple[int, int]


def _rows(index: pd.Index, mask: np.ndarray, limit: int = 5) -> list:
    return index[mask][:limit].tolist()


def check_min_respondents(value: object, *, where: str) -> int:
    """``min_respondents`` as an int >= 1, or InputError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(
            f"The 'min_respondents' parameter of {where} must be a whole number "
            f">= 1 (the national survey uses 21). Got {value!r} instead."
        )
    return int(value)


def check_level(level: object, *, where: str) -> float:
    """A single coverage level in (0, 1), or InputError."""
    if isinstance(level, (list, tuple)) or isinstance(level, bool):
        raise InputError(
            f"The 'level' parameter of {where} must be one probability in (0, 1). "
            f"Got {level!r} instead."
        )
    return check_levels([level], where=where)[0]  # type: ignore[list-item]


def check_scale(scale: object, *, where: str) -> tuple[int, int]:
    """``scale`` as (lowest, highest) whole answers, or InputError."""
    lo: float = 0.0
    hi: float = 0.0
    try:
        lo, hi = (float(v) for v in scale)  # type: ignore[attr-defined]
        ok = lo.is_integer() and hi.is_integer() and lo < hi
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(
            f"The 'scale' parameter of {where} must be (lowest, highest) whole "
            f"answers, e.g. (1, 5). Got {scale!r} instead."
        )
    return int(lo), int(hi)


def check_positive(
    positive: object, scale: tuple[int, int], *, where: str
) -> tuple[float, ...]:
    """The answers counted positive: a non-empty subset of the scale."""
    try:
        values = tuple(sorted({float(v) for v in positive}))  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        values = ()
    ok = bool(values) and all(
        v.is_integer() and scale[0] <= v <= scale[1] for v in values
    )
    if not ok or len(values) == scale[1] - scale[0] + 1:
        raise InputError(
            f"The 'positive' parameter of {where} must list the answers counted "
            f"positive, some but not all of {scale[0]}..{scale[1]} "
            f"(e.g. (4, 5)). Got {positive!r} instead."
        )
    return values


def prepare_answers(
    data: pd.DataFrame,
    *,
    unit: str,
    period: str,
    respondent: str,
    question: str,
    answer: str,
    positive: Iterable[float],
    scale: tuple[int, int],
    extra: Iterable[str] = (),
    where: str,
) -> Answers:
    """Check respondent-level answers and return them in a tidy frame.

    A skipped question (a missing answer, or no row for it) is item
    non-response; it is never a zero. Answers must be whole numbers on the
    scale; map "don't know" or "not applicable" codes to missing first.
    """
    extra = [c for c in extra if c not in (unit, period, respondent, question, answer)]
    cols = [unit, period, respondent, question, answer, *extra]
    check_columns(data, cols, where=where)
    scale = check_scale(scale, where=where)
    pos = check_positive(positive, scale, where=where)
    index = data.index
    for col in (unit, period, respondent, question):
        bad = data[col].isna().to_numpy()
        if bad.any():
            raise InputError(
                f"{where}: column {col!r} must not be missing; it is missing in "
                f"rows {_rows(index, bad)!r}."
            )
    raw = data[answer]
    y = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    not_number = np.isnan(y) & raw.notna().to_numpy()
    off_scale = ~np.isnan(y) & ((y != np.round(y)) | (y < scale[0]) | (y > scale[1]))
    bad = not_number | off_scale
    if bad.any():
        first = np.flatnonzero(bad)[0]
        raise InputError(
            f"{where}: column {answer!r} must hold whole answers "
            f"{scale[0]}..{scale[1]} or be empty (skipped). Unit "
            f"{data[unit].iloc[first]!r}, row {index[first]!r} has "
            f"{raw.iloc[first]!r}; {int(bad.sum())} such rows (first rows "
            f"{_rows(index, bad)!r}). Map 'don't know' or 'not applicable' codes "
            "to empty first."
        )
    frame = pd.DataFrame(
        {
            "unit": data[unit].to_numpy(),
            "period": data[period].to_numpy(),
            "respondent": data[respondent].to_numpy(),
            "question": data[question].to_numpy(),
            "y": y,
        }
    )
    for col in extra:
        frame[col] = data[col].to_numpy()
    dup = frame.duplicated(["period", "respondent", "question"], keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"{where}: each respondent may answer each question once per "
            f"{period!r}; repeated ({respondent!r}, {question!r}) in rows "
            f"{_rows(index, dup)!r}."
        )
    units_per = frame.groupby(["period", "respondent"], sort=False)["unit"].nunique()
    if (units_per > 1).any():
        who = units_per[units_per > 1].index[:3].tolist()
        raise InputError(
            f"{where}: a respondent belongs to one unit per period; "
            f"({period!r}, {respondent!r}) pairs {who!r} appear under several "
            f"values of {unit!r}."
        )
    return Answers(frame=frame, positive=pos, scale=scale)
