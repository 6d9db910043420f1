"""Tests of ccdata.risk.observed_expected (O/E ratios, risk-adjusted rates)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ccdata._intervals import garwood_interval
from ccdata.errors import EmptyUnitWarning, InputError
from ccdata.risk import fit_risk_model, observed_expected

COLUMNS = [
    "unit",
    "n",
    "observed",
    "expected",
    "ratio",
    "ratio_lower_95",
    "ratio_upper_95",
    "crude_rate",
    "expected_rate",
    "adjusted_rate",
    "adjusted_lower_95",
    "adjusted_upper_95",
]


def _patients() -> pd.DataFrame:
    # Site B: 4 patients, 2 deaths, risks summing to 0.8; site A: 6 patients,
    # 1 death, risks summing to 1.2. Overall 3 deaths in 10 patients.
    return pd.DataFrame(
        {
            "site_id": ["B"] * 4 + ["A"] * 6,
            "died": [1, 0, 1, 0, 0, 0, 1, 0, 0, 0],
            "risk": [0.2] * 4 + [0.2] * 6,
        }
    )


def test_hand_computed_table():
    res = observed_expected(_patients(), outcome="died", expected="risk")
    oe = res.units
    assert list(oe.columns) == COLUMNS
    assert res.to_frame().equals(oe) and res.to_frame() is not oe
    assert oe.unit.tolist() == ["A", "B"]  # unit order, not performance
    a, b = oe.iloc[0], oe.iloc[1]
    assert (a.n, a.observed, b.n, b.observed) == (6, 1, 4, 2)
    assert a.expected == pytest.approx(1.2) and b.expected == pytest.approx(0.8)
    assert a.ratio == pytest.approx(1 / 1.2) and b.ratio == pytest.approx(2.5)
    assert b.crude_rate == pytest.approx(0.5) and b.expected_rate == pytest.approx(0.2)
    # Risk-adjusted rate = O/E x overall crude rate (3/10).
    assert b.adjusted_rate == pytest.approx(2.5 * 0.3)
    # Garwood limits for O = 2: chi2(0.025; 4)/2 = 0.2422, chi2(0.975; 6)/2 = 7.2247.
    assert b.ratio_lower_95 == pytest.approx(0.242209 / 0.8, rel=1e-5)
    assert b.ratio_upper_95 == pytest.approx(7.224693 / 0.8, rel=1e-5)
    assert b.adjusted_upper_95 == pytest.approx(7.224693 / 0.8 * 0.3, rel=1e-5)
    pooled = res.pooled
    assert pooled.observed == 3 and pooled.n == 10
    assert pooled.ratio == pytest.approx(3 / 2.0)
    assert pooled.crude_rate == pytest.approx(0.3)
    # Garwood limits for O = 3 over E = 2: chi2(.025; 6)/2, chi2(.975; 8)/2.
    assert pooled.ratio_lower == pytest.approx(0.618672 / 2.0, rel=1e-5)
    assert pooled.ratio_upper == pytest.approx(8.767273 / 2.0, rel=1e-5)
    assert res.level == 0.95 and res.empty_units == ()


def test_garwood_limits_match_published_table():
    # Exact 95% limits for a Poisson count (e.g. Ulm 1990 / standard tables).
    lo, hi = garwood_interval(np.array([0, 1, 5, 10, 20]))
    np.testing.assert_allclose(lo, [0, 0.0253, 1.6235, 4.7954, 12.2165], atol=1e-4)
    np.testing.assert_allclose(
        hi, [3.6889, 5.5716, 11.6683, 18.3904, 30.8884], atol=1e-4
    )


def test_level_changes_the_suffix():
    oe = observed_expected(
        _patients(), outcome="died", expected="risk", level=0.998
    ).units
    assert "ratio_lower_998" in oe.columns and "adjusted_upper_998" in oe.columns


def test_sum_of_expected_equals_sum_of_predicted_risks(rng):
    n = 20_000
    df = pd.DataFrame({"x": rng.normal(size=n), "site_id": rng.integers(0, 40, n)})
    df["y"] = rng.binomial(1, 1 / (1 + np.exp(-(-3 + df.x))))
    model = fit_risk_model(df, "y", ["x"])
    df["p"] = model.predict(df)
    res = observed_expected(df, outcome="y", expected="p")
    oe = res.units
    assert oe.expected.sum() == pytest.approx(df.p.sum(), rel=1e-12)
    assert oe.observed.sum() == df.y.sum()
    # Fitted on the same records: pooled O/E is 1.
    assert res.pooled.ratio == pytest.approx(1.0, abs=1e-8)


def test_bad_input_is_named():
    df = _patients()
    with pytest.raises(InputError, match="'risk'.*strictly between 0 and 1"):
        observed_expected(df.assign(risk=1.2), outcome="died", expected="risk")
    with pytest.raises(InputError, match="'risk'.*missing"):
        observed_expected(df.assign(risk=np.nan), outcome="died", expected="risk")
    with pytest.raises(InputError, match="outcome column 'died'"):
        observed_expected(df.assign(died=3), outcome="died", expected="risk")
    with pytest.raises(InputError, match="not found"):
        observed_expected(df, unit="site", outcome="died", expected="risk")


def test_empty_site_warns_and_is_left_out():
    df = _patients()
    df["site_id"] = pd.Categorical(df.site_id, categories=["A", "B", "C"])
    with pytest.warns(EmptyUnitWarning, match="'C'"):
        res = observed_expected(df, outcome="died", expected="risk")
    assert res.units.unit.tolist() == ["A", "B"] and res.empty_units == ("C",)


def test_false_alarm_rate_without_outliers(rng):
    # 200 simulated communities of 30 sites of 600 patients with no true
    # outliers: outcomes drawn from the expected risks (about 17 expected
    # deaths a site). Near 5% of sites fall outside the 95% limits; a little
    # under, because exact Poisson limits are conservative for discrete counts
    # (about 3.5% here), never above.
    n_comm, n_sites, per_site = 200, 30, 600
    p = rng.beta(1.2, 40, size=(n_comm, n_sites, per_site)).clip(1e-4, 0.9)
    y = rng.binomial(1, p)
    o, e = y.sum(axis=2).ravel(), p.sum(axis=2).ravel()
    lo, hi = garwood_interval(o)
    outside = (lo / e > 1) | (hi / e < 1)
    assert 0.025 < outside.mean() < 0.055
    # The table's columns give the same classification for one community.
    df = pd.DataFrame(
        {
            "site_id": np.repeat(np.arange(n_sites), per_site),
            "y": y[0].ravel(),
            "p": p[0].ravel(),
        }
    )
    oe = observed_expected(df, outcome="y", expected="p").units
    flagged = (oe.ratio_lower_95 > 1) | (oe.ratio_upper_95 < 1)
    np.testing.assert_array_equal(flagged.to_numpy(), outside[:n_sites])


AAA_COVARIATES = [
    "I((age - 75) / 10)",
    "sex",
    "asa_grade",
    "I((aneurysm_diameter_mm - 65) / 10)",
    "np.log(creatinine_umol_l / 90)",
    "cardiac_disease",
    "respiratory_disease",
    "procedure_type",
]


@pytest.fixture(scope="module")
def aaa():
    import ccdata.sample_data as sample

    df = sample.generate_aaa_procedures()
    model = fit_risk_model(df, "died_in_hospital", AAA_COVARIATES, missing="indicator")
    df["expected"] = model.predict(df)
    return sample, df, model


def test_aaa_worked_example(aaa):
    sample, df, model = aaa
    co = model.coefficients.set_index("term")
    truth = sample.AAA_RISK_MODEL
    # The fitted model recovers the generator's risk model (site effects aside).
    assert co.loc["I((age - 75) / 10)", "ci_lower"] < np.exp(truth["age_per_10y"])
    assert np.exp(truth["open_repair"]) < co.loc["procedure_type[T.open]", "ci_upper"]
    assert 0.7 < model.c_statistic < 0.9
    assert model.hosmer_lemeshow.p_value > 0.01
    oe = observed_expected(
        df, outcome="died_in_hospital", expected="expected", level=0.998
    ).units
    above = set(oe.loc[oe.ratio_lower_998 > 1, "unit"])
    assert above == set(sample.AAA_OUTLIER_SITES)
    # Comparison with the 3.5% target, without ranking: 95% adjusted-rate limits.
    oe95 = observed_expected(df, outcome="died_in_hospital", expected="expected").units
    above_target = oe95.loc[oe95.adjusted_lower_95 > 0.035, "unit"]
    assert set(above_target) <= set(sample.AAA_OUTLIER_SITES)
    assert list(oe95.unit) == sorted(oe95.unit)


def test_aaa_risk_adjusted_funnel_finds_the_outliers(aaa):
    sample, df, _ = aaa
    from ccdata.comparison import funnel

    oe = observed_expected(df, outcome="died_in_hospital", expected="expected")
    result = funnel(
        oe.to_frame(),
        numerator="observed",
        denominator="expected",
        unit="unit",
        kind="ratio",
    )
    units = result.units
    # Found at the 99.8% limits, and no other site beyond them by chance.
    assert set(units.loc[units.status == "above_998", "unit"]) == set(
        sample.AAA_OUTLIER_SITES
    )
    assert not units.status.isin(["below_998"]).any()


@pytest.mark.slow
def test_false_alarm_rate_with_fitted_models():
    # 100 simulated communities (no outliers), the risk model refitted each time.
    rng = np.random.default_rng(11)
    rates = []
    for _ in range(100):
        n = 6000
        df = pd.DataFrame({"x": rng.normal(size=n), "site_id": rng.integers(0, 40, n)})
        df["y"] = rng.binomial(1, 1 / (1 + np.exp(-(-3.2 + 0.8 * df.x))))
        df["p"] = fit_risk_model(df, "y", ["x"]).predict(df)
        oe = observed_expected(df, outcome="y", expected="p").units
        rates.append(((oe.ratio_lower_95 > 1) | (oe.ratio_upper_95 < 1)).mean())
    assert 0.02 < np.mean(rates) < 0.06


def test_old_dataframe_usage_still_works_with_a_future_warning():
    res = observed_expected(_patients(), outcome="died", expected="risk")
    with pytest.warns(FutureWarning, match="to_frame"):
        assert res["ratio"].tolist() == res.units["ratio"].tolist()
    with pytest.warns(FutureWarning, match="to_frame"):
        assert res.unit.tolist() == ["A", "B"]
    with pytest.warns(FutureWarning, match="to_frame"):
        assert len(res) == 2
    with pytest.warns(FutureWarning, match="to_frame"):
        assert "ratio_upper_95" in res
    with pytest.warns(FutureWarning, match="pooled"):
        old = res.attrs
    assert old["pooled"]["ratio_lower_95"] == res.pooled.ratio_lower
    assert old["pooled"]["observed"] == 3 and old["level"] == 0.95
    # names neither a field nor the table's are plain AttributeErrors, silently
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not hasattr(res, "curve") and not hasattr(res, "_repr_latex_")


def test_result_is_frozen_with_short_repr_and_html():
    import dataclasses

    res = observed_expected(_patients(), outcome="died", expected="risk")
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.level = 0.9
    r = repr(res)
    assert r.startswith("ObservedExpectedResult(2 units, n=10, observed=3")
    assert "pooled O/E 1.5" in r and "\n" not in r
    html = res._repr_html_()
    assert "<table" in html and "ratio_upper_95" in html
