"""Field completeness: how many records hold each field, per group."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ccdata._intervals import wilson_interval
from ccdata._params import level_suffix
from ccdata.completeness._common import (
    DEPRECATED,
    as_columns,
    check_frame,
    check_level,
    grouped,
    index_frame,
    present_mask,
    sort_frame,
    unit_columns,
)
from ccdata.completeness._schema import schema_fields
from ccdata.errors import CompletenessWarning, InputError

__all__ = ["ALL_MANDATORY", "field_completeness", "record_completeness"]

#: Name of the per-record figure "every mandatory field is present".
ALL_MANDATORY = "all_mandatory_fields"


def _resolve_fields(
    data: pd.DataFrame,
    *,
    fields: Sequence[str] | None,
    schema: Any,
    mandatory: Sequence[str] | None,
    exclude: list[str],
    where: str,
) -> tuple[list[str], list[str]]:
    """Work out which fields to report and which make up 'all mandatory'."""
    schema_columns: list[str] = []
    schema_mandatory: list[str] = []
    if schema is not None:
        schema_columns, schema_mandatory = schema_fields(schema, where=where)
    if fields is None:
        chosen = schema_columns if schema is not None else list(data.columns)
    else:
        chosen = as_columns(fields, name="fields", where=where)
        absent = [f for f in chosen if f not in data.columns]
        if absent:
            raise InputError(
                f"The 'fields' parameter of {where} names column(s) {absent!r} "
                f"that are not in the data. Available columns: "
                f"{list(map(str, data.columns))!r}."
            )
    if mandatory is not None:
        must = as_columns(mandatory, name="mandatory", where=where)
    elif schema is not None:
        must = schema_mandatory
    else:
        must = list(chosen)
    chosen = [f for f in chosen if f not in exclude and f != ALL_MANDATORY]
    must = [f for f in must if f not in exclude]
    absent = [f for f in dict.fromkeys(chosen + must) if f not in data.columns]
    if absent:
        warnings.warn(
            f"{where}: column(s) {absent!r} are absent from the data; every "
            "record counts as missing them.",
            CompletenessWarning,
            stacklevel=3,
        )
    return chosen, must


def record_completeness(
    data: pd.DataFrame,
    *,
    fields: Sequence[str] | None = None,
    schema: Any = None,
    mandatory: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Which fields each record holds, and whether it holds every mandatory field.

    Parameters
    ----------
    data : DataFrame
        One row per record.
    fields : list of str, optional
        Columns to check. Default: the schema's columns if ``schema`` is given,
        otherwise every column of ``data``.
    schema : str or pandera DataFrameSchema, optional
        Schema (name or object) giving the columns and which are mandatory
        (not nullable). A schema column absent from the data counts as
        missing in every record (with a :class:`CompletenessWarning`).
    mandatory : list of str, optional
        Columns that make up ``all_mandatory_fields``. Default: the schema's
        mandatory columns, or every checked field when there is no schema.

    Returns
    -------
    DataFrame
        Boolean, same index as ``data``: one column per field (True where the
        value is present) and, when there are mandatory fields, a last column
        ``all_mandatory_fields``.

    Notes
    -----
    A value is *present* unless it is missing (``NaN``, ``None``, ``pd.NA``,
    ``NaT``) or a string that is empty or only whitespace. Zero is present.

    Examples
    --------
    >>> df = pd.DataFrame({"age": [70, None], "sex": ["M", " "]})
    >>> record_completeness(df)["all_mandatory_fields"].tolist()
    [True, False]
    """
    where = "record_completeness"
    check_frame(data, [], name="data", where=where)
    chosen, must = _resolve_fields(
        data, fields=fields, schema=schema, mandatory=mandatory, exclude=[], where=where
    )
    return _presence(data, chosen, must)


def _presence(data: pd.DataFrame, chosen: list[str], must: list[str]) -> pd.DataFrame:
    absent = np.zeros(len(data), dtype=bool)
    masks = {f: present_mask(data[f]) if f in data.columns else absent for f in chosen}
    if must:
        all_present = np.ones(len(data), dtype=bool)
        for f in must:
            all_present &= (
                masks[f]
                if f in masks
                else (present_mask(data[f]) if f in data.columns else absent)
            )
        masks[ALL_MANDATORY] = all_present
    return pd.DataFrame(masks, index=data.index, columns=list(masks))


