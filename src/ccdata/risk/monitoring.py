"""Patient-by-patient monitoring: risk-adjusted CUSUM and VLAD."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ccdata._params import check_columns
from ccdata.errors import InputError, RiskWarning
from ccdata.risk._common import binary_outcome, risk_array, unit_codes
from ccdata.risk.result import CusumResult, VladResult

__all__ = ["ARLEstimate", "cusum_arl", "risk_adjusted_cusum", "vlad"]

_MAX_PASSES = 64


def _check_or(odds_ratio: float, *, where: str) -> float:
    try:
        r = float(odds_ratio)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"The 'odds_ratio' parameter of {where} must be a positive number "
            f"other than 1. Got {odds_ratio!r}."
        ) from exc
    if not np.isfinite(r) or r <= 0 or r == 1:
        raise InputError(
            f"The 'odds_ratio' parameter of {where} must be a positive number "
            f"other than 1 (e.g. 2 to detect deterioration, 0.5 improvement). "
            f"Got {odds_ratio!r}."
        )
    return r


def _check_limit(limit: float, *, where: str) -> float:
    try:
        h = float(limit)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"The 'limit' parameter of {where} must be a positive number. "
            f"Got {limit!r}."
        ) from exc
    if not np.isfinite(h) or h <= 0:
        raise InputError(
            f"The 'limit' parameter of {where} must be a positive number "
            f"(typically 2 to 5). Got {limit!r}."
        )
    return h


def cusum_weights(y: np.ndarray, p: np.ndarray, odds_ratio: float) -> np.ndarray:
    """Steiner et al. (2000) log-likelihood-ratio scores.

    ``W = y log(R) - log(1 - p + R p)``: the log-likelihood ratio of odds
    multiplied by ``R`` against odds as predicted, for one patient.

    Examples
    --------
    >>> np.round(cusum_weights(np.array([0, 1]), np.array([0.1, 0.1]), 2.0), 4)
    array([-0.0953,  0.5978])
    """
    return y * np.log(odds_ratio) - np.log1p((odds_ratio - 1.0) * p)


def _lindley(w: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """``S_t = max(0, S_{t-1} + w_t)`` from 0 in every segment, vectorised.

    Uses ``S_t = C_t - min(0, min_{k<=t} C_k)`` with ``C`` the within-segment
    cumulative sum (Lindley's recursion unrolled).
    """
    grouped = pd.Series(w).groupby(seg, sort=False)
    c = grouped.cumsum().to_numpy()
    running_min = pd.Series(c).groupby(seg, sort=False).cummin().to_numpy()
    return c - np.minimum(running_min, 0.0)


def _cusum_loop(
    w: np.ndarray, start: np.ndarray, h: float, reset: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Plain sequential recursion (fallback when signals are very frequent)."""
    s_out = np.empty(w.size)
    sig = np.zeros(w.size, dtype=bool)
    s = 0.0
    for i, (wi, st) in enumerate(zip(w.tolist(), start.tolist(), strict=True)):
        if st:
            s = 0.0
        s = max(0.0, s + wi)
        s_out[i] = s
        if s >= h:
            sig[i] = True
            if reset:
                s = 0.0
    return s_out, sig


def _cusum(
    w: np.ndarray, unit_start: np.ndarray, h: float, reset: bool
) -> tuple[np.ndarray, np.ndarray]:
    """CUSUM with resets over all units at once (rows sorted by unit, time).

    Pass 1 runs the Lindley recursion for every unit at once. Without resets
    that is the answer. With resets, each unit's rows up to its first signal
    are final; the rows after it start a new segment and the next pass repeats
    on those rows only. The number of passes is the largest number of signals
    in one unit (a handful in practice); beyond 64 passes the remaining rows
    are finished by a plain loop.
    """
    n = w.size
    s_out = np.zeros(n)
    sig = np.zeros(n, dtype=bool)
    starts = unit_start.copy()
    idx = np.arange(n)
    for _ in range(_MAX_PASSES):
        if idx.size == 0:
            return s_out, sig
        seg = np.cumsum(starts[idx]) - 1
        s = _lindley(w[idx], seg)
        hit = s >= h
        s_out[idx] = s
        if not reset or not hit.any():
            sig[idx] = hit
            return s_out, sig
        pos = np.flatnonzero(hit)
        _, first_of = np.unique(seg[pos], return_index=True)
        first = pos[first_of]
        sig[idx[first]] = True
        seg_end = np.flatnonzero(np.r_[seg[1:] != seg[:-1], True])
        ends = seg_end[seg[first]]
        mark = np.zeros(idx.size + 1, dtype=np.int64)
        np.add.at(mark, first + 1, 1)
        np.add.at(mark, ends + 1, -1)
        rest = np.cumsum(mark[:-1]) > 0
        new_start = first[first < ends] + 1
        starts[idx[new_start]] = True
        idx = idx[rest]
    s_rest, sig_rest = _cusum_loop(w[idx], starts[idx], h, reset)
    s_out[idx] = s_rest
    sig[idx] = sig_rest
    return s_out, sig


def _ordered(
    data: pd.DataFrame,
    *,
    outcome: str,
    expected: str,
    order_by: str,
    unit: str | None,
    where: str,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    check_columns(data, [outcome, expected, order_by, unit], where=where)
    if data[order_by].isna().any():
        raise InputError(
            f"{where}: order_by column {order_by!r} has "
            f"{int(data[order_by].isna().sum())} missing value(s); every patient "
            "needs a time (e.g. procedure_date)."
        )
    y = binary_outcome(data, outcome, where=where)
    p = risk_array(data, expected, where=where)
    if unit is None:
        codes = np.zeros(len(data), dtype=np.int64)
        labels = None
    else:
        codes, labels = unit_codes(data, unit, where=where)
    order_values = data[order_by].to_numpy()
    try:
        order = np.lexsort((order_values, codes))
    except TypeError as exc:
        raise InputError(
            f"{where}: order_by column {order_by!r} cannot be sorted "
            f"(dtype {data[order_by].dtype})."
        ) from exc
    codes, y, p = codes[order], y[order], p[order]
    start = np.r_[True, codes[1:] != codes[:-1]] if codes.size else codes.astype(bool)
    cols = {}
    if labels is not None:
        cols["unit"] = labels.to_numpy()[codes]
    cols[order_by] = order_values[order]
    cols[outcome] = data[outcome].to_numpy()[order]
    cols[expected] = p
    out = pd.DataFrame(cols, index=data.index[order])
    return out, y, p, start


def risk_adjusted_cusum(
    data: pd.DataFrame,
    *,
    outcome: str,
    expected: str,
    order_by: str,
    unit: str | None = None,
    odds_ratio: float = 2.0,
    limit: float = 4.5,
    reset: bool = True,
) -> CusumResult:
    """Risk-adjusted CUSUM of Steiner, Cook, Farewell & Treasure (2000).

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome : str
        0/1 outcome column.
    expected : str
        Each patient's predicted risk, strictly in (0, 1).
    order_by : str
        Column giving the time order (e.g. ``"procedure_date"``); ties keep the
        order of ``data``.
    unit : str, optional
        Column of units (sites); one CUSUM per unit. None: one CUSUM overall.
    odds_ratio : float, default 2.0
        The change to detect, ``R``: 2 detects a doubling of the odds of death
        (deterioration), 0.5 a halving (improvement).
    limit : float, default 4.5
        The control limit ``h``: a signal when the CUSUM reaches it. Choose it
        for the in-control average run length you accept (Notes,
        :func:`cusum_arl`).
    reset : bool, default True
        Restart the CUSUM at 0 after each signal.

    Returns
    -------
    CusumResult
        ``.points`` (and ``.to_frame()``): one row per patient, sorted by unit
        then ``order_by`` (the index is ``data``'s), with columns ``unit``
        (when given), ``order_by``, ``outcome``, ``expected``, ``weight`` (the
        score ``W_t``), ``cusum`` (``S_t``, before any reset) and ``signal``
        (bool, ``S_t >= h``). Typed fields ``odds_ratio``, ``limit``,
        ``reset`` and ``direction`` ("increase" for ``R > 1``, "decrease" for
        ``R < 1``).

    Notes
    -----
    For patient ``t`` with predicted risk ``p_t`` and outcome ``y_t``,

    ``W_t = y_t log(R) - log(1 - p_t + R p_t)``,
    ``S_t = max(0, S_{t-1} + W_t)``, ``S_0 = 0``; signal when ``S_t >= h``.

    ``W_t`` is the log-likelihood ratio of "odds multiplied by R" against "odds
    as predicted". With ``R > 1`` deaths push ``S`` up (evidence of worse
    outcomes than the case mix predicts). With ``R < 1`` the same formula makes
    survivals push ``S`` up, so ``S`` accumulates evidence of *better* outcomes:
    the column is always >= 0 and compared with ``+h``. Steiner et al. draw
    this lower CUSUM below the axis (``-S_t`` against ``-h``); that is a drawing
    convention only.

    Choosing ``h``: Steiner et al. (2000) illustrate ``R = 2`` with
    ``h = 4.5`` (and ``R = 0.5`` with ``h = 4``) for cardiac surgery, giving
    in-control average run lengths of thousands of patients. A lower ``h``
    detects a change sooner but alarms falsely more often. Run lengths depend
    on the case mix (Wittenberg 2022), so estimate them for yours with
    :func:`cusum_arl` before fixing ``h``.

    Computation: the recursion with resets is sequential. It is computed for
    all units at once: a vectorised Lindley recursion over every unit's
    series, repeated only on the rows after each signal (one extra pass per
    signal in the busiest unit).

    References
    ----------
    .. [1] Steiner SH, Cook RJ, Farewell VT, Treasure T (2000). Monitoring
       surgical performance using risk-adjusted cumulative sum charts.
       Biostatistics 1:441-452.
    .. [2] Page ES (1954). Continuous inspection schemes. Biometrika 41:100-115.
    .. [3] Wittenberg P (2022). Modeling the patient mix for risk-adjusted
       CUSUM charts. Stat Methods Med Res 31:779-800.

    Examples
    --------
    >>> df = pd.DataFrame({"t": [1, 2, 3], "died": [0, 1, 1], "p": [0.1] * 3})
    >>> out = risk_adjusted_cusum(df, outcome="died", expected="p", order_by="t",
    ...                           limit=1.0)
    >>> out.points["cusum"].round(4).tolist(), out.points["signal"].tolist()
    ([0.0, 0.5978, 1.1957], [False, False, True])
    """
    where = "risk_adjusted_cusum"
    r = _check_or(odds_ratio, where=where)
    h = _check_limit(limit, where=where)
    out, y, p, start = _ordered(
        data,
        outcome=outcome,
        expected=expected,
        order_by=order_by,
        unit=unit,
        where=where,
    )
    w = cusum_weights(y, p, r)
    s, sig = _cusum(w, start, h, bool(reset))
    out["weight"] = w
    out["cusum"] = s
    out["signal"] = sig
    return CusumResult(
        points=out,
        odds_ratio=r,
        limit=h,
        reset=bool(reset),
        direction="increase" if r > 1 else "decrease",
        unit_column=unit,
    )


def vlad(
    data: pd.DataFrame,
    *,
    outcome: str,
    expected: str,
    order_by: str,
    unit: str | None = None,
    odds_ratio: float | None = 2.0,
    limit: float = 4.5,
) -> VladResult:
    """Variable life-adjusted display: cumulative expected minus observed deaths.

    Parameters
    ----------
    data, outcome, expected, order_by, unit
        As for :func:`risk_adjusted_cusum`.
    odds_ratio : float or None, default 2.0
        The paired risk-adjusted CUSUM used for ``signal``; None for no signal.
    limit : float, default 4.5
        Its control limit.

    Returns
    -------
    VladResult
        ``.points`` (and ``.to_frame()``): one row per patient, sorted by unit
        then ``order_by``, with columns ``unit`` (when given), ``order_by``,
        ``outcome``, ``expected``, ``vlad`` and ``signal``; typed fields
        ``odds_ratio``, ``limit`` and ``signal_source``.

    Notes
    -----
    ``VLAD_t = sum_{i<=t} (p_i - y_i)``: the "statistical lives gained" so far,
    above 0 when fewer patients died than the case mix predicts.

    **What ``signal`` means.** The VLAD has no control limits of its own
    (Lovegrove et al. 1997 present it as a display). ``signal`` is True where
    the *paired risk-adjusted CUSUM* (Steiner et al. 2000) with ``odds_ratio``
    and ``limit``, reset after each signal, signals, so that a VLAD chart can
    mark where the formal test alarmed, as suggested by Sherlaw-Johnson (2005).
    With ``odds_ratio=None`` it is always False.

    References
    ----------
    .. [1] Lovegrove J, Valencia O, Treasure T, Sherlaw-Johnson C, Gallivan S
       (1997). Monitoring the results of cardiac surgery by variable
       life-adjusted display. Lancet 350:1128-1130.
    .. [2] Sherlaw-Johnson C (2005). A method for detecting runs of good and
       bad clinical outcomes on variable life-adjusted display (VLAD) charts.
       Health Care Manag Sci 8:61-65.
    .. [3] Steiner SH et al. (2000). Biostatistics 1:441-452.

    Examples
    --------
    >>> df = pd.DataFrame({"t": [1, 2, 3], "died": [0, 1, 0], "p": [0.1] * 3})
    >>> out = vlad(df, outcome="died", expected="p", order_by="t")
    >>> out.points["vlad"].round(2).tolist()
    [0.1, -0.8, -0.7]
    """
    where = "vlad"
    out, y, p, start = _ordered(
        data,
        outcome=outcome,
        expected=expected,
        order_by=order_by,
        unit=unit,
        where=where,
    )
    seg = np.cumsum(start) - 1
    out["vlad"] = pd.Series(p - y).groupby(seg, sort=False).cumsum().to_numpy()
    if odds_ratio is None:
        out["signal"] = False
    else:
        r = _check_or(odds_ratio, where=where)
        h = _check_limit(limit, where=where)
        _, sig = _cusum(cusum_weights(y, p, r), start, h, True)
        out["signal"] = sig
    return VladResult(
        points=out,
        odds_ratio=None if odds_ratio is None else float(odds_ratio),
        limit=float(limit),
        signal_source="paired risk-adjusted CUSUM"
        if odds_ratio is not None
        else "none",
        unit_column=unit,
    )


@dataclass(frozen=True)
class ARLEstimate:
    """Simulated average run length of a risk-adjusted CUSUM.

    ``arl`` is the mean number of patients to the first signal, ``std_error``
    its Monte Carlo standard error, ``median`` the median run length. When
    ``n_censored > 0`` some runs reached ``max_length`` without a signal and
    ``arl`` is a lower bound.
    """

    arl: float
    std_error: float
    median: float
    n_runs: int
    n_censored: int
    limit: float
    odds_ratio: float
    true_odds_ratio: float


def cusum_arl(
    expected: np.ndarray | pd.Series,
    *,
    odds_ratio: float = 2.0,
    limit: float = 4.5,
    true_odds_ratio: float = 1.0,
    n_runs: int = 1000,
    max_length: int = 1_000_000,
    seed: int | None = None,
) -> ARLEstimate:
    """Estimate a risk-adjusted CUSUM's average run length by simulation.

    Patients are drawn with replacement from the risk mix ``expected`` and die
    with the risk implied by ``true_odds_ratio`` (``R1 p / (1 - p + R1 p)``).
    ``true_odds_ratio=1`` gives the in-control ARL (patients between false
    alarms); ``true_odds_ratio=odds_ratio`` the out-of-control ARL (patients
    to detect the change).

    Parameters
    ----------
    expected : array of float
        Predicted risks in (0, 1), e.g. last year's patients.
    odds_ratio, limit : float
        The CUSUM's ``R`` and ``h``.
    true_odds_ratio : float, default 1.0
    n_runs : int, default 1000
        Simulated runs.
    max_length : int, default 1,000,000
        Runs still without a signal after this many patients are censored.
    seed : int, optional
        For reproducible estimates.

    Returns
    -------
    ARLEstimate

    Notes
    -----
    All runs advance together in blocks of patients: each block's CUSUM paths
    come from a vectorised Lindley recursion started at the previous block's
    end values, ``S_t = C_t - min(-S_0, min_{k<=t} C_k)``.

    References
    ----------
    .. [1] Steiner SH et al. (2000). Biostatistics 1:441-452 (Section 3).

    Examples
    --------
    >>> est = cusum_arl(np.full(100, 0.1), limit=0.5, n_runs=2000, seed=1)
    >>> round(est.arl)  # one death signals: geometric, mean 1/0.1
    10
    """
    where = "cusum_arl"
    r = _check_or(odds_ratio, where=where)
    h = _check_limit(limit, where=where)
    r1 = float(true_odds_ratio)
    if not np.isfinite(r1) or r1 <= 0:
        raise InputError(
            f"The 'true_odds_ratio' parameter of {where} must be positive. "
            f"Got {true_odds_ratio!r}."
        )
    risks = np.asarray(expected, dtype=float).ravel()
    if risks.size == 0 or np.any(~((risks > 0) & (risks < 1))):
        raise InputError(
            f"The 'expected' parameter of {where} must be a non-empty array of "
            "risks strictly in (0, 1)."
        )
    n_runs, max_length = int(n_runs), int(max_length)
    if n_runs < 1 or max_length < 1:
        raise InputError(f"{where}: 'n_runs' and 'max_length' must be >= 1.")
    rng = np.random.default_rng(seed)
    log_r = np.log(r)
    run_length = np.full(n_runs, max_length, dtype=np.int64)
    active = np.arange(n_runs)
    s0 = np.zeros(n_runs)
    t = 0
    while active.size and t < max_length:
        block = int(min(max_length - t, max(256, 2_000_000 // active.size)))
        p = risks[rng.integers(0, risks.size, size=(active.size, block))]
        p_true = r1 * p / (1.0 - p + r1 * p)
        died = rng.random(p.shape) < p_true
        w = died * log_r - np.log1p((r - 1.0) * p)
        c = np.cumsum(w, axis=1)
        s = c - np.minimum(np.minimum.accumulate(c, axis=1), -s0[:, None])
        hit = s >= h
        any_hit = hit.any(axis=1)
        run_length[active[any_hit]] = t + np.argmax(hit[any_hit], axis=1) + 1
        s0 = s[~any_hit, -1]
        active = active[~any_hit]
        t += block
    n_cens = int(active.size)
    if n_cens:
        warnings.warn(
            f"{where}: {n_cens} of {n_runs} runs had no signal within "
            f"{max_length} patients; the ARL is a lower bound.",
            RiskWarning,
            stacklevel=2,
        )
    rl = run_length.astype(float)
    return ARLEstimate(
        arl=float(rl.mean()),
        std_error=float(rl.std(ddof=1) / np.sqrt(n_runs)) if n_runs > 1 else np.nan,
        median=float(np.median(rl)),
        n_runs=n_runs,
        n_censored=n_cens,
        limit=h,
        odds_ratio=r,
        true_odds_ratio=r1,
    )
