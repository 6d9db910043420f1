"""Monitoring plots: risk-adjusted CUSUM, VLAD and risk-model calibration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ccdata.errors import InputError
from ccdata.plot import _theme as th
from ccdata.plot._common import (
    as_plot_x,
    date_axis,
    fit_figure,
    get_ax,
    need_columns,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from ccdata.risk import CusumResult, RiskModel, VladResult

__all__ = ["calibration", "calibration_table", "cusum", "vlad"]

_UNIT_GUESSES = ("unit", "site_id")


def monitor_table(data: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(one row per patient, scalars) of a CUSUM/VLAD result or its table.

    A result object (``CusumResult``/``VladResult``) gives its ``to_frame()``
    and its scalar attributes; a DataFrame (its table) gives itself, with the
    scalars taken from its columns (``limit``) where present.
    """
    if isinstance(data, pd.DataFrame):
        return data, {}
    to_frame = getattr(data, "to_frame", None)
    frame = to_frame() if callable(to_frame) else None
    if not isinstance(frame, pd.DataFrame):
        raise InputError(
            "ccdata.plot: a CUSUM or VLAD plot needs the result of "
            "risk_adjusted_cusum / vlad (or its table). "
            f"Got {type(data).__name__} instead."
        )
    meta = {
        k: getattr(data, k)
        for k in ("unit", "limit", "odds_ratio", "order_by", "direction", "reset")
        if getattr(data, k, None) is not None
    }
    return frame, meta


def date_column(frame: pd.DataFrame, meta: dict[str, Any]) -> str | None:
    """Return the column of patients' dates, or None.

    The result's ``order_by`` when it is a column of dates, else the table's
    one column of dates (None if it has none or several).
    """
    order = meta.get("order_by")
    if isinstance(order, str) and order in frame and as_plot_x(frame[order])[1]:
        return order
    dated = [
        c
        for c in frame.columns
        if pd.api.types.is_datetime64_any_dtype(frame[c])
        or isinstance(frame[c].dtype, pd.PeriodDtype)
    ]
    return dated[0] if len(dated) == 1 else None


def _one_series(
    data: Any, column: str, *, unit: str | None, series: object, where: str
) -> tuple[pd.DataFrame, str]:
    data, meta = monitor_table(data)
    need_columns(data, (column,), where=where)
    if unit is None:
        unit = meta.get("unit") if isinstance(meta.get("unit"), str) else None
        unit = (
            unit
            if unit in data.columns
            else next((c for c in _UNIT_GUESSES if c in data.columns), None)
        )
    elif unit not in data.columns:
        need_columns(data, (unit,), where=where)
    if unit is None:
        if series is not None:
            raise InputError(
                f"The 'series' parameter of {where} needs a unit column (unit=...). "
                f"Got series={series!r} with no unit column."
            )
        return data, ""
    keys = data[unit].astype(str)
    if series is None:
        if keys.nunique() > 1:
            raise InputError(
                f"{where} draws one unit's sequence; the data hold {keys.nunique()} "
                f"units (column {unit!r}). Pass series=<unit id>."
            )
        return data, str(keys.iloc[0]) if len(keys) else ""
    sel = (keys == str(series)).to_numpy()
    if not sel.any():
        raise InputError(
            f"The 'series' parameter of {where} must be a value of column {unit!r}. "
            f"Got {series!r}, which is not among the units."
        )
    return data[sel], str(series)


def _x(
    frame: pd.DataFrame, x: str | None, where: str, meta: dict[str, Any]
) -> tuple[np.ndarray, str, bool]:
    if x is None:
        x = date_column(frame, meta)
        if x is None:
            return (
                np.arange(1, len(frame) + 1, dtype=float),
                "Patient (in order of operation)",
                False,
            )
    need_columns(frame, (x,), where=where)
    xs, is_date, _ = as_plot_x(frame[x])
    return xs, x.replace("_", " ").capitalize() if is_date else x, is_date


def _signals(
    ax: Axes,
    xs: np.ndarray,
    ys: np.ndarray,
    frame: pd.DataFrame,
    colours: tuple[str, str] = (th.CONCERN, th.IMPROVEMENT),
) -> None:
    """Mark the signals.

    ``colours`` are for signals at or above 0 and below 0 (Making Data Count:
    orange concern, blue improvement).
    """
    if "signal" not in frame:
        return
    sig = frame["signal"].fillna(False).astype(bool).to_numpy()
    for sel, marker, colour in (
        (sig & (ys >= 0), "^", colours[0]),
        (sig & (ys < 0), "v", colours[1]),
    ):
        if sel.any():
            ax.scatter(
                xs[sel],
                ys[sel],
                s=50,
                marker=marker,
                color=colour,
                edgecolors=th.INK,
                linewidths=0.7,
                zorder=5,
                gid="signal",
                label="Signal",
            )


