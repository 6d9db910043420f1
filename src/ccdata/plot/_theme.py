"""The ccdata look: Okabe-Ito colours, legible fonts, no red/amber/green.

Every plotting function draws with the named roles below, so a figure is
colour-blind safe whether or not :func:`theme` is active; :func:`theme` adds
fonts and sizes for a projector or an A4 page.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

from ccdata._params import check_choice

__all__ = ["PALETTE", "theme"]

#: The Okabe-Ito palette (Okabe & Ito 2008), in its published order.
PALETTE: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

# Roles. Grey and blue lines carry no judgement; there is no red/green pair.
INK = "#1A1A1A"  # limits, text
POINT = "#6E6E6E"  # ordinary units / points
ANON = "#A6A6A6"  # other units in a site's own view
TARGET = PALETTE["blue"]  # target / centre line
ACCENT = PALETTE["orange"]  # a mark that is not a result (e.g. a data check)
HIGHLIGHT = PALETTE["reddish_purple"]  # the site's own unit: no line uses it
SHADE = "#EDEDED"  # baseline shading, limit bands

# Making Data Count colours (NHS England 2019; as NHSRplotthedots) for
# special-cause marks: blue improvement and orange concern only when the
# indicator's direction is given, purple (neutral) without it; common-cause
# variation is grey.
IMPROVEMENT = "#00B0F0"
CONCERN = "#E46C0A"
NEUTRAL = "#490092"
COMMON_CAUSE = "#A6A6A6"


def signal_colour(side: str, direction: str | None) -> str:
    """Return the Making Data Count colour of a mark on ``side`` "above"/"below".

    ``side`` may also be "high"/"low" (SPC).

    Examples
    --------
    >>> signal_colour("above", "increase"), signal_colour("below", "increase")
    ('#00B0F0', '#E46C0A')
    >>> signal_colour("above", None)
    '#490092'
    """
    if direction is None or side not in ("above", "below", "high", "low"):
        return NEUTRAL
    up = side in ("above", "high")
    return IMPROVEMENT if up == (direction == "increase") else CONCERN


def point_type_colour(point_type: object, direction: str | None = None) -> str:
    """Return the Making Data Count colour of an SPC ``point_type``.

    Examples
    --------
    >>> point_type_colour("special_cause_concern"), point_type_colour("common_cause")
    ('#E46C0A', '#A6A6A6')
    >>> point_type_colour("special_cause_high", "decrease")
    '#E46C0A'
    """
    text = str(point_type)
    if text == "special_cause_improvement":
        return IMPROVEMENT
    if text == "special_cause_concern":
        return CONCERN
    if text.startswith("special_cause_"):
        return signal_colour(text.removeprefix("special_cause_"), direction)
    return COMMON_CAUSE


_SIZES = {
    # context: (base font, figure size in inches)
    "report": (10.0, (6.4, 4.2)),  # A4 page, half width to full width
    "projector": (14.0, (10.0, 6.0)),  # steering-group slides
}


def _rc(context: str = "report", dpi: int = 200) -> dict[str, Any]:
    from cycler import cycler

    base, figsize = _SIZES[context]
    return {
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
        "font.size": base,
        "axes.titlesize": base * 1.15,
        "axes.labelsize": base,
        "xtick.labelsize": base * 0.9,
        "ytick.labelsize": base * 0.9,
        "legend.fontsize": base * 0.85,
        "figure.titlesize": base * 1.25,
        "figure.figsize": figsize,
        "figure.dpi": 100,
        "savefig.dpi": dpi,
        "savefig.bbox": "tight",
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "axes.edgecolor": INK,
        "axes.labelcolor": INK,
        "text.color": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.color": "#DDDDDD",
        "grid.linewidth": 0.6,
        "axes.axisbelow": True,
        "axes.prop_cycle": cycler(color=list(PALETTE.values())[1:] + ["#000000"]),
        "lines.linewidth": 1.5,
        "lines.markersize": 6.0,
        "legend.frameon": False,
        "image.cmap": "cividis",
    }


@contextlib.contextmanager
def theme(
    *, context: Literal["report", "projector"] = "report", dpi: int = 200
) -> Iterator[None]:
    """Draw with the ccdata theme inside a ``with`` block.

    A :func:`matplotlib.rc_context` with the Okabe-Ito palette as the colour
    cycle, DejaVu Sans, font sizes legible on an A4 page (``"report"``) or on a
    projector (``"projector"``), and ``savefig.dpi`` for PNG output.

    Parameters
    ----------
    context : {"report", "projector"}, default "report"
        ``"report"``: 10 pt base font, 6.4 x 4.2 in figures (A4).
        ``"projector"``: 14 pt base font, 10 x 6 in figures (slides).
    dpi : int, default 200
        Resolution of saved PNG files; 150-300 suits print and screens.

    Raises
    ------
    InputError
        If ``context`` is unknown or ``dpi`` is not a positive integer.

    Notes
    -----
    No red/amber/green: the plotting functions mark a unit outside its limits
    by marker shape and fill, with one accent colour (orange).

    References
    ----------
    .. [1] Okabe M, Ito K (2008). Color Universal Design (CUD): how to make
       figures and presentations that are friendly to colorblind people.
       https://jfly.uni-koeln.de/color/

    Examples
    --------
    >>> import matplotlib
    >>> with theme(context="projector"):
    ...     print(matplotlib.rcParams["font.size"])
    14.0
    """
    from ccdata.errors import InputError

    check_choice(context, tuple(_SIZES), name="context", where="ccdata.plot.theme")
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi <= 0:
        raise InputError(
            f"The 'dpi' parameter of ccdata.plot.theme must be a positive "
            f"integer (150-300 suits PNG output). Got {dpi!r} instead."
        )
    import matplotlib

    rc: Any = _rc(context, dpi)  # matplotlib's stubs list every key
    with matplotlib.rc_context(rc):
        yield
