"""The :func:`spc` entry point: input checks, the series x period grid, phases."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from ccdata._params import check_choice, check_columns
from ccdata._periods import label_start
from ccdata.errors import InputError, SPCWarning
from ccdata.variation.limits import clip_limits, phase_limits
from ccdata.variation.mdc import RULES
from ccdata.variation.mdc import mdc_rules as _mdc_rules
from ccdata.variation.result import SPCResult
from ccdata.variation.runs import runs_analysis

__all__ = ["SPCWarning", "spc"]

Chart = Literal["run", "i", "mr", "c", "p", "pp", "u", "up"]
CHARTS: tuple[str, ...] = ("run", "i", "mr", "c", "p", "pp", "u", "up")
RATIO_CHARTS = frozenset({"p", "pp", "u", "up"})
POINT_TYPES = np.array(
    [
        "common_cause",
        "special_cause_improvement",
        "special_cause_concern",
        "special_cause_high",
        "special_cause_low",
    ],
    dtype=object,
)
WHERE = "spc"


# --------------------------------------------------------------------------- checks
def _as_float(data: pd.DataFrame, col: str) -> np.ndarray:
    try:
        out = data[col].to_numpy(dtype="float64", na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{WHERE}: column {col!r} must be numeric. "
            f"Got dtype {data[col].dtype} instead."
        ) from exc
    if np.isinf(out).any():
        raise InputError(f"{WHERE}: column {col!r} contains infinite values.")
    return out


def _check_inputs(chart, value, numerator, denominator) -> None:
    if chart in RATIO_CHARTS:
        if numerator is None or denominator is None or value is not None:
            raise InputError(
                f"The {chart!r} chart of {WHERE} needs 'numerator' and 'denominator' "
                f"(and no 'value'). Got value={value!r}, numerator={numerator!r}, "
                f"denominator={denominator!r}."
            )
    elif chart == "c":
        if (value is None) == (numerator is None) or denominator is not None:
            raise InputError(
                f"The 'c' chart of {WHERE} needs the counts in 'value' or 'numerator' "
                f"(one of them, no 'denominator'). Got value={value!r}, "
                f"numerator={numerator!r}, denominator={denominator!r}."
            )
    else:
        ratio = numerator is not None and denominator is not None
        if (value is None) == (not ratio) or (
            value is not None and (numerator is not None or denominator is not None)
        ):
            raise InputError(
                f"The {chart!r} chart of {WHERE} needs either 'value' or both "
                f"'numerator' and 'denominator'. Got value={value!r}, "
                f"numerator={numerator!r}, denominator={denominator!r}."
            )


def _int_param(v: object, name: str, minimum: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < minimum:
        raise InputError(
            f"The {name!r} parameter of {WHERE} must be an integer >= {minimum}. "
            f"Got {v!r} instead."
        )
    return int(v)


def _parse_part(part: object, n_periods: int) -> list[int]:
    if part is None:
        return []
    items = [part] if isinstance(part, (int, np.integer)) else part
    if not isinstance(items, Sequence) and not isinstance(items, np.ndarray):
        raise InputError(
            f"The 'part' parameter of {WHERE} must be an integer or a sequence of "
            f"integers. Got {part!r} instead."
        )
    out = []
    for k in items:
        if (
            isinstance(k, bool)
            or not isinstance(k, (int, np.integer))
            or not (1 <= k < n_periods)
        ):
            raise InputError(
                f"The 'part' parameter of {WHERE} must hold integers from 1 to "
                f"{n_periods - 1} (a new phase starts after the k-th period of "
                f"{n_periods}). Got {part!r} instead."
            )
        out.append(int(k))
    return sorted(set(out))


def _parse_freeze(freeze: object, n_phases: int) -> list[int | None]:
    if freeze is None:
        return [None] * n_phases
    if isinstance(freeze, (int, np.integer)) and not isinstance(freeze, bool):
        return [_int_param(freeze, "freeze", 1)] * n_phases
    if isinstance(freeze, Sequence) and len(freeze) == n_phases:
        return [None if f is None else _int_param(f, "freeze", 1) for f in freeze]
    raise InputError(
        f"The 'freeze' parameter of {WHERE} must be a positive integer or a sequence "
        f"with one positive integer (or None) per phase ({n_phases}). "
        f"Got {freeze!r} instead."
    )


def _parse_rules(mdc_rules: object) -> tuple[str, ...]:
    if mdc_rules is True:
        return RULES
    if mdc_rules is False or mdc_rules is None:
        return ()
    if isinstance(mdc_rules, str) or not isinstance(
        mdc_rules, Sequence | set | frozenset
    ):
        raise InputError(
            f"The 'mdc_rules' parameter of {WHERE} must be True, False or a collection "
            f"of rule names from {('outside', *RULES)!r}. Got {mdc_rules!r} instead."
        )
    bad = [r for r in mdc_rules if r not in ("outside", *RULES)]
    if bad:
        raise InputError(
            f"The 'mdc_rules' parameter of {WHERE} accepts rule names from "
            f"{('outside', *RULES)!r}. Got {mdc_rules!r} instead."
        )
    return tuple(r for r in RULES if r in mdc_rules)


class _Deprecated:
    def __repr__(self) -> str:
        return "<deprecated>"


_DEPRECATED: object = _Deprecated()


def _direction(
    direction: object, improvement: object
) -> Literal["increase", "decrease"] | None:
    if improvement is not _DEPRECATED:
        warnings.warn(
            f"The 'improvement' parameter of {WHERE} is deprecated and will be "
            'removed in ccdata 0.4: use direction= ("increase", "decrease" '
            "or None), as in the batch configuration.",
            FutureWarning,
            stacklevel=3,
        )
        if direction is not None and direction != improvement:
            raise InputError(
                f"{WHERE}: 'direction' and the deprecated 'improvement' disagree. "
                f"Got direction={direction!r}, improvement={improvement!r}."
            )
        check_choice(
            improvement, (None, "increase", "decrease"), name="improvement", where=WHERE
        )
        return improvement  # type: ignore[return-value]
    check_choice(
        direction, (None, "increase", "decrease"), name="direction", where=WHERE
    )
    return direction  # type: ignore[return-value]


def _series_columns(unit: object, by: object) -> tuple[str, ...]:
    if by is not None:
        if unit is not None:
            raise InputError(
                f"{WHERE}: pass 'unit=' or the deprecated 'by=', not both. "
                f"Got unit={unit!r}, by={by!r}."
            )
        warnings.warn(
            f"The 'by' parameter of {WHERE} is deprecated and will be removed in "
            "ccdata 0.4: use unit=<id column>; the result then calls that column "
            "'unit'.",
            FutureWarning,
            stacklevel=3,
        )
        return (by,) if isinstance(by, str) else tuple(by)  # type: ignore[arg-type]
    if unit is None:
        return ()
    if not isinstance(unit, str):
        raise InputError(
            f"The 'unit' parameter of {WHERE} must be one column name. "
            f"Got {unit!r} instead."
        )
    return (unit,)


def _phase_positions(phases: object, uniq_x: pd.Index) -> list[int]:
    """Periods where a phase begins -> ``part`` positions (periods before it)."""
    items: list[Any] = (
        list(phases)
        if isinstance(phases, Sequence | np.ndarray | pd.Index | pd.Series)
        and not isinstance(phases, str)
        else [phases]
    )
    dated = pd.api.types.is_datetime64_any_dtype(uniq_x.dtype)
    out = []
    for item in items:
        try:
            if dated:
                if isinstance(item, pd.Period):
                    key: Any = item.start_time
                elif isinstance(item, str):
                    key = label_start(item)
                else:
                    key = pd.Timestamp(item)
            else:
                key = str(item) if isinstance(item, pd.Period) else item
            k = int(uniq_x.searchsorted(key, side="left"))
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"The 'phases' parameter of {WHERE} must hold periods comparable "
                f"with the x values ({uniq_x.dtype}, e.g. {uniq_x[0]!r}). Got "
                f"{item!r}: {exc}"
            ) from exc
        if not 0 < k < len(uniq_x):
            raise InputError(
                f"The 'phases' parameter of {WHERE} must give periods strictly "
                f"inside the time axis ({uniq_x[0]!r} to {uniq_x[-1]!r}): a phase "
                f"beginning at {item!r} would leave a phase without periods."
            )
        out.append(k)
    return sorted(set(out))


# --------------------------------------------------------------------------- grid
def _series_codes(data: pd.DataFrame, by: tuple[str, ...]):
    if not by:
        return np.zeros(len(data), dtype=np.intp), None, 1
    for col in by:
        if data[col].isna().any():
            raise InputError(
                f"{WHERE}: the series column {col!r} (by=) has missing values."
            )
    codes: np.ndarray
    if len(by) == 1:
        codes, keys = pd.factorize(data[by[0]], sort=True)
        keys = pd.Index(keys, name=by[0])
    else:
        grp = data.groupby(list(by), sort=True)
        codes = grp.ngroup().to_numpy()
        keys = grp.size().index
    return np.asarray(codes, dtype=np.intp), keys, len(keys)


def _to_grid(
    values: np.ndarray, flat: np.ndarray, shape: tuple[int, int]
) -> np.ndarray:
    grid = np.full(shape[0] * shape[1], np.nan)
    grid[flat] = values
    return grid.reshape(shape)


# --------------------------------------------------------------------------- main
def spc(
    data: pd.DataFrame,
    *,
    chart: Chart,
    x: str,
    value: str | None = None,
    numerator: str | None = None,
    denominator: str | None = None,
    unit: str | None = None,
    freeze: int | Sequence[int | None] | None = None,
    part: int | Sequence[int] | None = None,
    direction: Literal["increase", "decrease"] | None = None,
    screen_moving_ranges: bool = True,
    sigma_lines: bool = False,
    mdc_rules: bool | Sequence[str] = True,
    trend_length: int = 7,
    shift_length: int = 7,
    periods: Sequence[object] | None = None,
    phases: object = None,
    by: str | Sequence[str] | None = None,
    improvement: object = _DEPRECATED,
    mr_constant: float | None = None,
) -> SPCResult:
    """Run chart or control chart, with runs analysis, for one or many series.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per series and period.
    chart : {"run", "i", "mr", "c", "p", "pp", "u", "up"}
        ``"run"`` (median, Anhøj rules), ``"i"`` (individuals, XmR),
        ``"mr"`` (moving ranges), ``"c"`` (counts), ``"p"`` (proportions),
        ``"pp"`` (Laney's p′), ``"u"`` (rates), ``"up"`` (Laney's u′).
    x : str
        Column of the period (dates or numbers); its sorted unique values form
        the time axis shared by every series.
    value : str, optional
        Column of the measure (run, i, mr) or the counts (c).
    numerator, denominator : str, optional
        Columns of events and of the population at risk (p, pp, u, up; also
        run, i and mr charts of a ratio; ``numerator`` alone for c).
    unit : str, optional
        Column identifying the series (site, unit), e.g. ``"site_id"``; called
        ``unit`` in :attr:`SPCResult.points` and :attr:`SPCResult.phases`.
        All series are computed at once.
    freeze : int or sequence of (int or None), optional
        Centre and limits come from the first ``freeze`` periods (the baseline)
        and are extended over the rest; the runs analysis covers every point
        against the frozen centre. An int applies to every phase; a sequence
        gives one value per phase.
    part : int or sequence of int, optional
        Positions: a new phase starts after the k-th period for each k
        (qicharts2's ``part``); each phase has its own centre, limits and runs
        analysis. ``phases=`` says the same with periods.
    direction : {"increase", "decrease"}, optional
        Direction of improvement (as ``direction`` in the batch
        configuration); with it ``point_type`` says
        ``special_cause_improvement``/``special_cause_concern``, without it the
        neutral ``special_cause_high``/``special_cause_low``.
    screen_moving_ranges : bool, default True
        Drop moving ranges of 3.267 x their mean or more before estimating
        sigma (i, pp and up charts; Nelson 1982).
    sigma_lines : bool, default False
        Add ``lower_2sigma`` and ``upper_2sigma`` columns.
    mdc_rules : bool or sequence of str, default True
        Making Data Count rules applied to control charts (not run or mr):
        True for all of ``("trend", "two_in_three", "shift")`` or a subset.
        With False, ``point_type`` is driven by the 3-sigma rule and the
        Anhøj long-run rule, as in qicharts2.
    trend_length, shift_length : int, default 7
        Points needed for a trend and for a shift.
    periods : sequence, optional
        The whole time axis (e.g. every month of the reporting window, as values
        of ``x``): a period with no row in any series is kept as a gap rather
        than closed up. Default: the periods present in the data.
    phases : period or sequence of periods, optional
        The periods where a new phase begins, as values of ``x`` or as period
        labels and dates (``"2024-10"``, ``"2024Q4"``, ``"2024-10-01"``; as the
        batch configuration's ``spc_phases``). A phase begins at the first
        period on or after each; it must fall strictly inside the time axis.
        An alternative to ``part``.
    by : str or sequence of str, optional
        Deprecated: series columns kept under their own names (use ``unit``).
    improvement : {"increase", "decrease"}, optional
        Deprecated spelling of ``direction``.
    mr_constant : float, optional
        ``chart="i"`` only: the limits are centre +/- ``mr_constant`` x mean
        moving range. ``2.66`` reproduces Making Data Count (NHS England's
        tool, NHSRplotthedots) exactly; the default (None) uses sigma =
        mean MR / 1.128, i.e. 3 / 1.128 = 2.6596 (qicharts2). Sigma lines are
        then at centre +/- (k / 3) x ``mr_constant`` x mean MR.

    Returns
    -------
    SPCResult
        ``.points`` (one row per series and period) and ``.phases`` (one row
        per series and phase); see :class:`SPCResult`.

    Raises
    ------
    InputError
        Missing columns, a wrong combination of value/numerator/denominator,
        negative counts, numerators above denominators (p charts), repeated
        periods within a series, missing x, bad ``freeze``/``part``/``phases``.

    Warns
    -----
    SPCWarning
        When zero denominators were found: those points are treated as missing.

    Notes
    -----
    Centre lines: the median (run), the mean (i, c, mr) or the pooled ratio
    ``sum(numerator) / sum(denominator)`` (p, pp, u, up) of the baseline.
    Sigma: ``mean MR / 1.128`` (i), ``sqrt(c)`` (c),
    ``sqrt(p(1 - p) / n_i)`` (p), ``sqrt(u / n_i)`` (u), times Laney's
    ``sigma_z`` = mean moving range of the z-scores / 1.128 (pp, up). Limits
    are centre +/- 3 sigma (mr: 3.267 x mean MR), clipped at 0 for counts,
    rates and proportions and at 1 for proportions. Runs analysis uses Anhøj's
    rules on the points not on the centre line. See ``docs/methods.md``.

    Missing points stay as gaps (NaN ``y``); a period missing from one series
    but present in another is added as a gap, and so is a period of
    ``periods`` missing from every series. Zero denominators make the point
    missing (with an :class:`SPCWarning`).

    References
    ----------
    .. [1] Anhøj J, Olesen AV (2014). Run charts revisited. PLoS ONE
       9(11):e113825.
    .. [2] Laney DB (2002). Improved control charts for attributes. Quality
       Engineering 14(4):531-537.
    .. [3] Montgomery DC (2009). Introduction to Statistical Quality Control,
       6th ed. Wiley.
    .. [4] Nelson LS (1982). Control charts for individual measurements.
       J Qual Technol 14(3):172-173.
    .. [5] NHS England. Making Data Count (2019); NHSRplotthedots.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"month": range(1, 13),
    ...                   "y": [5, 7, 6, 8, 5, 6, 7, 9, 6, 5, 7, 6]})
    >>> res = spc(d, chart="i", x="month", value="y")
    >>> round(res.phases["centre"].item(), 3), bool(res.phases["runs_signal"].item())
    (6.417, False)
    """
    check_choice(chart, CHARTS, name="chart", where=WHERE)
    direction = _direction(direction, improvement)
    _check_inputs(chart, value, numerator, denominator)
    by_cols = _series_columns(unit, by)
    check_columns(data, [x, value, numerator, denominator, *by_cols], where=WHERE)
    rules = _parse_rules(mdc_rules)
    mr_constant = _mr_constant(mr_constant, chart)
    trend_length = _int_param(trend_length, "trend_length", 2)
    shift_length = _int_param(shift_length, "shift_length", 2)

    if data[x].isna().any():
        raise InputError(f"{WHERE}: the period column {x!r} (x=) has missing values.")
    if periods is None:
        codes_x, uniq_x = pd.factorize(data[x], sort=True)
    else:
        uniq_x = pd.Index(pd.unique(pd.Series(list(periods)))).sort_values()
        codes_x = uniq_x.get_indexer(cast(Any, data[x]))
        if (codes_x < 0).any():
            outside = sorted(map(str, pd.unique(data[x][codes_x < 0])))[:5]
            raise InputError(
                f"{WHERE}: the period column {x!r} has values not in 'periods': "
                f"{outside!r}. 'periods' must list every period of the data."
            )
    n_periods = len(uniq_x)
    codes_s, keys, n_series = _series_codes(data, by_cols)
    flat = codes_s * n_periods + codes_x
    counts = np.bincount(flat, minlength=n_series * n_periods)
    if len(data) and counts.max() > 1:
        dup = int(np.argmax(counts))
        where_dup = f"series {keys[dup // n_periods]!r}, " if by_cols else ""
        raise InputError(
            f"{WHERE}: {where_dup}period {uniq_x[dup % n_periods]!r} appears more than "
            "once; give one row per series and period (aggregate first)."
        )
    shape = (n_series, n_periods)

    # ---- values on the grid
    num = den = None
    if value is not None:
        y = _to_grid(_as_float(data, value), flat, shape)
        if chart == "c" and (y < 0).any():
            raise InputError(f"{WHERE}: counts in {value!r} must be >= 0.")
    elif chart == "c":
        assert numerator is not None  # _check_inputs
        y = _to_grid(_as_float(data, numerator), flat, shape)
        if (y < 0).any():
            raise InputError(f"{WHERE}: counts in {numerator!r} must be >= 0.")
    else:
        assert numerator is not None and denominator is not None  # _check_inputs
        num_v, den_v = _as_float(data, numerator), _as_float(data, denominator)
        if (num_v < 0).any() or (den_v < 0).any():
            raise InputError(
                f"{WHERE}: {numerator!r} and {denominator!r} must be >= 0 "
                f"(got {np.nanmin(num_v)!r} and {np.nanmin(den_v)!r} as minima)."
            )
        if chart in ("p", "pp") and (num_v > den_v).any():
            bad = int(np.argmax(num_v > den_v))
            raise InputError(
                f"{WHERE}: proportions need {numerator!r} <= {denominator!r}; "
                f"row {data.index[bad]!r} has {num_v[bad]!r} > {den_v[bad]!r}."
            )
        num, den = _to_grid(num_v, flat, shape), _to_grid(den_v, flat, shape)
        zero = den == 0
        if zero.any():
            warnings.warn(
                f"{WHERE}: {int(zero.sum())} point(s) with {denominator!r} == 0 are "
                "treated as missing.",
                SPCWarning,
                stacklevel=2,
            )
        missing = np.isnan(num) | np.isnan(den) | zero
        num[missing] = np.nan
        den[missing] = np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            y = num / den

    if phases is not None:
        if part is not None:
            raise InputError(
                f"{WHERE} takes the phases as periods (phases=) or as positions "
                f"(part=), not both. Got phases={phases!r}, part={part!r}."
            )
        part = _phase_positions(phases, uniq_x)
    bounds = [0, *_parse_part(part, n_periods), n_periods]
    n_phases = len(bounds) - 1
    freezes = _parse_freeze(freeze, n_phases)

    out = _compute(
        chart, y, num, den, bounds, freezes,
        screen=screen_moving_ranges, rules=rules, improvement=direction,
        trend_length=trend_length, shift_length=shift_length,
        mr_constant=mr_constant,
    )  # fmt: skip
    points, summary = _frames(
        out, chart, keys, by_cols, uniq_x, num is not None, sigma_lines, n_phases
    )
    if unit is not None:
        points = points.rename(columns={unit: "unit"})
        summary = summary.rename(columns={unit: "unit"})
        by_cols = ("unit",)
    return SPCResult(
        points=points,
        phases=summary,
        chart=chart,
        by=by_cols,
        direction=direction,
        unit_column=unit,
    )


def _mr_constant(value: object, chart: str) -> float | None:
    """Validate ``mr_constant``: None, or a finite number > 0 with chart='i'."""
    if value is None:
        return None
    try:
        k = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        k = float("nan")
    if not (np.isfinite(k) and k > 0):
        raise InputError(
            f"The 'mr_constant' parameter of {WHERE} must be a number > 0 (2.66 for "
            f"Making Data Count) or None. Got {value!r} instead."
        )
    if chart != "i":
        raise InputError(
            f"The 'mr_constant' parameter of {WHERE} applies to chart='i' only. "
            f"Got chart={chart!r}."
        )
    return k


def _compute(chart, y, num, den, bounds, freezes, *, screen, rules, improvement,
             trend_length, shift_length,
             mr_constant=None) -> dict[str, np.ndarray]:  # fmt: skip
    s_count, n_periods = y.shape
    n_phases = len(bounds) - 1
    f2 = (s_count, n_periods)
    o: dict[str, np.ndarray] = {
        "phase": np.zeros(f2, dtype=np.int64),
        "baseline": np.zeros(f2, dtype=bool),
        "y": y.copy(),
        "centre": np.full(f2, np.nan),
        "lower": np.full(f2, np.nan),
        "upper": np.full(f2, np.nan),
        "sigma": np.full(f2, np.nan),
        "num": num,
        "den": den,
    }
    flags = ("outside", "long_run", "few_crossings", "trend", "two_in_three", "shift")
    for name in flags:
        o[name] = np.zeros(f2, dtype=bool)
    o["trend_dir"] = np.zeros(f2, dtype=np.int8)
    ps = (s_count, n_phases)
    summ = {k: np.full(ps, np.nan) for k in (
        "centre", "lcl", "ucl", "sigma_z", "longest_run", "longest_run_max",
        "crossings", "crossings_min")}  # fmt: skip
    summ["n_points"] = np.zeros(ps, dtype=np.int64)
    summ["n_useful"] = np.zeros(ps, dtype=np.int64)
    summ["n_baseline"] = np.zeros(ps, dtype=np.int64)
    summ["runs_signal"] = np.zeros(ps, dtype=bool)
    control = chart not in ("run", "mr")

    for k in range(n_phases):
        a, b = bounds[k], bounds[k + 1]
        m = b - a
        n_base = m if freezes[k] is None else min(freezes[k], m)
        yp = o["y"][:, a:b]
        if chart == "mr":
            first = np.full((s_count, 1), np.nan)
            yp = np.concatenate([first, np.abs(np.diff(yp, axis=1))], axis=1)
            o["y"][:, a:b] = yp
        sub = lambda arr, a=a, b=b: None if arr is None else arr[:, a:b]  # noqa: E731
        lim = phase_limits(chart, yp, sub(num), sub(den), n_base, screen=screen,
                           mr_constant=mr_constant)  # fmt: skip
        centre = lim["centre"]
        o["phase"][:, a:b] = k + 1
        o["baseline"][:, a : a + n_base] = True
        o["centre"][:, a:b] = centre[:, None]
        o["lower"][:, a:b] = lim["lower"]
        o["upper"][:, a:b] = lim["upper"]
        o["sigma"][:, a:b] = lim["sigma"]
        with np.errstate(invalid="ignore"):
            outside = (yp > lim["upper"]) | (yp < lim["lower"])
        o["outside"][:, a:b] = outside
        observed = ~np.isnan(yp)
        summ["n_points"][:, k] = observed.sum(1)
        summ["n_baseline"][:, k] = observed[:, :n_base].sum(1)
        summ["centre"][:, k] = centre
        summ["sigma_z"][:, k] = lim["sigma_z"]
        for lim_name, col in (("lower", "lcl"), ("upper", "ucl")):
            vals = np.where(observed, lim[lim_name], np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                lo, hi = np.nanmin(vals, axis=1), np.nanmax(vals, axis=1)
            same = np.isclose(lo, hi, rtol=1e-12, atol=0)
            summ[col][:, k] = np.where(same, lo, np.nan)
        if chart != "mr":
            ra = runs_analysis(yp, centre)
            for key in ("longest_run", "longest_run_max", "crossings", "crossings_min"):
                summ[key][:, k] = ra[key]
            summ["n_useful"][:, k] = ra["n_useful"]
            summ["runs_signal"][:, k] = ra["runs_signal"]
            o["long_run"][:, a:b] = ra["long_run"]
            o["few_crossings"][:, a:b] = ra["few_crossings"][:, None] & observed
        if control and rules:
            r = _mdc_rules(
                yp, centre, lim["sigma"], outside, rules=rules,
                trend_length=trend_length, shift_length=shift_length,
            )  # fmt: skip
            for name in ("trend", "two_in_three", "shift"):
                o[name][:, a:b] = r[name]
            o["trend_dir"][:, a:b] = r["trend_direction"]

    # ---- point_type by precedence
    with np.errstate(invalid="ignore"):
        side = np.nan_to_num(np.sign(o["y"] - o["centre"])).astype(np.int8)
    if chart == "run":
        ordered = [(o["long_run"], side)]
    elif chart == "mr":
        ordered = [(o["outside"], side)]
    elif rules:
        ordered = [(o["outside"], side), (o["trend"], o["trend_dir"]),
                   (o["two_in_three"], side), (o["shift"], side)]  # fmt: skip
    else:
        ordered = [(o["outside"], side), (o["long_run"], side)]
    direction = np.zeros(f2, dtype=np.int8)
    done = np.zeros(f2, dtype=bool)
    for flag, d in ordered:
        take = flag & ~done
        direction[take] = d[take]
        done |= flag
    codes = np.zeros(f2, dtype=np.int8)
    if improvement is None or chart == "mr":
        codes[direction > 0] = 3
        codes[direction < 0] = 4
    else:
        sgn = 1 if improvement == "increase" else -1
        codes[direction * sgn > 0] = 1
        codes[direction * sgn < 0] = 2
    o["point_type"] = codes
    o["run_signal"] = o["long_run"] | o["few_crossings"]
    special = (codes != 0).astype(np.int64)
    for k in range(n_phases):
        a, b = bounds[k], bounds[k + 1]
        summ[f"n_outside_{k}"] = o["outside"][:, a:b].sum(1)
        summ[f"n_special_{k}"] = special[:, a:b].sum(1)
    o["summary"] = summ  # type: ignore[assignment]
    return o


def _frames(o, chart, keys, by_cols, uniq_x, has_ratio, sigma_lines, n_phases):
    s_count, n_periods = o["y"].shape
    rows = np.repeat(np.arange(s_count), n_periods)
    cols: dict[str, object] = {}
    if by_cols:
        for i, name in enumerate(by_cols):
            level = keys if len(by_cols) == 1 else keys.get_level_values(i)
            cols[name] = level.take(rows)
    cols["x"] = uniq_x.take(np.tile(np.arange(n_periods), s_count))
    cols["phase"] = o["phase"].ravel()
    cols["baseline"] = o["baseline"].ravel()
    if has_ratio:
        cols["numerator"] = o["num"].ravel()
        cols["denominator"] = o["den"].ravel()
    for name in ("y", "centre", "lower", "upper"):
        cols[name] = o[name].ravel()
    if sigma_lines:
        c, s = o["centre"], o["sigma"]
        lo2, hi2 = clip_limits(chart, c - 2 * s, c + 2 * s)
        cols["lower_2sigma"], cols["upper_2sigma"] = lo2.ravel(), hi2.ravel()
    cols["sigma"] = o["sigma"].ravel()
    for name in ("outside", "long_run", "few_crossings", "run_signal", "trend",
                 "two_in_three", "shift"):  # fmt: skip
        cols[name] = o[name].ravel()
    cols["point_type"] = POINT_TYPES[o["point_type"].ravel()]
    points = pd.DataFrame(cols)

    summ = o["summary"]
    srows = np.repeat(np.arange(s_count), n_phases)
    scols: dict[str, object] = {}
    if by_cols:
        for i, name in enumerate(by_cols):
            level = keys if len(by_cols) == 1 else keys.get_level_values(i)
            scols[name] = level.take(srows)
    scols["phase"] = np.tile(np.arange(1, n_phases + 1), s_count)
    scols["n_points"] = summ["n_points"].ravel()
    scols["n_useful"] = summ["n_useful"].ravel()
    scols["n_baseline"] = summ["n_baseline"].ravel()
    for name in ("centre", "lcl", "ucl", "sigma_z"):
        scols[name] = summ[name].ravel()
    for name in ("longest_run", "longest_run_max", "crossings", "crossings_min"):
        scols[name] = pd.array(summ[name].ravel(), dtype="Float64").astype("Int64")
    scols["runs_signal"] = summ["runs_signal"].ravel()
    scols["n_outside"] = np.stack(
        [summ[f"n_outside_{k}"] for k in range(n_phases)], 1
    ).ravel()
    scols["n_special_cause"] = np.stack(
        [summ[f"n_special_{k}"] for k in range(n_phases)], 1
    ).ravel()
    summary = pd.DataFrame(scols)
    if chart == "mr":
        summary["n_useful"] = pd.array([pd.NA] * len(summary), dtype="Int64")
    return points, summary
