"""Computing the configured indicators of a batch run (funnel, SPC, risk, CUSUM).

Each indicator is computed from one source's valid rows. Statistics come from
:mod:`ccdata.comparison`, :mod:`ccdata.variation` and :mod:`ccdata.risk`; this module
only aggregates the rows per unit and per period and hands them over.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from ccdata._periods import (
    FREQUENCIES,
    pandas_freq,
    parse_periods,
    period_labels,
    period_start,
)
from ccdata.comparison import funnel
from ccdata.completeness import data_quality
from ccdata.errors import ConfigError
from ccdata.report import coverage as cov
from ccdata.report.config import Config, IndicatorConfig, RiskModelConfig
from ccdata.report.sources import SourceData, apply_filter, problem_rows
from ccdata.risk import fit_risk_model, observed_expected, risk_adjusted_cusum
from ccdata.variation import spc

__all__ = [
    "IndicatorOutput",
    "add_ascertainment",
    "compute_indicator",
    "count_problems",
    "number_problems",
    "parse_numbers",
    "parse_periods",
    "period_labels",
    "period_problems",
    "period_start",
]

log = logging.getLogger("ccdata.report")

_FREQ = {f: pandas_freq(f) for f in FREQUENCIES}


@dataclass
class IndicatorOutput:
    """Everything computed for one indicator (tables are CSV-ready)."""

    name: str
    config: IndicatorConfig
    title: str
    window: str
    funnel: Any | None = None
    funnel_table: pd.DataFrame | None = None
    spc: Any | None = None
    spc_table: pd.DataFrame | None = None
    spc_input: pd.DataFrame | None = None
    risk_model: Any | None = None
    calibration: pd.DataFrame | None = None
    oe_table: pd.DataFrame | None = None
    cusum: pd.DataFrame | None = None  # patient level: for figures only
    cusum_table: pd.DataFrame | None = None  # by unit and month: for files
    summary: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    funnel_periods: list[str] | None = None  # the periods pooled in the funnel
    flagged: list[str] = field(default_factory=list)  # poor case ascertainment
    flag_label: str | None = None  # legend text of the mark, e.g. "... below 80%"
    expected_label: str | None = None  # where the expected cases come from
    problems: pd.DataFrame | None = None  # rows left out (unreadable period...)
    coverage: pd.DataFrame | None = None  # per unit: share of the window submitted

    @property
    def flag_kwargs(self) -> dict[str, Any]:
        """``flagged=`` / ``flag_label=`` for the funnel plot and its description."""
        if self.flag_label is None:
            return {}
        drawn = (
            set(self.funnel.units["unit"].astype(str))
            if self.funnel is not None
            else set()
        )  # a unit not assessed (coverage) is not drawn
        return {
            "flagged": [u for u in self.flagged if u in drawn],
            "flag_label": self.flag_label,
        }

    @property
    def units(self) -> list[str]:
        """Unit identifiers present in this indicator's outputs (sorted)."""
        ids: set[str] = set()
        if self.funnel_table is not None:
            ids |= set(self.funnel_table["unit"].astype(str))
        if self.spc_input is not None and self.config.spc_by == "unit":
            ids |= set(self.spc_input["unit"].astype(str))
        if self.oe_table is not None and "unit" in self.oe_table.columns:
            ids |= set(self.oe_table["unit"].astype(str))
        return sorted(ids)


