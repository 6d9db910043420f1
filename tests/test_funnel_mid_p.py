"""mid_p=True: mid-p tails P(X > O) + P(X = O) / 2, their flags and drawn limits.

Sizes are enumerated exactly (every count of each null as a unit, its
probability from scipy's pmf) to show what the docs say: mid-p comes closer
to the nominal size on average, and is not guaranteed to stay below it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ccdata.comparison import funnel, funnel_limits
from ccdata.errors import InputError

LEVELS = (0.95, 0.998)


def _flag_sizes(res, pmf: np.ndarray, group: np.ndarray) -> dict[str, np.ndarray]:
    """Exact size of each side at each level (P(flagged) under H0), per group."""
    u = res.units
    out = {}
    for level in LEVELS:
        sfx = "95" if level == 0.95 else "998"
        alpha = (1 - level) / 2
        for side, col in (("above", "p_upper"), ("below", "p_lower")):
            flagged = (u[col] <= alpha).to_numpy()
            out[f"{side}_{sfx}"] = np.bincount(group, weights=pmf * flagged)
    return out


def _assert_drawn_agrees(res) -> None:
    """A whole count is strictly beyond a drawn limit iff it is flagged."""
    u = res.units
    for level in LEVELS:
        sfx = "95" if level == 0.95 else "998"
        alpha = (1 - level) / 2
        above = (u["value"] > u[f"upper_{sfx}"]).to_numpy()
        below = (u["value"] < u[f"lower_{sfx}"]).to_numpy()
        np.testing.assert_array_equal(above, (u["p_upper"] <= alpha).to_numpy())
        np.testing.assert_array_equal(below, (u["p_lower"] <= alpha).to_numpy())


def _poisson_units(e_grid: np.ndarray):
    top = np.ceil(e_grid + 12 * np.sqrt(e_grid) + 15).astype(int)
    group = np.repeat(np.arange(e_grid.size), top + 1)
    obs = np.concatenate([np.arange(t + 1) for t in top])
    e = e_grid[group]
    data = pd.DataFrame({"site_id": np.arange(obs.size), "o": obs, "e": e})
    return data, stats.poisson.pmf(obs, e), group


def _binomial_units(n_grid: np.ndarray, target: float):
    group = np.repeat(np.arange(n_grid.size), n_grid + 1)
    obs = np.concatenate([np.arange(n + 1) for n in n_grid])
    n = n_grid[group]
    data = pd.DataFrame({"site_id": np.arange(obs.size), "r": obs, "n": n})
    return data, stats.binom.pmf(obs, n, target), group


def _compare_sizes(exact: dict, mid: dict) -> None:
    for key in exact:
        alpha = 0.025 if key.endswith("_95") else 0.001
        assert exact[key].max() <= alpha + 1e-12  # the default never exceeds
        err_exact = np.abs(exact[key] - alpha).mean()
        err_mid = np.abs(mid[key] - alpha).mean()
        assert err_mid < err_exact, (key, err_mid, err_exact)


def test_poisson_mid_p_size_closer_to_nominal_on_average():
    e_grid = np.round(np.geomspace(0.1, 50, 120), 4)
    data, pmf, group = _poisson_units(e_grid)
    kw = dict(numerator="o", denominator="e", kind="ratio", target=1.0)
    exact = _flag_sizes(funnel(data, **kw), pmf, group)
    res = funnel(data, mid_p=True, **kw)
    mid = _flag_sizes(res, pmf, group)
    _compare_sizes(exact, mid)
    _assert_drawn_agrees(res)
    # not guaranteed: some E has a side above its nominal size
    assert any((mid[k] > (0.025 if k.endswith("_95") else 0.001)).any() for k in mid)
    # e.g. E = 3: P(X >= 7) = 0.0335 > 2.5%, yet 7 is flagged (mid-p 0.0227)
    i = int(np.argmin(np.abs(e_grid - 3.0)))
    assert mid["above_95"][i] > 0.025 > exact["above_95"][i]


@pytest.mark.parametrize("target", [0.035, 0.1, 0.5, 0.9])
def test_binomial_mid_p_size_closer_to_nominal_on_average(target):
    n_grid = np.unique(
        np.concatenate([np.arange(5, 41), np.geomspace(40, 1000, 25).round()])
    ).astype(int)
    data, pmf, group = _binomial_units(n_grid, target)
    kw = dict(numerator="r", denominator="n", target=target)
    exact = _flag_sizes(funnel(data, **kw), pmf, group)
    res = funnel(data, mid_p=True, **kw)
    _compare_sizes(exact, _flag_sizes(res, pmf, group))
    _assert_drawn_agrees(res)


def test_mid_p_known_values_by_hand():
    # Poisson E = 3, O = 7: 1 - e^-3 sum_{k<=7} 3^k / k! + e^-3 3^7 / 7! / 2
    pk = [math.exp(-3) * 3**k / math.factorial(k) for k in range(8)]
    want_up = 1 - math.fsum(pk) + pk[7] / 2  # 0.0227065...
    want_dn = math.fsum(pk[:7]) + pk[7] / 2
    d = pd.DataFrame({"site_id": [1], "o": [7], "e": [3.0]})
    res = funnel(d, numerator="o", denominator="e", kind="ratio", target=1.0,
                 mid_p=True)  # fmt: skip
    assert res.units["p_upper"].item() == pytest.approx(want_up, abs=1e-14)
    assert res.units["p_lower"].item() == pytest.approx(want_dn, abs=1e-14)
    assert res.units["p_upper"].item() == pytest.approx(0.02270652, abs=1e-8)
    assert res.units["status"].item() == "above_95"  # exact: P(X >= 7) = 0.0335
    assert res.mid_p and "mid-p" in res.summary()
    # ratio of counts 6 vs 1, target 1: O1 | 7 ~ Binomial(7, 1/2)
    d = pd.DataFrame({"site_id": [1], "a": [6], "b": [1]})
    res = funnel(d, numerator="a", denominator="b", kind="ratio_of_counts",
                 target=1.0, mid_p=True)  # fmt: skip
    assert res.units["p_upper"].item() == pytest.approx((1 + 7 / 2) / 128, abs=1e-15)
    assert res.units["p_lower"].item() == pytest.approx(1 - (1 + 7 / 2) / 128)
    # 10 of 10 against 90%: P(X = 10) / 2
    d = pd.DataFrame({"site_id": [1], "r": [10], "n": [10]})
    res = funnel(d, numerator="r", denominator="n", target=0.9, mid_p=True)
    assert res.units["p_upper"].item() == pytest.approx(0.9**10 / 2, abs=1e-15)


def test_mid_p_under_adjustment_uses_the_predictive_tails_and_agrees():
    rng = np.random.default_rng(8)
    n = rng.integers(20, 600, 300)
    p = np.clip(rng.normal(0.1, 0.04, 300), 0.001, 0.9)
    data = pd.DataFrame({"site_id": range(300), "r": rng.binomial(n, p), "n": n})
    for od in ("additive", "multiplicative"):
        res = funnel(data, numerator="r", denominator="n", overdispersion=od,
                     mid_p=True)  # fmt: skip
        exact = funnel(data, numerator="r", denominator="n", overdispersion=od)
        assert res.overdispersion_applied
        _assert_drawn_agrees(res)
        # mid-p tails lie below the exact ones, by at most half a mass
        for col in ("p_upper", "p_lower"):
            diff = exact.units[col] - res.units[col]
            assert (diff >= -1e-15).all() and (diff <= 0.5 + 1e-15).all()
    e = rng.uniform(1, 300, 400)
    o = rng.poisson(e * rng.gamma(20, 1 / 20, 400))
    data = pd.DataFrame({"unit": range(400), "o": o, "e": e})
    res = funnel(data, numerator="o", denominator="e", kind="ratio", unit="unit",
                 overdispersion="additive", mid_p=True)  # fmt: skip
    assert res.overdispersion_applied
    _assert_drawn_agrees(res)
    # the curve passes through the units' own limits
    curve = res.curve.set_index("denominator")
    u = res.units.set_index("denominator")
    np.testing.assert_allclose(curve.loc[u.index, "upper_95"], u["upper_95"])


def test_mid_p_limits_match_funnel_limits():
    n = np.array([7.0, 30.0, 250.0])
    got = funnel_limits(n, 0.2, mid_p=True)
    d = pd.DataFrame({"site_id": [1, 2, 3], "r": [1, 6, 50], "n": n})
    res = funnel(d, numerator="r", denominator="n", target=0.2, mid_p=True)
    for col in ("lower_95", "upper_95", "lower_998", "upper_998"):
        np.testing.assert_allclose(got[col], res.units[col], rtol=1e-13)
    # mid-p boundaries are never outside the exact ones
    exact = funnel_limits(n, 0.2)
    assert (got["upper_95"] <= exact["upper_95"]).all()
    assert (got["lower_95"] >= exact["lower_95"]).all()


def test_mid_p_rejects_non_exact_methods_and_bad_values():
    d = pd.DataFrame({"site_id": [1], "r": [3], "n": [10]})
    with pytest.raises(InputError, match="mid_p=True applies to exact"):
        funnel(d, numerator="r", denominator="n", method="normal", mid_p=True)
    with pytest.raises(InputError, match="must be True or False"):
        funnel(d, numerator="r", denominator="n", mid_p="yes")
    with pytest.raises(InputError, match="boundary='quantile'"):
        funnel_limits([10], 0.2, mid_p=True, boundary="quantile")
    with pytest.raises(InputError, match="mid_p=True applies to exact"):
        funnel_limits([10], 0.2, kind="mean", method="normal", sd=1.0, mid_p=True)
