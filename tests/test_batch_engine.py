"""The batch job with an engine source (``engine = "duckdb" | "spark"``).

The same AAA community (risk-adjusted mortality with its CUSUM, crude
mortality with an SPC chart, data quality with case ascertainment, site
packs) is run with its records as a CSV file read by pandas and as a Parquet
file (or a DuckDB table, or the CSV itself) read and validated by DuckDB: the
published files are compared byte for byte. Config-check tests cover every
bad engine setting.
"""

from __future__ import annotations

import filecmp
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

from ccdata.report import run_pipeline
from ccdata.report.config import check_config, load_config
from ccdata.sample_data import write_sample_data

pytest.importorskip("ibis")

SITES = ["S01", "S02", "S04", "S05", "S06"]

CONFIG = """
[run]
title = "AAA"
figures = false
site_packs = {packs}
pack_png = false
workers = 1

[sites]
path = "sites.csv"

[funnel]
overdispersion = "additive"

[sources.aaa]
{source}
schema = "aaa_procedures"
community = "aaa"

[sources.aaa_expected]
path = "aaa_expected_cases.csv"
schema = "aaa_expected_cases"
community = "aaa"

[completeness.aaa]
event_date = "procedure_date"
entered_date = "record_entered_date"
expected_source = "aaa_expected"

[indicators.aaa_mortality_ra]
source = "aaa"
kind = "ratio"
numerator = "died_in_hospital"
period = "procedure_date"
direction = "decrease"
cusum = true

[indicators.aaa_mortality_ra.risk_model]
covariates = ["age", "sex", "C(asa_grade)", "creatinine_umol_l",
              "procedure_type", "cardiac_disease"]
missing = "complete_case"   # (five sites: a missing-value indicator is constant)

[indicators.aaa_mortality]
source = "aaa"
numerator = "died_in_hospital"
period = "procedure_date"
target = 0.035
spc = "p"
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    """Five AAA sites of the sample data: CSV, typed Parquet, text Parquet."""
    base = tmp_path_factory.mktemp("engine_batch")
    full = base / "full"
    write_sample_data(full)
    sites = pd.read_csv(full / "sites.csv", dtype=str)
    sites[sites["site_id"].isin(SITES)].to_csv(base / "sites.csv", index=False)
    exp = pd.read_csv(full / "aaa_expected_cases.csv", dtype=str)
    exp[exp["site_id"].isin(SITES)].to_csv(base / "aaa_expected_cases.csv", index=False)
    raw = pd.read_csv(full / "aaa_procedures.csv", dtype=str, keep_default_na=False)
    raw = raw[raw["site_id"].isin(SITES)].reset_index(drop=True)
    raw.to_csv(base / "aaa.csv", index=False)
    typed = pd.read_csv(base / "aaa.csv")
    for col in typed.columns:
        if col.endswith("_date"):
            typed[col] = pd.to_datetime(typed[col]).astype("datetime64[us]")
    typed.to_parquet(base / "aaa.parquet", index=False)
    # the same records with problems, as text (CSV and Parquet)
    bad = raw.copy()
    bad.loc[3, "age"] = "abc"
    bad.loc[10, "site_id"] = "ZZ9"
    bad.loc[20, "procedure_date"] = "2024-13-45"
    bad.loc[30, "died_in_hospital"] = "2"
    bad.loc[40, "sex"] = ""
    bad.loc[50, "record_id"] = bad.loc[51, "record_id"]
    bad.to_csv(base / "aaa_bad.csv", index=False)
    bad.to_parquet(base / "aaa_bad.parquet", index=False)
    return base


def _config(base: Path, name: str, source: str, *, packs: bool = False) -> Path:
    path = base / f"{name}.toml"
    path.write_text(
        CONFIG.format(source=source, packs="true" if packs else "false"),
        encoding="utf-8",
    )
    return path


def _run(config: Path, out: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = run_pipeline(config, out, progress=False)
    assert outcome.exit_code in (0, 1), outcome.message
    return outcome


def _published(out: Path) -> list[str]:
    """Every file of an output but the run-specific manifest and the workbook."""
    skip = {"manifest.json", "indicators.xlsx"}  # xlsx: zip entry times
    return sorted(
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and p.name not in skip
    )


def _same_files(a: Path, b: Path, *, suffix: str | None = None) -> list[str]:
    names = _published(a)
    assert names == _published(b)
    if suffix is not None:
        names = [n for n in names if n.endswith(suffix)]
    differ = [n for n in names if not filecmp.cmp(a / n, b / n, shallow=False)]
    assert differ == [], differ
    return names


@pytest.fixture(scope="module")
def pandas_run(data):
    out = data / "out_pandas"
    _run(_config(data, "pandas", 'path = "aaa.csv"', packs=True), out)
    return out


def test_duckdb_parquet_source_gives_the_same_files_as_pandas_csv(data, pandas_run):
    """The component test: every published file, packs included, byte for byte."""
    out = data / "out_duckdb"
    outcome = _run(
        _config(data, "duck", 'path = "aaa.parquet"\nengine = "duckdb"', packs=True),
        out,
    )
    names = _same_files(pandas_run, out)
    assert "indicators/aaa_mortality_ra_observed_expected.csv" in names
    assert "indicators/aaa_mortality_ra_cusum.csv" in names
    assert "indicators/data_quality_aaa_timeliness.csv" in names
    assert any(n.startswith("sites/S04/") and n.endswith(".csv") for n in names)
    assert outcome.manifest is not None
    src = outcome.manifest["sources"]["aaa"]
    assert src["rows"] == len(pd.read_csv(data / "aaa.csv"))
    assert any("engine 'duckdb'" in note for note in src["notes"])
    inputs = [i["path"] for i in outcome.manifest["inputs"]]
    assert (data / "aaa.parquet").as_posix() in inputs


def test_errors_found_in_duckdb_name_site_row_column_value(data):
    """Validation problems: the same error files from DuckDB as from pandas."""
    base = data / "errors"
    _run(_config(data, "bad_pandas", 'path = "aaa_bad.csv"'), base / "pandas")
    _run(
        _config(data, "bad_duck", 'path = "aaa_bad.csv"\nengine = "duckdb"'),
        base / "duck",
    )
    names = _same_files(base / "pandas", base / "duck", suffix=".csv")
    assert "validation/all_errors.csv" in names
    errors = pd.read_csv(base / "duck" / "validation" / "all_errors.csv", dtype=str)
    got = {
        (r.site_id, r.row, r.column, r.value, r.check)
        for r in errors.fillna("").itertuples()
    }
    # each problem names its site, spreadsheet row, column and value
    assert ("S01", "5", "age", "abc", "type") in got  # record 4: row 5
    assert ("S01", "22", "procedure_date", "2024-13-45", "type") in got
    assert ("S01", "32", "died_in_hospital", "2", "isin") in got
    assert ("S01", "42", "sex", "", "required") in got
    assert ("ZZ9", "12", "site_id", "ZZ9", "registered_site") in got
    # a text Parquet file: the same problems (the file column names the file)
    _run(
        _config(data, "bad_pq", 'path = "aaa_bad.parquet"\nengine = "duckdb"'),
        base / "pq",
    )
    a = pd.read_csv(base / "pandas" / "validation" / "all_errors.csv", dtype=str)
    b = pd.read_csv(base / "pq" / "validation" / "all_errors.csv", dtype=str)
    assert set(b["file"]) == {"aaa_bad.parquet"}
    pd.testing.assert_frame_equal(a.drop(columns="file"), b.drop(columns="file"))
    _same_files(base / "pandas", base / "pq", suffix="_funnel.csv")


def test_duckdb_database_table_source(data):
    """A table of a DuckDB database file, opened read-only."""
    import duckdb

    db = data / "registry.duckdb"
    frame = pd.read_parquet(data / "aaa.parquet")
    frame["row"] = range(2, len(frame) + 2)
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS audit")
        con.register("frame", frame)
        con.execute("CREATE OR REPLACE TABLE audit.aaa AS SELECT * FROM frame")
    source = (
        'table = "audit.aaa"\nengine = "duckdb"\n\n'
        '[sources.aaa.connection]\ndatabase = "registry.duckdb"\nthreads = 1'
    )
    # the connection table must come after the source's own keys
    cfg = _config(data, "table", "")
    text = cfg.read_text(encoding="utf-8").replace(
        'community = "aaa"\n\n[sources.aaa_expected]',
        'community = "aaa"\n' + source + "\n\n[sources.aaa_expected]",
        1,
    )
    cfg.write_text(text, encoding="utf-8")
    assert check_config(cfg) == []
    out = data / "out_table"
    _run(cfg, out)
    ref = data / "out_ref_nopacks"
    if not ref.exists():
        _run(_config(data, "ref", 'path = "aaa.csv"'), ref)
    _same_files(ref, out, suffix=".csv")
    assert db.stat().st_size > 0  # untouched by a read-only connection


def test_spark_local_source_gives_the_same_indicators(data):
    """One small source on a local Spark (the session that is active)."""
    import os

    pytest.importorskip("pyspark", reason="pyspark is not installed")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip(
            "Spark needs a Java runtime (java on PATH or JAVA_HOME); none "
            "found. .ci/run installs one."
        )
    from pyspark.sql import SparkSession

    from ccdata import engine

    before = SparkSession.getActiveSession()
    session = engine.local_spark()  # local[2]; shared with test_engine_spark
    source = 'path = "aaa.parquet"\nengine = "spark"'
    cfg = _config(data, "spark", source)
    text = cfg.read_text(encoding="utf-8").replace(
        'community = "aaa"\n\n[sources.aaa_expected]',
        'community = "aaa"\n\n[sources.aaa.connection]\nsession = "active"'
        "\n\n[sources.aaa_expected]",
        1,
    )
    cfg.write_text(text, encoding="utf-8")
    out = data / "out_spark"
    try:
        _run(cfg, out)
    finally:
        if before is None:  # started here: stop it (else its owner does)
            session.stop()
    ref = data / "out_ref_nopacks"
    if not ref.exists():
        _run(_config(data, "ref", 'path = "aaa.csv"'), ref)
    _same_files(ref, out, suffix=".csv")


# ---------------------------------------------------------------------------
# config check: every bad engine setting, with its key path
# ---------------------------------------------------------------------------
def _check(tmp_path: Path, source: str, extra: str = "") -> list[str]:
    (tmp_path / "a.parquet").write_bytes(b"")
    path = tmp_path / "c.toml"
    path.write_text(
        '[sources.a]\nschema = "aaa_procedures"\n' + source + "\n" + extra,
        encoding="utf-8",
    )
    return [p.split(": ", 1)[1] for p in check_config(path)]


@pytest.mark.parametrize(
    ("source", "extra", "expected"),
    [
        ('path = "a.parquet"\nengine = "polars"', "", "sources.a.engine: 'polars'"),
        ('engine = "duckdb"', "", "needs exactly one of 'path'"),
        (
            'path = "a.parquet"\ntable = "t"\nengine = "duckdb"',
            '[sources.a.connection]\ndatabase = "a.parquet"',
            "needs exactly one of 'path'",
        ),
        (
            'table = "audit.aaa; DROP TABLE x"\nengine = "duckdb"',
            '[sources.a.connection]\ndatabase = "x.duckdb"',
            "sources.a.table: 'audit.aaa; DROP TABLE x' is not a table name",
        ),
        ('table = "1abc"\nengine = "spark"', "", "is not a table name"),
        ('table = "a.b.c.d"\nengine = "spark"', "", "is not a table name"),
        (
            'table = "aaa"\nengine = "duckdb"',
            '[sources.a.connection]\ndatabase = "missing.duckdb"',
            "sources.a.connection.database: DuckDB database file not found",
        ),
        ('table = "aaa"\nengine = "duckdb"', "", "needs sources.a.connection.database"),
        ('table = "aaa"', "", "sources.a.table: a table is read by an engine"),
        (
            'path = "a.parquet"',
            "[sources.a.connection]\nthreads = 2",
            "sources.a.connection: settings for an engine",
        ),
        (
            'path = "a.parquet"\nengine = "duckdb"',
            '[sources.a.connection]\nmaster = "yarn"',
            "sources.a.connection.master: a setting of engine 'spark'",
        ),
        (
            'path = "a.parquet"\nengine = "spark"',
            '[sources.a.connection]\nmemory_limit = "3GB"',
            "sources.a.connection.memory_limit: a setting of engine 'duckdb'",
        ),
        (
            'path = "a.parquet"\nengine = "duckdb"',
            '[sources.a.connection]\nmemory_limit = "lots"',
            "'lots' is not a size",
        ),
        (
            'path = "a.parquet"\nengine = "duckdb"',
            "[sources.a.connection]\nthreads = 0",
            "sources.a.connection.threads: must be >= 1",
        ),
        (
            'path = "a.parquet"\nengine = "spark"',
            '[sources.a.connection]\nsession = "active"\nmaster = "yarn"',
            "sources.a.connection.session: 'active' uses the running",
        ),
        (
            'path = "a.parquet"\nengine = "duckdb"',
            '[sources.a.connection]\nsession = "reuse"',
            "sources.a.connection.session: 'reuse' is not one of new, active",
        ),
        (
            'path = "a.parquet"\nengine = "duckdb"',
            '[sources.a.connection]\nhost = "db"',
            "sources.a.connection.host: unknown key",
        ),
        ('path = "nothere/"\nengine = "duckdb"', "", "file or folder not found"),
        ('path = "a.xlsx"\nengine = "duckdb"', "", "file or folder not found"),
        ('path = ["a.parquet", "b.parquet"]\nengine = "duckdb"', "", "got a list of 2"),
        (
            'path = "a.parquet"\nengine = "duckdb"\nunique = ["record_id"]',
            "",
            "sources.a.unique: not available for engine 'duckdb'",
        ),
        (
            'path = "a.csv"\nengine = "spark"\nformat = "csv"',
            "",
            "CSV row numbers need engine 'duckdb'",
        ),
    ],
)
def test_config_check_names_each_bad_engine_setting(tmp_path, source, extra, expected):
    problems = _check(tmp_path, source, extra)
    assert any(expected in p for p in problems), problems


def test_engine_source_needs_a_schema(tmp_path):
    (tmp_path / "a.parquet").write_bytes(b"")
    path = tmp_path / "c.toml"
    path.write_text('[sources.a]\npath = "a.parquet"\nengine = "duckdb"\n')
    problems = check_config(path)
    assert any("sources.a.schema: required for engine 'duckdb'" in p for p in problems)


def test_missing_table_in_the_database_is_a_config_problem(tmp_path):
    import duckdb

    with duckdb.connect(str(tmp_path / "audit.duckdb")) as con:
        con.execute("CREATE TABLE other (x INTEGER)")
    problems = _check(
        tmp_path,
        'table = "aaa"\nengine = "duckdb"',
        '[sources.a.connection]\ndatabase = "audit.duckdb"',
    )
    want = "sources.a.table: read_source: no table 'aaa'"
    assert any(p.startswith(want) for p in problems), problems


def test_good_engine_config_checks_clean_and_loads(data):
    cfg_path = _config(data, "ok", 'path = "aaa.parquet"\nengine = "duckdb"')
    assert check_config(cfg_path) == []
    cfg = load_config(cfg_path)
    assert cfg.sources["aaa"].engine == "duckdb"
    assert cfg.sources["aaa_expected"].engine == "pandas"


def test_a_missing_database_at_run_time_is_exit_2(data, tmp_path):
    cfg = _config(data, "nodb", 'path = "aaa.parquet"\nengine = "duckdb"')
    text = cfg.read_text(encoding="utf-8").replace(
        'engine = "duckdb"\nschema',
        'engine = "duckdb"\nschema',
    )
    text = text.replace(
        'path = "aaa.parquet"\nengine = "duckdb"',
        'table = "aaa"\nengine = "duckdb"',
    ).replace(
        'community = "aaa"\n\n[sources.aaa_expected]',
        'community = "aaa"\n\n[sources.aaa.connection]\ndatabase = "gone.duckdb"'
        "\n\n[sources.aaa_expected]",
        1,
    )
    cfg.write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = run_pipeline(cfg, tmp_path / "out", progress=False)
    assert outcome.exit_code == 2
    assert "gone.duckdb" in outcome.message


def test_owner_rule_and_transforms_apply_to_an_engine_file(data, tmp_path):
    """A site's own file (S01.csv) with another site's row, rename and filter."""
    raw = pd.read_csv(data / "aaa.csv", dtype=str, keep_default_na=False)
    own = raw[raw["site_id"] == "S01"].head(60).copy()
    own.iloc[7, own.columns.get_loc("site_id")] = "S02"
    own.to_csv(tmp_path / "S01.csv", index=False)
    shutil.copy(data / "sites.csv", tmp_path / "sites.csv")
    text = """
