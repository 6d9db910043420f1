"""Plain-language text alternatives of ccdata results, in neutral words."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from ccdata._params import level_suffix
from ccdata._wording import (
    status_names,
    status_short,
)
from ccdata.errors import InputError
from ccdata.plot._common import (
    Direction,
    check_direction,
    fmt_number,
    result_levels,
    status_text,
)

if TYPE_CHECKING:
    from ccdata.comparison import FunnelResult
    from ccdata.risk import RiskModel
    from ccdata.variation import SPCResult

__all__ = ["describe"]


def describe(
    result: FunnelResult | SPCResult | RiskModel | pd.DataFrame | Any,
    *,
    highlight: object | None = None,
    series: object | None = None,
    direction: Direction | None = None,
    period: str | None = None,
    name_units: bool = True,
    flagged: Any = None,
    flag_label: str | None = None,
) -> str:
    """Describe in plain language what a ccdata figure shows.

    For alt text and report captions. Wording is neutral ("within the
    expected range", "above the 99.8% limit"); "better"/"worse" appear only
    when ``direction`` is given. Nothing is ranked.

    Parameters
    ----------
    result : FunnelResult, SPCResult, RiskModel or DataFrame
        A funnel or SPC result, a risk model (calibration), or the tidy output
        of ``risk_adjusted_cusum``, ``vlad``, ``field_completeness`` or
        ``case_ascertainment``.
    highlight : unit id, optional
        Funnel: the site's own view. The text then names only this unit; the
        others are counted anonymously.
    series : id, optional
        SPC / CUSUM / VLAD: describe this series only.
    direction : {"increase", "decrease"}, optional
        The indicator's direction, stated by the user (higher or lower is
        better; ``"higher_is_better"``/``"lower_is_better"`` are synonyms).
    period : str, optional
        The period the data cover.
    name_units : bool, default True
        Steering-group view of a funnel: list (in unit-id order) the units
        outside the inner limits (the lowest of ``result.levels``). Ignored
        (never named) with ``highlight``.
    flagged : unit id or iterable of unit ids, optional
        Funnel: units marked as having possibly incomplete data (as in
        :func:`ccdata.plot.funnel`); the text says so in neutral words. In the
        site's own view it says whether the site itself is marked and counts
        the other marked units without naming them.
    flag_label : str, optional
        What the mark means; default "Case ascertainment below 80%".

    Returns
    -------
    str

    Raises
    ------
    InputError
        If the result type is not recognised or ``highlight`` is unknown.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"site_id": ["S01", "S02"], "submitted": [45, 50],
    ...     "expected": [50, 50], "ascertainment": [0.9, 1.0],
    ...     "lower_95": [0.79, 0.93], "upper_95": [0.96, 1.0],
    ...     "over_expected": [False, False]})
    >>> print(describe(table, highlight="S01"))  # doctest: +NORMALIZE_WHITESPACE
    Case ascertainment: S01 submitted 45 of 50 expected cases
    (90.0%, 95% CI 79.0% to 96.0%).
    """
    direction = check_direction(direction, where="ccdata.plot.describe")
    points = getattr(result, "points", None)
    if isinstance(points, pd.DataFrame) and {"cusum", "vlad"} & set(points.columns):
        result = points  # a CusumResult or VladResult: describe its table
    if hasattr(result, "units") and hasattr(result, "curve"):
        return _funnel(
            cast("FunnelResult", result),
            highlight,
            direction,
            period,
            name_units,
            flagged,
            flag_label,
        )
    if hasattr(result, "points") and hasattr(result, "phases"):
        return _spc(
            cast("SPCResult", result),
            series if series is not None else highlight,
            direction,
        )
    if not isinstance(result, pd.DataFrame) and callable(
        getattr(result, "to_frame", None)
    ):
        table = result.to_frame()  # a CusumResult / VladResult
        if isinstance(table, pd.DataFrame) and {"cusum", "vlad"} & set(table.columns):
            return _monitor(result, series if series is not None else highlight)
    if isinstance(result, pd.DataFrame):
        cols = set(result.columns)
        if "cusum" in cols or "vlad" in cols:
            return _monitor(result, series if series is not None else highlight)
        if "ascertainment" in cols:
            return _ascertainment(result, highlight)
        if {"field", "proportion"} <= cols:
            return _completeness(result, highlight)
    if any(
        hasattr(result, a) for a in ("calibration_table", "calibration", "c_statistic")
    ):
        return _calibration(result)
    raise InputError(
        "ccdata.plot.describe does not recognise this result: pass a FunnelResult, "
        "SPCResult, RiskModel, or a table from risk_adjusted_cusum, vlad, "
        f"field_completeness or case_ascertainment. Got {type(result).__name__}."
    )


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _funnel(
    result: FunnelResult,
    highlight: object,
    direction: str | None,
    period: str | None,
    name_units: bool,
    flagged: Any = None,
    flag_label: str | None = None,
) -> str:
    from ccdata.plot._funnel import FLAG_LABEL, flagged_mask, overdispersion_text

    units = result.units
    levels = result_levels(result, where="ccdata.plot.describe")
    kind = str(getattr(result, "kind", "proportion"))
    from ccdata.plot._funnel import _multiplier, centre_label

    mult, _, pct = _multiplier(result, None)
    ids = units["unit"].astype(str)
    head = (
        f"Funnel plot of a {kind.replace('_', ' ')} for {_plural(len(units), 'unit')}"
    )
    bits = []
    if period is not None:
        bits.append(f"period {period}")
    if getattr(result, "method", None) is not None:
        bits.append(f"{result.method} limits")
    bits.append(overdispersion_text(result))
    target = getattr(result, "target", None)
    text = [f"{head} ({'; '.join(bits)})."]
    if target is not None and np.isfinite(float(target)):
        text.append(
            centre_label(result, fmt_number(float(target) * mult, percent=pct)) + "."
        )

    status = units["status"].astype(str)
    flag = flagged_mask(ids.to_numpy(), flagged, where="ccdata.plot.describe")
    mark = str(flag_label if flag_label is not None else FLAG_LABEL)
    mark = mark[:1].lower() + mark[1:]
    if highlight is not None:
        own = (ids == str(highlight)).to_numpy()
        if not own.any():
            raise InputError(
                "The 'highlight' parameter of ccdata.plot.describe must be a unit of "
                f"the result. Got {highlight!r}, which is not among its units."
            )
        row = units[own].iloc[0]
        value = fmt_number(float(row["value"]) * mult, percent=pct)
        num = row["numerator"]
        den = row["denominator"]
        volume = (
            f"{_num(num)} of {_num(den)}"
            if pct
            else f"{_num(num)} observed, {_num(den)} expected"
            if kind == "ratio"
            else f"denominator {_num(den)}"
        )
        text.append(
            f"{highlight}: {value} ({volume}), "
            f"{_status_words(row['status'], levels, direction)}."
        )
        inner = level_suffix(levels[0])
        if {f"lower_{inner}", f"upper_{inner}"} <= set(units.columns):
            lo, hi = (
                fmt_number(float(row[c]) * mult, percent=pct)
                for c in (f"lower_{inner}", f"upper_{inner}")
            )
            text.append(
                f"At this volume the {_pct(levels[0])} limits are {lo} to {hi}."
            )
        others = status[~own]
        text.append(
            f"Of the other {_plural(len(others), 'unit')}, "
            + _counts(others, levels)
            + "."
        )
        if flag[own].any():
            text.append(
                f"{highlight} is marked: {mark}; its outcome figures may be incomplete."
            )
        n_other = int(flag[~own].sum())
        if n_other:
            text.append(
                f"{_plural(n_other, 'other unit is', 'other units are')} "
                f"marked: {mark}."
            )
        return " ".join(text)
    text.append(_counts(status, levels).capitalize() + ".")
    if name_units:
        for st in status_names(levels)[1:-1]:
            who = sorted(ids[(status == st).to_numpy()])
            if who:
                words = status_text(st, levels, direction)
                text.append(f"{words[0].upper()}{words[1:]}: {', '.join(who)}.")
    if flag.any():
        n = int(flag.sum())
        its = "its" if n == 1 else "their"
        if name_units:
            text.append(
                f"Marked ({mark}; {its} outcome figures may be incomplete): "
                f"{', '.join(sorted(ids[flag]))}."
            )
        else:
            text.append(
                f"{_plural(n, 'unit')} marked: {mark}; {its} outcome "
                "figures may be incomplete."
            )
    return " ".join(text)


def _num(v: Any) -> str:
    v = float(v)
    return f"{v:,.0f}" if v == round(v) else f"{v:,.1f}"


def _pct(level: float) -> str:
    from ccdata._wording import level_percent

    return level_percent(level)


def _status_words(status: str, levels: tuple[float, ...], direction: str | None) -> str:
    """status_text for a known status; the raw value otherwise (never an error)."""
    if str(status) in status_names(levels):
        return status_text(str(status), levels, direction)
    return str(status)


def _counts(status: pd.Series, levels: tuple[float, ...]) -> str:
    counts = status.value_counts()
    parts = [
        f"{int(counts.get(st, 0))} {status_short(st, levels)}"
        for st in status_names(levels)
        if counts.get(st, 0) or st == "within"
    ]
    unknown = sorted(set(map(str, counts.index)) - set(status_names(levels)))
    parts += [f"{int(counts[st])} with status {st!r}" for st in unknown]
    return "; ".join(parts)


def _spc(result: SPCResult, series: object, direction: str | None) -> str:
    points = result.points
    chart = str(getattr(result, "chart", "") or "")
    from ccdata.plot._spc import _by_column, _keys, variation_label

    by_cols = _by_column(result, points, None)
    if direction is None:
        direction = check_direction(
            getattr(result, "direction", None), where="ccdata.plot.describe"
        )
    pct = chart in ("p", "pp")
    mult = 100.0 if pct else 1.0
    name = (
        "Run chart"
        if chart == "run"
        else f"SPC chart ({chart})"
        if chart
        else "SPC chart"
    )
    if by_cols:
        by = " ".join(by_cols)
        keys = _keys(points, by_cols)
        if series is None:
            n = keys.nunique()
            outside = (
                points.groupby(keys, sort=True)["outside"].any()
                if "outside" in points
                else pd.Series(dtype=bool)
            )
            runs = (
                points.groupby(keys, sort=True)["run_signal"].any()
                if "run_signal" in points
                else pd.Series(dtype=bool)
            )
            overview = (
                f"{name} of {_plural(n, 'series', 'series')} in {by} order; "
                f"{int(outside.sum())} with a point outside the limits and "
                f"{int(runs.sum())} with a run-chart signal (an unusually "
                "long run or too few crossings of the centre line)."
            )
            stopped = _stopped(points, keys)
            if stopped:
                overview += (
                    f" {_plural(stopped, 'series has', 'series have')} "
                    "no data in the latest period (their lines stop "
                    "where their data stop)."
                )
            return overview
        sel = (keys == str(series)).to_numpy()
        if not sel.any():
            raise InputError(
                "The 'series' parameter of ccdata.plot.describe must be a value of "
                f"column {by!r}. Got {series!r}, which is not among the series."
            )
        points = points[sel]
        summary = result.phases
        if isinstance(summary, pd.DataFrame) and set(by_cols) <= set(summary):
            summary = summary[(_keys(summary, by_cols) == str(series)).to_numpy()]
        head = f"{name} for {series}"
    else:
        summary = result.phases
        head = name
    text = [f"{head}: {_coverage(points)}."]
    if isinstance(summary, pd.DataFrame):
        phases = len(summary)
        for i, (_, row) in enumerate(summary.iterrows()):
            label = f"Phase {i + 1}: " if phases > 1 else ""
            centre = fmt_number(float(row.get("centre", np.nan)) * mult, percent=pct)
            parts = [f"centre {centre}"]
            if "n_outside" in row and chart != "run":
                parts.append(
                    f"{_plural(int(row['n_outside']), 'point')} outside the limits"
                )
            if {"longest_run", "longest_run_max"} <= set(row.index):
                over = row["longest_run"] > row["longest_run_max"]
                parts.append(
                    f"longest run {int(row['longest_run'])} "
                    f"({'longer than' if over else 'within'} the expected "
                    f"maximum of {int(row['longest_run_max'])})"
                )
            if {"crossings", "crossings_min"} <= set(row.index):
                few = row["crossings"] < row["crossings_min"]
                parts.append(
                    f"{int(row['crossings'])} crossings "
                    f"({'fewer than' if few else 'at least'} the expected "
                    f"minimum of {int(row['crossings_min'])})"
                )
            words = "; ".join(parts)
            text.append(
                label + (words if label else words[:1].upper() + words[1:]) + "."
            )
    if "point_type" in points and points["point_type"].notna().any():
        seen = points[points["point_type"].notna() & points["y"].notna()]
        if len(seen):
            latest = variation_label(seen["point_type"].iloc[-1], direction)
            text.append(
                f"Latest point ({_when(seen['x'].iloc[-1])}): "
                f"{latest[0].lower()}{latest[1:]}."
            )
    return " ".join(text)


def _when(value: Any) -> str:
    """Write a period as people do.

    '2024-09' stays, a first-of-month date becomes 'September 2024', any other
    date '5 April 2023'.
    """
    if isinstance(value, pd.Period):
        return str(value)
    if isinstance(value, pd.Timestamp):
        return f"{value:%B %Y}" if value.day == 1 else _day(value)
    return str(value)


def _coverage(points: pd.DataFrame) -> str:
    """'6 points with data (2024-04 to 2024-09); none in the 18 periods after'."""
    has = points["y"].notna().to_numpy()
    n, k = len(points), int(has.sum())
    if k == 0:
        return f"no data in {_plural(n, 'period')}"
    x = points["x"]
    idx = np.flatnonzero(has)
    first, last = _when(x.iloc[idx[0]]), _when(x.iloc[idx[-1]])
    text = f"{_plural(k, 'point')}" + ("" if k == n else " with data")
    text += f" ({first})" if k == 1 else f" ({first} to {last})"
    before, after = int(idx[0]), n - 1 - int(idx[-1])
    gaps = n - k - before - after
    if before:
        text += f"; none in the {_plural(before, 'period')} before {first}"
    if gaps:
        text += f"; {_plural(gaps, 'period')} missing in between"
    if after:
        text += (
            f"; none in the {_plural(after, 'period')} after {last} "
            f"(to {_when(x.iloc[-1])})"
        )
    return text


def _stopped(points: pd.DataFrame, keys: pd.Series) -> int:
    """Count the series with no data in the latest period of the chart."""
    if "y" not in points or points.empty:
        return 0
    last_x = points["x"].max() if points["x"].notna().any() else None
    if last_x is None:
        return 0
    at_end = points["x"] == last_x
    has = points["y"].notna()
    ended = (has & at_end).groupby(keys.to_numpy(), sort=True).any()
    return int((~ended).sum())


def _day(stamp: Any) -> str:
    """Write a date as people do: '5 April 2023'."""
    return f"{stamp.day} {stamp:%B %Y}"


def _monitor(result: Any, series: object) -> str:
    from ccdata.plot._monitoring import date_column, monitor_table

    data, meta = monitor_table(result)
    col = "cusum" if "cusum" in data else "vlad"
    unit = next((c for c in ("unit", "site_id") if c in data), None)
    frame = data
    head = "Risk-adjusted CUSUM" if col == "cusum" else "VLAD"
    if unit is not None:
        if series is None and data[unit].nunique() > 1:
            raise InputError(
                "ccdata.plot.describe: these monitoring data hold several units; "
                "pass series=<unit id>."
            )
        if series is not None:
            frame = data[(data[unit].astype(str) == str(series)).to_numpy()]
            head += f" for {series}"
    n = len(frame)
    flags = (
        frame["signal"].fillna(False).astype(bool).to_numpy()
        if "signal" in frame
        else np.zeros(n, bool)
    )
    sig = int(flags.sum())
    last = float(frame[col].iloc[-1]) if n else float("nan")
    when = date_column(frame, meta)
    span = ""
    if when is not None and n:
        dates = pd.to_datetime(
            frame[when].astype(str)
            if isinstance(frame[when].dtype, pd.PeriodDtype)
            else frame[when]
        )
        span = (
            f" from {_day(dates.min())} to {_day(dates.max())}"
            if dates.notna().any()
            else ""
        )
    text = f"{head}: {_plural(n, 'patient')} in order{span}; {_plural(sig, 'signal')}"
    if sig and when is not None:
        on = pd.to_datetime(
            frame.loc[flags, when].astype(str)
            if isinstance(frame[when].dtype, pd.PeriodDtype)
            else frame.loc[flags, when]
        )
        text += " (" + ", ".join(_day(d) for d in on) + ")"
    elif sig:
        text += (
            " (at patient " + ", ".join(str(i + 1) for i in np.flatnonzero(flags)) + ")"
        )
    text += "."
    if col == "cusum" and sig:
        odds = meta.get("odds_ratio")
        more = "fewer" if odds is not None and float(odds) < 1 else "more"
        text += (
            f" A signal is the CUSUM reaching its limit: evidence of {more} "
            "events than the risk model predicts."
        )
    if col == "vlad" and n:
        side = "fewer" if last > 0 else "more" if last < 0 else "as many"
        text += (
            f" After the last patient, {abs(last):.1f} {side} events than the "
            "risk model expected"
            if side != "as many"
            else " After the last patient, as many events as expected"
        ) + "."
    return text


def _completeness(table: pd.DataFrame, highlight: object) -> str:
    frame = table
    site = "unit" if "unit" in table and "site_id" not in table else "site_id"
    if highlight is not None and site in table:
        frame = table[(table[site].astype(str) == str(highlight)).to_numpy()]
        if frame.empty:
            raise InputError(
                f"The 'highlight' parameter of ccdata.plot.describe must be a site of "
                f"the table. Got {highlight!r}."
            )
    agg = frame.groupby("field", sort=True)[["present", "expected"]].sum()
    parts = [
        f"{f}: {_num(r.present)} of {_num(r.expected)} records "
        f"({fmt_number(100 * r.present / r.expected, percent=True)})"
        for f, r in agg.iterrows()
        if r.expected > 0
    ]
    who = f" for {highlight}" if highlight is not None else ""
    return f"Field completeness{who}, fields in name order. " + "; ".join(parts) + "."


def _ascertainment(table: pd.DataFrame, highlight: object) -> str:
    if highlight is not None:
        site = "unit" if "unit" in table and "site_id" not in table else "site_id"
        if site not in table:
            raise InputError(
                "ccdata.plot.describe: highlight needs a 'site_id' (or 'unit') column."
            )
        frame = table[(table[site].astype(str) == str(highlight)).to_numpy()]
        if frame.empty:
            raise InputError(
                f"The 'highlight' parameter of ccdata.plot.describe must be a site of "
                f"the table. Got {highlight!r}."
            )
        s, e = frame["submitted"].sum(), frame["expected"].sum()
        text = (
            f"Case ascertainment: {highlight} submitted {_num(s)} of "
            f"{_num(e)} expected cases"
        )
        if len(frame) == 1:
            r = frame.iloc[0]
            text += (
                f" ({fmt_number(100 * r.ascertainment, percent=True)}, 95% CI "
                f"{fmt_number(100 * r.lower_95, percent=True)} to "
                f"{fmt_number(100 * r.upper_95, percent=True)})"
            )
        if frame["over_expected"].fillna(False).astype(bool).any():
            text += (
                "; more cases were submitted than expected, which needs a data check"
            )
        return text + "."
    s, e = table["submitted"].sum(), table["expected"].sum()
    over = int(table["over_expected"].fillna(False).astype(bool).sum())
    return (
        f"Case ascertainment over {_plural(len(table), 'group')}: {_num(s)} of "
        f"{_num(e)} expected cases submitted "
        f"({fmt_number(100 * s / e if e else np.nan, percent=True)}); "
        f"{_plural(over, 'group')} submitted more than expected (a data check)."
    )


def _calibration(model: Any) -> str:
    from ccdata.plot._monitoring import calibration_table

    t = calibration_table(model)
    text = (
        "Calibration: observed against expected risk in "
        f"{_plural(len(t), 'group')} "
        "of predicted risk; points on the diagonal mean the model predicts the "
        "observed rate."
    )
    diff = (t["observed"] - t["expected"]).abs().max() * 100
    text += f" Largest difference {diff:.1f} percentage points."
    c = getattr(model, "c_statistic", None)
    if isinstance(c, float | int) and np.isfinite(c):
        text += f" c-statistic {float(c):.2f}."
    return text
