"""ccdata.engine on DuckDB: the same answers as the in-memory path.

The in-memory functions are the reference: every engine result is compared
with the in-memory result on the same records (counts exactly, statistics to
1e-9), and the fit also with statsmodels directly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ccdata
from ccdata.errors import EngineError, EngineMemoryError, InputError
from ccdata.sample_data import generate_aaa_procedures

engine = pytest.importorskip("ccdata.engine")
pytest.importorskip("duckdb")

# numeric, text, C(numeric), np.log and a 0/1 flag: every kind of term
COVARIATES = [
    "age",
    "sex",
    "C(asa_grade)",
    "np.log(creatinine_umol_l)",
    "procedure_type",
    "cardiac_disease",
]


def _raw_with_errors() -> pd.DataFrame:
    """The sample AAA submission as text, with one of each kind of problem."""
    df = generate_aaa_procedures()
    raw = df.astype(str).replace({"nan": "", "None": "", "<NA>": "", "NaT": ""})
    raw.loc[3, "age"] = "abc"  # type
    raw.loc[5, "age"] = "150"  # in_range
    raw.loc[6, "age"] = "15"
    raw.loc[7, "sex"] = "X"  # isin
    raw.loc[9, "record_id"] = raw.loc[10, "record_id"]  # unique
    raw.loc[11, "procedure_date"] = "2020-01-01"  # date_order
    raw.loc[12, "site_id"] = " "  # required
    raw.loc[13, "asa_grade"] = "2.5"  # whole number
    raw.loc[14, "procedure_date"] = "2024-02-30"  # not a date
    raw.loc[15, "died_in_hospital"] = "2"
    return raw


@pytest.fixture(scope="module")
def con():
    return engine.connect("duckdb", threads=2)


@pytest.fixture(scope="module")
def raw():
    return _raw_with_errors()


@pytest.fixture(scope="module")
def both(con, raw):
    """(in-memory result, engine result) of validating the same records."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mem = ccdata.validate(raw, "aaa_procedures")
        res = engine.validate(engine.read_source(con, raw), "aaa_procedures")
    return mem, res


@pytest.fixture(scope="module")
def fits(both):
    mem, res = both
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = ccdata.fit_risk_model(mem.valid, "died_in_hospital", COVARIATES)
        b = engine.fit_risk_model(res.valid, "died_in_hospital", COVARIATES)
    return a, b


# --------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------
def _missing_as_none(frame):
    """One spelling of a missing text cell (pandas 2 keeps None or NaN)."""
    cells = frame.astype(object).to_numpy()
    missing = pd.isna(cells) | np.equal(cells, None)
    return pd.DataFrame(
        np.where(missing, "<missing>", cells), columns=frame.columns, index=frame.index
    )


def test_validate_gives_the_in_memory_errors_and_counts(both):
    mem, res = both
    pd.testing.assert_frame_equal(
        _missing_as_none(res.errors), _missing_as_none(mem.errors)
    )
    assert (res.n_valid, res.n_rejected) == (len(mem.valid), len(mem.rejected))
    assert res.n_valid + res.n_rejected == res.n_rows == 12152
    assert set(res.counts["check"]) == {
        "type",
        "required",
        "in_range",
        "isin",
        "unique",
        "date_order",
    }
    age = res.counts.set_index(["column", "check"]).loc[("age", "in_range")]
    assert (age["problems"], age["shown"]) == (2, 2)
    assert not res.truncated and not res.ok
    pd.testing.assert_frame_equal(
        _missing_as_none(res.to_frame()), _missing_as_none(mem.to_frame())
    )


