"""Data-quality plots: field completeness and case ascertainment, in id order."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ccdata.errors import InputError
from ccdata.plot import _theme as th
from ccdata.plot._common import fit_figure, get_ax, need_columns, percent_axis

#: The ``field`` value of field_completeness's row of records with every
#: mandatory field present (ccdata.completeness.field_completeness).
ALL_MANDATORY = "all_mandatory_fields"


def unit_column(frame: pd.DataFrame, name: str) -> str:
    """Return ``name``, or ``unit`` when the table has that instead.

    ``unit`` is the one output name of the unit column.
    """
    if name not in frame.columns and "unit" in frame.columns:
        return "unit"
    return name


if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ascertainment", "completeness"]

_COMPLETENESS = ("field", "present", "expected", "proportion", "lower_95", "upper_95")
_ASCERTAINMENT = (
    "submitted",
    "expected",
    "ascertainment",
    "lower_95",
    "upper_95",
    "over_expected",
)


def _rows(
    table: pd.DataFrame,
    measures: tuple[str, ...],
    *,
    select: Mapping[str, object] | None,
    where: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Filter by ``select``; return rows in id order and the columns that label them."""
    frame = table
    for col, value in (select or {}).items():
        need_columns(frame, (col,), where=where)
        frame = frame[(frame[col].astype(str) == str(value)).to_numpy()]
    if frame.empty:
        raise InputError(
            f"{where}: no rows left after select={dict(select or {})!r}; check the "
            "column values."
        )
    groups = [c for c in frame.columns if c not in measures or c == "field"]
    varying = [c for c in groups if frame[c].nunique(dropna=False) > 1]
    if not varying:
        varying = ["field"] if "field" in frame else groups[:1]
    if frame.duplicated(subset=varying).any():
        raise InputError(
            f"{where}: more than one row per {varying!r}. Pass select={{column: "
            "value}} (e.g. one month) so that each row of the plot is one group."
        )
    # Groups (sites) in id order; fields keep their given (schema) order.
    ids = [c for c in varying if c != "field"]
    if ids:
        frame = frame.sort_values(ids, kind="stable")
    return frame, varying


def _labels(
    frame: pd.DataFrame,
    cols: list[str],
    highlight: object,
    site_col: str,
    where: str,
    all_fields_label: str | None = None,
) -> tuple[list[str], np.ndarray]:
    own = np.zeros(len(frame), bool)
    site_col = unit_column(frame, site_col)
    if highlight is not None:
        need_columns(frame, (site_col,), where=where)
        own = (frame[site_col].astype(str) == str(highlight)).to_numpy()
        if not own.any():
            raise InputError(
                f"The 'highlight' parameter of {where} must be a value of column "
                f"{site_col!r}. Got {highlight!r}, which is not in the table."
            )
    shown = frame[cols].astype(str)
    if "field" in shown and all_fields_label is not None:
        shown["field"] = shown["field"].replace(ALL_MANDATORY, all_fields_label)
    text = shown.agg(" ".join, axis=1).tolist()
    if highlight is not None and site_col in cols:  # the site's own view
        text = [t if o else "" for t, o in zip(text, own, strict=True)]
    return text, own


def _dotplot(
    ax: Axes,
    frame: pd.DataFrame,
    value: str,
    labels: list[str],
    own: np.ndarray,
    site_view: bool,
) -> np.ndarray:
    y = np.arange(len(frame))[::-1].astype(float)
    v = frame[value].to_numpy(dtype=float) * 100
    lo = frame["lower_95"].to_numpy(dtype=float) * 100
    hi = frame["upper_95"].to_numpy(dtype=float) * 100
    colour = np.where(own, th.HIGHLIGHT, th.ANON if site_view else th.POINT)
    ax.hlines(
        y,
        lo,
        hi,
        colors=list(colour),
        lw=1.4,
        zorder=2,
        gid="ci",
        label="95% confidence interval",
    )
    ax.scatter(
        v,
        y,
        s=np.where(own, 60, 26),
        c=list(colour),
        zorder=3,
        gid="points",
        marker="o",
        edgecolors=th.INK,
        linewidths=list(np.where(own, 1.0, 0.0)),
    )
    ax.set_yticks(y, labels, fontsize="x-small" if len(frame) > 25 else None)
    ax.set_ylim(-0.7, len(frame) - 0.3)
    ax.grid(axis="y", visible=False)
    percent_axis(ax.xaxis)
    return y


