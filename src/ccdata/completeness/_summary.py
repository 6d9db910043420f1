"""Per-site data-quality summary with a plain-language message each site can act on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd

from ccdata._params import check_choice, level_suffix
from ccdata.completeness._ascertainment import case_ascertainment
from ccdata.completeness._common import (
    DEPRECATED,
    check_frame,
    check_level,
    sort_frame,
    unit_columns,
)
from ccdata.completeness._fields import ALL_MANDATORY, field_completeness
from ccdata.completeness._timeliness import check_within, timeliness_counts
from ccdata.errors import InputError

__all__ = ["data_quality"]


def _text(values: np.ndarray | pd.Series | Sequence[float]) -> pd.Series:
    """Whole numbers as '12', other numbers to one decimal place."""
    v = pd.Series(np.asarray(values, dtype=float))
    whole = v.round().astype("Int64").astype(str)
    return whole.where(v == v.round(), v.round(1).astype(str))


def _join(parts: list[pd.Series]) -> pd.Series:
    """Join message parts with '; ', skipping empty ones (vectorised over sites)."""
    out = parts[0]
    for part in parts[1:]:
        out = out.where(part.eq(""), out.where(out.eq(""), out + "; ") + part)
    return out


def data_quality(
    data: pd.DataFrame,
    *,
    unit: str = "site_id",
    fields: Sequence[str] | None = None,
    schema: Any = None,
    mandatory: Sequence[str] | None = None,
    expected: pd.DataFrame | None = None,
    event_date: str | None = None,
    entry_date: str | None = None,
    within_days: int = 90,
    event_label: str = "the event",
    sites: Sequence[Any] | None = None,
    threshold: float = 0.8,
    concern: str = "estimate",
    max_fields: int = 3,
    level: float = 0.95,
    site: Any = DEPRECATED,
) -> pd.DataFrame:
    """One row per site summarising completeness, ascertainment and timeliness.

    Parameters
    ----------
    data : DataFrame
        One row per record, with a site column.
    unit : str, default "site_id"
        The site column (of ``data`` and ``expected``); called ``unit`` in
        the output.
    fields, schema, mandatory
        As in :func:`field_completeness` (site-level totals).
    expected : DataFrame, optional
        Independent counts with columns ``site`` and ``expected``, added up
        per site (e.g. monthly counts over the same time span as ``data``).
        Without it the ascertainment columns are missing (``NaN``).
    event_date, entry_date : str, optional
        Date columns for timeliness (both, or neither).
    within_days : int, default 90
        Records entered more than this many days after the event are counted
        in ``entered_late`` and named in the message.
    event_label : str, default "the event"
        Words for the event in messages, e.g. ``"the operation"``.
    sites : sequence, optional
        Every site to report (e.g. the registered list), including sites
        with no records.
    threshold : float, default 0.8
        Ascertainment below which ``ascertainment_concern`` is set.
    concern : {"estimate", "upper_limit"}, default "estimate"
        Set the concern flag when the ascertainment itself is below
        ``threshold``, or only when the upper limit of its interval is (the
        shortfall is then more than chance).
    max_fields : int, default 3
        Most fields named in a message (those with most missing values); the
        rest are summarised as "and N other fields".
    level : float, default 0.95
        Coverage of the ascertainment interval.

    Returns
    -------
    DataFrame
        Sorted by site, columns: ``unit``, ``records``, ``complete_records``
        (every mandatory field present), ``complete_proportion``,
        ``submitted``, ``expected``, ``ascertainment``,
        ``ascertainment_lower_95``, ``ascertainment_upper_95``,
        ``over_expected``, ``ascertainment_concern`` (bool),
        ``median_lag_days``, ``entered_late``, ``invalid_dates``,
        ``missing_dates``, ``message``.

    Raises
    ------
    InputError
        If a column is absent or a parameter is out of range.

    Notes
    -----
    ``ascertainment_concern`` marks sites whose outcome results may look
    better than they are because cases are missing; show it wherever the
    site's outcome indicators appear. It is False when ascertainment cannot be
    computed (no expected count, or zero expected). The message uses the
    counts behind :func:`field_completeness`, :func:`case_ascertainment` and
    :func:`timeliness`, in neutral words; sites are never ranked.

    Examples
    --------
    >>> df = pd.DataFrame({"site_id": ["A"] * 4,
    ...     "creatinine": [80.0, None, None, 91.0],
    ...     "op": ["2024-01-01"] * 4,
    ...     "entered": ["2024-01-05", "2024-01-09", "2024-06-30", "2024-02-01"]})
    >>> exp = pd.DataFrame({"site_id": ["A"], "expected": [10]})
    >>> out = data_quality(df, fields=["creatinine"], expected=exp,
    ...                    event_date="op", entry_date="entered",
    ...                    event_label="the operation")
    >>> print(out.loc[0, "message"])
    4 records submitted against 10 expected cases (40%), below the 80% level:
    outcome results should be read with care; 2 of 4 records missing creatinine;
    1 entered more than 90 days after the operation
    >>> bool(out.loc[0, "ascertainment_concern"])
    True
    """
    where = "data_quality"
    renames = {unit: "unit"}
    if site is not DEPRECATED:
        unit_columns("site_id", site, where=where, old="site")  # warns
        renames = {}
    else:
        site = unit
    check_frame(data, [site], name="data", where=where)
    if (event_date is None) != (entry_date is None):
        raise InputError(
            f"{where} needs both 'event_date' and 'entry_date' for timeliness, or "
            f"neither. Got event_date={event_date!r}, entry_date={entry_date!r}."
        )
    limit = check_within(within_days, where=where)
    if len(limit) != 1:
        raise InputError(
            f"The 'within_days' parameter of {where} must be one number of days. "
            f"Got {within_days!r} instead."
        )
    if not (0.0 < float(threshold) <= 1.0):
        raise InputError(
            f"The 'threshold' parameter of {where} must be in (0, 1]. "
            f"Got {threshold!r} instead."
        )
    check_choice(concern, ("estimate", "upper_limit"), name="concern", where=where)
    if (
        isinstance(max_fields, bool)
        or not isinstance(max_fields, int)
        or max_fields < 0
    ):
        raise InputError(
            f"The 'max_fields' parameter of {where} must be an int >= 0. "
            f"Got {max_fields!r} instead."
        )
    level = check_level(level, where=where)
    suffix = level_suffix(level)

    # Sites: in the data, in expected, or registered.
    site_lists = [data[[site]]]
    if expected is not None:
        check_frame(expected, [site, "expected"], name="expected", where=where)
        site_lists.append(expected[[site]])
    if sites is not None:
        values = [sites] if isinstance(sites, str) else list(sites)
        site_lists.append(pd.DataFrame({site: pd.Series(values, dtype=object)}))
    out = sort_frame(pd.concat(site_lists, ignore_index=True).drop_duplicates(), [site])

    # Completeness.
    comp = field_completeness(
        data, unit=site, fields=fields, schema=schema, mandatory=mandatory, level=level
    ).rename(columns={"unit": site})
    comp["missing"] = comp["expected"] - comp["present"]
    records = data.groupby(site, sort=False, dropna=False).size()
    out["records"] = out[site].map(records).fillna(0).astype(np.int64)
    if (comp["field"] == ALL_MANDATORY).any():
        overall = comp[comp["field"] == ALL_MANDATORY].set_index(site)["present"]
        complete = out[site].map(overall).fillna(0).to_numpy(dtype=np.int64)
    else:  # no mandatory fields: every record is complete
        complete = out["records"].to_numpy(dtype=np.int64)
    out["complete_records"] = complete
    with np.errstate(divide="ignore", invalid="ignore"):
        out["complete_proportion"] = np.where(
            out["records"] > 0, complete / out["records"].to_numpy(dtype=float), np.nan
        )

    # Ascertainment.
    if expected is not None:
        asc = case_ascertainment(data[[site]], expected, unit=site, level=level).rename(
            columns={"unit": site}
        )
        asc = out[[site]].merge(asc, on=site, how="left")
        asc_cols = ["expected", "ascertainment", f"lower_{suffix}", f"upper_{suffix}"]
        for c in asc_cols:
            out[c if c in ("expected", "ascertainment") else f"ascertainment_{c}"] = (
                asc[c].to_numpy(dtype=float)
            )
        out["over_expected"] = (
            asc["over_expected"].fillna(False).astype(bool).to_numpy()
        )
    else:
        for c in (
            "expected",
            "ascertainment",
            f"ascertainment_lower_{suffix}",
            f"ascertainment_upper_{suffix}",
        ):
            out[c] = np.nan
        out["over_expected"] = False
    out.insert(cast(int, out.columns.get_loc("expected")), "submitted", out["records"])
    basis = out[
        "ascertainment" if concern == "estimate" else f"ascertainment_upper_{suffix}"
    ].to_numpy(dtype=float)
    out["ascertainment_concern"] = (basis < threshold) & ~out["over_expected"]

    # Timeliness.
    d = limit[0]
    if event_date is not None:
        assert entry_date is not None  # both or neither, checked above
        check_frame(data, [event_date, entry_date], name="data", where=where)
        tim = timeliness_counts(
            data, event_date=event_date, entry_date=entry_date, by=[site], limits=[d]
        )
        tim = out[[site]].merge(tim, on=site, how="left")
        out["median_lag_days"] = tim["median_lag_days"].to_numpy(dtype=float)
        for c, src in (
            ("entered_late", f"after_{d}"),
            ("invalid_dates", "invalid_dates"),
            ("missing_dates", "missing_dates"),
        ):
            out[c] = pd.array(
                tim[src].fillna(0).to_numpy(dtype=np.int64), dtype="Int64"
            )
    else:
        out["median_lag_days"] = np.nan
        for c in ("entered_late", "invalid_dates", "missing_dates"):
            out[c] = pd.array([pd.NA] * len(out), dtype="Int64")

    out["message"] = _messages(
        out,
        comp,
        site=site,
        expected_given=expected is not None,
        timed=event_date is not None,
        d=d,
        threshold=threshold,
        event_label=event_label,
        max_fields=max_fields,
    )
    return out.reset_index(drop=True).rename(columns=renames)


def _messages(
    out, comp, *, site, expected_given, timed, d, threshold, event_label, max_fields
) -> np.ndarray:
    n = len(out)
    blank = pd.Series([""] * n, dtype=object)
    parts: list[pd.Series] = []

    # Ascertainment.
    if expected_given:
        s, e = out["submitted"].to_numpy(), out["expected"].to_numpy(dtype=float)
        pct = _text(np.round(out["ascertainment"].to_numpy(dtype=float) * 100))
        base = (
            _text(s)
            + " records submitted against "
            + _text(e)
            + " expected cases ("
            + pct
            + "%)"
        )
        level_txt = _text([round(threshold * 100)])[0]
        concern = out["ascertainment_concern"].to_numpy()
        over = out["over_expected"].to_numpy()
        none = np.where(s == 0, "no records submitted; ", "")
        text = np.where(
            np.isnan(e),
            np.char.add(none, "no expected case count available for this site"),
            np.where(
                (e == 0) & (s > 0),
                _text(s) + " records submitted where no cases were expected: check "
                "for duplicate records or a different case definition",
                np.where(
                    over,
                    base + ", more than expected: check for duplicate records or a "
                    "different case definition",
                    np.where(
                        concern,
                        base + f", below the {level_txt}% level: outcome "
                        "results should be read with care",
                        "",
                    ),
                ),
            ),
        )
        parts.append(pd.Series(text, dtype=object))
    else:
        parts.append(
            pd.Series(
                np.where(out["records"] == 0, "no records submitted", ""), dtype=object
            )
        )

    # Completeness: the fields with most missing values, per site.
    miss = comp[(comp["field"] != ALL_MANDATORY) & (comp["missing"] > 0)].copy()
    miss["_order"] = np.arange(len(miss))
    miss = miss.sort_values(
        [site, "missing", "_order"], ascending=[True, False, True], kind="stable"
    )
    miss["_rank"] = miss.groupby(site, sort=False, dropna=False).cumcount()
    miss["_text"] = (
        _text(miss["missing"]).to_numpy()
        + " of "
        + _text(miss["expected"]).to_numpy()
        + " records missing "
        + miss["field"].astype(str).to_numpy()
    )
    position = pd.Index(out[site]).get_indexer(miss[site])
    for r in range(max_fields):
        rows = (miss["_rank"] == r).to_numpy()
        col = blank.copy()
        col.iloc[position[rows]] = miss["_text"].to_numpy()[rows]
        parts.append(col)
    others = np.bincount(
        position[(miss["_rank"] >= max_fields).to_numpy()], minlength=n
    )
    parts.append(
        pd.Series(
            np.where(
                others > 0,
                "and missing values in "
                + _text(others)
                + " other field"
                + np.where(others > 1, "s", ""),
                "",
            ),
            dtype=object,
        )
    )

    # Timeliness.
    if timed:
        late = out["entered_late"].fillna(0).to_numpy(dtype=np.int64)
        bad = out["invalid_dates"].fillna(0).to_numpy(dtype=np.int64)
        nodate = out["missing_dates"].fillna(0).to_numpy(dtype=np.int64)
        parts.append(
            pd.Series(
                np.where(
                    late > 0,
                    _text(late) + f" entered more than {d} days after {event_label}",
                    "",
                ),
                dtype=object,
            )
        )
        parts.append(
            pd.Series(
                np.where(
                    bad > 0,
                    _text(bad) + f" with an entry date before the date of "
                    f"{event_label} or an unreadable date",
                    "",
                ),
                dtype=object,
            )
        )
        parts.append(
            pd.Series(
                np.where(nodate > 0, _text(nodate) + " with a date missing", ""),
                dtype=object,
            )
        )

    message = _join(parts)
    return message.where(
        message.ne(""), "no gaps found in the data-quality measures checked"
    ).to_numpy()