def test_valid_rows_are_the_in_memory_valid_rows(both):
    mem, res = both
    got = res.valid.to_pandas().sort_values("row").reset_index(drop=True)
    want = mem.valid.reset_index(drop=True)
    assert got["row"].tolist() == (mem.valid.index + 2).tolist()
    for col in ["record_id", "site_id", "sex", "procedure_type"]:
        assert got[col].tolist() == want[col].tolist()
    for col in ["age", "asa_grade", "aneurysm_diameter_mm", "died_in_hospital"]:
        np.testing.assert_array_equal(
            got[col].to_numpy(dtype=float, na_value=np.nan),
            want[col].to_numpy(dtype=float, na_value=np.nan),
        )
    assert (pd.to_datetime(got["procedure_date"]) == want["procedure_date"]).all()
    rejected = res.rejected.to_pandas().sort_values("row")
    assert rejected["row"].tolist() == (mem.rejected.index + 2).tolist()
    assert rejected["age"].tolist() == mem.rejected["age"].tolist()  # as submitted


def test_errors_are_capped_but_every_problem_is_counted(con):
    df = pd.DataFrame(
        {
            "site_id": ["S01"] * 6,
            "period": list("abcdef"),
            "observed": ["-1", "-2", "3", "-4", "-5", "x"],
            "expected": ["1"] * 6,
        }
    )
    res = engine.validate(
        engine.read_source(con, df), "observed_expected", max_errors=2
    )
    counts = res.counts.set_index("check")
    assert counts.loc["greater_than_or_equal_to", "problems"] == 4
    assert counts.loc["greater_than_or_equal_to", "shown"] == 2
    assert res.truncated
    # the first problems in row order; the type problem is its own check
    assert res.errors["row"].tolist() == [2, 3, 7]
    assert res.errors["message"].tolist() == [
        "observed -1 is negative",
        "observed -2 is negative",
        "observed 'x' is not a whole number",
    ]
    assert res.n_rejected == 5 and res.n_valid == 1


def test_duplicate_keys_list_their_rows_as_in_memory(con):
    df = pd.DataFrame(
        {
            "site_id": ["A", "A", "B", "A", "A"],
            "period": ["1", "1", "1", "1", "2"],
            "observed": ["1"] * 5,
            "expected": ["1"] * 5,
        }
    )
    mem = ccdata.validate(df, "observed_expected")
    res = engine.validate(engine.read_source(con, df), "observed_expected")
    pd.testing.assert_frame_equal(res.errors, mem.errors)
    assert res.errors["message"].iloc[0] == (
        "the key site_id A, period 1 appears 3 times (rows 2, 3, 5)"
    )


def test_parquet_dataset_rows_follow_the_files(con, tmp_path):
    frame = pd.DataFrame(
        {
            "site_id": ["S01"] * 5,
            "period": list("abcde"),
            "observed": [1, 2, -3, 4, -5],
            "expected": [1.0] * 5,
        }
    )
    folder = tmp_path / "oe"
    folder.mkdir()
    frame.iloc[:3].to_parquet(folder / "part-0.parquet")
    frame.iloc[3:].to_parquet(folder / "part-1.parquet")
    table = engine.read_source(con, folder)
    assert sorted(table.to_pandas()["row"]) == [2, 3, 4, 5, 6]
    res = engine.validate(table, "observed_expected")
    assert res.errors["row"].tolist() == [4, 6]
    assert res.errors["message"].tolist() == [
        "observed -3 is negative",
        "observed -5 is negative",
    ]


def test_csv_rows_and_messages_match_read_submission(con, tmp_path):
    path = tmp_path / "observed_expected.csv"
    path.write_text(
        "site_id,period,observed,expected\nS01,2024,3,2.5\n"
        "S02,2024,-1,4\nS03,2024,2,zero\n S04 ,2024,1,1\n"
    )
    mem = ccdata.read_submission(path)
    res = engine.validate(engine.read_source(con, path), "observed_expected")
    pd.testing.assert_frame_equal(res.errors, mem.errors)
    assert res.errors["row"].tolist() == [3, 4]
    valid = res.valid.to_pandas()
    assert sorted(valid["site_id"]) == ["S01", "S04"]  # stripped, as in memory


