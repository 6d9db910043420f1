"""The result object of :func:`ccdata.spc`."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from html import escape

import pandas as pd

__all__ = ["SPCResult"]


@dataclass(frozen=True)
class SPCResult:
    """Run or control chart of one or many series.

    Attributes
    ----------
    points : pandas.DataFrame
        One row per series and period, sorted by series then ``x``: ``unit``
        (when ``spc(unit=...)`` was given; the deprecated ``by=`` keeps its
        columns' own names), ``x``, ``phase``, ``baseline``,
        ``numerator``/``denominator`` (when given), ``y``, ``centre``,
        ``lower``, ``upper``, optional ``lower_2sigma``/``upper_2sigma``,
        ``sigma``, and one boolean column per rule: ``outside``, ``long_run``,
        ``few_crossings``, ``run_signal``, ``trend``, ``two_in_three``,
        ``shift``; then ``point_type``. Missing periods have NaN ``y`` and
        ``False`` in every rule column.
    phases : pandas.DataFrame
        One row per series and phase: ``n_points`` (observed points),
        ``n_useful`` (not on the centre line), ``n_baseline``, ``centre``,
        ``lcl``/``ucl`` (when constant over the phase, else NaN), ``sigma_z``
        (Laney's ratio, p′ and u′ charts), ``longest_run``,
        ``longest_run_max``, ``crossings``, ``crossings_min``, ``runs_signal``,
        ``n_outside``, ``n_special_cause``. (Called ``summary`` before 0.3.)
    chart : str
        The chart type.
    by : tuple of str
        The series columns of :attr:`points` (``("unit",)`` with ``unit=``;
        empty for a single series).
    direction : {"increase", "decrease"} or None
        The direction of improvement given to :func:`ccdata.spc` (None:
        neutral wording).
    unit_column : str or None
        The caller's unit column, when ``unit=`` was given.
    """

    points: pd.DataFrame
    phases: pd.DataFrame
    chart: str
    by: tuple[str, ...] = ()
    direction: str | None = None
    unit_column: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`points`, the CSV-ready table of the chart."""
        return self.points.copy()

    @property
    def signal(self) -> bool:
        """True if any series shows a runs signal or any special-cause point."""
        return bool(
            self.phases["runs_signal"].any()
            or (self.phases["n_special_cause"] > 0).any()
        )

    # -- deprecated spellings -------------------------------------------------
    @property
    def summary(self) -> pd.DataFrame:
        """Deprecated: the per-phase table, now :attr:`phases`."""
        warnings.warn(
            "SPCResult.summary is deprecated and will be removed in ccdata 0.4: "
            "the per-series, per-phase table is SPCResult.phases (in ccdata, "
            "summary() means a printable report).",
            FutureWarning,
            stacklevel=2,
        )
        return self.phases

    @property
    def improvement(self) -> str | None:
        """Deprecated: now :attr:`direction`."""
        warnings.warn(
            "SPCResult.improvement is deprecated and will be removed in ccdata "
            "0.4: use SPCResult.direction.",
            FutureWarning,
            stacklevel=2,
        )
        return self.direction

    # -- display --------------------------------------------------------------
    def __repr__(self) -> str:
        """Summarise the result in one line."""
        n_series = (
            len(self.phases) // max(int(self.phases["phase"].max()), 1)
            if len(self.phases)
            else 0
        )
        n_phases = int(self.phases["phase"].max()) if len(self.phases) else 0
        flagged = self.phases["runs_signal"] | (self.phases["n_special_cause"] > 0)
        if self.by and len(self.phases):
            keys = self.phases[list(self.by)].astype(str).agg(" ".join, axis=1)
            n_signal = int(flagged.groupby(keys.to_numpy()).any().sum())
        else:
            n_signal = int(bool(flagged.any()))
        n_periods = self.points["x"].nunique()
        direction = f", direction={self.direction!r}" if self.direction else ""
        return (
            f"SPCResult({self.chart!r} chart, {n_series} series x {n_periods} "
            f"periods, {n_phases} phase(s), {n_signal} series with a signal"
            f"{direction})"
        )

    def _repr_html_(self) -> str:
        return f"<p><b>{escape(repr(self))}</b></p>" + self.phases.to_html(
            index=False, float_format="{:.4g}".format
        )