def _cell(v: Any) -> str:
    """Show a cell as the site wrote it: whole floats without ``.0``."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _row_problems(
    rows: pd.DataFrame, column: str, *, source: str, check: str, message: Any
) -> pd.DataFrame:
    """Problem rows (site, file, spreadsheet row, column, value) for ``rows``.

    ``message`` maps a cell value to its sentence.
    """
    n = len(rows)
    return problem_rows(
        [
            {
                "source": source,
                "file": f,
                "site_id": "" if pd.isna(sid) else str(sid),
                "row": r,
                "column": column,
                "value": "" if pd.isna(v) else _cell(v),
                "check": check,
                "message": message(v),
            }
            for f, r, sid, v in zip(
                rows["_file"] if "_file" in rows else [""] * n,
                rows["_row"] if "_row" in rows else [""] * n,
                rows["site_id"] if "site_id" in rows else [""] * n,
                rows[column],
                strict=True,
            )
        ]
    )


def period_problems(
    data: pd.DataFrame, column: str, *, source: str, indicator: str
) -> pd.DataFrame:
    """Problems for rows whose period cannot be read (never dropped silently).

    Returns a table with columns :data:`ccdata.report.sources.ERROR_COLUMNS`.
    """
    parsed = parse_periods(data[column])
    bad = parsed.isna().to_numpy()
    if not bad.any():
        return problem_rows([])

    def message(v: Any) -> str:
        what = (
            "is empty"
            if pd.isna(v)
            else f"{str(v)!r} cannot be read as a date, month (YYYY-MM), "
            "quarter (YYYYQn) or year"
        )
        return f"{column} {what}; the row was left out of indicator {indicator!r}."

    return _row_problems(
        data[bad], column, source=source, check="unreadable_period", message=message
    )


def parse_numbers(values: pd.Series) -> pd.Series:
    """Read a column of a source without a schema as finite numbers.

    Numeric columns pass through as float. Text cells are stripped and read as
    plain decimal numbers (``12``, ``-3.5``, ``1e3``); anything else, including
    ``inf``, ``nan`` and numbers beyond the float range, becomes NaN.

    Examples
    --------
    >>> parse_numbers(pd.Series(["12", " 3.5 ", "ten", "inf", "1e309", None])).tolist()
    [12.0, 3.5, nan, nan, nan, nan]
    """
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype(float)
    if pd.api.types.is_numeric_dtype(values.dtype):
        out = values.astype(float)
    else:
        text = values.astype("string").str.strip()
        plain = text.str.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
        out = pd.to_numeric(text.where(plain.fillna(False)), errors="coerce")
        out = out.astype(float)
    return out.where(np.isfinite(out.to_numpy(dtype=float, na_value=np.nan)))


def number_problems(
    data: pd.DataFrame, columns: list[str], *, source: str, indicator: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the numeric columns an indicator uses; report the rows that cannot be.

    For a source without a schema the numerator, denominator, expected and value
    columns are read with :func:`parse_numbers`. A row with an empty or unreadable
    cell in one of them is left out of the indicator and reported (check
    ``unreadable_number``), never dropped silently and never a traceback.

    Returns ``(data with the columns as float, problems)``; ``problems`` has the
    columns :data:`ccdata.report.sources.ERROR_COLUMNS`.
    """
    found: list[pd.DataFrame] = []
    keep = np.ones(len(data), dtype=bool)
    parsed = {}
    for column in dict.fromkeys(columns):
        if pd.api.types.is_numeric_dtype(data[column].dtype) and not (
            pd.api.types.is_float_dtype(data[column].dtype)
        ):
            continue  # whole numbers (or booleans) cannot be unreadable
        numbers = parse_numbers(data[column])
        bad = numbers.isna().to_numpy()
        parsed[column] = numbers
        if bad.any():

            def message(v: Any, column: str = column) -> str:
                what = (
                    "is empty"
                    if pd.isna(v)
                    else f"{str(v)!r} cannot be read as a finite number"
                )
                return (
                    f"{column} {what}; the row was left out of indicator {indicator!r}."
                )

            found.append(
                _row_problems(
                    data[bad],
                    column,
                    source=source,
                    check="unreadable_number",
                    message=message,
                )
            )
            keep &= ~bad
    if parsed:
        data = data.assign(**parsed)
    problems = pd.concat(found, ignore_index=True) if found else problem_rows([])
    return data[keep], problems


