"""Patient-experience surveys in the batch job: one ``[surveys.NAME]`` table each.

For every configured survey the pipeline computes, with :mod:`ccdata.survey`,
the crude scores per unit x period x question
(:func:`~ccdata.survey.survey_indicators`), the case-mix-adjusted scores
(:func:`~ccdata.survey.case_mix_adjust`), their expected ranges
(:func:`~ccdata.survey.survey_funnels`) and each unit's own priorities
(:func:`~ccdata.survey.trust_priorities`), and writes tidy CSVs to
``indicators/``. No table holds a respondent id; results from fewer than
``min_respondents`` respondents are blank with status ``not_assessed``.

With ``[disclosure] shared = "publication"`` the tables of ``indicators/``
pass through :func:`ccdata.report.disclosure.suppress_survey` (small
respondent numbers hidden, with the item non-response of the same trust and
year hidden beside them so that nothing comes back by subtraction); the
steering report shows one funnel per question (:func:`write_survey_figures`),
for the latest survey period of each question.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
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

__all__ = [
    "SurveyOutput",
    "compute_survey",
    "publication_survey",
    "survey_files",
    "survey_tables",
    "write_survey",
    "write_survey_figures",
]


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
    #: The tables as the shared outputs show them (publication mode), by part
    #: ("scores", "funnels", "priorities"); None: the computed tables.
    published: Mapping[str, pd.DataFrame] | None = None

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


#: The parts of a survey's tables, in the order of :func:`survey_files`.
PARTS = ("scores", "funnels", "priorities")


def survey_tables(so: SurveyOutput) -> dict[str, pd.DataFrame]:
    """Return the survey's tables as the shared outputs show them, by part."""
    if so.published is not None:
        return dict(so.published)
    return {
        "scores": so.scores,
        "funnels": so.funnels.to_frame(),
        "priorities": so.priorities.to_frame(),
    }


def publication_survey(
    so: SurveyOutput, *, min_count: int, suppress_zero: bool = False
) -> SurveyOutput:
    """Return the survey as published (``[disclosure] shared = "publication"``).

    Every table goes through
    :func:`~ccdata.report.disclosure.suppress_survey`: respondent numbers
    below ``min_count`` are hidden, and the item non-response of every
    question of the same unit and period with them, so that no hidden count
    comes back as the returned total minus the visible respondents. Scores
    are published only from ``min_respondents`` (21) respondents, as before.
    The site packs keep the computed survey (a trust sees its own data).
    """
    from ccdata.report.disclosure import suppress_survey

    a = so.funnels.adjusted
    suppressed = {
        part: suppress_survey(
            table,
            unit=a.unit,
            period=a.period,
            min_count=min_count,
            suppress_zero=suppress_zero,
        )
        for part, table in survey_tables(so).items()
    }
    tables = {part: t for part, t in suppressed.items() if t is not None}
    return dataclasses.replace(so, published=tables)


def write_survey(tmp: Path, so: SurveyOutput) -> None:
    """Write the survey's tidy CSVs to ``indicators/`` (no respondent ids)."""
    idir = tmp / "indicators"
    tables = survey_tables(so)
    for part, fname in zip(PARTS, survey_files(so.name), strict=True):
        frame = tables[part]
        frame = frame.drop(columns=[c for c in frame.columns if c == "respondent_id"])
        w.write_csv(frame, idir / fname)


def steering_funnels(so: SurveyOutput) -> list[tuple[Any, Any, Any]]:
    """Return ``(period, question, FunnelResult)`` for the steering report.

    One funnel per question: its latest survey period with a funnel (at
    least one unit assessed), in question order.
    """
    latest: dict[Any, Any] = {}
    for per, que in so.funnels.results:
        if que not in latest or per > latest[que]:
            latest[que] = per
    return [
        (latest[q], q, so.funnels.results[(latest[q], q)])
        for q in sorted(latest, key=str)
    ]


def write_survey_figures(cfg: Config, tmp: Path, so: SurveyOutput) -> list[Any]:
    """Draw the steering group's funnel of each question into ``tmp/figures``.

    One figure per question (its latest period, :func:`steering_funnels`):
    every unit's case-mix-adjusted score against the expected range at its
    number of respondents around the national value, units outside the
    range labelled by identifier as on the other steering funnels, never
    ranked. Units below the minimum number of respondents are not drawn
    (their results are suppressed). Returns the
    :class:`~ccdata.report.figures.FigureInfo` of each, group
    ``"survey:<name>"``.
    """
    from ccdata.plot import funnel as plot_funnel
    from ccdata.report.figures import (
        FORMATS,
        _record,
        describe_text,
        fixed_margins,
        save_figure,
    )

    figures: list[Any] = []
    score = "mean score" if so.funnels.score == "mean" else "share of positive answers"
    adjusted = "case-mix-adjusted " if so.config.case_mix else ""
    # a fixed layout (the site packs' funnel layout): one render per figure
    size = (9.6, 4.6)
    margins = fixed_margins(size, left=0.8, right=4.35, bottom=1.25, top=0.6)
    label = f"{adjusted}{score}"
    ylabel = label[:1].upper() + label[1:]
    for per, que, res in steering_funnels(so):
        title = f"{so.title}: {que} ({per})"
        p = tmp / "figures" / f"survey_{so.name}_{w.pack_name(str(que))}.png"
        text = describe_text(res, direction="increase", period=str(per))
        text = text.replace("Community average", "National value")
        save_figure(
            lambda fig, res=res, title=title, per=per: plot_funnel(
                res,
                labels="outside",
                direction="increase",
                period=str(per),
                title=title,
                ylabel=ylabel,
                xlabel="Respondents",
                centre="National value",
                ax=fig.add_subplot(),
            ),
            p,
            dpi=cfg.run.dpi,
            size=size,
            margins=margins,
            formats=FORMATS,
            alt=text,
        )
        _record(
            figures,
            tmp,
            p,
            f"{so.title}: {que}, {per} ({adjusted}{score} funnel plot)",
            text,
            f"survey:{so.name}",
        )
    return figures
