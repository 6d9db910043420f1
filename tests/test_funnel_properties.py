"""Hypothesis properties of funnel limits."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from ccdata.comparison import funnel_limits
from ccdata.comparison.limits import exact_count_limits

PROP_METHODS = ("exact", "normal", "arcsine", "wilson")
RATIO_METHODS = ("exact", "normal", "sqrt", "log", "byar", "chisq")


def _check_nested_and_contains(lim, target, upper_cap=np.inf, contains=True):
    lo95, hi95 = lim["lower_95"].to_numpy(), lim["upper_95"].to_numpy()
    lo998, hi998 = lim["lower_998"].to_numpy(), lim["upper_998"].to_numpy()
    tol = 1e-12
    assert (0 <= lo998 + tol).all() and (lo998 <= lo95 + tol).all()
    assert (hi95 <= hi998 + tol).all() and (hi998 <= upper_cap + tol).all()
    assert (lo95 <= hi95 + tol).all()
    if contains:
        assert (lo95 <= target + tol).all() and (target <= hi95 + tol).all()


@given(
    n=st.integers(1, 20_000),
    p=st.floats(0.001, 0.999),
    method=st.sampled_from(PROP_METHODS),
)
def test_proportion_limits_nest_contain_target_within_unit_interval(n, p, method):
    lim = funnel_limits([n], p, method=method)
    # Exact limits of a nearly degenerate count (expected events or non-events
    # below ~0.03) leave the target outside: e.g. Poisson mean 0.02 has
    # P(R = 0) > 0.975, so any event is beyond the limit. Documented.
    contains = method != "exact" or min(n * p, n * (1 - p)) >= 0.05
    _check_nested_and_contains(lim, p, upper_cap=1.0, contains=contains)


@given(
    e=st.floats(0.05, 1e5),
    theta=st.floats(0.2, 5.0),
    method=st.sampled_from(RATIO_METHODS),
)
def test_ratio_limits_nest_and_contain_target(e, theta, method):
    lim = funnel_limits([e], theta, kind="ratio", method=method)
    _check_nested_and_contains(
        lim, theta, contains=method != "exact" or e * theta >= 0.05
    )


@given(
    n=st.integers(1, 5_000),
    p=st.floats(0.001, 0.999),
    q=st.sampled_from([0.001, 0.025, 0.975, 0.999]),
)
def test_exact_count_limit_never_decreases_with_n(n, p, q):
    # Binomial(n, p) is stochastically increasing in n, so the interpolated
    # quantile r_p - alpha (count scale) is non-decreasing in n.
    c = exact_count_limits("binomial", np.array([n, n + 1, 2 * n], float), p, q)
    assert c[0] <= c[1] + 1e-9 and c[1] <= c[2] + 1e-9


@given(n=st.integers(1, 5_000), p=st.floats(0.001, 0.999))
def test_exact_proportion_limits_narrow_as_n_grows(n, p):
    # On the proportion scale the interpolated exact limits are discrete and
    # not strictly monotone between neighbouring n. What holds: the lower
    # limit never falls as n grows, and the upper limit at 2n is not above the
    # upper limit at n once n p (1 - p) >= 1.
    lim = funnel_limits([n, n + 1, 2 * n], p)
    lo = lim[["lower_95", "lower_998"]].to_numpy()
    assert (np.diff(lo, axis=0) >= -1e-12).all()
    if n * p * (1 - p) >= 1:
        hi = lim[["upper_95", "upper_998"]].to_numpy()
        assert (hi[2] <= hi[0] + 1e-12).all()


@given(
    n=st.integers(1, 5_000),
    p=st.floats(0.001, 0.999),
    method=st.sampled_from(("normal", "arcsine", "wilson")),
)
def test_smooth_limits_narrow_monotonically(n, p, method):
    lim = funnel_limits([n, n + 1], p, method=method)
    assert (np.diff(lim[["lower_95", "lower_998"]].to_numpy(), axis=0) >= -1e-12).all()
    assert (np.diff(lim[["upper_95", "upper_998"]].to_numpy(), axis=0) <= 1e-12).all()


@given(n=st.integers(20_000, 10_000_000), p=st.floats(0.02, 0.98))
def test_exact_matches_normal_for_large_denominators(n, p):
    ex = funnel_limits([n], p).iloc[0, 1:].to_numpy()
    no = funnel_limits([n], p, method="normal").iloc[0, 1:].to_numpy()
    # Cornish-Fisher: the difference is O(1/n), here at most 4/n
    assert np.abs(ex - no).max() <= 4.0 / n


@given(e=st.floats(2_000, 1e6), theta=st.floats(0.5, 2.0))
def test_exact_poisson_matches_normal_for_large_expected(e, theta):
    ex = funnel_limits([e], theta, kind="ratio").iloc[0, 1:].to_numpy()
    no = funnel_limits([e], theta, kind="ratio", method="normal").iloc[0, 1:].to_numpy()
    assert np.abs(ex - no).max() <= 4.0 / e


@given(
    n=st.integers(1, 3_000),
    p=st.floats(0.001, 0.999),
    q=st.sampled_from([0.025, 0.975, 0.999]),
)
def test_exact_limit_agrees_with_scipy_definition(n, p, q):
    c = exact_count_limits("binomial", np.array([float(n)]), p, q)[0]
    r = stats.binom.ppf(q, n, p)
    f, pmf = stats.binom.cdf(r, n, p), stats.binom.pmf(r, n, p)
    assert abs(c - (r - (f - q) / pmf)) < 1e-7
