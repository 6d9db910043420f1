"""Over-dispersion: trimmed z-scores, phi and the DerSimonian-Laird tau^2.

Follows Spiegelhalter (2005) "Handling over-dispersion of performance
indicators" and Spiegelhalter et al. (2012), with the winsorising of
FunnelPlotR and the truncation rule of the NHS Digital SHMI methodology.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ccdata.errors import InputError

__all__ = ["OverdispersionEstimate", "estimate_overdispersion", "quantile_type7"]

TRIM_METHODS = ("winsorise", "truncate")


@dataclass(frozen=True)
class OverdispersionEstimate:
    """phi, tau^2 and the dispersion test for one set of z-scores.

    Attributes
    ----------
    phi : float
        Mean of the squared (winsorised or truncated) z-scores.
    tau2 : float
        DerSimonian-Laird between-unit variance on the z-score scale, >= 0.
    n_used : int
        I, the number of z-scores in phi (after truncation).
    statistic : float
        The dispersion test statistic: the sum of the squared *untrimmed*
        z-scores of all units (trimming would bias it downward).
    p_value : float
        Upper-tail chi-squared probability of ``statistic`` on N - 1 degrees
        of freedom (N units; N if the target was given rather than pooled).
        NaN when any z-score is infinite.
    detected : bool
        True when phi > 1: the (trimmed) spread exceeds what chance predicts,
        the rule for applying either adjustment (tau^2 is then > 0).
    used : numpy.ndarray of bool
        Which units entered phi.
    """

    phi: float
    tau2: float
    n_used: int
    statistic: float
    p_value: float
    detected: bool
    used: np.ndarray


def quantile_type7(values: np.ndarray, q: float) -> float:
    """R's default (type 7) sample quantile, keeping -inf/inf as R does.

    h = (N - 1) q; the quantile is x[floor(h)] + (h - floor(h)) (x[floor(h)+1] -
    x[floor(h)]) on the sorted values, written so that an infinite end point
    gives an infinite quantile rather than NaN.

    >>> quantile_type7(np.array([1.0, 2.0, 3.0, 4.0, 10.0]), 0.1)
    1.4
    """
    x = np.sort(np.asarray(values, dtype=float))
    h = (x.size - 1) * q
    lo = int(np.floor(h))
    frac = h - lo
    if frac == 0 or lo + 1 >= x.size:
        return float(x[lo])
    a, b = x[lo], x[lo + 1]
    if np.isinf(a) or np.isinf(b):
        return float(a if np.isinf(a) else b)
    return float((1 - frac) * a + frac * b)


def estimate_overdispersion(
    z: np.ndarray,
    se: np.ndarray,
    *,
    trim: float = 0.10,
    trim_method: str = "winsorise",
    pooled_target: bool = True,
) -> OverdispersionEstimate:
    """Estimate phi and tau^2 from unadjusted z-scores and their standard errors.

    Parameters
    ----------
    z : numpy.ndarray
        z-scores on the method's scale, one per assessed unit (may be +/-inf,
        e.g. zero events on the log scale).
    se : numpy.ndarray
        The null standard error s_i of each unit on the same scale.
    trim : float, default 0.10
        Fraction of each tail winsorised or truncated, in [0, 0.5).
    trim_method : {"winsorise", "truncate"}
        ``"winsorise"``: z-scores beyond the type-7 quantiles at ``trim`` and
        ``1 - trim`` are replaced by those quantiles (all units are used).
        ``"truncate"`` (SHMI): rank the z-scores (ties averaged), bin each in
        floor(rank x k / (N + 1)) with k = 1 / trim, and drop bins 0 and
        k - 1 and above.
    pooled_target : bool, default True
        The target was estimated from these units (the dispersion test then
        has N - 1 degrees of freedom, otherwise N).

    Returns
    -------
    OverdispersionEstimate

    Notes
    -----
    phi = (1/I) sum z_i^2; tau^2 = max(0, (I phi - (I - 1)) /
    (sum w_i - sum w_i^2 / sum w_i)) with w_i = 1 / s_i^2 over the units used
    (DerSimonian & Laird 1986, as in Spiegelhalter et al. 2012).

    Trimming biases phi (and so tau^2) downward: with no over-dispersion and
    normal z-scores, 10% winsorising gives E(phi) = 0.68 and 10% truncation
    0.44, not 1 (measured: 0.679 and 0.439 over 20,000 simulated funnels of
    100 units). The test therefore uses the untrimmed z-scores,
    sum z_i^2 ~ chi-squared(N - 1) under the null (Spiegelhalter 2005).

    References
    ----------
    .. [1] Spiegelhalter DJ (2005). Handling over-dispersion of performance
       indicators. Qual Saf Health Care 14:347-351.
    .. [2] Spiegelhalter DJ, Sherlaw-Johnson C, Bardsley M, et al. (2012).
       Statistical methods for healthcare regulation: rating, screening and
       surveillance. J R Stat Soc A 175:1-47.
    .. [3] NHS Digital. Summary Hospital-level Mortality Indicator (SHMI):
       methodology (truncation of z-scores at 10% each tail).

    Examples
    --------
    >>> est = estimate_overdispersion(np.array([-2.0, 0.0, 2.0]), np.ones(3), trim=0)
    >>> round(est.phi, 4), round(est.tau2, 4), est.detected
    (2.6667, 3.0, True)
    """
    z = np.asarray(z, dtype=float)
    se = np.asarray(se, dtype=float)
    if not (0.0 <= trim < 0.5):
        raise InputError(
            "The 'trim' parameter must be a fraction in [0, 0.5). "
            f"Got {trim!r} instead."
        )
    if trim_method not in TRIM_METHODS:
        raise InputError(
            f"The 'trim_method' parameter must be one of {TRIM_METHODS!r}. "
            f"Got {trim_method!r} instead."
        )
    n = z.size
    with np.errstate(over="ignore", invalid="ignore"):
        q_all = float(np.sum(z**2))
    df = n - 1 if pooled_target else n
    if np.isfinite(q_all) and df > 0:
        statistic, p_value = q_all, float(stats.chi2.sf(q_all, df))
    else:
        statistic, p_value = q_all, float("nan")
    if trim_method == "winsorise" or trim == 0:
        used = np.ones(n, dtype=bool)
        if trim > 0 and n > 0:
            lo = quantile_type7(z, trim)
            hi = quantile_type7(z, 1 - trim)
            zw = np.clip(z, lo, hi)
        else:
            zw = z
    else:
        k = 1.0 / trim
        ranks = stats.rankdata(z, method="average")
        bins = np.floor(ranks * k / (n + 1))
        used = (bins > 0) & (bins < k - 1)
        zw = z[used]
    n_used = int(zw.size)
    if n_used < 2:
        return OverdispersionEstimate(
            phi=float("nan"),
            tau2=float("nan"),
            n_used=n_used,
            statistic=statistic,
            p_value=p_value,
            detected=False,
            used=used,
        )
    with np.errstate(over="ignore", invalid="ignore"):
        phi = float(np.mean(zw**2))
    if not np.isfinite(phi):
        raise InputError(
            "Over-dispersion cannot be estimated: some z-scores are infinite after "
            f"{trim_method!r} trimming (e.g. zero events on the log scale). Use "
            "trim_method='truncate', a larger 'trim', or another method."
        )
    i_phi = n_used * phi
    detected = phi > 1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        w = 1.0 / se[used] ** 2
        denom = w.sum() - (w**2).sum() / w.sum()
    if i_phi > n_used - 1 and np.isfinite(denom) and denom > 0:
        tau2 = max(0.0, (i_phi - (n_used - 1)) / denom)
    else:
        tau2 = 0.0
    return OverdispersionEstimate(
        phi=phi,
        tau2=float(tau2),
        n_used=n_used,
        statistic=float(statistic),
        p_value=p_value,
        detected=bool(detected),
        used=used,
    )
