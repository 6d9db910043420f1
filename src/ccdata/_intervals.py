"""Confidence intervals shared by the statistics modules (vectorised).

One implementation of each interval so that completeness, case ascertainment
and observed/expected ratios agree to the last digit.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def wilson_interval(x, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for the proportion ``x / n`` (vectorised).

    ``NaN`` where ``n <= 0`` or ``x`` is outside ``[0, n]``. The limits are
    exactly 0 when ``x == 0`` and exactly 1 when ``x == n``.

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and
       statistical inference. J Am Stat Assoc 22:209-212.
    .. [2] Newcombe RG (1998). Two-sided confidence intervals for the single
       proportion: comparison of seven methods. Stat Med 17:857-872.

    Examples
    --------
    >>> lo, hi = wilson_interval([0, 5], [10, 10])
    >>> np.round(lo, 4).tolist(), np.round(hi, 4).tolist()
    ([0.0, 0.2366], [0.2775, 0.7634])
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2.0)
    z2 = z * z
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        denom = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / denom
        half = z * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denom
        lower = np.clip(centre - half, 0.0, 1.0)
        upper = np.clip(centre + half, 0.0, 1.0)
    lower = np.where(x == 0, 0.0, lower)
    upper = np.where(x == n, 1.0, upper)
    bad = ~(n > 0) | ~(x >= 0) | ~(x <= n)
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)


def garwood_interval(observed, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) Poisson confidence limits for observed counts.

    ``lower = chi2.ppf(a/2, 2 O) / 2`` (0 when ``O = 0``) and
    ``upper = chi2.ppf(1 - a/2, 2 O + 2) / 2``, with ``a = 1 - level``.
    ``NaN`` where the count is negative or missing.

    References
    ----------
    .. [1] Garwood F (1936). Fiducial limits for the Poisson distribution.
       Biometrika 28:437-442.

    Examples
    --------
    >>> lo, hi = garwood_interval(np.array([0, 10]))
    >>> np.round(lo, 3).tolist(), np.round(hi, 3).tolist()
    ([0.0, 4.795], [3.689, 18.39])
    """
    o = np.asarray(observed, dtype=float)
    alpha = 1.0 - level
    with np.errstate(invalid="ignore"):
        lower = np.where(o > 0, stats.chi2.ppf(alpha / 2, 2 * o) / 2, 0.0)
        upper = stats.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2
    bad = ~(o >= 0)
    return np.where(bad, np.nan, lower), np.where(bad, np.nan, upper)
