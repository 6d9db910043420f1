"""Funnel plot of a :class:`ccdata.FunnelResult`: comparison without ranking."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ccdata._params import check_choice, level_suffix
from ccdata._wording import (
    check_direction,
    direction_word,
    level_percent,
    limit_label,
    parse_status,
    status_legend,
    status_names,
    status_short,
)
from ccdata.errors import InputError
from ccdata.plot import _theme as th
from ccdata.plot._common import (
    Direction,
    fit_figure,
    fmt_number,
    get_ax,
    need_attr,
    need_columns,
    percent_axis,
    result_levels,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ccdata.comparison import FunnelResult

__all__ = [
    "FLAG_LABEL",
    "centre_label",
    "flagged_mask",
    "funnel",
    "funnel_caption",
    "limit_styles",
    "overdispersion_text",
    "status_styles",
]

#: Default legend text of the ring marking units with poor case ascertainment.
FLAG_LABEL = "Case ascertainment below 80%"

_UNIT_COLUMNS = ("unit", "numerator", "denominator", "value", "status")


def status_styles(levels: tuple[float, ...]) -> list[tuple[str, str, bool, str]]:
    """(status, marker, filled, legend text) for every status of ``levels``.

    Shape and fill carry the status (triangle up: above, down: below; hollow
    beyond an inner limit, filled beyond the widest), never red/green.

    Examples
    --------
    >>> [s[0] for s in status_styles((0.9, 0.99))]
    ['within', 'above_90', 'above_99', 'below_90', 'below_99', 'not_assessed']
    >>> status_styles((0.9, 0.99))[2]
    ('above_99', '^', True, 'Above the 99% limit')
    """
    widest = max(levels)
    out = []
    for st in status_names(levels):
        side, level = parse_status(st, levels)
        if side == "within":
            out.append((st, "o", True, status_legend(st, levels)))
        elif side == "not_assessed":
            out.append((st, "o", False, status_legend(st, levels)))
        else:
            out.append(
                (
                    st,
                    "^" if side == "above" else "v",
                    level == widest,
                    status_legend(st, levels),
                )
            )
    return out


def limit_styles(levels: tuple[float, ...]) -> list[tuple[str, str, str, float]]:
    """(column suffix, line style, legend text, line width) for each level.

    The widest limits are solid, the inner ones dashed.

    Examples
    --------
    >>> for style in limit_styles((0.9, 0.99)):
    ...     print(style)
    ('90', '--', '90% limits (about 1.6 SD)', 1.1)
    ('99', '-', '99% limits (about 2.6 SD)', 1.3)
    """
    widest = max(levels)
    return [
        (
            level_suffix(v),
            "-" if v == widest else "--",
            limit_label(v),
            1.3 if v == widest else 1.1,
        )
        for v in sorted(levels)
    ]


def centre_label(result: FunnelResult, value: str) -> str:
    """Legend text of the funnel's centre line.

    "Target" only when the result says its target was given
    (``result.target_given``); otherwise "Community average" (the pooled
    value of the units), or "As expected" for a ratio's centre of 1.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> centre_label(SimpleNamespace(kind="proportion"), "79.5%")
    'Community average (79.5%)'
    >>> centre_label(SimpleNamespace(kind="ratio"), "1")
    'As expected (ratio 1)'
    """
    if bool(getattr(result, "target_given", False)):
        return f"Target ({value})"
    if str(getattr(result, "kind", "proportion")) == "ratio":
        return f"As expected (ratio {value})"
    return f"Community average ({value})"


_KIND_WORDS = {
    "proportion": "proportion",
    "ratio": "ratio (observed / expected)",
    "ratio_of_counts": "ratio of two counts",
    "mean": "mean",
}


def _multiplier(result: Any, multiplier: float | None) -> tuple[float, float, bool]:
    """(factor applied to the result's numbers, final scale, shown as percent).

    The result's values, limits and target are already on its reported scale
    (``result.multiplier``, default 1); the final scale is relative to the raw
    proportion / ratio.
    """
    kind = str(getattr(result, "kind", "proportion"))
    reported = float(getattr(result, "multiplier", 1.0) or 1.0)
    if multiplier is None:
        final = 100.0 if kind == "proportion" else reported
    else:
        if (
            isinstance(multiplier, bool)
            or not np.isfinite(multiplier)
            or multiplier <= 0
        ):
            raise InputError(
                "The 'multiplier' parameter of ccdata.plot.funnel must be a positive "
                f"number (e.g. 100 to show ratios x100). Got {multiplier!r} instead."
            )
        final = float(multiplier)
    return final / reported, final, kind == "proportion" and final == 100.0


def flagged_mask(ids: np.ndarray, flagged: Any, *, where: str) -> np.ndarray:
    """Boolean mask of ``ids`` that are in ``flagged`` (a unit id or an iterable).

    Raises InputError if ``flagged`` names an id that is not a unit.
    """
    if flagged is None:
        return np.zeros(len(ids), dtype=bool)
    if isinstance(flagged, str | bytes) or not hasattr(flagged, "__iter__"):
        flagged = [flagged]
    wanted = {str(f) for f in flagged}
    unknown = sorted(wanted - set(map(str, ids)))
    if unknown:
        raise InputError(
            f"The 'flagged' parameter of {where} must list units of the result. "
            f"Got {unknown!r}, which are not among its units."
        )
    return np.isin(ids.astype(str), list(wanted))


def overdispersion_text(result: Any) -> str:
    """Plain words on whether the limits allow for over-dispersion.

    Reads ``overdispersion`` / ``overdispersion_applied`` when the result has
    them, otherwise infers from ``tau2`` (additive) and ``phi`` (multiplicative).
    """
    od = getattr(result, "overdispersion", None)
    applied = getattr(result, "overdispersion_applied", None)

    def number(name: str) -> float:
        try:
            return float(getattr(result, name, None))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return float("nan")

    phi, tau2 = number("phi"), number("tau2")

    def finite(v: float) -> bool:
        return bool(np.isfinite(v))

    if hasattr(result, "overdispersion"):
        if od in (None, False, "none"):
            return "over-dispersion not allowed for"
    else:  # infer from the estimates the result carries
        if finite(tau2) and float(tau2) > 0:
            od = "additive"
        elif finite(phi) and float(phi) > 1 and not finite(tau2):
            od = "multiplicative"
        else:
            return "over-dispersion not allowed for"
    if applied is False:
        return f"over-dispersion tested ({od}), none found: limits unadjusted"
    if od == "additive" and finite(tau2):
        return f"over-dispersion allowed for (additive, tau\u00b2 = {float(tau2):.3g})"
    if finite(phi):
        return f"over-dispersion allowed for ({od}, phi = {float(phi):.3g})"
    return f"over-dispersion allowed for ({od})"


def funnel_caption(result: Any, *, period: str | None = None) -> str:
    """Write the funnel caption: method, period, number of units, over-dispersion.

    Parameters
    ----------
    result : FunnelResult
        The result of :func:`ccdata.funnel`.
    period : str, optional
        The period the data cover, e.g. ``"April 2025 to March 2026"``.

    Returns
    -------
    str
        One sentence, never naming a unit.
    """
    units = need_attr(result, "units", where="funnel_caption", what="a FunnelResult")
    kind = str(getattr(result, "kind", "proportion"))
    method = getattr(result, "method", None)
    parts = [f"Funnel plot of a {_KIND_WORDS.get(kind, kind)}"]
    if method is not None:
        parts[0] += f", {method} limits"
    if period is not None:
        parts.append(f"period: {period}")
    parts.append(f"{len(units)} units")
    parts.append(overdispersion_text(result))
    return "; ".join(parts) + "."


def funnel(
    result: FunnelResult,
    *,
    highlight: object | None = None,
    labels: Literal["none", "outside", "all"] = "none",
    direction: Direction | None = None,
    multiplier: float | None = None,
    log_denominator: bool = False,
    period: str | None = None,
    caption: bool = True,
    title: str | None = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: bool = True,
    flagged: Any = None,
    flag_label: str = FLAG_LABEL,
    centre: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw a funnel plot: each unit against its volume, with control limits.

    Parameters
    ----------
    result : FunnelResult
        From :func:`ccdata.funnel`; its ``.units`` (one row per unit,
        columns ``unit, numerator, denominator, value, status``) and
        ``.curve`` (``lower_<sfx>``/``upper_<sfx>`` for each of
        ``result.levels``) are drawn as they are. Every word and line comes
        from ``result.levels``: ``levels=(0.9, 0.99)`` reads 90% and 99%.
    highlight : unit id, optional
        The site's own view: this unit is drawn prominently and labelled; every
        other unit is an anonymous grey point and no other identifier appears
        anywhere in the figure. The view is always drawn on an empty Axes:
        with ``ax=None`` on a new figure (not the current Axes, which may hold
        an earlier figure's labels); a given ``ax`` must be empty.
    labels : {"none", "outside", "all"}, default "none"
        Unit identifiers for the steering group's view: none, only units
        outside the inner limits, or all. Labels are moved apart so that none
        overlaps another (adjustText). Must be "none" with ``highlight``.
    direction : {"increase", "decrease"}, optional
        Higher values are better ("increase") or lower ("decrease"). Only
        when given do the legend and labels say "better"/"worse" than expected
        and the markers take the Making Data Count colours (blue improvement,
        orange concern); otherwise the wording stays "above"/"below" in one
        neutral purple. ``"higher_is_better"``/``"lower_is_better"`` are
        accepted as synonyms.
    multiplier : float, optional
        Scale of the value axis. Default: 100 for proportions (shown as
        percentages), 1 otherwise (ratios around 1); pass 100 for ratios x100.
    log_denominator : bool, default False
        Log-scaled denominator (x) axis, for very different unit sizes.
    period : str, optional
        The period the data cover, stated in the caption.
    caption : bool, default True
        Write the caption (method, period, number of units, over-dispersion)
        under the axes.
    title, xlabel, ylabel : str, optional
        Override the default texts.
    legend : bool, default True
        Draw the legend.
    flagged : unit id or iterable of unit ids, optional
        Units whose data may be incomplete (e.g. case ascertainment below
        80%, the ``ascertainment_concern`` of :func:`ccdata.data_quality`),
        so that missing records are not mistaken for good results. Each is
        circled by a dotted ring, with one legend entry ``flag_label``. In a
        site's own view the other flagged units are ringed anonymously
        (never named).
    flag_label : str, default "Case ascertainment below 80%"
        Legend text of the ring.
    centre : str, optional
        Name of the centre line in the legend, e.g. ``"Standard"``. Default:
        "Target" when the result records a given target
        (``result.target_given``), "As expected" for a ratio, else
        "Community average" (the pooled value of the units).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default the current Axes (a new figure with
        ``highlight``).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    InputError
        If ``result`` lacks the funnel columns, ``labels`` is unknown,
        ``labels`` is not "none" with ``highlight``, ``highlight`` or a
        ``flagged`` id is not a unit of the result, or ``highlight`` is given
        with an ``ax`` that already holds artists.

    Notes
    -----
    Units are drawn in unit-id order and never ranked. A unit outside a limit
    is shown by marker shape (triangle up: above; down: below) and fill
    (hollow: beyond an inner limit only; filled: beyond the widest); the inner
    limits are dashed and the widest solid. A figure with this one Axes and
    default margins is given constrained layout, so that the legend and
    caption (outside the axes) are in a file saved without the theme. A
    flagged unit keeps its status marker and gains a dotted dark ring: a note
    on the data, not a judgement of the result. Nothing is computed here.

    References
    ----------
    .. [1] Spiegelhalter DJ (2005). Funnel plots for comparing institutional
       performance. Stat Med 24:1185-1202.

    Examples
    --------
    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from ccdata.comparison import funnel as funnel_limits_for
    >>> data = pd.DataFrame({"site_id": ["S01", "S02", "S03"],
    ...                      "deaths": [2, 5, 1], "cases": [100, 150, 80]})
    >>> result = funnel_limits_for(data, numerator="deaths", denominator="cases")
    >>> ax = funnel(result, highlight="S02", period="2025", ax=Figure().subplots())
    >>> [t.get_text() for t in ax.texts if t.get_gid() == "highlight-label"]
    ['S02']
    """
    where = "ccdata.plot.funnel"
    units = need_attr(result, "units", where=where, what="a FunnelResult")
    need_columns(units, _UNIT_COLUMNS, where=f"{where} (result.units)")
    levels = result_levels(result, where=where)
    check_choice(labels, ("none", "outside", "all"), name="labels", where=where)
    direction = check_direction(direction, where=where)
    if highlight is not None and labels != "none":
        raise InputError(
            f"The 'labels' parameter of {where} must be 'none' when 'highlight' is "
            "given: a site's own view shows no other site's identifier. "
            f"Got labels={labels!r} instead."
        )
    kind = str(getattr(result, "kind", "proportion"))
    mult, final, percent = _multiplier(result, multiplier)
    ids = units["unit"].astype(str).to_numpy()
    xcol = getattr(result, "x_column", "denominator")
    xcol = xcol if isinstance(xcol, str) and xcol in units else "denominator"
    x = pd.to_numeric(units[xcol], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(units["value"], errors="coerce").to_numpy(dtype=float) * mult
    status = units["status"].astype(str).to_numpy()
    own = np.zeros(len(units), dtype=bool)
    if highlight is not None:
        own = ids == str(highlight)
        if not own.any():
            raise InputError(
                f"The 'highlight' parameter of {where} must be a unit of the "
                f"result. Got {highlight!r}, which is not among its units."
            )
    flag = flagged_mask(ids, flagged, where=where)
    ax = get_ax(ax, site_view=highlight is not None, where=where)

    _draw_limits(ax, result, levels, mult, percent, x, log_denominator, centre)
    site_view = highlight is not None
    styles = status_styles(levels)
    for st, marker, filled, text in styles:
        sel = (status == st) & ~own
        if not sel.any():
            continue
        side = parse_status(st, levels)[0]
        plain = side in ("within", "not_assessed")
        colour = (
            th.ANON
            if site_view
            else th.POINT
            if plain
            else th.signal_colour(side, direction)
        )
        label = text
        if not plain and direction is not None:
            label += f" ({direction_word(side, direction)})"
        if site_view:
            label = "Other units: " + label[0].lower() + label[1:]
        hollow_signal = not filled and not plain and not site_view
        ax.scatter(
            x[sel],
            y[sel],
            s=22 if st == "within" else 34,
            marker=marker,
            facecolors=colour if filled else "white",
            edgecolors=colour if (plain or site_view or hollow_signal) else th.INK,
            linewidths=0.4 if st == "within" else 1.3 if hollow_signal else 0.9,
            alpha=0.85 if st == "within" else 1.0,
            label=label,
            zorder=3,
            gid=f"units:{st}",
        )
    other = ~own & ~np.isin(status, [st for st, *_ in styles])
    if other.any():  # unknown status: draw as plain points rather than drop
        ax.scatter(
            x[other],
            y[other],
            s=22,
            marker="o",
            facecolors=th.POINT,
            edgecolors=th.POINT,
            label="Other status",
            zorder=3,
            gid="units:other",
        )
    flag &= np.isfinite(x) & np.isfinite(y)
    ring_label = str(flag_label)
    for sel, colour, size, gid in (
        (flag & ~own, th.POINT if site_view else th.INK, 150, "flagged"),
        (flag & own, th.INK, 260, "flagged:highlight"),
    ):
        if sel.any():
            ax.scatter(
                x[sel],
                y[sel],
                s=size,
                marker="o",
                facecolors="none",
                edgecolors=colour,
                linewidths=1.2,
                linestyles=":",
                zorder=4.5,
                gid=gid,
                label=ring_label,
            )
            ring_label = "_nolegend_"  # one legend entry for every ring
    texts: list[Any] = []
    if site_view:
        i = int(np.flatnonzero(own)[0])
        st = status[i]
        known = st in status_names(levels)
        words = status_short(st, levels).removesuffix(" only") if known else st
        extra = direction_word(parse_status(st, levels)[0], direction) if known else ""
        ax.scatter(
            x[i : i + 1],
            y[i : i + 1],
            s=90,
            marker="D",
            facecolors=th.HIGHLIGHT,
            edgecolors=th.INK,
            linewidths=1.2,
            zorder=5,
            gid="highlight",
            label=f"{ids[i]}: {words}" + (f" ({extra})" if extra else ""),
        )
        ax.annotate(
            ids[i],
            (x[i], y[i]),
            xytext=(7, 7),
            textcoords="offset points",
            fontweight="bold",
            color=th.INK,
            zorder=6,
            gid="highlight-label",
        )
    elif labels != "none":
        sel = (
            np.ones(len(ids), bool)
            if labels == "all"
            else ((status != "within") & (status != "not_assessed"))
        )
        for k in np.flatnonzero(sel & np.isfinite(x) & np.isfinite(y)):
            texts.append(
                ax.text(
                    x[k],
                    y[k],
                    ids[k],
                    fontsize="x-small",
                    color=th.INK,
                    gid="unit-label",
                    zorder=6,
                )
            )

    from matplotlib.ticker import FuncFormatter

    if log_denominator:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(FuncFormatter(_minor_count))
    else:  # few, round ticks: "10,000" labels need room
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(_count))
    if percent:
        percent_axis(ax.yaxis)
    ax.set_xlabel(xlabel if xlabel is not None else _default_xlabel(kind))
    ax.set_ylabel(
        ylabel if ylabel is not None else _default_ylabel(kind, final, percent)
    )
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    if caption:
        ax.annotate(
            _wrap(funnel_caption(result, period=period), ax),
            xy=(0, 0),
            xycoords="axes fraction",
            xytext=(0, -40),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize="small",
            color=th.INK,
            gid="caption",
            annotation_clip=False,
        )
    fit_figure(ax)
    if texts:
        repel_labels(ax, texts, x, y)
    return ax


def repel_labels(ax: Axes, texts: list[Any], x: np.ndarray, y: np.ndarray) -> None:
    """Move unit labels apart so that none overlaps another (adjustText).

    The figure's layout is settled first (one draw without rendering), so the
    labels are placed at the size they are saved at; a moved label keeps a
    thin leader line to its point.

    References
    ----------
    .. [1] Flyamer I, et al. adjustText: automatic label placement for
       matplotlib. https://github.com/Phlya/adjustText
    """
    from adjustText import adjust_text

    ax.figure.figure.draw_without_rendering()  # the root figure
    finite = np.isfinite(x) & np.isfinite(y)
    adjust_text(
        texts,
        x=x[finite],
        y=y[finite],
        ax=ax,
        expand=(1.15, 1.3),
        force_text=(0.3, 0.5),
        ensure_inside_axes=True,
        arrowprops={"arrowstyle": "-", "color": th.POINT, "lw": 0.5},
    )
    _separate(ax, texts)


def _separate(ax: Axes, texts: list[Any], *, passes: int = 50) -> None:
    """Finish what adjustText leaves: push any still-overlapping labels apart.

    adjustText minimises overlaps but does not guarantee none; each pass moves
    the upper of every overlapping pair up by the overlap (plus 1 px), in
    display coordinates, until no two label boxes overlap.
    """
    canvas = ax.figure.canvas
    get = getattr(canvas, "get_renderer", None)
    # a Figure() without a backend canvas has no get_renderer: matplotlib's own
    # fallback (as used by draw_without_rendering) gives the same renderer
    renderer = get() if callable(get) else ax.figure._get_renderer()  # type: ignore[union-attr]
    to_data = ax.transData.inverted()
    for _ in range(passes):
        boxes = [t.get_window_extent(renderer) for t in texts]
        moved = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if not a.overlaps(b):
                    continue
                k, low = (j, a) if b.y0 >= a.y0 else (i, b)
                box = boxes[k]
                shift = low.y1 - box.y0 + 1.0
                x0, y0 = ax.transData.transform(texts[k].get_position())
                texts[k].set_position(tuple(to_data.transform((x0, y0 + shift))))
                boxes[k] = texts[k].get_window_extent(renderer)
                moved = True
        if not moved:
            return


def _draw_limits(
    ax: Axes,
    result: FunnelResult,
    levels: tuple[float, ...],
    mult: float,
    percent: bool,
    x: np.ndarray,
    log_x: bool,
    centre: str | None,
) -> None:
    target = getattr(result, "target", None)
    if target is not None and np.isfinite(float(target)):
        t = float(target) * mult
        value = fmt_number(t, percent=percent)
        ax.axhline(
            t,
            color=th.TARGET,
            lw=1.3,
            zorder=2,
            gid="target",
            label=centre_label(result, value)
            if centre is None
            else f"{centre} ({value})",
        )
    curve = getattr(result, "curve", None)
    if not isinstance(curve, pd.DataFrame) or "denominator" not in curve:
        return
    curve = curve.sort_values("denominator")
    cx = pd.to_numeric(curve["denominator"], errors="coerce").to_numpy(dtype=float)
    finite_x = x[np.isfinite(x) & (x > 0)]
    if finite_x.size:  # the funnel's mouth at tiny denominators dwarfs the data
        keep = (cx >= finite_x.min() * (0.5 if not log_x else 0.8)) & (
            cx <= finite_x.max() * 1.05
        )
        if keep.sum() >= 2:
            curve, cx = curve[keep], cx[keep]
    for (sfx, style, text, lw), level in zip(limit_styles(levels), levels, strict=True):
        for j, side in enumerate(("lower", "upper")):
            col = f"{side}_{sfx}"
            if col not in curve:
                raise InputError(
                    f"ccdata.plot.funnel: result.curve has no column {col!r} for "
                    f"the {level_percent(level)} level of result.levels "
                    f"{levels!r}; its columns are {list(map(str, curve.columns))!r}."
                )
            cy = pd.to_numeric(curve[col], errors="coerce").to_numpy(dtype=float) * mult
            ax.plot(
                cx,
                cy,
                ls=style,
                lw=lw,
                color=th.INK,
                zorder=2,
                label=text if j == 1 else "_nolegend_",
                gid=f"limit:{col}",
            )


def _count(value: float, _pos: object = None) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:g}"


