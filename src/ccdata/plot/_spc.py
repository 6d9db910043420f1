"""Run charts, SPC charts and small multiples of a :class:`ccdata.SPCResult`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ccdata.errors import InputError
from ccdata.plot import _theme as th
from ccdata.plot._common import (
    Direction,
    as_plot_x,
    check_direction,
    date_axis,
    fit_figure,
    get_ax,
    need_attr,
    need_columns,
    percent_axis,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ccdata.variation import SPCResult

__all__ = ["run_chart", "small_multiples", "spc", "mid_steps", "variation_label"]

# Columns of SPCResult.points (ccdata.variation.SPCResult), by their one name.
_POINT_COLUMNS = ("x", "y", "centre")
_BASELINE_COLUMN = "baseline"
_PHASE_COLUMN = "phase"
_SIGMA2_COLUMNS = ("lower_2sigma", "upper_2sigma")
_PERCENT_CHARTS = ("p", "pp")

LEGEND_OUTSIDE = "Outside the limits"
LEGEND_RUN = "Part of an unusually long run"
LEGEND_FEW_CROSSINGS = "Too few crossings of the centre line"
LEGEND_OTHER = "Other special-cause pattern"
LEGEND_PHASE = "New phase (limits recalculated)"


def mid_steps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of a step line centred on each point (as ``drawstyle='steps-mid'``).

    Each point's value holds from half-way after the previous point to half-way
    before the next; the line starts at the first point and ends at the last.

    Examples
    --------
    >>> xs, ys = mid_steps(np.array([1.0, 2.0, 4.0]), np.array([5.0, 6.0, 7.0]))
    >>> xs.tolist(), ys.tolist()
    ([1.0, 1.5, 1.5, 3.0, 3.0, 4.0], [5.0, 5.0, 6.0, 6.0, 7.0, 7.0])
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.size <= 1:
        return x.copy(), y.copy()
    mids = (x[:-1] + x[1:]) / 2
    xs = np.empty(2 * x.size)
    xs[0], xs[-1] = x[0], x[-1]
    xs[1:-1] = np.repeat(mids, 2)
    return xs, np.repeat(y, 2)


def variation_label(point_type: object, direction: str | None = None) -> str:
    """Making-Data-Count-style words for one point's ``point_type``.

    "high"/"low" become "improvement"/"concern" only with a direction.

    Examples
    --------
    >>> variation_label("special_cause_high")
    'Special-cause variation: high'
    >>> variation_label("special_cause_high", "decrease")
    'Special-cause variation: concern'
    """
    direction = check_direction(direction, where="variation_label")
    text = str(point_type)
    if text == "common_cause":
        return "Common-cause variation"
    kind = text.removeprefix("special_cause_")
    if kind in ("high", "low") and direction is not None:
        good = "high" if direction == "increase" else "low"
        kind = "improvement" if kind == good else "concern"
    return f"Special-cause variation: {kind}"


def _by_column(result: SPCResult, points: pd.DataFrame, by: str | None) -> list[str]:
    """Return the series columns: ``by`` if given, else ``result.by`` ([] for one).

    A result whose points name the series column ``unit`` (the one output
    name of the unit column) is read the same way.
    """
    if by is not None:
        if by not in points.columns and "unit" in points.columns:
            by = "unit"
        need_columns(points, (by,), where="ccdata.plot (result.points)")
        return [by]
    names = getattr(result, "by", None)
    names = [names] if isinstance(names, str) else list(names or ())
    cols = [c for c in names if c in points.columns]
    if names and not cols and "unit" in points.columns:
        cols = ["unit"]
    return cols


def _keys(points: pd.DataFrame, by: list[str]) -> pd.Series:
    if len(by) == 1:
        return points[by[0]].astype(str)
    return points[by].astype(str).agg(" ".join, axis=1)


def _select_series(
    result: SPCResult, series: object, where: str
) -> tuple[pd.DataFrame, str]:
    points = need_attr(result, "points", where=where, what="an SPCResult")
    need_columns(points, _POINT_COLUMNS, where=f"{where} (result.points)")
    by = _by_column(result, points, None)
    if not by:
        if series is not None:
            raise InputError(
                f"The 'series' parameter of {where} applies only to a result with "
                f"several series (spc(..., unit=...)). Got {series!r} instead."
            )
        return points, ""
    keys = _keys(points, by)
    if series is None:
        if keys.nunique() > 1:
            raise InputError(
                f"{where} draws one series; this result has {keys.nunique()} "
                f"(column {by!r}). Pass series=<id> or use "
                "ccdata.plot.small_multiples."
            )
        return points, str(keys.iloc[0]) if len(keys) else ""
    sel = keys == str(series)
    if not sel.any():
        raise InputError(
            f"The 'series' parameter of {where} must be a value of {by!r}. "
            f"Got {series!r}, which is not among the series."
        )
    return points[sel.to_numpy()], str(series)


def _direction(result: SPCResult, direction: object, where: str) -> Direction | None:
    if direction is None:
        direction = getattr(result, "direction", None)
    return check_direction(direction, where=where)


def _draw(
    ax: Axes,
    points: pd.DataFrame,
    *,
    chart: str,
    limits: bool,
    direction: str | None,
    variation_labels: bool,
    sigma2: bool,
    compact: bool,
    mult: float,
    dates: tuple[np.ndarray, bool, list[str] | None] | None = None,
    legend: bool = False,
) -> None:
    x, is_date, cats = dates if dates is not None else as_plot_x(points["x"])
    y = pd.to_numeric(points["y"], errors="coerce").to_numpy(dtype=float) * mult
    phase_col = _PHASE_COLUMN if _PHASE_COLUMN in points else None
    phase = (
        points[phase_col].astype(str).to_numpy() if phase_col else np.zeros(len(x), str)
    )
    starts = np.flatnonzero(np.r_[True, phase[1:] != phase[:-1]])
    bounds = list(zip(starts, np.r_[starts[1:], len(x)], strict=True))
    # Centre and limits are drawn only from the series' first to its last
    # observed point: they stop where a unit's data stop.
    seen = np.flatnonzero(np.isfinite(y))
    seen_lo, seen_hi = (int(seen[0]), int(seen[-1]) + 1) if seen.size else (0, 0)
    drawn = [(max(a, seen_lo), min(b, seen_hi)) for a, b in bounds]
    drawn = [(a, b) for a, b in drawn if b > a]

    def stepped(col: str) -> tuple[np.ndarray, np.ndarray]:
        v = pd.to_numeric(points[col], errors="coerce").to_numpy(dtype=float) * mult
        gap = np.array([np.nan])
        xs: list[np.ndarray] = []
        ys: list[np.ndarray] = []
        for a, b in drawn:
            sx, sy = mid_steps(x[a:b], v[a:b])
            xs += [sx, gap]
            ys += [sy, gap]
        if not xs:
            return np.array([np.nan]), np.array([np.nan])
        return np.concatenate(xs[:-1]), np.concatenate(ys[:-1])

    # Baseline (frozen limits) and phases, behind everything else.
    base_col = _BASELINE_COLUMN if _BASELINE_COLUMN in points else None
    if base_col is not None:
        base = points[base_col].fillna(False).astype(bool).to_numpy()
        for a, b in bounds:
            seg = base[a:b]
            if seg.any() and not seg.all():
                last = a + int(np.flatnonzero(seg)[-1])
                right = (x[last] + x[last + 1]) / 2 if last + 1 < len(x) else x[last]
                ax.axvspan(
                    x[a + int(np.flatnonzero(seg)[0])],
                    right,
                    color=th.SHADE,
                    zorder=0,
                    lw=0,
                    label="Baseline (limits frozen)",
                    gid="baseline",
                )
    for k, (a, _) in enumerate(bounds[1:]):
        ax.axvline(
            (x[a - 1] + x[a]) / 2,
            color=th.INK,
            ls=":",
            lw=1,
            zorder=1,
            gid="phase-break",
            label=LEGEND_PHASE if k == 0 else "_nolegend_",
        )
    if len(bounds) > 1 and not compact:
        from matplotlib.transforms import blended_transform_factory

        tr = blended_transform_factory(ax.transData, ax.transAxes)
        for a, b in bounds:
            ax.annotate(
                _phase_name(phase[a]),
                ((x[a] + x[b - 1]) / 2, 1.0),
                xycoords=tr,
                xytext=(0, _HEADER_GAP),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize="small",
                gid="phase-label",
                annotation_clip=False,
            )

    kw: dict[str, Any] = {"color": th.INK, "zorder": 2}
    cx, cy = stepped("centre")
    centre_text = "Median" if chart == "run" else "Centre line"
    ax.plot(cx, cy, lw=1.3, color=th.TARGET, zorder=2, label=centre_text, gid="centre")
    if limits and "upper" in points and "lower" in points:
        for j, col in enumerate(("lower", "upper")):
            lx, ly = stepped(col)
            if np.isfinite(ly).any():
                ax.plot(
                    lx,
                    ly,
                    lw=1.1,
                    ls="-",
                    gid=f"limit:{col}",
                    label="Control limits (3 sigma)" if j else "_nolegend_",
                    **kw,
                )
        if sigma2 and set(_SIGMA2_COLUMNS) <= set(points):
            for j, col in enumerate(_SIGMA2_COLUMNS):
                lx, ly = stepped(col)
                ax.plot(
                    lx,
                    ly,
                    lw=0.8,
                    ls="--",
                    gid=f"limit:{col}",
                    label="2-sigma lines" if j else "_nolegend_",
                    **kw,
                )

    # The data: a thin line (gaps stay gaps) and markers by signal.
    ax.plot(x, y, color=th.POINT, lw=1.0, zorder=3, gid="data-line")
    outside = _flag(points, "outside")
    # Points in an unusually long run are marked one by one; too few crossings
    # is a signal of the whole series (or phase), stated in words instead, so
    # that its points are not mislabelled as part of a long run.
    run_column = "long_run" if "long_run" in points else "run_signal"
    run = _flag(points, run_column) & ~outside
    few = "few_crossings" in points and _flag(points, "few_crossings").any()
    other = np.zeros(len(x), bool)
    if variation_labels and "point_type" in points:
        other = (
            (points["point_type"].astype(str).to_numpy() != "common_cause")
            & (points["point_type"].notna().to_numpy())
            & ~outside
            & ~run
        )
    plain = ~(outside | run | other) & np.isfinite(y)
    ms = 12 if compact else 22
    ax.scatter(
        x[plain],
        y[plain],
        s=ms,
        marker="o",
        color=th.COMMON_CAUSE if direction is not None else th.POINT,
        zorder=4,
        gid="points:common",
        label="_nolegend_",
    )
    colours = _mdc_colours(points, y, mult, direction)
    if outside.any():
        up = outside & (
            y
            >= np.nan_to_num(
                pd.to_numeric(points["centre"], errors="coerce").to_numpy() * mult
            )
        )
        label = LEGEND_OUTSIDE
        for sel, marker in ((up, "^"), (outside & ~up, "v")):
            if sel.any():
                ax.scatter(
                    x[sel],
                    y[sel],
                    s=ms * 2.2,
                    marker=marker,
                    color=list(colours[sel]),
                    edgecolors=th.INK,
                    linewidths=0.7,
                    zorder=5,
                    gid="points:outside",
                    label=label,
                )
                label = "_nolegend_"
    if run.any():
        ax.scatter(
            x[run],
            y[run],
            s=ms * 1.6,
            marker="s",
            facecolors="white",
            edgecolors=list(colours[run]),
            linewidths=1.4,
            zorder=5,
            gid="points:run",
            label=LEGEND_RUN,
        )
    if other.any():
        ax.scatter(
            x[other],
            y[other],
            s=ms * 1.8,
            marker="D",
            facecolors="white",
            edgecolors=list(colours[other]),
            linewidths=1.2,
            zorder=5,
            gid="points:other",
            label=LEGEND_OTHER,
        )
    # Words above the axes, one row each, never over the data or the limits:
    # phase names (drawn above), the latest point's variation, few crossings.
    row = 1 if len(bounds) > 1 and not compact else 0
    if variation_labels and "point_type" in points:
        types = points["point_type"].dropna()
        if len(types):
            text = variation_label(types.iloc[-1], direction)
            if compact:
                text = text.replace(" variation", "").replace("-cause", " cause")
                if few:  # one short note in a small panel's title row
                    text, few = f"{text}; few crossings", False
                t = ax.set_title(
                    text, loc="right", color=th.INK, fontsize="x-small", pad=2
                )
                t.set_gid("variation-label")
            else:
                _header(ax, text, row, gid="variation-label")
                row += 1
    if few:
        if compact:
            t = ax.set_title(
                "Few crossings", loc="right", color=th.INK, fontsize="x-small", pad=2
            )
            t.set_gid("few-crossings")
        elif legend:  # in the legend, beside the axes: never over the data
            from matplotlib.lines import Line2D

            ax.add_line(
                Line2D(
                    [],
                    [],
                    alpha=0.0,
                    gid="few-crossings",
                    label=LEGEND_FEW_CROSSINGS + "\n(a signal of the whole series)",
                )
            )
        else:
            _header(
                ax,
                LEGEND_FEW_CROSSINGS + " (a signal of the whole series)",
                row,
                gid="few-crossings",
            )

    if is_date:
        date_axis(ax, maxticks=4 if compact else 8)
    elif cats is not None:
        ax.set_xticks(np.arange(len(cats)), cats)
    if mult == 100.0 and chart in _PERCENT_CHARTS:
        percent_axis(ax.yaxis)


_HEADER_GAP = 2.0  # points between the axes and the first row of words
_HEADER_GIDS = ("phase-label", "variation-label", "few-crossings")


def _row_height() -> float:
    from matplotlib.font_manager import FontProperties

    return 1.45 * FontProperties(size="small").get_size_in_points()


def _header(
    ax: Axes,
    text: str,
    row: int,
    *,
    gid: str,
    fontsize: str = "small",
    ha: str = "left",
    x: float = 0.0,
) -> None:
    """Write ``text`` in row ``row`` above the axes (row 0 is the lowest)."""
    ax.annotate(
        text,
        (x, 1.0),
        xycoords="axes fraction",
        xytext=(0, _HEADER_GAP + row * _row_height()),
        textcoords="offset points",
        ha=ha,
        va="bottom",
        fontsize=fontsize,
        color=th.INK,
        gid=gid,
        annotation_clip=False,
    )


def _header_rows(ax: Axes) -> int:
    return len({t.get_gid() for t in ax.texts if t.get_gid() in _HEADER_GIDS})


def _mdc_colours(
    points: pd.DataFrame, y: np.ndarray, mult: float, direction: str | None
) -> np.ndarray:
    """Give every point its Making Data Count colour (grey for common cause).

    From ``point_type`` when the result has it; otherwise from the point's
    side of the centre line and the direction (purple without one).
    """
    centre = pd.to_numeric(points["centre"], errors="coerce").to_numpy(dtype=float)
    side = np.where(y >= centre * mult, "high", "low")
    by_side = np.array([th.signal_colour(s, direction) for s in side], dtype=object)
    if "point_type" not in points:
        return by_side
    types = points["point_type"].astype(object).to_numpy()
    out = by_side.copy()
    known = pd.notna(types) & (types.astype(str) != "common_cause")
    for i in np.flatnonzero(known):
        out[i] = th.point_type_colour(types[i], direction)
    return out


def _flag(points: pd.DataFrame, col: str) -> np.ndarray:
    if col not in points:
        return np.zeros(len(points), bool)
    return points[col].fillna(False).astype(bool).to_numpy()


def _phase_name(value: str) -> str:
    return f"Phase {value}" if value.lstrip("-").isdigit() else value


def spc(
    result: SPCResult,
    *,
    series: object | None = None,
    direction: Direction | None = None,
    variation_labels: bool = False,
    sigma2: bool = False,
    multiplier: float | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Draw an SPC chart: points, centre line, stepped limits, phases, baseline.

    Parameters
    ----------
    result : SPCResult
        From :func:`ccdata.spc`; ``result.points`` (columns ``x, y, centre,
        lower, upper, outside, run_signal``, plus phase, baseline,
        ``point_type`` and 2-sigma columns when present) is drawn as it is.
    series : id, optional
        Which series to draw when the result has several (``spc(by=...)``).
    direction : {"increase", "decrease"}, optional
        Higher values are better ("increase") or lower ("decrease"); default
        the result's ``improvement``. Lets the variation labels say
        "improvement"/"concern" instead of "high"/"low" and colours
        special-cause points in Making Data Count colours (blue improvement,
        orange concern; purple without a direction; common cause grey).
        ``"higher_is_better"``/``"lower_is_better"`` are accepted as synonyms.
        Nothing else changes.
    variation_labels : bool, default False
        Making-Data-Count-style label of the latest point's variation, and
        other special-cause points (trend, 2 of 3) marked.
    sigma2 : bool, default False
        Also draw the 2-sigma lines when the result has them.
    multiplier : float, optional
        Scale of the value axis: default 100 for p and p′ charts (shown as
        percentages), 1 otherwise; e.g. 1000 for a rate per 1,000 days.
    title, xlabel, ylabel : str, optional
        Texts; by default the series id is the title.
    legend : bool, default True
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        If the result lacks the SPC columns, or has several series and
        ``series`` is not given or not found.

    Notes
    -----
    Limits that vary with the denominator are drawn as steps centred on each
    point (:func:`mid_steps`) and break between phases; a frozen baseline is
    shaded. Points outside the limits are accent-coloured triangles (up above,
    down below); points in an unusually long run are hollow accent squares.

    References
    ----------
    .. [1] Anhøj J, Olesen AV (2014). Run charts revisited. PLoS ONE 9:e113825.
    .. [2] NHS England (2019). Making Data Count.

    Examples
    --------
    >>> xs, ys = mid_steps(np.arange(3.0), np.array([0.2, 0.3, 0.25]))
    >>> len(xs)
    6
    """
    where = "ccdata.plot.spc"
    direction = _direction(result, direction, where)
    points, name = _select_series(result, series, where)
    ax = get_ax(ax)
    chart = str(getattr(result, "chart", "") or "")
    mult = _multiplier(chart, multiplier, where)
    _draw(
        ax,
        points,
        chart=chart,
        limits=chart != "run",
        direction=direction,
        variation_labels=variation_labels,
        sigma2=sigma2,
        compact=False,
        mult=mult,
        legend=legend,
    )
    _finish(
        ax, title if title is not None else name, xlabel, ylabel, legend, chart, mult
    )
    fit_figure(ax)
    return ax


