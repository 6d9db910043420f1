"""Issue 17: the patient-experience survey in the batch job.

A small run with one ``[surveys.NAME]`` table on synthetic answers: six
trusts, two survey years, two questions; T02's patients answer Q01 much
lower in 2025, T06 has only 15 respondents in 2025 (below the minimum of
21). The tidy CSVs of ``indicators/``, the suppression, each trust's pack
wording and the configuration checks are asserted.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ccdata.errors import ConfigError
from ccdata.report import EXIT_OK, run_pipeline
from ccdata.report.config import parse_config

TRUSTS = [f"T{i:02d}" for i in range(1, 7)]

CONFIG = """
[run]
dpi = 20
workers = 1

[sources.exp]
path = "experience.csv"
schema = "lung_cancer_patient_experience"
community = "lung"

[surveys.exp]
title = "Patient experience"
source = "exp"
case_mix = ["sex"]
questions = ["Q01", "Q02"]
level = 0.998
"""


def _answers(seed: int = 17) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for t in TRUSTS:
        for year in (2024, 2025):
            n = 15 if (t == "T06" and year == 2025) else 60
            for r in range(n):
                rid = f"RS{t}{year}{r:03d}"
                sex = "M" if rng.random() < 0.5 else "F"
                for q in ("Q01", "Q02", "Q03"):
                    low = t == "T02" and year == 2025 and q == "Q01"
                    p = (
                        [0.5, 0.3, 0.1, 0.05, 0.05]
                        if low
                        else [0.05, 0.1, 0.2, 0.35, 0.3]
                    )
                    answer = int(rng.choice(5, p=p)) + 1
                    if rng.random() < 0.05:
                        answer = None  # a skipped question
                    rows.append((t, year, rid, q, answer, sex))
    frame = pd.DataFrame(
        rows,
        columns=[
            "site_id",
            "survey_year",
            "respondent_id",
            "question_id",
            "answer",
            "sex",
        ],
    )
    frame["answer"] = frame["answer"].astype("Int64")
    return frame


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("survey")
    data = _answers()
    data.to_csv(d / "experience.csv", index=False)
    (d / "config.toml").write_text(CONFIG)
    outcome = run_pipeline(d / "config.toml", d / "out", progress=False)
    return outcome, d / "out", data


def test_run_writes_the_survey_tables(run):
    outcome, out, _ = run
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert outcome.counts["surveys"] == 1
    idir = out / "indicators"
    for kind in ("scores", "funnels", "priorities"):
        assert (idir / f"survey_exp_{kind}.csv").is_file()
    scores = pd.read_csv(idir / "survey_exp_scores.csv")
    assert {
        "site_id",
        "survey_year",
        "question_id",
        "respondents",
        "item_nonresponse",
        "mean_score",
        "se",
        "positive_share",
        "status",
        "note",
    } <= set(scores.columns)
    # only the configured questions
    assert set(scores["question_id"]) == {"Q01", "Q02"}
    pri = pd.read_csv(idir / "survey_exp_priorities.csv")
    assert {
        "site_id",
        "question_id",
        "score",
        "lower",
        "upper",
        "position",
        "change_status",
    } <= set(pri.columns)


def test_scores_match_an_independent_computation(run):
    _, out, data = run
    scores = pd.read_csv(out / "indicators" / "survey_exp_scores.csv")
    cell = data[
        (data["site_id"] == "T01")
        & (data["survey_year"] == 2024)
        & (data["question_id"] == "Q02")
    ]
    answered = cell["answer"].dropna().astype(float)
    row = scores[
        (scores["site_id"] == "T01")
        & (scores["survey_year"] == 2024)
        & (scores["question_id"] == "Q02")
    ].iloc[0]
    assert row["respondents"] == len(answered)
    # a skipped answer is item non-response, never a zero
    assert row["item_nonresponse"] == cell["answer"].isna().sum()
    assert row["mean_score"] == pytest.approx(answered.mean(), rel=1e-9)
    assert row["se"] == pytest.approx(
        answered.std(ddof=1) / np.sqrt(len(answered)), rel=1e-6
    )
    assert row["positive_share"] == pytest.approx((answered >= 4).mean(), rel=1e-9)


def test_suppression_below_min_respondents(run):
    _, out, _ = run
    idir = out / "indicators"
    for name, col in (
        ("scores", "mean_score"),
        ("funnels", "value"),
        ("priorities", "score"),
    ):
        t = pd.read_csv(idir / f"survey_exp_{name}.csv", keep_default_na=False)
        year = t["survey_year"].astype(int) == 2025
        small = t[(t["site_id"] == "T06") & year]
        assert len(small) == 2, name  # Q01 and Q02
        if "status" in t.columns:
            assert (small["status"] == "not_assessed").all(), name
        assert (small[col] == "").all(), name  # blank, not a number
        assert small["note"].str.contains("fewer than 21 respondents").all()
        big = t[(t["site_id"] == "T01") & year]
        assert (big[col] != "").all()


def test_no_respondent_ids_in_any_output(run):
    _, out, data = run
    ids = set(data["respondent_id"])
    for f in out.rglob("*"):
        if f.suffix in (".csv", ".md", ".html", ".txt", ".json"):
            text = f.read_text(encoding="utf-8")
            assert "respondent_id" not in text or f.name == "manifest.json", f
            assert not any(i in text for i in list(ids)[:200]), f


def test_each_trust_pack_has_its_own_priorities(run):
    _, out, _ = run
    low = (out / "sites" / "T02" / "summary.md").read_text()
    assert "## Patient experience" in low
    assert (
        "Areas your patients rate lower than expected (below the 99.8% "
        "expected range, after case-mix adjustment): Q01."
    ) in low
    assert "fewer than 21 respondents to a question are suppressed" in low
    own = pd.read_csv(out / "sites" / "T02" / "survey_exp_priorities.csv")
    assert set(own["site_id"]) == {"T02"}
    q01 = own[own["question_id"] == "Q01"].iloc[0]
    assert q01["position"] == "area your patients rate lower than expected"
    assert (out / "sites" / "T02" / "survey_exp_scores.png").is_file()
    html = (out / "sites" / "T02" / "index.html").read_text()
    assert 'id="surveys"' in html
    other = (out / "sites" / "T01" / "summary.md").read_text()
    assert "Areas your patients rate lower than expected" in other
    assert "Q01." not in other.split("lower than expected")[1].split("\n")[0]
    for t in TRUSTS:  # every surveyed trust has a pack
        assert (out / "sites" / t / "index.html").is_file()


def test_steering_index_lists_the_survey_tables(run):
    _, out, _ = run
    html = (out / "index.html").read_text()
    assert 'id="surveys"' in html
    for kind in ("scores", "funnels", "priorities"):
        assert f"indicators/survey_exp_{kind}.csv" in html
    assert "fewer than 21 respondents" in html


def test_bad_survey_keys_are_reported_with_their_path():
    table = {
        "sources": {"exp": {"path": "x.csv"}},
        "surveys": {
            "exp": {
                "source": "nope",
                "min_respondent": 5,
                "level": 0.9,
                "score": "median",
            },
            "bad name": {"source": "exp"},
        },
    }
    with pytest.raises(ConfigError) as err:
        parse_config(table, base_dir=Path("/data"))
    problems = err.value.problems
    text = "\n".join(problems)
    assert "surveys.exp.min_respondent: unknown key" in text
    assert "surveys.exp.score" in text
    assert "surveys.bad name" in text
    assert "surveys.exp.source: names an unknown source 'nope'" in text
    assert "surveys.exp.level: must be one of funnel.levels" in text


def test_survey_config_defaults():
    cfg = parse_config(
        {"sources": {"exp": {"path": "x.csv"}}, "surveys": {"exp": {"source": "exp"}}}
    )
    sv = cfg.surveys["exp"]
    assert sv.min_respondents == 21
    assert sv.positive == [4, 5]
    assert sv.case_mix == ["age_band", "sex", "route_to_diagnosis"]
    assert sv.score == "mean" and sv.level is None and sv.questions is None
    with pytest.raises(ConfigError, match="surveys.exp.min_respondents"):
        parse_config(
            {
                "sources": {"exp": {"path": "x.csv"}},
                "surveys": {"exp": {"source": "exp", "min_respondents": 0}},
            }
        )


def test_config_check_names_a_missing_case_mix_column(tmp_path):
    from ccdata.report.config import check_config

    _answers().head(50).to_csv(tmp_path / "experience.csv", index=False)
    (tmp_path / "c.toml").write_text(CONFIG.replace('["sex"]', '["sex", "agee"]'))
    problems = check_config(tmp_path / "c.toml")
    assert len(problems) == 1, problems
    assert (
        "surveys.exp.case_mix[1]: column 'agee' is not in source 'exp'" in problems[0]
    )
