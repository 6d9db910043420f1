"""Known-answer tests of funnel_limits: brute force, published values, formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ccdata.comparison import funnel_limits
from ccdata.errors import InputError

Z975, Z999 = stats.norm.ppf(0.975), stats.norm.ppf(0.999)


# ---- independent brute force: sum the pmf term by term --------------------


def brute_binomial_limit(n: int, p0: float, q: float, shift: int = 0) -> float:
    """Spiegelhalter's interpolated q-quantile / n; ``shift=1`` moves it up a
    count: the boundary of the flagged upper counts (first flagged r_p + 1)."""
    cdf, prev = 0.0, 0.0
    for r in range(n + 1):
        pmf = math.comb(n, r) * p0**r * (1 - p0) ** (n - r)
        prev, cdf = cdf, cdf + pmf
        if cdf >= q:
            alpha = (cdf - q) / (cdf - prev)
            return min(max((r + shift - alpha) / n, 0.0), 1.0)
    return 1.0


def brute_poisson_limit(e: float, theta: float, q: float, shift: int = 0) -> float:
    mu = e * theta
    cdf, prev, pmf, r = 0.0, 0.0, math.exp(-mu), 0
    while True:
        prev, cdf = cdf, cdf + pmf
        if cdf >= q:
            alpha = (cdf - q) / (cdf - prev)
            return max(r + shift - alpha, 0.0) / e
        r += 1
        pmf *= mu / r


_SIDES = [
    ("lower_95", 0.025, 0),
    ("upper_95", 0.975, 1),
    ("lower_998", 0.001, 0),
    ("upper_998", 0.999, 1),
]


@pytest.mark.parametrize("p0", [0.001, 0.0739, 0.3, 0.5, 0.92])
@pytest.mark.parametrize("n", [1, 2, 7, 47, 148, 810])
def test_exact_binomial_matches_brute_force(n, p0):
    quant = funnel_limits(n, p0, levels=(0.95, 0.998), boundary="quantile")
    flag = funnel_limits(n, p0, levels=(0.95, 0.998))
    for col, q, shift in _SIDES:
        assert quant[col].iloc[0] == pytest.approx(
            brute_binomial_limit(n, p0, q), abs=1e-10
        ), col
        assert flag[col].iloc[0] == pytest.approx(
            brute_binomial_limit(n, p0, q, shift), abs=1e-8
        ), col


@pytest.mark.parametrize("theta", [0.8, 1.0, 1.3])
@pytest.mark.parametrize("e", [0.01, 0.5, 3.7, 20.0, 106.44, 400.0])
def test_exact_poisson_matches_brute_force(e, theta):
    quant = funnel_limits(e, theta, kind="ratio", boundary="quantile")
    flag = funnel_limits(e, theta, kind="ratio")
    for col, q, shift in _SIDES:
        assert quant[col].iloc[0] == pytest.approx(
            brute_poisson_limit(e, theta, q), rel=1e-9, abs=1e-12
        ), col
        assert flag[col].iloc[0] == pytest.approx(
            brute_poisson_limit(e, theta, q, shift), rel=1e-9, abs=1e-8 / e
        ), col


def test_exact_on_phe_ratio_inputs_match_brute_force(sample_data_dir):
    oe = pd.read_csv(sample_data_dir / "real" / "phe_ratio_areas.csv")
    e = oe["expected"].to_numpy()[:40]
    lim = funnel_limits(e, 1.0, kind="ratio", levels=(0.95,), boundary="quantile")
    want = [brute_poisson_limit(v, 1.0, 0.975) for v in e]
    np.testing.assert_allclose(lim["upper_95"], want, rtol=1e-9)
    lim = funnel_limits(e, 1.0, kind="ratio", levels=(0.95,))
    want = [brute_poisson_limit(v, 1.0, 0.975, 1) for v in e]
    np.testing.assert_allclose(lim["upper_95"], want, rtol=1e-9)


def test_exact_binomial_edge_cases():
    # tiny expected count: r_p = 0 on both sides. Spiegelhalter's quantile
    # clips both limits to 0; the drawn flag boundary lies between the counts
    # 0 (not flagged) and 1 (flagged, P(X >= 1) = 1e-5), i.e. in (0, 0.1).
    lim = funnel_limits([10], 1e-6, boundary="quantile")
    assert lim["lower_95"].iloc[0] == 0.0
    assert lim["upper_95"].iloc[0] == 0.0
    lim = funnel_limits([10], 1e-6)
    assert lim["lower_95"].iloc[0] == 0.0
    assert 0.0 < lim["upper_95"].iloc[0] < 0.1
    # targets on the edge: both limits equal the target
    for target in (0.0, 1.0):
        lim = funnel_limits([5, 50], target)
        assert (lim.drop(columns="denominator") == target).all().all()
    # zero, negative-free NaN denominators give NaN limits
    lim = funnel_limits([0, np.nan, 10], 0.2)
    assert lim.iloc[:2, 1:].isna().all().all()
    assert lim.iloc[2, 1:].notna().all()


def test_exact_large_denominators_close_to_normal():
    n = np.array([10_000, 100_000, 1_000_000])
    ex = funnel_limits(n, 0.2)
    no = funnel_limits(n, 0.2, method="normal")
    diff = (ex.iloc[:, 1:] - no.iloc[:, 1:]).abs().max(axis=1).to_numpy()
    assert (diff <= 4.0 / n).all()


# ---- published: PHEindicatormethods proportion funnel (normal approximation)


def test_normal_matches_phe_indicator_methods(reference_dir):
    ref = pd.read_csv(reference_dir / "funnel" / "phe_funnel_prop_outputs.csv")
    target = ref["Baseline"].iloc[0] / 100
    lim = funnel_limits(ref["Population"], target, method="normal", multiplier=100)
    np.testing.assert_allclose(lim["lower_95"], ref["Lower2s0025limit"], atol=2e-6)
    np.testing.assert_allclose(lim["upper_95"], ref["Upper2s0025limit"], atol=2e-6)
    np.testing.assert_allclose(lim["lower_998"], ref["Lower3s0001limit"], atol=2e-6)
    np.testing.assert_allclose(lim["upper_998"], ref["Upper3s0001limit"], atol=2e-6)


# ---- every named method against its formula, written out here -------------


def test_normal_proportion_formula():
    n, p = np.array([30.0, 400.0]), 0.12
    lim = funnel_limits(n, p, method="normal", levels=(0.95,))
    np.testing.assert_allclose(lim["upper_95"], p + Z975 * np.sqrt(p * (1 - p) / n))
    np.testing.assert_allclose(
        lim["lower_95"], np.maximum(0, p - Z975 * np.sqrt(p * (1 - p) / n))
    )


def test_arcsine_formula():
    n, p = np.array([25.0, 300.0]), 0.3
    lim = funnel_limits(n, p, method="arcsine", levels=(0.998,))
    t0 = np.arcsin(np.sqrt(p))
    np.testing.assert_allclose(
        lim["upper_998"], np.sin(t0 + Z999 / (2 * np.sqrt(n))) ** 2
    )
    np.testing.assert_allclose(
        lim["lower_998"], np.sin(t0 - Z999 / (2 * np.sqrt(n))) ** 2
    )
    # the angle is clipped at 0 before squaring back, so the limit stays at 0
    tiny = funnel_limits([2.0], 0.01, method="arcsine", levels=(0.998,))
    assert tiny["lower_998"].iloc[0] == 0.0


def test_wilson_formula():
    n, p = 60.0, 0.2
    lim = funnel_limits(n, p, method="wilson", levels=(0.95,))
    z = Z975
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert lim["lower_95"].iloc[0] == pytest.approx(centre - half)
    assert lim["upper_95"].iloc[0] == pytest.approx(centre + half)


def test_ratio_normal_sqrt_log_formulas():
    e, th = np.array([4.0, 80.0]), 1.1
    nor = funnel_limits(e, th, kind="ratio", method="normal", levels=(0.95,))
    np.testing.assert_allclose(nor["upper_95"], th + Z975 * np.sqrt(th / e))
    sq = funnel_limits(e, th, kind="ratio", method="sqrt", levels=(0.95,))
    np.testing.assert_allclose(
        sq["upper_95"], (np.sqrt(th) + Z975 / (2 * np.sqrt(e))) ** 2
    )
    np.testing.assert_allclose(
        sq["lower_95"], np.maximum(np.sqrt(th) - Z975 / (2 * np.sqrt(e)), 0) ** 2
    )
    lg = funnel_limits(e, th, kind="ratio", method="log", levels=(0.95,))
    np.testing.assert_allclose(lg["lower_95"], th * np.exp(-Z975 / np.sqrt(th * e)))
    np.testing.assert_allclose(lg["upper_95"], th * np.exp(Z975 / np.sqrt(th * e)))


def test_chisq_formula_and_byar_approximates_it():
    e = np.array([2.0, 15.0, 250.0])
    ch = funnel_limits(e, 1.0, kind="ratio", method="chisq", levels=(0.95,))
    np.testing.assert_allclose(ch["lower_95"], stats.chi2.ppf(0.025, 2 * e) / (2 * e))
    np.testing.assert_allclose(
        ch["upper_95"], stats.chi2.ppf(0.975, 2 * (e + 1)) / (2 * e)
    )
    by = funnel_limits(e, 1.0, kind="ratio", method="byar", levels=(0.95,))
    lower = (1 - 1 / (9 * e) - Z975 / (3 * np.sqrt(e))) ** 3
    upper = (e + 1) / e * (1 - 1 / (9 * (e + 1)) + Z975 / (3 * np.sqrt(e + 1))) ** 3
    np.testing.assert_allclose(by["lower_95"], lower)
    np.testing.assert_allclose(by["upper_95"], upper)
    # Byar is the Wilson-Hilferty approximation of the chi-squared quantiles
    np.testing.assert_allclose(by.iloc[1:, 1:], ch.iloc[1:, 1:], rtol=0.02)


def test_ratio_of_counts_exact_is_conditional_binomial():
    total, theta = 40, 1.5
    pi0 = theta / (1 + theta)
    lim = funnel_limits(total, theta, kind="ratio_of_counts", levels=(0.95,))
    p_up = brute_binomial_limit(total, pi0, 0.975, shift=1) * total
    assert lim["upper_95"].iloc[0] == pytest.approx(p_up / (total - p_up))
    lg = funnel_limits(
        total, theta, kind="ratio_of_counts", method="log", levels=(0.95,)
    )
    s = math.sqrt(1 / (total * pi0) + 1 / (total * (1 - pi0)))
    assert lg["upper_95"].iloc[0] == pytest.approx(theta * math.exp(Z975 * s))


def test_mean_limits_and_overdispersion_formulas():
    n = np.array([10.0, 90.0])
    m = funnel_limits(n, 5.0, kind="mean", sd=2.0, levels=(0.95,))
    np.testing.assert_allclose(m["upper_95"], 5 + Z975 * 2 / np.sqrt(n))
    add = funnel_limits(n, 0.1, method="normal", tau2=0.001, levels=(0.95,))
    np.testing.assert_allclose(add["upper_95"], 0.1 + Z975 * np.sqrt(0.09 / n + 0.001))
    mult = funnel_limits(n, 1.0, kind="ratio", method="log", phi=2.0, levels=(0.95,))
    np.testing.assert_allclose(mult["upper_95"], np.exp(Z975 * np.sqrt(2.0 / n)))
    # exact + over-dispersion: beta-binomial predictive limits on the count
    # scale (never the normal approximation), no narrower than the exact ones
    ex = funnel_limits(n, 0.1, tau2=0.001, levels=(0.95,))
    plain = funnel_limits(n, 0.1, levels=(0.95,))
    assert (ex["upper_95"] >= plain["upper_95"]).all()
    assert (ex["lower_95"] <= plain["lower_95"]).all()


def test_columns_multiplier_and_level_suffixes():
    lim = funnel_limits(
        [50, 100], 1.0, kind="ratio", levels=(0.9, 0.99), multiplier=100
    )
    assert list(lim.columns) == [
        "denominator",
        "lower_90",
        "upper_90",
        "lower_99",
        "upper_99",
    ]
    plain = funnel_limits([50, 100], 1.0, kind="ratio", levels=(0.9, 0.99))
    np.testing.assert_allclose(lim.iloc[:, 1:], plain.iloc[:, 1:] * 100)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kind": "rate"}, "kind"),
        ({"method": "sqrt"}, "method"),
        ({"levels": (0.95, 1.2)}, "levels"),
        ({"phi": 2.0, "tau2": 0.1}, "not both"),
        ({"phi": -1.0}, "phi"),
        ({"tau2": -0.1}, "tau2"),
        ({"multiplier": 0}, "multiplier"),
        ({"kind": "mean"}, "sd"),
    ],
)
def test_funnel_limits_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        funnel_limits([10, 20], 0.5, **kwargs)


def test_funnel_limits_bad_target_and_denominators():
    with pytest.raises(InputError, match="target"):
        funnel_limits([10], 1.5)
    with pytest.raises(InputError, match="whole-number"):
        funnel_limits([10.5], 0.5)
    with pytest.raises(InputError, match="one-dimensional"):
        funnel_limits([[1, 2], [3, 4]], 0.5)


@pytest.mark.parametrize("method", ["byar", "chisq"])
def test_byar_and_chisq_use_the_null_mean_e_times_target(method):
    # The null count is Poisson(mu), mu = E x target (as for the exact limits):
    # the approximations are evaluated at mu and divided by E. Scaling the
    # limits of E by the target instead put them ~5 events off at E = 20,
    # target 2; at mu they stay within ~2 events of the exact limits (they are
    # confidence limits for a mean, shifted by about one count from prediction
    # limits).
    e = np.array([20.0, 50.0, 200.0])
    z = stats.norm.ppf(0.975)
    for target in (0.5, 1.0, 2.0):
        mu = e * target
        got = funnel_limits(e, target, kind="ratio", method=method, levels=(0.95,))
        if method == "chisq":
            lower = stats.chi2.ppf(0.025, 2 * mu) / (2 * e)
            upper = stats.chi2.ppf(0.975, 2 * (mu + 1)) / (2 * e)
        else:
            lower = mu * (1 - 1 / (9 * mu) - z / (3 * np.sqrt(mu))) ** 3 / e
            m1 = mu + 1
            upper = m1 * (1 - 1 / (9 * m1) + z / (3 * np.sqrt(m1))) ** 3 / e
        np.testing.assert_allclose(got["lower_95"], lower, rtol=1e-12)
        np.testing.assert_allclose(got["upper_95"], upper, rtol=1e-12)
        exact = funnel_limits(e, target, kind="ratio", method="exact", levels=(0.95,))
        for col in ("lower_95", "upper_95"):
            events_apart = np.abs(got[col] - exact[col]).to_numpy() * e
            assert (events_apart < 2.5).all(), (target, col, events_apart)


# ---- method="phe": PHEindicatormethods' proportion funnel, limits and bands


def test_phe_method_reproduces_limit_table(reference_dir):
    ref = pd.read_csv(reference_dir / "funnel" / "phe_funnel_prop_outputs.csv")
    target = ref["Baseline"].iloc[0] / 100
    lim = funnel_limits(ref["Population"], target, method="phe", multiplier=100)
    for ours, theirs in [
        ("lower_95", "Lower2s0025limit"),
        ("upper_95", "Upper2s0025limit"),
        ("lower_998", "Lower3s0001limit"),
        ("upper_998", "Upper3s0001limit"),
    ]:
        # the file is rounded to 6 decimals (per cent)
        np.testing.assert_allclose(lim[ours], ref[theirs], atol=5.1e-7)
    # algebraically the normal approximation (PHE's "Wilson" label notwithstanding)
    normal = funnel_limits(ref["Population"], target, method="normal", multiplier=100)
    np.testing.assert_allclose(lim.iloc[:, 1:], normal.iloc[:, 1:], atol=1e-9)


def test_phe_method_reproduces_significance_bands(sample_data_dir, reference_dir):
    from ccdata.comparison import funnel

    areas = pd.read_csv(sample_data_dir / "real" / "phe_proportion_areas.csv")
    want = pd.read_csv(reference_dir / "funnel" / "phe_funnel_prop_significance.csv")
    # PHE's average is over its whole test file (80.642448%, the outputs' Baseline)
    res = funnel(
        areas,
        numerator="numerator",
        denominator="denominator",
        unit="Area",
        target=0.80642448,
        method="phe",
    )
    bands = {
        "above_998": "High (0.001)",
        "above_95": "High (0.025)",
        "below_998": "Low (0.001)",
        "below_95": "Low (0.025)",
        "within": "Not significant",
    }
    got = res.units.set_index("unit")["status"].map(bands)
    assert got.loc[want["Area"]].tolist() == want["significance"].tolist()
