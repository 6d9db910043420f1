"""Helpers shared by the plotting modules: axes, checks, neutral wording."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ccdata._wording import Direction, check_direction, direction_word, status_text
from ccdata.errors import InputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# One direction vocabulary ("increase" | "decrease" | None) and every status
# word come from ccdata._wording, built from a result's own levels.
__all__ = [
    "Direction",
    "as_plot_x",
    "check_direction",
    "date_axis",
    "direction_word",
    "fit_figure",
    "fmt_number",
    "get_ax",
    "get_site_view_ax",
    "need_attr",
    "need_columns",
    "percent_axis",
    "result_levels",
    "status_text",
]


def get_ax(ax: Axes | None, *, site_view: bool = False, where: str = "") -> Axes:
    """Return ``ax``, or the current pyplot Axes (pyplot imported lazily).

    With ``site_view=True`` (a site's own view, ``highlight=``) the rules of
    :func:`get_site_view_ax` apply instead.
    """
    if site_view:
        return get_site_view_ax(ax, where=where)
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    return plt.gca()


def fit_figure(ax: Axes) -> None:
    """Let a figure hold what is drawn outside its Axes (legend, caption, title).

    The legend sits right of the axes and the caption under them. The theme's
    ``savefig.bbox = "tight"`` keeps them in a saved file; so that a figure
    saved without the theme (``ax.figure.savefig(...)`` in a script) is
    complete too, a figure with this one Axes, no layout engine and the
    default subplot margins is given matplotlib's constrained layout, which
    makes room for them. A figure whose margins were set
    (``subplots_adjust``), that has a layout engine, or holds other Axes, is
    left as it is: its owner laid it out.
    """
    import matplotlib as mpl

    fig = ax.figure.figure  # the root figure (of a subfigure too)
    if fig is None or fig.get_layout_engine() is not None or len(fig.axes) != 1:
        return
    if getattr(fig, "_ccdata_no_layout", False):
        return
    pars = fig.subplotpars
    rc: Any = mpl.rcParams
    if any(
        getattr(pars, k) != rc[f"figure.subplot.{k}"]
        for k in ("left", "right", "bottom", "top")
    ):
        return
    fig.set_layout_engine("constrained")


def get_site_view_ax(ax: Axes | None, *, where: str) -> Axes:
    """Axes for a site's own view: a new figure, or an ``ax`` with nothing on it.

    With ``ax=None`` a new pyplot figure is made (never the current Axes, which
    may hold another site's labels from an earlier call). A given ``ax`` that
    already holds artists is refused: anything drawn before could name another
    site, and the site's own view must show none.
    """
    if ax is None:
        import matplotlib.pyplot as plt

        return plt.figure().add_subplot()
    drawn = (
        ax.has_data()
        or ax.texts
        or ax.artists
        or ax.tables
        or ax.get_legend() is not None
    )
    if drawn:
        raise InputError(
            f"{where}: a site's own view (highlight=...) must be drawn on an empty "
            "Axes, so that nothing drawn before (e.g. other sites' labels) appears "
            "in it. Got an Axes that already holds artists; pass ax=None (a new "
            "figure) or a fresh Axes."
        )
    return ax


def result_levels(result: object, *, where: str) -> tuple[float, ...]:
    """Return the coverage levels a funnel result was computed with, ascending.

    Read from ``result.levels`` (a :class:`ccdata.comparison.FunnelResult`
    always has them); an InputError names what was expected otherwise.
    """
    levels = need_attr(result, "levels", where=where, what="a FunnelResult")
    try:
        out = tuple(sorted(float(v) for v in levels))
    except (TypeError, ValueError):
        out = ()
    if not out or not all(0 < v < 1 for v in out):
        raise InputError(
            f"{where}: result.levels must be coverage probabilities in (0, 1). "
            f"Got {levels!r} instead."
        )
    return out


def need_attr(result: Any, name: str, *, where: str, what: str) -> Any:
    """``getattr(result, name)`` or an InputError naming what was expected."""
    if not hasattr(result, name):
        raise InputError(
            f"{where} needs {what} (an object with a '{name}' attribute). "
            f"Got {type(result).__name__} instead."
        )
    return getattr(result, name)


def need_columns(frame: Any, columns: tuple[str, ...], *, where: str) -> None:
    """Raise InputError if ``frame`` is not a DataFrame holding ``columns``."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            f"{where} needs a pandas DataFrame. Got {type(frame).__name__} instead."
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"{where}: column(s) {missing!r} not found. "
            f"Available columns: {list(map(str, frame.columns))!r}."
        )


def as_plot_x(values: pd.Series) -> tuple[np.ndarray, bool, list[str] | None]:
    """Numeric x positions, whether they are dates, and category labels if any.

    Dates (datetime64 or pandas Period, e.g. quarters) become Matplotlib date
    numbers (a period at its first day); strings that parse as dates
    ("2024-04") or name quarters ("2023Q2", "2023-Q2") become dates too, so a
    quarterly axis has date ticks, not label strings; other strings become
    positions 0..n-1 in their given order, labelled by the strings.
    """
    from matplotlib import dates as mdates

    s = pd.Series(values).reset_index(drop=True)
    if (
        s.dtype == object
        and len(s)
        and s.map(lambda v: isinstance(v, pd.Period) or v is None or v is pd.NaT).all()
    ):
        s = pd.Series(pd.PeriodIndex(s))  # Period objects held as objects
    if isinstance(s.dtype, pd.PeriodDtype):
        s = s.dt.to_timestamp()
    elif not pd.api.types.is_numeric_dtype(s) and len(s):
        quarters = _quarters(s)
        if quarters is not None:
            s = quarters
    if pd.api.types.is_datetime64_any_dtype(s):
        stamps = pd.to_datetime(s).dt.tz_localize(None)
        return mdates.date2num(stamps.to_numpy(dtype="datetime64[ns]")), True, None
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float), False, None
    try:
        stamps = pd.to_datetime(s.astype(str), format="ISO8601")
    except (ValueError, TypeError):
        labels = [str(v) for v in pd.unique(s)]
        pos = {v: i for i, v in enumerate(labels)}
        return np.array([pos[str(v)] for v in s], dtype=float), False, labels
    return mdates.date2num(stamps.to_numpy(dtype="datetime64[ns]")), True, None


