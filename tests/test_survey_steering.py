"""Issue 17: the steering view of a survey (one funnel per question).

A small run with one ``[surveys.NAME]`` table on synthetic answers: twelve
trusts, two survey years, three questions; T02's patients answer Q01 much
lower in 2025, T06 has only 15 respondents in 2025 (below the minimum of
21). The steering report (``index.html`` and ``report.pdf``) must show one
funnel figure per question (its latest survey year) with its neutral
sentence, and never a ranking of trusts or a table of "worst questions".
The demo's steering report (Q02, Q07 and Q10) is tested in test_demo_packs.py,
with every other reader of the demo run.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pandas as pd
import pytest

from ccdata.report import run_pipeline
from ccdata.report.disclosure import file_text

_spec = importlib.util.spec_from_file_location(
    "_survey_data", Path(__file__).with_name("_survey_data.py")
)
survey_data = importlib.util.module_from_spec(_spec)
sys.modules["_survey_data"] = survey_data
_spec.loader.exec_module(survey_data)
CONFIG, QUESTIONS, answers = (
    survey_data.CONFIG,
    survey_data.QUESTIONS,
    survey_data.answers,
)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    d = tmp_path_factory.mktemp("steer")
    answers().to_csv(d / "experience.csv", index=False)
    (d / "config.toml").write_text(CONFIG)
    outcome = run_pipeline(d / "config.toml", d / "out", progress=False)
    assert outcome.exit_code == 0, outcome.message
    return outcome, d / "out"


def test_one_funnel_figure_per_question_in_the_steering_page(run):
    _, out = run
    html = (out / "index.html").read_text(encoding="utf-8")
    section = html.split('id="surveys"')[1]
    for q in QUESTIONS:
        png = out / "figures" / f"survey_exp_{q}.png"
        assert png.is_file() and png.stat().st_size > 0
        assert (out / "figures" / f"survey_exp_{q}.svg").is_file()
        alt = (out / "figures" / f"survey_exp_{q}.txt").read_text(encoding="utf-8")
        # the figure is embedded with its text description as alt text
        assert f'src="figures/survey_exp_{q}.png"' in section
        assert "National value" in alt and "Community average" not in alt
        assert f"Patient experience: {q}, 2025" in section
    # exactly one figure per question: the latest year only, no 2024 funnels
    assert len(re.findall(r'src="figures/survey_exp_Q\d\d\.png"', section)) == 3
    assert not list((out / "figures").glob("*2024*"))
    assert "(2024)" not in section.split("</ul>")[0]


def test_each_question_has_its_neutral_sentence(run):
    _, out = run
    html = (out / "index.html").read_text(encoding="utf-8")
    section = html.split('id="surveys"')[1].split("</section>")[0]
    items = re.findall(r"<li>(Q\d\d \(2025\): .*?)</li>", section, flags=re.S)
    assert [i[:3] for i in items] == list(QUESTIONS)  # question order, not scores
    q01 = items[0]
    # T02's planted low score is below the 99.8% range; T06 is not assessed
    assert "trusts above the 99.8% limit and 1 below it" in q01
    assert "not assessed (fewer than 21 respondents: results suppressed)" in q01
    assert "adjusted for case mix (sex)" in q01
    for banned in ("worst", "best", "rank", "league"):
        assert banned not in section.lower(), banned


def test_funnel_points_are_the_adjusted_scores(run):
    """The steering figure's description names the units outside the range
    (as the other steering funnels label them) and counts the drawn units."""
    _, out = run
    funnels = pd.read_csv(out / "indicators" / "survey_exp_funnels.csv")
    q01 = funnels[(funnels["question_id"] == "Q01") & (funnels["survey_year"] == 2025)]
    below = set(q01.loc[q01["status"] == "below_998", "site_id"])
    assert below == {"T02"}
    alt = (out / "figures" / "survey_exp_Q01.txt").read_text(encoding="utf-8")
    assert "Below the 99.8% limit" in alt and "T02" in alt
    # every unit outside a limit is named, no unit inside one is
    inside = set(q01.loc[q01["status"] == "within", "site_id"])
    assert not any(re.search(rf"\b{u}\b", alt) for u in inside)


def test_the_pdf_report_has_the_survey_funnels(run):
    _, out = run
    text = file_text(out / "report.pdf")
    assert "Patient experience: Q01, 2025" in text or "Q01 (2025)" in text
    pdf = (out / "report.pdf").read_bytes()
    # one image per steering figure at least (the three survey funnels)
    assert pdf.count(b"/Subtype /Image") + pdf.count(b"/Subtype/Image") >= 3