[run]
figures = false
site_packs = false

[sites]
path = "sites.csv"

[sources.aaa]
path = "S01.csv"
schema = "aaa_procedures"
{engine}
filter = {{ procedure_type = ["EVAR", "open"] }}
rename = {{ died_in_hospital = "died" }}
derive = {{ survived = "1 - died" }}

[indicators.survival]
source = "aaa"
numerator = "survived"
period = "procedure_date"
"""
    outs = []
    for name, engine in (("p", ""), ("d", 'engine = "duckdb"')):
        cfg = tmp_path / f"{name}.toml"
        cfg.write_text(text.format(engine=engine), encoding="utf-8")
        outs.append(tmp_path / f"out_{name}")
        outcome = _run(cfg, outs[-1])
        assert outcome.exit_code == 1  # the other site's row
    _same_files(outs[0], outs[1], suffix=".csv")
    errors = pd.read_csv(outs[1] / "validation" / "all_errors.csv", dtype=str)
    assert errors["check"].tolist() == ["site_not_file_owner"]
    assert errors["row"].tolist() == ["9"]
    assert errors["value"].tolist() == ["[another site]"]  # redacted in S01's file


def test_only_the_used_columns_are_brought_in(data):
    from ccdata.report.engine_sources import used_columns

    cfg = load_config(_config(data, "cols", 'path = "aaa.parquet"\nengine = "duckdb"'))
    # a completeness table without `fields` checks (and so reads) every field
    assert used_columns(cfg, "aaa") is None
    text = (
        (data / "cols.toml")
        .read_text(encoding="utf-8")
        .replace(
            'expected_source = "aaa_expected"',
            'expected_source = "aaa_expected"\nfields = ["age"]',
        )
    )
    (data / "cols.toml").write_text(text, encoding="utf-8")
    cfg = load_config(data / "cols.toml")
    assert used_columns(cfg, "aaa") == {
        "site_id",
        "died_in_hospital",
        "procedure_date",
        "record_entered_date",
        "age",
        "sex",
        "asa_grade",
        "creatinine_umol_l",
        "procedure_type",
        "cardiac_disease",
        "C",  # of C(asa_grade): not a column, ignored when reading
    }
    assert used_columns(cfg, "aaa_expected") == {
        "site_id",
        "expected",
        "month",
    }


def test_a_table_name_is_never_sql(tmp_path):
    from ccdata import engine
    from ccdata.errors import InputError

    con = engine.connect("duckdb", threads=1)
    for bad in ["x; DROP TABLE y", "a.b.c.d", "1x", "x--", 'x"', ""]:
        with pytest.raises(InputError, match="is not a table name"):
            engine.read_source(con, None, table=bad)
    with pytest.raises(InputError, match="no table 'audit.nothing'"):
        engine.read_source(con, None, table="audit.nothing")
