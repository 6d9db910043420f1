"""Every data-quality table of one source at once (as the batch job reports them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from ccdata.completeness._ascertainment import case_ascertainment
from ccdata.completeness._fields import field_completeness
from ccdata.completeness._summary import data_quality
from ccdata.completeness._timeliness import timeliness

__all__ = ["expected_in_span", "quality_tables"]


def expected_in_span(
    expected: pd.DataFrame,
    *,
    expected_column: str,
    by: str = "site_id",
    expected_period: str | None = None,
    records: pd.DataFrame | None = None,
    event_date: str | None = None,
) -> pd.DataFrame:
    """Keep the expected counts per site to the months the records span.

    With the records' ``event_date`` and the expected table's period column
    ``expected_period``, expected counts of months before the first or after
    the last record's month are left out, so that ascertainment compares like
    with like. Otherwise every expected count is kept.

    Returns
    -------
    DataFrame
        Columns ``by`` and ``expected``.

    Examples
    --------
    >>> exp = pd.DataFrame({"site_id": ["S1", "S1", "S1"], "n": [5, 6, 7],
    ...                     "month": ["2024-01", "2024-02", "2024-03"]})
    >>> rec = pd.DataFrame({"site_id": ["S1"], "date": ["2024-02-10"]})
    >>> expected_in_span(exp, expected_column="n", expected_period="month",
    ...                  records=rec, event_date="date")["expected"].tolist()
    [6]
    """
    out = expected[[by, expected_column]].rename(columns={expected_column: "expected"})
    if (
        records is None
        or not event_date
        or event_date not in records.columns
        or expected_period is None
        or expected_period not in expected.columns
    ):
        return out
    months = _months(records[event_date]).dropna()
    labels = _months(expected[expected_period])
    if months.empty or labels.isna().any():
        return out
    keep = (labels >= months.min()) & (labels <= months.max())
    return out[keep.to_numpy()]


def _months(values: pd.Series) -> pd.Series:
    dates = pd.to_datetime(values.astype(str), format="mixed", errors="coerce")
    return dates.dt.to_period("M")


def quality_tables(
    data: pd.DataFrame,
    *,
    by: str = "site_id",
    fields: Sequence[str] | None = None,
    schema: Any = None,
    event_date: str | None = None,
    entry_date: str | None = None,
    within_days: int | None = None,
    event_label: str | None = None,
    expected: pd.DataFrame | None = None,
    threshold: float | None = None,
) -> dict[str, pd.DataFrame]:
    """Field completeness, timeliness, ascertainment and the per-site summary.

    The tables a feedback report shows for one source, each from its own
    function: ``"fields"`` (:func:`field_completeness` by site),
    ``"fields_overall"`` (the same, all sites together), ``"timeliness"``
    (with ``event_date`` and ``entry_date``), ``"ascertainment"`` (with
    ``expected``: columns ``by`` and ``expected``, e.g. from
    :func:`expected_in_span`) and ``"summary"`` (:func:`data_quality`, one row
    per site with a message it can act on).

    Parameters
    ----------
    data : DataFrame
        One row per record.
    by : str, default "site_id"
        The site column.
    fields, schema
        The fields to report, or a schema giving them (and which are
        mandatory); as for :func:`field_completeness`. ``fields`` wins.
    event_date, entry_date : str, optional
        Date columns for timeliness.
    within_days : int, optional
        Timeliness standard; default that of :func:`timeliness` for the
        timeliness table and 90 days for the summary.
    event_label : str, optional
        What an event is called in the summary's message.
    expected : DataFrame, optional
        Expected counts per site, for case ascertainment.
    threshold : float, optional
        Ascertainment below which the summary raises a concern (default that
        of :func:`data_quality`).

    Returns
    -------
    dict of str to DataFrame
        Keys in the order above; absent measures are left out.

    Examples
    --------
    >>> df = pd.DataFrame({"site_id": ["S1", "S1", "S2"], "age": [70, None, 81]})
    >>> sorted(quality_tables(df, fields=["age"]))
    ['fields', 'fields_overall', 'summary']
    """
    kw: dict[str, Any] = {"unit": by}
    if fields is not None:
        kw["fields"] = list(fields)
    elif schema is not None:
        kw["schema"] = schema
    out = {
        "fields": _named(field_completeness(data, **kw), by),
        "fields_overall": field_completeness(data, **{**kw, "unit": None}),
    }
    timed = bool(event_date and entry_date)
    if timed:
        tkw: dict[str, Any] = {
            "event_date": event_date,
            "entry_date": entry_date,
            "unit": by,
        }
        if within_days is not None:
            tkw["within_days"] = within_days
        out["timeliness"] = _named(timeliness(data, **tkw), by)
    if expected is not None:
        out["ascertainment"] = _named(
            case_ascertainment(data[[by]], expected, unit=by), by
        )
    dkw: dict[str, Any] = {k: v for k, v in kw.items() if k != "unit"}
    if timed:
        dkw.update(
            event_date=event_date, entry_date=entry_date, within_days=within_days or 90
        )
        if event_label is not None:
            dkw["event_label"] = event_label
    if threshold is not None:
        dkw["threshold"] = threshold
    out["summary"] = _named(data_quality(data, unit=by, expected=expected, **dkw), by)
    return out


def _named(table: pd.DataFrame, by: str) -> pd.DataFrame:
    # The data-quality tables keep the caller's site column name (file contract
    # of the batch job's data_quality_*.csv).
    return table.rename(columns={"unit": by})
