"""Patient-experience surveys: scores, case-mix adjustment, funnels, priorities.

From respondent-level answers (one row per respondent and question, the
``lung_cancer_patient_experience`` layout):

* :func:`survey_indicators` gives, per unit x period x question, the
  respondents, item non-response, the mean score with its SE, the share of
  positive answers with a Wilson interval and the response rate;
* :func:`case_mix_adjust` compares each unit with what its own respondents
  would be expected to report (within-unit regression on age band, sex and
  route to diagnosis) and returns a :class:`CaseMixResult`;
* :func:`survey_funnels` places the adjusted scores in an expected range, one
  funnel per question (:class:`SurveyFunnels`);
* :func:`trust_priorities` gives each unit its own "areas your patients rate
  lower than expected" and its changes against its own previous year
  (:class:`TrustPriorities`), never a ranking.

Results from fewer than ``min_respondents`` respondents (21 by default, as in
the national Cancer Patient Experience Survey) are suppressed and marked
``not_assessed``. The methods are in ``docs/methods.md``.
"""

from __future__ import annotations

from ccdata.survey._casemix import DEFAULT_CASE_MIX, CaseMixResult, case_mix_adjust
from ccdata.survey._common import DEFAULT_MIN_RESPONDENTS, DEFAULT_POSITIVE
from ccdata.survey._funnels import SurveyFunnels, survey_funnels
from ccdata.survey._indicators import survey_indicators
from ccdata.survey._priorities import (
    CHANGE_WORDS,
    PRIORITY_WORDS,
    TrustPriorities,
    trust_priorities,
)

__all__ = [
    "CHANGE_WORDS",
    "DEFAULT_CASE_MIX",
    "DEFAULT_MIN_RESPONDENTS",
    "DEFAULT_POSITIVE",
    "PRIORITY_WORDS",
    "CaseMixResult",
    "SurveyFunnels",
    "TrustPriorities",
    "case_mix_adjust",
    "survey_funnels",
    "survey_indicators",
    "trust_priorities",
]
