"""`trust_priorities`: each unit's own areas for improvement, never a ranking."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ccdata._params import level_suffix
from ccdata.errors import InputError
from ccdata.survey._common import check_level
from ccdata.survey._funnels import SurveyFunnels

__all__ = ["CHANGE_WORDS", "PRIORITY_WORDS", "TrustPriorities", "trust_priorities"]

LOWER = "area your patients rate lower than expected"
HIGHER = "area your patients rate higher than expected"
WITHIN = "within the expected range"
IMPROVED = "improved beyond chance since"
WORSENED = "worsened beyond chance since"
NO_CHANGE = "no change beyond chance since"
NOT_COMPARED = "not compared"
#: The words of the ``position`` column.
PRIORITY_WORDS = (LOWER, HIGHER, WITHIN, "not assessed")
#: The words of the ``change`` column (followed by the previous period).
CHANGE_WORDS = (IMPROVED, WORSENED, NO_CHANGE, NOT_COMPARED)


@dataclass(frozen=True)
class TrustPriorities:
    """Each unit's own priorities for one period.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per unit x question, sorted by unit and question id (never
        by score): the key columns, ``respondents``, ``score``, ``lower``,
        ``upper`` (the expected range at ``level``), ``position`` (one of
        :data:`PRIORITY_WORDS`), ``previous_period``, ``previous_score``,
        ``change`` (score - previous score), ``change_se``, ``change_status``
        (one of :data:`CHANGE_WORDS`, with the previous period) and ``note``.
    unit, period, question : str
        Key column names.
    current : object
        The period the priorities are for.
    previous : object or None
        The period compared with (None if there is none).
    level, change_level : float
    min_respondents : int
    case_mix : tuple of str
        The case-mix variables the scores were adjusted for (empty: crude).
    """

    table: pd.DataFrame
    unit: str
    period: str
    question: str
    current: object
    previous: object
    level: float
    change_level: float
    min_respondents: int
    case_mix: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """Return the CSV-ready table (a copy of :attr:`table`)."""
        return self.table.copy()

    def for_unit(self, unit: object) -> pd.DataFrame:
        """Return the rows of one unit (its own view: no other unit appears)."""
        rows = self.table[self.table[self.unit] == unit]
        if rows.empty:
            raise InputError(
                f"TrustPriorities.for_unit: unit {unit!r} is not in the table; "
                f"units are {sorted(self.table[self.unit].unique().tolist())!r}."
            )
        return rows.reset_index(drop=True)

    def summary(self, unit: object) -> str:
        """Plain words for one unit's pack: its own areas, in question order."""
        rows = self.for_unit(unit)
        pct = f"{self.level * 100:g}%"
        low = rows.loc[rows["position"] == LOWER, self.question].tolist()
        high = rows.loc[rows["position"] == HIGHER, self.question].tolist()
        adjusted = ", after case-mix adjustment" if self.case_mix else ""
        parts = [
            f"Survey {self.current}. Areas your patients rate lower than expected "
            f"(below the {pct} expected range{adjusted}): "
            + (", ".join(map(str, low)) if low else "none")
            + "."
        ]
        if high:
            parts.append(
                "Areas your patients rate higher than expected: "
                + ", ".join(map(str, high))
                + "."
            )
        if self.previous is not None:
            up = rows.loc[rows["change_status"].str.startswith(IMPROVED),
                          self.question].tolist()  # fmt: skip
            down = rows.loc[rows["change_status"].str.startswith(WORSENED),
                            self.question].tolist()  # fmt: skip
            parts.append(
                f"Compared with your own results in {self.previous}: improved "
                f"beyond chance on {', '.join(map(str, up)) if up else 'none'}; "
                f"worsened beyond chance on "
                f"{', '.join(map(str, down)) if down else 'none'}."
            )
        n_supp = int((rows["position"] == "not assessed").sum())
        if n_supp:
            parts.append(
                f"{n_supp} question(s) not assessed: fewer than "
                f"{self.min_respondents} respondents, results suppressed."
            )
        return " ".join(parts)


