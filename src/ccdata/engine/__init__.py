"""National scale: validate, aggregate and risk-adjust out of core, or on Spark.

One code path over an existing engine, through Ibis: DuckDB embedded (the
default; no server, out of core) or Spark (a cluster, or ``local[2]``). The
patient-level steps run in the engine and only small aggregates come back;
funnels, SPC charts and plots then run in pandas on those, as always.

* :func:`connect`, :func:`read_source` - an engine and a lazy table of records
  (Parquet file or dataset, CSV, an engine table), with spreadsheet rows.
* :func:`validate` - the schema checks and messages of :func:`ccdata.validate`,
  with bounded error rows and the valid rows as a lazy table.

ibis, duckdb and pyspark are imported only when these functions run.
"""

from __future__ import annotations

from ccdata.engine._source import ROW, connect, local_spark, read_source
from ccdata.engine._validate import EngineValidationResult, validate

__all__ = [
    "ROW",
    "EngineValidationResult",
    "connect",
    "local_spark",
    "read_source",
    "validate",
]
