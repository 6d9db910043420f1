"""`funnel_change`: each unit's change between two periods, judged by its own test."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ccdata._params import check_choice, check_columns
from ccdata.comparison.core import _check_inputs, _numeric, _sorted_index
from ccdata.comparison.limits import check_multiplier, check_whole
from ccdata.errors import InputError

__all__ = ["FunnelChangeResult", "funnel_change", "CHANGE_STATUS"]

INCREASE = "increase beyond chance"
DECREASE = "decrease beyond chance"
NO_CHANGE = "no change beyond chance"
BEFORE_ONLY = "before period only"
AFTER_ONLY = "after period only"
NOT_ASSESSED = "not assessed"
#: Every status value of :func:`funnel_change`.
CHANGE_STATUS = (INCREASE, DECREASE, NO_CHANGE, BEFORE_ONLY, AFTER_ONLY, NOT_ASSESSED)
_KINDS = ("proportion", "ratio")
_METHODS = ("exact", "normal")


@dataclass(frozen=True)
class FunnelChangeResult:
    """Each unit's change between two periods and whether chance explains it.

    Attributes
    ----------
    units : pandas.DataFrame
        Sorted by unit id: ``unit``, ``numerator_before``,
        ``denominator_before``, ``value_before``, ``numerator_after``,
        ``denominator_after``, ``value_after``, ``change`` (after - before for
        proportions, x multiplier; after / before for ratios), ``p_value``
        (two-sided) and ``status`` (one of :data:`CHANGE_STATUS`).
    kind, method : str
    level : float
        Two-sided level: a change is beyond chance when its one-sided tail
        probability is below (1 - level) / 2.
    multiplier : float
    """

    units: pd.DataFrame
    kind: str
    method: str
    level: float
    multiplier: float

    def to_frame(self) -> pd.DataFrame:
        """The CSV-ready units table (a copy of :attr:`units`)."""
        return self.units.copy()

    def counts(self) -> dict[str, int]:
        """Number of units with each status value (zeros included)."""
        observed = self.units["status"].value_counts()
        return {s: int(observed.get(s, 0)) for s in CHANGE_STATUS}

    def summary(self, noun: str = "sites") -> str:
        """Plain-language, neutral summary."""
        c = self.counts()
        both = c[INCREASE] + c[DECREASE] + c[NO_CHANGE]
        text = (
            f"Of {both} {noun} with data in both periods, {c[INCREASE]} show an "
            f"increase beyond chance, {c[DECREASE]} a decrease beyond chance and "
            f"{c[NO_CHANGE]} no change beyond chance (each judged against its own "
            f"earlier value at the {self.level * 100:g}% level)."
        )
        extra = [
            f"{c[s]} {noun} {s}"
            for s in (BEFORE_ONLY, AFTER_ONLY, NOT_ASSESSED)
            if c[s]
        ]
        if extra:
            text += " " + "; ".join(extra) + "."
        return text

    def __repr__(self) -> str:
        def _nonzero(c: dict[str, int]) -> dict[str, int]:
            return {k: v for k, v in c.items() if v}

        return (
            f"FunnelChangeResult({self.kind}, {len(self.units)} units, {self.method}, "
            f"level {self.level:g}; counts {_nonzero(self.counts())})"
        )

    def _repr_html_(self) -> str:
        from html import escape

        head = f"<p><b>{escape(repr(self))}</b></p><p>{escape(self.summary())}</p>"
        return head + self.units.to_html(index=False, float_format="{:.4g}".format)


def _period(frame, *, numerator, denominator, unit, kind, where, name):
    check_columns(frame, [unit, numerator, denominator], where=f"{where} ({name!r})")
    ids = frame[unit].to_numpy()
    num = _numeric(frame, numerator, where=f"{where} ({name!r})")
    den = _numeric(frame, denominator, where=f"{where} ({name!r})")
    _check_inputs(
        ids,
        num,
        den,
        kind=kind,
        numerator=numerator,
        denominator=denominator,
        unit=unit,
        where=f"{where} ({name!r})",
    )
    return pd.DataFrame({"unit": ids, "numerator": num, "denominator": den})


def funnel_change(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    numerator: str,
    denominator: str,
    unit: str = "site_id",
    kind: str = "proportion",
    level: float = 0.95,
    method: str = "exact",
    multiplier: float = 1,
) -> FunnelChangeResult:
    """Each unit's change between two periods, tested against its own past.

    A steering group can see which units changed beyond what chance explains
    without ranking anyone: each unit is compared only with itself.

    Parameters
    ----------
    before, after : pandas.DataFrame
        One row per unit and period, with the same columns.
    numerator, denominator : str
        ``kind="proportion"``: events and cases. ``kind="ratio"``: observed
        events and expected events (or exposure, e.g. patient-days).
    unit : str, default "site_id"
    kind : {"proportion", "ratio"}
    level : float, default 0.95
        Two-sided level of each unit's test.
    method : {"exact", "normal"}
        Proportions: ``"exact"`` is Fisher's conditional (hypergeometric)
        test, ``"normal"`` the pooled two-proportion z-test. Ratios:
        ``"exact"`` is the conditional binomial test of two Poisson counts,
        ``"normal"`` its normal (score) approximation.
    multiplier : float, default 1
        Multiplies ``value_before``/``value_after`` (and ``change`` for
        proportions, e.g. 100 for percentage points).

    Returns
    -------
    FunnelChangeResult

    Raises
    ------
    InputError
        Missing columns, unknown kind/method, a level outside (0, 1), missing
        or negative counts, events above cases, repeated unit ids, or
        non-whole counts with ``method="exact"``.

    Notes
    -----
    Proportions, exact: given both periods' totals, the after-period events
    X ~ Hypergeometric(n1 + n2 cases, r1 + r2 events, n2 draws); upper tail
    P(X >= r2), lower tail P(X <= r2). Ratios, exact: given O1 + O2 = T,
    O2 ~ Binomial(T, E2 / (E1 + E2)) when the two rates are equal. A change
    is beyond chance when the tail in its direction is below (1 - level)/2;
    the two-sided p-value is min(1, 2 x smaller tail). Normal: z =
    (p2 - p1) / sqrt(pbar (1 - pbar) (1/n1 + 1/n2)), or z = (O2 - T pi0) /
    sqrt(T pi0 (1 - pi0)). A unit with a denominator of 0 in either period is
    "not assessed"; a unit in one period only is reported as such.

    References
    ----------
    .. [1] Fisher RA (1935). The logic of inductive inference. J R Stat Soc
       98:39-82 (the conditional exact test for a 2x2 table).
    .. [2] Przyborowski J, Wilenski H (1940). Homogeneity of results in testing
       samples from Poisson series. Biometrika 31:313-323.
    .. [3] Agresti A (2013). Categorical Data Analysis, 3rd ed. Wiley, sec. 3.5.

    Examples
    --------
    >>> ids, cases = ["A", "B"], [100, 100]
    >>> b = pd.DataFrame({"site_id": ids, "events": [30, 10], "cases": cases})
    >>> a = pd.DataFrame({"site_id": ids, "events": [10, 12], "cases": cases})
    >>> res = funnel_change(b, a, numerator="events", denominator="cases")
    >>> res.units["status"].tolist()
    ['decrease beyond chance', 'no change beyond chance']
    """
    where = "funnel_change"
    check_choice(kind, _KINDS, name="kind", where=where)
    check_choice(method, _METHODS, name="method", where=where)
    if not isinstance(level, (int, float)) or not (0.0 < level < 1.0):
        raise InputError(
            f"The 'level' parameter of {where} must be a probability in (0, 1). "
            f"Got {level!r} instead."
        )
    check_multiplier(multiplier, where=where)
    kw = dict(
        numerator=numerator, denominator=denominator, unit=unit, kind=kind, where=where
    )
    b = _period(before, name="before", **kw)
    a = _period(after, name="after", **kw)
    if method == "exact":
        for frame, name in ((b, "before"), (a, "after")):
            check_whole(
                frame["numerator"].to_numpy(), name=f"{numerator} ({name})", where=where
            )
            if kind == "proportion":
                check_whole(
                    frame["denominator"].to_numpy(),
                    name=f"{denominator} ({name})",
                    where=where,
                )
    m = b.merge(
        a, on="unit", how="outer", suffixes=("_before", "_after"), indicator=True
    )
    r1, n1 = m["numerator_before"].to_numpy(), m["denominator_before"].to_numpy()
    r2, n2 = m["numerator_after"].to_numpy(), m["denominator_after"].to_numpy()
    both = (m["_merge"] == "both").to_numpy()
    assessed = both & (n1 > 0) & (n2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        v1 = np.where(n1 > 0, r1 / n1, np.nan)
        v2 = np.where(n2 > 0, r2 / n2, np.nan)
        change = v2 - v1 if kind == "proportion" else v2 / v1
    upper, lower = _tails(kind, method, r1, n1, r2, n2, assessed)
    alpha = (1.0 - level) / 2.0
    p_value = np.where(
        assessed, np.minimum(1.0, 2.0 * np.minimum(upper, lower)), np.nan
    )
    status = np.full(len(m), NO_CHANGE, dtype=object)
    status[assessed & (upper < alpha)] = INCREASE
    status[assessed & (lower < alpha)] = DECREASE
    status[both & ~assessed] = NOT_ASSESSED
    status[(m["_merge"] == "left_only").to_numpy()] = BEFORE_ONLY
    status[(m["_merge"] == "right_only").to_numpy()] = AFTER_ONLY
    change = np.where(assessed, change, np.nan)
    if kind == "proportion":
        change = change * multiplier
    units = pd.DataFrame(
        {
            "unit": m["unit"].to_numpy(),
            "numerator_before": r1,
            "denominator_before": n1,
            "value_before": v1 * multiplier,
            "numerator_after": r2,
            "denominator_after": n2,
            "value_after": v2 * multiplier,
            "change": change,
            "p_value": p_value,
            "status": status,
        }
    )
    units = units.iloc[_sorted_index(units["unit"].to_numpy())].reset_index(drop=True)
    return FunnelChangeResult(
        units=units,
        kind=kind,
        method=method,
        level=float(level),
        multiplier=float(multiplier),
    )


def _tails(kind, method, r1, n1, r2, n2, assessed):
    """One-sided tail probabilities (upper: after higher; lower: after lower)."""
    upper = np.ones(r1.shape)
    lower = np.ones(r1.shape)
    a = assessed
    if not a.any():
        return upper, lower
    r1, n1, r2, n2 = r1[a], n1[a], r2[a], n2[a]
    if kind == "proportion":
        if method == "exact":
            total, events, draws = n1 + n2, r1 + r2, n2
            up = stats.hypergeom.sf(r2 - 1, total, events, draws)
            lo = stats.hypergeom.cdf(r2, total, events, draws)
        else:
            pbar = (r1 + r2) / (n1 + n2)
            se = np.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n2))
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(se > 0, (r2 / n2 - r1 / n1) / se, 0.0)
            up, lo = stats.norm.sf(z), stats.norm.cdf(z)
    else:
        t = r1 + r2
        pi0 = n2 / (n1 + n2)
        if method == "exact":
            up = np.where(t > 0, stats.binom.sf(r2 - 1, t, pi0), 1.0)
            lo = np.where(t > 0, stats.binom.cdf(r2, t, pi0), 1.0)
        else:
            se = np.sqrt(t * pi0 * (1 - pi0))
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(se > 0, (r2 - t * pi0) / se, 0.0)
            up, lo = stats.norm.sf(z), stats.norm.cdf(z)
    upper[a] = np.clip(up, 0.0, 1.0)
    lower[a] = np.clip(lo, 0.0, 1.0)
    return upper, lower
