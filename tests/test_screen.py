"""ccdata.screen: Benjamini-Hochberg across indicators x units, no ranking."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import ccdata
from ccdata.comparison import funnel
from ccdata.errors import InputError


def _funnel(r, n, target, ids=None):
    ids = ids if ids is not None else [f"S{i:02d}" for i in range(len(r))]
    data = pd.DataFrame({"site_id": ids, "r": r, "n": n})
    return funnel(data, numerator="r", denominator="n", target=target)


def _bh_by_hand(p):
    """Step-up rule written out: the largest k with p_(k) <= k q / m."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    q = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p[i] * m / rank)
        q[i] = running
    return q


def test_q_values_are_benjamini_hochberg_across_all_pairs():
    rng = np.random.default_rng(0)
    n = rng.integers(50, 500, 30)
    res_a = _funnel(rng.binomial(n, 0.1), n, 0.1)
    r_b = rng.binomial(n, 0.3)
    r_b[[3, 17]] = (n[[3, 17]] * 0.6).astype(int)  # two real differences
    res_b = _funnel(r_b, n, 0.3)
    out = ccdata.screen({"a": res_a, "b": res_b}, fdr=0.05)
    t = out.tests
    assert out.n_tests == 60 and len(t) == 60
    # p: twice the smaller exact tail, from the funnels' own columns
    merged = t[t["indicator"] == "b"].set_index("unit")
    u = res_b.units.set_index("unit")
    want = np.minimum(1, 2 * np.minimum(u["p_upper"], u["p_lower"]))
    np.testing.assert_allclose(merged["p_value"], want.loc[merged.index])
    np.testing.assert_allclose(t["q_value"], _bh_by_hand(t["p_value"].tolist()))
    conv = out.conversations
    assert set(conv["unit"]) >= {"S03", "S17"}
    assert (conv[conv["unit"].isin(["S03", "S17"])]["direction"] == "above").all()
    assert conv["wording"].str.startswith("A conversation to have: ").all()


def test_returned_in_unit_id_order_never_by_q():
    n = np.full(6, 200)
    r = np.array([20, 60, 20, 5, 20, 21])
    ids = ["f", "b", "d", "a", "c", "e"]
    out = ccdata.screen(
        {"x": _funnel(r, n, 0.1, ids), "y": _funnel(r[::-1], n, 0.1, ids)}
    )
    units = out.tests["unit"].tolist()
    assert units == sorted(units)
    # within a unit, indicators in the order given
    assert out.tests.groupby("unit")["indicator"].apply(list).eq([["x", "y"]] * 6).all()
    text = out.summary()
    assert "conversation" in text and "order carries no meaning" in text
    for banned in ("rank", "worst", "best", "league"):
        assert banned not in text.lower()
        assert not out.tests["wording"].str.lower().str.contains(banned).any()


def test_null_network_few_conversations():
    # 20 indicators x 100 units under H0: BH at 5% lists (almost) nobody,
    # whereas per-test 95% flags would name about 100 pairs
    rng = np.random.default_rng(4)
    n = rng.integers(100, 1000, 100)
    results = {f"i{k}": _funnel(rng.binomial(n, 0.2), n, 0.2) for k in range(20)}
    out = ccdata.screen(results)
    assert len(out.conversations) <= 3
    raw = sum((r.units["status"] != "within").sum() for r in results.values())
    assert raw > 50


def test_direction_words_and_errors():
    res = _funnel([2, 40, 10], [100, 100, 100], 0.1)
    out = ccdata.screen({"deaths": res}, directions={"deaths": "decrease"})
    w = out.conversations.set_index("unit")["wording"]
    assert "worse than expected" in w["S01"]
    with pytest.raises(InputError, match="fdr"):
        ccdata.screen({"deaths": res}, fdr=0)
    with pytest.raises(InputError, match="mapping"):
        ccdata.screen([res])
    with pytest.raises(InputError, match="FunnelResult"):
        ccdata.screen({"deaths": res.units})
    with pytest.raises(InputError, match="direction"):
        ccdata.screen({"deaths": res}, directions={"deaths": "up"})