def test_custom_checks_are_refused_not_skipped(con):
    schema = pa.DataFrameSchema(
        {"x": pa.Column("int64", pa.Check(lambda s: s > 0, name="positive"))},
        name="custom",
    )
    table = engine.read_source(con, pd.DataFrame({"x": ["1", "-1"]}))
    with pytest.raises(InputError, match="custom function"):
        engine.validate(table, schema)


def test_missing_required_column_is_named(con):
    table = engine.read_source(con, pd.DataFrame({"site_id": ["A"]}))
    with pytest.raises(InputError, match="'observed', 'expected'"):
        engine.validate(table, "observed_expected")


# --------------------------------------------------------------------------
# aggregation
# --------------------------------------------------------------------------
@pytest.mark.parametrize("freq", ["M", "Q", "Y"])
def test_add_period_labels_as_in_memory(con, freq):
    df = pd.DataFrame({"d": ["2024-04-03", "2023-12-31", None, "bad"]})
    got = engine.add_period(engine.read_source(con, df), "d", freq=freq).to_pandas()
    want = ccdata.add_period(df, "d", freq=freq)
    assert got["month"].tolist()[:2] == want["month"].tolist()[:2]
    assert got["month"].isna().tolist()[2:] == [True, True]


def test_completeness_tables_equal_in_memory(both):
    mem, res = both
    mv = ccdata.add_period(mem.valid, "procedure_date")
    ev = engine.add_period(res.valid, "procedure_date")
    groups = dict(unit="site_id", period="month")
    fields = engine.field_completeness(ev, **groups, schema="aaa_procedures")
    assert list(fields.columns[:3]) == ["unit", "period", "field"]
    pd.testing.assert_frame_equal(
        fields,
        ccdata.field_completeness(mv, **groups, schema="aaa_procedures"),
        check_dtype=False,
    )
    dates = dict(event_date="procedure_date", entry_date="record_entered_date")
    pd.testing.assert_frame_equal(
        engine.timeliness(ev, **dates, **groups),
        ccdata.timeliness(mv, **dates, **groups),
        check_dtype=False,
    )
    pd.testing.assert_frame_equal(
        engine.submission_volume(ev, date="procedure_date", unit="site_id"),
        ccdata.submission_volume(mv, date="procedure_date", unit="site_id"),
        check_dtype=False,
    )
    pd.testing.assert_frame_equal(
        engine.submission_volume(ev, date="procedure_date"),
        ccdata.submission_volume(mv, date="procedure_date"),
        check_dtype=False,
    )
    expected = ccdata.submission_volume(mv, date="procedure_date", unit="site_id")
    expected = expected.rename(
        columns={"unit": "site_id", "period": "month", "cases": "expected"}
    )
    expected["expected"] += 1
    pd.testing.assert_frame_equal(
        engine.case_ascertainment(ev, expected, **groups),
        ccdata.case_ascertainment(mv, expected, **groups),
        check_dtype=False,
    )


def test_deprecated_by_still_works_with_a_future_warning(both):
    mem, res = both
    mv = ccdata.add_period(mem.valid, "procedure_date")
    ev = engine.add_period(res.valid, "procedure_date")
    by = ["site_id", "month"]
    dates = dict(event_date="procedure_date", entry_date="record_entered_date")
    expected = ccdata.submission_volume(mv, date="procedure_date", unit="site_id")
    expected = expected.rename(
        columns={"unit": "site_id", "period": "month", "cases": "expected"}
    )
    calls = [
        (
            lambda: engine.field_completeness(ev, by=by, schema="aaa_procedures"),
            lambda: ccdata.field_completeness(mv, by=by, schema="aaa_procedures"),
        ),
        (
            lambda: engine.timeliness(ev, **dates, by=by),
            lambda: ccdata.timeliness(mv, **dates, by=by),
        ),
        (
            lambda: engine.submission_volume(ev, date="procedure_date", by="site_id"),
            lambda: ccdata.submission_volume(mv, date="procedure_date", by="site_id"),
        ),
        (
            lambda: engine.case_ascertainment(ev, expected, by=by),
            lambda: ccdata.case_ascertainment(mv, expected, by=by),
        ),
    ]
    for got, want in calls:
        with pytest.warns(FutureWarning, match="'by' parameter") as caught:
            out = got()
        # one warning, pointing at the caller (stacklevel=2 of the public call)
        assert len([w for w in caught if w.category is FutureWarning]) == 1
        assert caught[0].filename == __file__
        assert "unit" not in out.columns and "site_id" in out.columns
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            pd.testing.assert_frame_equal(out, want(), check_dtype=False)
    with pytest.raises(InputError, match="not the deprecated 'by'"):
        engine.timeliness(ev, **dates, by="site_id", period="month")


