"""The same small pipeline on DuckDB and on a local Spark (``local[2]``).

One Spark session is shared by the whole test session (starting one takes
tens of seconds). Without a Java runtime these tests are skipped, saying so.
"""

from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from ccdata.sample_data import generate_aaa_procedures

engine = pytest.importorskip("ccdata.engine")
pytest.importorskip(
    "pyspark", reason="pyspark is not installed (pip install 'ccdata[spark]')"
)

COVARIATES = ["age", "sex", "procedure_type", "C(asa_grade)", "cardiac_disease"]


@pytest.fixture(scope="session")
def spark():
    import os

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip(
            "Spark tests need a Java runtime (java on PATH or JAVA_HOME); "
            "none found. .ci/run installs one."
        )
    session = engine.local_spark()
    yield session
    session.stop()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The sample AAA records as a two-file Parquet dataset, with errors."""
    df = generate_aaa_procedures()
    df.loc[5, "age"] = 150
    df.loc[7, "sex"] = "X"
    df.loc[9, "record_id"] = df.loc[10, "record_id"]
    df.loc[11, "procedure_date"] = pd.Timestamp("2020-01-01")
    folder = tmp_path_factory.mktemp("aaa")
    # microsecond timestamps: Spark cannot read pandas' nanosecond ones
    df.iloc[:6000].to_parquet(folder / "part-0.parquet", coerce_timestamps="us")
    df.iloc[6000:].to_parquet(folder / "part-1.parquet", coerce_timestamps="us")
    return folder


def _pipeline(con, folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = engine.validate(engine.read_source(con, folder), "aaa_procedures")
        valid = engine.add_period(res.valid, "procedure_date")
        fields = engine.field_completeness(
            valid, unit="site_id", schema="aaa_procedures"
        )
        timely = engine.timeliness(
            valid,
            event_date="procedure_date",
            entry_date="record_entered_date",
            unit="site_id",
        )
        model = engine.fit_risk_model(valid, "died_in_hospital", COVARIATES)
        scored = engine.predict(valid, model)
        scored = scored.filter(scored.expected.notnull())
        oe = engine.observed_expected(
            scored, outcome="died_in_hospital", expected="expected", period="month"
        )
    return res, fields, timely, model, oe


def test_duckdb_and_spark_give_the_same_results(spark, dataset):
    a = _pipeline(engine.connect("duckdb"), dataset)
    b = _pipeline(engine.connect("spark", session=spark), dataset)
    (ra, fa, ta, ma, oa), (rb, fb, tb, mb, ob) = a, b
    oa, ob = oa.to_frame(), ob.to_frame()
    assert (ra.n_rows, ra.n_valid, ra.n_rejected) == (
        rb.n_rows,
        rb.n_valid,
        rb.n_rejected,
    )
    assert ra.n_rows == 12152 and ra.n_rejected == 5
    pd.testing.assert_frame_equal(ra.errors, rb.errors)  # rows from file order
    pd.testing.assert_frame_equal(ra.counts, rb.counts)
    pd.testing.assert_frame_equal(fa, fb, check_dtype=False)
    pd.testing.assert_frame_equal(ta, tb, check_dtype=False)
    assert ma.coefficients["term"].tolist() == mb.coefficients["term"].tolist()
    for col in ("estimate", "std_error"):
        np.testing.assert_allclose(
            ma.coefficients[col], mb.coefficients[col], rtol=1e-8, atol=1e-10
        )
    np.testing.assert_allclose(
        ma.diagnostics.to_frame()["value"],
        mb.diagnostics.to_frame()["value"],
        rtol=1e-8,
        atol=1e-9,  # calibration-in-the-large is 0 to rounding
    )
    assert oa["n"].tolist() == ob["n"].tolist()
    assert oa["observed"].tolist() == ob["observed"].tolist()
    np.testing.assert_allclose(oa["expected"], ob["expected"], rtol=1e-8)
