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
    """Return the words stated next to every suppressed result."""
    return (
        f"fewer than {min_respondents} respondents: results suppressed (not assessed)"
    )


@dataclass(frozen=True)
class Answers:
    """Checked answers as integer codes, one entry per respondent x question row.

    ``u, p, r, q`` index ``units``, ``periods``, the respondents and
    ``questions``; ``y`` is the answer (NaN when skipped); ``extra`` holds the
    raw values of the case-mix columns.
    """

    u: np.ndarray
    p: np.ndarray
    r: np.ndarray
    q: np.ndarray
    y: np.ndarray
    units: np.ndarray
    periods: np.ndarray
    questions: np.ndarray
    extra: dict[str, np.ndarray]
    positive: tuple[float, ...]
    scale: tuple[int, int]

    @property
    def cell(self) -> np.ndarray:
        """The unit x period x question cell of each row (an int code)."""
        return (self.u * self.periods.size + self.p) * self.questions.size + self.q

    @property
    def n_cells(self) -> int:
        return self.units.size * self.periods.size * self.questions.size


def factorize(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and sorted labels (insertion order if labels do not sort)."""
    try:
        codes, labels = pd.factorize(values, sort=True)
    except TypeError:
        codes, labels = pd.factorize(values, sort=False)
    return codes.astype(np.int64), np.asarray(labels, dtype=object)


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
    """Check a single coverage level in (0, 1); else raise InputError."""
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
    """Return the answers counted positive: a non-empty subset of the scale."""
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
    u, units = factorize(data[unit])
    p, periods = factorize(data[period])
    r, respondents = factorize(data[respondent])
    q, questions = factorize(data[question])
    n_r, n_q = respondents.size, questions.size
    pair = p * n_r + r  # respondent within period
    dup = pd.Series(pair * n_q + q).duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"{where}: each respondent may answer each question once per "
            f"{period!r}; repeated ({respondent!r}, {question!r}) in rows "
            f"{_rows(index, dup)!r}."
        )
    order = np.argsort(pair, kind="stable")
    ps, us = pair[order], u[order]
    clash = (ps[1:] == ps[:-1]) & (us[1:] != us[:-1])
    if clash.any():
        rows = order[1:][clash][:3]
        who = [(periods[p[k]], respondents[r[k]]) for k in rows]
        raise InputError(
            f"{where}: a respondent belongs to one unit per period; "
            f"({period!r}, {respondent!r}) pairs {who!r} appear under several "
            f"values of {unit!r}."
        )
    return Answers(
        u=u, p=p, r=r, q=q, y=y, units=units, periods=periods, questions=questions,
        extra={col: data[col].to_numpy() for col in extra},
        positive=pos, scale=scale,
    )  # fmt: skip
