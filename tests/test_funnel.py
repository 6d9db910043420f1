"""funnel(): worked examples, hand-computed over-dispersion, edge cases."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import ccdata
from ccdata.comparison import FunnelResult, funnel, funnel_limits
from ccdata.errors import InputError

STATUSES = {"within", "above_95", "above_998", "below_95", "below_998"}


@pytest.fixture
def surgical(sample_data_dir):
    return pd.read_csv(sample_data_dir / "real" / "bugs_surgical.csv")


def _brute_binomial_cdfs(n, p):
    """[P(R <= k) for k = 0..n], summing the pmf term by term."""
    out, total = [], 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        out.append(total)
    return out


def test_bugs_surgical_worked_example(surgical):
    res = funnel(
        surgical, numerator="deaths_r", denominator="operations_n", unit="hospital"
    )
    assert isinstance(res, FunnelResult)
    assert res.target == pytest.approx(208 / 2814)
    u = res.units
    assert u["unit"].tolist() == list("ABCDEFGHIJKL")
    assert {
        "unit",
        "numerator",
        "denominator",
        "value",
        "z",
        "lower_95",
        "upper_95",
        "lower_998",
        "upper_998",
        "status",
    } <= set(u.columns)
    # Independent check with exact binomial tail sums: a unit is above the
    # 99.8% limit iff P(R >= r) <= 0.001; the drawn upper limit is
    # Spiegelhalter's interpolated quantile r_p - a moved up one count (the
    # first flagged count is r_p + 1), so it separates flagged from unflagged.
    p0 = res.target
    for row in u.itertuples():
        n = int(row.denominator)
        cdf = _brute_binomial_cdfs(n, p0)
        r = int(row.numerator)
        p_up = 1.0 - (cdf[r - 1] if r > 0 else 0.0)
        assert row.p_upper == pytest.approx(p_up, abs=1e-12)
        assert row.p_lower == pytest.approx(cdf[r], abs=1e-12)
        for q, col in ((0.999, "upper_998"), (0.975, "upper_95")):
            rp = next(k for k, f in enumerate(cdf) if f >= q)
            prev = cdf[rp - 1] if rp > 0 else 0.0
            limit = (rp + 1 - (cdf[rp] - q) / (cdf[rp] - prev)) / n
            assert getattr(row, col) == pytest.approx(limit, abs=1e-12)
            flagged = p_up <= 1 - q
            assert flagged == (row.value > getattr(row, col))
    # B (18 of 148) is the 97.5% quantile r_p itself: P(R >= 18) = 0.0256 >
    # 0.025, so it is within the 95% limits (the old rule called it above).
    assert dict(zip(u["unit"], u["status"], strict=True)) == {
        "A": "within",
        "B": "within",
        "C": "within",
        "D": "within",
        "E": "below_95",
        "F": "within",
        "G": "within",
        "H": "above_998",
        "I": "within",
        "J": "within",
        "K": "above_95",
        "L": "within",
    }
    # z on the identity scale with the null variance
    h = u.set_index("unit").loc["H"]
    assert h["z"] == pytest.approx((31 / 215 - p0) / math.sqrt(p0 * (1 - p0) / 215))
    text = res.summary()
    assert text.startswith("1 of 12 sites above the 99.8% limit and 0 below it")
    assert "consider overdispersion" in text
    for banned in ("worst", "best", "rank"):
        assert banned not in text.lower()


def test_phi_and_tau2_hand_computation():
    # Five units, normal method, target 0.1 given, no trimming (trim=0).
    df = pd.DataFrame(
        {
            "site_id": list("abcde"),
            "r": [2, 30, 8, 25, 12],
            "n": [100, 150, 80, 120, 100],
        }
    )
    res = funnel(
        df,
        numerator="r",
        denominator="n",
        target=0.1,
        method="normal",
        overdispersion="additive",
        trim=0,
    )
    # by hand:
    z, w = [], []
    for r, n in zip(df["r"], df["n"], strict=True):
        s2 = 0.1 * 0.9 / n
        z.append((r / n - 0.1) / math.sqrt(s2))
        w.append(1 / s2)
    phi = sum(v * v for v in z) / 5
    tau2 = (5 * phi - 4) / (sum(w) - sum(v * v for v in w) / sum(w))
    assert res.phi == pytest.approx(phi)
    assert res.tau2 == pytest.approx(tau2)
    assert res.n_used == 5 and res.overdispersion_applied
    # untrimmed z-scores, target given: chi-squared on N = 5 df
    assert res.dispersion_p_value == pytest.approx(stats.chi2.sf(5 * phi, 5))
    a = res.units.iloc[0]
    s = math.sqrt(0.09 / 100 + tau2)
    assert a["upper_95"] == pytest.approx(0.1 + stats.norm.ppf(0.975) * s)
    assert a["z_adjusted"] == pytest.approx((0.02 - 0.1) / s)
    mult = funnel(
        df,
        numerator="r",
        denominator="n",
        target=0.1,
        method="normal",
        overdispersion="multiplicative",
        trim=0,
    )
    assert mult.units.iloc[0]["upper_95"] == pytest.approx(
        0.1 + stats.norm.ppf(0.975) * math.sqrt(phi * 0.09 / 100)
    )


def test_winsorising_uses_type7_quantiles():
    # z-scores are made equal to the values below by choosing a normal mean
    z = np.array([-3.0, -1.0, 0.0, 0.5, 1.0, 4.0])
    df = pd.DataFrame({"site_id": range(6), "m": z, "n": np.ones(6)})
    res = funnel(
        df, numerator="m", denominator="n", kind="mean", sd=1.0, target=0.0, trim=0.2
    )
    lo = np.quantile(z, 0.2)  # numpy's default 'linear' is R's type 7
    hi = np.quantile(z, 0.8)
    assert res.phi == pytest.approx(np.mean(np.clip(z, lo, hi) ** 2))


def test_truncation_drops_outer_bins_and_zero_event_units():
    rng = np.random.default_rng(1)
    e = rng.uniform(5, 50, 30)
    o = rng.poisson(e)
    o[0] = 0  # log scale: z = -inf, must fall in the dropped tail
    df = pd.DataFrame({"unit": range(30), "observed": o, "expected": e})
    res = funnel(
        df,
        numerator="observed",
        denominator="expected",
        unit="unit",
        kind="ratio",
        method="log",
        overdispersion="additive",
        trim_method="truncate",
    )
    with np.errstate(divide="ignore"):
        z = np.sqrt(e) * np.log(o / e)
    ranks = stats.rankdata(z)
    bins = np.floor(ranks * 10 / 31)
    keep = (bins > 0) & (bins < 9)
    assert res.units["used_in_overdispersion"].to_numpy().tolist() == keep.tolist()
    assert not res.units["used_in_overdispersion"].iloc[0]
    assert res.phi == pytest.approx(np.mean(z[keep] ** 2))
    assert res.n_used == keep.sum()
    with pytest.raises(InputError, match="infinite"):
        many_zero = df.assign(observed=np.where(np.arange(30) < 8, 0, o))
        funnel(
            many_zero,
            numerator="observed",
            denominator="expected",
            unit="unit",
            kind="ratio",
            method="log",
            overdispersion="additive",
        )


def test_no_overdispersion_leaves_limits_unadjusted():
    df = pd.DataFrame(
        {"site_id": list("abcd"), "r": [10, 20, 30, 40], "n": [100, 200, 300, 400]}
    )
    res = funnel(df, numerator="r", denominator="n", overdispersion="additive")
    plain = funnel(df, numerator="r", denominator="n")
    assert res.phi == 0.0 and res.tau2 == 0.0
    assert not res.overdispersion_detected and not res.overdispersion_applied
    pd.testing.assert_frame_equal(res.units, plain.units)
    assert "No over-dispersion detected" in res.summary()


def test_observed_expected_output_works_as_ratio(sample_data_dir):
    raw = pd.read_csv(sample_data_dir / "real" / "phe_ratio_areas.csv")
    oe = pd.DataFrame(
        {
            "unit": [f"u{i:03d}" for i in range(len(raw))],
            "observed": raw["obs"],
            "expected": raw["expected"],
        }
    )
    res = funnel(
        oe,
        numerator="observed",
        denominator="expected",
        unit="unit",
        kind="ratio",
        multiplier=100,
    )
    assert res.target == 100
    lim = funnel_limits(oe["expected"], 1.0, kind="ratio", multiplier=100)
    np.testing.assert_allclose(res.units["upper_998"], lim["upper_998"])
    assert set(res.units["status"]) <= STATUSES
    np.testing.assert_allclose(
        res.units["value"], 100 * oe["observed"] / oe["expected"]
    )


def test_edge_cases_zero_denominator_events_single_unit():
    df = pd.DataFrame(
        {"site_id": ["z", "a", "b", "c"], "r": [0, 0, 5, 20], "n": [0, 40, 5, 200]}
    )
    res = funnel(df, numerator="r", denominator="n")
    u = res.units.set_index("unit")
    assert u.loc["z", "status"] == "not_assessed"
    assert np.isnan(
        u.loc["z", ["value", "z", "lower_95", "upper_95"]].astype(float)
    ).all()
    assert res.target == pytest.approx(25 / 245)  # zero-denominator unit excluded
    # 0/40 with target 0.102: P(R = 0) = 0.013, below the 95% limit; the 99.8%
    # lower limit clips to 0, and a value exactly on a limit is not beyond it
    assert u.loc["a", "value"] == 0 and u.loc["a", "lower_998"] == 0
    assert u.loc["a", "status"] == "below_95"
    assert u.loc["b", "value"] == 1 and u.loc["b", "upper_998"] <= 1
    assert res.units["unit"].tolist() == ["a", "b", "c", "z"]
    assert "1 of 4 sites not assessed" in res.summary()
    one = funnel(df.iloc[[3]], numerator="r", denominator="n", target=0.03)
    assert one.units["status"].tolist() == ["above_998"]
    assert np.isnan(one.phi) and len(one.curve) > 10


def test_no_events_anywhere_gives_degenerate_limits():
    df = pd.DataFrame({"site_id": [1, 2], "r": [0, 0], "n": [10, 20]})
    res = funnel(df, numerator="r", denominator="n")
    assert res.target == 0
    assert res.units["status"].tolist() == ["within", "within"]
    assert (res.units["upper_998"] == 0).all()


@pytest.mark.parametrize(
    "change, match",
    [
        ({"r": [1, np.nan]}, "missing"),
        ({"r": [-1, 2]}, "negative"),
        ({"n": [10, -3]}, "negative"),
        ({"r": [11, 2]}, "exceeds"),
        ({"site_id": ["a", "a"]}, "repeated"),
        ({"n": [10.5, 20]}, "whole-number"),
        ({"r": ["x", "y"]}, "numeric"),
    ],
)
def test_input_errors(change, match):
    df = pd.DataFrame({"site_id": ["a", "b"], "r": [1, 2], "n": [10, 20]})
    for k, v in change.items():
        df[k] = v
    with pytest.raises(InputError, match=match):
        funnel(df, numerator="r", denominator="n")


def test_parameter_errors():
    df = pd.DataFrame({"site_id": ["a", "b"], "r": [1, 2], "n": [10, 20]})
    kw = dict(numerator="r", denominator="n")
    with pytest.raises(InputError, match="overdispersion"):
        funnel(df, overdispersion="both", **kw)
    with pytest.raises(InputError, match="trim"):
        funnel(df, trim=0.6, **kw)
    with pytest.raises(InputError, match="not found"):
        funnel(df, numerator="deaths", denominator="n")
    with pytest.raises(InputError, match="sd"):
        funnel(df, kind="mean", **kw)
    with pytest.raises(InputError, match="kind='mean' only"):
        funnel(df, sd=1.0, **kw)
    with pytest.raises(InputError, match="method"):
        funnel(df, method="log", **kw)
    with pytest.raises(InputError, match="pooled target"):
        funnel(df.assign(n=0, r=0), **kw)


def test_mean_kind_with_sd_column_pooled():
    df = pd.DataFrame(
        {
            "site_id": list("abc"),
            "los": [5.0, 6.5, 4.0],
            "n": [20, 50, 30],
            "sd": [2.0, 3.0, 2.5],
        }
    )
    res = funnel(df, numerator="los", denominator="n", kind="mean", sd="sd")
    pooled = math.sqrt((19 * 4 + 49 * 9 + 29 * 6.25) / (19 + 49 + 29))
    target = (5 * 20 + 6.5 * 50 + 4 * 30) / 100
    assert res.target == pytest.approx(target)
    assert res.method == "normal"
    b = res.units.iloc[1]
    assert b["upper_95"] == pytest.approx(
        target + stats.norm.ppf(0.975) * pooled / math.sqrt(50)
    )
    assert b["z"] == pytest.approx((6.5 - target) / (pooled / math.sqrt(50)))


def test_ratio_of_counts():
    df = pd.DataFrame(
        {"site_id": list("abc"), "now": [30, 12, 0], "before": [10, 12, 0]}
    )
    res = funnel(df, numerator="now", denominator="before", kind="ratio_of_counts")
    u = res.units.set_index("unit")
    assert res.x_column == "total" and u.loc["a", "total"] == 40
    assert res.target == pytest.approx(42 / 22)
    assert u.loc["c", "status"] == "not_assessed"
    pi0 = (42 / 22) / (1 + 42 / 22)
    assert u.loc["a", "z"] == pytest.approx(
        (30 / 40 - pi0) / math.sqrt(pi0 * (1 - pi0) / 40)
    )


def test_result_is_frozen_and_tables():
    df = pd.DataFrame({"site_id": ["b", "a"], "r": [3, 2], "n": [30, 20]})
    res = ccdata.funnel(df, numerator="r", denominator="n", curve_points=50)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.target = 0.5
    frame = res.to_frame()
    assert frame["unit"].tolist() == ["a", "b"]
    frame.loc[0, "value"] = 99
    assert res.units.loc[0, "value"] != 99
    assert list(res.curve.columns) == [
        "denominator",
        "lower_95",
        "upper_95",
        "lower_998",
        "upper_998",
    ]
    assert res.curve["denominator"].is_monotonic_increasing
    assert not any("rank" in c for c in frame.columns)


def test_other_levels_give_analogous_columns_and_status():
    df = pd.DataFrame({"site_id": ["a", "b"], "r": [1, 40], "n": [100, 100]})
    res = funnel(df, numerator="r", denominator="n", levels=(0.99, 0.9))
    assert res.levels == (0.9, 0.99)
    assert {"lower_90", "upper_90", "lower_99", "upper_99"} <= set(res.units.columns)
    assert set(res.units["status"]) <= {
        "within",
        "above_90",
        "above_99",
        "below_90",
        "below_99",
    }
