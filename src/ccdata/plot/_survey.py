"""A trust's own survey scores against their expected ranges, one panel per question."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ccdata._params import level_suffix
from ccdata.errors import InputError
from ccdata.plot import _theme as th
from ccdata.plot._common import need_attr

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["survey_scores"]

_BAND_COLOURS = ("#EDEDED", "#D4D4D4")  # outer (wider) range, inner range


def _pct(level: float) -> str:
    return f"{level * 100:g}%"


def _band(j: int, n_levels: int) -> str:
    """Colour of the j-th band drawn (0 = the outer, widest range)."""
    if n_levels == 1:
        return "#E3E3E3"
    return _BAND_COLOURS[min(j, 1)]


def _marker(status: str, levels: tuple[float, ...]) -> tuple[str, bool]:
    """(marker, filled): shape and fill carry the status, never colour."""
    outer = level_suffix(levels[-1])
    if status.startswith("above_"):
        return "^", status == f"above_{outer}"
    if status.startswith("below_"):
        return "v", status == f"below_{outer}"
    return "o", True


def survey_scores(
    funnels: Any,
    unit: object,
    *,
    ncols: int | None = None,
    panel_size: tuple[float, float] = (1.7, 1.5),
    title: str | None = None,
    fig: Figure | None = None,
) -> np.ndarray:
    """One unit's question scores against their expected ranges (small multiples).

    One panel per question, in question order; in each, one column per
    survey period with the expected range at the unit's number of
    respondents (nested bands for each level), the national value, and the
    unit's case-mix-adjusted score with its confidence interval. Only this
    unit is drawn: it is the unit's own view, with no other unit's score.

    Parameters
    ----------
    funnels : SurveyFunnels
        From :func:`ccdata.survey.survey_funnels`.
    unit : object
        The unit (trust) to draw.
    ncols : int, optional
        Panels per row; default 5 (or fewer questions).
    panel_size : (float, float), default (1.7, 1.5)
        Size of one panel in inches when a new figure is made.
    title : str, optional
        Figure title; default names the unit and says what is drawn.
    fig : matplotlib.figure.Figure, optional
        An empty figure to draw on; default a new pyplot figure. A figure that
        already holds Axes is refused (it could show another unit).

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        Shape (rows, ncols), panels in question order; unused panels are off.

    Raises
    ------
    InputError
        Not a SurveyFunnels result; an unknown unit; a figure with Axes.

    Notes
    -----
    The marker's shape and fill carry the position: a filled circle within
    the ranges, a triangle pointing down (below) or up (above), hollow
    between the inner and outer limits and filled beyond the outer one. A
    question not assessed (too few respondents) shows the words instead of
    a point.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from ccdata.sample_data import generate_lung_cancer_patient_experience
    >>> from ccdata.survey import case_mix_adjust, survey_funnels
    >>> f = survey_funnels(case_mix_adjust(generate_lung_cancer_patient_experience()))
    >>> axes = survey_scores(f, "T05")
    >>> axes.shape, axes.flat[6].get_title(loc="left")
    ((2, 5), 'Q07')
    """
    where = "ccdata.plot.survey_scores"
    need_attr(funnels, "results", where=where, what="a SurveyFunnels result")
    adjusted = need_attr(funnels, "adjusted", where=where, what="a SurveyFunnels")
    levels = tuple(need_attr(funnels, "levels", where=where, what="a SurveyFunnels"))
    frame = funnels.to_frame()
    u_col, p_col, q_col = adjusted.unit, adjusted.period, adjusted.question
    rows = frame[frame[u_col] == unit]
    if rows.empty:
        units = sorted(frame[u_col].unique().tolist(), key=str)
        raise InputError(
            f"{where}: unit {unit!r} has no survey results; units are {units!r}."
        )
    if fig is not None and fig.axes:
        raise InputError(
            f"{where}: a unit's own view must be drawn on an empty figure, so that "
            "nothing drawn before (e.g. another unit) appears in it. Got a figure "
            "that already holds Axes; pass fig=None or a new Figure."
        )
    questions = sorted(rows[q_col].unique().tolist(), key=str)
    periods = sorted(frame[p_col].unique().tolist(), key=str)
    n = len(questions)
    if ncols is None:
        ncols = min(5, n)
    if isinstance(ncols, bool) or not isinstance(ncols, int) or ncols < 1:
        raise InputError(
            f"The 'ncols' parameter of {where} must be a positive integer. "
            f"Got {ncols!r} instead."
        )
    nrows = max(1, math.ceil(n / ncols))
    width, height = panel_size[0] * ncols + 0.7, panel_size[1] * nrows + 1.1
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(width, height))
    else:
        width, height = fig.get_size_inches()
    axes = fig.subplots(nrows, ncols, squeeze=False)
    sfx = [level_suffix(v) for v in levels]
    x_of = {p: k for k, p in enumerate(periods)}
    y_values: list[float] = []
    panel_w = (width - 0.6) / ncols  # inches
    band_w = 0.64 * 72 * 0.8 * panel_w / (len(periods) + 0.2)  # points
    ci_label = f"Score ({_pct(adjusted.level)} CI)"
    for k, que in enumerate(questions):
        ax = axes.flat[k]
        cell = rows[rows[q_col] == que]
        x = cell[p_col].map(x_of).to_numpy(dtype=float)
        value = cell["value"].to_numpy(dtype=float)
        shown = (cell["status"] != "not_assessed").to_numpy() & np.isfinite(value)
        for xv in x[~shown]:
            ax.annotate(
                f"not assessed\n(< {adjusted.min_respondents})",
                (xv, 0.5), xycoords=("data", "axes fraction"),
                ha="center", va="center", fontsize="xx-small", color=th.INK,
            )  # fmt: skip
        if not shown.any():
            continue
        xs, c = x[shown], cell[shown]
        # one collection per artist kind and panel (cheap to draw and save)
        for j, sf in enumerate(reversed(sfx)):  # outer band first
            lo, hi = c[f"lower_{sf}"].to_numpy(float), c[f"upper_{sf}"].to_numpy(float)
            ax.vlines(xs, lo, hi, colors=_band(j, len(sfx)), linewidth=band_w,
                      zorder=1 + j)  # fmt: skip
            y_values += [*lo, *hi]
        ax.hlines(c["target"].to_numpy(float), xs - 0.32, xs + 0.32,
                  colors=th.TARGET, linewidth=1.0, zorder=4)  # fmt: skip
        lo, hi = c["ci_lower"].to_numpy(float), c["ci_upper"].to_numpy(float)
        ax.vlines(xs, lo, hi, colors=th.HIGHLIGHT, linewidth=0.9, zorder=5)
        y_values += [*lo, *hi]
        styles = [_marker(str(st), levels) for st in c["status"]]
        for style in sorted(set(styles)):
            pick = np.array([s == style for s in styles])
            marker, filled = style
            ax.plot(xs[pick], value[shown][pick], linestyle="none", marker=marker,
                    markersize=5, markeredgecolor=th.HIGHLIGHT,
                    markerfacecolor=th.HIGHLIGHT if filled else "white",
                    zorder=6)  # fmt: skip
    for k, que in enumerate(questions):
        ax = axes.flat[k]
        ax.set_title(str(que), fontsize="small", loc="left", pad=2)
        ax.set_xticks(range(len(periods)), [str(p) for p in periods])
        ax.set_xlim(-0.6, len(periods) - 0.4)
        ax.tick_params(labelsize="x-small")
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    finite = [v for v in y_values if np.isfinite(v)]
    if finite:
        lo, hi = min(finite), max(finite)
        pad = 0.05 * (hi - lo or 1.0)
        for ax in axes.flat[:n]:
            ax.set_ylim(lo - pad, hi + pad)
    for k, ax in enumerate(axes.flat[:n]):
        ax.tick_params(labelleft=k % ncols == 0)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        Patch(color=_band(len(sfx) - 1 - i, len(sfx)),
              label=f"Expected range ({_pct(lev)})")
        for i, lev in enumerate(levels)
    ]  # fmt: skip
    handles += [
        Line2D([], [], color=th.TARGET, linewidth=1.0, label="National value"),
        Line2D([], [], color=th.HIGHLIGHT, marker="o", markersize=5,
               linewidth=0.9, label=ci_label),
    ]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.0),
               ncols=min(len(handles), 4 if width >= 8 else 2),
               fontsize="small", frameon=False)  # fmt: skip
    if title is None:
        score = (
            "share of positive answers"
            if funnels.score == "positive"
            else ("mean score")
        )
        adj = "case-mix-adjusted " if adjusted.case_mix else ""
        title = f"{unit}: {adj}{score} against the expected range"
    fig.suptitle(title, fontsize="medium")
    fig.subplots_adjust(left=0.5 / width, right=1 - 0.1 / width,
                        bottom=(0.8 if width >= 8 else 1.1) / height,
                        top=1 - 0.5 / height,
                        hspace=0.6, wspace=0.15)  # fmt: skip
    return axes
