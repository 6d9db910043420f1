"""Words shown to people, built from a result's own levels and direction.

Every status word, legend entry, limit label and "better/worse" qualifier in
ccdata is made here, from the levels a result was computed with, so that
``levels=(0.9, 0.99)`` reads "90%" and "99%" everywhere (plots, descriptions,
site packs, CSV column names) and nothing downstream hard-codes 95/99.8.

Status values
-------------
A funnel status is ``"within"``, ``"above_<sfx>"``, ``"below_<sfx>"`` or
``"not_assessed"``, where ``<sfx>`` is :func:`level_suffix` of a level
(0.95 -> ``"95"``, 0.998 -> ``"998"``). A unit is ``above_<sfx>`` of the
highest level whose upper limit it exceeds.

Direction
---------
One spelling across functions, config and outputs: ``direction`` is
``"increase"`` (higher values are better), ``"decrease"`` (lower values are
better) or ``None`` (no judgement: neutral words only). The older spellings
``"higher_is_better"`` and ``"lower_is_better"`` are accepted as synonyms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from scipy.stats import norm

from ccdata._params import level_suffix
from ccdata.errors import InputError

__all__ = [
    "DIRECTIONS",
    "NOT_ASSESSED",
    "Direction",
    "check_direction",
    "direction_word",
    "level_percent",
    "limit_label",
    "parse_status",
    "status_legend",
    "status_names",
    "status_phrase",
    "status_short",
    "status_text",
]

Direction = Literal["increase", "decrease"]
DIRECTIONS = ("increase", "decrease")
_SYNONYMS = {"higher_is_better": "increase", "lower_is_better": "decrease"}

#: Status of a unit that cannot be judged (no usable data, too little coverage).
NOT_ASSESSED = "not_assessed"


def check_direction(direction: object, *, where: str) -> Direction | None:
    """Return ``"increase"``, ``"decrease"`` or None; raise InputError otherwise.

    Examples
    --------
    >>> check_direction("higher_is_better", where="plot.funnel")
    'increase'
    >>> check_direction(None, where="spc") is None
    True
    """
    if direction is None:
        return None
    value = _SYNONYMS.get(str(direction), direction)
    if value not in DIRECTIONS:
        raise InputError(
            f"The 'direction' parameter of {where} must be None (no judgement), "
            f"'increase' (higher is better) or 'decrease' (lower is better). "
            f"Got {direction!r} instead."
        )
    return value  # type: ignore[return-value]


def level_percent(level: float) -> str:
    """Write a coverage level as people do: 0.95 -> '95%', 0.998 -> '99.8%'.

    Examples
    --------
    >>> level_percent(0.95), level_percent(0.998), level_percent(0.9)
    ('95%', '99.8%', '90%')
    """
    return f"{round(level * 100, 6):g}%"


def _sorted(levels: Sequence[float]) -> list[float]:
    return sorted(float(v) for v in levels)


def status_names(levels: Sequence[float]) -> list[str]:
    """Every status value for ``levels``, in display order.

    Examples
    --------
    >>> status_names((0.95, 0.998))
    ['within', 'above_95', 'above_998', 'below_95', 'below_998', 'not_assessed']
    """
    sfx = [level_suffix(v) for v in _sorted(levels)]
    return (
        ["within"]
        + [f"above_{s}" for s in sfx]
        + [f"below_{s}" for s in sfx]
        + [NOT_ASSESSED]
    )


def parse_status(status: str, levels: Sequence[float]) -> tuple[str, float | None]:
    """Split a status into its side and level.

    Returns ``("within", None)``, ``("not_assessed", None)`` or
    ``("above" | "below", level)``.

    Examples
    --------
    >>> parse_status("above_998", (0.95, 0.998))
    ('above', 0.998)
    >>> parse_status("within", (0.9, 0.99))
    ('within', None)
    """
    status = str(status)
    if status in ("within", NOT_ASSESSED):
        return status, None
    side, _, sfx = status.partition("_")
    for level in _sorted(levels):
        if side in ("above", "below") and level_suffix(level) == sfx:
            return side, level
    raise InputError(
        f"Status {status!r} does not belong to the levels {tuple(levels)!r}; "
        f"expected one of {status_names(levels)}."
    )


def _next_level(level: float, levels: Sequence[float]) -> float | None:
    wider = [v for v in _sorted(levels) if v > level]
    return wider[0] if wider else None


def status_phrase(status: str, levels: Sequence[float]) -> str:
    """Neutral words for a status, as a sentence fragment.

    Examples
    --------
    >>> status_phrase("above_95", (0.95, 0.998))
    'above the 95% limit (inside the 99.8% limit)'
    >>> status_phrase("below_99", (0.9, 0.99))
    'below the 99% limit'
    >>> status_phrase("within", (0.9, 0.99))
    'within the expected range (inside the 90% limits)'
    """
    side, level = parse_status(status, levels)
    if side == "within":
        return (
            f"within the expected range (inside the "
            f"{level_percent(_sorted(levels)[0])} limits)"
        )
    if side == NOT_ASSESSED:
        return "not assessed"
    assert level is not None
    text = f"{side} the {level_percent(level)} limit"
    wider = _next_level(level, levels)
    if wider is not None:
        text += f" (inside the {level_percent(wider)} limit)"
    return text


def status_short(status: str, levels: Sequence[float]) -> str:
    """Short words for a count of units ("3 above the 95% limit only").

    Examples
    --------
    >>> status_short("above_95", (0.95, 0.998))
    'above the 95% limit only'
    >>> status_short("within", (0.9, 0.99))
    'within the 90% limits'
    """
    side, level = parse_status(status, levels)
    if side == "within":
        return f"within the {level_percent(_sorted(levels)[0])} limits"
    if side == NOT_ASSESSED:
        return "not assessed"
    assert level is not None
    only = " only" if _next_level(level, levels) is not None else ""
    return f"{side} the {level_percent(level)} limit{only}"


def status_legend(status: str, levels: Sequence[float]) -> str:
    """Legend text for the markers of one status.

    Examples
    --------
    >>> status_legend("below_998", (0.95, 0.998))
    'Below the 99.8% limit'
    >>> status_legend("within", (0.9, 0.99))
    'Within the 90% limits'
    """
    side, level = parse_status(status, levels)
    if side == "within":
        return f"Within the {level_percent(_sorted(levels)[0])} limits"
    if side == NOT_ASSESSED:
        return "Not assessed"
    assert level is not None
    return f"{side.capitalize()} the {level_percent(level)} limit"


def limit_label(level: float) -> str:
    """Legend text for a pair of limit lines, with the equivalent normal SDs.

    Examples
    --------
    >>> limit_label(0.95), limit_label(0.998)
    ('95% limits (about 2 SD)', '99.8% limits (about 3 SD)')
    >>> limit_label(0.9)
    '90% limits (about 1.6 SD)'
    """
    z = float(norm.ppf(0.5 + level / 2))
    sd = f"{z:.0f}" if abs(z - round(z)) < 0.1 else f"{z:.1f}"
    return f"{level_percent(level)} limits (about {sd} SD)"


def direction_word(side: str, direction: object) -> str:
    """'better/worse than expected' for side 'above'/'below', '' without direction.

    Examples
    --------
    >>> direction_word("above", "decrease")
    'worse than expected'
    >>> direction_word("above", None)
    ''
    """
    value = check_direction(direction, where="direction_word")
    if value is None or side not in ("above", "below"):
        return ""
    good = "above" if value == "increase" else "below"
    return "better than expected" if side == good else "worse than expected"


def status_text(status: str, levels: Sequence[float], direction: object = None) -> str:
    """:func:`status_phrase`, with 'better'/'worse' only when a direction is given.

    Examples
    --------
    >>> status_text("below_998", (0.95, 0.998), "increase")
    'below the 99.8% limit, worse than expected'
    """
    words = status_phrase(status, levels)
    extra = direction_word(parse_status(status, levels)[0], direction)
    return f"{words}, {extra}" if extra else words


def widening_sentence(noun: str, *, widened: bool) -> str:
    """Say in words whether the funnel limits were widened for over-dispersion.

    The plain-language form of the over-dispersion step, without phi or tau^2,
    for text read by clinical leads (the steering report and
    ``FunnelResult.summary(technical=False)``).

    Examples
    --------
    >>> widening_sentence("sites", widened=False)
    'The results of the sites vary no more than chance alone would give, so the limits were not widened.'
    """  # noqa: E501
    if widened:
        return (
            f"The results of the {noun} vary more than chance alone would give, so "
            "the limits were widened to allow for it."
        )
    return (
        f"The results of the {noun} vary no more than chance alone would give, so "
        "the limits were not widened."
    )