def _minor_count(value: float, _pos: object = None) -> str:
    # label only 2x and 5x minor ticks on a log axis, plainly
    lead = value / 10 ** np.floor(np.log10(value)) if value > 0 else 0
    return _count(value) if round(lead) in (2, 5) else ""


def _wrap(text: str, ax: Axes) -> str:
    import textwrap

    width_in = ax.get_position().width * float(ax.figure.figure.get_size_inches()[0])
    size = float(ax.xaxis.label.get_fontsize()) * 0.83  # "small"
    return textwrap.fill(text, max(40, int(width_in * 72 / (size * 0.55))))


def _default_xlabel(kind: str) -> str:
    return {
        "proportion": "Number of cases (denominator)",
        "ratio": "Expected events",
        "ratio_of_counts": "Denominator count",
        "mean": "Number of observations",
    }.get(kind, "Denominator")


def _default_ylabel(kind: str, mult: float, percent: bool) -> str:
    if percent:
        return "Percentage"
    if kind in ("ratio", "ratio_of_counts"):
        base = "Ratio (observed / expected)" if kind == "ratio" else "Ratio"
        return base if mult == 1 else f"{base} x {mult:g}"
    if kind == "proportion":
        return "Proportion" if mult == 1 else f"Proportion x {mult:g}"
    return "Mean" if mult == 1 else f"Mean x {mult:g}"
