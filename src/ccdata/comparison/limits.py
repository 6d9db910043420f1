"""Funnel-plot control limits: exact, normal and transformed-scale methods.

Everything here is vectorised over an array of denominators (no Python loop
over units). :func:`funnel_limits` is the public entry point; the helpers
(`_scale_*`, :func:`exact_count_limits`) are shared with :mod:`ccdata.comparison.core`
and :mod:`ccdata.comparison.overdispersion`.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from scipy import special, stats

from ccdata._params import check_choice, check_levels, level_suffix
from ccdata.comparison._exact import (
    CountModel,
    null_boundaries_beyond,
    tails_at,
    verdict,
)
from ccdata.errors import InputError

__all__ = ["funnel_limits", "KINDS", "METHODS", "BOUNDARIES"]

#: What an exact limit marks: the boundary of the flagged counts (default), or
#: Spiegelhalter's interpolated p-quantile of the null (FunnelPlotR, PHE).
BOUNDARIES = ("flag", "quantile")

#: The kinds of indicator, and the methods accepted for each.
METHODS: dict[str, tuple[str, ...]] = {
    "proportion": ("exact", "normal", "arcsine", "wilson", "phe"),
    "ratio": ("exact", "normal", "sqrt", "log", "byar", "chisq"),
    "ratio_of_counts": ("exact", "normal", "log"),
    "mean": ("exact", "normal"),
}
KINDS: tuple[str, ...] = tuple(METHODS)

#: Exact limits for at least this many distinct denominators use two threads.
_PARALLEL_MIN = 100_000

#: The scale on which z-scores and over-dispersion are computed, per method.
_SCALES = {"arcsine": "arcsine", "sqrt": "sqrt", "log": "log"}


def scale_of(method: str) -> str:
    """Scale of z-scores and over-dispersed limits for ``method``.

    ``"arcsine"``, ``"sqrt"`` and ``"log"`` use their own scale; every other
    method (``exact``, ``normal``, ``wilson``, ``byar``, ``chisq``) uses the
    identity scale with the null (target) variance.

    >>> scale_of("log"), scale_of("exact")
    ('log', 'identity')
    """
    return _SCALES.get(method, "identity")


def check_kind_method(kind: str, method: str, *, where: str) -> None:
    """Raise InputError unless ``kind`` is known and ``method`` suits it."""
    check_choice(kind, KINDS, name="kind", where=where)
    if method not in METHODS[kind]:
        raise InputError(
            f"The 'method' parameter of {where} must be one of {METHODS[kind]!r} "
            f"for kind={kind!r}. Got {method!r} instead."
        )


def check_target(kind: str, target: float, *, where: str) -> float:
    """Validate a target on the natural scale of ``kind``; return it as float."""
    try:
        value = float(target)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"The 'target' parameter of {where} must be a number. "
            f"Got {target!r} instead."
        ) from exc
    ok = np.isfinite(value)
    if kind == "proportion":
        ok = ok and 0.0 <= value <= 1.0
        accepted = "a proportion in [0, 1]"
    elif kind in ("ratio", "ratio_of_counts"):
        ok = ok and value >= 0.0
        accepted = "a finite ratio >= 0"
    else:
        accepted = "a finite number"
    if not ok:
        raise InputError(
            f"The 'target' parameter of {where} must be {accepted} for "
            f"kind={kind!r}. Got {target!r} instead."
        )
    return value


# --------------------------------------------------------------------------
# Scales: value <-> transformed scale, and the null standard error on it
# --------------------------------------------------------------------------


def to_scale(scale: str, kind: str, value: np.ndarray) -> np.ndarray:
    """Transform natural values (proportion, O/E, O1/O2, mean) to ``scale``."""
    value = np.asarray(value, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale == "identity":
            if kind == "ratio_of_counts":  # the conditional proportion O1/(O1+O2)
                return np.where(np.isinf(value), 1.0, value / (1.0 + value))
            return value
        if scale == "arcsine":
            return np.arcsin(np.sqrt(np.clip(value, 0.0, 1.0)))
        if scale == "sqrt":
            return np.sqrt(value)
        return np.log(value)  # log


def from_scale(scale: str, kind: str, t: np.ndarray) -> np.ndarray:
    """Back-transform limits from ``scale`` to natural values, clipping to range."""
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if scale == "identity":
            if kind == "proportion":
                return np.clip(t, 0.0, 1.0)
            if kind == "ratio":
                return np.maximum(t, 0.0)
            if kind == "ratio_of_counts":
                pi = np.clip(t, 0.0, 1.0)
                return np.where(pi >= 1.0, np.inf, pi / (1.0 - pi))
            return t
        if scale == "arcsine":
            return np.sin(np.clip(t, 0.0, np.pi / 2)) ** 2
        if scale == "sqrt":
            return np.maximum(t, 0.0) ** 2
        return np.exp(t)


def null_se(
    scale: str, kind: str, x: np.ndarray, target: float, sd: float | None = None
) -> np.ndarray:
    """Return the null standard error of the transformed value at precision ``x``.

    ``x`` is the number of cases (proportion, mean), the expected count
    (ratio) or the total count O1 + O2 (ratio of counts).
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if scale in ("arcsine", "sqrt"):
            return 0.5 / np.sqrt(x)
        if kind == "ratio_of_counts":
            pi0 = target / (1.0 + target)
            if scale == "log":
                return np.sqrt(1.0 / (x * pi0) + 1.0 / (x * (1.0 - pi0)))
            return np.sqrt(pi0 * (1.0 - pi0) / x)
        if scale == "log":  # ratio
            return 1.0 / np.sqrt(target * x)
        if kind == "proportion":
            return np.sqrt(target * (1.0 - target) / x)
        if kind == "ratio":
            return np.sqrt(target / x)
        return sd / np.sqrt(x)  # mean


