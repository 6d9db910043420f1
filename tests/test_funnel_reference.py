"""The fast exact funnel path against an independent slow reference.

The reference computes every unit's tail probabilities, drawn limits and
status one unit at a time with scipy.stats distribution objects (binomial,
Poisson, beta-binomial, negative binomial), with none of ccdata's vectorised
machinery (no shared tables, no quantile walks, no sweeps along sorted
expected counts, no breakpoints, no skipped null boundaries). Units include
the edge cases O = 0, O = n, n = 1, tiny E, and a dense run of distinct
expected counts (where the CDF is swept along the sorted means).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ccdata.comparison import funnel, funnel_limits

LEVELS = (0.95, 0.998)
EPS = 1e-9  # how far inside (s - 1, s) a drawn boundary is kept


class _FullBetaBinomial:
    """Beta-binomial over its whole support [0, n], summed exactly (math.fsum).

    scipy's betabinom sums lgamma-based masses and loses ~1e-12 in its tails
    for n = 1000; this sums the ratio recurrence of successive masses over
    the full support in Python floats, so it is accurate to ~1e-15 and shares
    nothing with ccdata's windowed tables.
    """

    def __init__(self, n: int, a: float, b: float) -> None:
        n = int(n)
        logp = [0.0]
        for k in range(n):
            logp.append(
                logp[-1] + math.log((n - k) * (a + k) / ((k + 1) * (b + n - k - 1)))
            )
        top = max(logp)
        w = [math.exp(v - top) for v in logp]
        total = math.fsum(w)
        self.mass = [v / total for v in w]
        self.n = n

    def pmf(self, k):
        k = int(k)
        return self.mass[k] if 0 <= k <= self.n else 0.0

    def cdf(self, k):
        k = int(np.floor(k))
        return 0.0 if k < 0 else min(math.fsum(self.mass[: k + 1]), 1.0)

    def sf(self, k):  # P(X > k)
        k = int(np.floor(k))
        return 1.0 if k < 0 else math.fsum(self.mass[k + 1 :])

    def ppf(self, p):
        k = 0
        while self.cdf(k) < p and k < self.n:
            k += 1
        return float(k)


def _spiegelhalter(dist, p: float) -> tuple[float, float]:
    """r_p, and a = (F(r_p) - p) / P(r_p) from one scipy distribution."""
    r = float(dist.ppf(p))
    # scipy's ppf is the smallest r with F(r) >= p up to rounding: settle it
    while dist.cdf(r) < p:
        r += 1
    while r > 0 and dist.cdf(r - 1) >= p:
        r -= 1
    m = float(dist.pmf(r))
    a = (float(dist.cdf(r)) - p) / m if m > 0 else 0.0
    return r, a


def _boundaries(dist, alpha: float) -> tuple[float, float]:
    """Drawn (lower, upper) boundary in counts, as documented in _exact."""
    r_lo, a_lo = _spiegelhalter(dist, alpha)
    a_lo = min(max(a_lo, 0.0), 1 - EPS)
    lower = r_lo - a_lo if a_lo > 0 else r_lo + EPS
    r_hi, a_hi = _spiegelhalter(dist, 1 - alpha)
    upper = r_hi + 1 - min(max(a_hi, EPS), 1.0)
    return lower, upper


def _reference(models_per_unit, obs, x, kind):
    """Tails, limits (counts -> indicator) and status, one unit at a time."""
    rows = []
    for dists, o, xi in zip(models_per_unit, obs, x, strict=True):
        up = max(float(d.sf(np.ceil(o) - 1)) for d in dists)
        dn = max(float(d.cdf(np.floor(o))) for d in dists)
        row = {"p_upper": min(up, 1.0), "p_lower": min(dn, 1.0)}
        status = "within"
        for level in sorted(LEVELS):
            alpha = (1 - level) / 2
            sfx = "95" if level == 0.95 else "998"
            bounds = [_boundaries(d, alpha) for d in dists]
            lo = min(b[0] for b in bounds)
            hi = max(b[1] for b in bounds)
            if kind == "proportion":
                row[f"lower_{sfx}"] = min(max(lo / xi, 0.0), 1.0)
                row[f"upper_{sfx}"] = min(max(hi / xi, 0.0), 1.0)
            else:
                row[f"lower_{sfx}"] = max(lo, 0.0) / xi
                row[f"upper_{sfx}"] = max(hi, 0.0) / xi
            if row["p_upper"] <= alpha:
                status = f"above_{sfx}"
            elif row["p_lower"] <= alpha:
                status = f"below_{sfx}"
        row["status"] = status
        rows.append(row)
    return pd.DataFrame(rows)


def _compare(res, ref):
    u = res.units
    for col in ("p_upper", "p_lower"):
        np.testing.assert_allclose(u[col], ref[col], rtol=1e-9, atol=1e-12)
    for col in ("lower_95", "upper_95", "lower_998", "upper_998"):
        np.testing.assert_allclose(u[col], ref[col], rtol=1e-10, atol=1e-12)
    assert u["status"].tolist() == ref["status"].tolist()


def _proportion_units(rng, m=200):
    n = rng.choice([1, 2, 3, 7, 20, 60, 150, 400, 1000], m)
    p = np.clip(rng.beta(4, 40, m), 0, 1)
    events = rng.binomial(n, p)
    events[:6] = 0
    events[6:12] = n[6:12]  # O = n
    n[12:16] = 1
    events[12:14] = 1
    events[14:16] = 0
    return pd.DataFrame({"site_id": np.arange(m), "events": events, "cases": n})


def _ratio_units(rng):
    e = np.concatenate(
        [
            rng.uniform(0.001, 0.05, 12),  # tiny E
            rng.uniform(0.05, 5, 30),
            np.sort(rng.uniform(50, 53, 150)),  # dense: swept along sorted E
            rng.uniform(5, 3000, 60),
        ]
    )
    lam = e * rng.gamma(25, 1 / 25, e.size)
    o = rng.poisson(lam).astype(float)
    o[:5] = 0
    o[42:47] = 0
    return pd.DataFrame({"unit": np.arange(e.size), "observed": o, "expected": e})


@pytest.mark.parametrize("od", [None, "additive", "multiplicative"])
def test_proportion_fast_path_matches_scipy_per_unit(od):
    rng = np.random.default_rng(12)
    data = _proportion_units(rng)
    res = funnel(data, numerator="events", denominator="cases", overdispersion=od)
    assert od is None or res.overdispersion_applied
    t = res.target
    dists = []
    for n in data["cases"]:
        d = [stats.binom(n, t)]
        if od == "additive":
            kappa = max(t * (1 - t) / res.tau2 - 1.0, 1e-6)
            d.append(_FullBetaBinomial(n, kappa * t, kappa * (1 - t)))
        elif od == "multiplicative" and n > 1:
            kappa = max(1 / ((res.phi - 1) / (n - 1)) - 1.0, 1e-6)
            d.append(_FullBetaBinomial(n, kappa * t, kappa * (1 - t)))
        dists.append(d)
    ref = _reference(dists, data["events"], data["cases"], "proportion")
    _compare(res, ref)


@pytest.mark.parametrize(
    "od", [None, "additive", pytest.param("multiplicative", marks=pytest.mark.slow)]
)
def test_ratio_fast_path_matches_scipy_per_unit(od):
    rng = np.random.default_rng(21)
    data = _ratio_units(rng)
    res = funnel(
        data,
        numerator="observed",
        denominator="expected",
        unit="unit",
        kind="ratio",
        overdispersion=od,
        target=1.1,
    )
    assert od is None or res.overdispersion_applied
    t = res.target
    dists = []
    for e in data["expected"]:
        mu = e * t
        d = [stats.poisson(mu)]
        if od == "additive":
            shape = t**2 / res.tau2
        elif od == "multiplicative":
            shape = mu / (res.phi - 1)
        if od is not None:
            d.append(stats.nbinom(shape, shape / (shape + mu)))
        dists.append(d)
    ref = _reference(dists, data["observed"], data["expected"], "ratio")
    _compare(res, ref)


def test_dense_ratio_limits_match_scipy_quantiles():
    """funnel_limits over 2,000 close expected counts (the swept CDF)."""
    e = np.linspace(3.0, 9.0, 2000)
    got = funnel_limits(e, 1.0, kind="ratio", levels=(0.998,))
    adj = funnel_limits(e, 1.0, kind="ratio", levels=(0.998,), tau2=0.02)
    for i in np.arange(0, 2000, 37):
        lo, hi = _boundaries(stats.poisson(e[i]), 0.001)
        assert got["lower_998"].iloc[i] == pytest.approx(max(lo, 0) / e[i], rel=1e-11)
        assert got["upper_998"].iloc[i] == pytest.approx(hi / e[i], rel=1e-11)
        shape = 1 / 0.02
        nb = stats.nbinom(shape, shape / (shape + e[i]))
        lo2, hi2 = _boundaries(nb, 0.001)
        want_lo, want_hi = min(lo, lo2), max(hi, hi2)
        assert adj["lower_998"].iloc[i] == pytest.approx(
            max(want_lo, 0) / e[i], rel=1e-11, abs=1e-14
        )
        assert adj["upper_998"].iloc[i] == pytest.approx(want_hi / e[i], rel=1e-11)


@pytest.mark.parametrize(
    ("dist", "lo", "hi", "shape", "size"),
    [
        ("poisson", 2.0, 400.0, None, 20_000),
        ("poisson", 0.001, 3.0, None, 20_000),
        ("poisson", 1e4, 1e6, None, 20_000),
        ("nbinom", 2.0, 400.0, 100.0, 20_000),
        ("nbinom", 0.01, 5000.0, 0.5, 20_000),
        # dense: most steps by the corrected trapezoid (h rate <= 1e-3)
        ("poisson", 2.0, 400.0, None, 300_000),
        ("nbinom", 2.0, 400.0, 80.0, 300_000),
    ],
)
def test_swept_cdf_equals_the_cdf_at_every_point(dist, lo, hi, shape, size):
    from ccdata.comparison._exact import CountModel, _cornish_fisher, _swept_cdf

    mu = np.sort(np.random.default_rng(3).uniform(lo, hi, size))
    params = (
        {"mu": mu} if shape is None else {"mu": mu, "shape": np.full(mu.size, shape)}
    )
    model = CountModel(dist, **params)
    for p in (0.001, 0.025, 0.5, 0.975, 0.999):
        r = _cornish_fisher(model, p)
        exact = (
            stats.poisson.cdf(r, mu)
            if shape is None
            else stats.nbinom.cdf(r, shape, shape / (shape + mu))
        )
        np.testing.assert_allclose(_swept_cdf(model, r), exact, rtol=0, atol=2e-13)


def test_null_boundaries_skipped_only_where_the_predictive_ones_win():
    from ccdata.comparison._exact import (
        CountModel,
        boundaries,
        null_boundaries_beyond,
    )

    mu = np.sort(np.random.default_rng(4).uniform(0.01, 300, 5_000))
    null = CountModel("poisson", mu=mu)
    alphas = [0.025, 0.001]
    for tau2 in (1e-7, 1e-3, 0.05):
        shape = 1.0 / tau2
        pred = CountModel("nbinom", mu=mu, shape=np.full(mu.size, shape))
        wide = boundaries(pred, alphas)
        full = boundaries(null, alphas)
        fast = null_boundaries_beyond(null, alphas, wide)
        for (lo, hi), (lo2, hi2), (flo, fhi) in zip(full, wide, fast, strict=True):
            np.testing.assert_array_equal(np.minimum(lo, lo2), np.minimum(flo, lo2))
            np.testing.assert_array_equal(np.maximum(hi, hi2), np.maximum(fhi, hi2))


def test_nbinom_cdf_known_value_at_a_small_shape():
    """Shape 0.5, mean 4112.17, r = 9,579: mpmath at 50 digits.

    scipy 1.11's ``special.betainc`` gives 0.873054594135802 here (5.3e-12
    off); the CDF goes through ``scipy.stats.nbinom`` (Boost) instead.
    """
    from ccdata.comparison._exact import CountModel

    mu = 4112.172919957632
    model = CountModel("nbinom", mu=np.array([mu]), shape=np.array([0.5]))
    assert model.cdf(np.array([9579.0]))[0] == pytest.approx(
        0.8730545941304976670310371, abs=2e-15
    )
    assert model.sf(np.array([9580.0]))[0] == pytest.approx(
        0.1269454058695023329689629, abs=2e-15
    )


def _bb_model(n, prob, kappa):
    from ccdata.comparison._exact import CountModel

    n = np.asarray(n, dtype=float)
    return CountModel(
        "betabinom",
        n=n,
        prob=np.full(n.shape, prob),
        kappa=np.full(n.shape, kappa),
    )


@pytest.mark.parametrize("kappa", [0.5, 1.0, 5.0, 20.0])
def test_betabinomial_tails_at_small_a_plus_b_match_scipy(kappa):
    """Every count of a heavy-tailed beta-binomial (a + b small, 3.5%)."""
    from ccdata.comparison._exact import tails

    p = 0.035
    a, b = kappa * p, kappa * (1 - p)
    for n in (10, 60, 200, 400):
        k = np.arange(n + 1.0)
        up, dn = tails(_bb_model([n], p, kappa), k, np.zeros(k.size, dtype=int))
        ref = stats.betabinom(n, a, b)
        np.testing.assert_allclose(up, ref.sf(k - 1), rtol=0, atol=1e-12)
        np.testing.assert_allclose(dn, ref.cdf(k), rtol=0, atol=1e-12)


def test_betabinomial_window_holds_the_heavy_tail():
    """a + b = 20 around 3.5% at n = 5,000: mean +/- 12 SD ends at 2,591 and
    left 3e-7 of the mass beyond it; the window now covers it (reference:
    the whole support summed with math.fsum; scipy's betabinom is ~1e-11
    off at this n)."""
    from ccdata.comparison._exact import tails

    n, p, kappa = 5000, 0.035, 20.0
    full = _FullBetaBinomial(n, kappa * p, kappa * (1 - p))
    k = np.array([0, 1, 50, 175, 500, 1000, 2000, 2591, 2592, 2700, 3000, 4000])
    up, dn = tails(_bb_model([n], p, kappa), k.astype(float), np.zeros(k.size, int))
    assert full.sf(2591) > 1e-7  # the tail the 12-SD window missed
    for i, kk in enumerate(k):
        assert up[i] == pytest.approx(full.sf(kk - 1), rel=1e-10, abs=1e-14)
        assert dn[i] == pytest.approx(full.cdf(kk), rel=1e-10, abs=1e-14)


def _binomial_tails_by_recurrence(n: int, p: float, k: int) -> tuple[float, float]:
    """P(X >= k), P(X <= k) of Binomial(n, p), summed from the mode outwards.

    Successive masses by their ratio (n - j) p / ((j + 1) q), over mode +/- 40
    SD, normalised with math.fsum: ~1e-13, and nothing shared with scipy.
    """
    q = 1 - p
    mode = int((n + 1) * p)
    half = int(40 * math.sqrt(n * p * q)) + 10
    lo, hi = max(mode - half, 0), min(mode + half, n)
    w = {mode: 1.0}
    for j in range(mode, hi):
        w[j + 1] = w[j] * (n - j) * p / ((j + 1) * q)
    for j in range(mode, lo, -1):
        w[j - 1] = w[j] * j * q / ((n - j + 1) * p)
    total = math.fsum(w.values())
    up = math.fsum(v for j, v in w.items() if j >= k) / total
    dn = math.fsum(v for j, v in w.items() if j <= k) / total
    return up, dn


def test_binomial_tails_hold_at_millions_of_cases():
    """n = 1e6 and 1e7 (scipy 1.11's special.betainc is 1e-9 and 1e-3 off)."""
    n = np.array([1_000_000, 10_000_000])
    t = 0.08
    events = np.round(n * t + np.array([1.5, -2.2]) * np.sqrt(n * t * (1 - t)))
    data = pd.DataFrame({"site_id": [1, 2], "events": events, "cases": n})
    res = funnel(data, numerator="events", denominator="cases", target=t)
    for i in range(2):
        up, dn = _binomial_tails_by_recurrence(int(n[i]), t, int(events[i]))
        assert res.units["p_upper"].iloc[i] == pytest.approx(up, abs=1e-10)
        assert res.units["p_lower"].iloc[i] == pytest.approx(dn, abs=1e-10)


def _mid_boundaries_by_scan(dist, alpha: float) -> tuple[float, float]:
    """Drawn boundaries of mid-p flags, scanning counts around the quantiles."""
    # lower: first count not flagged t1 (G(t1) > alpha), interpolated to t1 - 1
    ks = np.arange(max(dist.ppf(alpha) - 3, -1), dist.ppf(alpha) + 4)
    g = dist.cdf(ks) - 0.5 * dist.pmf(ks)
    j = int(np.argmax(g > alpha))
    c = (g[j] - alpha) / (g[j] - g[j - 1])
    lower = ks[j] - min(max(c, 0.0), 1 - EPS)
    # upper: first flagged count s (G(s) <= alpha)
    ks = np.arange(max(dist.ppf(1 - alpha) - 3, 0), dist.ppf(1 - alpha) + 4)
    g = dist.sf(ks) + 0.5 * dist.pmf(ks)
    j = int(np.argmax(g <= alpha))
    c = (alpha - g[j]) / (g[j - 1] - g[j])
    upper = ks[j] - min(max(c, EPS), 1.0)
    return float(lower), float(upper)


@pytest.mark.parametrize("kind", ["proportion", "ratio"])
def test_mid_p_fast_path_matches_scipy_per_unit(kind):
    """mid_p=True under additive over-dispersion, one unit at a time."""
    rng = np.random.default_rng(31)
    if kind == "proportion":
        data = _proportion_units(rng, m=80)
        data = data[data["cases"] >= 20].reset_index(drop=True)
        kw = dict(numerator="events", denominator="cases")
        x, obs = data["cases"].to_numpy(), data["events"].to_numpy()
    else:
        data = _ratio_units(rng).iloc[::4].reset_index(drop=True)
        data = data[data["expected"] > 1].reset_index(drop=True)
        kw = dict(numerator="observed", denominator="expected", unit="unit",
                  kind="ratio", target=1.1)  # fmt: skip
        x, obs = data["expected"].to_numpy(), data["observed"].to_numpy()
    res = funnel(data, overdispersion="additive", mid_p=True, **kw)
    assert res.overdispersion_applied
    t, u = res.target, res.units
    for i in range(len(data)):
        if kind == "proportion":
            kappa = max(t * (1 - t) / res.tau2 - 1.0, 1e-6)
            n = int(x[i])
            dists = [stats.binom(n, t), stats.betabinom(n, kappa * t, kappa * (1 - t))]
        else:
            mu, shape = x[i] * t, t**2 / res.tau2
            dists = [stats.poisson(mu), stats.nbinom(shape, shape / (shape + mu))]
        o = obs[i]
        up = max(float(d.sf(o)) + 0.5 * float(d.pmf(o)) for d in dists)
        dn = max(float(d.cdf(o)) - 0.5 * float(d.pmf(o)) for d in dists)
        assert u["p_upper"].iloc[i] == pytest.approx(up, rel=1e-9, abs=1e-12)
        assert u["p_lower"].iloc[i] == pytest.approx(dn, rel=1e-9, abs=1e-12)
        for level in LEVELS:
            sfx = "95" if level == 0.95 else "998"
            bounds = [_mid_boundaries_by_scan(d, (1 - level) / 2) for d in dists]
            lo = max(min(b[0] for b in bounds), 0.0) / x[i]
            hi = max(b[1] for b in bounds) / x[i]
            if kind == "proportion":
                lo, hi = min(lo, 1.0), min(hi, 1.0)
            assert u[f"lower_{sfx}"].iloc[i] == pytest.approx(lo, rel=1e-9, abs=1e-12)
            assert u[f"upper_{sfx}"].iloc[i] == pytest.approx(hi, rel=1e-9, abs=1e-12)


def test_dense_sweep_uses_the_corrected_trapezoid(monkeypatch):
    """The dense case above really takes the Hermite branch (not only Gauss)."""
    from ccdata.comparison import _exact

    mu = np.sort(np.random.default_rng(3).uniform(2.0, 400.0, 300_000))
    model = _exact.CountModel("poisson", mu=mu)
    r = _exact._cornish_fisher(model, 0.975)
    calls = []
    real = _exact._gauss_steps

    def spy(*args):
        calls.append(args[-1].size)
        return real(*args)

    monkeypatch.setattr(_exact, "_gauss_steps", spy)
    _exact._swept_cdf(model, r)
    assert 0 < sum(calls) < 0.2 * mu.size  # a few long steps, mostly Hermite