def test_field_completeness_counts_blank_text_as_missing(con):
    df = pd.DataFrame({"g": ["a", "a", "a"], "x": ["1", "  ", None]})
    t = engine.read_source(con, df)
    out = engine.field_completeness(t, unit="g", fields=["x"])
    assert out["present"].tolist() == [1, 1]
    assert out["expected"].tolist() == [3, 3]


# --------------------------------------------------------------------------
# risk adjustment
# --------------------------------------------------------------------------
def test_fit_equals_in_memory_fit(fits):
    a, b = fits
    assert b.coefficients["term"].tolist() == a.coefficients["term"].tolist()
    for col in ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]:
        np.testing.assert_allclose(
            b.coefficients[col], a.coefficients[col], rtol=1e-9, atol=1e-12
        )
    assert (b.n_records, b.n_used, b.n_dropped, b.n_events) == (
        a.n_records,
        a.n_used,
        a.n_dropped,
        a.n_events,
    )
    pd.testing.assert_frame_equal(b.missing_data, a.missing_data, check_dtype=False)
    np.testing.assert_allclose(
        b.diagnostics.to_frame()["value"],
        a.diagnostics.to_frame()["value"],
        rtol=1e-9,
        atol=1e-9,  # calibration-in-the-large is 0 to rounding
    )
    pd.testing.assert_frame_equal(
        b.diagnostics.calibration_table,
        a.diagnostics.calibration_table,
        check_dtype=False,
        rtol=1e-9,
    )
    assert b.source == "fitted" and b.formula == a.formula