def field_completeness(
    data: pd.DataFrame,
    *,
    unit: str | None = "site_id",
    period: str | None = None,
    fields: Sequence[str] | None = None,
    schema: Any = None,
    mandatory: Sequence[str] | None = None,
    level: float = 0.95,
    by: Any = DEPRECATED,
) -> pd.DataFrame:
    """Proportion of records holding each field, per group, with Wilson intervals.

    Parameters
    ----------
    data : DataFrame
        One row per record.
    unit : str or None, default "site_id"
        The unit (site) column; called ``unit`` in the output. ``None``
        gives one row for the community as a whole.
    period : str, optional
        A period column (e.g. from :func:`add_period`) to group by as well;
        called ``period`` in the output.
    fields : list of str, optional
        Columns to report. Default: the schema's columns if ``schema`` is
        given, otherwise every column of ``data``; group columns are never
        reported. A listed column absent from ``data`` raises InputError.
    schema : str or pandera DataFrameSchema, optional
        Schema (name, as in :func:`ccdata.schemas.get_schema`, or object)
        giving the fields and which are mandatory (not nullable).
    mandatory : list of str, optional
        Columns that make up ``all_mandatory_fields``. Default: the schema's
        mandatory columns, or every reported field when there is no schema.
    level : float, default 0.95
        Coverage of the interval; names the columns (``lower_95``).
    by : str or list of str or None, optional
        Deprecated (use ``unit=`` and ``period=``): group columns, kept under
        their own names in the output.

    Returns
    -------
    DataFrame
        ``unit`` and ``period`` (when given), then ``field, present,
        expected, proportion, lower_95, upper_95``: one row per group and field
        (in field order), and a last row per group with
        ``field == "all_mandatory_fields"`` counting records with every
        mandatory field present. ``expected`` is
        the number of records in the group, ``present`` those holding the
        field. Sorted by the group columns; usable directly as numerator
        (``present``) and denominator (``expected``) of a funnel plot.

    Raises
    ------
    InputError
        If ``data`` is not a DataFrame, a group column or listed field is
        absent, or ``level`` is not in (0, 1).

    Notes
    -----
    A value is *present* unless it is missing (``NaN``, ``None``, ``pd.NA``,
    ``NaT``) or a string that is empty or only whitespace; zero is present.
    Only groups holding records appear: a site with no records in a month has
    nothing to be complete, so it has no row (not a row of zeros). Its missing
    month shows in :func:`submission_volume` (zero cases) and
    :func:`case_ascertainment`. Records with a missing group key form their own
    group. The interval is the Wilson score interval [1]_, recommended for
    proportions near 0 or 1 and small groups [2]_.

    References
    ----------
    .. [1] Wilson EB (1927). Probable inference, the law of succession, and
       statistical inference. J Am Stat Assoc 22:209-212.
    .. [2] Newcombe RG (1998). Two-sided confidence intervals for the single
       proportion: comparison of seven methods. Stat Med 17:857-872.

    Examples
    --------
    >>> df = pd.DataFrame({"site_id": ["A", "A", "B"],
    ...                    "creatinine": [80.0, None, 95.0]})
    >>> out = field_completeness(df, unit="site_id", fields=["creatinine"])
    >>> out[out.field == "creatinine"][["unit", "present", "expected"]].values.tolist()
    [['A', 1, 2], ['B', 1, 1]]
    >>> round(float(out.loc[0, "upper_95"]), 4)
    0.9055
    """
    where = "field_completeness"
    check_frame(data, [], name="data", where=where)
    by_cols, renames = unit_columns(unit, by, period=period, where=where)
    check_frame(data, by_cols, name="data", where=where)
    level = check_level(level, where=where)
    chosen, must = _resolve_fields(
        data,
        fields=fields,
        schema=schema,
        mandatory=mandatory,
        exclude=by_cols,
        where=where,
    )
    presence = _presence(data, chosen, must)
    names = list(presence.columns)
    groups = grouped(presence, data, by_cols)
    counts = groups.sum()
    sizes = groups.size().to_numpy(dtype=np.int64)
    n_groups, n_fields = counts.shape[0], len(names)

    out = index_frame(counts.index, by_cols)
    out = out.loc[out.index.repeat(n_fields)].reset_index(drop=True)
    present = counts.to_numpy(dtype=np.int64).reshape(-1) if n_fields else np.empty(0)
    expected = np.repeat(sizes, n_fields)
    lower, upper = wilson_interval(present, expected, level)
    suffix = level_suffix(level)
    out["field"] = pd.Series(
        np.tile(np.asarray(names, dtype=object), n_groups), dtype=object
    )
    out["present"] = present.astype(np.int64)
    out["expected"] = expected.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["proportion"] = present / expected
    out[f"lower_{suffix}"] = lower
    out[f"upper_{suffix}"] = upper
    return sort_frame(out, by_cols).rename(columns=renames)