_QUARTER = r"^\s*(\d{4})\s*-?\s*Q([1-4])\s*$"


def _quarters(s: pd.Series) -> pd.Series | None:
    """Quarter labels ("2023Q2", "2023-Q2") as the quarters' first days, else None.

    Examples
    --------
    >>> _quarters(pd.Series(["2023Q2", "2023-Q3"])).dt.strftime("%Y-%m-%d").tolist()
    ['2023-04-01', '2023-07-01']
    >>> _quarters(pd.Series(["north", "south"])) is None
    True
    """
    text = s.astype(str)
    parts = text.str.extract(_QUARTER)
    if parts.isna().any(axis=None):
        return None
    year = parts[0].astype(int)
    month = (parts[1].astype(int) - 1) * 3 + 1
    return pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1}))


def fmt_number(
    value: float, *, percent: bool = False, digits: int | None = None
) -> str:
    """Short, plain number formatting for labels and descriptions."""
    if value is None or not np.isfinite(value):
        return "n/a"
    if digits is None and not percent and 0 < abs(value) < 0.1:
        return f"{value:.3g}"
    if digits is None:
        digits = 1 if percent or abs(value) >= 10 else 2
    text = f"{value:,.{digits}f}"
    return f"{text}%" if percent else text


def tick_decimals(values: Any, most: int = 3) -> int:
    """Fewest decimals (0..most) that write every tick value exactly.

    Examples
    --------
    >>> tick_decimals([96.5, 97.0, 97.5]), tick_decimals([0, 10, 20])
    (1, 0)
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    for d in range(most + 1):
        if np.allclose(np.round(v, d), v, rtol=0, atol=10 ** -(most + 2)):
            return d
    return most


def percent_axis(axis: Any) -> None:
    """Percent tick labels with as few decimals as the ticks need.

    "97.5%" rather than "97.50%", "20%" rather than "20.0%"; all ticks of
    the axis share one number of decimals.
    """
    from matplotlib.ticker import Formatter

    class _Percent(Formatter):
        def __call__(self, x: float, pos: int | None = None) -> str:
            return f"{x:.{tick_decimals([x])}f}%"

        def format_ticks(self, values: Any) -> list[str]:
            d = tick_decimals(values)
            return [f"{v:.{d}f}%" for v in values]

    axis.set_major_formatter(_Percent())


def date_axis(ax: Axes, *, maxticks: int = 7) -> None:
    """Concise date ticks (no overlapping labels) on the x axis."""
    from matplotlib import dates as mdates

    ax.xaxis_date()
    locator = mdates.AutoDateLocator(minticks=2, maxticks=maxticks)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
