"""Pandera schemas for site submissions, registered by name.

Every function in ccdata that takes a schema accepts either a registered
name (``"aaa_procedures"``) or a schema object (a pandera
``DataFrameSchema``, or a ``DataFrameModel`` class).

Bundled schemas: ``aaa_procedures``, ``aaa_expected_cases``,
``ckd_care_bundle``, ``lung_cancer_indicators``,
``lung_cancer_patient_experience``, and the generic ``indicator_submission``
and ``observed_expected``.

Examples
--------
>>> list_schemas()[:2]
['aaa_expected_cases', 'aaa_procedures']
>>> mandatory_columns("observed_expected")
['site_id', 'period', 'observed', 'expected']
>>> key_columns("aaa_expected_cases")
['site_id', 'month']
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import pandas as pd
import pandera.pandas as pa

from ccdata.errors import SchemaDefinitionError
from ccdata.schemas.builtin import BUILTIN_SCHEMAS
from ccdata.schemas.checks import date_order, not_greater_than, registered_sites

__all__ = [
    "date_order",
    "get_schema",
    "identifier_columns",
    "key_columns",
    "list_schemas",
    "mandatory_columns",
    "not_greater_than",
    "register_schema",
    "registered_sites",
    "site_column",
]

SchemaLike = str | pa.DataFrameSchema | type[pa.DataFrameModel]

_REGISTRY: dict[str, pa.DataFrameSchema | Callable[[], pa.DataFrameSchema]] = dict(
    BUILTIN_SCHEMAS
)


def _as_schema(schema: object, *, where: str) -> pa.DataFrameSchema:
    if isinstance(schema, pa.DataFrameSchema):
        return schema
    if isinstance(schema, type) and issubclass(schema, pa.DataFrameModel):
        return schema.to_schema()
    raise SchemaDefinitionError(
        f"{where} needs a registered schema name, a pandera DataFrameSchema or a "
        f"DataFrameModel class. Got {type(schema).__name__} ({schema!r}) instead."
    )


def _lookup(name_or_schema: SchemaLike) -> pa.DataFrameSchema:
    """Return the schema itself, not a copy: for read-only helpers."""
    if isinstance(name_or_schema, pa.DataFrameSchema):
        return name_or_schema
    return get_schema(name_or_schema)


def register_schema(
    name: str,
    schema: pa.DataFrameSchema | type[pa.DataFrameModel],
    *,
    replace: bool = False,
) -> None:
    """Register a schema under ``name`` so it can be used by name everywhere.

    Parameters
    ----------
    name : str
        The name to register, e.g. ``"my_audit"``.
    schema : pandera.DataFrameSchema or DataFrameModel class
        The schema. A copy is stored, so later changes to ``schema`` do not
        change the registered one.
    replace : bool, default False
        Allow replacing an existing registration (including a bundled one).

    Raises
    ------
    SchemaDefinitionError
        If ``name`` is already registered and ``replace`` is False, or
        ``schema`` is not a pandera schema.

    Examples
    --------
    >>> import pandera.pandas as pa
    >>> extended = get_schema("observed_expected").add_columns(
    ...     {"comment": pa.Column("str", nullable=True)})
    >>> register_schema("oe_with_comment", extended)
    >>> "comment" in get_schema("oe_with_comment").columns
    True
    """
    if not isinstance(name, str) or not name.strip():
        raise SchemaDefinitionError(
            f"The 'name' parameter of register_schema must be a non-empty string. "
            f"Got {name!r} instead."
        )
    stored = copy.deepcopy(_as_schema(schema, where="register_schema"))
    if name in _REGISTRY and not replace:
        raise SchemaDefinitionError(
            f"A schema named {name!r} is already registered. Pass replace=True to "
            "replace it, or choose another name."
        )
    _REGISTRY[name] = stored


def list_schemas() -> list[str]:
    """Return the names of all registered schemas, sorted alphabetically."""
    return sorted(_REGISTRY)


def get_schema(
    name_or_schema: SchemaLike, *, sites: Iterable[str] | None = None
) -> pa.DataFrameSchema:
    """Return a schema by registered name, or normalise a schema object.

    Parameters
    ----------
    name_or_schema : str, pandera.DataFrameSchema or DataFrameModel class
        A registered name or a schema.
    sites : iterable of str, optional
        The registered site list. When given, the returned schema also checks
        that the site column (``site_id``) holds one of these values.

    Returns
    -------
    pandera.DataFrameSchema
        A fresh copy: changing it never changes the registry.

    Raises
    ------
    SchemaDefinitionError
        If the name is not registered; the message lists the known names.

    Examples
    --------
    >>> schema = get_schema("aaa_procedures", sites=["S01", "S02"])
    >>> [c.name for c in schema.columns["site_id"].checks]
    ['registered_site']
    """
    if isinstance(name_or_schema, str):
        entry = _REGISTRY.get(name_or_schema)
        if entry is None:
            raise SchemaDefinitionError(
                f"Unknown schema {name_or_schema!r}. Registered schemas: "
                f"{', '.join(list_schemas())}. Use register_schema to add your own."
            )
        schema = (
            copy.deepcopy(entry) if isinstance(entry, pa.DataFrameSchema) else entry()
        )
    else:
        schema = copy.deepcopy(_as_schema(name_or_schema, where="get_schema"))
    if sites is not None:
        if isinstance(sites, str):
            raise SchemaDefinitionError(
                "The 'sites' parameter must be a list of site identifiers, not a "
                f"single string. Got {sites!r}."
            )
        site_col = site_column(schema)
        if site_col is None:
            raise SchemaDefinitionError(
                f"Schema {schema.name!r} has no site column, so a site list cannot "
                "be checked. Add metadata={'site_column': ...} or a 'site_id' column."
            )
        column = schema.columns[site_col]
        schema = schema.update_column(
            site_col, checks=[*column.checks, registered_sites(sites)]
        )
    return schema


def mandatory_columns(schema: SchemaLike) -> list[str]:
    """Columns whose values must not be missing (``nullable=False``), in schema order.

    Examples
    --------
    >>> "asa_grade" in mandatory_columns("aaa_procedures")
    False
    >>> "age" in mandatory_columns("aaa_procedures")
    True
    """
    schema = _lookup(schema)
    return [name for name, col in schema.columns.items() if not col.nullable]


def key_columns(schema: SchemaLike) -> list[str]:
    """Columns forming the unique key of a submission.

    The schema-level ``unique=[...]`` if set, otherwise the columns declared
    ``unique=True``.

    Examples
    --------
    >>> key_columns("aaa_procedures")
    ['record_id']
    """
    schema = _lookup(schema)
    if schema.unique:
        unique = schema.unique
        return [unique] if isinstance(unique, str) else list(unique)
    return [name for name, col in schema.columns.items() if col.unique]


def identifier_columns(schema: SchemaLike) -> list[str]:
    """Columns holding pseudonymous patient or respondent identifiers.

    Taken from ``schema.metadata["identifier_columns"]``. Their values are
    withheld from every file ccdata writes (see
    :func:`ccdata.validation.redact_identifiers`); rows are located by their
    spreadsheet row number instead.

    Examples
    --------
    >>> identifier_columns("aaa_procedures")
    ['record_id']
    >>> identifier_columns("ckd_care_bundle")
    []
    """
    schema = _lookup(schema)
    meta = schema.metadata or {}
    return [c for c in meta.get("identifier_columns", ()) if c in schema.columns]


def site_column(schema: SchemaLike) -> str | None:
    """Return the column holding the site identifier, or None if the schema has none.

    Taken from ``schema.metadata["site_column"]`` when set, else ``"site_id"``
    if that column exists.

    Examples
    --------
    >>> site_column("ckd_care_bundle")
    'site_id'
    """
    schema = _lookup(schema)
    meta = schema.metadata or {}
    name = meta.get("site_column")
    if name in schema.columns:
        return name
    return "site_id" if "site_id" in schema.columns else None


def _describe(schema: SchemaLike) -> pd.DataFrame:
    """One row per column: name, dtype, required, checks (used by the docs)."""
    schema = get_schema(schema)
    rows = []
    for name, col in schema.columns.items():
        rows.append(
            {
                "column": name,
                "dtype": str(col.dtype),
                "mandatory": not col.nullable,
                "checks": ", ".join(str(c.error or c.name) for c in col.checks),
                "description": col.description or "",
            }
        )
    return pd.DataFrame(rows)
