"""Tests of ccdata.report.config: strict TOML configuration of the batch job."""

from __future__ import annotations

from pathlib import Path

import pytest

from ccdata.errors import ConfigError
from ccdata.report.config import (
    Config,
    IndicatorConfig,
    check_config,
    load_config,
    parse_config,
)

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
    with pytest.raises(ConfigError, match="outputs: unknown key"):
        load_config(_write(tmp_path, GOOD + "\n[outputs]\nx = 1\n"))


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("min_count = 3", 'min_count = "3"', "disclosure.min_count"),
        ("target = 0.8", 'target = "high"', "indicators.histology.target"),
        (
            'direction = "increase"',
            'direction = "up"',
            "indicators.histology.direction",
        ),
        ('title = "Test run"', "title = 3", "run.title"),
        ("min_count = 3", "min_count = true", "disclosure.min_count"),
    ],
)
def test_wrong_types_name_the_key(tmp_path, old, new, key):
    with pytest.raises(ConfigError) as exc:
        load_config(_write(tmp_path, GOOD.replace(old, new)))
    assert f"{key}: must be" in str(exc.value) or f"{key}: 'up' is not one of" in str(
        exc.value
    )
    assert "job.toml" in str(exc.value)


def test_list_items_are_checked(tmp_path):
    text = GOOD + '\n[funnel]\nlevels = [0.95, "x"]\n'
    with pytest.raises(ConfigError, match=r"funnel\.levels\[1\]"):
        load_config(_write(tmp_path, text))


def test_integer_is_accepted_where_a_number_is_expected(tmp_path):
    cfg = load_config(_write(tmp_path, GOOD.replace("target = 0.8", "target = 1")))
    assert cfg.indicators["histology"].target == 1.0


def test_indicator_naming_an_unknown_source(tmp_path):
    with pytest.raises(ConfigError, match="indicators.histology.source: .*'lungs'"):
        load_config(
            _write(tmp_path, GOOD.replace('source = "lung"', 'source = "lungs"'))
        )


def test_missing_required_key(tmp_path):
    text = GOOD.replace('path = "data/lung*.csv"\n', "")
    with pytest.raises(ConfigError, match="sources.lung.path: missing required key"):
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
    table = {
        "sources": {"aaa": {"path": "a.csv"}, "exp": {"path": "e.csv"}},
        "completeness": {
            "aaa": {
                "expected_source": "exp",
                "expected_label": "Hospital Episode Statistics",
                "ascertainment_threshold": 0.75,
            }
        },
    }
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


# --------------------------------------------------------------------------- #
# Issue 14/15: one-pass checking, name rules, no code from configs
# --------------------------------------------------------------------------- #

MANY_MISTAKES = """
[run]
title = 3
dpi = 1000

[sources.ckd]
path = "ckd.csv"
schema = "ckd_care_bundle"
derive = { x = "eligible.__class__", y = "all_elemnts / eligible" }

[sources."../evil"]
path = "ckd.csv"

[indicators.ckd_bundle]
source = "ckd"
numerator = "all_elemnts"
denominator = "eligible"
period = "month"
spc = "xmr"

[spc]
chart = "q"

[indicators.other]
source = "nope"
numerator = "n"
colour = "red"
"""


def test_config_check_reports_every_mistake_at_once_with_key_paths(tmp_path, capsys):
    (tmp_path / "ckd.csv").write_text("site_id,month,eligible,all_elements\n")
    p = _write(tmp_path, MANY_MISTAKES)
    problems = check_config(p)
    text = "\n".join(problems)
    expected = [
        "run.title: must be a string; got 3 (int)",
        "run.dpi: must be in 20..600",
        "indicators.ckd_bundle.spc: 'xmr' is not one of run, p, pp, u, up, c, i, mr",
        "spc.chart: 'q' is not one of run, p, pp, u, up, c, i, mr",
        "sources.../evil: the name '../evil' may use only letters",
        "sources.ckd.derive.x: 'eligible.__class__' is not a valid derive expression",
        "indicators.other.colour: unknown key",
        "indicators.other.source: names an unknown source 'nope'",
        # columns against the schema, with a suggestion
        "indicators.ckd_bundle.numerator: column 'all_elemnts' is not in source "
        "'ckd' (schema 'ckd_care_bundle') (did you mean 'all_elements'?)",
        "sources.ckd.derive.y: column 'all_elemnts' is not in source 'ckd'",
    ]
    for e in expected:
        assert e in text, f"{e!r} not reported in:\n{text}"
    assert all(p_.startswith(str(p)) for p_ in problems)
    # the command line prints them all and exits 2
    from ccdata.cli import main

    assert main(["config", "check", str(p)]) == 2
    err = capsys.readouterr().err
    for e in expected:
        assert e in err
    # and a run refuses the same configuration, listing every problem too
    with pytest.raises(ConfigError) as exc:
        load_config(p)
    assert "indicators.ckd_bundle.spc: 'xmr'" in str(exc.value)
    assert "spc.chart: 'q'" in str(exc.value)
    assert len(exc.value.problems) >= 8


@pytest.mark.parametrize("section", ["sources", "indicators", "completeness"])
@pytest.mark.parametrize("name", ["../x", "a/b", "a b", ".hidden", "x.y", "é"])
def test_names_that_could_name_a_path_are_config_errors(section, name):
    table = {"sources": {"a": {"path": "a.csv"}}}
    if section == "sources":
        table["sources"][name] = {"path": "b.csv"}
    elif section == "indicators":
        table["indicators"] = {name: {"source": "a", "numerator": "n"}}
    else:
        table["sources"][name] = {"path": "b.csv"}
        table["completeness"] = {name: {}}
    with pytest.raises(ConfigError, match="may use only letters, digits"):
        parse_config(table)


def test_a_config_that_tries_to_run_code_is_rejected_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    attack = f"numerator.__class__.__init__.__globals__['os'].system('touch {marker}')"
    text = f"""
[sources.a]
path = "a.csv"
derive = {{ x = "{attack}" }}
"""
    (tmp_path / "a.csv").write_text("site_id,numerator\nA,1\n")
    p = _write(tmp_path, text)
    problems = check_config(p)
    assert any(
        "sources.a.derive.x" in q and "not a valid derive" in q for q in problems
    )
    from ccdata.report import run_pipeline

    out = run_pipeline(p, tmp_path / "out")
    assert out.exit_code == 2
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_no_eval_or_query_on_text_anywhere_in_the_package():
    import ccdata

    src = Path(ccdata.__file__).parent
    bad = []
    for f in src.rglob("*.py"):
        text = f.read_text(encoding="utf-8")
        for pat in (".eval(", ".query(", " eval(", " exec(", "(eval(", "(exec("):
            if pat in text:
                bad.append(f"{f.name}: {pat}")
    assert not bad, bad
