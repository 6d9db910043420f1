"""National scale: validate, aggregate and risk-adjust out of core, or on Spark.

One code path over an existing engine, through Ibis: DuckDB embedded (the
default; no server, out of core) or Spark (a cluster, or ``local[2]``). The
patient-level steps run in the engine and only small aggregates come back;
funnels, SPC charts and plots then run in pandas on those, as always.

* :func:`connect`, :func:`read_source` - an engine and a lazy table of records
  (Parquet file, glob or dataset, CSV, an engine table), with spreadsheet
  rows; :func:`collect` brings a small result into pandas.
* :func:`validate` - the schema checks and messages of :func:`ccdata.validate`,
  with bounded error rows and the valid rows as a lazy table.
* :func:`field_completeness`, :func:`timeliness`, :func:`case_ascertainment`,
  :func:`submission_volume`, :func:`add_period` - the tables of
  :mod:`ccdata.completeness`, counted in the engine.
* :func:`fit_risk_model`, :func:`predict`, :func:`observed_expected`,
  :func:`cusum_inputs` - risk adjustment with one engine aggregation per
  Newton step; the same :class:`ccdata.RiskModel` and O/E table.

ibis, duckdb and pyspark are imported only when these functions run. See
``docs/scale.md``.
"""

from __future__ import annotations

from ccdata.engine._aggregate import (
    add_period,
    case_ascertainment,
    field_completeness,
    submission_volume,
    timeliness,
)
from ccdata.engine._risk import (
    cusum_inputs,
    fit_risk_model,
    observed_expected,
    predict,
)
from ccdata.engine._source import (
    ROW,
    TABLE_NAME,
    collect,
    connect,
    local_spark,
    read_source,
)
from ccdata.engine._validate import EngineValidationResult, validate

__all__ = [
    "ROW",
    "TABLE_NAME",
    "EngineValidationResult",
    "add_period",
    "case_ascertainment",
    "collect",
    "connect",
    "cusum_inputs",
    "field_completeness",
    "fit_risk_model",
    "local_spark",
    "observed_expected",
    "predict",
    "read_source",
    "submission_volume",
    "timeliness",
    "validate",
]
