"""Tests of ccdata.report.config: strict TOML configuration of the batch job."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccdata.report.config import (
    Config,
    IndicatorConfig,
    check_config,
    load_config,
    parse_config,
)
from ccdata.errors import ConfigError

GOOD = """
[run]
title = "Test run"
output = "out"

[sites]
path = "sites.csv"

[disclosure]
min_count = 3

[sources.lung]
path = "data/lung*.csv"
schema = "lung_cancer_indicators"

[indicators.histology]
source = "lung"
numerator = "numerator"
denominator = "denominator"
period = "year"
period_freq = "year"
filter = { indicator = "histological_confirmation" }
target = 0.8
direction = "increase"
"""


def _write(tmp_path: Path, text: str, name: str = "job.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_good_config_is_read_into_dataclasses(tmp_path):
    cfg = load_config(_write(tmp_path, GOOD))
    assert isinstance(cfg, Config)
    assert cfg.run.title == "Test run"
    assert cfg.disclosure.min_count == 3
    ind = cfg.indicators["histology"]
    assert isinstance(ind, IndicatorConfig)
    assert ind.target == 0.8 and ind.direction == "increase"
    assert ind.filter == {"indicator": "histological_confirmation"}
    assert cfg.funnel.levels == [0.95, 0.998]  # default


def test_relative_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    sub = tmp_path / "conf"
    sub.mkdir()
    (sub / "data").mkdir()
    for year in ("a", "b"):
        (sub / "data" / f"lung_{year}.csv").write_text("x\n")
    cfg_path = _write(sub, GOOD)
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    cfg = load_config(cfg_path)
    assert cfg.output_dir() == sub.resolve() / "out"
    assert [p.name for p in cfg.source_files("lung")] == ["lung_a.csv", "lung_b.csv"]
    assert cfg.resolve("sites.csv") == sub.resolve() / "sites.csv"


def test_unknown_key_names_the_key_path_and_the_file(tmp_path):
    p = _write(tmp_path, GOOD.replace('schema = "lung', 'shema = "lung'))
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    msg = str(exc.value)
    assert "sources.lung.shema" in msg
    assert str(p) in msg
    assert "schema" in msg  # the allowed keys are listed


def test_unknown_top_level_table_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'outputs'"):
        load_config(_write(tmp_path, GOOD + "\n[outputs]\nx = 1\n"))


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("min_count = 3", 'min_count = "3"', "disclosure.min_count"),
        ("target = 0.8", 'target = "high"', "indicators.histology.target"),
        ('direction = "increase"', 'direction = "up"', "indicators.histology.direction"),
        ('title = "Test run"', "title = 3", "run.title"),
        ("min_count = 3", "min_count = true", "disclosure.min_count"),
    ],
)
def test_wrong_types_name_the_key(tmp_path, old, new, key):
    with pytest.raises(ConfigError) as exc:
        load_config(_write(tmp_path, GOOD.replace(old, new)))
    assert f"'{key}'" in str(exc.value)
    assert "job.toml" in str(exc.value)


def test_list_items_are_checked(tmp_path):
    text = GOOD + '\n[funnel]\nlevels = [0.95, "x"]\n'
    with pytest.raises(ConfigError, match=r"funnel\.levels\[1\]"):
        load_config(_write(tmp_path, text))


def test_integer_is_accepted_where_a_number_is_expected(tmp_path):
    cfg = load_config(_write(tmp_path, GOOD.replace("target = 0.8", "target = 1")))
    assert cfg.indicators["histology"].target == 1.0


def test_indicator_naming_an_unknown_source(tmp_path):
    with pytest.raises(ConfigError, match="indicators.histology.source.*'lungs'"):
        load_config(_write(tmp_path, GOOD.replace('source = "lung"', 'source = "lungs"')))


def test_missing_required_key(tmp_path):
    text = GOOD.replace('path = "data/lung*.csv"\n', "")
    with pytest.raises(ConfigError, match="missing required key 'sources.lung.path'"):
        load_config(_write(tmp_path, text))


def test_ratio_needs_expected_or_a_risk_model(tmp_path):
    text = GOOD.replace('numerator = "numerator"', 'kind = "ratio"\nnumerator = "n"')
    with pytest.raises(ConfigError, match="risk_model"):
        load_config(_write(tmp_path, text))


def test_risk_model_needs_covariates_or_formula(tmp_path):
    text = GOOD + '\n[indicators.histology.risk_model]\nmissing = "indicator"\n'
    with pytest.raises(ConfigError, match="covariates"):
        load_config(_write(tmp_path, text))


def test_proportion_target_outside_0_1(tmp_path):
    with pytest.raises(ConfigError, match="target"):
        load_config(_write(tmp_path, GOOD.replace("target = 0.8", "target = 80.0")))


def test_invalid_toml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[run\n"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml")


def test_parse_config_from_a_table():
    cfg = parse_config({"sources": {"a": {"path": ["x.csv", "y.csv"]}}}, base_dir="/d")
    assert [p.as_posix() for p in cfg.source_files("a")] == ["/d/x.csv", "/d/y.csv"]


def test_check_config_reports_missing_files(tmp_path):
    problems = check_config(_write(tmp_path, GOOD))
    assert any("sites.path" in p for p in problems)
    assert any("sources.lung.path" in p for p in problems)


def test_bundled_demo_config_is_valid():
    from importlib import resources

    res = resources.files("ccdata") / "data" / "demo.toml"
    cfg = load_config(Path(str(res)))
    assert {"aaa", "ckd", "lung", "ae"} <= set(cfg.sources)
    ra = cfg.indicators["aaa_mortality_ra"]
    assert ra.kind == "ratio" and ra.cusum and ra.risk_model is not None
    assert cfg.indicators["aaa_mortality"].target == 0.035
    assert cfg.indicators["ae_4h"].spc == "pp"


def test_completeness_ascertainment_threshold_and_label():
    table = {"sources": {"aaa": {"path": "a.csv"}, "exp": {"path": "e.csv"}},
             "completeness": {"aaa": {"expected_source": "exp",
                                      "expected_label": "Hospital Episode Statistics",
                                      "ascertainment_threshold": 0.75}}}
    qc = parse_config(table).completeness["aaa"]
    assert qc.ascertainment_threshold == 0.75
    assert qc.expected_label == "Hospital Episode Statistics"
    del table["completeness"]["aaa"]["ascertainment_threshold"]
    assert parse_config(table).completeness["aaa"].ascertainment_threshold == 0.8
    for bad in (0, 1.2, -0.1):
        table["completeness"]["aaa"]["ascertainment_threshold"] = bad
        with pytest.raises(ConfigError, match="ascertainment_threshold"):
            parse_config(table)
    table["completeness"]["aaa"]["ascertainment_threshold"] = "80%"
    with pytest.raises(ConfigError, match="ascertainment_threshold.*must be a number"):
        parse_config(table)
