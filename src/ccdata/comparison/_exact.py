"""Exact null and predictive count distributions for funnel verdicts.

A unit is above level L iff P(X >= O) <= (1 - L)/2 and below iff
P(X <= O) <= (1 - L)/2, X being the unit's count under the null. The null is
Binomial(n, target) (proportions), Poisson(E x target) (ratios) or, given the
total T = O1 + O2, Binomial(T, target / (1 + target)) (ratio of counts).
Allowing for over-dispersion replaces it by a predictive distribution with
the between-unit variance on the indicator scale: beta-binomial (proportions,
ratio of counts) or negative binomial, i.e. Poisson-gamma (ratios).

The *drawn boundary* of a level is Spiegelhalter's (2005) interpolation
placed between the last count that is not flagged and the first count that
is: with T the tail in question (upper: T(k) = P(X >= k); lower:
T(k) = P(X <= k)), the first flagged upper count s has T(s) <= alpha <
T(s - 1) and the boundary is s - (alpha - T(s)) / (T(s - 1) - T(s)), nudged
to lie strictly inside (s - 1, s); the lower boundary mirrors it. So a
whole-number count lies strictly beyond the drawn boundary exactly when its
tail probability is <= alpha: what is drawn agrees with the verdict. On the
lower side this is Spiegelhalter's interpolated alpha-quantile itself; on
the upper side it is his (1 - alpha)-quantile plus one count, because the
quantile r_p itself has P(X >= r_p) > alpha and is not beyond chance.

Everything is vectorised over arrays (no loop over units). Quantiles come
from a Cornish-Fisher guess walked one count at a time with the mass. Along
many distinct, sorted means (ratios: every expected count its own), the
Poisson and negative-binomial CDF at the guessed count is *swept* rather than
called per point: F(r; mu) is smooth in mu with dF/dmu = -P(X = r) (times
(s + r)/(s + mu) for a negative binomial of shape s), so between neighbouring
means with the same r it is carried by an integral of that density (the
corrected trapezoid from the density and its slope at the two means on short
steps, 3-point Gauss-Legendre on longer ones), restarting from an exact CDF
call whenever r changes or a step is long (absolute error below 1e-13,
measured; tested against scipy). Under
over-dispersion the null (Poisson) boundaries are computed only where they
could be wider than the predictive ones, which its quantile breakpoints
(inverse incomplete gamma per count) show without a CDF call. Beta-binomial
tails have no closed form: they come from per-denominator tables of the
probability mass over mean +/- 12 SD (plus 4 counts, clipped to [0, n]),
widened to the counts reached between the Beta(a, b) quantiles at 1e-15 and
1 - 1e-15 (heavy tails at small a + b), built by the ratio recurrence of
successive masses (stable as a + b grows, so tau^2 -> 0 gives the binomial)
and normalised within the window.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import special, stats

__all__ = ["EPS", "CountModel", "boundaries", "tails", "verdict"]

#: How far inside (s - 1, s) a drawn boundary is kept, in counts.
EPS = 1e-9

#: From this many distinct sizes (or counts), quantile walks and tail
#: probabilities use two threads (numpy and scipy.special release the GIL).
_PARALLEL_MIN = 20_000


class CountModel:
    """A count distribution per size: binomial, Poisson, negative or beta-binomial.

    Parameters are arrays broadcast against one another (one per size).

    * ``"binomial"``: ``n``, ``prob``.
    * ``"poisson"``: ``mu``.
    * ``"nbinom"``: ``mu`` and ``shape`` r (variance mu + mu^2 / r).
    * ``"betabinom"``: ``n``, ``prob`` and ``kappa`` = a + b (a = kappa prob,
      b = kappa (1 - prob); variance n p q (1 + (n - 1) / (kappa + 1))).
    """

    def __init__(self, dist: str, **params: np.ndarray) -> None:
        self.dist = dist
        arrays = {k: np.asarray(v, dtype=float) for k, v in params.items()}
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
        self.p = {k: np.broadcast_to(v, shape).copy() for k, v in arrays.items()}
        self.shape = shape

    def take(self, idx: np.ndarray) -> CountModel:
        """Return the same model restricted to the sizes ``idx``."""
        return CountModel(self.dist, **{k: v[idx] for k, v in self.p.items()})

    # moments -------------------------------------------------------------
    def moments(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean, variance and (approximate) skewness."""
        p = self.p
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.dist == "binomial":
                n, q = p["n"], p["prob"]
                mean, var = n * q, n * q * (1 - q)
                skew = (1 - 2 * q) / np.sqrt(var)
            elif self.dist == "poisson":
                mean = var = p["mu"]
                skew = 1 / np.sqrt(var)
            elif self.dist == "nbinom":
                mu, r = p["mu"], p["shape"]
                mean, var = mu, mu + mu**2 / r
                skew = (2 * var - mu) / (mu * np.sqrt(var))
            else:
                n, q, k = p["n"], p["prob"], p["kappa"]
                mean = n * q
                var = n * q * (1 - q) * (1 + (n - 1) / (k + 1))
                skew = (1 - 2 * q) / np.sqrt(var)
        return mean, var, np.where(np.isfinite(skew), skew, 0.0)

    def _nb(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Shape, mean, and where the gamma's relative spread mu/shape < 1e-9."""
        shape, mu = self.p["shape"], self.p["mu"]
        near = ~(mu < 1e9 * shape) | ~(mu / shape >= 1e-9)
        return np.where(near, 1.0, shape), mu, near

    def upper_bound(self) -> np.ndarray:
        if self.dist in ("binomial", "betabinom"):
            return self.p["n"]
        return np.full(self.shape, np.inf)

    # closed-form cdf / pmf (not beta-binomial) ---------------------------
    def cdf(self, r: np.ndarray) -> np.ndarray:
        """P(X <= r) for whole r (0 below the support)."""
        p = self.p
        rr = np.maximum(r, 0.0)
        with np.errstate(invalid="ignore"):
            if self.dist == "binomial":
                # scipy.stats.binom (Boost), not special.betainc: scipy 1.11's
                # betainc is 1e-9 off at n = 1e6 and 0.03 at n = 5e7.
                out = stats.binom.cdf(rr, p["n"], p["prob"])
            elif self.dist == "poisson":
                out = special.pdtr(rr, p["mu"])
            else:  # nbinom: I_q(shape, r + 1); Poisson once the gamma is a point
                shape, mu, near = self._nb()
                out = _branch(
                    near,
                    lambda r_, m_, s_: special.pdtr(r_, m_),
                    _nbinom_cdf,
                    rr,
                    mu,
                    shape,
                )
        return np.where(r < 0, 0.0, out)

    def sf(self, k: np.ndarray) -> np.ndarray:
        """P(X >= k) for whole k (1 at or below 0), without cancellation."""
        p = self.p
        kk = np.maximum(k, 1.0)
        with np.errstate(invalid="ignore"):
            if self.dist == "binomial":
                out = stats.binom.sf(kk - 1, p["n"], p["prob"])
            elif self.dist == "poisson":
                out = special.gammainc(kk, p["mu"])
            else:  # P(X >= k) = I_{1-q}(k, shape)
                shape, mu, near = self._nb()
                out = _branch(
                    near,
                    lambda k_, m_, s_: special.gammainc(k_, m_),
                    _nbinom_sf,
                    kk,
                    mu,
                    shape,
                )
        return np.where(k <= 0, 1.0, out)

    def pmf(self, r: np.ndarray) -> np.ndarray:
        p = self.p
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.dist == "binomial":
                n, q = p["n"], p["prob"]
                inside = (r >= 0) & (r <= n)
                rr = np.where(inside, r, 0.0)
                log_pmf = (
                    _gammaln_whole(n, 1.0)
                    - _gammaln_whole(rr, 1.0)
                    - _gammaln_whole(n - rr, 1.0)
                    + special.xlogy(rr, q)
                    + special.xlog1py(n - rr, -q)
                )
            elif self.dist == "poisson":
                inside = r >= 0
                rr = np.where(inside, r, 0.0)
                log_pmf = special.xlogy(rr, p["mu"]) - p["mu"] - _gammaln_whole(rr, 1.0)
            else:
                shape, mu, near = self._nb()
                inside = r >= 0
                rr = np.where(inside, r, 0.0)
                log_pmf = _branch(
                    near, _log_pois_kernel, _log_nb_kernel, rr, mu, shape
                ) - _gammaln_whole(rr, 1.0)
        return np.where(inside, np.exp(log_pmf), 0.0)


def _nbinom_cdf(r: np.ndarray, mu: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """P(X <= r) = I_q(shape, r + 1), q = shape / (shape + mu).

    Through ``scipy.stats.nbinom`` (Boost's negative binomial, accurate in
    every supported scipy), not ``special.betainc``: scipy 1.11's betainc
    loses up to 5.3e-12 for a small shape and counts in the thousands (shape
    0.5, r = 9,579; measured against mpmath at 50 digits), and is slower.
    """
    return stats.nbinom.cdf(r, shape, shape / (shape + mu))


def _nbinom_sf(k: np.ndarray, mu: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """P(X >= k) = I_{1-q}(k, shape), through ``scipy.stats.nbinom`` as above."""
    return stats.nbinom.sf(k - 1, shape, shape / (shape + mu))


#: Fewest points for which log-gamma goes through a table of the counts' range.
_GAMMALN_TABLE_MIN = 4096


def _gammaln_whole(r: np.ndarray, offset: float) -> np.ndarray:
    """Return ``special.gammaln(r + offset)``, identical values, for counts ``r``.

    Many points with whole counts in a short range (a Cornish-Fisher r per
    unit, observed counts) share their log-gamma values: they are computed
    once per count of the range and looked up (r + offset is formed the same
    way, so the values are bit-for-bit those of the direct call).
    """
    r = np.asarray(r, dtype=float)
    if r.size >= _GAMMALN_TABLE_MIN:
        lo, hi = float(r.min()), float(r.max())
        if np.isfinite(lo) and np.isfinite(hi) and 0 <= hi - lo <= r.size // 8:
            idx = (r - lo).astype(np.int64)
            if np.array_equal(idx + lo, r):
                counts = lo + np.arange(hi - lo + 1.0)
                return special.gammaln(counts + offset)[idx]
    return special.gammaln(r + offset)


def _branch(mask, f_true, f_false, *args: np.ndarray) -> np.ndarray:
    """Return ``np.where(mask, f_true(*args), f_false(*args))``.

    Each function is evaluated only where it is used (they are elementwise,
    so the values are the same).
    """
    if not mask.any():
        return f_false(*args)
    if mask.all():
        return f_true(*args)
    out = np.empty(mask.shape)
    out[mask] = f_true(*(a[mask] for a in args))
    other = ~mask
    out[other] = f_false(*(a[other] for a in args))
    return out


def _log_pois_kernel(rr: np.ndarray, mu: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Return log P(X = r) + log r! of a Poisson(mu) count."""
    return special.xlogy(rr, mu) - mu


def _log_stirling(rr: np.ndarray, s_: np.ndarray) -> np.ndarray:
    """Return log Gamma(s + k) - log Gamma(s) for large s (Stirling)."""
    return (
        (s_ - 0.5) * np.log1p(rr / s_)
        + special.xlogy(rr, s_ + rr)
        - rr
        + 1 / (12 * (s_ + rr))
        - 1 / (12 * s_)
    )


def _log_gamma_ratio(rr: np.ndarray, shape: np.ndarray) -> np.ndarray:
    if shape.size and np.all(shape == shape.flat[0]):  # one shape: one call
        s0 = float(shape.flat[0])
        return _gammaln_whole(rr, s0) - float(special.gammaln(s0))
    return special.gammaln(rr + shape) - special.gammaln(shape)


def _log_nb_kernel(rr: np.ndarray, mu: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Return log P(X = r) + log r! of a negative binomial (mean mu, shape)."""
    lg = _branch(shape > 1e5, _log_stirling, _log_gamma_ratio, rr, shape)
    return lg - shape * np.log1p(mu / shape) + special.xlogy(rr, mu / (shape + mu))


# --------------------------------------------------------------------------
# Quantile walk (binomial, Poisson, negative binomial)
# --------------------------------------------------------------------------


def _quantile_index(
    model: CountModel, p: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """r_p (smallest r with F(r) >= p), F(r_p) and the mass at r_p.

    A Cornish-Fisher guess refined one count at a time with the mass
    (F(r - 1) = F(r) - P(R = r)), so one CDF evaluation per point (or fewer:
    :func:`_swept_cdf`); points that do not settle in 60 steps restart from a
    bisection on the CDF.
    """
    upper = model.upper_bound()
    r = _cornish_fisher(model, p)
    f_r, mass = _swept_cdf_mass(model, r)
    settled = np.zeros(r.shape, dtype=bool)
    active = np.arange(r.size)  # points still moving; only they are recomputed
    for _ in range(60):
        sub = model.take(active)
        ra, fa, ma = r[active], f_r[active], mass[active]
        up = (fa < p) & (ra < upper[active])
        if up.any():
            ra = np.where(up, ra + 1, ra)
            mu_ = sub.take(np.flatnonzero(up)).pmf(ra[up])
            ma[up] = mu_
            fa[up] = fa[up] + mu_
        down = ~up & (ra > 0) & (fa - ma >= p)
        if down.any():
            fa[down] = fa[down] - ma[down]
            ra[down] = ra[down] - 1
            ma[down] = sub.take(np.flatnonzero(down)).pmf(ra[down])
        r[active], f_r[active], mass[active] = ra, fa, ma
        moving = up | down
        settled[active[~moving]] = True
        active = active[moving]
        if active.size == 0:
            break
    stuck = np.flatnonzero(~settled)
    if stuck.size:  # bisection on the exact CDF (rare: far-off guesses)
        sub = model.take(stuck)
        lo = np.full(stuck.size, -1.0)
        hi = np.minimum(
            np.where(np.isfinite(upper[stuck]), upper[stuck], np.inf),
            np.maximum(r[stuck], 1.0) * 4 + 100,
        )
        while True:  # make sure F(hi) >= p
            bad = sub.cdf(hi) < p
            if not bad.any():
                break
            hi = np.where(bad, hi * 2, hi)
        while (hi - lo > 1).any():
            mid = np.floor((lo + hi) / 2)
            ok = sub.cdf(mid) >= p
            hi = np.where(ok, mid, hi)
            lo = np.where(ok, lo, mid)
        r[stuck] = hi
        f_r[stuck] = sub.cdf(hi)
        mass[stuck] = sub.pmf(hi)
    return r, np.minimum(f_r, 1.0), mass


def _cornish_fisher(model: CountModel, p: float) -> np.ndarray:
    """Cornish-Fisher guess of r_p, rounded and clipped to the support."""
    mean, var, skew = model.moments()
    z = special.ndtri(p)
    with np.errstate(invalid="ignore"):
        guess = mean + np.sqrt(var) * (z + (z**2 - 1) * skew / 6)
    return np.clip(np.round(np.nan_to_num(guess)), 0.0, model.upper_bound())


#: Relative distance from a breakpoint within which r_p is not taken as known.
_BREAK_TOL = 1e-8


def breakpoint_index(model: CountModel, p: float) -> tuple[np.ndarray, np.ndarray]:
    """r_p of a Poisson model without a CDF per point, and where it is certain.

    F(r; mu) decreases in mu, so F(r; mu) >= p exactly when mu <= c_r, with
    c_r = Q^-1(r + 1, p) the inverse regularised upper incomplete gamma, and
    c_r increases in r: r_p is the number of breakpoints below mu (one inverse
    per count in range instead of a CDF per point). A mean within a relative
    1e-8 of a breakpoint, or outside the range of breakpoints computed, is
    reported as not certain (the caller computes it exactly).
    """
    mu = model.p["mu"]
    certain = np.zeros(mu.shape, dtype=bool)
    r = np.zeros(mu.shape)
    if model.dist != "poisson" or mu.size == 0 or not np.all(np.isfinite(mu)):
        return r, certain
    # The Cornish-Fisher guess mu + z sqrt(mu) + (z^2 - 1) / 6 increases in mu
    # beyond mu = z^2 / 4 (below it, it is < 1): its range from the extremes.
    z = float(special.ndtri(p))
    ends = np.array([mu.min(), mu.max()])
    g_lo, g_hi = ends + z * np.sqrt(ends) + (z**2 - 1) / 6
    r_lo = 0.0 if ends[0] <= z**2 / 4 + 1 else max(np.floor(g_lo) - 8.0, 0.0)
    r_hi = max(np.ceil(g_hi), 0.0) + 8.0
    if r_hi - r_lo + 1 > max(mu.size, 64):  # more breakpoints than points
        return r, certain
    k = np.arange(r_lo, r_hi + 1.0)
    c = special.gammainccinv(k + 1.0, p)
    if not np.all(np.isfinite(c)) or np.any(np.diff(c) <= 0):
        return r, certain
    if mu.ndim == 1 and mu.size > 4 * c.size and np.all(mu[1:] >= mu[:-1]):
        # sorted means (the usual case): place the few breakpoints among them
        lo_cut = np.searchsorted(mu * (1 - _BREAK_TOL), c, side="right")
        hi_cut = np.searchsorted(mu * (1 + _BREAK_TOL), c, side="right")
        j_a = np.cumsum(np.bincount(lo_cut, minlength=mu.size + 1))[:-1]
        j_b = np.cumsum(np.bincount(hi_cut, minlength=mu.size + 1))[:-1]
    else:
        j_a = np.searchsorted(c, mu * (1 - _BREAK_TOL), side="left")
        j_b = np.searchsorted(c, mu * (1 + _BREAK_TOL), side="left")
    certain = (j_a == j_b) & (j_a > 0) & (j_a < c.size) & (mu > 0)
    return r_lo + j_a, certain


#: Gauss-Legendre nodes and weights on [0, 1] (3 points, exact to degree 5).
_GL_X = np.array([0.5 - np.sqrt(0.15), 0.5, 0.5 + np.sqrt(0.15)])
_GL_W = np.array([5.0, 8.0, 5.0]) / 18.0

#: Largest step h * (|d log f / dmu| + sqrt(r + 1) / mu) integrated by
#: quadrature rather than restarted from an exact CDF (3-point Gauss-Legendre:
#: relative error below 1e-14 of each step's own, already small, integral).
_SWEEP_STEP = 0.05

#: Largest step h * (|d log f / dmu| + sqrt(r + 1) / mu) integrated by the
#: corrected trapezoid from the density and its slope at the two ends.
_HERMITE_STEP = 1e-3

#: Largest log-gamma term in the swept density (counts up to a few thousand).
_SWEEP_LOG_MAX = 2e4

#: Fewest points for which sweeping is worth its set-up.
_SWEEP_MIN = 256


def _swept_cdf(model: CountModel, r: np.ndarray) -> np.ndarray:
    """F(r_i; mu_i) as :func:`_swept_cdf_mass` computes it."""
    return _swept_cdf_mass(model, r)[0]


def _swept_cdf_mass(model: CountModel, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F(r_i; mu_i) along means sorted ascending, one CDF call per run of r.

    For a Poisson count, and a negative binomial of one shape s, the CDF at a
    fixed count r is smooth in the mean, with dF/dmu = -P(X = r) (Poisson)
    or -P(X = r) (s + r) / (s + mu) (negative binomial). So along sorted means
    with the same r, F(r; mu_i) = F(r; mu_{i-1}) - integral of that density
    over [mu_{i-1}, mu_i], taken by the corrected trapezoid from the density
    and its slope at the two means (short steps, ``_HERMITE_STEP``) or by
    3-point Gauss-Legendre (longer ones). A run starts (one
    exact CDF call, as :meth:`CountModel.cdf`) wherever r changes or a step is
    too long for the quadrature to be exact to rounding (``_SWEEP_STEP``).
    Anything else (binomial, unsorted means, a varying or near-infinite
    shape, few points) gets the exact CDF at every point. Also returns the
    mass P(X = r_i) (from the same log-gamma terms where they are small).
    """
    if r.ndim != 1 or r.size < _SWEEP_MIN or model.dist not in ("poisson", "nbinom"):
        return model.cdf(r), model.pmf(r)
    if model.dist == "poisson":
        mu = model.p["mu"]
        shape = None
    else:
        shape_all, mu, near = model._nb()
        shape = float(shape_all[0])
        if near.any() or not np.all(shape_all == shape) or not (shape <= 1e8):
            return model.cdf(r), model.pmf(r)
    if not (np.all(mu[1:] >= mu[:-1]) and mu[0] > 0 and np.isfinite(mu[-1])):
        return model.cdf(r), model.pmf(r)
    t0, t1 = mu[:-1], mu[1:]
    h = t1 - t0
    rr = r[1:]
    at_mu = _log_terms(model, mu, shape)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if shape is None:
            d0, d1 = rr / t0 - 1.0, rr / t1 - 1.0  # d log f / dmu at both ends
            const_all = -_gammaln_whole(r, 1.0)
            log_mass = const_all + r * at_mu[0] + at_mu[1]
        else:
            sp = shape + rr + 1.0
            d0 = rr / t0 - sp / (shape + t0)
            d1 = rr / t1 - sp / (shape + t1)
            if shape > 1e5:
                lg = _log_stirling(r, np.full(r.shape, shape))
            else:
                lg = _gammaln_whole(r, shape) - float(special.gammaln(shape))
            log_mass = lg - _gammaln_whole(r, 1.0)
            log_mass_all = log_mass + at_mu[1] + r * (at_mu[0] - at_mu[2])
            const_all = log_mass + np.log(shape + r)
            log_mass = log_mass_all
        const = const_all[1:]
        curv = np.sqrt(rr + 1.0) / t0
        reach = h * (np.maximum(np.abs(d0), np.abs(d1)) + curv)
        step_ok = reach <= _SWEEP_STEP
        # log-density terms this large cancel to rounding (~1e-16 of them):
        # restart from the exact CDF instead of integrating a blurred density
        step_ok &= np.abs(const) <= _SWEEP_LOG_MAX
        start = np.ones(r.shape, dtype=bool)
        start[1:] = (rr != r[:-1]) | ~step_ok
        mass = np.exp(log_mass)
        # the density f at each mean (its own r; within a run r is shared)
        dens = mass if shape is None else mass * (shape + r) / (shape + mu)
        # short steps: the corrected trapezoid (Hermite) from f and f' at the
        # two ends, h/2 (f0 + f1) + h^2/12 (f0' - f1'), error ~ 3 (h rate)^4 /
        # 720 of the step's own integral (< 5e-15 at _HERMITE_STEP)
        f0, f1 = dens[:-1], dens[1:]
        total = 0.5 * h * (f0 + f1) + h * h / 12.0 * (f0 * d0 - f1 * d1)
        gauss = np.flatnonzero(step_ok & ~(reach <= _HERMITE_STEP))
        if gauss.size:  # longer steps: 3-point Gauss-Legendre, as before
            total[gauss] = _gauss_steps(model, t0, h, shape, rr, const, gauss)
        inc = np.zeros(r.shape)
        inc[1:] = np.where(start[1:], 0.0, total)
    first = np.flatnonzero(start)
    f_first = model.take(first).cdf(r[first])
    csum = np.cumsum(inc)
    run = np.cumsum(start) - 1  # index of each point's run
    out = f_first[run] - (csum - csum[first][run])
    big = np.flatnonzero(~(np.abs(const_all) <= _SWEEP_LOG_MAX))
    if big.size:
        mass[big] = model.take(big).pmf(r[big])
    return np.clip(out, 0.0, 1.0), mass


def _log_terms(
    model: CountModel, t: np.ndarray, shape: float | None
) -> tuple[np.ndarray, ...]:
    """(log t, -t) for a Poisson, (log t, -s log(1 + t/s), log(s + t)) otherwise.

    At the means themselves they are shared by every r of one model (cached
    on it).
    """
    cache = t is model.p["mu"]
    if cache and getattr(model, "_sweep_cache", None) is not None:
        return model._sweep_cache  # type: ignore[attr-defined]
    with np.errstate(divide="ignore", invalid="ignore"):
        if shape is None:
            out: tuple[np.ndarray, ...] = (np.log(t), -t, np.zeros(0))
        else:
            out = (np.log(t), -shape * np.log1p(t / shape), np.log(shape + t))
    if cache:
        model._sweep_cache = out  # type: ignore[attr-defined]
    return out


def _gauss_steps(model, t0, h, shape, rr, const, idx) -> np.ndarray:
    """3-point Gauss-Legendre integrals of the density over the steps ``idx``."""
    total = np.zeros(idx.size)
    t0_, h_, rr_, c_ = t0[idx], h[idx], rr[idx], const[idx]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for w_, x_ in zip(_GL_W, _GL_X, strict=True):
            log_t, other, log_st = _log_terms(model, t0_ + h_ * x_, shape)
            if shape is None:  # other = -t
                log_g = rr_ * log_t + other + c_
            else:  # other = -s log(1 + t / s), log_st = log(s + t)
                log_g = c_ + other + rr_ * log_t - (rr_ + 1.0) * log_st
            total += w_ * np.exp(log_g)
    return total * h_


def _walk_boundaries(
    model: CountModel, alpha: float, mid_p: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper drawn boundaries (in counts) from two quantile walks."""
    r_lo, f_lo, m_lo = _quantile_index(model, alpha)
    r_hi, f_hi, m_hi = _quantile_index(model, 1.0 - alpha)
    if mid_p:
        return _mid_boundaries(model, alpha, (r_lo, f_lo, m_lo), (r_hi, f_hi, m_hi))
    with np.errstate(divide="ignore", invalid="ignore"):
        a_lo = np.where(m_lo > 0, (f_lo - alpha) / m_lo, 0.0)
        a_hi = np.where(m_hi > 0, (f_hi - (1.0 - alpha)) / m_hi, 0.0)
    a_lo = np.clip(a_lo, 0.0, 1.0 - EPS)
    # lower: F(r_lo) >= alpha; if F(r_lo) == alpha, r_lo itself is flagged.
    lower = np.where(a_lo > 0, r_lo - a_lo, r_lo + EPS)
    # upper: the first flagged count is r_hi + 1.
    upper = r_hi + 1.0 - np.clip(a_hi, EPS, 1.0)
    return lower, upper


def _mid_boundaries(model, alpha, low, high) -> tuple[np.ndarray, np.ndarray]:
    """Drawn boundaries of the mid-p tails G(k) = T(k) - P(X = k) / 2.

    The mid-p tails are monotone too, so the rule is the same: the boundary
    lies between the last count not flagged and the first flagged one,
    interpolated in G. With r_p from the walks, the last flagged lower count
    is r_lo or r_lo - 1, and the first flagged upper count r_hi or r_hi + 1;
    the masses beside r_p come from one extra pmf call each.
    """
    r_lo, f_lo, m_lo = low
    r_hi, f_hi, m_hi = high
    prev_lo, next_lo = model.pmf(r_lo - 1.0), model.pmf(r_lo + 1.0)
    prev_hi, next_hi = model.pmf(r_hi - 1.0), model.pmf(r_hi + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # lower: G(r) = F(r) - P(r) / 2; last flagged t in {r_lo - 1, r_lo}
        g_r = f_lo - 0.5 * m_lo
        own = g_r <= alpha  # t = r_lo
        g_next = np.where(own, f_lo + 0.5 * next_lo, g_r)
        step = 0.5 * np.where(own, m_lo + next_lo, prev_lo + m_lo)
        c = np.where(step > 0, (g_next - alpha) / step, 1.0)
        t1 = np.where(own, r_lo + 1.0, r_lo)  # first count not flagged
        lower = t1 - np.clip(c, 0.0, 1.0 - EPS)
        # upper: G(r) = 1 - F(r) + P(r) / 2; first flagged s in {r_hi, r_hi + 1}
        g_r = 1.0 - f_hi + 0.5 * m_hi
        own = g_r <= alpha  # s = r_hi
        g_s = np.where(own, g_r, 1.0 - f_hi - 0.5 * next_hi)
        step = 0.5 * np.where(own, prev_hi + m_hi, m_hi + next_hi)
        c = np.where(step > 0, (alpha - g_s) / step, 0.0)
        s_ = np.where(own, r_hi, r_hi + 1.0)
        upper = s_ - np.clip(c, EPS, 1.0)
    return lower, upper


# --------------------------------------------------------------------------
# Beta-binomial tables
# --------------------------------------------------------------------------


#: Mass of the Beta(a, b) mixing distribution left beyond each end of a
#: beta-binomial window (so the window holds all but ~2e-15 of the mass).
_BETA_TAIL = 1e-15


def _window(model: CountModel, width_sd: float) -> tuple[np.ndarray, np.ndarray]:
    """Return counts [lo, hi] per size holding all but ~2e-15 of the mass.

    The union of mean +/- ``width_sd`` SD and, for a finite a + b, the range
    of a Binomial(n, x) over x between the Beta(a, b) quantiles at 1e-15 and
    1 - 1e-15 (each widened by ``width_sd`` binomial SD): P(X > k) <=
    P(pi > x_hi) + P(Binomial(n, x_hi) > k), as X | pi ~ Binomial(n, pi) and
    that tail grows with pi. The SD window alone misses up to 3e-7 of the mass
    when a + b is small (heavy tails: a + b = 20 around 3.5%, n = 5,000).
    """
    n, prob, kappa = model.p["n"], model.p["prob"], model.p["kappa"]
    mean, var, _ = model.moments()
    sd = np.sqrt(np.maximum(var, 0.0))
    lo = np.floor(mean - width_sd * sd) - 4
    hi = np.ceil(mean + width_sd * sd) + 4
    # a + b beyond 1e8: the Beta is a spike of relative SD < 1e-4 (the SD
    # window holds it); below, its quantiles bound the tails.
    finite = (kappa < 1e8) & (prob > 0) & (prob < 1)
    if finite.any():
        pairs, inv = np.unique(
            np.stack([prob[finite], kappa[finite]]), axis=1, return_inverse=True
        )
        a, b = pairs[1] * pairs[0], pairs[1] * (1 - pairs[0])
        x_lo = special.betaincinv(a, b, _BETA_TAIL)[inv.ravel()]
        x_hi = 1.0 - special.betaincinv(b, a, _BETA_TAIL)[inv.ravel()]
        nf = n[finite]
        x_lo = np.where(np.isfinite(x_lo), np.clip(x_lo, 0.0, 1.0), 0.0)
        x_hi = np.where(np.isfinite(x_hi), np.clip(x_hi, 0.0, 1.0), 1.0)
        k_lo = nf * x_lo - width_sd * np.sqrt(nf * x_lo * (1 - x_lo)) - 4
        k_hi = nf * x_hi + width_sd * np.sqrt(nf * x_hi * (1 - x_hi)) + 4
        lo[finite] = np.minimum(lo[finite], np.floor(k_lo))
        hi[finite] = np.maximum(hi[finite], np.ceil(k_hi))
    return np.clip(lo, 0, n), np.clip(hi, 0, n)


#: Cells of a beta-binomial table computed together (small enough that the
#: temporaries stay in cache).
_TABLE_CHUNK = 250_000


def _first_index(values: np.ndarray, width: np.ndarray, past) -> np.ndarray:
    """First column of each row where ``past`` holds (``width`` if none).

    ``past`` must be monotone along each row's first ``width`` entries (False
    then True), as it is for a cumulative probability against a threshold:
    a binary search per row, so about log2(width) gathers of one value per
    row instead of a comparison of every cell.
    """
    rows = np.arange(values.shape[0])
    lo = np.zeros(rows.size, dtype=np.int64)
    hi = width.astype(np.int64)
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) // 2
        ok = past(values[rows, np.minimum(mid, values.shape[1] - 1)])
        hi = np.where(active & ok, mid, hi)
        lo = np.where(active & ~ok, mid + 1, lo)


class _BetaBinomialTable:
    """Probability mass, lower and upper tails over a window per size."""

    def __init__(
        self,
        model: CountModel,
        alphas: tuple[float, ...] = (),
        width_sd: float = 12.0,
        mid_p: bool = False,
    ) -> None:
        n = model.p["n"]
        prob = model.p["prob"]
        kappa = model.p["kappa"]
        lo, hi = _window(model, width_sd)
        width = (hi - lo + 1).astype(np.int64)
        self.lo, self.hi, self.n = lo, hi, n
        order = np.argsort(width, kind="stable")  # similar widths share a chunk
        ends = np.cumsum(width[order])
        self.offset = np.empty(width.size, dtype=np.int64)
        self.offset[order] = ends - width[order]
        self.row_of_flat = np.repeat(order, width[order])
        total = int(ends[-1]) if ends.size else 0
        lower = np.empty(total)
        upper = np.empty(total)
        self.mid_p = mid_p
        self.mass = np.empty(total) if mid_p else None
        cuts = np.searchsorted(
            ends, np.arange(1, total // _TABLE_CHUNK + 1) * _TABLE_CHUNK
        )
        bounds = np.unique(np.concatenate([[0], cuts + 1, [order.size]]))
        bounds = bounds[bounds <= order.size]
        self.alphas = tuple(alphas)
        bnd = {a: (np.empty(n.shape), np.empty(n.shape)) for a in self.alphas}

        def chunk(start: int, stop: int) -> None:
            rows = order[start:stop]  # a chunk of sizes, padded to 2-D
            w = int(width[rows].max())
            k = lo[rows, None] + np.arange(w)[None, :]
            valid = k <= hi[rows, None]
            nn, pp, kk = n[rows, None], prob[rows, None], kappa[rows, None]
            kc = np.where(valid, k, 0.0)
            # log P(k + 1) - log P(k) = log((n - k) / (k + 1))
            #   + log((a + k) / (b + n - k - 1)), a = kappa p, b = kappa q,
            # written to hold as kappa -> inf (the binomial).
            with np.errstate(divide="ignore", invalid="ignore"):
                inv = np.where(np.isfinite(kk), 1.0 / kk, 0.0)
                # ((n - k) (p + k / kappa)) / ((k + 1) (q + (n - k - 1) / kappa)),
                # in place (the same operations, in the same order)
                step = nn - kc
                tmp = kc * inv
                tmp += pp
                step *= tmp
                np.subtract(nn, kc, out=tmp)
                tmp -= 1
                tmp *= inv
                tmp += 1 - pp
                den = kc + 1
                den *= tmp
                step /= den
                np.log(step, out=step)
            step[~(k < hi[rows, None])] = 0.0  # the last count and the padding
            logp = np.concatenate(
                [np.zeros((rows.size, 1)), np.cumsum(step[:, :-1], axis=1)], axis=1
            )
            logp = np.where(valid, logp, -np.inf)
            logp -= logp.max(axis=1, keepdims=True)
            mass = np.exp(logp)  # exp(-inf) = 0 in the padding
            mass /= mass.sum(axis=1, keepdims=True)
            cum = np.cumsum(mass, axis=1)
            rcum = np.cumsum(mass[:, ::-1], axis=1)[:, ::-1]
            a, b = self.offset[rows[0]], self.offset[rows[-1]] + width[rows[-1]]
            lower[a:b] = cum[valid]  # rows are contiguous in processing order
            upper[a:b] = rcum[valid]
            if self.mass is not None:  # mid-p: boundaries of T(k) - P(k) / 2
                self.mass[a:b] = mass[valid]
                cum = cum - 0.5 * mass  # padding: mass 0, cum 1, rcum 0
                rcum = rcum - 0.5 * mass
            wr = width[rows]
            for alpha in self.alphas:  # drawn boundaries, row by row in 2-D
                # upper: the first flagged count s has P(X >= s) <= alpha
                j = _first_index(rcum, wr, lambda v, a=alpha: v <= a)
                has = j < wr
                jj = np.minimum(j, wr - 1)[:, None]
                t_s = np.take_along_axis(rcum, jj, 1)[:, 0]
                t_p = np.where(
                    j > 0, np.take_along_axis(rcum, np.maximum(jj - 1, 0), 1)[:, 0], 1.0
                )
                with np.errstate(divide="ignore", invalid="ignore"):
                    c = np.where(t_p > t_s, (alpha - t_s) / (t_p - t_s), 0.0)
                s_ = lo[rows] + j
                up_b = np.where(has, s_ - np.clip(c, EPS, 1.0), hi[rows] + 1 - EPS)
                # lower: the first count not flagged t has P(X <= t) > alpha
                j = _first_index(cum, wr, lambda v, a=alpha: v > a)
                jj = np.minimum(j, wr - 1)[:, None]
                f_t = np.take_along_axis(cum, jj, 1)[:, 0]
                f_p = np.where(
                    j > 0, np.take_along_axis(cum, np.maximum(jj - 1, 0), 1)[:, 0], 0.0
                )
                with np.errstate(divide="ignore", invalid="ignore"):
                    a_ = np.where(f_t > f_p, (f_t - alpha) / (f_t - f_p), 1.0)
                lo_b = lo[rows] + j - np.clip(a_, 0.0, 1.0 - EPS)
                bnd[alpha][0][rows] = lo_b
                bnd[alpha][1][rows] = up_b

        pairs = list(zip(bounds[:-1], bounds[1:], strict=True))
        if len(pairs) > 1:  # numpy releases the GIL: two threads
            with ThreadPoolExecutor(max_workers=2) as pool:
                list(pool.map(lambda ab: chunk(*ab), pairs))
        else:
            for ab in pairs:
                chunk(*ab)
        # Each window holds all but ~2e-15 of the mass (_window); the mass is
        # normalised within it.
        self.outside = np.zeros(n.shape)
        self.bounds = bnd
        self.lower, self.upper, self.width = lower, upper, width

    def tails(self, row: np.ndarray, obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """P(X >= obs), P(X <= obs) for each (row, obs); conservative outside."""
        lo, hi, out = self.lo[row], self.hi[row], self.outside[row]
        ku = np.ceil(obs)
        kl = np.floor(obs)
        iu = self.offset[row] + np.clip(ku - lo, 0, self.width[row] - 1).astype(
            np.int64
        )
        il = self.offset[row] + np.clip(kl - lo, 0, self.width[row] - 1).astype(
            np.int64
        )
        up = np.where(ku < lo, 1.0, np.where(ku > hi, 0.0, self.upper[iu])) + out
        dn = np.where(kl > hi, 1.0, np.where(kl < lo, 0.0, self.lower[il])) + out
        if self.mass is not None:  # mid-p: less half the mass at a whole O
            at = np.where((ku == kl) & (ku >= lo) & (ku <= hi), self.mass[iu], 0.0)
            up, dn = up - 0.5 * at, dn - 0.5 * at
        return np.minimum(up, 1.0), np.minimum(dn, 1.0)

    def boundaries(self, alpha: float) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper drawn boundaries (counts), per row."""
        return self.bounds[alpha]


# --------------------------------------------------------------------------
# Public helpers
# --------------------------------------------------------------------------


def _split_run(fn, model: CountModel) -> tuple[np.ndarray, ...]:
    size = int(np.prod(model.shape))
    if size >= _PARALLEL_MIN and model.dist != "betabinom":
        halves = np.array_split(np.arange(size), 2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            parts = list(pool.map(lambda ix: fn(model.take(ix)), halves))
        return tuple(np.concatenate(x) for x in zip(*parts, strict=True))
    return fn(model)


def boundaries(
    model: CountModel, alphas: list[float], mid_p: bool = False
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Drawn (lower, upper) boundaries in counts for each one-sided alpha."""
    if model.dist == "betabinom":
        table = _BetaBinomialTable(model, tuple(alphas), mid_p=mid_p)
        return [table.boundaries(a) for a in alphas]

    def run(m: CountModel) -> tuple[np.ndarray, ...]:
        out: list[np.ndarray] = []
        for a in alphas:
            out.extend(_walk_boundaries(m, a, mid_p))
        return tuple(out)

    flat = _split_run(run, model)
    return [(flat[2 * i], flat[2 * i + 1]) for i in range(len(alphas))]


def tails(
    model: CountModel,
    obs: np.ndarray,
    table_rows: np.ndarray | None = None,
    mid_p: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """P(X >= obs) and P(X <= obs) (obs may be non-whole: ceil / floor).

    ``model`` has one entry per observation, except for a beta-binomial,
    where ``model`` is per distinct size and ``table_rows`` maps each
    observation to its size. ``mid_p``: P(X > O) + P(X = O) / 2 and
    P(X < O) + P(X = O) / 2 instead (the same for a non-whole O).
    """
    obs = np.asarray(obs, dtype=float)
    if model.dist == "betabinom":
        table = _BetaBinomialTable(model, mid_p=mid_p)
        rows = np.arange(obs.size) if table_rows is None else table_rows
        return table.tails(rows, obs)
    rows = np.arange(obs.size) if table_rows is None else table_rows
    return tails_at(model, rows, obs, mid_p)


def tails_at(
    model: CountModel, rows: np.ndarray, obs: np.ndarray, mid_p: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``tails(model.take(rows), obs, mid_p=mid_p)`` for a closed form.

    Large inputs are split over two threads.
    """
    obs = np.asarray(obs, dtype=float)
    if obs.size >= _PARALLEL_MIN:
        halves = np.array_split(np.arange(obs.size), 2)
        with ThreadPoolExecutor(max_workers=2) as pool:
            parts = list(
                pool.map(
                    lambda ix: _closed_tails(model, rows[ix], obs[ix], mid_p), halves
                )
            )
        return (
            np.concatenate([parts[0][0], parts[1][0]]),
            np.concatenate([parts[0][1], parts[1][1]]),
        )
    return _closed_tails(model, rows, obs, mid_p)


def _closed_tails(
    model: CountModel, rows: np.ndarray, obs: np.ndarray, mid_p: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Tails of a binomial, Poisson or negative binomial at ``model[rows]``."""
    # One special-function call per count: the tail on the far side of the
    # mean directly (no cancellation), the other as its complement.
    # P(X <= floor(O)) = 1 - P(X >= ceil(O)) + P(X = O) [O whole].
    if model.dist == "binomial":
        mean = (model.p["n"] * model.p["prob"])[rows]
    elif model.dist in ("poisson", "nbinom"):
        mean = model.p["mu"][rows]
    else:
        mean = model.moments()[0][rows]
    whole = np.ceil(obs) == np.floor(obs)
    upper = np.empty(obs.shape)
    lower = np.empty(obs.shape)
    above = obs >= mean
    hi = np.flatnonzero(above)
    lo = np.flatnonzero(~above)
    half = 0.5 if mid_p else 0.0  # mid-p: half the mass at O leaves each tail
    if hi.size:
        sub, o = model.take(rows[hi]), obs[hi]
        up = sub.sf(np.ceil(o))
        at = np.where(whole[hi], sub.pmf(o), 0.0)
        upper[hi], lower[hi] = up - half * at, 1.0 - up + (1.0 - half) * at
    if lo.size:
        sub, o = model.take(rows[lo]), obs[lo]
        dn = sub.cdf(np.floor(o))
        at = np.where(whole[lo], sub.pmf(o), 0.0)
        lower[lo], upper[lo] = dn - half * at, 1.0 - dn + (1.0 - half) * at
    return np.clip(upper, 0.0, 1.0), np.clip(lower, 0.0, 1.0)


def verdict(
    model: CountModel,
    alphas: list[float],
    inverse: np.ndarray | None = None,
    obs: np.ndarray | None = None,
    mid_p: bool = False,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray | None, np.ndarray | None]:
    """Boundaries per size of ``model`` and, given ``obs``, each one's tails.

    ``inverse`` maps each observation to its size in ``model``; ``mid_p``
    gives mid-p tails and their boundaries.
    """
    if model.dist == "binomial" and obs is not None and inverse is not None:
        _, var, _ = model.moments()
        cells = np.minimum(24 * np.sqrt(var) + 9, model.p["n"] + 1).sum()
        if cells <= 2 * np.size(obs):  # sizes repeat: one table beats per-unit CDFs
            return _binomial_by_table(model, alphas, inverse, obs, mid_p)
    if model.dist == "betabinom":
        table = _BetaBinomialTable(model, tuple(alphas), mid_p=mid_p)
        bounds = [table.boundaries(a) for a in alphas]
        if obs is None:
            return bounds, None, None
        assert inverse is not None  # obs is always given with its inverse
        up, dn = table.tails(inverse, np.asarray(obs, dtype=float))
        return bounds, up, dn
    bounds = boundaries(model, alphas, mid_p)
    if obs is None:
        return bounds, None, None
    assert inverse is not None  # obs is always given with its inverse
    up, dn = tails_at(model, inverse, obs, mid_p)
    return bounds, up, dn


def null_boundaries_beyond(
    null: CountModel,
    alphas: list[float],
    wider: list[tuple[np.ndarray, np.ndarray]],
    mid_p: bool = False,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Boundaries of a Poisson ``null``, computed only where they could matter.

    ``wider`` are the predictive model's boundaries, to be combined as
    ``min(lower)``/``max(upper)``. Where the null's r_p (from its
    breakpoints, :func:`breakpoint_index`) shows that the predictive boundary
    is the more extreme one, the null's boundary is not computed and the
    predictive one is returned in its place: the null's lower boundary lies in
    (r_p - 1, r_p + 1e-9] and its upper one in [r_p, r_p + 1), so a predictive
    lower boundary <= r_p - 1 (upper >= r_p + 1) wins. Elsewhere the walk
    computes the null exactly, so ``min``/``max`` give the same values as
    when every null boundary is computed. The mid-p boundaries lie in
    (r_p - 1, r_p + 1) on both sides, so the same test holds for them.
    """
    need = np.zeros(null.shape, dtype=bool)
    if null.dist != "poisson":
        need[:] = True
    else:
        for a, (lo2, hi2) in zip(alphas, wider, strict=True):
            r_lo, c_lo = breakpoint_index(null, a)
            r_hi, c_hi = breakpoint_index(null, 1.0 - a)
            need |= ~(c_lo & (lo2 <= r_lo - 1.0)) | ~(c_hi & (hi2 >= r_hi + 1.0))
    out = [(lo2.copy(), hi2.copy()) for lo2, hi2 in wider]
    idx = np.flatnonzero(need)
    if idx.size:
        sub = boundaries(null.take(idx), alphas, mid_p)
        for (lo, hi), (lo_s, hi_s) in zip(out, sub, strict=True):
            lo[idx], hi[idx] = lo_s, hi_s
    return out


def _binomial_by_table(
    model: CountModel,
    alphas: list[float],
    inverse: np.ndarray,
    obs: np.ndarray,
    mid_p: bool = False,
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """Binomial boundaries and tails from one probability table per size.

    The table spans mean +/- 12 SD (the beta-binomial table with a + b
    infinite); counts outside it, whose tail is below ~1e-30, get their tail
    from the closed-form CDF instead.
    """
    n, prob = model.p["n"], model.p["prob"]
    table = _BetaBinomialTable(
        CountModel("betabinom", n=n, prob=prob, kappa=np.full(n.shape, np.inf)),
        tuple(alphas),
        mid_p=mid_p,
    )
    bounds = [table.boundaries(a) for a in alphas]
    obs = np.asarray(obs, dtype=float)
    up, dn = table.tails(inverse, obs)
    far = (np.ceil(obs) > table.hi[inverse]) | (np.floor(obs) < table.lo[inverse])
    if far.any():
        up_f, dn_f = tails(model.take(inverse[far]), obs[far], mid_p=mid_p)
        up[far], dn[far] = up_f, dn_f
    return bounds, up, dn
