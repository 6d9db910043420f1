"""`survey_funnels`: one funnel per period x question of adjusted survey scores."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ccdata._params import check_choice, check_levels, level_suffix
from ccdata.comparison import FunnelResult, funnel
from ccdata.errors import InputError
from ccdata.survey._casemix import CaseMixResult
from ccdata.survey._common import NOT_ASSESSED

__all__ = ["SCORES", "SurveyFunnels", "survey_funnels"]

#: The two survey scores a funnel can be drawn for.
SCORES = ("mean", "positive")


@dataclass(frozen=True)
class SurveyFunnels:
    """Funnels of case-mix-adjusted survey scores, one per period x question.

    Attributes
    ----------
    results : Mapping[tuple, FunnelResult]
        ``{(period, question): FunnelResult}``, in period and question order.
        Each is an ordinary funnel (``ccdata.plot.funnel`` draws it; pass
        ``highlight=`` for a unit's own view with the others anonymous).
    adjusted : CaseMixResult
        The scores the funnels were drawn from.
    score : {"mean", "positive"}
        Mean score (``kind="mean"``, pooled within-unit respondent SD) or
        share of positive answers (``kind="proportion"``).
    levels : tuple of float
        Coverage of the expected ranges, ascending.
    """

    results: Mapping[tuple, FunnelResult]
    adjusted: CaseMixResult
    score: str
    levels: tuple[float, ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per unit x period x question: score, expected range, status.

        Columns: the key columns, ``respondents``, ``value`` (the adjusted
        score or share), ``se``, ``ci_lower`` and ``ci_upper`` (its interval
        at the adjustment's level), ``target`` (the national value), ``z``,
        ``z_adjusted``, the expected range ``lower_<sfx>`` and
        ``upper_<sfx>`` for each level (at the unit's number of
        respondents), ``status`` and ``note``. Sorted by unit, period and
        question, never by score.
        """
        a = self.adjusted
        frames = []
        for (per, que), res in self.results.items():
            u = res.units.drop(
                columns=["numerator", "denominator", "sd", "value",
                         "used_in_overdispersion"], errors="ignore"
            ).rename(columns={"unit": a.unit})  # fmt: skip
            u.insert(1, a.period, per)
            u.insert(2, a.question, que)
            u["target"] = res.target
            frames.append(u)
        keys = [a.unit, a.period, a.question]
        if not frames:
            return pd.DataFrame(columns=keys)
        limits = pd.concat(frames, ignore_index=True)
        sfx = level_suffix(a.level)
        if self.score == "mean":
            cols = ["adjusted_score", "adjusted_se", f"adjusted_lower_{sfx}",
                    f"adjusted_upper_{sfx}"]  # fmt: skip
        else:
            cols = ["adjusted_positive_share", "adjusted_positive_se",
                    f"adjusted_positive_lower_{sfx}",
                    f"adjusted_positive_upper_{sfx}"]  # fmt: skip
        base = a.units[[*keys, "respondents", *cols, "note"]].rename(
            columns=dict(zip(cols, ["value", "se", "ci_lower", "ci_upper"],
                             strict=True))
        )  # fmt: skip
        out = base.merge(limits, on=keys, how="left")
        out["status"] = out["status"].fillna(NOT_ASSESSED)
        order = [*keys, "respondents", "value", "se", "ci_lower", "ci_upper",
                 "target"]  # fmt: skip
        rest = [c for c in out.columns if c not in order and c != "note"]
        return out[[*order, *rest, "note"]]

    def summary(
        self,
        period: object,
        question: object,
        noun: str = "trusts",
        *,
        technical: bool = True,
    ) -> str:
        """Write the neutral sentence of one question's funnel and its suppression rule.

        Examples
        --------
        >>> from ccdata.sample_data import generate_lung_cancer_patient_experience
        >>> from ccdata.survey import case_mix_adjust
        >>> pe = generate_lung_cancer_patient_experience()
        >>> f = survey_funnels(case_mix_adjust(pe))
        >>> text = f.summary(2025, "Q05")
        >>> text[:43]
        '1 of 29 trusts above the 99.8% limit and 1 '
        >>> "1 of 30 trusts not assessed (fewer than 21 respondents" in text
        True
        """
        key = (period, question)
        if key not in self.results:
            raise InputError(
                f"SurveyFunnels.summary: no funnel for period {period!r} and question "
                f"{question!r} (every unit below the threshold, or not asked); "
                f"funnels exist for {sorted(self.results)[:6]!r}..."
            )
        text = self.results[key].summary(noun, technical=technical)
        rule = (
            f"(fewer than {self.adjusted.min_respondents} respondents: results "
            "suppressed)"
        )
        text = text.replace("(denominator of 0)", rule)
        if self.adjusted.case_mix:
            text += (
                " Scores are adjusted for case mix ("
                + ", ".join(c.replace("_", " ") for c in self.adjusted.case_mix)
                + ")."
            )
        return text


def survey_funnels(
    adjusted: CaseMixResult,
    *,
    score: str = "mean",
    levels: Sequence[float] = (0.95, 0.998),
    overdispersion: str | None = None,
    trim: float = 0.10,
    trim_method: str = "winsorise",
) -> SurveyFunnels:
    """Compute a funnel (expected range) per period x question of adjusted scores.

    Each unit's case-mix-adjusted score is set against the range expected
    from chance alone around the national value, given its number of
    respondents: ``target +/- z SD / sqrt(n)`` for the mean score, with SD the
    pooled within-unit respondent SD after case-mix adjustment, or the
    binomial limits for the share of positive answers. Units below the
    minimum number of respondents are ``not_assessed``.

    Parameters
    ----------
    adjusted : CaseMixResult
        From :func:`case_mix_adjust` (``case_mix=()`` for crude scores).
    score : {"mean", "positive"}, default "mean"
    levels : sequence of float, default (0.95, 0.998)
        Coverage of the expected ranges.
    overdispersion : {None, "multiplicative", "additive"}
        Widen the ranges for over-dispersion between units, as for every
        funnel (:func:`ccdata.funnel`); applied only when detected.
    trim, trim_method
        As for :func:`ccdata.funnel`.

    Returns
    -------
    SurveyFunnels

    Raises
    ------
    InputError
        ``adjusted`` is not a CaseMixResult; unknown ``score``; bad levels
        or over-dispersion options.

    Notes
    -----
    The funnels reuse :func:`ccdata.funnel` (``kind="mean"`` with a column
    of within-unit residual SDs, pooled as sqrt(sum((n-1) s^2) / sum(n-1));
    ``kind="proportion"`` with adjusted positive counts, exact binomial
    limits), with the national value (assessed units only) as the target.
    Questions are not combined: each has its own funnel, never a ranking.

    References
    ----------
    .. [1] Spiegelhalter DJ (2005). Funnel plots for comparing institutional
       performance. Stat Med 24:1185-1202.
    .. [2] Spiegelhalter DJ (2005). Handling over-dispersion of performance
       indicators. Qual Saf Health Care 14:347-351.

    Examples
    --------
    >>> from ccdata.sample_data import generate_lung_cancer_patient_experience
    >>> from ccdata.survey import case_mix_adjust
    >>> res = survey_funnels(case_mix_adjust(generate_lung_cancer_patient_experience()))
    >>> sorted(res.results)[:2]
    [(2024, 'Q01'), (2024, 'Q02')]
    >>> res.results[(2024, "Q07")].units.set_index("unit").loc["T05", "status"]
    'below_998'
    """
    where = "survey_funnels"
    if not isinstance(adjusted, CaseMixResult):
        raise InputError(
            f"{where} needs the result of case_mix_adjust (a CaseMixResult). Got "
            f"{type(adjusted).__name__} instead."
        )
    check_choice(score, SCORES, name="score", where=where)
    levels_t = tuple(sorted(set(check_levels(levels, where=where))))
    a = adjusted
    units = a.units
    national = a.national.set_index([a.period, a.question])
    results: dict[tuple, FunnelResult] = {}
    for (per, que), cell in units.groupby([a.period, a.question], sort=True):
        assessed = (cell["status"] == "assessed").to_numpy()
        if not assessed.any():
            continue
        n = np.where(assessed, cell["respondents"].to_numpy(dtype=float), 0.0)
        frame = pd.DataFrame({"unit": cell[a.unit].to_numpy(), "n": n})
        if score == "mean":
            frame["value"] = np.where(assessed, cell["adjusted_score"], 0.0)
            sd = np.where(assessed, cell["residual_sd"], 0.0)
            frame["sd"] = np.nan_to_num(sd, nan=0.0)
            target = float(national.at[(per, que), "mean_score"])  # type: ignore[arg-type]
            res = funnel(
                frame, numerator="value", denominator="n", unit="unit",
                kind="mean", sd="sd", target=target, levels=levels_t,
                method="normal", overdispersion=overdispersion, trim=trim,
                trim_method=trim_method,
            )  # fmt: skip
        else:
            share = np.clip(cell["adjusted_positive_share"].to_numpy(float), 0, 1)
            frame["value"] = np.where(assessed, share * n, 0.0)
            target = float(national.at[(per, que), "positive_share"])  # type: ignore[arg-type]
            res = funnel(
                frame, numerator="value", denominator="n", unit="unit",
                kind="proportion", target=target, levels=levels_t,
                method="exact", overdispersion=overdispersion, trim=trim,
                trim_method=trim_method,
            )  # fmt: skip
        results[(per, que)] = res
    return SurveyFunnels(
        results=results, adjusted=adjusted, score=score, levels=levels_t
    )
