"""`screen`: conversations to have across many indicators, with FDR control.

Screening many indicators for many units at once makes chance flags certain:
with 20 indicators and 100 units at the 99.8% level, about four
unit-indicator pairs would be flagged with nothing to find. Following
Spiegelhalter et al. (2012), each pair's exact p-value enters the
Benjamini-Hochberg procedure across all pairs, and only those whose q-value
stays at or below the chosen false-discovery rate are listed, in unit-id
order, as conversations to have; never as a rank.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from ccdata._wording import check_direction, direction_word
from ccdata.comparison.core import _sorted_index
from ccdata.comparison.result import NOT_ASSESSED, FunnelResult
from ccdata.errors import InputError

__all__ = ["ScreenResult", "screen"]

_COLUMNS = [
    "unit",
    "indicator",
    "direction",
    "value",
    "p_value",
    "q_value",
    "conversation",
    "wording",
]


@dataclass(frozen=True)
class ScreenResult:
    """Unit-indicator pairs screened with false-discovery control.

    Attributes
    ----------
    tests : pandas.DataFrame
        Every assessed unit-indicator pair, in unit-id order then indicator
        order (never by p- or q-value): ``unit``, ``indicator``,
        ``direction`` (``"above"`` or ``"below"`` the expected range: the
        side of the smaller tail), ``value`` (as in the funnel),
        ``p_value`` (two-sided: twice the smaller exact tail, at most 1),
        ``q_value`` (Benjamini-Hochberg), ``conversation`` (q <= fdr) and
        ``wording``.
    fdr : float
        The false-discovery rate controlled.
    n_tests : int
        Number of unit-indicator pairs screened (m of the procedure).
    indicators : tuple of str
        The indicators, in the order given.
    """

    tests: pd.DataFrame
    fdr: float
    n_tests: int
    indicators: tuple[str, ...]

    @property
    def conversations(self) -> pd.DataFrame:
        """The pairs to talk about (q <= fdr), in unit-id order."""
        return self.tests[self.tests["conversation"]].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """Return the CSV-ready table of every pair screened (copy of :attr:`tests`)."""
        return self.tests.copy()

    def summary(self, noun: str = "sites") -> str:
        """Plain-language, neutral summary."""
        conv = self.conversations
        units = conv["unit"].nunique()
        pct = f"{self.fdr * 100:g}%"
        text = (
            f"{len(conv)} conversation{'s' if len(conv) != 1 else ''} to have, "
            f"with {units} of {self.tests['unit'].nunique()} {noun}, from "
            f"{self.n_tests} {noun[:-1] if noun.endswith('s') else noun}-indicator "
            f"pairs across {len(self.indicators)} indicators (false discovery "
            f"rate {pct}: on average no more than {pct} of the conversations "
            "listed would be about chance alone)."
        )
        if len(conv):
            text += " Listed in id order; the order carries no meaning."
        return text


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values: min over j >= i of m p_(j) / j, capped at 1."""
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(q_sorted, 1.0)
    return q