def test_warm_started_fit_reaches_the_same_estimates(both, fits, monkeypatch):
    """Large fits start from a fit on an every-k-th-row sample held in the engine."""
    from ccdata.engine import _risk

    mem, res = both
    a, _ = fits
    monkeypatch.setattr(_risk, "SAMPLE_ROWS", 1500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b = engine.fit_risk_model(res.valid, "died_in_hospital", COVARIATES)
    for col in ["estimate", "std_error"]:
        np.testing.assert_allclose(
            b.coefficients[col], a.coefficients[col], rtol=1e-8, atol=1e-10
        )


def test_cell_layout_gives_the_row_by_row_sums(both, fits, monkeypatch):
    """Newton sums grouped by covariate cell equal the row-by-row sums."""
    from ccdata.engine import _risk

    mem, res = both
    a, b = fits
    # no cells: every design column summed row by row (one group)
    monkeypatch.setattr(_risk, "CELL_LIMIT", 1)
    monkeypatch.setattr(_risk, "PATTERN_LIMIT", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        c = engine.fit_risk_model(res.valid, "died_in_hospital", COVARIATES)
    for col in ["estimate", "std_error"]:
        np.testing.assert_allclose(
            c.coefficients[col], a.coefficients[col], rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(
            c.coefficients[col], b.coefficients[col], rtol=1e-10, atol=1e-13
        )


def test_layout_puts_discrete_terms_in_cells(con):
    from ccdata.engine import _risk

    df = pd.DataFrame(
        {"sex": ["F", "M"], "asa": [1, 2], "flag": [0, 1], "age": [70.0, 71.0]}
    )
    t = engine.read_source(con, df)
    names = ["Intercept", "sex[T.M]", "C(asa)[T.2]", "flag", "age", "age:sex[T.M]"]
    counts = {"sex": 2, "asa": 4, "flag": 2, "age": 100}
    got = _risk._layout(names, t, counts, {"sex": ["F", "M"], "asa": [1, 2]}, "x")
    assert got.d == (0, 1, 2, 3) and got.z == (4, 5) and got.cells == 16
    counts["age"] = 30  # few values: age joins the cells, no per-row column
    got = _risk._layout(names, t, counts, {"sex": ["F", "M"], "asa": [1, 2]}, "x")
    assert got.z == () and got.cells == 480


def test_discrete_model_fits_from_pattern_counts_once(both, monkeypatch):
    """All-discrete covariates: one aggregation to (pattern, n, sum y)."""
    from ccdata.engine import _risk

    mem, res = both
    terms = ["sex", "C(asa_grade)", "procedure_type", "cardiac_disease"]
    calls = []
    real = _risk._engine_moments
    monkeypatch.setattr(
        _risk,
        "_engine_moments",
        lambda *a, **k: calls.append(1) or real(*a, **k),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = ccdata.fit_risk_model(mem.valid, "died_in_hospital", terms)
        got = engine.fit_risk_model(res.valid, "died_in_hospital", terms)
    assert calls == []  # no per-iteration engine pass
    assert got.coefficients["term"].tolist() == want.coefficients["term"].tolist()
    # both stop at a relative deviance change below 1e-10: estimates agree
    # to 1e-9 (absolute, i.e. relative to max(1, |b|), as the benchmark)
    for col in ["estimate", "std_error", "p_value"]:
        np.testing.assert_allclose(
            got.coefficients[col], want.coefficients[col], rtol=1e-9, atol=1e-9
        )
    np.testing.assert_allclose(
        got.diagnostics.to_frame()["value"],
        want.diagnostics.to_frame()["value"],
        rtol=1e-9,
        atol=1e-9,  # calibration-in-the-large is 0 to the convergence tolerance
    )


def test_heavily_tied_risks_give_the_same_groups_as_in_memory(con):
    """Few covariate patterns: many patients share a risk, cuts fall on ties.

    The Hosmer-Lemeshow groups (and so the calibration table) must be the
    same patients in the engine and in memory, although the two fits differ
    in the last digits (under the lowest versions the tied block at a cut
    used to move to the next group: 5.28 against 5.68).
    """
    rng = np.random.default_rng(16)
    n = 6000
    a = rng.integers(0, 3, n)
    b = rng.integers(0, 2, n)
    y = rng.binomial(1, 0.02 + 0.03 * a + 0.02 * b)
    df = pd.DataFrame({"a": a.astype(str), "b": b, "y": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = ccdata.fit_risk_model(df, "y", ["a", "b"])
        got = engine.fit_risk_model(engine.read_source(con, df), "y", ["a", "b"])
    wt, gt = want.calibration_table, got.calibration_table
    assert gt["n"].tolist() == wt["n"].tolist()
    assert gt["observed"].tolist() == wt["observed"].tolist()
    assert len(wt) < 10  # six distinct risks: ties merged groups
    hw, hg = want.diagnostics.hosmer_lemeshow, got.diagnostics.hosmer_lemeshow
    assert (hg.groups, hg.df) == (hw.groups, hw.df)
    assert hg.statistic == pytest.approx(hw.statistic, rel=1e-9)
    assert hg.p_value == pytest.approx(hw.p_value, rel=1e-9)


def test_text_is_stripped_as_in_memory(con):
    df = pd.DataFrame(
        {
            "site_id": [" S01", "S02\t", "S 03 ", "\n"],
            "period": ["2024", "2024 ", "2024", "2024"],
            "observed": ["3", " 4", "5\r", "1"],
            "expected": ["2.5", "4", "4", "1"],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mem = ccdata.validate(df, "observed_expected")
        res = engine.validate(engine.read_source(con, df), "observed_expected")
    got = res.valid.to_pandas().sort_values("row")
    assert got["site_id"].tolist() == mem.valid["site_id"].tolist()
    assert got["site_id"].tolist() == ["S01", "S02", "S 03"]
    assert got["period"].tolist() == ["2024"] * 3
    assert res.n_rejected == 1 and len(mem.errors) == len(res.errors) == 1
    assert res.errors["message"].tolist() == mem.errors["message"].tolist()


@pytest.mark.slow
def test_fit_equals_statsmodels():
    import statsmodels.api as sm

    rng = np.random.default_rng(7)
    n = 3000
    df = pd.DataFrame(
        {"age": rng.normal(70, 8, n).round(), "group": rng.choice(["a", "b", "c"], n)}
    )
    lp = -3 + 0.05 * (df.age - 70) + 0.7 * (df.group == "c")
    df["died"] = rng.binomial(1, 1 / (1 + np.exp(-lp)))
    model = engine.fit_risk_model(
        engine.read_source(engine.connect(), df), "died", ["age", "group"]
    )
    x = sm.add_constant(
        pd.get_dummies(df[["age", "group"]], drop_first=True, dtype=float)
    )
    ref = sm.GLM(df["died"], x, family=sm.families.Binomial()).fit(tol=1e-12)
    np.testing.assert_allclose(
        model.coefficients["estimate"],
        ref.params[["const", "group_b", "group_c", "age"]],
        rtol=1e-8,
    )
    np.testing.assert_allclose(
        model.coefficients["std_error"],
        ref.bse[["const", "group_b", "group_c", "age"]],
        rtol=1e-6,
    )


def test_predict_and_observed_expected_equal_in_memory(both, fits):
    mem, res = both
    a, b = fits
    p_mem = a.predict(mem.valid)
    # the engine model predicts pandas data as the in-memory one does
    np.testing.assert_allclose(b.predict(mem.valid), p_mem, rtol=1e-9)
    scored = engine.predict(res.valid, b)
    got = scored.select("row", "expected").to_pandas().sort_values("row")
    np.testing.assert_allclose(
        got["expected"].to_numpy(dtype=float, na_value=np.nan),
        p_mem.to_numpy(),
        rtol=1e-9,
    )
    kept = mem.valid.assign(expected=p_mem).dropna(subset=["expected"])
    oe_mem = ccdata.observed_expected(
        kept, outcome="died_in_hospital", expected="expected"
    )
    scored = scored.filter(scored.expected.notnull())
    oe = engine.observed_expected(
        scored, outcome="died_in_hospital", expected="expected"
    )
    assert type(oe) is type(oe_mem)  # the same result type as the in-memory path
    pd.testing.assert_frame_equal(
        oe.to_frame(), oe_mem.to_frame(), check_dtype=False, rtol=1e-9
    )
    assert oe.pooled.to_dict() == pytest.approx(oe_mem.pooled.to_dict(), rel=1e-9)
    assert oe.level == oe_mem.level
    monthly = engine.observed_expected(
        engine.add_period(scored, "procedure_date"),
        outcome="died_in_hospital",
        expected="expected",
        period="month",
    ).to_frame()
    assert (
        monthly.groupby("unit")["observed"].sum().tolist()
        == oe.to_frame()["observed"].tolist()
    )
    kept = ccdata.add_period(kept, "procedure_date")
    one = kept[(kept.site_id == "S03") & (kept.month == "2024-01")]
    row = monthly[(monthly.unit == "S03") & (monthly.month == "2024-01")]
    assert int(row["n"].iloc[0]) == len(one)
    assert float(row["expected"].iloc[0]) == pytest.approx(
        one.expected.sum(), rel=1e-12
    )


def test_cusum_inputs_give_the_in_memory_cusum(both, fits):
    mem, res = both
    a, b = fits
    kept = mem.valid.assign(expected=a.predict(mem.valid), row=mem.valid.index + 2)
    kept = kept.dropna(subset=["expected"])
    kept = kept[kept.site_id.isin(["S01", "S02"])]
    scored = engine.predict(res.valid, b)
    inputs = engine.cusum_inputs(
        scored.filter(scored.expected.notnull()),
        outcome="died_in_hospital",
        expected="expected",
        order_by="procedure_date",
        units=["S01", "S02"],
    )
    assert len(inputs) == len(kept)
    got = ccdata.risk_adjusted_cusum(
        inputs,
        outcome="died_in_hospital",
        expected="expected",
        order_by="procedure_date",
        unit="site_id",
    )
    want = ccdata.risk_adjusted_cusum(
        kept,
        outcome="died_in_hospital",
        expected="expected",
        order_by="procedure_date",
        unit="site_id",
    )
    np.testing.assert_allclose(
        got.select_dtypes("number").to_numpy(dtype=float),
        want.select_dtypes("number").to_numpy(dtype=float),
        rtol=1e-9,
    )


def test_fit_refuses_what_it_cannot_fit(con):
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "died": [0, 0, 0, 0]})
    t = engine.read_source(con, df)
    with pytest.raises(InputError, match="0 event"):
        engine.fit_risk_model(t, "died", ["x"])
    with pytest.raises(InputError, match="cannot run on an engine"):
        engine.fit_risk_model(t, "died", ["bs(x, df=3)"])
    with pytest.raises(InputError, match="indicator"):
        engine.fit_risk_model(t, "died", ["x"], missing="indicator")


def test_collinear_design_is_an_input_error(con):
    df = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6], "died": [0, 1, 0, 1, 1, 0]})
    df["y"] = 2 * df["x"]
    with pytest.raises(InputError, match="collinear"):
        engine.fit_risk_model(engine.read_source(con, df), "died", ["x", "y"])


# --------------------------------------------------------------------------
# errors keep their cause
# --------------------------------------------------------------------------
def test_engine_memory_failure_is_reported_as_memory_with_step_and_size():
    import duckdb

    from ccdata.engine._source import guard

    def boom():
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate")

    with pytest.raises(
        EngineMemoryError, match=r"fit \(Newton step\) on 50,000,000"
    ) as info:
        guard("fit (Newton step)", boom, size=50_000_000)
    assert isinstance(info.value, MemoryError)
    assert isinstance(info.value.__cause__, duckdb.OutOfMemoryException)


def test_engine_failure_is_an_engine_error_and_bugs_propagate():
    import duckdb

    from ccdata.engine._source import guard

    def broken():
        raise duckdb.IOException("IO Error: No files found that match the pattern")

    with pytest.raises(EngineError, match="read_source: the engine failed") as info:
        guard("read_source", broken)
    assert not isinstance(info.value, InputError)

    def bug():
        raise KeyError("not an engine problem")

    with pytest.raises(KeyError):
        guard("validate", bug)


def test_unknown_engine_is_an_input_error():
    with pytest.raises(InputError, match="'duckdb', 'spark'"):
        engine.connect("postgres")


def test_observed_expected_refuses_unusable_risks(con):
    df = pd.DataFrame({"site_id": ["A", "B"], "died": [1, 0], "risk": [0.2, None]})
    with pytest.raises(InputError, match="'risk' has 1 missing value"):
        engine.observed_expected(
            engine.read_source(con, df), outcome="died", expected="risk"
        )
    df["risk"] = [0.2, 1.0]
    with pytest.raises(InputError, match="1 value\\(s\\) outside \\(0, 1\\)"):
        engine.observed_expected(
            engine.read_source(con, df), outcome="died", expected="risk"
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 40)),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.95, 1.0]),
)
def test_histogram_centiles_equal_numpy_quantile(pairs, q):
    """Centiles from value counts are exactly np.quantile of the values."""
    from ccdata.engine._aggregate import _histogram_quantiles

    df = pd.DataFrame(pairs, columns=["g", "_lag"])
    hist = df.groupby(["g", "_lag"]).size().rename("_c").reset_index()
    got = _histogram_quantiles(hist, ["g"], [q]).set_index("g")["_q0"]
    for g, values in df.groupby("g")["_lag"]:
        assert got[g] == np.quantile(values.to_numpy(dtype=float), q)
