"""ccdata.plot.survey_scores: a trust's own small multiples, artist by artist."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure

import ccdata.plot
from ccdata.errors import InputError
from ccdata.sample_data import (
    EXPERIENCE_SMALL_CELLS,
    EXPERIENCE_TRUST_QUESTION_EFFECTS,
    generate_lung_cancer_patient_experience,
)
from ccdata.survey import case_mix_adjust, survey_funnels


@pytest.fixture(scope="module")
def funnels():
    return survey_funnels(case_mix_adjust(generate_lung_cancer_patient_experience()))


def _points(ax):
    """One (marker, filled) per point drawn (a line may hold several points)."""
    out = []
    for ln in ax.get_lines():
        if ln.get_marker() not in ("None", "", None):
            filled = ln.get_markerfacecolor() != "white"
            out += [(ln.get_marker(), filled)] * len(ln.get_xdata())
    return out


def test_one_panel_per_question_in_order(funnels):
    axes = ccdata.plot.survey_scores(funnels, "T05", fig=Figure())
    titles = [ax.get_title(loc="left") for ax in axes.flat if ax.axison]
    assert titles == [f"Q{i:02d}" for i in range(1, 11)]
    # one point per period in each panel, and the unit's own name only
    for ax in axes.flat:
        assert len(_points(ax)) == 2
    fig = axes.flat[0].figure
    texts = [t.get_text() for t in fig.texts] + [
        t.get_text() for ax in axes.flat for t in ax.texts
    ]
    assert any("T05" in t for t in texts)
    assert not any(f"T{k:02d}" in t for t in texts for k in range(1, 31) if k != 5)


def test_marker_shape_carries_the_position(funnels):
    ((trust, question),) = EXPERIENCE_TRUST_QUESTION_EFFECTS
    axes = ccdata.plot.survey_scores(funnels, trust, fig=Figure())
    panel = [ax for ax in axes.flat if ax.get_title(loc="left") == question][0]
    assert _points(panel) == [("v", True)] * 2  # below the outer range, filled
    within = [ax for ax in axes.flat if ax.get_title(loc="left") == "Q01"][0]
    assert {m for m, _ in _points(within)} <= {"o", "^", "v"}


def test_suppressed_questions_say_so(funnels):
    ((trust, _year),) = EXPERIENCE_SMALL_CELLS
    axes = ccdata.plot.survey_scores(funnels, trust, fig=Figure())
    notes = [t.get_text() for ax in axes.flat for t in ax.texts]
    assert sum("not assessed" in t for t in notes) >= 5
    assert sum(len(_points(ax)) for ax in axes.flat) <= 15


def test_bands_follow_the_levels(funnels):
    axes = ccdata.plot.survey_scores(funnels, "T01", fig=Figure())
    fig = axes.flat[0].figure
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "Expected range (95%)" in labels and "Expected range (99.8%)" in labels
    assert not any("rank" in lab.lower() for lab in labels)


def test_refuses_a_used_figure_and_an_unknown_unit(funnels):
    fig = Figure()
    fig.add_subplot().plot([0, 1], [0, 1])
    with pytest.raises(InputError, match="empty figure"):
        ccdata.plot.survey_scores(funnels, "T01", fig=fig)
    with pytest.raises(InputError, match="T99"):
        ccdata.plot.survey_scores(funnels, "T99", fig=Figure())
    with pytest.raises(InputError, match="SurveyFunnels"):
        ccdata.plot.survey_scores(funnels.to_frame(), "T01")
