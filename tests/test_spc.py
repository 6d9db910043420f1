"""Known-answer tests of ccdata.spc: centre lines and limits of every chart.

Expected values are computed by hand (in the comments) or by a plain Python
loop over the published formulas (Montgomery 2009; Laney 2002; Nelson 1982),
independent of the vectorised implementation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import ccdata
from ccdata.errors import InputError
from ccdata.variation import SPCResult, SPCWarning, spc


def frame(y, n=None, **extra):
    d = {"t": np.arange(1, len(y) + 1), "y": y}
    if n is not None:
        d["n"] = n
    d.update(extra)
    return pd.DataFrame(d)


def mean_mr_loop(values, screen=True):
    """Mean moving range by a plain loop; NaN neighbours give no moving range."""
    mrs = [
        abs(b - a)
        for a, b in zip(values[:-1], values[1:], strict=True)
        if not (math.isnan(a) or math.isnan(b))
    ]
    amr = sum(mrs) / len(mrs)
    if screen:
        kept = [m for m in mrs if m < 3.267 * amr]
        amr = sum(kept) / len(kept)
    return amr


# ------------------------------------------------------------------ i / mr
Y_I = [10, 12, 11, 13, 12, 60, 12, 11, 12, 10]


def test_i_chart_hand_computed_with_screening():
    # mean = 163/10 = 16.3; MRs 2,1,2,1,48,48,1,1,2 (mean 106/9 = 11.78);
    # 3.267 * 11.78 = 38.48 screens out both 48s: mean MR = 10/7 = 1.428571
    res = spc(frame(Y_I), chart="i", x="t", value="y")
    s = res.phases.iloc[0]
    sigma = (10 / 7) / 1.128
    assert s["centre"] == pytest.approx(16.3)
    assert s["lcl"] == pytest.approx(16.3 - 3 * sigma)  # 12.50
    assert s["ucl"] == pytest.approx(16.3 + 3 * sigma)  # 20.10
    # only 13 lies inside (12.50, 20.10)
    assert res.points["outside"].tolist() == [True] * 3 + [False] + [True] * 6
    assert s["n_outside"] == 9


def test_i_chart_without_screening():
    res = spc(frame(Y_I), chart="i", x="t", value="y", screen_moving_ranges=False)
    sigma = (106 / 9) / 1.128
    assert res.phases["ucl"].item() == pytest.approx(16.3 + 3 * sigma)
    assert res.points["outside"].tolist() == [False] * 5 + [True] + [False] * 4


def test_i_chart_limits_equal_2_66_mean_mr():
    y = [5.0, 7, 6, 8, 5, 6, 7, 9, 6, 5, 7, 6]
    res = spc(frame(y), chart="i", x="t", value="y")
    amr = mean_mr_loop(y)
    assert res.phases["ucl"].item() == pytest.approx(np.mean(y) + 3 / 1.128 * amr)
    assert res.phases["ucl"].item() == pytest.approx(np.mean(y) + 2.66 * amr, rel=1e-3)


def test_mr_chart():
    res = spc(frame(Y_I), chart="mr", x="t", value="y")
    p = res.points
    assert math.isnan(p["y"].iloc[0])
    assert p["y"].iloc[1:].tolist() == [2, 1, 2, 1, 48, 48, 1, 1, 2]
    assert res.phases["centre"].item() == pytest.approx(106 / 9)
    assert res.phases["ucl"].item() == pytest.approx(3.267 * 106 / 9)
    assert res.phases["lcl"].item() == 0
    assert p["outside"].tolist() == [False] * 5 + [True, True] + [False] * 3
    # no runs analysis on a moving-range chart
    assert not p["run_signal"].any()
    assert pd.isna(res.phases["longest_run"].item())


# ------------------------------------------------------------------ c
def test_c_chart_hand_computed():
    y = [3, 5, 4, 6, 2, 4, 5, 3, 4, 14]
    res = spc(frame(y), chart="c", x="t", value="y")
    c = 50 / 10
    assert res.phases["centre"].item() == pytest.approx(c)
    assert res.phases["lcl"].item() == 0  # 5 - 3 sqrt(5) < 0, clipped
    assert res.phases["ucl"].item() == pytest.approx(c + 3 * math.sqrt(c))
    assert res.points["outside"].tolist() == [False] * 9 + [True]


def test_c_chart_accepts_numerator():
    y = [3, 5, 4, 6]
    a = spc(frame(y), chart="c", x="t", numerator="y")
    b = spc(frame(y), chart="c", x="t", value="y")
    pd.testing.assert_frame_equal(a.phases, b.phases)


# ------------------------------------------------------------------ p / pp
NUM = [12, 15, 8, 20, 11, 14, 35, 9, 13, 16]
DEN = [100, 120, 80, 150, 90, 110, 140, 100, 105, 130]


def p_limits_loop(num, den, prime=False, screen=True):
    pbar = sum(num) / sum(den)
    sig = [math.sqrt(pbar * (1 - pbar) / n) for n in den]
    if prime:
        z = [(a / n - pbar) / s for a, n, s in zip(num, den, sig, strict=True)]
        sz = mean_mr_loop(z, screen=screen) / 1.128
        sig = [s * sz for s in sig]
    lo = [max(pbar - 3 * s, 0.0) for s in sig]
    hi = [min(pbar + 3 * s, 1.0) for s in sig]
    return pbar, lo, hi


def test_p_chart_variable_denominators():
    res = spc(frame(NUM, DEN), chart="p", x="t", numerator="y", denominator="n")
    pbar, lo, hi = p_limits_loop(NUM, DEN)
    p = res.points
    assert res.phases["centre"].item() == pytest.approx(153 / 1125)
    np.testing.assert_allclose(p["lower"], lo)
    np.testing.assert_allclose(p["upper"], hi)
    ratios = [a / n for a, n in zip(NUM, DEN, strict=True)]
    assert p["y"].tolist() == pytest.approx(ratios)
    # stepped limits: no single lcl/ucl in the summary
    assert math.isnan(res.phases["ucl"].item())
    expected = [y > h or y < low for y, low, h in zip(p["y"], lo, hi, strict=True)]
    assert p["outside"].tolist() == expected
    # 35/140 = 0.25 is above its limit 0.136 + 3 sqrt(0.136 x 0.864 / 140) = 0.2229
    assert p["outside"].tolist() == [False] * 6 + [True] + [False] * 3
    assert p["upper"].iloc[6] == pytest.approx(0.2229, abs=1e-4)


def test_p_chart_clips_at_zero_and_one():
    # pbar = 2/6; n = 1: 1/3 + 3 x 0.471 > 1; n = 2: 1/3 + 3 x 0.333 > 1
    res = spc(frame([0, 1, 0, 1], [1, 2, 1, 2]), chart="p", x="t",
              numerator="y", denominator="n")  # fmt: skip
    assert (res.points["lower"] == 0).all()
    assert (res.points["upper"] == 1).all()


@pytest.mark.parametrize("screen", [True, False])
def test_pp_chart_matches_laney_loop(screen):
    res = spc(frame(NUM, DEN), chart="pp", x="t", numerator="y", denominator="n",
              screen_moving_ranges=screen)  # fmt: skip
    pbar, lo, hi = p_limits_loop(NUM, DEN, prime=True, screen=screen)
    np.testing.assert_allclose(res.points["lower"], lo)
    np.testing.assert_allclose(res.points["upper"], hi)
    assert res.phases["sigma_z"].item() > 0


def test_pp_chart_hand_computed_sigma_z():
    # equal denominators: z_i = (p_i - pbar) / s with s = sqrt(.25/100) = 0.05
    num, den = [40, 60, 40, 60], [100] * 4
    res = spc(frame(num, den), chart="pp", x="t", numerator="y", denominator="n")
    # pbar = .5; z = -2, 2, -2, 2; moving ranges 4, 4, 4; sigma_z = 4 / 1.128
    assert res.phases["sigma_z"].item() == pytest.approx(4 / 1.128)
    upper = min(0.5 + 3 * 0.05 * 4 / 1.128, 1)
    assert res.points["upper"].iloc[0] == pytest.approx(upper)


# ------------------------------------------------------------------ u / up
def u_limits_loop(num, den, prime=False):
    ubar = sum(num) / sum(den)
    sig = [math.sqrt(ubar / n) for n in den]
    if prime:
        z = [(a / n - ubar) / s for a, n, s in zip(num, den, sig, strict=True)]
        sz = mean_mr_loop(z) / 1.128
        sig = [s * sz for s in sig]
    return ubar, [max(ubar - 3 * s, 0.0) for s in sig], [ubar + 3 * s for s in sig]


@pytest.mark.parametrize("chart,prime", [("u", False), ("up", True)])
def test_u_and_up_charts(chart, prime):
    num = [3, 7, 2, 5, 9, 4, 6, 1]
    den = [10.5, 20.0, 8.0, 15.0, 18.0, 12.0, 16.0, 9.0]
    res = spc(frame(num, den), chart=chart, x="t", numerator="y", denominator="n")
    ubar, lo, hi = u_limits_loop(num, den, prime)
    assert res.phases["centre"].item() == pytest.approx(37 / 108.5)
    np.testing.assert_allclose(res.points["lower"], lo)
    np.testing.assert_allclose(res.points["upper"], hi)


# ------------------------------------------------------------------ freeze / part
def test_freeze_uses_first_k_points_only():
    y = [10.0, 12, 11, 13, 12, 20, 21, 22, 20, 21]
    res = spc(frame(y), chart="i", x="t", value="y", freeze=5)
    base = y[:5]
    sigma = mean_mr_loop(base) / 1.128
    s = res.phases.iloc[0]
    assert s["centre"] == pytest.approx(11.6)
    assert s["ucl"] == pytest.approx(11.6 + 3 * sigma)
    assert s["n_baseline"] == 5
    assert res.points["baseline"].tolist() == [True] * 5 + [False] * 5
    # runs analysis over all points against the frozen centre
    # signs against 11.6: - + - + + + + + + +  -> longest run 7 > 6 for n = 10
    assert s["longest_run"] == 7 and s["n_useful"] == 10 and s["runs_signal"]
    assert res.points["outside"].tolist() == [False] * 5 + [True] * 5


def test_part_gives_each_phase_its_own_centre_and_runs():
    y = [3, 5, 4, 6, 2, 14, 15, 13, 16, 12]
    res = spc(frame(y), chart="c", x="t", value="y", part=[5])
    s = res.phases
    assert s["phase"].tolist() == [1, 2]
    assert s["centre"].tolist() == pytest.approx([4.0, 14.0])
    assert s["ucl"].tolist() == pytest.approx([4 + 3 * 2, 14 + 3 * math.sqrt(14)])
    assert s["n_points"].tolist() == [5, 5]
    assert res.points["phase"].tolist() == [1] * 5 + [2] * 5


def test_mr_chart_restarts_in_each_phase():
    res = spc(frame(Y_I), chart="mr", x="t", value="y", part=5)
    assert math.isnan(res.points["y"].iloc[5])  # first MR of phase 2 is missing


def test_freeze_and_part_together():
    y = [10.0, 12, 11, 13, 12, 20, 22, 21, 23, 30, 31]
    res = spc(frame(y), chart="i", x="t", value="y", part=[5], freeze=[None, 4])
    s = res.phases
    assert s["centre"].tolist() == pytest.approx([11.6, 21.5])
    assert s["ucl"].iloc[1] == pytest.approx(21.5 + 3 * mean_mr_loop(y[5:9]) / 1.128)
    assert res.points["baseline"].tolist() == [True] * 5 + [True] * 4 + [False] * 2
    # int freeze applies to every phase
    res2 = spc(frame(y), chart="i", x="t", value="y", part=[5], freeze=4)
    assert res2.phases["centre"].tolist() == pytest.approx([11.5, 21.5])


# ------------------------------------------------------------------ gaps
def test_missing_points_stay_gaps_and_break_moving_ranges():
    y = [10.0, 12, np.nan, 13, 12, 11]
    res = spc(frame(y), chart="i", x="t", value="y")
    p = res.points
    assert math.isnan(p["y"].iloc[2]) and not p["outside"].iloc[2]
    assert p["point_type"].iloc[2] == "common_cause"
    # MRs: 2, (gap), (gap), 1, 1 -> mean 4/3
    ucl = np.nanmean(y) + 3 * (4 / 3) / 1.128
    assert res.phases["ucl"].item() == pytest.approx(ucl)
    assert res.phases["n_points"].item() == 5


def test_zero_denominator_is_a_gap_with_warning():
    with pytest.warns(SPCWarning, match="== 0"):
        res = spc(frame([1, 0, 3, 2], [10, 0, 12, 11]), chart="p", x="t",
                  numerator="y", denominator="n")  # fmt: skip
    p = res.points
    assert math.isnan(p["y"].iloc[1]) and math.isnan(p["upper"].iloc[1])
    assert res.phases["centre"].item() == pytest.approx(6 / 33)


def test_period_missing_from_one_series_is_added_as_gap():
    d = pd.DataFrame({"site": ["a", "a", "a", "b", "b"], "t": [1, 2, 3, 1, 3],
                      "y": [1.0, 2, 3, 4, 5]})  # fmt: skip
    res = spc(d, chart="run", x="t", value="y", unit="site")
    p = res.points
    assert len(p) == 6
    assert p["unit"].tolist() == ["a", "a", "a", "b", "b", "b"]
    assert math.isnan(p.loc[(p.unit == "b") & (p.x == 2), "y"].item())
    assert res.by == ("unit",) and res.unit_column == "site"


# ------------------------------------------------------------------ by=
def test_by_equals_separate_series(rng):
    sites = [f"s{i}" for i in range(5)]
    d = pd.DataFrame({
        "site": np.repeat(sites, 24), "t": np.tile(np.arange(24), 5),
        "e": rng.binomial(200, 0.2, 120), "n": np.full(120, 200),
    })  # fmt: skip
    for chart in ("p", "pp", "run", "i"):
        kw = {"value": "e"} if chart == "i" else {"numerator": "e", "denominator": "n"}
        allres = spc(d, chart=chart, x="t", unit="site", part=[12], **kw)
        for site in sites:
            one = spc(d[d.site == site], chart=chart, x="t", part=[12], **kw)
            got = allres.points[allres.points.unit == site].drop(columns="unit")
            pd.testing.assert_frame_equal(got.reset_index(drop=True), one.points)
            gs = allres.phases[allres.phases.unit == site].drop(columns="unit")
            pd.testing.assert_frame_equal(gs.reset_index(drop=True), one.phases)


def test_by_several_columns_and_result_shape():
    d = pd.DataFrame({"h": ["x", "x", "y", "y"] * 3, "k": ["a", "b", "a", "b"] * 3,
                      "t": np.repeat([1, 2, 3], 4), "v": np.arange(12.0)})  # fmt: skip
    with pytest.warns(FutureWarning, match="'by' parameter of spc"):
        res = spc(d, chart="i", x="t", value="v", by=["h", "k"])
    assert isinstance(res, SPCResult) and res.by == ("h", "k")
    keys = res.phases[["h", "k"]].values.tolist()
    assert keys == [["x", "a"], ["x", "b"], ["y", "a"], ["y", "b"]]
    assert list(res.points.columns[:4]) == ["h", "k", "x", "phase"]
    assert res.to_frame().equals(res.points)


def test_points_columns_and_sigma_lines():
    res = spc(frame(NUM, DEN), chart="p", x="t", numerator="y", denominator="n",
              sigma_lines=True)  # fmt: skip
    need = ["x", "y", "centre", "lower", "upper", "outside", "run_signal", "phase",
            "baseline", "numerator", "denominator", "lower_2sigma", "upper_2sigma",
            "point_type", "long_run", "few_crossings", "trend", "two_in_three",
            "shift"]  # fmt: skip
    assert set(need) <= set(res.points.columns)
    p = res.points
    np.testing.assert_allclose(p["upper_2sigma"] - p["centre"],
                               (p["upper"] - p["centre"]) * 2 / 3)  # fmt: skip
    need_s = ["n_points", "centre", "longest_run", "longest_run_max", "crossings",
              "crossings_min", "runs_signal", "n_outside", "lcl", "ucl"]  # fmt: skip
    assert set(need_s) <= set(res.phases.columns)


def test_package_root_exports():
    assert ccdata.spc is spc
    assert ccdata.SPCResult is SPCResult


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"chart": "x", "value": "y"}, "'chart'"),
        ({"chart": "p", "value": "y"}, "numerator"),
        ({"chart": "i"}, "either 'value'"),
        ({"chart": "i", "value": "nope"}, "nope"),
        ({"chart": "i", "value": "y", "part": [0]}, "'part'"),
        ({"chart": "i", "value": "y", "part": [4]}, "'part'"),
        ({"chart": "i", "value": "y", "freeze": 0}, "'freeze'"),
        ({"chart": "i", "value": "y", "freeze": [1, 2]}, "'freeze'"),
        ({"chart": "i", "value": "y", "direction": "up"}, "'direction'"),
        ({"chart": "i", "value": "y", "mdc_rules": ["bogus"]}, "'mdc_rules'"),
        ({"chart": "i", "value": "y", "trend_length": 1}, "'trend_length'"),
    ],
)
def test_errors_name_the_parameter(kwargs, match):
    with pytest.raises(InputError, match=match):
        spc(frame([1.0, 2, 3, 4]), x="t", **kwargs)


def test_data_errors():
    with pytest.raises(InputError, match="appears more than once"):
        spc(pd.DataFrame({"t": [1, 1], "y": [1, 2]}), chart="i", x="t", value="y")
    with pytest.raises(InputError, match="<="):
        spc(frame([5, 1], [4, 2]), chart="p", x="t", numerator="y", denominator="n")
    with pytest.raises(InputError, match=">= 0"):
        spc(frame([-1, 1]), chart="c", x="t", value="y")
    with pytest.raises(InputError, match="missing values"):
        spc(pd.DataFrame({"t": [1, None], "y": [1, 2]}), chart="i", x="t", value="y")
    with pytest.raises(InputError, match="numeric"):
        spc(pd.DataFrame({"t": [1, 2], "y": ["a", "b"]}), chart="i", x="t", value="y")


def test_periods_keep_a_month_missing_from_every_series_as_a_gap():
    months = pd.date_range("2024-01-01", periods=6, freq="MS")
    data = pd.DataFrame({"month": months.delete(3), "y": [5.0, 6, 7, 6, 5]})
    closed = spc(data, chart="i", x="month", value="y")
    assert len(closed.points) == 5  # without periods=, April is simply absent
    res = spc(data, chart="i", x="month", value="y", periods=months)
    pts = res.points
    assert pts["x"].tolist() == list(months)
    assert np.isnan(pts["y"].iloc[3]) and pts["y"].notna().sum() == 5
    # The gap does not become a zero and does not change the centre line.
    assert res.phases["centre"].item() == pytest.approx(5.8)
    with pytest.raises(InputError, match="not in 'periods'"):
        spc(data, chart="i", x="month", value="y", periods=months[:3])


# ------------------------------------------------------------------ vocabulary
def _monthly(rng) -> pd.DataFrame:
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    return pd.DataFrame({
        "site_id": np.repeat(["A", "B"], 24), "month": np.tile(months, 2),
        "label": np.tile(months.strftime("%Y-%m"), 2),
        "e": rng.binomial(100, 0.3, 48), "n": 100,
    })  # fmt: skip


def test_phases_as_periods_equal_part_positions(rng):
    d = _monthly(rng)
    kw = {
        "chart": "p",
        "x": "month",
        "numerator": "e",
        "denominator": "n",
        "unit": "site_id",
    }
    by_part = spc(d, part=[9, 18], **kw)
    for phases in (
        ["2023-10", "2024-07"],
        ["2023Q4", "2024-07-01"],
        [pd.Timestamp("2023-10-01"), pd.Period("2024-07", "M")],
        ["2023-09-15", "2024-06-02"],
    ):  # first period on or after
        got = spc(d, phases=phases, **kw)
        pd.testing.assert_frame_equal(got.points, by_part.points)
        pd.testing.assert_frame_equal(got.phases, by_part.phases)
    assert by_part.phases.phase.max() == 3
    # x holding text labels: phases are compared as labels
    text = spc(
        d,
        chart="p",
        x="label",
        numerator="e",
        denominator="n",
        unit="site_id",
        phases="2023-10",
    )
    np.testing.assert_array_equal(text.points.phase, spc(d, part=9, **kw).points.phase)


def test_bad_phases_are_named(rng):
    d = _monthly(rng)
    kw = {"chart": "p", "x": "month", "numerator": "e", "denominator": "n"}
    with pytest.raises(InputError, match="strictly inside"):
        spc(d[d.site_id == "A"], phases=["2022-05"], **kw)
    with pytest.raises(InputError, match="strictly inside"):
        spc(d[d.site_id == "A"], phases="2023-01", **kw)
    with pytest.raises(InputError, match="not both"):
        spc(d[d.site_id == "A"], phases="2023-05", part=[3], **kw)
    with pytest.raises(InputError, match="'phases'"):
        spc(d[d.site_id == "A"], phases=["not a month"], **kw)


def test_direction_replaces_improvement_and_result_fields_are_renamed(rng):
    d = _monthly(rng)
    kw = {
        "chart": "p",
        "x": "month",
        "numerator": "e",
        "denominator": "n",
        "unit": "site_id",
    }
    new = spc(d, direction="increase", **kw)
    with pytest.warns(FutureWarning, match="'improvement' parameter of spc"):
        old = spc(d, improvement="increase", **kw)
    pd.testing.assert_frame_equal(new.points, old.points)
    assert new.direction == "increase"
    assert set(new.points.point_type) <= {
        "common_cause",
        "special_cause_improvement",
        "special_cause_concern",
    }
    with pytest.warns(FutureWarning, match="SPCResult.direction"):
        assert new.improvement == "increase"
    with pytest.warns(FutureWarning, match="SPCResult.phases"):
        assert new.summary is new.phases
    with pytest.raises(InputError, match="disagree"), pytest.warns(FutureWarning):
        spc(d, direction="increase", improvement="decrease", **kw)
    with pytest.raises(InputError, match="'direction'"):
        spc(d, direction="higher_is_better", **kw)
    with pytest.raises(InputError, match="not both"):
        spc(d, by="site_id", **kw)


def test_unit_output_equals_the_deprecated_by_renamed(rng):
    d = _monthly(rng)
    kw = {"chart": "run", "x": "month", "numerator": "e", "denominator": "n"}
    new = spc(d, unit="site_id", **kw)
    with pytest.warns(FutureWarning, match="'by' parameter"):
        old = spc(d, by="site_id", **kw)
    pd.testing.assert_frame_equal(
        new.points, old.points.rename(columns={"site_id": "unit"})
    )
    pd.testing.assert_frame_equal(
        new.phases, old.phases.rename(columns={"site_id": "unit"})
    )
    assert old.by == ("site_id",) and new.by == ("unit",)


def test_spc_result_repr_and_html(rng):
    res = spc(
        _monthly(rng),
        chart="p",
        x="month",
        numerator="e",
        denominator="n",
        unit="site_id",
        part=[12],
    )
    r = repr(res)
    assert r.startswith("SPCResult('p' chart, 2 series x 24 periods, 2 phase(s)")
    assert "\n" not in r and len(r) < 120
    assert "<table" in res._repr_html_() and "runs_signal" in res._repr_html_()