def count_problems(
    data: pd.DataFrame,
    counts: list[str],
    *,
    numerator: str | None,
    denominator: str | None,
    source: str,
    indicator: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of a source without a schema whose counts cannot be counts.

    A negative value in a count column (numerator, denominator, expected), or a
    numerator above its row's denominator, is reported (checks
    ``negative_count`` and ``numerator_above_denominator``) and the row is left
    out of the indicator. A validated source leaves these rules to its schema.

    Returns ``(kept rows, problems)``.
    """
    found: list[pd.DataFrame] = []
    keep = np.ones(len(data), dtype=bool)
    for column in dict.fromkeys(counts):
        bad = (data[column] < 0).to_numpy(dtype=bool, na_value=False)
        if bad.any():
            found.append(
                _row_problems(
                    data[bad],
                    column,
                    source=source,
                    check="negative_count",
                    message=lambda v, c=column: (
                        f"{c} is {_cell(v)}, below 0; the row was left out of "
                        f"indicator {indicator!r}."
                    ),
                )
            )
            keep &= ~bad
    if numerator is not None and denominator is not None:
        bad = keep & (data[numerator] > data[denominator]).to_numpy(
            dtype=bool, na_value=False
        )
        if bad.any():
            rows = data[bad]
            found.append(
                _row_problems(
                    rows,
                    numerator,
                    source=source,
                    check="numerator_above_denominator",
                    message=lambda v: (
                        f"{numerator} ({_cell(v)}) is above {denominator} on this "
                        "row; "
                        f"the row was left out of indicator {indicator!r}."
                    ),
                )
            )
            keep &= ~bad
    problems = pd.concat(found, ignore_index=True) if found else problem_rows([])
    return data[keep], problems


def _need(data: pd.DataFrame, cols: list[str | None], cfg: Config, name: str) -> None:
    missing = [c for c in cols if c is not None and c not in data.columns]
    if missing:
        raise ConfigError(
            f"{cfg.path}: indicator {name!r} uses column(s) {missing!r} not found in "
            f"source {cfg.indicators[name].source!r}; columns are "
            f"{list(map(str, data.columns))!r}."
        )


def _aggregate(
    data: pd.DataFrame, ind: IndicatorConfig, keys: list[str]
) -> pd.DataFrame:
    num = ind.numerator or (ind.risk_model.outcome if ind.risk_model else None)
    agg = {"numerator": (num, "sum")}
    if ind.kind == "ratio":
        agg["denominator"] = ("_expected", "sum")
    elif ind.denominator is not None:
        agg["denominator"] = (ind.denominator, "sum")
    else:
        agg["denominator"] = (num, "size")
    out = data.groupby(keys, sort=True, observed=True).agg(**agg).reset_index()
    return out.rename(columns={ind.unit: "unit"})


def _fit_risk(
    ind: IndicatorConfig, data: pd.DataFrame, out: IndicatorOutput
) -> pd.DataFrame:
    rm = ind.risk_model
    assert rm is not None  # only called for an indicator with a risk model
    outcome = cast(str, rm.outcome or ind.numerator)
    kwargs: dict[str, Any] = {"missing": rm.missing}
    if rm.covariates is not None:
        kwargs["covariates"] = list(rm.covariates)
    else:
        kwargs["formula"] = rm.formula
    model = fit_risk_model(data, outcome, **kwargs)
    out.risk_model = model
    expected = np.asarray(model.predict(data), dtype=float)
    out.calibration = model.calibration_table
    data = data.assign(_expected=expected)
    dropped = int(np.isnan(expected).sum())
    if dropped:
        out.summary["records_without_expected_risk"] = dropped
    data = data[~np.isnan(expected)]
    if len(data):
        out.oe_table = observed_expected(
            data, unit=ind.unit, outcome=outcome, expected="_expected"
        ).to_frame()
    out.summary["c_statistic"] = float(model.c_statistic)
    return data


def _funnel_kwargs(cfg: Config, ind: IndicatorConfig) -> dict[str, Any]:
    kw: dict[str, Any] = {"levels": tuple(cfg.funnel.levels)}
    if cfg.funnel.method is not None:
        kw["method"] = cfg.funnel.method
    overdispersion = ind.overdispersion or cfg.funnel.overdispersion
    if overdispersion is not None and overdispersion != "none":
        kw["overdispersion"] = overdispersion
    if ind.target is not None:
        kw["target"] = ind.target
    return kw


def compute_indicator(cfg: Config, name: str, source: SourceData) -> IndicatorOutput:
    """Compute the funnel, SPC, risk-model and CUSUM outputs of one indicator."""
    ind = cfg.indicators[name]
    data = source.data
    outcome = ind.numerator or (ind.risk_model.outcome if ind.risk_model else None)
    _need(
        data,
        [ind.unit, outcome, ind.denominator, ind.expected, ind.period, ind.value],
        cfg,
        name,
    )
    data = apply_filter(data, ind.filter, key=f"indicators.{name}.filter", cfg=cfg)
    data = data[data[ind.unit].notna()].copy()
    data[ind.unit] = data[ind.unit].astype(str)
    out = IndicatorOutput(name=name, config=ind, title=ind.title or name, window="all")
    # numbers: a source without a schema is read as text; a validated one is typed
    numeric = [
        c
        for c in (outcome, ind.denominator, ind.expected, ind.value)
        if c is not None
        and (not source.validated or not pd.api.types.is_numeric_dtype(data[c]))
    ]
    found = []
    if numeric:
        data, bad_numbers = number_problems(
            data, numeric, source=ind.source, indicator=name
        )
        found.append(bad_numbers)
    if not source.validated:
        counts = [c for c in (outcome, ind.denominator, ind.expected) if c]
        data, bad_counts = count_problems(
            data,
            counts,
            numerator=outcome if ind.kind == "proportion" else None,
            denominator=ind.denominator if ind.kind == "proportion" else None,
            source=ind.source,
            indicator=name,
        )
        found.append(bad_counts)
    if ind.period is not None:
        found.append(
            period_problems(data, ind.period, source=ind.source, indicator=name)
        )
    if found:
        out.problems = pd.concat(found, ignore_index=True)
    if ind.period is not None:
        data["_period"] = period_labels(data[ind.period], ind.period_freq)
        data = data[data["_period"].notna()]
    if ind.kind == "ratio":
        if ind.risk_model is not None:
            data = _fit_risk(ind, data, out)
        else:
            data = data.assign(_expected=data[ind.expected].astype(float))
    if ind.period is not None and len(data):
        periods = sorted(data["_period"].unique())
        out.window = (
            periods[0] if len(periods) == 1 else f"{periods[0]} to {periods[-1]}"
        )
    # ---- funnel ------------------------------------------------------------
    if ind.funnel:
        fdata = data
        if ind.funnel_window == "latest" and ind.period is not None and len(data):
            latest = max(data["_period"])
            fdata = data[data["_period"] == latest]
            out.summary["funnel_period"] = latest
        else:
            out.summary["funnel_period"] = out.window
        if ind.period is not None:
            out.funnel_periods = sorted(fdata["_period"].unique())
        if ind.kind == "mean":
            out.skipped.append("funnel: kind 'mean' is not drawn by the batch job yet")
        else:
            agg = _aggregate(fdata, ind, [ind.unit])
            agg = agg[agg["denominator"] > 0]
            # coverage: units that sent too little of the window are not judged
            if ind.period is not None:
                out.coverage = cov.unit_coverage(
                    data,
                    cast(list[str], out.funnel_periods),
                    unit=ind.unit,
                    period="_period",
                    freq=ind.period_freq,
                    threshold=cov.min_coverage(cfg),
                )
            agg, held = cov.hold_out(agg, out.coverage)
            res = funnel(
                agg,
                numerator="numerator",
                denominator="denominator",
                unit="unit",
                kind=ind.kind,
                **_funnel_kwargs(cfg, ind),
            )
            out.funnel = res
            table = res.to_frame()
            table.insert(0, "indicator", name)
            out.funnel_table = cov.add_coverage(
                table, held, out.coverage, name=name, kind=ind.kind
            )
            for attr in ("phi", "tau2", "target"):
                v = getattr(res, attr)
                if v is not None:
                    out.summary[attr] = None if _isnan(v) else float(v)
            out.summary["overdispersion"] = res.overdispersion or "none"
            out.summary["overdispersion_applied"] = bool(res.overdispersion_applied)
    # ---- SPC ---------------------------------------------------------------
    if ind.spc is not None and ind.period is not None:
        _compute_spc(cfg, name, ind, data, out)
    # ---- risk-adjusted CUSUM ----------------------------------------------
    if ind.cusum and out.risk_model is not None:
        out.cusum = _compute_cusum(ind, data)
        out.cusum_table = cusum_by_month(
            out.cusum,
            date=cast(str, ind.period),
            outcome=cast(
                str, ind.numerator or cast(RiskModelConfig, ind.risk_model).outcome
            ),
        )
    return out


def add_ascertainment(
    cfg: Config, out: IndicatorOutput, sources: dict[str, SourceData]
) -> None:
    """Add each site's case ascertainment to an indicator's funnel table.

    When the indicator's source has a ``[completeness.SOURCE]`` table with an
    ``expected_source``, the records each site submitted in the funnel's
    periods are compared with the cases expected in the same periods
    (:func:`ccdata.data_quality`, which uses :func:`ccdata.case_ascertainment`).
    The funnel table gains ``ascertainment`` and ``ascertainment_concern``
    (ascertainment below ``ascertainment_threshold``, not over the expected
    count), and ``out.flagged`` lists the sites of concern, so that every
    funnel of the indicator marks them: missing cases must not be mistaken for
    good results. Records are counted before the indicator's ``filter``,
    because the expected count covers every case.
    """
    ind = out.config
    qc = cfg.completeness.get(ind.source)
    if out.funnel_table is None or qc is None or qc.expected_source is None:
        return
    site = "site_id"  # the site column of the expected source (as compute_quality)
    expected = sources[qc.expected_source].data
    exp_cols = [site, qc.expected_column]
    if ind.period is not None:
        exp_cols.append(qc.expected_period)
    missing = [c for c in exp_cols if c not in expected.columns]
    if missing:
        raise ConfigError(
            f"{cfg.path}: [completeness.{ind.source}] needs column(s) {missing!r} in "
            f"source {qc.expected_source!r} (keys 'expected_column' and "
            f"'expected_period'); its columns are {list(map(str, expected.columns))!r}."
        )
    data = sources[ind.source].data
    data = data.loc[
        data[ind.unit].notna(),
        [ind.unit] + ([ind.period] if ind.period is not None else []),
    ]
    exp = pd.DataFrame(
        {
            ind.unit: expected[site].astype(str).to_numpy(),
            "expected": expected[qc.expected_column].to_numpy(),
        }
    )
    if ind.period is not None and out.funnel_periods is not None:
        window = list(out.funnel_periods)
        data = data[period_labels(data[ind.period], ind.period_freq).isin(window)]
        eper = period_labels(expected[qc.expected_period], ind.period_freq)
        exp = exp[eper.isin(window).to_numpy()]
    records = pd.DataFrame({ind.unit: data[ind.unit].astype(str).to_numpy()})
    dq = data_quality(
        records,
        unit=ind.unit,
        fields=[ind.unit],
        expected=exp,
        threshold=qc.ascertainment_threshold,
    )
    dq = dq.set_index(dq["unit"].astype(str))
    units = out.funnel_table["unit"].astype(str)
    table = out.funnel_table.copy()
    table["ascertainment"] = units.map(dq["ascertainment"]).to_numpy(dtype=float)
    concern = units.map(dq["ascertainment_concern"]).fillna(False).astype(bool)
    table["ascertainment_concern"] = concern.to_numpy()
    out.funnel_table = table
    out.flagged = sorted(units[concern.to_numpy()])
    out.flag_label = f"Case ascertainment below {100 * qc.ascertainment_threshold:.3g}%"
    out.expected_label = qc.expected_label or f"source '{qc.expected_source}'"
    out.summary["ascertainment_threshold"] = float(qc.ascertainment_threshold)
    out.summary["sites_with_ascertainment_concern"] = len(out.flagged)


def _isnan(v: Any) -> bool:
    try:
        return bool(np.isnan(float(v)))
    except (TypeError, ValueError):
        return False


def _compute_spc(
    cfg: Config,
    name: str,
    ind: IndicatorConfig,
    data: pd.DataFrame,
    out: IndicatorOutput,
) -> None:
    keys = [ind.unit, "_period"] if ind.spc_by == "unit" else ["_period"]
    if ind.kind == "mean":
        agg = (
            data.groupby(keys, sort=True)
            .agg(value=(ind.value, "mean"))
            .reset_index()
            .rename(columns={ind.unit: "unit"})
        )
    else:
        agg = _aggregate(data, ind, keys)
        agg = agg[agg["denominator"] > 0]
        agg["value"] = agg["numerator"] / agg["denominator"]
    agg = agg.rename(columns={"_period": "period"})
    agg.insert(
        cast(int, agg.columns.get_loc("period")) + 1,
        "period_start",
        period_start(agg["period"]),
    )
    if ind.spc_by != "unit":
        agg.insert(0, "unit", "all")
    out.spc_input = agg.reset_index(drop=True)
    chart = ind.spc
    kw: dict[str, Any] = {"chart": chart, "x": "period_start"}
    if ind.kind != "mean":
        kw.update(numerator="numerator", denominator="denominator")
    else:
        kw["value"] = "value"
    if ind.spc_by == "unit":
        kw["unit"] = "unit"
    kw["periods"] = _full_axis(out.spc_input["period_start"], ind.period_freq)
    if cfg.spc.freeze is not None:
        kw["freeze"] = cfg.spc.freeze
    if ind.spc_phases:
        kw["part"] = _phase_positions(cfg, name, ind, out.spc_input["period_start"])
    if ind.direction is not None:
        kw["direction"] = ind.direction
    res = spc(out.spc_input, **kw)
    out.spc = res
    pts = res.points.copy()
    if "unit" not in pts.columns:
        pts.insert(0, "unit", "all")
    pts.insert(0, "indicator", name)
    out.spc_table = pts


def _full_axis(starts: pd.Series, freq: str) -> pd.Index:
    """Every period from the first to the last, so a period with no data is a gap.

    Examples
    --------
    >>> _full_axis(pd.Series(pd.to_datetime(["2024-01-01", "2024-04-01"])),
    ...            "month").strftime("%m").tolist()
    ['01', '02', '03', '04']
    >>> _full_axis(pd.Series([2022, 2025]), "year").tolist()
    [2022, 2023, 2024, 2025]
    """
    if pd.api.types.is_integer_dtype(starts):  # years
        return pd.Index(range(int(starts.min()), int(starts.max()) + 1))
    periods = pd.period_range(starts.min(), starts.max(), freq=_FREQ[freq])
    return pd.Index(periods.start_time)


def _phase_positions(
    cfg: Config, name: str, ind: IndicatorConfig, starts: pd.Series
) -> list[int]:
    """``spc_phases`` (periods where a new phase begins) as qicharts2 ``part=``.

    A phase beginning at period P starts after the k-th point, k being the
    number of periods of the chart's (shared) time axis before P.
    """
    axis = np.sort(starts.unique())
    begins = period_start(pd.Series(ind.spc_phases, dtype="str")).to_numpy()
    positions = np.searchsorted(axis, begins, side="left")
    bad = [
        p
        for p, k in zip(ind.spc_phases, positions, strict=True)
        if not 0 < k < len(axis)
    ]
    if bad:
        raise ConfigError(
            f"{cfg.path}: indicator {name!r}: spc_phases {bad!r} must fall strictly "
            "inside the periods of the data "
            f"({pd.Series(axis).astype(str).iloc[0]} to "
            f"{pd.Series(axis).astype(str).iloc[-1]})."
        )
    return sorted(set(int(k) for k in positions))


def cusum_by_month(cusum: pd.DataFrame, *, date: str, outcome: str) -> pd.DataFrame:
    """Monthly aggregate of a patient-level CUSUM table: what output files carry.

    The patient-level table (one row per patient, with the date of the
    operation and its outcome) stays in memory to draw the figures; files get
    one row per unit and month, so no patient's record reaches an output.

    Parameters
    ----------
    cusum : DataFrame
        From :func:`ccdata.risk.risk_adjusted_cusum` with a ``unit`` column.
    date, outcome : str
        The date column that orders the patients and the 0/1 outcome column.

    Returns
    -------
    DataFrame
        ``unit, month, patients, observed, expected, cusum_end, cusum_max,
        signals``: patients and deaths in the month, the sum of their predicted
        risks, the CUSUM after the month's last patient, its highest value in
        the month and how many signals it gave; sorted by unit and month.
    """
    month = pd.to_datetime(cusum[date]).dt.strftime("%Y-%m")
    grouped = cusum.assign(month=month).groupby(["unit", "month"], sort=True)
    return grouped.agg(
        patients=(outcome, "size"),
        observed=(outcome, "sum"),
        expected=("expected_risk", "sum"),
        cusum_end=("cusum", "last"),
        cusum_max=("cusum", "max"),
        signals=("signal", "sum"),
    ).reset_index()


def _compute_cusum(ind: IndicatorConfig, data: pd.DataFrame) -> pd.DataFrame:
    period = cast(str, ind.period)
    outcome = cast(str, ind.numerator or cast(RiskModelConfig, ind.risk_model).outcome)
    cols = [ind.unit, period, outcome, "_expected"]
    data = data[cols].sort_values([ind.unit, period], kind="mergesort")
    data = data.rename(columns={"_expected": "expected_risk"})
    res = risk_adjusted_cusum(
        data, outcome=outcome, expected="expected_risk", order_by=period, unit=ind.unit
    )
    return res.points.reset_index(drop=True)