def run_chart(
    result: SPCResult,
    *,
    series: object | None = None,
    direction: Direction | None = None,
    multiplier: float | None = None,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Draw a run chart: points, the median, and Anhøj run signals; no limits.

    Parameters
    ----------
    result : SPCResult
        From :func:`ccdata.spc` (any chart; ``chart="run"`` gives the median
        as centre). Control limits, if any, are not drawn.
    series, direction, multiplier, title, xlabel, ylabel, legend, ax
        As for :func:`spc`.

    Returns
    -------
    matplotlib.axes.Axes

    References
    ----------
    .. [1] Anhøj J, Olesen AV (2014). Run charts revisited. PLoS ONE 9:e113825.
    """
    where = "ccdata.plot.run_chart"
    direction = _direction(result, direction, where)
    points, name = _select_series(result, series, where)
    ax = get_ax(ax)
    chart = str(getattr(result, "chart", "") or "")
    mult = _multiplier(chart, multiplier, where)
    _draw(
        ax,
        points,
        chart="run" if chart in ("", "run") else chart,
        limits=False,
        direction=direction,
        variation_labels=False,
        sigma2=False,
        compact=False,
        mult=mult,
        legend=legend,
    )
    _finish(
        ax, title if title is not None else name, xlabel, ylabel, legend, chart, mult
    )
    fit_figure(ax)
    return ax


def _multiplier(chart: str, multiplier: float | None, where: str) -> float:
    if multiplier is None:
        return 100.0 if chart in _PERCENT_CHARTS else 1.0
    if isinstance(multiplier, bool) or not np.isfinite(multiplier) or multiplier <= 0:
        raise InputError(
            f"The 'multiplier' parameter of {where} must be a positive number "
            f"(e.g. 1000 for a rate per 1,000). Got {multiplier!r} instead."
        )
    return float(multiplier)


def _common_limits(axes: list[Axes], sharey: bool) -> None:
    """Give every panel the same x range (and y range when ``sharey``)."""
    boxes = [ax.dataLim for ax in axes]
    x0 = min(b.x0 for b in boxes)
    x1 = max(b.x1 for b in boxes)
    pad = (x1 - x0) * 0.04 or 0.5
    y0 = min(b.y0 for b in boxes)
    y1 = max(b.y1 for b in boxes)
    ypad = (y1 - y0) * 0.06 or 0.5
    for ax in axes:
        ax.set_xlim(x0 - pad, x1 + pad)
        if sharey and np.isfinite([y0, y1]).all():
            ax.set_ylim(y0 - ypad, y1 + ypad)
    # Ticks computed once and fixed on every panel (date locators are costly).
    from matplotlib.ticker import FixedFormatter, FixedLocator

    axises = [lambda a: a.xaxis] + ([lambda a: a.yaxis] if sharey else [])
    for get in axises:
        first = get(axes[0])
        lo, hi = sorted(first.get_view_interval())
        values = [v for v in first.get_major_locator()() if lo <= v <= hi]
        labels = first.get_major_formatter().format_ticks(values)
        for ax in axes:
            get(ax).set_major_locator(FixedLocator(values))
            get(ax).set_major_formatter(FixedFormatter(labels))


def _finish(
    ax: Axes,
    title: str,
    xlabel: str | None,
    ylabel: str | None,
    legend: bool,
    chart: str,
    mult: float,
) -> None:
    if title:
        ax.set_title(
            title, loc="left", pad=6 + _HEADER_GAP + _header_rows(ax) * _row_height()
        )
    ax.set_xlabel(xlabel if xlabel is not None else "")
    if chart in _PERCENT_CHARTS and mult == 100:
        default_y = "Percentage"
    else:
        default_y = "Value" if mult == 1 else f"Value x {mult:,g}"
    ax.set_ylabel(ylabel if ylabel is not None else default_y)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")


def small_multiples(
    result: SPCResult,
    *,
    by: str | None = None,
    sharey: bool = True,
    ncols: int | None = None,
    limits: bool = True,
    direction: Direction | None = None,
    variation_labels: bool = False,
    multiplier: float | None = None,
    title: str | None = None,
    panel_size: tuple[float, float] = (1.9, 1.25),
    fig: Figure | None = None,
) -> np.ndarray:
    """One small SPC (or run) chart per series, in series-id order.

    Parameters
    ----------
    result : SPCResult
        From :func:`ccdata.spc` with ``by=``.
    by : str, optional
        The series column; default ``result.by``.
    sharey : bool, default True
        Shared y axis (compare levels) or free (see each site's own pattern).
    ncols : int, optional
        Panels per row; default about the square root of the number of series.
    limits : bool, default True
        Draw the control limits (False: run charts).
    direction, variation_labels, multiplier
        As for :func:`spc`.
    title : str, optional
        Figure title.
    panel_size : (float, float), default (1.9, 1.25)
        Size of one panel in inches when a new figure is made.
    fig : matplotlib.figure.Figure, optional
        Figure to draw on; default a new pyplot figure.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        Shape (rows, ncols); panels in series-id order, row by row. Unused
        panels are switched off.

    Notes
    -----
    The panels are ordered by series identifier, never by performance.
    """
    where = "ccdata.plot.small_multiples"
    direction = _direction(result, direction, where)
    points = need_attr(result, "points", where=where, what="an SPCResult")
    need_columns(points, _POINT_COLUMNS, where=f"{where} (result.points)")
    by_cols = _by_column(result, points, by)
    if not by_cols:
        raise InputError(
            f"{where} needs a result with several series: pass by=<column> or "
            "compute the result with spc(..., unit='site_id')."
        )
    points = points.reset_index(drop=True)
    key = by_cols if len(by_cols) > 1 else by_cols[0]
    groups = list(points.groupby(key, sort=True, dropna=False))
    n = len(groups)
    if ncols is None:
        ncols = max(1, math.ceil(math.sqrt(n * 1.4)))
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise InputError(
            f"The 'ncols' parameter of {where} must be a positive integer. "
            f"Got {ncols!r} instead."
        )
    nrows = max(1, math.ceil(n / ncols))
    width, height = panel_size[0] * ncols + 0.6, panel_size[1] * nrows + 0.9
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(width, height))
    else:
        width, height = fig.get_size_inches()
    # Common axis ranges are set once at the end: Matplotlib's shared axes
    # re-autoscale every sibling on each artist added (slow for 36+ panels).
    axes = fig.subplots(nrows, ncols, squeeze=False)
    from matplotlib.ticker import MaxNLocator

    chart = str(getattr(result, "chart", "") or "")
    mult = _multiplier(chart, multiplier, where)
    xall = as_plot_x(points["x"])
    for k, (key, grp) in enumerate(groups):
        ax = axes.flat[k]
        rows = grp.index.to_numpy()
        dates = (xall[0][rows], xall[1], xall[2])
        _draw(
            ax,
            grp,
            chart=chart,
            limits=limits and chart != "run",
            direction=direction,
            variation_labels=variation_labels,
            sigma2=False,
            compact=True,
            dates=dates,
            mult=mult,
        )
        ax.set_title(
            " ".join(map(str, key)) if isinstance(key, tuple) else str(key),
            fontsize="small",
            loc="left",
            pad=2,
        )
        ax.tick_params(labelsize="x-small")
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    used = list(axes.flat[:n])
    if used:
        _common_limits(used, sharey)
        for k, ax in enumerate(used):
            bottom = k + ncols >= n  # no used panel below this one
            ax.tick_params(labelbottom=bottom, labelleft=not sharey or k % ncols == 0)
    handles: dict[str, Any] = {}
    for ax in axes.flat[:n]:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, h)
    if handles:  # one legend for the figure, under the panels
        fig.legend(
            list(handles.values()),
            list(handles),
            loc="lower center",
            bbox_to_anchor=(0.5, 0.0),
            ncols=min(len(handles), 4),
            fontsize="small",
            frameon=False,
        )
    if title is not None:
        fig.suptitle(title)
    fig.subplots_adjust(
        left=0.5 / width,
        right=1 - 0.1 / width,
        bottom=0.75 / height,
        top=1 - (0.55 if title else 0.3) / height,
        hspace=0.55,
        wspace=0.25 if sharey else 0.4,
    )
    return axes