def screen(
    results: Mapping[str, FunnelResult],
    *,
    fdr: float = 0.05,
    directions: Mapping[str, str | None] | None = None,
) -> ScreenResult:
    """Conversations to have: unit-indicator pairs beyond chance after FDR control.

    Parameters
    ----------
    results : mapping of str to FunnelResult
        One funnel per indicator, keyed by the indicator's name. Each
        unit-indicator pair that was assessed is one test.
    fdr : float, default 0.05
        The false-discovery rate controlled by Benjamini-Hochberg across all
        pairs of all indicators.
    directions : mapping of str to {"increase", "decrease", None}, optional
        Which way is better for each indicator; only adds "better/worse than
        expected" to the wording. Default: no judgement.

    Returns
    -------
    ScreenResult

    Raises
    ------
    InputError
        ``results`` empty or not a mapping of funnel results, ``fdr`` not in
        (0, 1), an unknown direction.

    Notes
    -----
    Each pair's two-sided p-value is p = min(1, 2 min(p_upper, p_lower)) from
    the funnel's exact tail probabilities (``p_upper``/``p_lower`` in
    ``.units``: the null or, when over-dispersion was allowed for, the
    predictive distribution). With the m p-values sorted, q_(i) =
    min_{j >= i} m p_(j) / j, and a pair is a conversation to have when
    q <= fdr (Benjamini & Hochberg 1995). The procedure controls the expected
    share of chance findings among those listed, under independence or
    positive dependence of the tests. A conversation is an invitation to
    look at the data together, not a verdict on a unit; the list is given in
    unit-id order and must not be read as a ranking.

    References
    ----------
    .. [1] Benjamini Y, Hochberg Y (1995). Controlling the false discovery
       rate: a practical and powerful approach to multiple testing. J R Stat
       Soc B 57:289-300.
    .. [2] Spiegelhalter DJ, Sherlaw-Johnson C, Bardsley M, et al. (2012).
       Statistical methods for healthcare regulation: rating, screening and
       surveillance. J R Stat Soc A 175:1-47.

    Examples
    --------
    >>> import pandas as pd
    >>> from ccdata.comparison import funnel
    >>> a = pd.DataFrame({"site_id": list("ABCD"), "r": [5, 9, 30, 8],
    ...                   "n": [100, 100, 100, 100]})
    >>> b = pd.DataFrame({"site_id": list("ABCD"), "r": [20, 22, 18, 19],
    ...                   "n": [100, 100, 100, 100]})
    >>> res = screen({"mortality": funnel(a, numerator="r", denominator="n",
    ...                                   target=0.1),
    ...               "readmission": funnel(b, numerator="r", denominator="n",
    ...                                     target=0.2)})
    >>> res.conversations[["unit", "indicator", "direction"]].values.tolist()
    [['C', 'mortality', 'above']]
    >>> print(res.summary())
    1 conversation to have, with 1 of 4 sites, from 8 site-indicator pairs ...
    """
    where = "screen"
    if not isinstance(results, Mapping) or not results:
        raise InputError(
            f"{where}: 'results' must be a non-empty mapping of indicator name to "
            f"FunnelResult. Got {type(results).__name__}."
        )
    if not isinstance(fdr, (int, float)) or not (0.0 < fdr < 1.0):
        raise InputError(
            f"The 'fdr' parameter of {where} must be a rate in (0, 1). "
            f"Got {fdr!r} instead."
        )
    directions = dict(directions or {})
    frames: list[pd.DataFrame] = []
    for name, res in results.items():
        if not isinstance(res, FunnelResult):
            raise InputError(
                f"{where}: results[{name!r}] must be a FunnelResult (from "
                f"ccdata.funnel). Got {type(res).__name__}."
            )
        direction = check_direction(directions.get(name), where=where)
        u = res.units
        ok = (u["status"] != NOT_ASSESSED).to_numpy()
        if "p_upper" in u and "p_lower" in u:
            up = u["p_upper"].to_numpy(dtype=float)
            dn = u["p_lower"].to_numpy(dtype=float)
        else:  # results built before tail probabilities were reported
            z = u["z_adjusted"].to_numpy(dtype=float)
            up, dn = special.ndtr(-z), special.ndtr(z)
        side = np.where(up <= dn, "above", "below")
        frames.append(
            pd.DataFrame(
                {
                    "unit": u["unit"].to_numpy()[ok],
                    "indicator": name,
                    "direction": side[ok],
                    "value": u["value"].to_numpy()[ok],
                    "p_value": np.minimum(1.0, 2.0 * np.minimum(up, dn))[ok],
                    "_better": [direction_word(s, direction) for s in side[ok]],
                    "_ind": len(frames),
                }
            )
        )
    tests = pd.concat(frames, ignore_index=True)
    tests["q_value"] = _bh(tests["p_value"].to_numpy(dtype=float))
    tests["conversation"] = tests["q_value"] <= fdr
    extra = np.where(tests["_better"] != "", ", " + tests["_better"], "")
    tests["wording"] = np.where(
        tests["conversation"],
        "A conversation to have: "
        + tests["indicator"].astype(str)
        + " is "
        + tests["direction"]
        + " the expected range"
        + extra
        + " (q = "
        + tests["q_value"].map(lambda v: f"{v:.2g}")
        + ")",
        "",
    )
    tests = tests.sort_values("_ind", kind="stable")  # then units, stably
    tests = tests.iloc[_sorted_index(tests["unit"].to_numpy())]
    tests = tests[_COLUMNS].reset_index(drop=True)
    return ScreenResult(
        tests=tests,
        fdr=float(fdr),
        n_tests=len(tests),
        indicators=tuple(str(k) for k in results),
    )
