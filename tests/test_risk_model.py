"""Tests of ccdata.risk: fitting, applying and assessing logistic risk models."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special, stats

from ccdata.errors import ImputationWarning, InputError, SeparationWarning
from ccdata.risk import RiskModel, fit_risk_model
from ccdata.risk.diagnostics import assess_predictions, c_statistic

TRUE = {"Intercept": -3.0, "x": 0.8, "b": 0.5, "g[T.b]": -0.4, "g[T.c]": 0.7}


@pytest.fixture(scope="module")
def simulated() -> pd.DataFrame:
    """60,000 patients from a known logistic model (fixed seed)."""
    rng = np.random.default_rng(4)
    n = 60_000
    df = pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "b": rng.binomial(1, 0.3, n),
            "g": rng.choice(["a", "b", "c"], n),
        }
    )
    lp = (
        TRUE["Intercept"]
        + TRUE["x"] * df.x
        + TRUE["b"] * df.b
        + TRUE["g[T.b]"] * (df.g == "b")
        + TRUE["g[T.c]"] * (df.g == "c")
    )
    df["y"] = rng.binomial(1, special.expit(lp))
    return df


@pytest.fixture(scope="module")
def fitted(simulated) -> RiskModel:
    return fit_risk_model(simulated, "y", ["x", "b", "g"])


def test_coefficient_table_has_the_contract_columns(fitted):
    assert list(fitted.coefficients.columns) == [
        "term",
        "estimate",
        "std_error",
        "odds_ratio",
        "ci_lower",
        "ci_upper",
        "p_value",
    ]
    assert set(fitted.coefficients.term) == set(TRUE)


def test_simulated_coefficients_are_recovered_within_their_cis(fitted):
    co = fitted.coefficients.set_index("term")
    truth = pd.Series(TRUE)[co.index]
    # Each true coefficient lies inside its 99.9% Wald interval (all five at
    # once fail by chance with probability < 0.5%; with 95% intervals one of
    # five misses in about a fifth of seeds, as it does for 'b' with this one).
    z = stats.norm.ppf(0.9995)
    assert (np.abs(co.estimate - truth) < z * co.std_error).all()
    # ci_lower/ci_upper are the 95% limits of the odds ratio; most cover.
    covered = (np.exp(truth) > co.ci_lower) & (np.exp(truth) < co.ci_upper)
    assert covered.sum() >= 4
    np.testing.assert_allclose(
        co.ci_lower, np.exp(co.estimate - 1.959964 * co.std_error), rtol=1e-6
    )
    np.testing.assert_allclose(co.odds_ratio, np.exp(co.estimate))


def test_fit_agrees_with_statsmodels_logit(simulated, fitted):
    import statsmodels.formula.api as smf

    ref = smf.logit("y ~ x + b + g", simulated).fit(disp=0)
    co = fitted.coefficients.set_index("term")
    np.testing.assert_allclose(co.estimate, ref.params[co.index], rtol=1e-6)
    np.testing.assert_allclose(co.std_error, ref.bse[co.index], rtol=1e-5)
    np.testing.assert_allclose(co.p_value, ref.pvalues[co.index], rtol=1e-4, atol=1e-12)


def test_c_statistic_equals_mann_whitney(simulated, fitted):
    p = fitted.predict(simulated).to_numpy()
    y = simulated.y.to_numpy()
    u = stats.mannwhitneyu(p[y == 1], p[y == 0]).statistic
    expected = u / ((y == 1).sum() * (y == 0).sum())
    assert fitted.c_statistic == pytest.approx(expected, rel=1e-12)
    lo, hi = fitted.c_statistic_ci
    assert lo < fitted.c_statistic < hi


def test_delong_interval_matches_pairwise_computation(rng):
    # DeLong (1988) structural components by brute force over all pairs,
    # with ties (risks rounded to 1 dp) counting one half.
    y = rng.binomial(1, 0.3, 150)
    p = np.round(rng.uniform(0.05, 0.8, 150) + 0.15 * y, 1).clip(0.01, 0.99)
    pos, neg = p[y == 1], p[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = np.sqrt(v10.var(ddof=1) / pos.size + v01.var(ddof=1) / neg.size)
    c, lo, hi = c_statistic(y, p)
    assert c == pytest.approx(auc, rel=1e-12)
    assert lo == pytest.approx(auc - 1.959964 * se, rel=1e-6)
    assert hi == pytest.approx(auc + 1.959964 * se, rel=1e-6)


def test_hosmer_lemeshow_and_brier_match_direct_computation(rng):
    p = rng.uniform(0.01, 0.4, 3000)
    y = rng.binomial(1, p)
    d = assess_predictions(y, p, groups=10)
    # Two-term form over deaths and survivors in deciles made by pandas.
    grp = pd.qcut(p, 10, labels=False)
    frame = pd.DataFrame({"g": grp, "y": y, "p": p, "one": 1})
    t = frame.groupby("g").sum()
    o1, e1, n = t.y, t.p, t.one
    hl = (((o1 - e1) ** 2 / e1) + ((n - o1 - (n - e1)) ** 2 / (n - e1))).sum()
    assert d.hosmer_lemeshow.statistic == pytest.approx(hl, rel=1e-10)
    assert d.hosmer_lemeshow.df == 10  # external validation: g degrees of freedom
    assert d.hosmer_lemeshow.p_value == pytest.approx(stats.chi2.sf(hl, 10))
    assert d.brier_score == pytest.approx(np.mean((y - p) ** 2))
    table = d.calibration_table
    assert list(table.columns[:6]) == [
        "decile",
        "n",
        "observed",
        "expected",
        "observed_rate",
        "expected_rate",
    ]
    assert table.n.sum() == 3000 and table.observed.sum() == y.sum()
    assert table.expected.sum() == pytest.approx(p.sum())


def test_hosmer_lemeshow_groups_keep_tied_risks_together_by_hand():
    """Deciles of risk with heavy ties (Hosmer & Lemeshow 2013, 5.2.2).

    Sorted risks s0..s9 = 0.1 x4, 0.2 x3, 0.3 x3; the type-7 quantile j/10
    sits at position 9j/10: cuts 0.1, 0.1, 0.1, 0.1+0.6(0.2-0.1) = 0.16, 0.2,
    0.2, 0.2+0.3(0.3-0.2) = 0.23, 0.3, 0.3, 0.3. Inner cuts 0.16, 0.2, 0.23:
    groups {0.1}, {0.2}, {0.3}; 0.2 is on a cut and stays with its ties, also
    when two of its copies are one ulp off (another engine's arithmetic).
    """
    from ccdata.risk.diagnostics import risk_group_cuts, risk_group_order_statistics

    p = np.array([0.1] * 4 + [0.2] * 3 + [0.3] * 3)
    y = np.array([1, 0, 0, 0, 1, 0, 0, 1, 1, 0])
    assert risk_group_order_statistics(10, 10) == list(range(10))
    s = np.sort(p)
    cuts = risk_group_cuts(lambda k: s[k], 10, 10)
    np.testing.assert_allclose(cuts, [0.16, 0.2, 0.23], rtol=0, atol=1e-11)
    # hand: (o - e)^2 / (e (1 - e/n)) per group
    hl = (1 - 0.4) ** 2 / (0.4 * 0.9) + (1 - 0.6) ** 2 / (0.6 * 0.8)
    hl += (2 - 0.9) ** 2 / (0.9 * 0.7)
    wiggled = p.copy()
    wiggled[4] = np.nextafter(0.2, 1.0)
    wiggled[6] = np.nextafter(0.2, 0.0)
    for risks in (p, wiggled):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            d = assess_predictions(y, risks, groups=10)
        t = d.calibration_table
        assert t["n"].tolist() == [4, 3, 3]
        assert t["observed"].tolist() == [1, 1, 2]
        assert d.hosmer_lemeshow.groups == 3 and d.hosmer_lemeshow.df == 3
        assert d.hosmer_lemeshow.statistic == pytest.approx(hl, rel=1e-12)
        assert d.hosmer_lemeshow.p_value == pytest.approx(stats.chi2.sf(hl, 3))


def test_risk_group_positions_are_exact_integers():
    """(n - 1) * 0.3 is 3398.7000000000007 in floating point: not used."""
    from ccdata.risk.diagnostics import risk_group_cuts, risk_group_order_statistics

    n = 11331  # (n - 1) * j / 10 is whole for every j
    assert risk_group_order_statistics(n, 10) == [1133 * j for j in range(11)]
    s = np.repeat(np.arange(1.0, 12.0) / 100, 1030)[:n]
    s = np.sort(np.concatenate([s, np.full(n - s.size, 0.11)]))
    cuts = risk_group_cuts(lambda k: s[k], n, 10)
    want = np.unique(s[[1133 * j for j in range(11)]])[1:-1] + 1e-12
    np.testing.assert_array_equal(cuts, want)


def test_calibration_intercept_and_slope_match_statsmodels(rng):
    import statsmodels.api as sm

    p = rng.uniform(0.01, 0.3, 4000)
    y = rng.binomial(1, special.expit(0.3 + 0.7 * special.logit(p)))
    d = assess_predictions(y, p)
    lp = special.logit(p)
    slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit()
    citl = sm.GLM(y, np.ones_like(lp), family=sm.families.Binomial(), offset=lp).fit()
    assert d.calibration_slope == pytest.approx(slope.params[1], rel=1e-7)
    assert d.calibration_in_the_large == pytest.approx(citl.params[0], rel=1e-7)
    lo, hi = d.calibration_slope_ci
    assert lo == pytest.approx(slope.conf_int()[1, 0], rel=1e-5)
    assert hi == pytest.approx(slope.conf_int()[1, 1], rel=1e-5)


def test_development_diagnostics(fitted):
    # Maximum likelihood with an intercept: calibrated by construction.
    assert fitted.calibration_in_the_large == pytest.approx(0.0, abs=1e-8)
    assert fitted.calibration_slope == pytest.approx(1.0, abs=1e-6)
    assert fitted.hosmer_lemeshow.df == 8
    assert fitted.diagnostics.expected == pytest.approx(fitted.diagnostics.observed)
    assert fitted.diagnostics.to_frame().shape == (16, 2)


def test_sum_of_predicted_risks_equals_deaths_on_fit_data(simulated, fitted):
    p = fitted.predict(simulated)
    assert p.index.equals(simulated.index) and p.name == "expected"
    assert p.sum() == pytest.approx(simulated.y.sum(), rel=1e-8)


def test_predict_on_new_data_reuses_levels(fitted):
    new = pd.DataFrame({"x": [0.0, 1.0], "b": [0, 1], "g": ["c", "a"]}, index=[7, 3])
    co = fitted.coefficients.set_index("term").estimate
    lp = np.array([co["Intercept"] + co["g[T.c]"], co["Intercept"] + co["x"] + co["b"]])
    out = fitted.predict(new)
    assert list(out.index) == [7, 3]
    np.testing.assert_allclose(out, special.expit(lp), rtol=1e-12)
    with pytest.raises(InputError, match="does not know"):
        fitted.predict(new.assign(g=["z", "a"]))
    with pytest.raises(InputError, match="'b'"):
        fitted.predict(new.drop(columns="b"))


def test_spline_and_categorical_terms(simulated):
    simulated = simulated.iloc[:20_000]
    m = fit_risk_model(simulated, "y", formula="y ~ bs(x, df=4) + C(b) + g")
    assert sum(t.startswith("bs(x") for t in m.coefficients.term) == 4
    # Spline knots are remembered: one new patient gets the same risk as in the fit.
    one = simulated.iloc[[5]]
    assert m.predict(one).iloc[0] == pytest.approx(m.predict(simulated).iloc[5])


def _with_missing(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.loc[out.index[:500], "x"] = np.nan
    out.loc[out.index[300:700], "g"] = None
    return out


def test_complete_case_counts_and_prediction(simulated):
    df = _with_missing(simulated)
    m = fit_risk_model(df, "y", ["x", "b", "g"], missing="complete_case")
    assert m.n_records == 60_000 and m.n_dropped == 700 and m.n_used == 59_300
    md = m.missing_data.set_index("covariate")
    assert md.loc["x", "n_missing"] == 500 and md.loc["x", "action"] == "dropped"
    assert md.loc["g", "n_missing"] == 400 and md.loc["b", "action"] == "none"
    p = m.predict(df)
    assert p.isna().sum() == 700 and p.iloc[700:].notna().all()


def test_indicator_method_imputes_and_adds_indicators(simulated):
    df = _with_missing(simulated)
    m = fit_risk_model(df, "y", ["x", "b", "g"], missing="indicator")
    assert m.n_used == 60_000 and m.n_dropped == 0 and m.n_imputed == 700
    assert {"x_missing", "g_missing"} <= set(m.coefficients.term)
    md = m.missing_data.set_index("covariate")
    assert md.loc["x", "fill_value"] == pytest.approx(df.x.median())
    assert md.loc["g", "fill_value"] == df.g.value_counts().idxmax()
    assert md.loc["x", "action"] == "imputed"
    p = m.predict(df)
    assert p.notna().all()
    # A patient missing x is scored with x = median and x_missing = 1.
    co = m.coefficients.set_index("term").estimate
    row = df.iloc[[0]]
    g_term = {"a": 0.0, "b": co["g[T.b]"], "c": co["g[T.c]"]}[row.g.iloc[0]]
    lp = (
        co["Intercept"]
        + co["x"] * df.x.median()
        + co["x_missing"]
        + co["b"] * row.b.iloc[0]
        + g_term
    )
    assert p.iloc[0] == pytest.approx(special.expit(lp), rel=1e-10)


def test_indicator_model_warns_for_newly_missing_column(fitted, simulated):
    m = fit_risk_model(simulated.iloc[:5000], "y", ["x", "b"], missing="indicator")
    new = simulated.iloc[:3].assign(b=[np.nan, 1, 0])
    with pytest.warns(ImputationWarning, match="'b'"):
        assert m.predict(new).notna().all()


def test_from_coefficients_reproduces_a_fitted_model(simulated, fitted):
    co = fitted.coefficients.set_index("term").estimate
    published = RiskModel.from_coefficients(
        co["Intercept"],
        {"x": co["x"], "b": co["b"], "g[b]": co["g[T.b]"], "g[c]": co["g[T.c]"]},
    )
    np.testing.assert_allclose(
        published.predict(simulated), fitted.predict(simulated), rtol=1e-10
    )
    via_formula = RiskModel.from_coefficients(
        co["Intercept"],
        {k: v for k, v in co.items() if k != "Intercept"},
        formula="x + b + g",
        data=simulated,
        outcome="y",
    )
    assert via_formula.source == "published"
    assert via_formula.c_statistic == pytest.approx(fitted.c_statistic)
    assert via_formula.hosmer_lemeshow.df == 10


def test_from_coefficients_expressions_centring_and_indicators():
    df = pd.DataFrame(
        {"age": [70, 80, 60], "creat": [90.0, np.nan, 180.0], "sex": ["M", "F", "F"]}
    )
    m = RiskModel.from_coefficients(
        -4.0,
        {"age": 0.05, "sex[F]": 0.3, "np.log(creat / 90)": 1.0, "creat_missing": 0.2},
        centre={"age": 70},
        missing="indicator",
        fill_values={"creat": 90.0},
    )
    lp = np.array([-4.0, -4.0 + 0.5 + 0.3 + 0.2, -4.0 - 0.5 + 0.3 + np.log(2.0)])
    np.testing.assert_allclose(m.predict(df), special.expit(lp), rtol=1e-12)
    cc = RiskModel.from_coefficients(-4.0, {"age": 0.05, "np.log(creat / 90)": 1.0})
    assert cc.predict(df).isna().tolist() == [False, True, False]
    with pytest.raises(InputError, match="no diagnostics"):
        _ = cc.c_statistic
    with pytest.raises(InputError, match="design columns do not match"):
        RiskModel.from_coefficients(
            -4.0, {"sex[T.F]": 0.3}, formula="age + sex"
        ).predict(df)


# -- bad input ---------------------------------------------------------------
def test_outcome_must_be_binary(simulated):
    bad = simulated.iloc[:100].assign(y=2)
    with pytest.raises(InputError, match="outcome column 'y'.*0/1"):
        fit_risk_model(bad, "y", ["x"])
    with pytest.raises(InputError, match="missing"):
        fit_risk_model(simulated.iloc[:100].assign(y=np.nan), "y", ["x"])


def test_single_level_covariate_is_named(simulated):
    with pytest.raises(InputError, match="covariate 'b' has a single level"):
        fit_risk_model(simulated.iloc[:500].assign(b=1), "y", ["x", "b"])


def test_perfect_separation_is_an_error(rng):
    df = pd.DataFrame({"x": rng.normal(size=300)})
    df["y"] = (df.x > 0).astype(int)
    with pytest.raises(InputError, match="perfect separation"):
        fit_risk_model(df, "y", ["x"])


def test_quasi_separation_warns(rng):
    df = pd.DataFrame({"x": rng.normal(size=2000), "g": rng.choice(["a", "b"], 2000)})
    df["y"] = rng.binomial(1, 0.2, 2000) * (df.g == "a")
    with pytest.warns(SeparationWarning, match=r"g\[T.b\]"):
        fit_risk_model(df, "y", ["x", "g"])


def test_collinear_terms_and_bad_parameters(simulated):
    df = simulated.iloc[:2000].assign(x2=lambda d: 2 * d.x)
    with pytest.raises(InputError, match="collinear"):
        fit_risk_model(df, "y", ["x", "x2"])
    with pytest.raises(InputError, match="exactly one of"):
        fit_risk_model(df, "y", ["x"], formula="x")
    with pytest.raises(InputError, match="'missing'"):
        fit_risk_model(df, "y", ["x"], missing="mean")
    with pytest.raises(InputError, match="no column"):
        fit_risk_model(df, "y", ["nothere"])


# -- properties ---------------------------------------------------------------
@given(
    st.lists(st.tuples(st.booleans(), st.floats(0.001, 0.999)), min_size=4, max_size=60)
)
def test_c_statistic_properties(pairs):
    y = np.array([a for a, _ in pairs], dtype=float)
    p = np.array([b for _, b in pairs])
    if y.min() == y.max():
        return
    c, lo, hi = c_statistic(y, p)
    assert 0.0 <= lo <= c <= hi <= 1.0
    # Reversing the ranking reflects the statistic; an increasing map leaves it
    # (negation and doubling are exact in floating point, so ties survive).
    assert c_statistic(y, -p)[0] == pytest.approx(1 - c, abs=1e-12)
    assert c_statistic(y, 2 * p)[0] == pytest.approx(c, abs=1e-12)
    assert c == pytest.approx(
        stats.mannwhitneyu(p[y == 1], p[y == 0]).statistic
        / ((y == 1).sum() * (y == 0).sum()),
        abs=1e-12,
    )


def test_statsmodels_warnings_do_not_leak(simulated):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_risk_model(simulated.iloc[:5000], "y", ["x", "g"])


@pytest.mark.parametrize("risk", [0.3, 0.5])
def test_constant_predictions_give_a_non_estimable_slope(risk):
    # An intercept-only model predicts one risk for everyone: the calibration
    # slope is not estimable (NaN), not a LinAlgError (0.5) or a meaningless
    # number with a CI of +/- 8 million (0.3); the other diagnostics stand.
    y = np.array([0, 1] * 50)
    d = assess_predictions(y, np.full(100, risk))
    assert np.isnan(d.calibration_slope)
    assert np.isnan(d.calibration_slope_ci).all()
    assert d.c_statistic == 0.5
    assert d.calibration_in_the_large == pytest.approx(
        special.logit(0.5) - special.logit(risk), abs=1e-8
    )
    assert d.brier_score == pytest.approx(np.mean((y - risk) ** 2))


def test_hosmer_lemeshow_with_too_few_risk_groups_warns_and_gives_nan():
    from ccdata.risk import RiskWarning
    from ccdata.risk.diagnostics import assess_predictions

    # two distinct risks only: at most 2 groups, df = 0 on development data
    p = np.repeat([0.1, 0.3], 100)
    y = (np.arange(200) % 10 < np.where(p < 0.2, 1, 3)).astype(float)
    with pytest.warns(RiskWarning, match="Hosmer-Lemeshow"):
        d = assess_predictions(y, p, development=True)
    assert d.hosmer_lemeshow.df <= 0 and np.isnan(d.hosmer_lemeshow.p_value)
    assert d.c_statistic > 0.5  # other diagnostics still computed


# -- statsmodels fit (issue 11) ------------------------------------------------
def _reference_newton(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An independent Newton-Raphson fit, iterated to machine precision."""
    b = np.zeros(x.shape[1])
    for _ in range(100):
        mu = special.expit(x @ b)
        info = (x * (mu * (1 - mu))[:, None]).T @ x
        step = np.linalg.solve(info, x.T @ (y - mu))
        b = b + step
        if np.max(np.abs(step)) < 1e-14:
            break
    mu = special.expit(x @ b)
    info = (x * (mu * (1 - mu))[:, None]).T @ x
    return b, np.linalg.inv(info)


def _design(df: pd.DataFrame) -> np.ndarray:
    return np.column_stack(
        [np.ones(len(df)), df.x, df.b, df.g == "b", df.g == "c"]
    ).astype(float)


def test_estimates_equal_an_independent_newton_fit_to_1e10(simulated, fitted):
    b, cov = _reference_newton(_design(simulated), simulated.y.to_numpy(float))
    co = fitted.coefficients.set_index("term").loc[list(TRUE)]
    np.testing.assert_allclose(co.estimate, b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(co.std_error, np.sqrt(np.diag(cov)), rtol=1e-10)
    assert fitted.cov_type == "nonrobust"


def test_hc1_and_cluster_standard_errors_match_the_sandwich_by_hand(simulated):
    df = simulated.iloc[:20_000].copy()
    df["site"] = np.repeat([f"S{i:02d}" for i in range(40)], 500)
    x, y = _design(df), df.y.to_numpy(float)
    b, bread = _reference_newton(x, y)
    scores = x * (y - special.expit(x @ b))[:, None]
    n, p = x.shape
    hc1 = bread @ (scores.T @ scores) @ bread * n / (n - p)
    codes = pd.factorize(df.site)[0]
    sums = np.zeros((40, p))
    np.add.at(sums, codes, scores)
    g = 40
    cl = bread @ (sums.T @ sums) @ bread * g / (g - 1) * (n - 1) / (n - p)
    for cov_type, cov in (("HC1", hc1), ("cluster", cl)):
        m = fit_risk_model(df, "y", ["x", "b", "g"], cov_type=cov_type, unit="site")
        co = m.coefficients.set_index("term").loc[list(TRUE)]
        np.testing.assert_allclose(co.estimate, b, rtol=0, atol=1e-10)
        se = np.sqrt(np.diag(cov))
        np.testing.assert_allclose(co.std_error, se, rtol=1e-8)
        np.testing.assert_allclose(
            co.p_value, 2 * stats.norm.sf(np.abs(b / se)), rtol=1e-6
        )
        assert m.cov_type == cov_type
    # the robust errors differ from the model-based ones (else the test is void)
    assert not np.allclose(np.sqrt(np.diag(cl)), np.sqrt(np.diag(bread)), rtol=0.01)


def test_cov_type_is_checked_and_cluster_needs_a_unit(simulated):
    df = simulated.iloc[:2000]
    with pytest.raises(InputError, match="'cov_type'"):
        fit_risk_model(df, "y", ["x"], cov_type="HC9")
    with pytest.raises(InputError, match="needs 'unit'"):
        fit_risk_model(df, "y", ["x"], cov_type="cluster")
    with pytest.raises(InputError, match="nothere"):
        fit_risk_model(df, "y", ["x"], cov_type="cluster", unit="nothere")


def test_summary_is_statsmodels_report(fitted):
    text = fitted.summary().as_text()
    assert "Logit Regression Results" in text
    assert "Dep. Variable:" in text and " y " in text
    for term in TRUE:
        assert term in text
    assert fitted.statsmodels_result.params.shape == (5,)
    # the data arrays were removed: the model does not keep the design alive
    assert fitted.statsmodels_result.model.exog is None
    published = RiskModel.from_coefficients(-3.0, {"x": 0.8})
    assert published.statsmodels_result is None
    with pytest.raises(InputError, match="published"):
        published.summary()


def test_summary_states_the_fitted_numbers(fitted):
    # numbers, not layout: the report's coefficient column is the fit's
    table = fitted.summary().tables[1].data
    coef = {row[0].strip(): float(row[1]) for row in table[1:]}
    expected = fitted.coefficients.set_index("term")["estimate"]
    assert set(coef) == set(expected.index)
    for term, value in coef.items():
        assert value == pytest.approx(expected[term], abs=5e-4)


@pytest.mark.parametrize("quasi", [False, True])
def test_separation_note_is_statsmodels_own(quasi):
    # statsmodels 0.14.0 writes this note inside summary() from the data that
    # remove_data() drops; ccdata keeps the same note at fit time.
    import statsmodels.api as sm

    from ccdata.risk._fit import _separation_note

    rng = np.random.default_rng(3)
    x = rng.normal(size=400)
    if quasi:  # a fifth of the rows perfectly predicted
        x[:80] = 40.0
    y = (rng.random(400) < special.expit(-0.5 + x)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.Logit(y, sm.add_constant(x)).fit(disp=0)
        mu = special.expit(sm.add_constant(x) @ res.params)
        extra = res.summary().extra_txt or ""  # the notes, joined
    note = _separation_note(y, mu)
    assert bool(note) is quasi
    assert "\n".join(note) in extra
    assert ("separation" in extra) is quasi
    if quasi:
        assert "A fraction 0.20 of observations" in note[0]


def test_repr_is_short_and_html_shows_the_coefficients(fitted):
    r = repr(fitted)
    assert r.startswith("RiskModel(fitted, 5 terms") and "c-statistic" in r
    assert len(r) < 200
    html = fitted._repr_html_()
    assert "<table" in html and "g[T.c]" in html


def test_formula_errors_are_input_errors_but_memory_errors_propagate(
    simulated, monkeypatch
):
    import patsy

    import ccdata.risk._fit as fit_mod

    df = simulated.iloc[:500]
    with pytest.raises(InputError, match="cannot build the model"):
        fit_risk_model(df, "y", formula="nosuchfunction(x)")

    def boom(v):
        raise MemoryError("out of memory in a test")

    monkeypatch.setattr(
        fit_mod, "_eval_env", lambda: patsy.EvalEnvironment([{"np": np, "boom": boom}])
    )
    with pytest.raises(MemoryError, match="out of memory in a test"):
        fit_risk_model(df, "y", formula="boom(x)")


def test_statsmodels_is_imported_by_the_fit_not_by_import_ccdata():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pandas as pd, ccdata\n"
        "before = 'statsmodels' in sys.modules\n"
        "rng = np.random.default_rng(0)\n"
        "df = pd.DataFrame({'x': rng.normal(size=500)})\n"
        "df['y'] = rng.binomial(1, 0.3, 500)\n"
        "m = ccdata.fit_risk_model(df, 'y', ['x'])\n"
        "print(before, 'statsmodels' in sys.modules,\n"
        "      type(m.statsmodels_result).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["False", "True", "BinaryResultsWrapper"]


def test_published_term_errors_keep_their_cause(monkeypatch):
    import patsy

    import ccdata.risk._design as design

    df = pd.DataFrame({"age": [70.0, 80.0]})
    bad = RiskModel.from_coefficients(-3.0, {"nosuchfunction(age)": 0.1})
    with pytest.raises(InputError, match="neither a column"):
        bad.predict(df)

    def boom(v):
        raise MemoryError("out of memory in a test")

    monkeypatch.setattr(
        design, "_eval_env", lambda: patsy.EvalEnvironment([{"np": np, "boom": boom}])
    )
    model = RiskModel.from_coefficients(-3.0, {"boom(age)": 0.1})
    with pytest.raises(MemoryError, match="out of memory in a test"):
        model.predict(df)


def test_diagnostics_repr_is_short(fitted):
    r = repr(fitted.diagnostics)
    assert r.startswith("RiskDiagnostics(development data, n=60,000")
    assert "\n" not in r and len(r) < 200
    assert "<table" in fitted.diagnostics._repr_html_()