# --------------------------------------------------------------------------
# Exact limits with Spiegelhalter's interpolation
# --------------------------------------------------------------------------


def _cdf(dist: str, r: np.ndarray, size: np.ndarray, prob: float) -> np.ndarray:
    """CDF of Binomial(size, prob) or Poisson(size) at r (0 below the support)."""
    ok = np.isfinite(r) & np.isfinite(size)
    rr = np.where(ok, np.maximum(r, 0.0), 0.0)
    if dist == "binomial":
        # scipy.stats.binom (Boost; special.bdtr loses accuracy for n in the
        # millions, and scipy 1.11's special.betainc is 1e-9 off at n = 1e6).
        out = stats.binom.cdf(rr, np.where(ok, size, 1.0), prob)
    else:
        out = special.pdtr(rr, np.where(ok, size, 0.0))
    return np.where(ok, np.where(r < 0, 0.0, out), np.nan)


def _pmf(dist: str, r: np.ndarray, size: np.ndarray, prob: float) -> np.ndarray:
    """Probability mass at r (0 outside the support), via log-gamma."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if dist == "binomial":
            inside = (r >= 0) & (r <= size)
            rr = np.where(inside, r, 0.0)
            log_pmf = (
                special.gammaln(size + 1)
                - special.gammaln(rr + 1)
                - special.gammaln(size - rr + 1)
                + special.xlogy(rr, prob)
                + special.xlog1py(size - rr, -prob)
            )
        else:
            inside = r >= 0
            rr = np.where(inside, r, 0.0)
            log_pmf = special.xlogy(rr, size) - size - special.gammaln(rr + 1)
        return np.where(inside, np.exp(log_pmf), 0.0)


def _quantile_index(
    dist: str, size: np.ndarray, prob: float, p: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """r_p (smallest r with F(r) >= p), F(r_p) and the mass at r_p.

    A Cornish-Fisher guess is refined by walking one count at a time with the
    probability mass (F(r - 1) = F(r) - P(R = r)), so only one CDF evaluation
    is needed per point. Points that do not settle within a few steps fall
    back to scipy's exact ``ppf``.
    """
    if dist == "binomial":
        mean, var = size * prob, size * prob * (1 - prob)
        upper_bound = size
    else:
        mean, var = size, size
        upper_bound = np.full(size.shape, np.inf)
    z = special.ndtri(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(var)
        skew = np.where(sd > 0, (1 - 2 * prob if dist == "binomial" else 1.0) / sd, 0.0)
        guess = mean + sd * (z + (z**2 - 1) * skew / 6)
    r = np.clip(np.round(np.nan_to_num(guess)), 0.0, upper_bound)
    f_r = _cdf(dist, r, size, prob)
    mass = _pmf(dist, r, size, prob)
    settled = np.zeros(r.shape, dtype=bool)
    for _ in range(40):
        up = (f_r < p) & (r < upper_bound)
        if up.any():
            r = np.where(up, r + 1, r)
            mass = np.where(up, _pmf(dist, r, size, prob), mass)
            f_r = np.where(up, f_r + mass, f_r)
        down = ~up & (r > 0) & (f_r - mass >= p)
        if down.any():
            f_r = np.where(down, f_r - mass, f_r)
            r = np.where(down, r - 1, r)
            mass = np.where(down, _pmf(dist, r, size, prob), mass)
        settled = ~up & ~down
        if settled.all():
            break
    stuck = ~settled & np.isfinite(size)
    if stuck.any():  # exact fallback (rare: far-off guesses)
        if dist == "binomial":
            r_s = stats.binom.ppf(p, size[stuck], prob)
        else:
            r_s = stats.poisson.ppf(p, size[stuck])
        r[stuck] = r_s
        f_r[stuck] = _cdf(dist, r_s, size[stuck], prob)
        mass[stuck] = f_r[stuck] - _cdf(dist, r_s - 1, size[stuck], prob)
    return r, np.minimum(f_r, 1.0), mass


def exact_count_limits(
    dist: str, size: np.ndarray, prob: float, p: float
) -> np.ndarray:
    """Interpolated p-quantile of a binomial or Poisson count (Spiegelhalter 2005).

    ``dist="binomial"``: Binomial(size, prob); ``dist="poisson"``: Poisson with
    mean ``size`` (``prob`` ignored). r_p is the smallest r with F(r) >= p;
    alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)); the limit is r_p - alpha on
    the count scale (not clipped here). Vectorised over ``size``; repeated
    sizes are computed once.
    """
    size = np.asarray(size, dtype=float)
    uniq, inverse = np.unique(size, return_inverse=True)
    valid = np.isfinite(uniq)
    out = np.full(uniq.shape, np.nan)
    if valid.any():
        sizes = uniq[valid]

        def one(chunk: np.ndarray) -> np.ndarray:
            r, f_r, mass = _quantile_index(dist, chunk, prob, p)
            with np.errstate(divide="ignore", invalid="ignore"):
                alpha = np.where(mass > 0, (f_r - p) / mass, 0.0)
            return r - np.clip(alpha, 0.0, 1.0)

        if sizes.size >= _PARALLEL_MIN:
            # scipy.special and numpy release the GIL: use two threads.
            with ThreadPoolExecutor(max_workers=2) as pool:
                parts = list(pool.map(one, np.array_split(sizes, 2)))
            out[valid] = np.concatenate(parts)
        else:
            out[valid] = one(sizes)
    return out[inverse.reshape(size.shape)]


# --------------------------------------------------------------------------
# Per-method limits
# --------------------------------------------------------------------------


def _method_limits(
    kind: str,
    method: str,
    x: np.ndarray,
    target: float,
    p: float,
    sd: float | None,
) -> np.ndarray:
    """One limit (lower if p < 0.5, upper otherwise) for an unadjusted method."""
    z = stats.norm.ppf(p)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "exact" and kind != "mean":
            if kind == "proportion":
                count = exact_count_limits("binomial", x, target, p)
                return np.clip(count / x, 0.0, 1.0)
            if kind == "ratio":
                count = exact_count_limits("poisson", x * target, target, p)
                return np.maximum(count, 0.0) / x
            # ratio_of_counts: O1 | O1 + O2 = T ~ Binomial(T, target / (1 + target))
            pi0 = target / (1.0 + target)
            count = np.clip(exact_count_limits("binomial", x, pi0, p), 0.0, x)
            return np.where(count >= x, np.inf, count / (x - count))
        if method == "phe":
            return np.clip(_phe_sigma_adjustment(x, target, p), 0.0, 1.0)
        if method == "wilson":
            centre = target + z**2 / (2 * x)
            half = np.abs(z) * np.sqrt(target * (1 - target) / x + z**2 / (4 * x**2))
            sign = np.sign(z)
            return np.clip((centre + sign * half) / (1 + z**2 / x), 0.0, 1.0)
        # byar and chisq approximate the Poisson count limits for the null mean
        # mu = E x target (as the exact method does), divided by E; with
        # target 1 they are the usual formulas in E.
        if method == "byar":
            mu = x * target
            if p < 0.5:
                base = 1 - 1 / (9 * mu) + z / (3 * np.sqrt(mu))
                return mu * np.maximum(base, 0.0) ** 3 / x
            mu1 = mu + 1
            base = 1 - 1 / (9 * mu1) + z / (3 * np.sqrt(mu1))
            return mu1 * base**3 / x
        if method == "chisq":
            mu = x * target
            if p < 0.5:
                return stats.chi2.ppf(p, 2 * mu) / (2 * x)
            return stats.chi2.ppf(p, 2 * (mu + 1)) / (2 * x)
        # normal, arcsine, sqrt, log (and "exact" for means): t0 + z * s
        scale = scale_of(method)
        t0 = to_scale(scale, kind, np.array(target))
        s = null_se(scale, kind, x, target, sd)
        return from_scale(scale, kind, t0 + z * s)


def _phe_sigma_adjustment(x: np.ndarray, target: float, p: float) -> np.ndarray:
    """PHEindicatormethods' ``sigma_adjustment()`` written as it is in R.

    With z = qnorm(p) (p = 0.975 or 0.999 there), it solves the quadratic of
    the Fingertips funnel technical guidance; algebraically it equals
    target +/- |z| sqrt(target (1 - target) / n). Kept literally so the limit
    table is reproduced to rounding.
    """
    q = stats.norm.ppf(p if p > 0.5 else 1 - p)
    q2 = q**2
    av = target
    first = av * (x / q2 + 1)
    with np.errstate(invalid="ignore"):
        adj = np.sqrt(
            (-8 * av * (x / q2 + 1)) ** 2
            - 64 * (1 / q2 + 1 / x) * av * (x * (av * (x / q2 + 2) - 1) + q2 * (av - 1))
        )
    last = 1 / q2 + 1 / x
    sign = -1.0 if p < 0.5 else 1.0
    return (first + sign * adj / 8) / last / x


def exact_models(
    kind: str,
    x: np.ndarray,
    target: float,
    *,
    phi: float | None = None,
    tau2: float | None = None,
) -> tuple[CountModel, CountModel | None]:
    """Build the null count model at each size ``x`` (and the predictive one).

    Proportions: Binomial(n, target), or a beta-binomial whose Beta(a, b) has
    mean target and variance tau2 (additive; a + b = t (1 - t) / tau2 - 1) or
    inflates the binomial variance by phi (multiplicative; intra-class
    correlation (phi - 1) / (n - 1)). Ratio of counts: the same with n = O1 + O2
    and prob = target / (1 + target). Ratios: Poisson(E target), or a
    negative binomial (Poisson-gamma) with variance E t + E^2 tau2 (gamma
    shape t^2 / tau2) or phi E t (shape E t / (phi - 1)).
    """
    x = np.asarray(x, dtype=float)
    if kind == "ratio":
        mu = x * target
        null = CountModel("poisson", mu=mu)
        if phi is None and tau2 is None:
            return null, None
        with np.errstate(divide="ignore", invalid="ignore"):
            if tau2 is not None:
                shape = np.full(x.shape, target**2 / tau2 if tau2 > 0 else np.inf)
            else:
                assert phi is not None
                shape = mu / (phi - 1.0) if phi > 1 else np.full(x.shape, np.inf)
        return null, CountModel("nbinom", mu=mu, shape=shape)
    prob = target if kind == "proportion" else target / (1.0 + target)
    null = CountModel("binomial", n=x, prob=np.full(x.shape, prob))
    if phi is None and tau2 is None:
        return null, None
    with np.errstate(divide="ignore", invalid="ignore"):
        if tau2 is not None:
            kappa = np.full(
                x.shape, prob * (1 - prob) / tau2 - 1.0 if tau2 > 0 else np.inf
            )
        else:
            assert phi is not None
            rho = np.where(x > 1, (phi - 1.0) / (x - 1.0), 0.0)
            kappa = np.where(rho > 0, 1.0 / rho - 1.0, np.inf)
    kappa = np.maximum(kappa, 1e-6)
    return null, CountModel("betabinom", n=x, prob=np.full(x.shape, prob), kappa=kappa)


def _counts_to_values(kind: str, c: np.ndarray, x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "proportion":
            return np.clip(c / x, 0.0, 1.0)
        if kind == "ratio":
            return np.maximum(c, 0.0) / x
        cc = np.clip(c, 0.0, x)
        return np.where(cc >= x, np.inf, cc / (x - cc))


def _distinct(xv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of ``xv`` and each value's index among them.

    Whole numbers in a range a few times the size of ``xv`` (numbers of
    cases) through a presence table, O(n); anything else (expected counts,
    mostly distinct) through one argsort: no hashing, which is slower than
    either for a million distinct floats.
    """
    if xv.size:
        top = float(xv.max())
        if 0 <= xv.min() and top <= max(4 * xv.size, 1_000_000):
            xi = xv.astype(np.int64)
            if np.array_equal(xi, xv):
                present = np.zeros(int(top) + 1, dtype=bool)
                present[xi] = True
                rank = np.cumsum(present) - 1
                return np.flatnonzero(present).astype(float), rank[xi]
    order = np.argsort(xv)
    ordered = xv[order]
    first = np.empty(ordered.size, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    inverse = np.empty(ordered.size, dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[first], inverse


def exact_verdict(
    kind: str,
    x: np.ndarray,
    target: float,
    levels: tuple[float, ...],
    *,
    phi: float | None = None,
    tau2: float | None = None,
    obs: np.ndarray | None = None,
    mid_p: bool = False,
) -> tuple[dict[str, np.ndarray], np.ndarray | None, np.ndarray | None]:
    """Drawn limits at each ``x`` and, given counts ``obs``, their tail probabilities.

    Limits are keyed ``lower_<sfx>``/``upper_<sfx>`` on the indicator's scale.
    Distinct sizes are computed once. When ``phi`` or ``tau2`` is given the
    limits and tails come from the predictive distribution, widened where
    needed so that no limit is narrower (and no tail smaller) than under the
    null. ``mid_p``: mid-p tails, and the boundaries of their flags.
    """
    x = np.asarray(x, dtype=float)
    valid = np.isfinite(x) & (x > 0)
    xv = np.where(valid, x, 1.0).ravel()
    uniq, inverse = _distinct(xv)
    inverse = inverse.reshape(x.shape)
    alphas = [(1 - level) / 2 for level in levels]
    null, pred = exact_models(kind, uniq, target, phi=phi, tau2=tau2)
    if pred is not None and null.dist == "poisson":
        # Predictive first: the null's boundaries only where they may be wider.
        b2, up2, dn2 = verdict(pred, alphas, inverse, obs, mid_p)
        bounds = null_boundaries_beyond(null, alphas, b2, mid_p)
        up = dn = None
        if obs is not None:
            up, dn = tails_at(
                null, inverse.ravel(), np.asarray(obs, float).ravel(), mid_p
            )
            up, dn = up.reshape(x.shape), dn.reshape(x.shape)
    else:
        bounds, up, dn = verdict(null, alphas, inverse, obs, mid_p)
        if pred is not None:
            b2, up2, dn2 = verdict(pred, alphas, inverse, obs, mid_p)
    if pred is not None:
        bounds = [
            (np.minimum(lo, lo2), np.maximum(hi, hi2))
            for (lo, hi), (lo2, hi2) in zip(bounds, b2, strict=True)
        ]
        if obs is not None:
            assert up is not None and dn is not None
            assert up2 is not None and dn2 is not None
            up, dn = np.maximum(up, up2), np.maximum(dn, dn2)
    out: dict[str, np.ndarray] = {}
    for level, (lo, hi) in zip(levels, bounds, strict=True):
        sfx = level_suffix(level)
        for side, c in (("lower", lo), ("upper", hi)):
            values = _counts_to_values(kind, c[inverse], x)
            out[f"{side}_{sfx}"] = np.where(valid, values, np.nan)
    if obs is not None:
        assert up is not None and dn is not None
        up = np.where(valid, up, np.nan)
        dn = np.where(valid, dn, np.nan)
    return out, up, dn


def adjusted_limits(
    kind: str,
    scale: str,
    x: np.ndarray,
    target: float,
    p: float,
    sd: float | None,
    *,
    phi: float | None = None,
    tau2: float | None = None,
) -> np.ndarray:
    """Over-dispersed limit on ``scale``.

    t0 + z sqrt(phi s^2) (multiplicative) or t0 + z sqrt(s^2 + tau^2) (additive).
    """
    z = stats.norm.ppf(p)
    t0 = to_scale(scale, kind, np.array(target))
    s = null_se(scale, kind, x, target, sd)
    with np.errstate(invalid="ignore", over="ignore"):
        spread = np.sqrt(phi * s**2) if phi is not None else np.sqrt(s**2 + tau2)
        return from_scale(scale, kind, t0 + z * spread)


def degenerate_target(kind: str, target: float) -> bool:
    """Tell whether the null distribution has no spread (e.g. a proportion 0 or 1)."""
    if kind == "proportion":
        return target in (0.0, 1.0)
    if kind in ("ratio", "ratio_of_counts"):
        return target == 0.0
    return False


def compute_limits(
    x: np.ndarray,
    target: float,
    *,
    kind: str,
    method: str,
    levels: tuple[float, ...],
    phi: float | None = None,
    tau2: float | None = None,
    sd: float | None = None,
    boundary: str = "flag",
    mid_p: bool = False,
) -> dict[str, np.ndarray]:
    """Limit arrays keyed ``lower_<sfx>``/``upper_<sfx>``; NaN where x <= 0.

    Adjusted limits are never narrower than the unadjusted ones.
    """
    x = np.asarray(x, dtype=float)
    valid = np.isfinite(x) & (x > 0)
    xs = np.where(valid, x, np.nan)
    adjusted = phi is not None or tau2 is not None
    exact = method == "exact" and kind != "mean"
    if exact and boundary == "flag" and not degenerate_target(kind, target):
        return exact_verdict(kind, x, target, levels, phi=phi, tau2=tau2, mid_p=mid_p)[
            0
        ]
    scale = scale_of(method)
    out: dict[str, np.ndarray] = {}
    for level in levels:
        sfx = level_suffix(level)
        for side, p in (("lower", (1 - level) / 2), ("upper", (1 + level) / 2)):
            if degenerate_target(kind, target):
                lim = np.full(x.shape, target, dtype=float)
            elif adjusted:
                lim = adjusted_limits(
                    kind, scale, xs, target, p, sd, phi=phi, tau2=tau2
                )
                base = _method_limits(kind, method, xs, target, p, sd)
                lim = np.minimum(lim, base) if p < 0.5 else np.maximum(lim, base)
            else:
                lim = _method_limits(kind, method, xs, target, p, sd)
            out[f"{side}_{sfx}"] = np.where(valid, lim, np.nan)
    return out


def funnel_limits(
    denominator: float | Sequence[float] | np.ndarray | pd.Series,
    target: float,
    *,
    kind: str = "proportion",
    levels: Sequence[float] = (0.95, 0.998),
    method: str = "exact",
    phi: float | None = None,
    tau2: float | None = None,
    sd: float | None = None,
    multiplier: float = 1,
    boundary: str = "flag",
    mid_p: bool = False,
) -> pd.DataFrame:
    """Funnel-plot control limits at each denominator, vectorised.

    Parameters
    ----------
    denominator : float or array-like
        Precision of each point: the number of cases (``kind="proportion"``
        or ``"mean"``), the expected count E (``"ratio"``), or the total count
        O1 + O2 (``"ratio_of_counts"``). Values <= 0 or NaN give NaN limits.
        Exact binomial limits need whole-number denominators.
    target : float
        The target on the natural scale: a proportion in [0, 1], a ratio
        (usually 1 for observed/expected), the ratio O1/O2 expected, or a mean.
    kind : {"proportion", "ratio", "ratio_of_counts", "mean"}
        The kind of indicator.
    levels : sequence of float, default (0.95, 0.998)
        Two-sided coverage of each pair of limits.
    method : str, default "exact"
        ``"exact"``, ``"normal"``, ``"arcsine"``, ``"wilson"``, ``"phe"``
        (PHEindicatormethods' funnel) (proportions);
        ``"exact"``, ``"normal"``, ``"sqrt"``, ``"log"``, ``"byar"``,
        ``"chisq"`` (ratios); ``"exact"``, ``"normal"``, ``"log"`` (ratio of
        counts); ``"normal"`` (means, where ``"exact"`` means the same). See
        ``docs/methods.md`` for every formula.
    phi : float, optional
        Multiplicative over-dispersion factor (> 0): limits become
        t0 +/- z sqrt(phi) s on the method's scale (identity scale for exact,
        normal, wilson, byar, chisq). Applied as given.
    tau2 : float, optional
        Additive between-unit variance (>= 0) on the method's scale: limits
        become t0 +/- z sqrt(s^2 + tau2). Applied as given. Not with ``phi``.
    sd : float, optional
        Standard deviation of one observation; required for ``kind="mean"``.
    multiplier : float, default 1
        Multiply the limits for display (100 for percentages or ratios x 100).
    boundary : {"flag", "quantile"}, default "flag"
        Exact methods only. ``"flag"``: the drawn boundary between the last
        count that is not flagged and the first that is (what
        :func:`funnel` draws and judges by; see Notes). ``"quantile"``:
        Spiegelhalter's interpolated p-quantile of the null itself, as
        FunnelPlotR and PHEindicatormethods draw it; its upper limit lies up to
        one count below the first flagged count. Not with ``phi``/``tau2``.
    mid_p : bool, default False
        Exact methods with ``boundary="flag"`` only: the boundaries of mid-p
        flags (see :func:`ccdata.comparison.funnel`), which are not
        guaranteed to hold the nominal size.

    Returns
    -------
    pandas.DataFrame
        Columns ``denominator``, then ``lower_<sfx>``, ``upper_<sfx>`` for each
        level (``sfx = level_suffix(level)``, e.g. ``lower_95``, ``upper_998``).

    Raises
    ------
    InputError
        Unknown kind or method, a target outside its range, levels outside
        (0, 1), both ``phi`` and ``tau2``, a missing ``sd`` for means, or
        non-whole denominators for exact binomial limits.

    Notes
    -----
    Exact limits (Spiegelhalter 2005, Appendix A): for the null distribution F
    (Binomial(n, target), Poisson(E x target), or for a ratio of counts
    Binomial(O1 + O2, target / (1 + target))) r_p is the smallest r with
    F(r) >= p, a = (F(r_p) - p) / (F(r_p) - F(r_p - 1)), and Spiegelhalter's
    limit is (r_p - a) / n (proportions) or (r_p - a) / E (ratios), clipped
    to [0, 1] and at 0 (``boundary="quantile"``). A count is beyond chance
    on the upper side when P(X >= O) <= (1 - level) / 2, i.e. when
    O >= r_p + 1 (p = (1 + level) / 2), so the default ``"flag"`` upper limit
    is (r_p + 1 - a) / n, kept strictly inside (r_p, r_p + 1): a whole count
    is strictly above it exactly when it is flagged. The lower limits of the
    two agree (the ``"flag"`` one is nudged 1e-9 counts up when F(r_p) equals
    p exactly, so the count r_p, which is flagged, lies strictly below).
    With ``phi`` or ``tau2`` the exact limits come from the predictive
    beta-binomial (proportions, ratio of counts) or negative binomial
    (ratios) distribution, never narrower than the unadjusted ones; the
    normal-scale methods use t0 +/- z sqrt(phi s^2) or sqrt(s^2 + tau2), also
    never narrower than their own unadjusted limits. When the target sits on
    the edge of its range (a proportion of 0 or 1, a ratio of 0) both limits
    equal the target.

    References
    ----------
    .. [1] Spiegelhalter DJ (2005). Funnel plots for comparing institutional
       performance. Stat Med 24:1185-1202.
    .. [2] Spiegelhalter DJ (2005). Handling over-dispersion of performance
       indicators. Qual Saf Health Care 14:347-351.
    .. [3] Breslow NE, Day NE (1987). Statistical Methods in Cancer Research,
       vol. II (Byar's approximation), IARC.

    Examples
    --------
    >>> lim = funnel_limits([100, 1000], 0.1)
    >>> [round(v, 4) for v in lim["upper_95"]]
    [0.1677, 0.1195]
    >>> lim = funnel_limits([100, 1000], 0.1, boundary="quantile")
    >>> [round(v, 4) for v in lim["upper_95"]]
    [0.1577, 0.1185]
    >>> lim = funnel_limits(50.0, 1.0, kind="ratio", method="normal")
    >>> round(float(lim["upper_998"].iloc[0]), 4)
    1.437
    """
    where = "funnel_limits"
    check_kind_method(kind, method, where=where)
    levels_t = check_levels(levels, where=where)
    target = check_target(kind, target, where=where)
    x = np.atleast_1d(np.asarray(denominator, dtype=float))
    if x.ndim != 1:
        raise InputError(
            f"The 'denominator' parameter of {where} must be a number or a "
            f"one-dimensional array. Got an array of shape {x.shape} instead."
        )
    if phi is not None and tau2 is not None:
        raise InputError(
            f"{where}: give 'phi' (multiplicative) or 'tau2' (additive) "
            f"over-dispersion, not both. Got phi={phi!r}, tau2={tau2!r}."
        )
    if phi is not None and not (np.isfinite(phi) and phi > 0):
        raise InputError(
            f"The 'phi' parameter of {where} must be a finite number > 0. "
            f"Got {phi!r} instead."
        )
    if tau2 is not None and not (np.isfinite(tau2) and tau2 >= 0):
        raise InputError(
            f"The 'tau2' parameter of {where} must be a finite number >= 0. "
            f"Got {tau2!r} instead."
        )
    sd = check_sd(kind, sd, where=where)
    check_multiplier(multiplier, where=where)
    check_choice(boundary, BOUNDARIES, name="boundary", where=where)
    if boundary == "quantile" and (phi is not None or tau2 is not None):
        raise InputError(
            f"{where}: boundary='quantile' gives the unadjusted exact quantiles; "
            "it cannot be combined with 'phi' or 'tau2'."
        )
    check_mid_p(mid_p, kind=kind, method=method, where=where)
    if mid_p and boundary != "flag":
        raise InputError(
            f"{where}: mid_p=True draws the boundaries of mid-p flags; it cannot be "
            "combined with boundary='quantile'."
        )
    if method == "exact" and kind in ("proportion", "ratio_of_counts"):
        check_whole(x, name="denominator", where=where)
    limits = compute_limits(
        x,
        target,
        kind=kind,
        method=method,
        levels=levels_t,
        phi=phi,
        tau2=tau2,
        sd=sd,
        boundary=boundary,
        mid_p=mid_p,
    )
    frame = pd.DataFrame({"denominator": x})
    for name, values in limits.items():
        frame[name] = values * multiplier
    return frame


def check_sd(kind: str, sd: float | None, *, where: str) -> float | None:
    """Check the SD for kind='mean' (required, finite, > 0); ignored otherwise."""
    if kind != "mean":
        return None
    if sd is None:
        raise InputError(
            f"{where} needs 'sd' (the standard deviation of one observation) "
            f"for kind='mean'. Got sd=None."
        )
    try:
        value = float(sd)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"The 'sd' parameter of {where} must be a number > 0 here. "
            f"Got {sd!r} instead."
        ) from exc
    if not (np.isfinite(value) and value > 0):
        raise InputError(
            f"The 'sd' parameter of {where} must be a finite number > 0. "
            f"Got {sd!r} instead."
        )
    return value


def check_mid_p(mid_p: bool, *, kind: str, method: str, where: str) -> None:
    """``mid_p`` is a bool, and True only with exact count methods."""
    if not isinstance(mid_p, (bool, np.bool_)):
        raise InputError(
            f"The 'mid_p' parameter of {where} must be True or False. "
            f"Got {mid_p!r} instead."
        )
    if mid_p and (method != "exact" or kind == "mean"):
        raise InputError(
            f"{where}: mid_p=True applies to exact count limits (method='exact', "
            f"kind 'proportion', 'ratio' or 'ratio_of_counts'). Got "
            f"method={method!r}, kind={kind!r}."
        )


def check_multiplier(multiplier: float, *, where: str) -> None:
    """Raise InputError unless ``multiplier`` is a finite number > 0."""
    try:
        ok = bool(np.isfinite(float(multiplier)) and float(multiplier) > 0)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(
            f"The 'multiplier' parameter of {where} must be a finite number > 0 "
            f"(e.g. 1, 100). Got {multiplier!r} instead."
        )


def check_whole(x: np.ndarray, *, name: str, where: str) -> None:
    """Exact binomial limits need whole-number sizes."""
    finite = x[np.isfinite(x)]
    bad = finite[finite != np.round(finite)]
    if bad.size:
        raise InputError(
            f"{where}: exact binomial limits need whole-number {name} values; "
            f"got {bad[:5].tolist()!r}. Round them, or use method='normal'."
        )
