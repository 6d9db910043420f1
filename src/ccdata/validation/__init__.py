"""Validate a site submission against a schema, reporting every problem at once.

:func:`validate` reads a pandera schema (types, mandatory values, column
checks, DataFrame-level checks, unique keys) and applies it with vectorised
pandas operations, so that a million rows take seconds. Every problem found is
one row of :attr:`ValidationResult.errors`, written in words a site's clerk can
act on, with the row number as the site sees it in its spreadsheet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api import types as ptypes

from ccdata.errors import InputError
from ccdata.schemas import (
    SchemaLike,
    get_schema,
    identifier_columns,
    key_columns,
    site_column,
)
from ccdata.validation._checks import (
    ROW_COLUMN,
    Problems,
    column_check,
    frame_check,
    unique_problems,
)
from ccdata.validation._coerce import TYPE_WORDS, Column, coerce, final, raw_text

__all__ = ["ERROR_COLUMNS", "ValidationResult", "redact_identifiers", "validate"]

#: What stands in a written file for a withheld identifier value.
WITHHELD = "[withheld]"

#: Columns of :attr:`ValidationResult.errors`, in order.
ERROR_COLUMNS = ("site_id", "row", "column", "value", "check", "message")


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of validating one submission.

    Attributes
    ----------
    valid : pandas.DataFrame
        Rows without any problem, with values coerced to the schema's types
        (integers, floats, dates, stripped text). The index is the input's.
    rejected : pandas.DataFrame
        Rows with at least one problem, exactly as submitted.
        ``len(valid) + len(rejected)`` always equals the number of input rows.
    errors : pandas.DataFrame
        One row per problem, columns ``site_id, row, column, value, check,
        message``. ``row`` is the spreadsheet row (header = row 1).
    schema : str
        Name of the schema used.
    source : str or None
        The file read, when the data came from :func:`ccdata.read_submission`.
    identifier_columns : tuple of str
        The schema's pseudonymous identifier columns (e.g. ``record_id``):
        :meth:`to_frame` withholds their values.
    """

    valid: pd.DataFrame
    rejected: pd.DataFrame
    errors: pd.DataFrame
    schema: str
    source: str | None = None
    identifier_columns: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.errors.empty

    @property
    def n_rows(self) -> int:
        """Number of input rows (valid plus rejected)."""
        return len(self.valid) + len(self.rejected)

    def to_frame(self) -> pd.DataFrame:
        """The CSV-ready error table: :attr:`errors` with identifiers withheld.

        Values of the schema's identifier columns (pseudonymous record or
        respondent ids) are replaced by ``"[withheld]"`` in the ``value`` and
        ``message`` columns, so that no patient identifier reaches a file; the
        spreadsheet ``row`` still locates each problem.
        """
        return redact_identifiers(self.errors, self.identifier_columns)

    def problems_by_column(self) -> pd.DataFrame:
        """Count problems and affected rows per column, in schema order.

        Returns
        -------
        pandas.DataFrame
            Columns ``column, problems, rows``.
        """
        grouped = self.errors.groupby("column", sort=False)
        table = pd.DataFrame(
            {"problems": grouped.size(), "rows": grouped["row"].nunique()}
        )
        order = [c for c in [*self.valid.columns, ROW_COLUMN] if c in table.index]
        order += [c for c in table.index if c not in order]
        table = table.reindex(order).rename_axis("column").reset_index()
        return table.astype({"problems": "int64", "rows": "int64"})


# --------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------


def _row_numbers(data: pd.DataFrame) -> np.ndarray:
    if data.index.name == "row" and ptypes.is_integer_dtype(data.index):
        return data.index.to_numpy(dtype=np.int64)
    return np.arange(len(data), dtype=np.int64) + 2


def _schema_columns(schema: pa.DataFrameSchema, data: pd.DataFrame):
    for name, col in schema.columns.items():
        if getattr(col, "regex", False):
            for match in data.columns:
                if isinstance(match, str) and re.fullmatch(str(name), match):
                    yield match, col
        else:
            yield name, col


