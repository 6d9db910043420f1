"""Sources of a batch run read and validated in an engine (DuckDB or Spark).

A source with ``engine = "duckdb"`` or ``"spark"`` is never parsed by pandas:
the engine reads it (a CSV or Parquet file or glob, a Parquet dataset folder
with hive partitions, or a table named in the configuration), validates every
record against the schema (:func:`ccdata.engine.validate`: the same checks,
messages and spreadsheet row numbers as :func:`ccdata.validate`, the error
rows capped per check and every problem counted), and only then brings into
memory the valid rows of **the columns the run uses** (:func:`used_columns`):
an indicator's unit, period, numerator, denominator, expected count, value,
filter columns and risk-model covariates, a completeness block's fields and
dates, an expected-cases source's columns. The stages after reading (data
quality, coverage, funnels, SPC, risk model, CUSUM, packs) then run on that
frame exactly as for an in-memory source, so their outputs are the same
bytes (tested).

Nothing from the configuration is evaluated: a table name is checked against
:data:`ccdata.engine.TABLE_NAME`-style identifiers and passed to Ibis as
names; file paths go to the engine's Parquet or CSV reader.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ccdata.errors import ConfigError
from ccdata.report.config import Config, ConnectionConfig, SourceConfig
from ccdata.report.expr import ExpressionError, parse_expression

__all__ = ["EngineRead", "read_engine_records", "used_columns"]

log = logging.getLogger("ccdata.report")

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def used_columns(cfg: Config, name: str) -> set[str] | None:
    """Return the columns of source ``name`` (as submitted) that the run reads.

    ``None`` means every column: a ``[completeness.NAME]`` table without
    ``fields`` (its fields are the schema's) or a survey of the source.

    Examples
    --------
    >>> from ccdata.report.config import parse_config
    >>> cfg = parse_config({
    ...     "sources": {"a": {"path": "a.parquet", "engine": "duckdb",
    ...                       "schema": "aaa_procedures"}},
    ...     "indicators": {"m": {"source": "a", "numerator": "died_in_hospital",
    ...                          "period": "procedure_date"}}})
    >>> sorted(used_columns(cfg, "a"))
    ['died_in_hospital', 'procedure_date', 'site_id']
    """
    src = cfg.sources[name]
    if any(sv.source == name for sv in cfg.surveys.values()):
        return None
    need: set[str] = {"site_id", *src.filter}
    for ind in cfg.indicators.values():
        if ind.source != name:
            continue
        need |= {
            c
            for c in (
                ind.unit,
                ind.numerator,
                ind.denominator,
                ind.expected,
                ind.value,
                ind.period,
            )
            if c is not None
        }
        need |= set(ind.filter)
        rm = ind.risk_model
        if rm is not None:
            if rm.outcome is not None:
                need.add(rm.outcome)
            for term in [*(rm.covariates or []), rm.formula or ""]:
                need |= set(_IDENT.findall(term))
    qc = cfg.completeness.get(name)
    if qc is not None:
        if qc.fields is None:
            return None
        need |= set(qc.fields)
        need |= {c for c in (qc.event_date, qc.entered_date) if c is not None}
    for other in cfg.completeness.values():
        if other.expected_source == name:
            need |= {"site_id", other.expected_column, other.expected_period}
    for text in src.derive.values():
        try:
            need |= set(parse_expression(text).columns)
        except ExpressionError:
            pass  # a configuration error, reported before reading
    need |= {old for old, new in src.rename.items() if new in need}
    return need


@dataclass(frozen=True)
class EngineRead:
    """What an engine source gave: valid rows (used columns), counts, errors.

    Attributes
    ----------
    valid : DataFrame
        The valid rows of the used columns, indexed by spreadsheet row.
    n_rows, n_rejected : int
        Records read and records with at least one problem (exact).
    errors : DataFrame
        :meth:`ccdata.engine.EngineValidationResult.to_frame` (capped).
    counts : DataFrame
        Every problem counted per column and check (``problems``, ``shown``).
    files : list of Path
        The data files read (empty for a table).
    label : str
        The source as named in error tables.
    columns : list of str
        The used columns brought into memory.
    """

    valid: pd.DataFrame
    n_rows: int
    n_rejected: int
    errors: pd.DataFrame
    counts: pd.DataFrame
    files: list[Path]
    label: str
    columns: list[str]


def _connect(cfg: Config, name: str, src: SourceConfig):
    import ccdata.engine as engine

    c = src.connection or ConnectionConfig()
    if src.engine == "duckdb":
        return engine.connect(
            "duckdb",
            database=None if c.database is None else cfg.resolve(c.database),
            read_only=c.database is not None,
            memory_limit=c.memory_limit,
            threads=c.threads,
            temp_directory=(
                None if c.temp_directory is None else cfg.resolve(c.temp_directory)
            ),
        )
    if c.session == "active":
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            raise ConfigError(
                f"{cfg.path}: key 'sources.{name}.engine': engine 'spark' needs "
                "pyspark (pip install 'ccdata[spark]')."
            ) from None
        session = SparkSession.getActiveSession()
        if session is None:
            raise ConfigError(
                f"{cfg.path}: key 'sources.{name}.connection.session': 'active', "
                "but no Spark session is running in this process (run ccdata "
                'from spark-submit or a notebook, or set session = "new").'
            )
    else:
        session = engine.local_spark(
            master=c.master or "local[2]", app_name=c.app_name or "ccdata"
        )
    return engine.connect("spark", session=session)


def _files(cfg: Config, src: SourceConfig) -> list[Path]:
    """Return the data files behind a path source (for the manifest's hashes)."""
    import glob

    assert isinstance(src.path, str)  # checked with the configuration
    full = cfg.resolve(src.path)
    if glob.has_magic(str(full)):
        return [Path(p) for p in sorted(glob.glob(str(full)))]
    if full.is_dir():
        return sorted(p for p in full.rglob("*.parquet") if p.is_file())
    return [full]


def _typed(frame: pd.DataFrame, schema: Any) -> pd.DataFrame:
    """Give each column the dtype the in-memory validation gives it."""
    for col in frame.columns:
        spec = schema.columns.get(col)
        if spec is None or spec.dtype is None:
            continue
        want = getattr(spec.dtype, "type", None)
        if want is None:
            continue
        try:
            if str(frame[col].dtype) != str(want):
                frame[col] = frame[col].astype(want)
        except (TypeError, ValueError):  # pragma: no cover - a typed engine value
            log.debug("column %s kept as %s", col, frame[col].dtype)
    return frame


def read_engine_records(
    cfg: Config, name: str, site_ids: list[str] | None, label: str
) -> EngineRead:
    """Read, validate and bring in the used columns of engine source ``name``.

    Parameters
    ----------
    cfg : Config
    name : str
        A source with ``engine`` other than ``"pandas"``.
    site_ids : list of str or None
        The registered sites of the source's community.
    label : str
        The source as named in error tables (its path or table).

    Returns
    -------
    EngineRead
        ``valid`` is indexed by spreadsheet row, in row order, with the used
        columns only.
    """
    import ccdata.engine as engine
    from ccdata.engine import ROW
    from ccdata.schemas import get_schema

    src = cfg.sources[name]
    con = _connect(cfg, name, src)
    if src.table is not None:
        table = engine.read_source(con, None, table=src.table)
        files: list[Path] = []
    else:
        assert isinstance(src.path, str)
        table = engine.read_source(con, cfg.resolve(src.path))
        files = _files(cfg, src)
    assert src.schema is not None  # checked with the configuration
    res = engine.validate(table, src.schema, sites=site_ids, source=label)
    wanted = used_columns(cfg, name)
    cols = [c for c in table.columns if c != ROW and (wanted is None or c in wanted)]
    valid_t = res.valid.select(*cols, ROW).order_by(ROW)
    frame = engine.collect(
        valid_t, step=f"read the valid rows of source {name!r}", size=res.n_valid
    )
    frame = _typed(frame, get_schema(src.schema, sites=site_ids))
    index = pd.Index(frame.pop(ROW).to_numpy(dtype=np.int64), name="row")
    frame.index = index
    log.info(
        "source %s: %s %s: %d records validated in the engine, %d valid rows "
        "of %d column(s) read into memory (%s)",
        name,
        src.engine,
        label,
        res.n_rows,
        res.n_valid,
        len(cols),
        ", ".join(cols),
    )
    return EngineRead(
        valid=frame,
        n_rows=res.n_rows,
        n_rejected=res.n_rejected,
        errors=res.to_frame(),
        counts=res.counts,
        files=files,
        label=label,
        columns=cols,
    )