def cusum(
    data: pd.DataFrame | CusumResult,
    *,
    unit: str | None = None,
    series: object | None = None,
    x: str | None = None,
    limit: float | None = None,
    title: str | None = None,
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Draw a risk-adjusted CUSUM for one unit, with its signal limit.

    Parameters
    ----------
    data : CusumResult or DataFrame
        From :func:`ccdata.risk.risk_adjusted_cusum` (or its ``to_frame()``):
        one row per patient in order, with ``cusum`` and ``signal``.
    unit : str, optional
        The unit column (default ``unit``, else ``site_id`` if present).
    series : id, optional
        Which unit to draw when the data hold several.
    x : str, optional
        Column for the x axis. Default: the patients' dates (the result's
        ``order_by`` column when it holds dates, else the table's one column
        of dates) on a date axis; the patient number when there are none.
    limit : float, optional
        The signal limit h; default the result's ``limit`` or a ``limit``
        column. Drawn as a dashed line (and at -h for a lower CUSUM).
    title : str, optional
    legend : bool, default True
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    References
    ----------
    .. [1] Steiner SH, Cook RJ, Farewell VT, Treasure T (2000). Monitoring
       surgical performance using risk-adjusted cumulative sum charts.
       Biostatistics 1:441-452.
    """
    where = "ccdata.plot.cusum"
    frame, name = _one_series(data, "cusum", unit=unit, series=series, where=where)
    meta = monitor_table(data)[1]
    ax = get_ax(ax)
    xs, xlabel, is_date = _x(frame, x, where, meta)
    ys = pd.to_numeric(frame["cusum"], errors="coerce").to_numpy(dtype=float)
    ax.plot(xs, ys, color=th.POINT, lw=1.1, zorder=3, gid="cusum", label="CUSUM")
    if limit is None:
        limit = meta.get("limit")
        if limit is None and "limit" in frame:
            limit = float(frame["limit"].iloc[0])
    if limit is not None:
        h = abs(float(limit))
        sides = [h] + ([-h] if np.nanmin(ys, initial=0.0) < 0 else [])
        for j, v in enumerate(sides):
            ax.axhline(
                v,
                color=th.INK,
                ls="--",
                lw=1.1,
                zorder=2,
                gid="limit",
                label=f"Signal limit (h = {h:g})" if j == 0 else "_nolegend_",
            )
    ax.axhline(0, color=th.INK, lw=0.6, zorder=1)
    odds = meta.get("odds_ratio")
    worse = odds is None or float(odds) >= 1  # R > 1 accumulates extra deaths
    _signals(
        ax,
        xs,
        ys,
        frame,
        (th.CONCERN, th.IMPROVEMENT) if worse else (th.IMPROVEMENT, th.CONCERN),
    )
    if is_date:
        date_axis(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("CUSUM" + (f" (odds ratio {float(odds):g})" if odds else ""))
    if title is not None or name:
        ax.set_title(title if title is not None else name, loc="left")
    if legend:
        ax.legend(loc="best", fontsize="small")
    fit_figure(ax)
    return ax


def vlad(
    data: pd.DataFrame | VladResult,
    *,
    unit: str | None = None,
    series: object | None = None,
    x: str | None = None,
    title: str | None = None,
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Draw a VLAD: cumulative expected minus observed events for one unit.

    Parameters
    ----------
    data : VladResult or DataFrame
        From :func:`ccdata.risk.vlad` (or its ``to_frame()``): one row per
        patient in order, with ``vlad`` (and ``signal`` when present).
    unit, series, x, title, legend, ax
        As for :func:`cusum`.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The line rises when there are fewer events than the risk model expects
    and falls when there are more; the y label says so in those words.

    References
    ----------
    .. [1] Lovegrove J, Valencia O, Treasure T, Sherlaw-Johnson C, Gallivan S
       (1997). Monitoring the results of cardiac surgery by variable life-adjusted
       display. Lancet 350:1128-1130.
    """
    where = "ccdata.plot.vlad"
    frame, name = _one_series(data, "vlad", unit=unit, series=series, where=where)
    ax = get_ax(ax)
    xs, xlabel, is_date = _x(frame, x, where, monitor_table(data)[1])
    ys = pd.to_numeric(frame["vlad"], errors="coerce").to_numpy(dtype=float)
    ax.axhline(
        0,
        color=th.TARGET,
        lw=1.2,
        zorder=2,
        gid="zero",
        label="As expected by the risk model",
    )
    ax.plot(xs, ys, color=th.POINT, lw=1.1, zorder=3, gid="vlad", label="VLAD")
    _signals(ax, xs, ys, frame, (th.IMPROVEMENT, th.CONCERN))
    if is_date:
        date_axis(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Cumulative expected minus observed")
    if title is not None or name:
        ax.set_title(title if title is not None else name, loc="left")
    if legend:
        ax.legend(loc="upper left", fontsize="small")
    fit_figure(ax)
    return ax


_GROUP = ("decile", "group", "bin", "risk_decile")
_OBS = (
    "observed_rate",
    "observed_risk",
    "mean_observed",
    "observed_mean",
    "observed_proportion",
    "observed",
)
_EXP = (
    "expected_rate",
    "expected_risk",
    "mean_expected",
    "expected_mean",
    "mean_predicted",
    "predicted",
    "expected",
)


def calibration_table(model: Any) -> pd.DataFrame:
    """Return a RiskModel's decile calibration table: group, n, observed, expected.

    ``observed`` and ``expected`` are mean rates (0-1). Accepts a RiskModel or
    the table itself.
    """
    table = model
    if not isinstance(table, pd.DataFrame):
        for name in ("calibration_table", "decile_table", "calibration", "deciles"):
            cand = getattr(model, name, None)
            if callable(cand) and not isinstance(cand, pd.DataFrame):
                cand = cand()
            if isinstance(cand, pd.DataFrame):
                table = cand
                break
            inner = getattr(cand, "table", None) if cand is not None else None
            if isinstance(inner, pd.DataFrame):
                table = inner
                break
    if not isinstance(table, pd.DataFrame):
        raise InputError(
            "ccdata.plot.calibration needs a RiskModel (with a decile calibration "
            f"table) or the table itself. Got {type(model).__name__} instead."
        )
    obs = next((c for c in _OBS if c in table), None)
    exp = next((c for c in _EXP if c in table), None)
    if obs is None or exp is None:
        raise InputError(
            "ccdata.plot.calibration: the calibration table needs observed and "
            f"expected columns (e.g. {_OBS[0]!r}, {_EXP[0]!r}). "
            f"Got columns {list(map(str, table.columns))!r}."
        )
    grp = next((c for c in _GROUP if c in table), None)
    ncol = next((c for c in ("n", "count", "patients") if c in table), None)
    out = pd.DataFrame(
        {
            "group": table[grp].to_numpy() if grp else np.arange(1, len(table) + 1),
            "n": table[ncol].to_numpy(dtype=float) if ncol else np.nan,
            "observed": table[obs].to_numpy(dtype=float),
            "expected": table[exp].to_numpy(dtype=float),
        }
    )
    for side in ("lower", "upper"):
        col = next(
            (c for c in (f"observed_{side}_95", f"{side}_95") if c in table), None
        )
        out[f"observed_{side}_95"] = table[col].to_numpy(dtype=float) if col else np.nan
    counts = ncol is not None and (
        out["observed"].max() > 1 or out["expected"].max() > 1
    )
    if counts:  # sums of events and of predicted risks: turn into rates
        out["observed"] = out["observed"] / out["n"]
        out["expected"] = out["expected"] / out["n"]
    return out


def calibration(
    model: RiskModel | pd.DataFrame,
    *,
    percent: bool = True,
    title: str | None = None,
    legend: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Observed against expected risk by decile of predicted risk, with the diagonal.

    Parameters
    ----------
    model : RiskModel or DataFrame
        A fitted :class:`ccdata.risk.RiskModel` (its decile calibration table
        is drawn) or that table.
    percent : bool, default True
        Axes in percent.
    title : str, optional
    legend : bool, default True
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Points on the dashed diagonal mean the model predicts each risk group's
    event rate; the c-statistic is added to the legend when the model has one.

    References
    ----------
    .. [1] Steyerberg EW (2019). Clinical Prediction Models, 2nd ed. Springer,
       ch. 15 (calibration plots).
    """
    table = calibration_table(model)
    ax = get_ax(ax)
    m = 100.0 if percent else 1.0
    ex, ob = table["expected"].to_numpy() * m, table["observed"].to_numpy() * m
    hi = float(np.nanmax(np.r_[ex, ob, 0.0])) * 1.08 or 1.0
    ax.plot(
        [0, hi],
        [0, hi],
        ls="--",
        color=th.INK,
        lw=1,
        zorder=2,
        gid="diagonal",
        label="Perfect calibration",
    )
    cstat = getattr(model, "c_statistic", None)
    label = "Risk decile"
    if isinstance(cstat, float | int) and np.isfinite(cstat):
        label += f" (c-statistic {float(cstat):.2f})"
    lo = table["observed_lower_95"].to_numpy() * m
    up = table["observed_upper_95"].to_numpy() * m
    if np.isfinite(lo).any():
        ax.vlines(
            ex,
            lo,
            up,
            color=th.TARGET,
            lw=1.0,
            zorder=3,
            gid="ci",
            label="Observed: 95% confidence interval",
        )
        hi = max(hi, float(np.nanmax(up)) * 1.02)
    ax.plot(
        ex,
        ob,
        color=th.TARGET,
        lw=0.8,
        marker="o",
        ms=5,
        zorder=4,
        gid="deciles",
        label=label,
    )
    ax.set_xlim(0, hi)
    ax.set_ylim(0, hi)
    ax.set_aspect("equal", adjustable="box")
    unit = " (%)" if percent else ""
    ax.set_xlabel(f"Expected risk{unit}")
    ax.set_ylabel(f"Observed rate{unit}")
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(loc="upper left", fontsize="small")
    fit_figure(ax)
    return ax
