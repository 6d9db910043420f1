"""funnel_change(): each unit against its own past, with exact and normal tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ccdata.comparison import CHANGE_STATUS, FunnelChangeResult, funnel_change
from ccdata.errors import InputError

NO_CHANGE = "no change beyond chance"


def _hypergeom_tail_brute(r1, n1, r2, n2):
    """P(X >= r2) and P(X <= r2) for X = after-period events given the margins."""
    total, events = n1 + n2, r1 + r2
    probs = {}
    for x in range(max(0, events - n1), min(events, n2) + 1):
        probs[x] = (
            math.comb(n2, x) * math.comb(n1, events - x) / math.comb(total, events)
        )
    return (
        sum(v for k, v in probs.items() if k >= r2),
        sum(v for k, v in probs.items() if k <= r2),
    )


def test_proportion_exact_is_fisher_conditional_test():
    before = pd.DataFrame(
        {"site_id": ["a", "b", "c"], "r": [30, 5, 12], "n": [100, 50, 80]}
    )
    after = pd.DataFrame(
        {"site_id": ["c", "b", "a"], "r": [11, 15, 12], "n": [90, 50, 110]}
    )
    res = funnel_change(before, after, numerator="r", denominator="n")
    assert isinstance(res, FunnelChangeResult)
    u = res.units
    assert u["unit"].tolist() == ["a", "b", "c"]
    for row in u.itertuples():
        up, lo = _hypergeom_tail_brute(
            int(row.numerator_before),
            int(row.denominator_before),
            int(row.numerator_after),
            int(row.denominator_after),
        )
        assert row.p_value == pytest.approx(min(1, 2 * min(up, lo)))
    assert u["status"].tolist() == [
        "decrease beyond chance",
        "increase beyond chance",
        "no change beyond chance",
    ]
    assert u.loc[0, "change"] == pytest.approx(12 / 110 - 30 / 100)
    # Fisher's two-sided-by-doubling agrees with scipy's one-sided tests
    table = [[15, 35], [5, 45]]
    assert u.loc[1, "p_value"] == pytest.approx(
        2 * stats.fisher_exact(table, alternative="greater").pvalue
    )


def test_proportion_normal_is_pooled_z_test():
    before = pd.DataFrame({"site_id": [1], "r": [40], "n": [200]})
    after = pd.DataFrame({"site_id": [1], "r": [25], "n": [210]})
    res = funnel_change(
        before, after, numerator="r", denominator="n", method="normal", multiplier=100
    )
    pbar = 65 / 410
    z = (25 / 210 - 40 / 200) / math.sqrt(pbar * (1 - pbar) * (1 / 200 + 1 / 210))
    assert res.units.loc[0, "p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)))
    assert res.units.loc[0, "change"] == pytest.approx(100 * (25 / 210 - 40 / 200))
    assert res.units.loc[0, "status"] == "decrease beyond chance"


def test_ratio_exact_is_conditional_binomial():
    before = pd.DataFrame({"unit": ["x", "y"], "o": [10, 4], "e": [12.0, 5.0]})
    after = pd.DataFrame({"unit": ["x", "y"], "o": [25, 0], "e": [11.0, 5.0]})
    res = funnel_change(
        before, after, numerator="o", denominator="e", unit="unit", kind="ratio"
    )
    x = res.units.iloc[0]
    pi0 = 11 / 23
    up = sum(math.comb(35, k) * pi0**k * (1 - pi0) ** (35 - k) for k in range(25, 36))
    assert x["p_value"] == pytest.approx(2 * up)
    assert x["change"] == pytest.approx((25 / 11) / (10 / 12))
    assert x["status"] == "increase beyond chance"
    y = res.units.iloc[1]
    assert y["p_value"] == pytest.approx(2 * 0.5**4)  # P(O2 <= 0 | T = 4, pi0 = 1/2)
    assert y["status"] == "no change beyond chance"


def test_units_in_one_period_zero_denominators_and_summary():
    before = pd.DataFrame(
        {"site_id": ["a", "b", "d"], "r": [1, 2, 0], "n": [10, 20, 0]}
    )
    after = pd.DataFrame({"site_id": ["a", "c", "d"], "r": [1, 3, 0], "n": [10, 30, 5]})
    res = funnel_change(before, after, numerator="r", denominator="n")
    status = dict(zip(res.units["unit"], res.units["status"], strict=True))
    assert status == {
        "a": "no change beyond chance",
        "b": "before period only",
        "c": "after period only",
        "d": "not assessed",
    }
    assert set(res.units["status"]) <= set(CHANGE_STATUS)
    text = res.summary()
    assert text.startswith("Of 1 sites with data in both periods, 0 show an increase")
    assert "1 sites before period only" in text
    for banned in ("worst", "best", "rank"):
        assert banned not in text.lower()
    assert np.isnan(res.units.set_index("unit").loc["d", "p_value"])


def test_funnel_change_errors():
    b = pd.DataFrame({"site_id": ["a"], "r": [1], "n": [10]})
    with pytest.raises(InputError, match="kind"):
        funnel_change(b, b, numerator="r", denominator="n", kind="mean")
    with pytest.raises(InputError, match="level"):
        funnel_change(b, b, numerator="r", denominator="n", level=95)
    with pytest.raises(InputError, match="whole-number"):
        funnel_change(b.assign(r=1.5), b, numerator="r", denominator="n")
    with pytest.raises(InputError, match="after"):
        funnel_change(b, b.assign(r=-1), numerator="r", denominator="n")


# ---- relative_to="pooled": change against the community's common trend ----


def _trend_data(rng, n_units, cases, p_before, p_after):
    ids = np.arange(n_units)
    before = pd.DataFrame(
        {"site_id": ids, "r": rng.binomial(cases, p_before, n_units), "n": cases}
    )
    after = pd.DataFrame(
        {"site_id": ids, "r": rng.binomial(cases, p_after, n_units), "n": cases}
    )
    return before, after


@pytest.mark.parametrize("method", ["exact", "normal"])
def test_common_trend_is_not_reported_as_each_units_change(method):
    # every unit falls from 10% to 8% together (the issue: 58% flagged at 2,000)
    rng = np.random.default_rng(5)
    rates_zero, rates_pooled = [], []
    for _ in range(4):
        before, after = _trend_data(rng, 300, 2000, 0.10, 0.08)
        kw = dict(numerator="r", denominator="n", method=method)
        zero = funnel_change(before, after, **kw)
        pooled = funnel_change(before, after, relative_to="pooled", **kw)
        assert zero.relative_to == "zero" and pooled.relative_to == "pooled"
        rates_zero.append((zero.units["status"] != NO_CHANGE).mean())
        rates_pooled.append((pooled.units["status"] != NO_CHANGE).mean())
        assert pooled.reference == pytest.approx(0.08 * 0.9 / (0.92 * 0.1), rel=0.05)
    assert np.mean(rates_zero) > 0.4
    assert 0.025 <= np.mean(rates_pooled) <= 0.075, rates_pooled


def test_common_trend_ratio_pooled_rate_ratio():
    rng = np.random.default_rng(8)
    e = rng.uniform(50, 300, 400)
    before = pd.DataFrame({"site_id": range(400), "o": rng.poisson(e), "e": e})
    after = pd.DataFrame({"site_id": range(400), "o": rng.poisson(0.8 * e), "e": e})
    kw = dict(numerator="o", denominator="e", kind="ratio")
    zero = funnel_change(before, after, **kw)
    pooled = funnel_change(before, after, relative_to="pooled", **kw)
    assert pooled.reference == pytest.approx(0.8, rel=0.03)
    assert (zero.units["status"] != NO_CHANGE).mean() > 0.15
    assert 0.02 <= (pooled.units["status"] != NO_CHANGE).mean() <= 0.09
    # independent: the conditional binomial with the pooled rate ratio
    u = pooled.units.iloc[0]
    t = u["numerator_before"] + u["numerator_after"]
    pi = (
        u["denominator_after"]
        * pooled.reference
        / (u["denominator_before"] + u["denominator_after"] * pooled.reference)
    )
    up = stats.binom.sf(u["numerator_after"] - 1, t, pi)
    lo = stats.binom.cdf(u["numerator_after"], t, pi)
    assert u["p_value"] == pytest.approx(min(1, 2 * min(up, lo)))


def test_pooled_proportion_is_fisher_noncentral_hypergeometric():
    before = pd.DataFrame(
        {"site_id": ["a", "b", "c"], "r": [30, 5, 12], "n": [100, 50, 80]}
    )
    after = pd.DataFrame(
        {"site_id": ["a", "b", "c"], "r": [12, 15, 11], "n": [110, 50, 90]}
    )
    res = funnel_change(
        before, after, numerator="r", denominator="n", relative_to="pooled"
    )
    # Mantel-Haenszel odds ratio by hand
    num = sum(
        r2 * (n1 - r1) / (n1 + n2)
        for r1, n1, r2, n2 in [(30, 100, 12, 110), (5, 50, 15, 50), (12, 80, 11, 90)]
    )
    den = sum(
        r1 * (n2 - r2) / (n1 + n2)
        for r1, n1, r2, n2 in [(30, 100, 12, 110), (5, 50, 15, 50), (12, 80, 11, 90)]
    )
    psi = num / den
    assert res.reference == pytest.approx(psi)
    for (r1, n1, r2, n2), row in zip(
        [(30, 100, 12, 110), (5, 50, 15, 50), (12, 80, 11, 90)],
        res.units.itertuples(),
        strict=True,
    ):
        dist = stats.nchypergeom_fisher(n1 + n2, r1 + r2, n2, psi)
        up, lo = dist.sf(r2 - 1), dist.cdf(r2)
        assert row.p_value == pytest.approx(min(1, 2 * min(up, lo)), rel=1e-8)
    assert "pooled odds ratio" in res.summary()


def test_overlapping_windows_warn():
    from ccdata.errors import OverlappingPeriodsWarning

    b = pd.DataFrame({"site_id": ["a"], "r": [3], "n": [10]})
    with pytest.warns(OverlappingPeriodsWarning, match="overlap"):
        funnel_change(
            b,
            b,
            numerator="r",
            denominator="n",
            before_period=("2024-01-01", "2024-06-30"),
            after_period=("2024-06-01", "2024-12-31"),
        )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        funnel_change(
            b,
            b,
            numerator="r",
            denominator="n",
            before_period=("2024-01-01", "2024-06-30"),
            after_period=("2024-07-01", "2024-12-31"),
        )
    with pytest.raises(InputError, match="relative_to"):
        funnel_change(b, b, numerator="r", denominator="n", relative_to="mean")


def test_change_summary_uses_levels():
    b = pd.DataFrame({"site_id": ["a"], "r": [3], "n": [10]})
    text = funnel_change(b, b, numerator="r", denominator="n", level=0.9).summary()
    assert "90% level" in text
