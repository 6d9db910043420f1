"""Centre lines and 3-sigma limits of each chart for one phase of many series.

Formulas follow qicharts2 (``R/helper.functions.R``: ``qic.run``, ``qic.i``,
``qic.mr``, ``qic.c``, ``qic.p``, ``qic.pp``, ``qic.u``, ``qic.up``), which
cites Montgomery (2009) and Laney (2002); the screening of moving ranges is
Nelson's (1982).
"""

from __future__ import annotations

import warnings

import numpy as np

D2 = 1.128  # d2 for subgroups of two: sigma = mean moving range / d2
D4 = 3.267  # D4 for subgroups of two: upper limit of the moving ranges

#: charts whose lower limit is clipped at 0, and whose upper limit at 1
CLIP_ZERO = frozenset({"p", "pp", "c", "u", "up"})
CLIP_ONE = frozenset({"p", "pp"})


def _nanmean(a: np.ndarray) -> np.ndarray:
    """Row means ignoring NaN, refined by a second pass as R's ``mean`` does.

    The refinement ``m + mean(a - m)`` makes the mean of a constant series equal
    that constant exactly, so no point lies spuriously off the centre line.
    """
    if not a.shape[1]:
        return np.full(a.shape[0], np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        m = np.nanmean(a, axis=1)
        return m + np.nanmean(a - m[:, None], axis=1)


def _nanmedian(a: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=1) if a.shape[1] else np.full(a.shape[0], np.nan)


def mean_moving_range(values: np.ndarray, *, screen: bool) -> np.ndarray:
    """Mean moving range per row, optionally screened (Nelson 1982).

    Moving ranges are taken between neighbouring columns; a missing value
    makes both of its moving ranges missing. With ``screen``, moving ranges of
    ``3.267 * mean`` or more are dropped and the mean is recomputed. When every
    moving range is zero the mean is zero.
    """
    if values.shape[1] < 2:
        return np.full(values.shape[0], np.nan)
    mr = np.abs(np.diff(values, axis=1))
    amr = _nanmean(mr)
    if screen:
        with np.errstate(invalid="ignore"):
            keep = mr < D4 * amr[:, None]
        screened = _nanmean(np.where(keep, mr, np.nan))
        amr = np.where(amr == 0, 0.0, screened)
    return amr


def phase_limits(
    chart: str,
    y: np.ndarray,
    num: np.ndarray | None,
    den: np.ndarray | None,
    n_base: int,
    *,
    screen: bool,
    mr_constant: float | None = None,
) -> dict[str, np.ndarray]:
    """Centre, sigma and limits of one phase.

    Parameters
    ----------
    chart : str
        Chart type (``run, i, mr, c, p, pp, u, up``).
    y : ndarray, shape (S, m)
        Plotted values (for ``mr`` already the moving ranges).
    num, den : ndarray or None, shape (S, m)
        Numerators and denominators (NaN where the point is missing).
    n_base : int
        The first ``n_base`` columns are the baseline used for the centre and
        sigma.
    screen : bool
        Screen moving ranges (i, pp, up).
    mr_constant : float, optional
        i charts: limits are centre +/- ``mr_constant`` x mean MR (sigma =
        ``mr_constant / 3`` x mean MR); 2.66 is Making Data Count's constant.
        Default: sigma = mean MR / 1.128, i.e. a constant of 3 / 1.128.

    Returns
    -------
    dict
        ``centre`` (S,), ``sigma`` (S, m) (unclipped), ``lower``, ``upper``
        (S, m, clipped), ``sigma_z`` (S,) (Laney's ratio for pp/up, else NaN).
    """
    s_count, m = y.shape
    yb = y[:, :n_base]
    sigma_z = np.full(s_count, np.nan)
    if chart in ("p", "pp", "u", "up"):
        assert num is not None and den is not None
        with np.errstate(invalid="ignore", divide="ignore"):
            total_num = np.nansum(num[:, :n_base], axis=1)
            centre = total_num / np.nansum(den[:, :n_base], axis=1)
    elif chart == "run":
        centre = _nanmedian(yb)
    else:
        centre = _nanmean(yb)

    c = centre[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        if chart == "run":
            sigma = np.full((s_count, m), np.nan)
        elif chart == "i":
            amr = mean_moving_range(yb, screen=screen)
            s_i = amr / D2 if mr_constant is None else amr * (mr_constant / 3.0)
            sigma = np.repeat(s_i[:, None], m, axis=1)
        elif chart == "mr":
            sigma = np.full((s_count, m), np.nan)
        elif chart == "c":
            sigma = np.repeat(np.sqrt(centre)[:, None], m, axis=1)
        elif chart in ("p", "pp"):
            sigma = np.sqrt(c * (1.0 - c) / den)
        else:  # u, up
            sigma = np.sqrt(c / den)
        if chart in ("pp", "up"):
            z = (yb - c) / sigma[:, :n_base]
            sigma_z = mean_moving_range(z, screen=screen) / D2
            sigma = sigma * sigma_z[:, None]

        if chart == "run":
            lower = upper = np.full((s_count, m), np.nan)
        elif chart == "mr":
            lower = np.zeros((s_count, m))
            upper = np.repeat((D4 * centre)[:, None], m, axis=1)
        elif chart == "i" and mr_constant is not None:  # exactly c +/- K x mR-bar
            half = np.repeat((mr_constant * amr)[:, None], m, axis=1)
            lower, upper = c - half, c + half
        else:
            lower = c - 3.0 * sigma
            upper = c + 3.0 * sigma
    lower, upper = clip_limits(chart, lower, upper)
    return {
        "centre": centre,
        "sigma": sigma,
        "lower": lower,
        "upper": upper,
        "sigma_z": sigma_z,
    }


def clip_limits(
    chart: str, lower: np.ndarray, upper: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Clip lower limits at 0 (counts, rates, proportions) and upper at 1."""
    if chart in CLIP_ZERO:
        lower = np.where(lower < 0, 0.0, lower)
    if chart in CLIP_ONE:
        upper = np.where(upper > 1, 1.0, upper)
    return lower, upper
