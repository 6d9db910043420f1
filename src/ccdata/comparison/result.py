"""The result of :func:`ccdata.funnel`: units, curve, target and dispersion."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ccdata._params import level_suffix
from ccdata._wording import (
    NOT_ASSESSED,
    level_percent,
    status_names,
    widening_sentence,
)

__all__ = ["FunnelResult", "NOT_ASSESSED", "status_names"]

#: Mean of phi from z-scores trimmed 10% each tail when there is no
#: over-dispersion (normal z-scores; measured over 20,000 simulated funnels).
TRIM_NULL_PHI = {"winsorise": 0.68, "truncate": 0.44}


def _fmt(value: float) -> str:
    """Short, plain number: 3 significant figures, no exponent for usual sizes."""
    if value is None or not np.isfinite(value):
        return "not estimable"
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _pct(level: float) -> str:
    return level_percent(level)


@dataclass(frozen=True)
class FunnelResult:
    """Funnel-plot statistics for a set of units (sites).

    Attributes
    ----------
    units : pandas.DataFrame
        One row per unit, sorted by unit id (never by performance): ``unit``,
        ``numerator``, ``denominator`` (plus ``total`` for ratio of counts, and
        ``sd`` for means given a column of SDs), ``value`` (x multiplier),
        ``z`` (unadjusted z-score on the method's scale), ``z_adjusted`` (z
        allowing for any over-dispersion applied), ``lower_<sfx>``,
        ``upper_<sfx>`` per level (x multiplier; for exact methods the drawn
        boundary between the last unflagged and the first flagged count),
        ``status``, ``used_in_overdispersion``, and ``p_upper``/``p_lower``
        (P(X >= O) and P(X <= O): exact tail probabilities for exact methods,
        under the predictive distribution when over-dispersion was allowed
        for; normal tails of ``z_adjusted`` otherwise).
    curve : pandas.DataFrame
        The limits over a grid of ``x_column`` values (column ``denominator``)
        for drawing the funnel; the grid includes every unit's own x (up to
        20,000 distinct values), so the drawn limit at a unit is its own.
    target : float
        The centre line, on the reported scale (x multiplier).
    kind, method, scale : str
        The indicator kind, the limit method and the z-score scale.
    levels : tuple of float
        Coverage of each pair of limits, ascending.
    multiplier : float
        Factor applied to values, limits and target for display.
    overdispersion : str or None
        The adjustment requested: None, "multiplicative" or "additive".
    phi, tau2 : float
        Dispersion estimates on the method's scale (computed whether or not
        an adjustment was requested; NaN with fewer than 2 usable units).
    n_used : int
        Units used to estimate phi (after truncation).
    dispersion_statistic, dispersion_p_value : float
        The sum of the squared untrimmed z-scores and its chi-squared (I - 1 df)
        upper-tail probability (a valid test: trimming is used only for phi).
    overdispersion_detected : bool
        phi > 1 (the spread between units is wider than chance predicts).
    overdispersion_applied : bool
        Limits were widened (requested and detected).
    trim : float
    trim_method : str
    x_column : str
        Column of ``units`` on the horizontal axis: ``"denominator"``, or
        ``"total"`` (O1 + O2) for ``kind="ratio_of_counts"``.
    mid_p : bool
        The verdicts use mid-p tail probabilities (``p_upper`` is then
        P(X > O) + P(X = O) / 2), which are not guaranteed to hold the
        nominal size; False (the default) means exact tails that do.
    """

    units: pd.DataFrame
    curve: pd.DataFrame
    target: float
    kind: str
    method: str
    scale: str
    levels: tuple[float, ...]
    multiplier: float
    overdispersion: str | None
    phi: float
    tau2: float
    n_used: int
    dispersion_statistic: float
    dispersion_p_value: float
    overdispersion_detected: bool
    overdispersion_applied: bool
    trim: float
    trim_method: str
    x_column: str = "denominator"
    mid_p: bool = False

    def to_frame(self) -> pd.DataFrame:
        """Return the CSV-ready units table (a copy of :attr:`units`)."""
        return self.units.copy()

    def counts(self) -> dict[str, int]:
        """Count the units with each status value (zeros included)."""
        observed = self.units["status"].value_counts()
        return {s: int(observed.get(s, 0)) for s in status_names(self.levels)}

    def summary(self, noun: str = "sites", *, technical: bool = True) -> str:
        """Plain-language, neutral summary of the funnel.

        Parameters
        ----------
        noun : str, default "sites"
            What a unit is called ("sites", "hospitals", "practices").
        technical : bool, default True
            Include the over-dispersion estimates (phi, tau^2), the dispersion
            test and the trimming note. ``False`` says in words only whether
            the limits were widened (for reports read by clinical leads).

        Examples
        --------
        >>> import pandas as pd
        >>> from ccdata.comparison import funnel
        >>> df = pd.DataFrame({"unit": list("ABCD"), "x": [5, 9, 12, 30],
        ...                    "n": [100, 120, 150, 160]})
        >>> r = funnel(df, unit="unit", numerator="x", denominator="n",
        ...            overdispersion="additive")
        >>> "phi" in r.summary() and "phi" not in r.summary(technical=False)
        True
        """
        counts = self.counts()
        n_total = len(self.units)
        n_assessed = n_total - counts[NOT_ASSESSED]
        sfx = [level_suffix(v) for v in self.levels]
        top, widest = self.levels[-1], sfx[-1]
        parts = [
            f"{counts[f'above_{widest}']} of {n_assessed} {noun} above the "
            f"{_pct(top)} limit and {counts[f'below_{widest}']} below it"
        ]
        outer = _pct(top)
        for level, s in zip(self.levels[:-1][::-1], sfx[:-1][::-1], strict=True):
            parts.append(
                f"{counts[f'above_{s}']} above and {counts[f'below_{s}']} below the "
                f"{_pct(level)} limit (within the {outer})"
            )
            outer = _pct(level)
        parts.append(f"{counts['within']} within the {_pct(self.levels[0])} limits")
        text = "; ".join(parts) + "."
        if counts[NOT_ASSESSED]:
            text += (
                f" {counts[NOT_ASSESSED]} of {n_total} {noun} not assessed "
                "(denominator of 0)."
            )
        if not technical:
            return text + self._plain_dispersion(noun)
        if self.mid_p:
            text += (
                " Flags use mid-p tail probabilities, which are not guaranteed to "
                "hold the nominal size."
            )
        disp = f"phi = {_fmt(self.phi)}"
        if self.overdispersion == "additive":
            disp += f", tau^2 = {_fmt(self.tau2)}"
        disp += f", {self.n_used} {noun} used"
        if self.overdispersion_applied:
            scale = "on the count scale" if self.method == "exact" else "widened"
            text += (
                f" Over-dispersion detected and allowed for ({self.overdispersion}, "
                f"{disp}); limits {scale}, never narrower than unadjusted."
            )
        elif self.overdispersion is not None and not np.isfinite(self.phi):
            text += (
                f" Over-dispersion could not be estimated ({disp}); limits unadjusted."
            )
        elif self.overdispersion is not None:
            text += (
                f" No over-dispersion detected ({disp}; it is allowed for only "
                "when phi > 1); limits unadjusted."
            )
        elif self.overdispersion_detected:
            text += (
                f" The spread between {noun} is wider than chance alone predicts "
                f"({disp}); consider overdispersion='additive'."
            )
        if np.isfinite(self.dispersion_p_value):
            text += (
                f" Dispersion test (untrimmed z-scores): p = "
                f"{_fmt(self.dispersion_p_value)}."
            )
        if self.trim > 0 and np.isfinite(self.phi):
            null = TRIM_NULL_PHI.get(self.trim_method)
            text += (
                f" phi and tau^2 use z-scores {self.trim_method}d at "
                f"{self.trim * 100:g}% each tail, which biases them downward"
            )
            if null is not None and self.trim == 0.1:
                text += f" (phi averages about {null} with no over-dispersion)"
            text += "."
        return text

    def _plain_dispersion(self, noun: str) -> str:
        if self.overdispersion_applied:
            return " " + widening_sentence(noun, widened=True)
        if self.overdispersion is not None and not np.isfinite(self.phi):
            return " The spread between them could not be estimated; limits unadjusted."
        if self.overdispersion is not None:
            return " " + widening_sentence(noun, widened=False)
        if self.overdispersion_detected:
            return (
                f" The results of the {noun} vary more than chance alone would "
                "give; the limits were not widened."
            )
        return ""

    def __repr__(self) -> str:
        """Summarise the result in one line."""

        def _nonzero(c: dict[str, int]) -> dict[str, int]:
            return {k: v for k, v in c.items() if v}

        levels = ", ".join(_pct(v) for v in self.levels)
        return (
            f"FunnelResult({self.kind}, {len(self.units)} units, {self.method} "
            f"limits at {levels}, target {_fmt(self.target)}; "
            f"counts {_nonzero(self.counts())})"
        )

    def _repr_html_(self) -> str:
        from html import escape

        head = f"<p><b>{escape(repr(self))}</b></p><p>{escape(self.summary())}</p>"
        return head + self.units.to_html(index=False, float_format="{:.4g}".format)
