"""Coverage: which periods each site submitted, and whether a verdict may be given.

A site that stopped sending data part-way through a funnel's window must not
be judged on the months it did send as if they stood for the whole window
(the ENABLE-CKD lesson: 20 of 29 practices gave sufficient data). The batch
job therefore

* builds, for every source, the status of each site's return for each period
  (:func:`source_submission_status`, from :func:`ccdata.submission_status`
  and :func:`ccdata.submission_volume`): ``on_time``, ``late``, ``missing`` or
  ``submitted`` (received, timing unknown);
* measures, for every funnel, each unit's coverage of the funnel's window
  (:func:`unit_coverage`): the share of the window's periods it submitted;
* judges on the funnel only the units whose coverage is at least
  ``[funnel] min_coverage`` (default 0.75); the others are kept in the
  indicator table with status ``not_assessed`` and the reason, e.g.
  ``"no data since 2024-09"`` (:func:`hold_out`, :func:`add_coverage`).

What counts as a period received
--------------------------------
Aggregate returns (at most one row per unit and period, such as a practice's
monthly CKD return or a trust's yearly audit figures): a period is received
when its row is there, so a gap in the middle is a missing return.

Record-level data (several rows per unit and period, such as one row per
operation): a month without an operation is a true zero for a small unit, not
a missing return, so a unit is taken to have submitted every period from its
first to its last record; the periods before its first and after its last
record are missing ("no data since 2025-06").

References
----------
.. [1] Spiegelhalter DJ, Sherlaw-Johnson C, Bardsley M, et al. (2012).
   Statistical methods for healthcare regulation: rating, screening and
   surveillance. J R Stat Soc A 175:1-47 (data quality before judgement).
.. [2] Healthcare Quality Improvement Partnership (2017). Detection and
   management of outliers for National Clinical Audits (case ascertainment
   and data completeness to be checked before any outlier is declared).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ccdata.completeness import submission_status, submission_volume
from ccdata.errors import ConfigError

__all__ = [
    "DEFAULT_MIN_COVERAGE",
    "add_coverage",
    "coverage_sentence",
    "hold_out",
    "is_record_level",
    "min_coverage",
    "period_ranges",
    "source_submission_status",
    "unit_coverage",
]

log = logging.getLogger("ccdata.report")

#: Default share of a window's periods a unit must have submitted to be judged.
DEFAULT_MIN_COVERAGE = 0.75

_FREQ = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}

#: Columns added to an indicator's funnel table.
COVERAGE_COLUMNS = (
    "periods_in_window",
    "periods_received",
    "coverage",
    "missing_periods",
    "coverage_note",
)


def min_coverage(cfg: Any) -> float:
    """``[funnel] min_coverage`` of a configuration, checked (default 0.75).

    Examples
    --------
    >>> min_coverage(None)
    0.75
    """
    value = getattr(getattr(cfg, "funnel", None), "min_coverage", DEFAULT_MIN_COVERAGE)
    value = DEFAULT_MIN_COVERAGE if value is None else value
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= float(value) <= 1
    ):
        raise ConfigError(
            f"{getattr(cfg, 'path', None)}: key 'funnel.min_coverage' must be a "
            f"share of the window's periods in [0, 1]; got {value!r}."
        )
    return float(value)


def _period_index(labels: Sequence[str], freq: str) -> pd.PeriodIndex:
    return pd.PeriodIndex(
        [pd.Period(str(v), freq=_FREQ[freq]) for v in labels], freq=_FREQ[freq]
    )


def _label(p: pd.Period, freq: str) -> str:
    """Write a period as :func:`ccdata.report.indicators.period_labels` does."""
    if freq in ("day", "week"):
        return p.start_time.strftime("%Y-%m-%d")
    return str(p)


def window_grid(periods: Sequence[str], freq: str) -> list[str]:
    """Every period from the first to the last of ``periods`` (labels, sorted).

    Examples
    --------
    >>> window_grid(["2024-01", "2024-04"], "month")
    ['2024-01', '2024-02', '2024-03', '2024-04']
    >>> window_grid(["2023"], "year")
    ['2023']
    """
    if not len(periods):
        return []
    idx = _period_index(sorted(map(str, periods)), freq)
    rng = pd.period_range(idx.min(), idx.max(), freq=idx.freq)
    return [_label(p, freq) for p in rng]


def period_ranges(periods: Sequence[str], freq: str) -> str:
    """Consecutive periods joined into ranges, in words.

    Examples
    --------
    >>> period_ranges(["2024-10", "2024-11", "2024-12", "2025-03"], "month")
    '2024-10 to 2024-12 and 2025-03'
    >>> period_ranges([], "month")
    ''
    """
    if not len(periods):
        return ""
    labels = sorted(set(map(str, periods)))
    ords = _period_index(labels, freq).asi8
    groups: list[list[str]] = [[labels[0]]]
    for prev, cur, lab in zip(ords[:-1], ords[1:], labels[1:], strict=True):
        if cur == prev + 1:
            groups[-1].append(lab)
        else:
            groups.append([lab])
    words = [g[0] if len(g) == 1 else f"{g[0]} to {g[-1]}" for g in groups]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def is_record_level(data: pd.DataFrame, *, unit: str, period: str) -> bool:
    """Tell whether some unit has several rows in one period (one row per case).

    Examples
    --------
    >>> is_record_level(pd.DataFrame({"u": ["A", "A"], "p": ["1", "1"]}),
    ...                 unit="u", period="p")
    True
    """
    if data.empty:
        return False
    return bool(data.groupby([unit, period], sort=False).size().max() > 1)


def _received(
    data: pd.DataFrame, *, unit: str, period: str, freq: str, record_level: bool
) -> pd.DataFrame:
    """Return the unit and period label of every period counted as received."""
    pairs = data[[unit, period]].dropna().drop_duplicates()
    pairs = pairs.astype({unit: str, period: str})
    if not record_level or pairs.empty:
        return pairs.rename(columns={unit: "unit", period: "period"})
    span = pairs.groupby(unit)[period].agg(["min", "max"])
    rows = []
    for u, first, last in span.itertuples():
        for p in window_grid([first, last], freq):
            rows.append((u, p))
    return pd.DataFrame(rows, columns=["unit", "period"])


def unit_coverage(
    data: pd.DataFrame,
    window: Sequence[str],
    *,
    unit: str,
    period: str,
    freq: str = "month",
    threshold: float = DEFAULT_MIN_COVERAGE,
    units: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Each unit's coverage of a window, and whether it may be judged.

    Parameters
    ----------
    data : DataFrame
        The indicator's rows over every period (not only the window), with a
        unit column and a period-label column.
    window : sequence of str
        Period labels of the window (its first and last define it; every
        period between is part of it).
    unit, period : str
        Columns of ``data``.
    freq : {"day", "week", "month", "quarter", "year"}, default "month"
    threshold : float, default 0.75
        Least share of the window's periods a unit must have submitted.
    units : sequence of str, optional
        Units to report even without any row (e.g. registered sites).

    Returns
    -------
    DataFrame
        One row per unit, sorted by unit: ``unit``, ``periods_in_window``,
        ``periods_received``, ``coverage`` (share), ``first_period``,
        ``last_period`` (received, in the window), ``missing_periods`` (in
        words, e.g. ``"2024-10 to 2026-03"``), ``assessed`` (coverage at
        least ``threshold``) and ``coverage_note`` (the reason in words, empty
        when every period was received).

    Examples
    --------
    >>> d = pd.DataFrame({"u": ["A"] * 4 + ["B"] * 2,
    ...                   "p": ["2024-01", "2024-02", "2024-03", "2024-04",
    ...                         "2024-01", "2024-02"]})
    >>> cov = unit_coverage(d, ["2024-01", "2024-04"], unit="u", period="p")
    >>> cov[["unit", "coverage", "assessed"]].values.tolist()
    [['A', 1.0, True], ['B', 0.5, False]]
    >>> cov["coverage_note"].iloc[1]
    'data for 2 of 4 periods (50%); no data since 2024-02'
    """
    grid = window_grid(window, freq)
    n = len(grid)
    record_level = is_record_level(data, unit=unit, period=period)
    got = _received(
        data, unit=unit, period=period, freq=freq, record_level=record_level
    )
    all_units = sorted(set(got["unit"]) | set(map(str, units or ())))
    in_win = got[got["period"].isin(grid)]
    by_unit = in_win.groupby("unit")["period"].agg(list).to_dict()
    last_any = got.groupby("unit")["period"].max().to_dict()
    rows = []
    for u in all_units:
        have = sorted(by_unit.get(u, []))
        k = len(have)
        share = k / n if n else np.nan
        missing = [p for p in grid if p not in set(have)]
        note = _note(have, missing, grid, last_any.get(u), freq, k, n)
        rows.append(
            {
                "unit": u,
                "periods_in_window": n,
                "periods_received": k,
                "coverage": share,
                "first_period": have[0] if have else "",
                "last_period": have[-1] if have else "",
                "missing_periods": period_ranges(missing, freq),
                "assessed": bool(n and share >= threshold - 1e-12),
                "coverage_note": note,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "unit",
            "periods_in_window",
            "periods_received",
            "coverage",
            "first_period",
            "last_period",
            "missing_periods",
            "assessed",
            "coverage_note",
        ],
    )


