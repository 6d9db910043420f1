"""Fields and mandatory fields of a schema, for the completeness measures."""

from __future__ import annotations

from typing import Any

from ccdata.schemas import get_schema, mandatory_columns


def schema_fields(schema: Any, *, where: str) -> tuple[list[str], list[str]]:
    """Return ``(columns, mandatory)`` of a schema given by name or object.

    ``columns`` lists every column of the schema in its order; ``mandatory``
    those that may not be missing (not nullable), from
    :func:`ccdata.schemas.mandatory_columns`. An unknown name or object raises
    :class:`ccdata.errors.SchemaDefinitionError` (a ``ValueError``) listing known names.
    """
    resolved = get_schema(schema)
    columns = [str(c) for c in resolved.columns]
    return columns, [str(c) for c in mandatory_columns(resolved)]
