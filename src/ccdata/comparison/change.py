"""`funnel_change`: each unit's change between two periods, judged by its own test."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from ccdata._params import check_choice, check_columns
from ccdata._wording import level_percent
from ccdata.comparison.core import _check_inputs, _numeric, _sorted_index
from ccdata.comparison.limits import check_multiplier, check_whole
from ccdata.errors import InputError, OverlappingPeriodsWarning

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
#: What each unit's change is judged against.
RELATIVE_TO = ("zero", "pooled")


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
    relative_to : {"zero", "pooled"}
        The reference each unit's change was tested against: no change
        (``"zero"``) or the community's overall change (``"pooled"``).
    reference : float
        The pooled change tested against: the Mantel-Haenszel odds ratio
        (after vs before) for proportions, the ratio of the pooled rates for
        ratios; 1 (no change) with ``relative_to="zero"``.
    """

    units: pd.DataFrame
    kind: str
    method: str
    level: float
    multiplier: float
    relative_to: str = "zero"
    reference: float = 1.0

    def to_frame(self) -> pd.DataFrame:
        """Return the CSV-ready units table (a copy of :attr:`units`)."""
        return self.units.copy()

    def counts(self) -> dict[str, int]:
        """Count the units with each status value (zeros included)."""
        observed = self.units["status"].value_counts()
        return {s: int(observed.get(s, 0)) for s in CHANGE_STATUS}

    def summary(self, noun: str = "sites") -> str:
        """Plain-language, neutral summary."""
        c = self.counts()
        both = c[INCREASE] + c[DECREASE] + c[NO_CHANGE]
        if self.relative_to == "pooled":
            what = "odds ratio" if self.kind == "proportion" else "rate ratio"
            against = (
                f"each judged against the change of all {noun} together, a "
                f"pooled {what} of {self.reference:.3g}, at the "
                f"{level_percent(self.level)} level"
            )
        else:
            against = (
                f"each judged against its own earlier value at the "
                f"{level_percent(self.level)} level"
            )
        text = (
            f"Of {both} {noun} with data in both periods, {c[INCREASE]} show an "
            f"increase beyond chance, {c[DECREASE]} a decrease beyond chance and "
            f"{c[NO_CHANGE]} no change beyond chance ({against})."
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
        """Summarise the result in one line."""

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
    relative_to: str = "zero",
    before_period: tuple | None = None,
    after_period: tuple | None = None,
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
    relative_to : {"zero", "pooled"}, default "zero"
        ``"zero"``: did this unit change at all? ``"pooled"``: did it change
        more or less than the community as a whole? A trend shared by every
        unit is then not reported as each unit's own. The reference is the
        Mantel-Haenszel odds ratio of after vs before over all units with
        data in both periods (proportions), or the ratio of the pooled rates
        (sum O2 / sum E2) / (sum O1 / sum E1) (ratios).
    before_period, after_period : (start, end), optional
        The windows the two frames cover (dates or anything comparable). When
        both are given and they overlap, an ``OverlappingPeriodsWarning`` is
        issued: the periods share events, so the tests are not valid.

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

    ``relative_to="pooled"``: proportions, exact: the after-period events
    given the unit's margins follow Fisher's noncentral hypergeometric
    distribution with the pooled odds ratio psi (its probability mass summed
    over the support); normal: z = (log OR_i - log psi) / sqrt(1/a + 1/b +
    1/c + 1/d) with 0.5 added to every cell. Ratios: O2 | T ~ Binomial(T,
    E2 R / (E1 + E2 R)) with the pooled rate ratio R (exact), or its normal
    approximation. ``change`` stays the unit's own change.

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
    >>> pooled = funnel_change(b, a, numerator="events", denominator="cases",
    ...                        relative_to="pooled")
    >>> pooled.relative_to, round(pooled.reference, 3)
    ('pooled', 0.497)
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
    check_choice(relative_to, RELATIVE_TO, name="relative_to", where=where)
    _check_overlap(before_period, after_period, where=where)
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
    if relative_to == "pooled":
        reference = _pooled_reference(kind, r1, n1, r2, n2, assessed)
    else:
        reference = 1.0
    upper, lower = _tails(kind, method, r1, n1, r2, n2, assessed, reference)
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
        relative_to=relative_to,
        reference=float(reference),
    )


