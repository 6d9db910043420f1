"""funnel_change(): each unit against its own past, with exact and normal tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ccdata.comparison import CHANGE_STATUS, FunnelChangeResult, funnel_change
from ccdata.errors import InputError


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
