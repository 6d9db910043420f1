"""Patient-experience surveys in the batch job: one ``[surveys.NAME]`` table each.

For every configured survey the pipeline computes, with :mod:`ccdata.survey`,
the crude scores per unit x period x question
(:func:`~ccdata.survey.survey_indicators`), the case-mix-adjusted scores
(:func:`~ccdata.survey.case_mix_adjust`), their expected ranges
(:func:`~ccdata.survey.survey_funnels`) and each unit's own priorities
(:func:`~ccdata.survey.trust_priorities`), and writes tidy CSVs to
``indicators/``. No table holds a respondent id; results from fewer than
``min_respondents`` respondents are blank with status ``not_assessed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ccdata.report import writers as w
from ccdata.report.config import Config, SurveyConfig
from ccdata.survey import (
    case_mix_adjust,
    survey_funnels,
    survey_indicators,
    trust_priorities,
)

__all__ = ["SurveyOutput", "compute_survey", "survey_files", "write_survey"]


@dataclass(frozen=True)
class SurveyOutput:
    """One survey's results in a batch run."""

    name: str
    config: SurveyConfig
    title: str
    scores: pd.DataFrame
    funnels: Any  # ccdata.survey.SurveyFunnels
    priorities: Any  # ccdata.survey.TrustPriorities
    rule: str

    @property
    def units(self) -> list[str]:
        """Return the units (trusts) of the survey, as strings."""
        return sorted({str(u) for u in self.scores["site_id"]})


def compute_survey(cfg: Config, name: str, data: pd.DataFrame) -> SurveyOutput:
    """Compute survey ``name`` of ``cfg`` from its validated source frame."""
    sc = cfg.surveys[name]
    if sc.questions is not None:
        data = data[data["question_id"].astype(str).isin(sc.questions)]
    ind = survey_indicators(
        data, positive=sc.positive, min_respondents=sc.min_respondents
    )
    adj = case_mix_adjust(
        data,
        case_mix=sc.case_mix,
        positive=sc.positive,
        min_respondents=sc.min_respondents,
    )
    od = cfg.funnel.overdispersion
    fun = survey_funnels(
        adj,
        score=sc.score,
        levels=tuple(cfg.funnel.levels),
        overdispersion=None if od in (None, "none") else od,
    )
    pri = trust_priorities(fun, level=sc.level)
    rule = (
        f"Results from fewer than {sc.min_respondents} respondents to a "
        "question are suppressed (blank, status not_assessed)."
    )
    return SurveyOutput(name, sc, sc.title or name, ind, fun, pri, rule)


def survey_files(name: str) -> list[str]:
    """Return the ``indicators/`` file names written for survey ``name``."""
    return [f"survey_{name}_{k}.csv" for k in ("scores", "funnels", "priorities")]


def write_survey(tmp: Path, so: SurveyOutput) -> None:
    """Write the survey's tidy CSVs to ``indicators/`` (no respondent ids)."""
    idir = tmp / "indicators"
    scores, funnels, priorities = survey_files(so.name)
    for frame, fname in (
        (so.scores, scores),
        (so.funnels.to_frame(), funnels),
        (so.priorities.to_frame(), priorities),
    ):
        frame = frame.drop(columns=[c for c in frame.columns if c == "respondent_id"])
        w.write_csv(frame, idir / fname)
