"""Runs analysis with the Anhøj rules, vectorised over many series at once.

Every function here works on 2-D arrays with one row per series and one
column per period of a phase, so that 10,000 series are analysed with a few
numpy operations and no Python loop over series.
"""

from __future__ import annotations

import numpy as np

__all__ = ["anhoej_limits"]


def _limits_array(n_useful: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised Anhøj critical values; NaN where there are no useful points."""
    from scipy.stats import binom  # lazy: keeps ``import ccdata`` light

    n = np.asarray(n_useful, dtype=float)
    ok = n > 0
    safe = np.where(ok, n, 1.0)
    longest_max = np.where(ok, np.round(np.log2(safe)) + 3.0, np.nan)
    trials = np.maximum(safe - 1.0, 0.0)
    crossings_min = np.where(ok, binom.ppf(0.05, trials, 0.5), np.nan)
    return longest_max, crossings_min


def anhoej_limits(n_useful: int) -> tuple[int, int]:
    """Critical values of the Anhøj run-chart rules for ``n_useful`` points.

    Parameters
    ----------
    n_useful : int
        Number of useful observations: points that are not missing and do not
        fall exactly on the centre line. Must be at least 1.

    Returns
    -------
    longest_run_max : int
        ``round(log2(n) + 3)``. A longest run *longer* than this is a signal.
    crossings_min : int
        The 5% quantile of the binomial distribution with ``n - 1`` trials and
        probability 0.5 (R's ``qbinom(0.05, n - 1, 0.5)``). *Fewer* crossings
        than this is a signal.

    Raises
    ------
    InputError
        If ``n_useful`` is not a positive integer.

    Notes
    -----
    Same values as the table in Appendix 2 of the qicharts2 vignette.

    References
    ----------
    .. [1] Anhøj J, Olesen AV (2014). Run charts revisited: a simulation study
       of run chart rules for detection of non-random variation in health care
       processes. PLoS ONE 9(11):e113825.
    .. [2] Anhøj J (2015). Diagnostic value of run chart analysis: using
       likelihood ratios to compare run chart rules on simulated data series.
       PLoS ONE 10(3):e0121349.

    Examples
    --------
    >>> anhoej_limits(24)
    (8, 8)
    >>> anhoej_limits(10)
    (6, 2)
    """
    from ccdata.errors import InputError

    if isinstance(n_useful, bool) or not isinstance(n_useful, (int, np.integer)):
        raise InputError(
            "The 'n_useful' parameter of anhoej_limits must be a positive integer. "
            f"Got {n_useful!r} instead."
        )
    if n_useful < 1:
        raise InputError(
            "The 'n_useful' parameter of anhoej_limits must be a positive integer. "
            f"Got {n_useful!r} instead."
        )
    lr, cr = _limits_array(np.array([n_useful]))
    return int(lr[0]), int(cr[0])


def runs_analysis(y: np.ndarray, centre: np.ndarray) -> dict[str, np.ndarray]:
    """Anhøj runs analysis of every row of ``y`` against its centre.

    Parameters
    ----------
    y : ndarray, shape (S, m)
        Points of one phase of S series; NaN for missing points.
    centre : ndarray, shape (S,)
        Centre line of each row.

    Returns
    -------
    dict
        ``n_useful, longest_run, longest_run_max, crossings, crossings_min,
        runs_signal`` (shape (S,)) and ``long_run`` (shape (S, m): the point
        belongs to a run longer than ``longest_run_max``).

    Notes
    -----
    Points on the centre line and missing points are not useful: they neither
    break nor contribute to a run (qicharts2 ``runs.analysis``).
    """
    s_count, m = y.shape
    with np.errstate(invalid="ignore"):
        side = np.sign(y - centre[:, None])
    side[np.isnan(side)] = 0.0
    useful = side != 0
    n_useful = useful.sum(axis=1)

    # index of the last useful point strictly before each position (-1: none)
    pos = np.where(useful, np.arange(m), -1)
    last = np.maximum.accumulate(pos, axis=1)
    prev = np.concatenate([np.full((s_count, 1), -1), last[:, :-1]], axis=1)
    prev_side = np.take_along_axis(side, np.maximum(prev, 0), axis=1)
    prev_side[prev < 0] = 0.0

    starts = useful & (prev_side != side)
    crossings = (useful & (prev_side != 0) & (prev_side != side)).sum(axis=1)

    run_id = np.cumsum(starts, axis=1)
    gid = np.arange(s_count)[:, None] * (m + 1) + run_id
    lengths = np.bincount(gid[useful], minlength=s_count * (m + 1))
    run_len = np.where(useful, lengths[gid], 0)
    longest = run_len.max(axis=1) if m else np.zeros(s_count, dtype=int)

    longest_max, crossings_min = _limits_array(n_useful)
    has = n_useful > 0
    with np.errstate(invalid="ignore"):
        signal = has & ((longest > longest_max) | (crossings < crossings_min))
        long_run = run_len > longest_max[:, None]
    return {
        "n_useful": n_useful,
        "longest_run": np.where(has, longest, np.nan),
        "longest_run_max": longest_max,
        "crossings": np.where(has, crossings, np.nan),
        "crossings_min": crossings_min,
        "runs_signal": signal,
        "long_run": long_run & useful,
        "few_crossings": has & (crossings < np.nan_to_num(crossings_min, nan=-1)),
    }