def _check_required_columns(schema: pa.DataFrameSchema, data: pd.DataFrame) -> None:
    if data.columns.duplicated().any():
        dups = sorted({str(c) for c in data.columns[data.columns.duplicated()]})
        raise InputError(
            f"validate: the data have duplicated column name(s) "
            f"{', '.join(map(repr, dups))}; each column must appear once."
        )
    missing = [
        str(name)
        for name, col in schema.columns.items()
        if col.required
        and not getattr(col, "regex", False)
        and name not in data.columns
    ]
    if missing:
        raise InputError(
            f"validate: the data lack required column(s) "
            f"{', '.join(repr(m) for m in missing)} of schema {schema.name!r}. "
            f"Columns found: {', '.join(map(repr, map(str, data.columns)))}."
        )
    if schema.strict is True:
        extra = [c for c in data.columns if c not in schema.columns]
        if extra:
            raise InputError(
                f"validate: schema {schema.name!r} is strict and the data have "
                f"column(s) it does not define: {', '.join(map(repr, extra))}."
            )


def validate(
    data: pd.DataFrame,
    schema: SchemaLike,
    *,
    sites: list[str] | None = None,
) -> ValidationResult:
    """Validate a submission, reporting every problem in one pass.

    Parameters
    ----------
    data : pandas.DataFrame
        The submission. Values may be text (as read from a CSV file) or
        already typed. If the index is named ``"row"`` (as produced by
        :func:`ccdata.read_submission`) it is taken as the spreadsheet row
        number; otherwise row numbers are the position + 2 (header = row 1).
    schema : str, pandera.DataFrameSchema or DataFrameModel class
        A registered schema name (see :func:`ccdata.list_schemas`) or a schema.
    sites : list of str, optional
        The registered site list; site ids not in it are problems.

    Returns
    -------
    ValidationResult
        ``valid`` (typed rows without problems), ``rejected`` (rows as
        submitted), ``errors`` (one row per problem) and ``ok``.

    Raises
    ------
    InputError
        If ``data`` is not a DataFrame or lacks a required column (all
        missing columns are named).
    SchemaDefinitionError
        If the schema name is unknown.

    Notes
    -----
    Checks, in this order: type (a value that cannot be read as the
    column's type), mandatory values (``nullable=False``), each column check,
    ``unique=True`` columns, DataFrame-level checks (reported under every
    column they involve), the schema's composite ``unique`` key (every row
    sharing a key is reported). A value with a type problem is not checked
    further, so one mistake gives one message.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"site_id": ["S01", "S02"], "period": ["2024", "2024"],
    ...                    "observed": ["3", "-1"], "expected": ["2.5", "4"]})
    >>> result = validate(df, "observed_expected")
    >>> result.ok, len(result.valid), len(result.rejected)
    (False, 1, 1)
    >>> result.errors["message"].tolist()
    ['observed -1 is negative']
    >>> int(result.errors["row"].iloc[0])
    3
    """
    schema_obj = get_schema(schema, sites=sites)
    if not isinstance(data, pd.DataFrame):
        raise InputError(
            f"validate needs a pandas DataFrame. Got {type(data).__name__} instead."
        )
    _check_required_columns(schema_obj, data)
    n = len(data)
    rows = _row_numbers(data)
    problems = Problems(n)
    cols: dict[str, Column] = {}

    for name, spec in _schema_columns(schema_obj, data):
        if name not in data.columns:
            continue
        col = coerce(name, data[name], spec.dtype)
        cols[name] = col
        if col.bad.any():
            pos = np.flatnonzero(col.bad)
            text = raw_text(col.raw, pos)
            words = TYPE_WORDS[col.kind]
            msgs = [f"{name} '{t}' {words}" for t in text]
            problems.add(pos, name, "type", text, msgs)
        if not spec.nullable and col.missing.any():
            pos = np.flatnonzero(col.missing)
            problems.add(pos, name, "required", [""] * len(pos),
                         [f"{name} is empty but required"] * len(pos))
        for check in spec.checks:
            column_check(problems, check, col)
        if spec.unique:
            unique_problems(problems, cols, [name], rows)

    coerced = None
    for check in schema_obj.checks:
        if coerced is None and check.name not in ("date_order", "not_greater_than"):
            coerced = data.reset_index(drop=True).assign(
                **{name: col.values for name, col in cols.items()}
            )
        frame_check(problems, check, cols, coerced)
    if schema_obj.unique:
        unique_problems(problems, cols, key_columns(schema_obj), rows)
    return _assemble(data, schema_obj, cols, problems, rows)


