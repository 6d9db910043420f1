"""Discrimination and calibration of predicted risks against observed outcomes.

The c-statistic, Hosmer-Lemeshow test, Brier score and calibration table are
plain numpy/scipy; the calibration intercept and slope are small logistic
regressions fitted by statsmodels (imported only when they are computed).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from ccdata.errors import InputError, RiskWarning

__all__ = [
    "RISK_GROUP_TOLERANCE",
    "HosmerLemeshow",
    "RiskDiagnostics",
    "assess_predictions",
    "c_statistic",
    "risk_group_cuts",
    "risk_group_order_statistics",
]

#: Risks within this distance above a cut point are tied with it (same group).
RISK_GROUP_TOLERANCE = 1e-12


@dataclass(frozen=True)
class HosmerLemeshow:
    """Hosmer-Lemeshow goodness-of-fit test on groups of predicted risk."""

    statistic: float
    df: int
    p_value: float
    groups: int


@dataclass(frozen=True)
class RiskDiagnostics:
    """How well predicted risks discriminate and calibrate.

    Attributes
    ----------
    n, observed, expected : number of patients, deaths and summed predicted risk.
    c_statistic : area under the ROC curve (Mann-Whitney form).
    c_statistic_ci : its 95% DeLong confidence interval (lower, upper).
    calibration_in_the_large, calibration_in_the_large_ci : intercept ``a`` of
        ``logit P(y=1) = a + offset(logit p)``; 0 when calibrated.
    calibration_slope, calibration_slope_ci : slope ``b`` of
        ``logit P(y=1) = a + b logit p`` (Cox 1958); 1 when calibrated, below 1
        when predictions are too extreme (overfitting); NaN when every
        predicted risk is the same (no slope to estimate).
    hosmer_lemeshow : :class:`HosmerLemeshow`.
    brier_score : mean squared difference between outcome and predicted risk.
    calibration_table : one row per risk group (decile), ordered by risk.
    development : True when assessed on the data the model was fitted to.
    """

    n: int
    observed: int
    expected: float
    c_statistic: float
    c_statistic_ci: tuple[float, float]
    calibration_in_the_large: float
    calibration_in_the_large_ci: tuple[float, float]
    calibration_slope: float
    calibration_slope_ci: tuple[float, float]
    hosmer_lemeshow: HosmerLemeshow
    brier_score: float
    calibration_table: pd.DataFrame
    development: bool

    def to_frame(self) -> pd.DataFrame:
        """Return the scalar diagnostics as a two-column table ``statistic, value``."""
        hl = self.hosmer_lemeshow
        rows = [
            ("n", self.n),
            ("observed", self.observed),
            ("expected", self.expected),
            ("c_statistic", self.c_statistic),
            ("c_statistic_lower_95", self.c_statistic_ci[0]),
            ("c_statistic_upper_95", self.c_statistic_ci[1]),
            ("calibration_in_the_large", self.calibration_in_the_large),
            ("calibration_in_the_large_lower_95", self.calibration_in_the_large_ci[0]),
            ("calibration_in_the_large_upper_95", self.calibration_in_the_large_ci[1]),
            ("calibration_slope", self.calibration_slope),
            ("calibration_slope_lower_95", self.calibration_slope_ci[0]),
            ("calibration_slope_upper_95", self.calibration_slope_ci[1]),
            ("hosmer_lemeshow_statistic", hl.statistic),
            ("hosmer_lemeshow_df", hl.df),
            ("hosmer_lemeshow_p_value", hl.p_value),
            ("brier_score", self.brier_score),
        ]
        return pd.DataFrame(
            {"statistic": [r[0] for r in rows], "value": [float(r[1]) for r in rows]}
        )

    def __repr__(self) -> str:
        """Summarise the result in one line."""
        lo, hi = self.c_statistic_ci
        data = "development" if self.development else "validation"
        return (
            f"RiskDiagnostics({data} data, n={self.n:,}, observed={self.observed:,}, "
            f"expected={self.expected:.1f}, c={self.c_statistic:.3f} "
            f"({lo:.3f}-{hi:.3f}), slope={self.calibration_slope:.3f}, "
            f"HL p={self.hosmer_lemeshow.p_value:.3g})"
        )

    def _repr_html_(self) -> str:
        from html import escape

        head = f"<p><b>{escape(repr(self))}</b></p>"
        return head + self.calibration_table.to_html(
            index=False, float_format="{:.4g}".format
        )


def c_statistic(y: np.ndarray, p: np.ndarray) -> tuple[float, float, float]:
    """C-statistic with its DeLong standard error, from midranks.

    Returns ``(c, lower_95, upper_95)``. Ties in ``p`` count one half, as in the
    Mann-Whitney U statistic: ``c = U / (n1 n0)``. The variance is DeLong's
    structural-component estimator; the placement values are counted by binary
    search in the other group's sorted risks (equivalent to the midrank
    algorithm of Sun & Xu 2014), O(n log n).

    References
    ----------
    .. [1] DeLong ER, DeLong DM, Clarke-Pearson DL (1988). Comparing the areas
       under two or more correlated receiver operating characteristic curves: a
       nonparametric approach. Biometrics 44:837-845.
    .. [2] Sun X, Xu W (2014). Fast implementation of DeLong's algorithm for
       comparing the areas under correlated ROC curves. IEEE Signal Process
       Lett 21:1389-1393.
    .. [3] Hanley JA, McNeil BJ (1982). The meaning and use of the area under a
       ROC curve. Radiology 143:29-36.

    Examples
    --------
    >>> c, lo, hi = c_statistic(np.array([0, 0, 1, 1]), np.array([.1, .4, .35, .8]))
    >>> round(c, 2)
    0.75
    """
    y = np.asarray(y, dtype=bool)
    p = np.asarray(p, dtype=float)
    n1 = int(y.sum())
    n0 = y.size - n1
    if n1 == 0 or n0 == 0:
        raise InputError(
            "The c-statistic needs both deaths and survivors; got "
            f"{n1} event(s) and {n0} non-event(s)."
        )
    pos, neg = p[y], p[~y]
    pos_sorted, neg_sorted = np.sort(pos), np.sort(neg)
    # Placement values: share of the other group below (ties one half),
    # counted by binary search in the other group's sorted risks.
    v10 = (
        np.searchsorted(neg_sorted, pos, "left")
        + np.searchsorted(neg_sorted, pos, "right")
    ) / (2.0 * n0)
    v01 = 1.0 - (
        np.searchsorted(pos_sorted, neg, "left")
        + np.searchsorted(pos_sorted, neg, "right")
    ) / (2.0 * n1)
    c = float(v10.mean())
    s10 = v10.var(ddof=1) if n1 > 1 else 0.0
    s01 = v01.var(ddof=1) if n0 > 1 else 0.0
    se = float(np.sqrt(s10 / n1 + s01 / n0))
    z = stats.norm.ppf(0.975)
    return float(c), max(0.0, float(c - z * se)), min(1.0, float(c + z * se))


def _no_callback(*args: object) -> None:
    return None  # skips statsmodels' per-iteration perfect-prediction check


def _logistic_recalibration(
    y: np.ndarray, lp: np.ndarray, *, slope: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``logit P = a + offset(lp)`` or ``a + b lp`` with statsmodels.

    statsmodels' ``Logit`` (with ``offset=lp`` for the intercept-only
    recalibration) fitted by Newton-Raphson; returns the
    estimates and their model-based standard errors, NaN when they are not
    estimable (the slope when every predicted risk is the same, or a singular
    information matrix).
    """
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools import sm_exceptions as sme

    k = 2 if slope else 1
    not_estimable = np.full(k, np.nan), np.full(k, np.nan)
    if slope and np.ptp(lp) == 0:
        return not_estimable
    x = np.column_stack([np.ones_like(lp), lp]) if slope else np.ones((lp.size, 1))
    offset = None if slope else lp
    start = np.array([0.0, 1.0]) if slope else np.zeros(1)
    model = Logit(y, x, offset=offset, check_rank=False)
    with (
        warnings.catch_warnings(),
        np.errstate(over="ignore", divide="ignore", invalid="ignore"),
    ):
        warnings.simplefilter("ignore", sme.ConvergenceWarning)
        warnings.simplefilter("ignore", sme.HessianInversionWarning)
        warnings.simplefilter("ignore", sme.PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            res = model.fit(
                start_params=start,
                method="newton",
                maxiter=50,
                tol=1e-10,
                disp=0,
                callback=_no_callback,
            )
        except np.linalg.LinAlgError:
            return not_estimable
    beta = np.asarray(res.params, dtype=float)
    se = np.asarray(res.bse, dtype=float)
    if not (np.all(np.isfinite(beta)) and np.all(np.isfinite(se))):
        return not_estimable
    return beta, se


def _positions(n: int, groups: int) -> list[tuple[int, int]]:
    """(k, r) of each quantile j/groups: position (n - 1) j / groups = k + r / groups.

    Integer arithmetic, so every path (numpy of any version, DuckDB, Spark)
    picks the same order statistics: ``(n - 1) * 0.3`` in floating point is
    ``3398.7000000000007`` for n = 11331, and a floor of a product that
    should be whole can fall one below it.
    """
    return [divmod((n - 1) * j, groups) for j in range(groups + 1)]


def risk_group_order_statistics(n: int, groups: int) -> list[int]:
    """Return the order statistics (0-based) that the risk-group cuts need.

    Parameters
    ----------
    n : int
        Number of predicted risks.
    groups : int
        Number of risk groups asked for (10: deciles of risk).

    Returns
    -------
    list of int
        Sorted positions ``k`` in the sorted risks; pass their values to
        :func:`risk_group_cuts`.

    Examples
    --------
    >>> risk_group_order_statistics(10, 10)
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> risk_group_order_statistics(7, 3)
    [0, 2, 4, 6]
    """
    wanted: set[int] = set()
    for k, r in _positions(int(n), int(groups)):
        wanted.add(k)
        if r:
            wanted.add(k + 1)
    return sorted(wanted)


def risk_group_cuts(
    order_statistic: Callable[[int], float], n: int, groups: int
) -> np.ndarray:
    """Inner cut points of the Hosmer-Lemeshow risk groups (deciles of risk).

    The cut points are the sample quantiles ``j / groups`` of the risks
    (Hyndman-Fan type 7, as R's ``quantile`` and numpy's default), computed
    from the order statistics at exact integer positions; repeated cut points
    are merged. A patient's group is the number of inner cut points ``c``
    with ``p > c + RISK_GROUP_TOLERANCE``: intervals are closed on the right
    (R's ``cut(..., include.lowest = TRUE)`` as in
    ``ResourceSelection::hoslem.test``), and every patient with the same
    risk -- to 1e-12, so that risks computed in another order or by another
    engine, or a cut point passed to an engine as a literal, do not split a
    tied block -- is in one group. Tied risks can therefore leave fewer
    groups than asked for.

    Parameters
    ----------
    order_statistic : callable
        ``order_statistic(k)``: the ``k``-th smallest risk (0-based), for
        each ``k`` of :func:`risk_group_order_statistics`.
    n, groups : int
        Number of risks and of groups asked for.

    Returns
    -------
    ndarray
        Thresholds, increasing: a risk's group is the number of thresholds
        below it (``np.searchsorted(cuts, p, side="left")``).

    References
    ----------
    .. [1] Hosmer DW, Lemeshow S, Sturdivant RX (2013). Applied Logistic
       Regression, 3rd ed. Wiley. Section 5.2.2 (deciles of risk).
    .. [2] Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages.
       The American Statistician 50:361-365.

    Examples
    --------
    >>> p = np.array([0.1] * 4 + [0.2] * 3 + [0.3] * 3)
    >>> s = np.sort(p)
    >>> cuts = risk_group_cuts(lambda k: s[k], p.size, 10)
    >>> np.round(cuts, 6).tolist()
    [0.16, 0.2, 0.23]
    >>> np.bincount(np.searchsorted(cuts, p, side="left")).tolist()
    [4, 3, 0, 3]
    """
    groups = int(groups)
    cuts = []
    for k, r in _positions(int(n), groups):
        lo = float(order_statistic(k))
        if r:
            lo = lo + (r / groups) * (float(order_statistic(k + 1)) - lo)
        cuts.append(lo)
    breaks = np.unique(np.asarray(cuts, dtype=float))
    return breaks[1:-1] + RISK_GROUP_TOLERANCE


def _risk_groups(p: np.ndarray, groups: int) -> np.ndarray:
    """Group index 0..g-1 of each risk (:func:`risk_group_cuts`), ties together."""
    ks = risk_group_order_statistics(p.size, groups)
    values = dict(zip(ks, np.partition(p, ks)[ks], strict=True))
    cuts = risk_group_cuts(values.__getitem__, p.size, groups)
    return np.searchsorted(cuts, p, side="left")


def assess_predictions(
    y: np.ndarray, p: np.ndarray, *, groups: int = 10, development: bool = False
) -> RiskDiagnostics:
    """Discrimination and calibration of risks ``p`` against outcomes ``y``.

    Parameters
    ----------
    y : array of 0/1
    p : array of predicted risks in (0, 1)
    groups : int, default 10
        Risk groups for the Hosmer-Lemeshow test and the calibration table
        (deciles). Tied risks stay in one group, so fewer groups can result.
    development : bool, default False
        True when ``p`` comes from a model fitted to these same records: the
        Hosmer-Lemeshow test then has ``g - 2`` degrees of freedom; on new data
        (external validation) it has ``g``.

    Returns
    -------
    RiskDiagnostics

    References
    ----------
    .. [1] Hosmer DW, Lemeshow S, Sturdivant RX (2013). Applied Logistic
       Regression, 3rd ed. Wiley. Sections 5.2.2 and 5.2.4.
    .. [2] Cox DR (1958). Two further applications of a model for binary
       regression. Biometrika 45:562-565.
    .. [3] Steyerberg EW (2019). Clinical Prediction Models, 2nd ed. Springer.
       Chapter 15 (calibration-in-the-large, calibration slope).
    .. [4] Brier GW (1950). Verification of forecasts expressed in terms of
       probability. Monthly Weather Review 78:1-3.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(0.01, 0.3, 5000)
    >>> y = rng.binomial(1, p)
    >>> d = assess_predictions(y, p)
    >>> abs(d.calibration_slope - 1) < 0.2, d.hosmer_lemeshow.df
    (True, 10)
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    if y.shape != p.shape or y.ndim != 1:
        raise InputError("Outcomes and predicted risks must be 1-D and equally long.")
    if not (np.all((p > 0) & (p < 1))):
        raise InputError(
            "Predicted risks must lie strictly between 0 and 1; got values "
            f"{p[(p <= 0) | (p >= 1) | np.isnan(p)][:5].tolist()!r}."
        )
    if int(groups) != groups or groups < 3:
        raise InputError(
            f"The 'groups' parameter must be an integer >= 3. Got {groups!r}."
        )
    c, c_lo, c_hi = c_statistic(y, p)
    lp = special.logit(p)
    z = stats.norm.ppf(0.975)
    (a,), (a_se,) = _logistic_recalibration(y, lp, slope=False)
    (_, b), (_, b_se) = _logistic_recalibration(y, lp, slope=True)

    g = _risk_groups(p, int(groups))
    n_g = np.bincount(g).astype(float)
    o_g = np.bincount(g, weights=y)
    e_g = np.bincount(g, weights=p)
    keep = n_g > 0
    n_g, o_g, e_g = n_g[keep], o_g[keep], e_g[keep]
    hl_stat = float(np.sum((o_g - e_g) ** 2 / (e_g * (1.0 - e_g / n_g))))
    k = int(keep.sum())
    df = k - 2 if development else k
    if df < 1:
        warnings.warn(
            f"Hosmer-Lemeshow test not available: tied predicted risks leave only "
            f"{k} risk group(s), so the test has {df} degrees of freedom; its "
            "p-value is NaN. The other diagnostics are unaffected.",
            RiskWarning,
            stacklevel=3,
        )
    p_hl = float(stats.chi2.sf(hl_stat, df)) if df >= 1 else float("nan")
    hl = HosmerLemeshow(hl_stat, df, p_hl, k)

    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(o_g > 0, stats.beta.ppf(0.025, o_g, n_g - o_g + 1), 0.0)
        hi = np.where(o_g < n_g, stats.beta.ppf(0.975, o_g + 1, n_g - o_g), 1.0)
    table = pd.DataFrame(
        {
            "decile": np.arange(1, k + 1),
            "n": n_g.astype(np.int64),
            "observed": o_g.astype(np.int64),
            "expected": e_g,
            "observed_rate": o_g / n_g,
            "expected_rate": e_g / n_g,
            "observed_lower_95": lo,
            "observed_upper_95": hi,
        }
    )
    return RiskDiagnostics(
        n=int(y.size),
        observed=int(y.sum()),
        expected=float(p.sum()),
        c_statistic=c,
        c_statistic_ci=(c_lo, c_hi),
        calibration_in_the_large=float(a),
        calibration_in_the_large_ci=(float(a - z * a_se), float(a + z * a_se)),
        calibration_slope=float(b),
        calibration_slope_ci=(float(b - z * b_se), float(b + z * b_se)),
        hosmer_lemeshow=hl,
        brier_score=float(np.mean((y - p) ** 2)),
        calibration_table=table,
        development=development,
    )
