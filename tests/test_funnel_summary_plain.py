"""``FunnelResult.summary(technical=False)``: the same verdicts, no estimates."""

from __future__ import annotations

import pandas as pd

from ccdata.comparison import funnel


def _frame(spread: bool) -> pd.DataFrame:
    n = [200, 220, 250, 260, 300, 320, 350, 400, 420, 450]
    x = (
        [8, 40, 10, 60, 12, 70, 14, 90, 16, 100]
        if spread
        else [20, 22, 25, 26, 30, 32, 35, 40, 42, 45]
    )
    return pd.DataFrame({"unit": [f"S{i}" for i in range(10)], "x": x, "n": n})


def test_widened_limits_are_said_in_words():
    r = funnel(_frame(True), unit="unit", numerator="x", denominator="n",
               overdispersion="additive")  # fmt: skip
    assert r.overdispersion_applied
    plain = r.summary(technical=False)
    assert plain.startswith(r.summary().split(".")[0])  # same verdict sentence
    assert plain.endswith(
        "The results of the sites vary more than chance alone would give, so the "
        "limits were widened to allow for it."
    )
    for word in ("phi", "tau", "p =", "winsorised"):
        assert word not in plain


def test_unwidened_limits_are_said_in_words():
    r = funnel(_frame(False), unit="unit", numerator="x", denominator="n",
               overdispersion="additive")  # fmt: skip
    assert not r.overdispersion_applied
    assert r.summary("practices", technical=False).endswith(
        "The results of the practices vary no more than chance alone would give, "
        "so the limits were not widened."
    )