def trust_priorities(
    funnels: SurveyFunnels,
    *,
    period: object | None = None,
    level: float | None = None,
    change_level: float | None = None,
) -> TrustPriorities:
    """Each unit's own priorities: where its patients rate it lower than expected.

    For every unit and question of one period: whether the unit's adjusted
    score sits below ("area your patients rate lower than expected"), within
    or above its expected range, and whether it improved or worsened beyond
    chance against the unit's own previous period. Each unit reads its own
    rows; the table is never sorted by score and there is no cross-unit list
    of questions.

    Parameters
    ----------
    funnels : SurveyFunnels
        From :func:`survey_funnels`.
    period : optional
        The period; default the latest. The previous period is the one before
        it among the periods of ``funnels`` (none for the first).
    level : float, optional
        Which expected range decides "lower than expected"; one of
        ``funnels.levels``, default the widest (99.8%).
    change_level : float, optional
        Two-sided level of the test of change; default ``level``.

    Returns
    -------
    TrustPriorities

    Raises
    ------
    InputError
        ``funnels`` is not a SurveyFunnels; an unknown period or a level not
        among the funnels' levels.

    Notes
    -----
    The change is ``score_now - score_before`` of the same unit and question
    (independent samples of respondents), with ``se = sqrt(se_now^2 +
    se_before^2)``; it is beyond chance when ``|change| / se`` exceeds the
    normal quantile of ``change_level``. Each year's score is adjusted to
    that year's national case mix. A question not assessed in either period
    is "not compared".

    Examples
    --------
    >>> from ccdata.sample_data import generate_lung_cancer_patient_experience
    >>> from ccdata.survey import case_mix_adjust, survey_funnels
    >>> pri = trust_priorities(survey_funnels(case_mix_adjust(
    ...     generate_lung_cancer_patient_experience())))
    >>> t05 = pri.for_unit("T05")
    >>> t05.loc[t05["position"] == PRIORITY_WORDS[0], "question_id"].tolist()
    ['Q07']
    """
    where = "trust_priorities"
    if not isinstance(funnels, SurveyFunnels):
        raise InputError(
            f"{where} needs the result of survey_funnels (a SurveyFunnels). Got "
            f"{type(funnels).__name__} instead."
        )
    if level is None:
        level = funnels.levels[-1]
    level = check_level(level, where=where)
    if not any(np.isclose(level, v) for v in funnels.levels):
        raise InputError(
            f"The 'level' parameter of {where} must be one of the funnels' levels "
            f"{funnels.levels!r}. Got {level!r} instead."
        )
    change_level = (
        level if change_level is None else check_level(change_level, where=where)
    )
    a = funnels.adjusted
    frame = funnels.to_frame()
    periods = sorted(frame[a.period].dropna().unique().tolist())
    if not periods:
        raise InputError(f"{where}: the funnels hold no assessed unit.")
    if period is None:
        period = periods[-1]
    if period not in periods:
        raise InputError(
            f"The 'period' parameter of {where} must be one of {periods!r}. "
            f"Got {period!r} instead."
        )
    pos = periods.index(period)
    previous = periods[pos - 1] if pos > 0 else None
    sfx = level_suffix(level)
    now = frame[frame[a.period] == period]
    keys = [a.unit, a.question]
    out = now[[*keys, "respondents", "value", "se", f"lower_{sfx}", f"upper_{sfx}",
               "status", "note"]].rename(
        columns={"value": "score", f"lower_{sfx}": "lower", f"upper_{sfx}": "upper"}
    )  # fmt: skip
    out.insert(1, a.period, [period] * len(out))
    score = out["score"].to_numpy(float)
    assessed = (out["status"] != "not_assessed").to_numpy()
    position = np.select(
        [~assessed, score < out["lower"].to_numpy(float),
         score > out["upper"].to_numpy(float)],
        ["not assessed", LOWER, HIGHER],
        default=WITHIN,
    ).astype(object)  # fmt: skip
    out["position"] = position
    out["previous_period"] = previous
    if previous is not None:
        before = frame.loc[frame[a.period] == previous, [*keys, "value", "se"]]
        before = before.rename(columns={"value": "previous_score",
                                        "se": "previous_se"})  # fmt: skip
        out = out.merge(before, on=keys, how="left")
    else:
        out["previous_score"] = np.nan
        out["previous_se"] = np.nan
    out["change"] = out["score"] - out["previous_score"]
    out["change_se"] = np.sqrt(out["se"] ** 2 + out["previous_se"] ** 2)
    zc = float(stats.norm.ppf(0.5 + change_level / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        zval = (out["change"] / out["change_se"]).to_numpy(float)
    comparable = np.isfinite(zval)
    label = f" {previous}" if previous is not None else ""
    out["change_status"] = np.select(
        [~comparable, zval > zc, zval < -zc],
        [NOT_COMPARED, IMPROVED + label, WORSENED + label],
        default=NO_CHANGE + label,
    ).astype(object)
    out = out.drop(columns=["previous_se", "status"])
    cols = [c for c in out.columns if c != "note"] + ["note"]
    out = out[cols].sort_values(keys, kind="stable", ignore_index=True)
    return TrustPriorities(
        table=out,
        unit=a.unit,
        period=a.period,
        question=a.question,
        current=period,
        previous=previous,
        level=level,
        change_level=change_level,
        min_respondents=a.min_respondents,
        case_mix=tuple(a.case_mix),
    )
