"""Runs analysis (Anhøj rules), Making Data Count rules and property tests."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdata.errors import InputError
from ccdata.variation import anhoej_limits, spc


def frame(y, n=None):
    d = {"t": np.arange(1, len(y) + 1), "y": y}
    if n is not None:
        d["n"] = n
    return pd.DataFrame(d)


def runs_loop(y, centre):
    """Anhøj runs analysis by a plain loop (points on the centre are dropped)."""
    sides = [1 if v > centre else -1 for v in y if not math.isnan(v) and v != centre]
    runs = []
    for s in sides:
        if runs and runs[-1][0] == s:
            runs[-1][1] += 1
        else:
            runs.append([s, 1])
    return len(sides), max((r[1] for r in runs), default=0), max(len(runs) - 1, 0)


# ------------------------------------------------------------------ Anhøj
def test_anhoej_limits_match_qicharts2_table(reference_dir):
    table = pd.read_csv(reference_dir / "spc" / "anhoej_critical_values.csv")
    for n, lr, cr in table.itertuples(index=False):
        assert anhoej_limits(int(n)) == (lr, cr)


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "10"])
def test_anhoej_limits_rejects_bad_n(bad):
    with pytest.raises(InputError, match="n_useful"):
        anhoej_limits(bad)


def test_run_chart_hand_computed():
    # median 5.5; signs - - - - - + + + + + : longest run 5, 1 crossing;
    # n = 10: longest_run_max 6, crossings_min 2 -> signal by crossings only
    res = spc(frame(list(range(1, 11))), chart="run", x="t", value="y")
    s = res.phases.iloc[0]
    assert s["centre"] == 5.5
    assert (s["longest_run"], s["longest_run_max"]) == (5, 6)
    assert (s["crossings"], s["crossings_min"]) == (1, 2)
    assert s["runs_signal"]
    p = res.points
    assert not p["long_run"].any()
    assert p["few_crossings"].all() and p["run_signal"].all()
    assert math.isnan(p["upper"].iloc[0])


def test_points_on_median_neither_break_nor_count():
    # median 5: the two 5s are not useful; the run 6,7,(5),8 continues
    y = [1, 2, 3, 5, 6, 7, 5, 8, 9, 4, 5]
    res = spc(frame(y), chart="run", x="t", value="y")
    s = res.phases.iloc[0]
    assert s["centre"] == 5
    assert s["n_useful"] == 8 and s["n_points"] == 11
    assert (s["longest_run"], s["crossings"]) == (4, 2)
    assert runs_loop(y, 5) == (8, 4, 2)


def test_long_run_flags_only_points_of_the_long_run():
    # median 9.5; signs: 4 below, 8 above, 4 below; n = 16 -> longest_run_max 7
    y = [1, 2, 3, 4, 11, 12, 13, 14, 15, 16, 17, 18, 5, 6, 7, 8]
    res = spc(frame(y), chart="run", x="t", value="y")
    n, longest, cross = runs_loop(y, statistics.median(y))
    s = res.phases.iloc[0]
    assert (s["n_useful"], s["longest_run"], s["crossings"]) == (n, longest, cross)
    assert (longest, cross) == (8, 2) and s["longest_run_max"] == 7
    assert res.points["long_run"].tolist() == [False] * 4 + [True] * 8 + [False] * 4


def test_run_chart_of_a_ratio_uses_the_median_of_ratios():
    res = spc(frame([1, 2, 3], [10, 10, 20]), chart="run", x="t",
              numerator="y", denominator="n")  # fmt: skip
    assert res.phases["centre"].item() == pytest.approx(0.15)


def test_mr_chart_and_runs_on_control_chart():
    y = [10.0, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]
    res = spc(frame(y), chart="i", x="t", value="y", mdc_rules=False)
    n, longest, cross = runs_loop(y, np.mean(y))
    s = res.phases.iloc[0]
    assert (s["longest_run"], s["crossings"]) == (longest, cross) == (6, 1)
    assert s["runs_signal"]  # 1 crossing < 3 for n = 12


# ------------------------------------------------------------------ MDC rules
def test_trend_of_seven_flags_all_seven_points():
    y = [5.0, 5, 1, 2, 3, 4, 5, 6, 7, 5, 5, 5]
    res = spc(frame(y), chart="i", x="t", value="y")
    assert res.points["trend"].tolist() == [False] * 2 + [True] * 7 + [False] * 3


def test_six_rising_points_or_a_tie_is_not_a_trend():
    assert not spc(frame([5.0, 5, 1, 2, 3, 4, 5, 6, 5, 5]), chart="i", x="t",
                   value="y").points["trend"].any()  # fmt: skip
    # NHSRplotthedots: c(1:3, 3:6) is no trend (the tie breaks it)
    assert not spc(frame([1.0, 2, 3, 3, 4, 5, 6]), chart="i", x="t",
                   value="y").points["trend"].any()  # fmt: skip


def test_trend_length_is_configurable_and_falling_trends_count():
    y = [9.0, 8, 7, 6, 5, 9, 9]
    res = spc(frame(y), chart="i", x="t", value="y", trend_length=5)
    assert res.points["trend"].tolist() == [True] * 5 + [False] * 2


def test_shift_of_seven_and_point_on_mean_breaks_it():
    # mean of y is 10: seven points at 11 form a shift...
    y = [9.0, 9, 9, 9, 9, 9, 9, 11, 11, 11, 11, 11, 11, 11, 10]
    res = spc(frame(y), chart="i", x="t", value="y")
    assert res.points["shift"].tolist() == [True] * 14 + [False]
    # ...but a point exactly on the mean breaks the run
    y2 = [9.0, 9, 9, 10, 9, 9, 9, 11, 11, 11, 10, 11, 11, 11, 10]
    assert not spc(frame(y2), chart="i", x="t", value="y").points["shift"].any()
    res3 = spc(frame(y), chart="i", x="t", value="y", shift_length=8)
    assert not res3.points["shift"].any()


def test_two_in_three_beyond_two_thirds():
    # i chart with frozen baseline: centre 10, mean MR 1 -> sigma 1/1.128,
    # 2-sigma zone 11.773, upper limit 12.66
    base = [10.0, 11, 10, 11, 10, 9, 10, 9, 10, 10]
    y = base + [12.0, 10.5, 12.2, 10.0, 12.0, 9.0, 12.1]
    res = spc(frame(y), chart="i", x="t", value="y", freeze=10)
    assert res.phases["centre"].item() == 10
    flags = res.points["two_in_three"].tolist()
    # 12.0 and 12.2 (with 10.5, all above the centre); 12.0 then 9.0 below breaks
    assert flags[10:] == [True, False, True, False, False, False, False]
    assert not any(flags[:10])


def test_precedence_and_point_type_wording():
    y = [10.0, 11, 10, 11, 10, 11, 10, 11, 10, 11, 30, 10, 11]
    res = spc(frame(y), chart="i", x="t", value="y", freeze=10, direction="decrease")
    p = res.points
    assert p["outside"].iloc[10]
    assert p["point_type"].iloc[10] == "special_cause_concern"
    assert set(p["point_type"].drop(10)) == {"common_cause"}
    neutral = spc(frame(y), chart="i", x="t", value="y", freeze=10).points
    assert neutral["point_type"].iloc[10] == "special_cause_high"
    inc = spc(frame(y), chart="i", x="t", value="y", freeze=10, direction="increase")
    assert inc.points["point_type"].iloc[10] == "special_cause_improvement"


def test_trend_beats_shift_and_gives_direction():
    # falling trend of 7 that is also below the mean
    y = [20.0, 20, 20, 20, 20, 20, 20, 14, 13, 12, 11, 10, 9, 8]
    res = spc(frame(y), chart="i", x="t", value="y", direction="increase")
    p = res.points
    assert p["trend"].tolist()[6:] == [True] * 8  # 20 -> 14 starts the fall
    assert (p["point_type"].iloc[7:] == "special_cause_concern").all()
    no_rules = spc(frame(y), chart="i", x="t", value="y", mdc_rules=False)
    assert not no_rules.points[["trend", "two_in_three", "shift"]].any().any()
    only_shift = spc(frame(y), chart="i", x="t", value="y", mdc_rules=["shift"])
    assert not only_shift.points["trend"].any() and only_shift.points["shift"].any()


def test_missing_points_are_skipped_by_sequence_rules():
    y = [5.0, 5, 1, 2, 3, np.nan, 4, 5, 6, 7, 5, 5, 5]
    res = spc(frame(y), chart="i", x="t", value="y")
    expected = [False] * 2 + [True] * 3 + [False] + [True] * 4 + [False] * 3
    assert res.points["trend"].tolist() == expected


# ------------------------------------------------------------------ properties
finite = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False)


@given(c=finite, n=st.integers(2, 40),
       chart=st.sampled_from(["run", "i", "mr"]))  # fmt: skip
def test_constant_series_gives_no_signal(c, n, chart):
    res = spc(frame([c] * n), chart=chart, x="t", value="y")
    assert not res.phases["runs_signal"].any()
    assert (res.points["point_type"] == "common_cause").all()
    assert not res.points[["outside", "run_signal", "trend", "shift"]].any().any()


@given(k=st.integers(0, 50), n=st.integers(50, 500), m=st.integers(2, 30),
       chart=st.sampled_from(["c", "p", "pp", "u", "up"]))  # fmt: skip
def test_constant_counts_and_proportions_give_no_signal(k, n, m, chart):
    k = min(k, n)
    kw = {"value": "y"} if chart == "c" else {"numerator": "y", "denominator": "n"}
    res = spc(frame([k] * m, [n] * m), chart=chart, x="t", **kw)
    assert (res.points["point_type"] == "common_cause").all()
    assert not res.phases["runs_signal"].any()


@given(st.lists(finite, min_size=2, max_size=60))
def test_reversing_leaves_crossings_unchanged(y):
    fwd = spc(frame(y), chart="run", x="t", value="y").phases
    rev = spc(frame(y[::-1]), chart="run", x="t", value="y").phases
    cols = ["crossings", "longest_run", "n_useful", "runs_signal"]
    pd.testing.assert_frame_equal(fwd[cols], rev[cols])


@given(st.lists(st.floats(-100, 100, allow_nan=False), min_size=3, max_size=40),
       st.floats(0.01, 100))  # fmt: skip
def test_scaling_scales_i_chart_limits(y, a):
    base = spc(frame(y), chart="i", x="t", value="y").points
    scaled = spc(frame([a * v for v in y]), chart="i", x="t", value="y").points
    for col in ("centre", "lower", "upper"):
        np.testing.assert_allclose(scaled[col], a * base[col], rtol=1e-9, atol=1e-9)


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 200)), min_size=2,
                max_size=30), st.sampled_from(["p", "pp"]))  # fmt: skip
def test_p_chart_limits_contain_the_centre(pairs, chart):
    num = [min(a, b) for a, b in pairs]
    den = [b for _, b in pairs]
    res = spc(frame(num, den), chart=chart, x="t", numerator="y", denominator="n")
    p = res.points.dropna(subset=["lower"])
    assert ((p["lower"] <= p["centre"]) & (p["centre"] <= p["upper"])).all()
    assert ((p["lower"] >= 0) & (p["upper"] <= 1)).all()


@given(st.lists(finite, min_size=1, max_size=60))
def test_runs_match_the_loop(y):
    res = spc(frame(y), chart="run", x="t", value="y").phases.iloc[0]
    n, longest, cross = runs_loop(y, statistics.median(y))
    assert res["n_useful"] == n
    if n:
        assert (res["longest_run"], res["crossings"]) == (longest, cross)
        lr, cr = anhoej_limits(n)
        assert res["runs_signal"] == (longest > lr or cross < cr)
