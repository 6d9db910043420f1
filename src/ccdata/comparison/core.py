"""`funnel`: place each unit against control limits around a target."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import special

from ccdata._params import check_choice, check_columns, check_levels, level_suffix
from ccdata.comparison._exact import tails as exact_tails
from ccdata.comparison.limits import (
    check_kind_method,
    check_mid_p,
    check_multiplier,
    check_sd,
    check_target,
    check_whole,
    compute_limits,
    degenerate_target,
    exact_models,
    exact_verdict,
    null_se,
    scale_of,
    to_scale,
)
from ccdata.comparison.overdispersion import TRIM_METHODS, estimate_overdispersion
from ccdata.comparison.result import NOT_ASSESSED, FunnelResult
from ccdata.errors import InputError

__all__ = ["funnel"]

OVERDISPERSION = (None, "multiplicative", "additive")


def _numeric(data: pd.DataFrame, column: str, *, where: str) -> np.ndarray:
    try:
        return pd.to_numeric(data[column], errors="raise").to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{where}: column {column!r} must be numeric. Got values such as "
            f"{data[column].head(3).tolist()!r}."
        ) from exc


def _bad_units(ids: np.ndarray, mask: np.ndarray) -> list:
    return ids[mask][:5].tolist()


def _check_inputs(
    ids: np.ndarray,
    num: np.ndarray,
    den: np.ndarray,
    *,
    kind: str,
    numerator: str,
    denominator: str,
    unit: str,
    where: str,
) -> None:
    """NaN, negative, duplicate and impossible inputs are errors, naming units."""
    if pd.isna(ids).any():
        raise InputError(
            f"{where}: column {unit!r} (the unit id) contains missing values."
        )
    if _strictly_increasing(ids):  # sorted and unique: the common case, O(n)
        return _check_values(ids, num, den, kind=kind, numerator=numerator,
                             denominator=denominator, where=where)  # fmt: skip
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        raise InputError(
            f"{where}: each unit must appear once in column {unit!r}; repeated ids "
            f"{sorted(set(ids[dup].tolist()), key=str)[:5]!r}. "
            "Aggregate the rows first."
        )
    _check_values(ids, num, den, kind=kind, numerator=numerator,
                  denominator=denominator, where=where)  # fmt: skip


def _strictly_increasing(ids: np.ndarray) -> bool:
    if ids.dtype.kind not in "iuf" or ids.size < 2:
        return False
    return bool(np.all(ids[1:] > ids[:-1]))


def _check_values(ids, num, den, *, kind, numerator, denominator, where) -> None:
    for col, values in ((numerator, num), (denominator, den)):
        bad = ~np.isfinite(values)
        if bad.any():
            raise InputError(
                f"{where}: column {col!r} has missing or infinite values for units "
                f"{_bad_units(ids, bad)!r}. Drop or fill those rows first."
            )
    if (den < 0).any():
        raise InputError(
            f"{where}: column {denominator!r} must be >= 0; negative for units "
            f"{_bad_units(ids, den < 0)!r} (values {den[den < 0][:5].tolist()!r})."
        )
    if kind != "mean" and (num < 0).any():
        raise InputError(
            f"{where}: column {numerator!r} must be >= 0 for kind={kind!r}; negative "
            f"for units {_bad_units(ids, num < 0)!r}."
        )
    if kind == "proportion" and (num > den).any():
        raise InputError(
            f"{where}: column {numerator!r} (events) exceeds {denominator!r} (cases) "
            f"for units {_bad_units(ids, num > den)!r}; a proportion must be <= 1."
        )


def _pooled_sd(
    sd_values: np.ndarray, n: np.ndarray, *, column: str, where: str
) -> float:
    """sqrt(sum((n_i - 1) s_i^2) / sum(n_i - 1)) over units with n_i > 1."""
    if (~np.isfinite(sd_values)).any() or (sd_values < 0).any():
        raise InputError(
            f"{where}: column {column!r} (standard deviations) must be finite and "
            f">= 0. Got {sd_values[:5].tolist()!r}..."
        )
    df = np.clip(n - 1, 0, None)
    if df.sum() <= 0:
        raise InputError(
            f"{where}: cannot pool SDs from column {column!r}: all n <= 1."
        )
    return float(np.sqrt((df * sd_values**2).sum() / df.sum()))


def _sorted_index(ids: np.ndarray) -> np.ndarray:
    if _strictly_increasing(ids):
        return np.arange(ids.size)
    try:
        return np.argsort(ids, kind="stable")
    except TypeError:
        return np.argsort(ids.astype(str), kind="stable")


def _status(
    value: np.ndarray, limits: dict[str, np.ndarray], levels, assessed
) -> np.ndarray:
    """Most extreme level crossed; strictly beyond a limit, so on it is within."""
    conditions, choices = [], []
    for level in sorted(levels, reverse=True):
        sfx = level_suffix(level)
        conditions += [value > limits[f"upper_{sfx}"], value < limits[f"lower_{sfx}"]]
        choices += [f"above_{sfx}", f"below_{sfx}"]
    status = np.select(conditions, choices, default="within").astype(object)
    status[~assessed] = NOT_ASSESSED
    return status


def _status_from_tails(
    p_upper: np.ndarray, p_lower: np.ndarray, levels, assessed
) -> np.ndarray:
    """Most extreme level whose one-sided tail probability is <= (1 - level)/2."""
    # Integer codes, least extreme first, so each later level overwrites; the
    # upper side wins a tie as in np.select (both sides at once is impossible
    # for an exact tail pair, whose sum is >= 1).
    names = ["within"]
    code = np.zeros(p_upper.shape, dtype=np.int8)
    for level in sorted(levels):
        sfx = level_suffix(level)
        alpha = (1 - level) / 2
        names += [f"below_{sfx}", f"above_{sfx}"]
        code[p_lower <= alpha] = len(names) - 2
        code[p_upper <= alpha] = len(names) - 1
    status = np.array(names + [NOT_ASSESSED], dtype=object)[code]
    status[~assessed] = NOT_ASSESSED
    return status


#: Units' own denominators join the drawn curve up to this many distinct values.
_CURVE_UNITS_MAX = 20_000


def _curve_grid(x: np.ndarray, points: int, whole: bool) -> np.ndarray:
    if x.size == 0:
        return np.array([], dtype=float)
    lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo / 2, hi * 2
    if whole:
        lo = max(lo, 1.0)
    grid = np.geomspace(lo, hi, points)
    if whole:
        grid = np.round(grid)
    ordered = np.sort(x)  # a sort is cheaper than hashing a million floats
    first = np.empty(ordered.size, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    if np.count_nonzero(first) <= _CURVE_UNITS_MAX:  # through every unit's x
        grid = np.concatenate([grid, ordered[first]])
    return np.unique(grid)


def funnel(
    data: pd.DataFrame,
    *,
    numerator: str,
    denominator: str,
    unit: str = "site_id",
    kind: str = "proportion",
    target: float | None = None,
    levels: Sequence[float] = (0.95, 0.998),
    method: str = "exact",
    overdispersion: str | None = None,
    trim: float = 0.10,
    trim_method: str = "winsorise",
    multiplier: float = 1,
    sd: float | str | None = None,
    curve_points: int = 200,
    mid_p: bool = False,
) -> FunnelResult:
    """Compare units with control limits around a target: a funnel plot's numbers.

    Each unit's indicator is set against its own precision (its denominator)
    and the range expected from chance alone, never against the other units'
    ranks.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per unit.
    numerator, denominator : str
        Columns. ``kind="proportion"``: events and cases. ``"ratio"``:
        observed and expected counts (e.g. the output of
        ``observed_expected()``). ``"ratio_of_counts"``: the count of interest
        O1 and the comparison count O2 (e.g. this period and last).
        ``"mean"``: the unit's mean and its number of observations n.
    unit : str, default "site_id"
        Column of unit ids; each id once.
    kind : {"proportion", "ratio", "ratio_of_counts", "mean"}
    target : float, optional
        Centre line on the natural scale (0.035, not 3.5). Default: the pooled
        proportion sum(events)/sum(cases); 1 for ratios; sum(O1)/sum(O2) for
        ratio of counts; the n-weighted mean for means.
    levels : sequence of float, default (0.95, 0.998)
        Coverage of each pair of limits ("alert" and "alarm").
    method : str, default "exact"
        See :func:`funnel_limits` and ``docs/methods.md``. ``"phe"``
        (proportions) reproduces PHEindicatormethods' ``phe_funnels()`` limits
        and ``phe_funnel_significance()`` bands.
    overdispersion : {None, "multiplicative", "additive"}
        Widen the limits for over-dispersion (Spiegelhalter 2005, QSHC).
        Applied only when phi > 1 (multiplicative: inflate by phi; additive:
        the DerSimonian-Laird tau^2, then > 0); otherwise the limits stay
        unadjusted and the summary says so. Adjusted limits are never narrower than the
        unadjusted ones. With ``method="exact"`` the adjustment is made on the
        count scale (beta-binomial or negative-binomial predictive
        distribution).
    trim : float, default 0.10
        Fraction of each tail of z-scores winsorised/truncated before phi.
    trim_method : {"winsorise", "truncate"}
    multiplier : float, default 1
        Multiply values, limits and target for display (100 for per cent or
        ratio x 100). z-scores are unaffected.
    sd : float or str, optional
        ``kind="mean"`` only: the SD of one observation, or a column of each
        unit's SD (pooled as sqrt(sum((n-1) s^2) / sum(n-1))). Required.
    curve_points : int, default 200
        Points of the log-spaced grid in :attr:`FunnelResult.curve`.
    mid_p : bool, default False
        Exact methods only: judge by mid-p tail probabilities,
        ``p_upper = P(X > O) + P(X = O) / 2`` and
        ``p_lower = P(X < O) + P(X = O) / 2`` (Lancaster 1961), under the
        predictive distribution when over-dispersion is allowed for, and draw
        the limits between the last count not flagged and the first flagged
        under that rule. Mid-p flags are NOT guaranteed to hold the nominal
        size: on average they come closer to it, but for some n, E or target
        a side exceeds it (Seaton & Manktelow 2012). The default (False) never
        exceeds nominal size.

    Returns
    -------
    FunnelResult

    Raises
    ------
    InputError
        Missing columns; unknown kind, method or option; missing, infinite or
        negative numerators or denominators (a mean may be negative);
        events above cases; repeated unit ids; a pooled target that cannot be
        computed; non-whole denominators with exact binomial limits.

    Notes
    -----
    Units with a denominator of 0 (a total of 0 for ratio of counts) get
    status ``"not_assessed"`` and NaN value, z and limits; they are excluded
    from the pooled target and from over-dispersion.

    ``method="exact"``: a unit is above level L when
    ``p_upper = P(X >= O) <= (1 - L) / 2`` and below when
    ``p_lower = P(X <= O) <= (1 - L) / 2`` (X the unit's count under the null,
    or under the predictive distribution when over-dispersion is allowed
    for; a non-whole O counts as ceil(O) above and floor(O) below), so no
    side of any level exceeds its nominal size for any n, E or target. The
    limits (``lower_<sfx>``, ``upper_<sfx>`` and :attr:`FunnelResult.curve`)
    are drawn between the last count that is not flagged and the first that
    is (Spiegelhalter's interpolation, mirrored on the upper side), so a
    whole-number count lies strictly beyond a drawn limit exactly when it is
    flagged; the curve includes every unit's own denominator (up to 20,000
    distinct values). Other methods: status is the most extreme limit
    strictly crossed (a value exactly on a limit is ``within``), and
    ``p_upper``/``p_lower`` are the normal tail probabilities of
    ``z_adjusted``.
    z-scores are (g(y) - g(target)) / s on the method's scale g (identity
    with the null variance for exact, normal, wilson, byar, chisq; arcsine,
    square root or log otherwise); over-dispersed limits are
    g^-1(g(target) +/- z sqrt(phi s^2)) or g^-1(g(target) +/- z sqrt(s^2 + tau^2)).

    References
    ----------
    .. [1] Spiegelhalter DJ (2005). Funnel plots for comparing institutional
       performance. Stat Med 24:1185-1202.
    .. [2] Spiegelhalter DJ (2005). Handling over-dispersion of performance
       indicators. Qual Saf Health Care 14:347-351.
    .. [3] Spiegelhalter DJ, Sherlaw-Johnson C, Bardsley M, et al. (2012).
       Statistical methods for healthcare regulation: rating, screening and
       surveillance. J R Stat Soc A 175:1-47.
    .. [4] Seaton SE, Manktelow BN (2012). The probability of being identified
       as an outlier with commonly used funnel plot control limits for the
       standardised mortality ratio. BMC Med Res Methodol 12:98.
    .. [5] Lancaster HO (1961). Significance tests in discrete distributions.
       J Am Stat Assoc 56:223-234.

    Examples
    --------
    >>> df = pd.DataFrame({"site_id": ["A", "B", "C"],
    ...                    "deaths": [1, 10, 30], "cases": [100, 200, 300]})
    >>> res = funnel(df, numerator="deaths", denominator="cases")
    >>> round(res.target, 4), res.units["status"].tolist()
    (0.0683, ['below_95', 'within', 'above_95'])
    >>> res.units["p_upper"].round(4).tolist()
    [0.9992, 0.8825, 0.0243]
    >>> print(res.summary())
    0 of 3 sites above the 99.8% limit and 0 below it; 1 above and 1 below ...

    Mid-p: 10 of 10 against 90% has P(X > 10) + P(X = 10) / 2 = 0.9^10 / 2.

    >>> one = pd.DataFrame({"site_id": ["A"], "events": [10], "cases": [10]})
    >>> res = funnel(one, numerator="events", denominator="cases", target=0.9,
    ...              mid_p=True)
    >>> res.units["p_upper"].round(6).tolist(), round(0.9**10 / 2, 6)
    ([0.174339], 0.174339)
    """
    where = "funnel"
    sd_column = sd if isinstance(sd, str) else None
    check_columns(data, [unit, numerator, denominator, sd_column], where=where)
    check_kind_method(kind, method, where=where)
    levels_t = tuple(sorted(set(check_levels(levels, where=where))))
    check_choice(overdispersion, OVERDISPERSION, name="overdispersion", where=where)
    check_choice(trim_method, TRIM_METHODS, name="trim_method", where=where)
    if not isinstance(trim, (int, float)) or not (0.0 <= trim < 0.5):
        raise InputError(
            f"The 'trim' parameter of {where} must be a fraction in [0, 0.5). "
            f"Got {trim!r} instead."
        )
    check_multiplier(multiplier, where=where)
    check_mid_p(mid_p, kind=kind, method=method, where=where)
    if not isinstance(curve_points, (int, np.integer)) or curve_points < 2:
        raise InputError(
            f"The 'curve_points' parameter of {where} must be an integer >= 2. "
            f"Got {curve_points!r} instead."
        )

    ids = data[unit].to_numpy()
    num = _numeric(data, numerator, where=where)
    den = _numeric(data, denominator, where=where)
    _check_inputs(
        ids,
        num,
        den,
        kind=kind,
        numerator=numerator,
        denominator=denominator,
        unit=unit,
        where=where,
    )
    x = num + den if kind == "ratio_of_counts" else den
    assessed = x > 0
    whole = method == "exact" and kind in ("proportion", "ratio_of_counts")
    if whole:
        check_whole(
            x,
            name="denominator" if kind == "proportion" else "numerator + denominator",
            where=where,
        )

    # Values on the natural scale.
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(assessed, num if kind == "mean" else num / den, np.nan)

    # Target.
    target_given = target
    if target is None:
        a = assessed
        if kind == "proportion":
            target = num[a].sum() / den[a].sum() if den[a].sum() > 0 else np.nan
        elif kind == "ratio":
            target = 1.0
        elif kind == "ratio_of_counts":
            target = num[a].sum() / den[a].sum() if den[a].sum() > 0 else np.nan
        else:
            target = (
                (num[a] * den[a]).sum() / den[a].sum() if den[a].sum() > 0 else np.nan
            )
        if not np.isfinite(target):
            raise InputError(
                f"{where}: the pooled target cannot be computed (no unit with a "
                f"denominator > 0 in column {denominator!r}); give 'target'."
            )
    target = check_target(kind, target, where=where)

    # SD for means.
    sd_value = None
    sd_values = None
    if kind == "mean":
        if sd_column is not None:
            sd_values = _numeric(data, sd_column, where=where)
            sd_value = _pooled_sd(
                sd_values[assessed], den[assessed], column=sd_column, where=where
            )
        sd_value = check_sd(
            kind, cast("float | None", sd_value if sd_column else sd), where=where
        )
    elif sd is not None:
        raise InputError(
            f"The 'sd' parameter of {where} applies to kind='mean' only. "
            f"Got sd={sd!r} with kind={kind!r}."
        )

    # z-scores on the method's scale.
    scale = scale_of(method)
    t0 = float(to_scale(scale, kind, np.array(target)))
    xs = np.where(assessed, x, np.nan)
    se = null_se(scale, kind, xs, target, sd_value)
    diff = to_scale(scale, kind, value) - t0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(
            se > 0, diff / se, np.where(diff == 0, 0.0, np.sign(diff) * np.inf)
        )
    z = np.where(assessed, z, np.nan)

    # Over-dispersion (always estimated, applied only when requested and it
    # widens: phi > 1, then tau^2 > 0 as well).
    nan = float("nan")
    used = np.zeros(len(ids), dtype=bool)
    phi = tau2 = stat = pval = nan
    n_used = 0
    if assessed.sum() >= 2:
        try:
            est = estimate_overdispersion(
                z[assessed],
                se[assessed],
                trim=trim,
                trim_method=trim_method,
                pooled_target=target_given is None and kind != "ratio",
            )
        except InputError:
            if overdispersion is not None:
                raise
            est = None
        if est is not None:
            phi, tau2, n_used = est.phi, est.tau2, est.n_used
            stat, pval = est.statistic, est.p_value
            used[np.flatnonzero(assessed)[est.used]] = True
    # phi > 1 for both adjustments (then tau^2 > 0 too, as I phi > I - 1).
    detected = bool(np.isfinite(phi) and phi > 1)
    applied = (
        overdispersion is not None
        and detected
        and (overdispersion == "multiplicative" or tau2 > 0)
    )
    phi_apply = phi if applied and overdispersion == "multiplicative" else None
    tau2_apply = tau2 if applied and overdispersion == "additive" else None

    if phi_apply is not None:
        z_adj = z / np.sqrt(phi_apply)
    elif tau2_apply is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            z_adj = np.where(assessed, diff / np.sqrt(se**2 + tau2_apply), np.nan)
    else:
        z_adj = z

    # Limits at the units' and the curve's x in one pass; exact verdicts from
    # tail probabilities, drawn limits between unflagged and flagged counts.
    grid = _curve_grid(x[assessed], curve_points, whole)
    n_units = len(ids)
    x_all = np.concatenate([xs, grid])
    exact = method == "exact" and kind != "mean"
    if exact and not degenerate_target(kind, target):
        obs = np.concatenate([np.where(assessed, num, 0.0), np.zeros(grid.size)])
        all_limits, p_up, p_dn = exact_verdict(
            kind,
            x_all,
            target,
            levels_t,
            phi=phi_apply,
            tau2=tau2_apply,
            obs=obs,
            mid_p=mid_p,
        )
        assert p_up is not None and p_dn is not None  # obs was given
        p_upper, p_lower = p_up[:n_units], p_dn[:n_units]
    else:
        all_limits = compute_limits(
            x_all,
            target,
            kind=kind,
            method=method,
            levels=levels_t,
            phi=phi_apply,
            tau2=tau2_apply,
            sd=sd_value,
        )
        if exact:  # a target on the edge of its range: the null has no spread
            null, _ = exact_models(kind, np.where(assessed, x, 1.0), target)
            p_upper, p_lower = exact_tails(
                null, np.where(assessed, num, 0.0), mid_p=mid_p
            )
        else:
            p_upper, p_lower = special.ndtr(-z_adj), special.ndtr(z_adj)
    limits = {k: v[:n_units] for k, v in all_limits.items()}
    p_upper = np.where(assessed, p_upper, np.nan)
    p_lower = np.where(assessed, p_lower, np.nan)
    if exact:
        status = _status_from_tails(p_upper, p_lower, levels_t, assessed)
    else:
        status = _status(value, limits, levels_t, assessed)

    order = _sorted_index(ids)
    identity = _strictly_increasing(ids)
    columns: dict[str, Any] = {"unit": ids, "numerator": num, "denominator": den}
    if kind == "ratio_of_counts":
        columns["total"] = x
    if sd_values is not None:
        columns["sd"] = sd_values
    columns.update(value=value * multiplier, z=z, z_adjusted=z_adj)
    for name, lim in limits.items():
        columns[name] = lim * multiplier
    columns.update(
        status=status, used_in_overdispersion=used, p_upper=p_upper, p_lower=p_lower
    )
    if not identity:
        columns = {k: v[order] for k, v in columns.items()}
    columns["status"] = pd.Series(columns["status"], dtype=object)
    units = pd.DataFrame(columns, copy=False)

    curve = pd.DataFrame({"denominator": grid})
    for name, lim in all_limits.items():
        curve[name] = lim[n_units:] * multiplier

    return FunnelResult(
        units=units,
        curve=curve,
        target=target * multiplier,
        kind=kind,
        method="normal" if kind == "mean" else method,
        scale=scale,
        levels=levels_t,
        multiplier=float(multiplier),
        overdispersion=overdispersion,
        phi=phi,
        tau2=tau2,
        n_used=n_used,
        dispersion_statistic=stat,
        dispersion_p_value=pval,
        overdispersion_detected=bool(detected),
        overdispersion_applied=bool(applied),
        trim=float(trim),
        trim_method=trim_method,
        x_column="total" if kind == "ratio_of_counts" else "denominator",
        mid_p=bool(mid_p),
    )