def completeness(
    table: pd.DataFrame,
    *,
    select: Mapping[str, object] | None = None,
    highlight: object | None = None,
    site_col: str = "site_id",
    target: float | None = None,
    all_fields_label: str = "All mandatory fields",
    title: str | None = None,
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Proportion of records with each field present, with Wilson 95% CIs.

    Parameters
    ----------
    table : DataFrame
        From :func:`ccdata.completeness.field_completeness` (group columns, then
        ``field, present, expected, proportion, lower_95, upper_95``).
    select : mapping, optional
        Keep rows where each column equals the value, e.g. ``{"site_id": "S07"}``
        (one row per field) or ``{"field": "creatinine_umol_l"}`` (one row per
        site). After selecting, each row must be one group.
    highlight : site id, optional
        The site's own view: only this site's rows are labelled; other sites'
        rows are anonymous grey points.
    site_col : str, default "site_id"
        The column holding site identifiers (used with ``highlight``).
    target : float, optional
        Expected completeness (0-1), drawn as a dashed vertical line.
    all_fields_label : str, default "All mandatory fields"
        Label of the ``all_mandatory_fields`` row (records with every field of
        its set present). That set is the schema's mandatory fields, or the
        ``mandatory=`` given, or, with neither, every field that was asked
        for: then say so, e.g. ``"All listed fields"``.
    title : str, optional
    legend : bool, default True
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Rows are in field / site-id order, never sorted by completeness.

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and
       statistical inference. JASA 22:209-212.
    """
    where = "ccdata.plot.completeness"
    need_columns(table, _COMPLETENESS, where=where)
    frame, cols = _rows(table, _COMPLETENESS, select=select, where=where)
    labels, own = _labels(
        frame, cols, highlight, site_col, where, all_fields_label=str(all_fields_label)
    )
    ax = get_ax(ax, site_view=highlight is not None, where=where)
    _dotplot(ax, frame, "proportion", labels, own, highlight is not None)
    if target is not None:
        if not 0 <= float(target) <= 1:
            raise InputError(
                f"The 'target' parameter of {where} must be a proportion in [0, 1]. "
                f"Got {target!r} instead."
            )
        ax.axvline(
            float(target) * 100,
            color=th.TARGET,
            ls="--",
            lw=1.2,
            gid="target",
            label=f"Target ({float(target) * 100:g}%)",
        )
    ax.set_xlabel("Records with the field present")
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(loc="best", fontsize="small")
    fit_figure(ax)
    return ax


def ascertainment(
    table: pd.DataFrame,
    *,
    select: Mapping[str, object] | None = None,
    highlight: object | None = None,
    site_col: str = "site_id",
    title: str | None = None,
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Cases submitted as a percentage of cases expected, with 95% CIs.

    Parameters
    ----------
    table : DataFrame
        From :func:`ccdata.completeness.case_ascertainment` (group columns, then
        ``submitted, expected, ascertainment, lower_95, upper_95,
        over_expected``).
    select, highlight, site_col, title, legend, ax
        As for :func:`completeness`.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    A dashed line marks 100% (all expected cases submitted). Groups that
    submitted more than expected are drawn as hollow accent triangles and
    named in the legend as a data check, not a good result. Rows are in
    site-id order.
    """
    where = "ccdata.plot.ascertainment"
    need_columns(table, _ASCERTAINMENT, where=where)
    frame, cols = _rows(table, _ASCERTAINMENT, select=select, where=where)
    labels, own = _labels(frame, cols, highlight, site_col, where)
    ax = get_ax(ax, site_view=highlight is not None, where=where)
    y = _dotplot(ax, frame, "ascertainment", labels, own, highlight is not None)
    ax.axvline(
        100,
        color=th.TARGET,
        ls="--",
        lw=1.2,
        gid="expected",
        label="All expected cases (100%)",
    )
    over = frame["over_expected"].fillna(False).astype(bool).to_numpy()
    if over.any():
        v = frame["ascertainment"].to_numpy(dtype=float)[over] * 100
        ax.scatter(
            v,
            y[over],
            s=70,
            marker="^",
            facecolors="white",
            edgecolors=th.ACCENT,
            linewidths=1.4,
            zorder=4,
            gid="over-expected",
            label="More submitted than expected (check the data)",
        )
    ax.set_xlabel("Cases submitted, as a percentage of cases expected")
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(loc="best", fontsize="small")
    fit_figure(ax)
    return ax
