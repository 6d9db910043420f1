"""Issues 14 and 17: survey tables in publication mode keep small counts hidden.

The counted people of a survey table are the respondents to a question and
its item non-response; the two add up to the questionnaires a trust returned
in a year, the same for every question. The tests try the recoveries a
reader of ``indicators/`` could make -- the returned total from one question,
then any hidden count by subtraction; a brute-force search over every total
consistent with what is published -- and assert that every hidden count is
left at least two values.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccdata.report import run_pipeline
from ccdata.report.disclosure import COMPLEMENTARY_LABEL, suppress_survey

_spec = importlib.util.spec_from_file_location(
    "_survey_data", Path(__file__).with_name("_survey_data.py")
)
survey_data = importlib.util.module_from_spec(_spec)
sys.modules["_survey_data"] = survey_data
_spec.loader.exec_module(survey_data)
CONFIG, answers = survey_data.CONFIG, survey_data.answers

M = 5  # the run's min_count


def _num(v: object) -> float | None:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def candidates(block: pd.DataFrame, m: int = M, *, cap: int = 400) -> dict:
    """Every value a reader can give each hidden count of one trust-year block.

    The reader knows: respondents + item non-response is the same total R for
    every question; a "<m" cell is 1..m-1; a "[hidden]" cell is any count;
    the visible cells. Returns {(row, column): set of values over every R
    consistent with all of it}.
    """
    rows = list(block.itertuples(index=False))
    out: dict = {}
    for total in range(cap):
        sols = []
        ok = True
        for r in rows:
            resp, non = r.respondents, r.item_nonresponse
            opts = []
            resp_vals = (
                [int(_num(resp))]
                if _num(resp) is not None
                else (list(range(1, m)) if str(resp).startswith("<") else range(cap))
            )
            for rv in resp_vals:
                nv = total - rv
                if nv < 0:
                    continue
                if _num(non) is not None and nv != int(_num(non)):
                    continue
                if str(non).startswith("<") and not 1 <= nv < m:
                    continue
                opts.append((rv, nv))
            if not opts:
                ok = False
                break
            sols.append(opts)
        if not ok:
            continue
        for i, opts in enumerate(sols):
            for rv, nv in opts:
                out.setdefault((i, "respondents"), set()).add(rv)
                out.setdefault((i, "item_nonresponse"), set()).add(nv)
    return out


def assert_not_recoverable(published: pd.DataFrame, truth: pd.DataFrame) -> int:
    """Try every recovery on each block; return the number of hidden cells."""
    keys = ["site_id", "survey_year"]
    n_hidden = 0
    for key, block in published.groupby(keys, sort=True):
        true = truth.set_index(keys).loc[key].reset_index(drop=True)
        block = block.reset_index(drop=True)
        hidden_resp = ~block["respondents"].map(_num).notna()
        hidden_non = ~block["item_nonresponse"].map(_num).notna()
        if not (hidden_resp.any() or hidden_non.any()):
            # nothing hidden: then nothing in it may be small
            small = (true["respondents"].between(1, M - 1)) | (
                true["item_nonresponse"].between(1, M - 1)
            )
            assert not small.any(), key
            continue
        # the first attack: the total from a question with both counts visible
        both = ~hidden_resp & ~hidden_non
        assert not both.any(), f"{key}: a question gives the returned total away"
        # the rate beside a hidden count is blank
        assert (block.loc[hidden_non, "item_nonresponse_rate"].astype(str) == "").all()
        vals = candidates(block)
        for i in range(len(block)):
            for col in ("respondents", "item_nonresponse"):
                if _num(block.loc[i, col]) is not None:
                    continue
                n_hidden += 1
                seen = vals[(i, col)]
                assert int(true.loc[i, col]) in seen, (key, i, col)
                assert len(seen) >= 2, f"{key} row {i} {col}: pinned to {seen}"
    return n_hidden


def test_doctest_block_is_safe_by_brute_force():
    t = pd.DataFrame(
        {
            "site_id": ["A"] * 3 + ["B"] * 3,
            "survey_year": [2025] * 6,
            "question_id": ["Q1", "Q2", "Q3"] * 2,
            "respondents": [40, 37, 36, 50, 52, 3],
            "item_nonresponse": [0, 3, 4, 5, 3, 52],
            "item_nonresponse_rate": [0.0, 0.075, 0.1, 0.09, 0.055, 0.945],
        }
    )
    out = suppress_survey(t, min_count=M)
    assert out["respondents"].tolist() == [40, 37, 36, 50, 52, "<5"]
    assert (out["item_nonresponse"] == COMPLEMENTARY_LABEL).all()
    # without the block rule: A's total is 40 + 0 and Q2's count is 40 - 37 = 3
    assert assert_not_recoverable(out, t) == 7


def test_a_block_without_small_counts_is_untouched():
    t = pd.DataFrame(
        {
            "site_id": ["A", "A", "B", "B"],
            "survey_year": [2025] * 4,
            "respondents": [40, 35, 50, 48],
            "item_nonresponse": [6, 11, 0, 2],
            "item_nonresponse_rate": [0.13, 0.24, 0.0, 0.04],
        }
    )
    out = suppress_survey(t, min_count=M)
    a = out[out["site_id"] == "A"]
    assert a["item_nonresponse"].tolist() == [6, 11]
    assert a["item_nonresponse_rate"].astype(float).tolist() == [0.13, 0.24]
    b = out[out["site_id"] == "B"]
    assert (b["item_nonresponse"] == COMPLEMENTARY_LABEL).all()
    # suppress_zero: a zero is small too
    z = suppress_survey(t.iloc[:2].assign(item_nonresponse=[0, 5]), min_count=M,
                        suppress_zero=True)  # fmt: skip
    assert (z["item_nonresponse"] == COMPLEMENTARY_LABEL).all()
    # a table without item non-response (funnels, priorities): respondents only
    f = suppress_survey(t.drop(columns=["item_nonresponse"]).assign(
        respondents=[40, 3, 50, 48]), min_count=M)  # fmt: skip
    assert f["respondents"].tolist() == [40, "<5", 50, 48]
    assert suppress_survey(t, min_count=1).equals(t)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(min_value=5, max_value=60),
    st.lists(st.integers(min_value=0, max_value=8), min_size=2, max_size=5),
)
def test_no_hidden_count_is_pinned(returned, skipped):
    """Any trust-year: respondents = returned - skipped per question."""
    skipped = [min(s, returned) for s in skipped]
    t = pd.DataFrame(
        {
            "site_id": "A",
            "survey_year": 2025,
            "respondents": [returned - s for s in skipped],
            "item_nonresponse": skipped,
            "item_nonresponse_rate": [s / returned for s in skipped],
        }
    )
    out = suppress_survey(t, min_count=M)
    assert_not_recoverable(out, t)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """One publication-mode run: T06 has 3 respondents in 2025."""
    d = tmp_path_factory.mktemp("pubsurvey")
    data = answers(seed=5, small=("T06", 3))
    data.to_csv(d / "experience.csv", index=False)
    cfg = CONFIG.replace(
        "[sources.exp]",
        '[disclosure]\nmin_count = 5\nshared = "publication"\n\n[sources.exp]',
    )
    (d / "config.toml").write_text(cfg)
    outcome = run_pipeline(d / "config.toml", d / "out", progress=False)
    assert outcome.exit_code == 0, outcome.message
    return d / "out", data


def _read(out, part):
    return pd.read_csv(
        out / "indicators" / f"survey_exp_{part}.csv",
        dtype=str,
        keep_default_na=False,
    )


def test_published_survey_scores_resist_every_recovery(published):
    from ccdata.survey import survey_indicators

    out, data = published
    truth = survey_indicators(data)
    truth["survey_year"] = truth["survey_year"].astype(str)
    scores = _read(out, "scores")
    t06 = scores[(scores["site_id"] == "T06") & (scores["survey_year"] == "2025")]
    assert (t06["respondents"] == "<5").all()
    assert (t06["mean_score"] == "").all()
    n_hidden = assert_not_recoverable(scores, truth)
    assert n_hidden >= 6  # T06's block at least
    # the true small counts of the data are all hidden
    small = truth["item_nonresponse"].between(1, M - 1)
    assert small.any()
    merged = truth[small].merge(scores, on=["site_id", "survey_year", "question_id"])
    assert (merged["item_nonresponse_y"] == COMPLEMENTARY_LABEL).all()
    # and the scores of assessed trusts are all still published
    assessed = scores["status"] == "assessed"
    assert (scores.loc[assessed, "mean_score"] != "").all()


def test_funnels_and_priorities_hide_the_same_respondents(published):
    out, _ = published
    for part in ("funnels", "priorities"):
        t = _read(out, part)
        t06 = t[(t["site_id"] == "T06") & (t["survey_year"] == "2025")]
        assert len(t06) == 3, part
        assert (t06["respondents"] == "<5").all(), part
        numeric = t["respondents"].map(_num).dropna()
        assert not numeric.between(1, M - 1).any(), part


def test_internal_mode_keeps_the_real_numbers(tmp_path):
    data = answers(seed=5, small=("T06", 3))
    data.to_csv(tmp_path / "experience.csv", index=False)
    (tmp_path / "config.toml").write_text(CONFIG.replace("dpi = 20", "figures = false"))
    outcome = run_pipeline(tmp_path / "config.toml", tmp_path / "out", progress=False)
    assert outcome.exit_code == 0, outcome.message
    scores = _read(tmp_path / "out", "scores")
    t06 = scores[(scores["site_id"] == "T06") & (scores["survey_year"] == "2025")]
    assert set(t06["respondents"]) <= {"1", "2", "3"}
    assert np.all(scores["item_nonresponse"].map(_num).notna())


@pytest.mark.parametrize("own_pack", ["suppressed", "full"])
def test_own_pack_priorities_follow_the_packs_policy(tmp_path, own_pack):
    """Issue 14: with ``own_pack = "suppressed"`` the pack's own priorities CSV
    hides small respondent numbers like the rest of the pack; in full it shows
    them (T06 has 3 respondents in 2025)."""
    data = answers(seed=5, small=("T06", 3))
    data.to_csv(tmp_path / "experience.csv", index=False)
    cfg = (
        CONFIG.replace("dpi = 20", "figures = false")
        .replace("site_packs = false", "pack_png = false")
        .replace(
            "[sources.exp]",
            f'[disclosure]\nmin_count = 5\nown_pack = "{own_pack}"\n\n[sources.exp]',
        )
    )
    (tmp_path / "config.toml").write_text(cfg)
    outcome = run_pipeline(tmp_path / "config.toml", tmp_path / "out", progress=False)
    assert outcome.exit_code == 0, outcome.message
    own = pd.read_csv(
        tmp_path / "out" / "sites" / "T06" / "survey_exp_priorities.csv",
        dtype=str,
        keep_default_na=False,
    )
    t06 = own[own["survey_year"] == "2025"]
    assert len(t06) == 3 and set(own["site_id"]) == {"T06"}
    if own_pack == "suppressed":
        assert (t06["respondents"] == "<5").all()
        numeric = own["respondents"].map(_num).dropna()
        assert not numeric.between(1, M - 1).any()
        # the larger counts of the other year are still shown
        earlier = own.loc[own["survey_year"] == "2024", "respondents"].map(_num)
        assert (earlier > 20).all()
    else:
        assert set(t06["respondents"]) <= {"1", "2", "3"}