def _assemble(data, schema_obj, cols, problems, rows) -> ValidationResult:
    n = len(data)
    table = problems.frame()
    pos = table["pos"].to_numpy(dtype=np.int64)
    in_rows = pos >= 0
    bad_rows = np.zeros(n, dtype=bool)
    bad_rows[pos[in_rows]] = True

    safe = np.where(in_rows, pos, 0)
    site = np.full(len(pos), None, dtype=object)
    row = np.full(len(pos), -1, dtype=np.int64)
    site_col = site_column(schema_obj)
    if n and len(pos):
        row = np.where(in_rows, rows[safe], -1)
        if site_col in cols:
            site = cols[site_col].take(safe).astype(object)
            site[~in_rows] = None
    errors = pd.DataFrame(
        {
            "site_id": pd.array(
                [None if s is None or pd.isna(s) else str(s) for s in site], dtype="str"
            ),
            "row": pd.array(np.where(in_rows, row, 0), dtype="Int64"),
            "column": pd.array(table["column"].to_numpy(dtype=object), dtype="str"),
            "value": pd.array(table["value"].to_numpy(dtype=object), dtype="str"),
            "check": pd.array(table["check"].to_numpy(dtype=object), dtype="str"),
            "message": pd.array(table["message"].to_numpy(dtype=object), dtype="str"),
        }
    )
    errors.loc[~in_rows, "row"] = pd.NA
    if len(errors):
        order = {name: i for i, name in enumerate(cols)}
        errors["_o"] = errors["column"].map(order).fillna(len(order))
        errors["_s"] = np.arange(len(errors))
        errors = errors.sort_values(
            ["site_id", "row", "_o", "_s"], na_position="last", kind="stable"
        ).drop(columns=["_o", "_s"])
    errors = errors.reset_index(drop=True)
    if not errors["row"].isna().any():
        errors["row"] = errors["row"].astype("int64")

    keep = np.flatnonzero(~bad_rows)
    index = data.index[keep]
    valid = pd.DataFrame(
        {
            c: final(cols[c], keep, index) if c in cols
            else pd.Series(data[c].iloc[keep].array, index=index)
            for c in data.columns
        },
        index=index,
        columns=data.columns,
    )
    rejected = data.iloc[np.flatnonzero(bad_rows)].copy()
    return ValidationResult(
        valid=valid, rejected=rejected, errors=errors, schema=str(schema_obj.name),
        identifier_columns=tuple(identifier_columns(schema_obj)),
    )


def redact_identifiers(errors: pd.DataFrame, columns) -> pd.DataFrame:
    """Withhold the values of identifier columns from an error table.

    Rows reported under an identifier column get ``"[withheld]"`` as their
    value, and every occurrence of those values in any message is replaced
    too (a duplicated composite key names its identifier in the messages of
    its other columns).

    Parameters
    ----------
    errors : DataFrame
        An error table (columns :data:`ERROR_COLUMNS`).
    columns : iterable of str
        The identifier columns (:func:`ccdata.schemas.identifier_columns`).

    Returns
    -------
    DataFrame
        A copy with the identifier values withheld.

    Examples
    --------
    >>> e = pd.DataFrame({"site_id": ["S01"], "row": [5], "column": ["record_id"],
    ...                   "value": ["R1A2"], "check": ["unique"],
    ...                   "message": ["record_id R1A2 appears 2 times (rows 5, 9)"]})
    >>> redact_identifiers(e, ["record_id"])["message"].item()
    'record_id [withheld] appears 2 times (rows 5, 9)'
    """
    out = errors.copy()
    hit = out["column"].isin(list(columns)).to_numpy()
    if not hit.any():
        return out
    values = pd.unique(out.loc[hit, "value"].dropna().astype(str))
    values = sorted((v for v in values if v), key=len, reverse=True)
    out["value"] = out["value"].astype(object)
    out.loc[hit, "value"] = WITHHELD
    if values:
        pattern = "|".join(re.escape(v) for v in values)
        out["message"] = out["message"].astype(str).str.replace(
            pattern, WITHHELD, regex=True)
    return out
