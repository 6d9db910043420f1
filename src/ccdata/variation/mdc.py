"""NHS England "Making Data Count" special-cause rules, vectorised over series.

The rules follow NHSRplotthedots (``ptd_calculate_point_type``): a point
outside the limits; a trend of ``trend_length`` points each strictly higher
(or lower) than the previous one; two of three consecutive points beyond two
thirds of the way to a limit (and inside it) with all three on the same side
of the centre; a shift of ``shift_length`` points on one side of the centre (a
point exactly on the centre breaks it). Missing points are skipped: the rules
look at the observed points of a phase in time order.
"""

from __future__ import annotations

import numpy as np

RULES = ("trend", "two_in_three", "shift")


def _run_length(flags: np.ndarray) -> np.ndarray:
    """Length of the maximal run of True containing each position (0 if False)."""
    if flags.shape[1] == 0:
        return np.zeros(flags.shape, dtype=int)

    def forward(b: np.ndarray) -> np.ndarray:
        cs = np.cumsum(b, axis=1, dtype=np.int32)
        reset = np.maximum.accumulate(np.where(b, 0, cs), axis=1)
        return cs - reset

    fwd = forward(flags)
    bwd = forward(flags[:, ::-1])[:, ::-1]
    return np.where(flags, fwd + bwd - 1, 0)


def _compact(mask_observed: np.ndarray) -> np.ndarray:
    """Per-row order that moves observed points first, keeping their order."""
    return np.argsort(~mask_observed, axis=1, kind="stable")


def mdc_rules(
    y: np.ndarray,
    centre: np.ndarray,
    sigma: np.ndarray,
    outside: np.ndarray,
    *,
    rules: tuple[str, ...],
    trend_length: int,
    shift_length: int,
) -> dict[str, np.ndarray]:
    """Flag the points of one phase that break each Making Data Count rule.

    Parameters
    ----------
    y, sigma, outside : ndarray, shape (S, m)
        Points, their sigma (unclipped) and the outside-the-limits flag.
    centre : ndarray, shape (S,)
        Centre line per row.
    rules : tuple of str
        Rules to apply, a subset of ``("trend", "two_in_three", "shift")``.

    Returns
    -------
    dict
        Boolean arrays ``trend``, ``two_in_three``, ``shift`` and the integer
        array ``trend_direction`` (+1 rising, -1 falling, 0 none), all (S, m).
    """
    s_count, m = y.shape
    observed = ~np.isnan(y)
    if observed.all():
        order = None
        yc, sc, oc, obs_c = y, sigma, outside, observed
    else:
        order = _compact(observed)
        yc = np.take_along_axis(y, order, axis=1)
        sc = np.take_along_axis(sigma, order, axis=1)
        oc = np.take_along_axis(outside, order, axis=1)
        obs_c = ~np.isnan(yc)
    with np.errstate(invalid="ignore"):
        side = np.sign(yc - centre[:, None])
    side[np.isnan(side)] = 0.0

    out = {name: np.zeros((s_count, m), dtype=bool) for name in RULES}
    direction = np.zeros((s_count, m), dtype=np.int8)

    if "trend" in rules and m >= 2:
        with np.errstate(invalid="ignore"):
            d = np.diff(yc, axis=1)
        false_col = np.zeros((s_count, 1), dtype=bool)
        parts = {}
        for sign, flag in ((1, d > 0), (-1, d < 0)):
            in_trend = _run_length(flag) >= trend_length - 1
            left = np.concatenate([false_col, in_trend], axis=1)
            right = np.concatenate([in_trend, false_col], axis=1)
            parts[sign] = (left, right)
        up_l, up_r = parts[1]
        dn_l, dn_r = parts[-1]
        trend_c = up_l | up_r | dn_l | dn_r
        # direction: the right-hand segment wins when a point joins two trends
        dir_c = np.select([up_r, dn_r, up_l, dn_l], [1, -1, 1, -1], 0).astype(np.int8)
        out["trend"] = trend_c
        direction = dir_c

    if "two_in_three" in rules and m >= 3:
        with np.errstate(invalid="ignore"):
            close = obs_c & ~oc & (np.abs(yc - centre[:, None]) > 2.0 * sc)
        ci = close.astype(int)
        cnt = ci[:, :-2] + ci[:, 1:-1] + ci[:, 2:]
        same = np.abs(side[:, :-2] + side[:, 1:-1] + side[:, 2:]) == 3
        window = (cnt >= 2) & same
        pad = np.zeros((s_count, 2), dtype=bool)
        wp = np.concatenate([pad, window, pad], axis=1)
        out["two_in_three"] = close & (wp[:, :m] | wp[:, 1 : m + 1] | wp[:, 2 : m + 2])

    if "shift" in rules:
        above = _run_length(side > 0) >= shift_length
        below = _run_length(side < 0) >= shift_length
        out["shift"] = above | below

    if order is None:
        return {**out, "trend_direction": direction}
    # scatter back to the original (uncompacted) positions
    result = {}
    for name, arr in out.items():
        back = np.zeros_like(arr)
        np.put_along_axis(back, order, arr, axis=1)
        result[name] = back & observed
    back_dir = np.zeros_like(direction)
    np.put_along_axis(back_dir, order, direction, axis=1)
    result["trend_direction"] = np.where(observed, back_dir, 0)
    return result
