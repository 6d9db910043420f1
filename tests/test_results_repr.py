"""Every result type prints a short repr and renders as HTML in a notebook."""

from __future__ import annotations

from html import escape

import pandas as pd


def test_funnel_results_have_a_short_repr_and_html():
    from ccdata.comparison import funnel, funnel_change

    df = pd.DataFrame({"site_id": ["A", "B", "C"], "d": [5, 3, 30], "n": [50, 40, 80]})
    res = funnel(df, numerator="d", denominator="n")
    r = repr(res)
    assert r.startswith("FunnelResult(proportion, 3 units, exact limits at 95%, 99.8%")
    assert "\n" not in r and len(r) < 160
    assert "<table" in res._repr_html_() and escape(res.summary()) in res._repr_html_()
    change = funnel_change(df, df, numerator="d", denominator="n")
    assert repr(change).startswith("FunnelChangeResult(proportion, 3 units")
    assert "no change beyond chance" in repr(change)
    assert "<table" in change._repr_html_()
