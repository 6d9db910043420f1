"""Tests of ccdata.risk monitoring: risk-adjusted CUSUM, VLAD, ARL simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from ccdata.errors import InputError
from ccdata.risk import cusum_arl, risk_adjusted_cusum, vlad
from ccdata.risk import monitoring as mon


def _reference_cusum(w, units, h, reset=True):
    """Straightforward recursion, one patient at a time (independent check)."""
    s_all, sig_all, s, prev = [], [], 0.0, object()
    for wi, u in zip(w, units, strict=True):
        if u != prev:
            s, prev = 0.0, u
        s = max(0.0, s + wi)
        s_all.append(s)
        sig_all.append(s >= h)
        if s >= h and reset:
            s = 0.0
    return np.array(s_all), np.array(sig_all)


def test_hand_worked_sequence():
    # R = 2, every patient p = 0.2: log(1 - p + R p) = log(1.2) = 0.182322.
    # Death: W = log 2 - log 1.2 = 0.693147 - 0.182322 = 0.510826.
    # Survival: W = -0.182322.  h = 1.
    # t1 died  : S = max(0, 0 + 0.510826)        = 0.510826
    # t2 lived : S = 0.510826 - 0.182322         = 0.328504
    # t3 died  : S = 0.328504 + 0.510826         = 0.839329
    # t4 died  : S = 0.839329 + 0.510826         = 1.350155 >= 1 -> signal, reset
    # t5 lived : S = max(0, 0 - 0.182322)        = 0
    # t6 died  : S = 0.510826
    df = pd.DataFrame(
        {"t": [6, 5, 4, 3, 2, 1], "y": [1, 0, 1, 1, 0, 1], "p": [0.2] * 6}
    )
    res = risk_adjusted_cusum(df, outcome="y", expected="p", order_by="t", limit=1.0)
    out = res.points
    assert out.t.tolist() == [1, 2, 3, 4, 5, 6]
    assert out.index.tolist() == [5, 4, 3, 2, 1, 0]  # data's index, in time order
    np.testing.assert_allclose(
        out.cusum, [0.510826, 0.328504, 0.839329, 1.350155, 0.0, 0.510826], atol=1e-6
    )
    np.testing.assert_allclose(
        out.weight,
        [0.510826, -0.182322, 0.510826, 0.510826, -0.182322, 0.510826],
        atol=1e-6,
    )
    assert out.signal.tolist() == [False, False, False, True, False, False]
    assert res.direction == "increase" and res.limit == 1.0 and res.odds_ratio == 2.0
    assert res.reset is True and res.n_signals == 1 and res.unit_column is None
    # Without reset the CUSUM carries on: t5 = 1.350155 - 0.182322 = 1.167833.
    no_reset = risk_adjusted_cusum(
        df, outcome="y", expected="p", order_by="t", limit=1.0, reset=False
    ).points
    assert no_reset.cusum.iloc[4] == pytest.approx(1.167833, abs=1e-6)
    assert no_reset.signal.tolist() == [False, False, False, True, True, True]


def test_improvement_cusum_sign_convention():
    # R = 0.5, p = 0.2: log(1 - p + R p) = log(0.9) = -0.105361.
    # Survival: W = +0.105361 (evidence of improvement); death: W = log 0.5 +
    # 0.105361 = -0.587787. The column stays >= 0 and is compared with +h.
    df = pd.DataFrame({"t": range(5), "y": [0, 0, 1, 0, 0], "p": [0.2] * 5})
    res = risk_adjusted_cusum(
        df, outcome="y", expected="p", order_by="t", odds_ratio=0.5, limit=0.3
    )
    out = res.points
    np.testing.assert_allclose(
        out.cusum, [0.105361, 0.210721, 0.0, 0.105361, 0.210721], atol=1e-6
    )
    assert not out.signal.any() and res.direction == "decrease"


def test_units_are_monitored_separately(rng):
    n = 3000
    df = pd.DataFrame(
        {
            "site": rng.choice(["S2", "S1", "S3"], n),
            "when": rng.permutation(n),
            "p": rng.uniform(0.01, 0.3, n),
        }
    )
    df["y"] = rng.binomial(1, df.p * 1.5)
    out = risk_adjusted_cusum(
        df, outcome="y", expected="p", order_by="when", unit="site", limit=2.0
    ).points
    assert out.unit.is_monotonic_increasing
    assert out.groupby("unit").when.apply(lambda s: s.is_monotonic_increasing).all()
    ref_s, ref_sig = _reference_cusum(out.weight.to_numpy(), out.unit.tolist(), 2.0)
    np.testing.assert_allclose(out.cusum, ref_s, atol=1e-9)
    np.testing.assert_array_equal(out.signal, ref_sig)


@given(
    w=st.lists(st.floats(-1.0, 2.0, allow_nan=False), min_size=1, max_size=300),
    n_units=st.integers(1, 4),
    h=st.floats(0.05, 3.0),
    reset=st.booleans(),
)
@example(w=[-0.5, 0.05, 0.0], n_units=1, h=0.05, reset=False)
def test_vectorised_recursion_equals_loop(w, n_units, h, reset):
    w = np.round(np.array(w), 6)
    units = np.sort(np.arange(w.size) % n_units)
    start = np.r_[True, units[1:] != units[:-1]]
    s, sig = mon._cusum(w, start, h, reset)
    ref_s, ref_sig = _reference_cusum(w, units.tolist(), h, reset)
    # A value within rounding of h is a tie: cumsum and the loop add in a
    # different order (w=[-0.5, 0.05, 0], h=0.05 gives 0.04999999999999999
    # against 0.05), and with resets the two paths part after it.
    assume(not (reset and np.any(np.abs(ref_s - h) <= 1e-9)))
    np.testing.assert_allclose(s, ref_s, atol=1e-9)
    # Compare signals away from exact ties with h (summation order differs).
    clear = np.abs(ref_s - h) > 1e-9
    np.testing.assert_array_equal(sig[clear], ref_sig[clear])


def test_many_signals_use_the_loop_fallback(rng):
    w = rng.uniform(-0.2, 1.0, 5000)
    start = np.zeros(5000, dtype=bool)
    start[0] = True
    s, sig = mon._cusum(w, start, 0.5, True)  # hundreds of signals in one unit
    ref_s, ref_sig = _reference_cusum(w, [0] * 5000, 0.5)
    assert sig.sum() > mon._MAX_PASSES
    np.testing.assert_allclose(s, ref_s, atol=1e-9)
    np.testing.assert_array_equal(sig, ref_sig)


def test_vlad_hand_values_and_signal():
    # VLAD = cumulative (p - y): 0.2, 0.4, -0.4, -1.2, -1.0, -1.8.
    df = pd.DataFrame({"t": range(6), "y": [0, 0, 1, 1, 0, 1], "p": [0.2] * 6})
    res = vlad(df, outcome="y", expected="p", order_by="t", limit=1.0)
    out = res.points
    assert res.signal_source == "paired risk-adjusted CUSUM" and res.limit == 1.0
    np.testing.assert_allclose(out.vlad, [0.2, 0.4, -0.4, -1.2, -1.0, -1.8])
    cus = risk_adjusted_cusum(
        df, outcome="y", expected="p", order_by="t", limit=1.0
    ).points
    np.testing.assert_array_equal(out.signal, cus.signal)
    assert out.signal.any()
    quiet = vlad(df, outcome="y", expected="p", order_by="t", odds_ratio=None)
    assert not quiet.points.signal.any() and quiet.signal_source == "none"
    assert quiet.odds_ratio is None and quiet.n_signals == 0


def test_vlad_per_unit_equals_groupby(rng):
    n = 500
    df = pd.DataFrame(
        {"u": rng.integers(0, 5, n), "t": rng.random(n), "p": rng.uniform(0.01, 0.2, n)}
    )
    df["y"] = rng.binomial(1, df.p)
    out = vlad(df, outcome="y", expected="p", order_by="t", unit="u").points
    ref = df.sort_values(["u", "t"])
    ref = (ref.p - ref.y).groupby(ref.u).cumsum()
    np.testing.assert_allclose(out.vlad, ref.to_numpy())
    assert out.index.equals(ref.index)


def test_bad_input_is_named():
    df = pd.DataFrame({"t": [1, 2], "y": [0, 1], "p": [0.1, 0.2]})
    with pytest.raises(InputError, match="'odds_ratio'"):
        risk_adjusted_cusum(df, outcome="y", expected="p", order_by="t", odds_ratio=1)
    with pytest.raises(InputError, match="'limit'"):
        risk_adjusted_cusum(df, outcome="y", expected="p", order_by="t", limit=0)
    with pytest.raises(InputError, match="strictly between 0 and 1"):
        vlad(df.assign(p=[0.0, 0.2]), outcome="y", expected="p", order_by="t")
    with pytest.raises(InputError, match="order_by column 't'"):
        vlad(df.assign(t=[1, None]), outcome="y", expected="p", order_by="t")
    with pytest.raises(InputError, match="0/1"):
        vlad(df.assign(y=[0, 5]), outcome="y", expected="p", order_by="t")


def test_arl_geometric_case():
    # With h below the weight of one death, every death signals: the run
    # length is geometric with mean 1/p in control and 1/p1 out of control,
    # p1 = R p / (1 - p + R p) = 0.2 / 1.1.
    est = cusum_arl(np.full(10, 0.1), limit=0.5, n_runs=4000, seed=3)
    assert est.n_censored == 0
    assert abs(est.arl - 10.0) < 4 * est.std_error
    est1 = cusum_arl(
        np.full(10, 0.1), limit=0.5, true_odds_ratio=2.0, n_runs=4000, seed=3
    )
    assert abs(est1.arl - 5.5) < 4 * est1.std_error


def test_arl_matches_markov_chain_on_a_lattice():
    # p = 2**(1/5) - 1 makes log(1 + p) = log(2)/5 = u: a death adds 4u and a
    # survival subtracts u, so S lives on the lattice {0, u, 2u, ...}. With
    # h = 9.5u a signal is S >= 10u; the exact ARL solves (I - Q) m = 1 over
    # the states 0..9.
    p = 2**0.2 - 1
    u = np.log(2) / 5
    k = 10
    q = np.zeros((k, k))
    for i in range(k):
        q[i, max(i - 1, 0)] += 1 - p
        if i + 4 < k:
            q[i, i + 4] += p
    exact = np.linalg.solve(np.eye(k) - q, np.ones(k))[0]
    est = cusum_arl(np.array([p]), limit=9.5 * u, n_runs=3000, seed=7)
    assert abs(est.arl - exact) < 4 * est.std_error
    assert est.odds_ratio == 2.0 and est.limit == pytest.approx(9.5 * u)


def test_cusum_and_vlad_results_keep_old_table_usage_with_a_warning():
    df = pd.DataFrame({"t": range(6), "y": [0, 0, 1, 1, 0, 1], "p": [0.2] * 6})
    cus = risk_adjusted_cusum(df, outcome="y", expected="p", order_by="t", limit=1.0)
    vl = vlad(df, outcome="y", expected="p", order_by="t", limit=1.0)
    with pytest.warns(FutureWarning, match="to_frame"):
        assert cus.signal.tolist() == cus.points.signal.tolist()
    with pytest.warns(FutureWarning, match="to_frame"):
        assert cus["cusum"].tolist() == cus.points["cusum"].tolist()
    with pytest.warns(FutureWarning, match="odds_ratio"):
        assert cus.attrs == {
            "odds_ratio": 2.0,
            "limit": 1.0,
            "reset": True,
            "direction": "increase",
        }
    with pytest.warns(FutureWarning, match="to_frame"):
        assert len(vl) == 6
    with pytest.warns(FutureWarning, match="signal_source"):
        assert vl.attrs["signal"] == "paired risk-adjusted CUSUM"
    assert cus.to_frame().equals(cus.points) and cus.to_frame() is not cus.points
    assert repr(cus) == (
        "CusumResult(6 patients, 1 unit(s), odds_ratio=2, "
        f"limit=1, {cus.n_signals} signal(s))"
    )
    assert repr(vl).startswith("VladResult(6 patients, 1 unit(s)")
    assert "<table" in cus._repr_html_() and "<table" in vl._repr_html_()