def _note(
    have: list[str],
    missing: list[str],
    grid: list[str],
    last_any: Any,
    freq: str,
    k: int,
    n: int,
) -> str:
    if not missing:
        return ""
    if not have:
        since = f"; no data since {last_any}" if last_any else "; no data received"
        return f"no data in the window ({grid[0]} to {grid[-1]}){since}"
    parts = [f"data for {k} of {n} periods ({100 * k / n:.0f}%)"]
    tail = [p for p in missing if p > have[-1]]
    head = [p for p in missing if p < have[0]]
    inner = [p for p in missing if have[0] < p < have[-1]]
    if tail:
        parts.append(f"no data since {have[-1]}")
    if head:
        parts.append(f"no data before {have[0]}")
    if inner:
        parts.append(f"missing {period_ranges(inner, freq)}")
    return "; ".join(parts)


def hold_out(
    agg: pd.DataFrame, coverage: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a funnel's per-unit rows into the judged and the held-out units.

    Returns ``(judged, held)``: the rows of units whose coverage is enough,
    and those of the others (kept to show their own figures, unjudged).
    """
    if coverage is None or agg.empty:
        return agg, agg.iloc[0:0]
    short = set(coverage.loc[~coverage["assessed"], "unit"])
    mask = agg["unit"].astype(str).isin(short).to_numpy()
    return agg[~mask], agg[mask]


def add_coverage(
    table: pd.DataFrame,
    held: pd.DataFrame,
    coverage: pd.DataFrame | None,
    *,
    name: str,
    kind: str,
) -> pd.DataFrame:
    """Put the held-out units back in the funnel table, with the coverage columns.

    Held-out units get status ``not_assessed``, their own value
    (numerator / denominator), no limits and no z-score. Every row gains
    ``periods_in_window``, ``periods_received``, ``coverage``,
    ``missing_periods`` and ``coverage_note`` (the reason a unit is not
    assessed, or which periods are missing). Sorted by unit.
    """
    if coverage is None:
        return table
    out = table
    if len(held):
        extra = pd.DataFrame({"unit": held["unit"].astype(str).to_numpy()})
        for col in ("numerator", "denominator"):
            if col in table.columns:
                extra[col] = held[col].to_numpy()
        if "value" in table.columns and {"numerator", "denominator"} <= set(held):
            num = held["numerator"].to_numpy(dtype=float)
            den = held["denominator"].to_numpy(dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                value = np.where(den > 0, num / den, np.nan)
            extra["value"] = value
        if "indicator" in table.columns:
            extra["indicator"] = name
        if "used_in_overdispersion" in table.columns:
            extra["used_in_overdispersion"] = False
        extra["status"] = "not_assessed"
        out = pd.concat(
            [table, extra.reindex(columns=table.columns)], ignore_index=True
        )
    cov = coverage.set_index("unit")
    units = out["unit"].astype(str)
    for col in COVERAGE_COLUMNS:
        out[col] = units.map(cov[col]).to_numpy()
    return out.sort_values("unit", kind="stable").reset_index(drop=True)


def coverage_sentence(row: Any, *, min_share: float) -> str:
    """Say a site's coverage of a window in one sentence (for packs and captions).

    Examples
    --------
    >>> row = {"periods_in_window": 24, "periods_received": 6, "coverage": 0.25,
    ...        "missing_periods": "2024-10 to 2026-03",
    ...        "coverage_note": "data for 6 of 24 periods (25%); no data since 2024-09"}
    >>> coverage_sentence(row, min_share=0.75)[:60]
    'Not assessed: data for 6 of 24 periods (25%); no data since '
    """
    n = int(row["periods_in_window"]) if pd.notna(row["periods_in_window"]) else 0
    k = int(row["periods_received"]) if pd.notna(row["periods_received"]) else 0
    share = float(row["coverage"]) if pd.notna(row["coverage"]) else 0.0
    missing = str(row.get("missing_periods") or "")
    note = str(row.get("coverage_note") or "")
    if n and k == n:
        return f"Data received for all {n} periods of the window."
    if share + 1e-12 < min_share:
        return (
            f"Not assessed: {note}. A verdict needs data for at least "
            f"{100 * min_share:.0f}% of the window's periods; missing: "
            f"{missing}."
        )
    return (
        f"Data received for {k} of {n} periods ({100 * share:.0f}%), enough "
        f"to be assessed; missing: {missing}. The result describes the "
        "periods received."
    )


# --------------------------------------------------------------------------- #
# Per source: the status of every site's return for every period
# --------------------------------------------------------------------------- #


def _source_period(cfg: Any, name: str) -> tuple[str, str] | None:
    """Return the (period column, frequency) of a source.

    That is its completeness event date, else the period of its first indicator.
    """
    qc = cfg.completeness.get(name)
    if qc is not None and qc.event_date:
        return qc.event_date, "month"
    for ind in cfg.indicators.values():
        if ind.source == name and ind.period is not None:
            return ind.period, ind.period_freq
    return None


def source_submission_status(
    cfg: Any, name: str, data: pd.DataFrame, sites: Sequence[str] | None = None
) -> pd.DataFrame | None:
    """Status of each site's return for each period of a source.

    Uses :func:`ccdata.submission_volume` (records per site and period, zero
    periods included) and :func:`ccdata.submission_status` (``on_time``,
    ``late``, ``missing``, ``submitted``). The submission date of a period is
    the latest ``entered_date`` of its records when the source's
    ``[completeness]`` table names one (due ``timeliness_days`` after the
    period's end, default 30), else unknown (status ``submitted``). For
    record-level data every period from a site's first to its last record
    counts as received (see the module notes).

    Returns
    -------
    DataFrame or None
        ``source, site_id, period, records, submitted_date, due_date, status,
        days_late``, sorted by site and period; None when the source has no
        period column.
    """
    from ccdata.report.indicators import period_labels

    found = _source_period(cfg, name)
    unit = "site_id"
    if found is None or unit not in data.columns or found[0] not in data.columns:
        return None
    col, freq = found
    frame = data.loc[data[unit].notna()].copy()
    frame[unit] = frame[unit].astype(str)
    frame["_period"] = period_labels(frame[col], freq)
    frame = frame[frame["_period"].notna()]
    if frame.empty:
        return None
    grid = window_grid(sorted(frame["_period"].unique()), freq)
    site_list = sorted(set(frame[unit]) | set(map(str, sites or ())))
    record_level = is_record_level(frame, unit=unit, period="_period")
    got = _received(
        frame, unit=unit, period="_period", freq=freq, record_level=record_level
    )
    qc = cfg.completeness.get(name)
    entered = qc.entered_date if qc is not None else None
    due = 30
    if entered and entered in frame.columns:
        frame["_entered"] = pd.to_datetime(frame[entered], errors="coerce")
        last = frame.groupby([unit, "_period"])["_entered"].max()
        got["submitted_date"] = [
            last.get((u, p), pd.NaT)
            for u, p in got[["unit", "period"]].itertuples(index=False)
        ]
        due = int(qc.timeliness_days or 30)
    else:
        got["submitted_date"] = pd.NaT
    got["submitted_date"] = pd.to_datetime(got["submitted_date"]).dt.strftime(
        "%Y-%m-%d"
    )
    got = got.rename(columns={"unit": unit})
    pfreq = _FREQ[freq]
    status = submission_status(
        got,
        sites=site_list,
        periods=grid,
        due=due,
        unit=unit,
        period="period",
        date="submitted_date",
        freq=freq,
    ).rename(columns={"unit": unit})
    vol = submission_volume(
        frame.assign(_date=_starts(frame["_period"], freq)),
        date="_date",
        unit=unit,
        freq=freq,
        sites=site_list,
        start=grid[0],
        end=grid[-1],
    ).rename(columns={"unit": unit})
    status["period"] = [
        _label(pd.Period(p, freq=pfreq), freq) for p in status["period"]
    ]
    vol["period"] = [_label(pd.Period(p, freq=pfreq), freq) for p in vol["period"]]
    status = status.merge(
        vol.rename(columns={"cases": "records"}), on=[unit, "period"], how="left"
    )
    status["records"] = status["records"].fillna(0).astype("int64")
    status.insert(0, "source", name)
    return status[
        [
            "source",
            unit,
            "period",
            "records",
            "submitted_date",
            "due_date",
            "status",
            "days_late",
        ]
    ]


def _starts(labels: pd.Series, freq: str) -> pd.Series:
    """First day (``YYYY-MM-DD``) of each period label; once per distinct label."""
    if freq == "year":
        return labels.astype(str) + "-01-01"
    codes, uniques = pd.factorize(labels, use_na_sentinel=True)
    starts = np.array(
        [
            pd.Period(u, freq=_FREQ[freq]).start_time.strftime("%Y-%m-%d")
            for u in uniques
        ]
        + [None],
        dtype=object,
    )
    return pd.Series(starts[codes], index=labels.index, dtype=object)


def site_coverage_summary(status: pd.DataFrame | None, site: str) -> dict[str, Any]:
    """One site's returns of one source, for its pack: counts and missing periods.

    Examples
    --------
    >>> st = pd.DataFrame({"source": "s", "site_id": "A",
    ...     "period": ["2024-01", "2024-02", "2024-03"],
    ...     "status": ["on_time", "late", "missing"]})
    >>> site_coverage_summary(st, "A")["missing"]
    '2024-03'
    """
    if status is None or status.empty:
        return {}
    own = status[status["site_id"].astype(str) == str(site)]
    if own.empty:
        return {}
    periods = own["period"].astype(str).tolist()
    freq = (
        "year"
        if all(len(p) == 4 for p in periods)
        else (
            "quarter"
            if any("Q" in p for p in periods)
            else ("day" if all(len(p) == 10 for p in periods) else "month")
        )
    )
    st = own["status"].astype(str)
    missing = own.loc[st == "missing", "period"].astype(str).tolist()
    late = own.loc[st == "late", "period"].astype(str).tolist()
    return {
        "source": str(own["source"].iloc[0]),
        "periods": len(own),
        "first": periods[0],
        "last": periods[-1],
        "received": int((st != "missing").sum()),
        "missing_count": len(missing),
        "missing": period_ranges(missing, freq),
        "late_count": len(late),
        "late": period_ranges(late, freq),
        "timed": bool(st.isin(["on_time", "late"]).any()),
    }


def registered_sites(cfg: Any, name: str, sites: pd.DataFrame | None) -> list[str]:
    """Return the registered sites expected to send source ``name`` (its community)."""
    community = cfg.sources[name].community
    col = cfg.sites.community_column
    if (
        sites is None
        or cfg.sites.id_column not in sites.columns
        or community is None
        or col not in sites.columns
    ):
        return []  # without a community, the sites are those in the data
    sites = sites[sites[col] == community]
    return sorted(sites[cfg.sites.id_column].astype(str).unique())


def write_submission_status(
    cfg: Any, tmp: Any, sources: dict[str, Any], sites: pd.DataFrame | None
) -> dict[str, pd.DataFrame]:
    """Compute and write ``indicators/submission_status_<source>.csv`` per source.

    Sources without a period (e.g. an expected-cases file with no indicator
    and no ``[completeness]`` event date) are left out. Returns source ->
    status table (see :func:`source_submission_status`).
    """
    from pathlib import Path

    from ccdata.report import writers as w

    out: dict[str, pd.DataFrame] = {}
    for name, src in sources.items():
        expected = {qc.expected_source for qc in cfg.completeness.values()}
        if name in expected and not any(
            i.source == name for i in cfg.indicators.values()
        ):
            continue  # an independent count of cases, not a site submission
        table = source_submission_status(
            cfg, name, src.data, registered_sites(cfg, name, sites)
        )
        if table is None:
            continue
        out[name] = table
        w.write_csv(
            table,
            Path(tmp) / "indicators" / f"submission_status_{name}.csv",
            sort_by=["site_id", "period"],
        )
    return out
