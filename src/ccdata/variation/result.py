"""The result object of :func:`ccdata.spc`."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["SPCResult"]


@dataclass(frozen=True)
class SPCResult:
    """Run or control chart of one or many series.

    Attributes
    ----------
    points : pandas.DataFrame
        One row per series and period, sorted by series then ``x``: the series
        column(s) (named as ``by``), ``x``, ``phase``, ``baseline``,
        ``numerator``/``denominator`` (when given), ``y``, ``centre``,
        ``lower``, ``upper``, optional ``lower_2sigma``/``upper_2sigma``,
        ``sigma``, and one boolean column per rule: ``outside``, ``long_run``,
        ``few_crossings``, ``run_signal``, ``trend``, ``two_in_three``,
        ``shift``; then ``point_type``. Missing periods have NaN ``y`` and
        ``False`` in every rule column.
    summary : pandas.DataFrame
        One row per series and phase: ``n_points`` (observed points),
        ``n_useful`` (not on the centre line), ``n_baseline``, ``centre``,
        ``lcl``/``ucl`` (when constant over the phase, else NaN), ``sigma_z``
        (Laney's ratio, p′ and u′ charts), ``longest_run``,
        ``longest_run_max``, ``crossings``, ``crossings_min``, ``runs_signal``,
        ``n_outside``, ``n_special_cause``.
    chart : str
        The chart type.
    by : tuple of str
        The series columns (empty for a single series).
    improvement : str or None
        ``"increase"``, ``"decrease"`` or None (neutral wording).
    """

    points: pd.DataFrame
    summary: pd.DataFrame
    chart: str
    by: tuple[str, ...] = ()
    improvement: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of :attr:`points`, the CSV-ready table of the chart."""
        return self.points.copy()

    @property
    def signal(self) -> bool:
        """True if any series shows a runs signal or any special-cause point."""
        return bool(
            self.summary["runs_signal"].any()
            or (self.summary["n_special_cause"] > 0).any()
        )
