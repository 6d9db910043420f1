"""Observed/expected ratios and risk-adjusted rates per unit.

The result is an :class:`~ccdata.risk.result.ObservedExpectedResult`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ccdata._intervals import garwood_interval
from ccdata._params import check_columns, check_levels, level_suffix
from ccdata.risk._common import binary_outcome, risk_array, unit_codes
from ccdata.risk.result import ObservedExpectedResult, PooledObservedExpected

__all__ = ["observed_expected"]


def observed_expected(
    data: pd.DataFrame,
    *,
    unit: str = "site_id",
    outcome: str,
    expected: str,
    level: float = 0.95,
) -> ObservedExpectedResult:
    """Observed and expected deaths, O/E ratio and risk-adjusted rate per unit.

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    unit : str, default "site_id"
        Column identifying the unit (site, surgeon, ...).
    outcome : str
        0/1 outcome column.
    expected : str
        Each patient's expected risk from a risk model, strictly in (0, 1)
        (e.g. ``RiskModel.predict``).
    level : float, default 0.95
        Coverage of the confidence limits; the column suffix follows it
        (0.95 -> ``_95``).

    Returns
    -------
    ObservedExpectedResult
        ``.units`` (and ``.to_frame()``): one row per unit, sorted by unit
        (never by performance), columns ``unit, n, observed, expected, ratio,
        ratio_lower_95, ratio_upper_95, crude_rate, expected_rate,
        adjusted_rate, adjusted_lower_95, adjusted_upper_95``. The pooled
        figures for all units together are in ``.pooled`` (typed fields ``n,
        observed, expected, ratio, ratio_lower, ratio_upper, crude_rate,
        expected_rate``) and the coverage in ``.level``. Pass the
        table to ``ccdata.funnel(oe.to_frame(), numerator="observed",
        denominator="expected", unit="unit", kind="ratio")``.

    Raises
    ------
    InputError
        A column is absent, the outcome is not 0/1 or missing, an expected risk
        is missing or outside (0, 1), or a unit is missing.

    Warns
    -----
    EmptyUnitWarning
        The unit column is categorical and some categories have no records;
        they are named and left out (``.empty_units``).

    Notes
    -----
    ``O`` is the number of deaths and ``E`` the sum of the patients' expected
    risks. The ratio ``O/E`` has exact Poisson limits (Garwood 1936), treating
    ``E`` as fixed: ``chi2.ppf(a/2, 2O)/(2E)`` and ``chi2.ppf(1-a/2, 2O+2)/(2E)``.
    The risk-adjusted rate is ``(O/E) x (overall crude rate)`` (indirect
    standardisation, as in NVR/NVD reports), with limits the ratio's limits times
    the overall crude rate ``sum(O)/sum(n)``. When the risk model was fitted to
    these same records the pooled ratio is 1, so the adjusted rate of a unit is
    the rate it would have had with the community's case mix.

    References
    ----------
    .. [1] Breslow NE, Day NE (1987). Statistical Methods in Cancer Research,
       Vol. II. IARC. Chapter 2 (indirect standardisation, SMR).
    .. [2] Garwood F (1936). Biometrika 28:437-442.
    .. [3] Spiegelhalter DJ (2005). Funnel plots for comparing institutional
       performance. Stat Med 24:1185-1202.

    Examples
    --------
    >>> df = pd.DataFrame({"site_id": ["A", "A", "B", "B"],
    ...                    "died": [1, 0, 0, 0],
    ...                    "risk": [0.2, 0.1, 0.3, 0.4]})
    >>> oe = observed_expected(df, outcome="died", expected="risk")
    >>> oe.units["ratio"].round(3).tolist(), oe.pooled.ratio
    ([3.333, 0.0], 1.0)
    """
    where = "observed_expected"
    check_columns(data, [unit, outcome, expected], where=where)
    (level,) = check_levels([level], where=where)
    suffix = level_suffix(level)
    y = binary_outcome(data, outcome, where=where)
    p = risk_array(data, expected, where=where)
    codes, labels = unit_codes(data, unit, where=where)
    k = len(labels)
    n = np.bincount(codes, minlength=k)
    o = np.bincount(codes, weights=y, minlength=k)
    e = np.bincount(codes, weights=p, minlength=k)
    crude_all = y.sum() / y.size if y.size else np.nan
    lo, hi = garwood_interval(o, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = o / e
        table = pd.DataFrame(
            {
                "unit": labels.to_numpy(),
                "n": n.astype(np.int64),
                "observed": o.astype(np.int64),
                "expected": e,
                "ratio": ratio,
                f"ratio_lower_{suffix}": lo / e,
                f"ratio_upper_{suffix}": hi / e,
                "crude_rate": o / n,
                "expected_rate": e / n,
                "adjusted_rate": ratio * crude_all,
                f"adjusted_lower_{suffix}": lo / e * crude_all,
                f"adjusted_upper_{suffix}": hi / e * crude_all,
            }
        )
    o_all, e_all = float(y.sum()), float(p.sum())
    plo, phi = garwood_interval(np.array([o_all]), level)
    nan = float("nan")
    empty: tuple = ()
    if isinstance(data[unit].dtype, pd.CategoricalDtype):
        empty = tuple(sorted(set(data[unit].cat.categories) - set(labels), key=str))
    pooled = PooledObservedExpected(
        n=int(y.size),
        observed=int(o_all),
        expected=e_all,
        ratio=o_all / e_all if e_all else nan,
        ratio_lower=float(plo[0]) / e_all if e_all else nan,
        ratio_upper=float(phi[0]) / e_all if e_all else nan,
        crude_rate=float(crude_all),
        expected_rate=e_all / y.size if y.size else nan,
    )
    return ObservedExpectedResult(
        units=table, pooled=pooled, level=float(level), empty_units=empty
    )