def _check_overlap(before_period, after_period, *, where: str) -> None:
    if before_period is None or after_period is None:
        return
    try:
        (b0, b1), (a0, a1) = before_period, after_period
        overlap = b0 <= a1 and a0 <= b1
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{where}: 'before_period' and 'after_period' must each be a "
            f"(start, end) pair of comparable values. Got {before_period!r} and "
            f"{after_period!r}."
        ) from exc
    if overlap:
        warnings.warn(
            f"{where}: the before period {before_period!r} and the after period "
            f"{after_period!r} overlap, so the two counts share events and the "
            "tests of change are not valid. Use windows that do not overlap.",
            OverlappingPeriodsWarning,
            stacklevel=3,
        )


def _pooled_reference(kind, r1, n1, r2, n2, assessed) -> float:
    """Mantel-Haenszel odds ratio (after vs before), or the pooled rate ratio."""
    a = assessed
    if not a.any():
        return float("nan")
    r1, n1, r2, n2 = r1[a], n1[a], r2[a], n2[a]
    if kind == "proportion":
        total = n1 + n2
        num = (r2 * (n1 - r1) / total).sum()
        den = (r1 * (n2 - r2) / total).sum()
    else:
        num = r2.sum() / n2.sum()
        den = r1.sum() / n1.sum()
    if not (den > 0 and num > 0):
        raise InputError(
            "funnel_change: relative_to='pooled' needs events in both periods "
            "(and, for proportions, non-events) to estimate the common change."
        )
    return float(num / den)


def _fisher_noncentral_tails(r2, n1, n2, events, psi, budget=4_000_000):
    """P(X >= r2), P(X <= r2) for Fisher's noncentral hypergeometric distribution.

    X = after-period events given the margins: P(X = x) proportional to
    C(n2, x) C(n1, events - x) psi^x on max(0, events - n1) <= x <=
    min(events, n2); summed exactly over the support, in padded chunks.
    """
    lo = np.maximum(0, events - n1)
    hi = np.minimum(events, n2)
    width = (hi - lo + 1).astype(np.int64)
    up = np.empty(r2.size)
    dn = np.empty(r2.size)
    order = np.argsort(width, kind="stable")
    ends = np.cumsum(width[order])
    cuts = np.searchsorted(ends, np.arange(1, int(ends[-1]) // budget + 1) * budget)
    bounds = np.unique(np.concatenate([[0], cuts + 1, [order.size]]))
    bounds = bounds[bounds <= order.size]
    log_psi = np.log(psi)
    for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
        rows = order[start:stop]
        x = lo[rows, None] + np.arange(int(width[rows].max()))[None, :]
        valid = x <= hi[rows, None]
        xc = np.where(valid, x, lo[rows, None])
        m2, m1, ev = n2[rows, None], n1[rows, None], events[rows, None]
        logp = (
            special.gammaln(m2 + 1)
            - special.gammaln(xc + 1)
            - special.gammaln(m2 - xc + 1)
            + special.gammaln(m1 + 1)
            - special.gammaln(ev - xc + 1)
            - special.gammaln(m1 - ev + xc + 1)
            + xc * log_psi
        )
        logp = np.where(valid, logp, -np.inf)
        logp -= logp.max(axis=1, keepdims=True)
        mass = np.exp(logp)
        mass /= mass.sum(axis=1, keepdims=True)
        obs = r2[rows, None]
        up[rows] = np.where(x >= obs, mass, 0.0).sum(axis=1)
        dn[rows] = np.where(x <= obs, mass, 0.0).sum(axis=1)
    return up, dn


def _tails(kind, method, r1, n1, r2, n2, assessed, reference=1.0):
    """One-sided tail probabilities (upper: after higher; lower: after lower).

    ``reference`` is the change under the null: an odds ratio (proportions)
    or a rate ratio (ratios); 1 is no change.
    """
    upper = np.ones(r1.shape)
    lower = np.ones(r1.shape)
    a = assessed
    if not a.any():
        return upper, lower
    r1, n1, r2, n2 = r1[a], n1[a], r2[a], n2[a]
    if kind == "proportion" and reference != 1.0:
        if method == "exact":
            up, lo = _fisher_noncentral_tails(r2, n1, n2, r1 + r2, reference)
        else:
            c = 0.5
            log_or = np.log((r2 + c) * (n1 - r1 + c) / ((n2 - r2 + c) * (r1 + c)))
            se = np.sqrt(
                1 / (r2 + c) + 1 / (n2 - r2 + c) + 1 / (r1 + c) + 1 / (n1 - r1 + c)
            )
            z = (log_or - np.log(reference)) / se
            up, lo = stats.norm.sf(z), stats.norm.cdf(z)
    elif kind == "proportion":
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
        pi0 = n2 * reference / (n1 + n2 * reference)
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
