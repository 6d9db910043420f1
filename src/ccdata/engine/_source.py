"""Connections to an engine and tables read from files larger than memory.

Ibis gives one expression language over DuckDB (embedded, out of core) and
Spark (a cluster, or ``local[2]``). Everything here imports ibis, duckdb and
pyspark lazily, so ``import ccdata`` stays light.
"""

from __future__ import annotations

import glob
import logging
import os
import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from ccdata.errors import EngineError, EngineMemoryError, InputError

__all__: list[str] = []  # public names: ccdata.engine

_LOG = logging.getLogger("ccdata.engine")

#: Column holding the spreadsheet row (header = row 1) of each record.
ROW = "row"
ENGINES = ("duckdb", "spark")
#: Catalog name of a DuckDB database file opened read-only by :func:`connect`.
ATTACHED = "ccdata_source"
_ATTACHED: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
#: A table name: ``name``, ``schema.name`` or ``catalog.schema.name``, plain
#: identifiers only (passed to Ibis as names, never into SQL text).
TABLE_NAME = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]{0,127}(\.[A-Za-z_][A-Za-z0-9_]{0,127}){0,2}"
)
T = TypeVar("T")


def _ibis():
    try:
        import ibis
    except ImportError as exc:  # pragma: no cover - ibis is a dependency
        raise EngineError(
            "ccdata.engine needs the 'ibis-framework' package "
            "(pip install 'ibis-framework[duckdb]')."
        ) from exc
    return ibis


def connect(
    engine: str = "duckdb",
    *,
    session: Any = None,
    database: str | os.PathLike[str] | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: str | os.PathLike[str] | None = None,
    spark_conf: Mapping[str, str] | None = None,
    read_only: bool = False,
):
    """Connect to an engine: embedded DuckDB (default) or Spark.

    Parameters
    ----------
    engine : {"duckdb", "spark"}, default "duckdb"
        ``"duckdb"`` runs in this process, out of core (it spills to
        ``temp_directory`` when a step needs more than ``memory_limit``).
        ``"spark"`` uses ``session`` (a ``pyspark.sql.SparkSession``, e.g. the
        ``spark`` object of a Databricks notebook or of ``spark-submit``), or
        starts a local one (``local[2]``) when none is given.
    session : pyspark.sql.SparkSession, optional
        An existing Spark session (``engine="spark"`` only).
    database : path, optional
        A DuckDB database file (tables named in it can be read with
        :func:`read_source`); default an in-memory database.
    memory_limit : str, optional
        DuckDB's memory limit, e.g. ``"3GB"``; beyond it DuckDB spills to disk.
    threads : int, optional
        DuckDB worker threads (default: every core).
    temp_directory : path, optional
        Where DuckDB spills (default: next to the database, or ``.tmp``).
    spark_conf : mapping, optional
        Extra settings for a local Spark session started here.
    read_only : bool, default False
        Open the DuckDB ``database`` file read-only (the batch job does: it
        never writes to a source).

    Returns
    -------
    ibis.BaseBackend
        An Ibis connection: pass it to :func:`read_source`.

    Raises
    ------
    InputError
        An unknown engine.
    EngineError
        The engine cannot be started (e.g. Spark without Java).

    Examples
    --------
    >>> con = connect("duckdb", threads=1)
    >>> con.name
    'duckdb'
    """
    if engine not in ENGINES:
        raise InputError(
            f"The 'engine' parameter of connect must be one of {ENGINES!r}. "
            f"Got {engine!r} instead."
        )
    ibis = _ibis()
    if engine == "duckdb":
        if session is not None:
            raise InputError("connect: 'session' is for engine='spark' only.")
        config: dict[str, Any] = {}
        if memory_limit is not None:
            config["memory_limit"] = str(memory_limit)
        if threads is not None:
            config["threads"] = int(threads)
        if temp_directory is not None:
            config["temp_directory"] = str(temp_directory)
        if read_only and database is not None:
            if not Path(database).is_file():
                raise InputError(
                    f"connect: DuckDB database file not found: {str(database)!r}."
                )
            # the work (views of the validation) goes to an in-memory database;
            # the file is attached read-only and its tables read from there
            try:
                con = ibis.duckdb.connect(":memory:", **config)
                con.attach(str(database), name=ATTACHED, read_only=True)
            except Exception as exc:  # duckdb raises its own hierarchy
                raise EngineError(
                    f"connect: DuckDB could not open {str(database)!r} read-only: {exc}"
                ) from exc
            _ATTACHED[con] = ATTACHED
            return con
        try:
            return ibis.duckdb.connect(
                ":memory:" if database is None else str(database), **config
            )
        except Exception as exc:  # duckdb raises its own hierarchy
            raise EngineError(f"connect: DuckDB could not start: {exc}") from exc
    if session is None:
        session = local_spark(spark_conf)
    try:
        return ibis.pyspark.connect(session)
    except ImportError as exc:
        raise EngineError(
            "connect: Ibis' Spark backend needs 'pyspark' (pip install "
            "'ccdata[spark]')."
        ) from exc


def local_spark(
    conf: Mapping[str, str] | None = None,
    *,
    master: str = "local[2]",
    app_name: str = "ccdata",
):
    """Start (or reuse) a local Spark session; an EngineError when Java is absent."""
    import shutil

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise EngineError(
            "Spark needs a Java runtime (java on PATH or JAVA_HOME); none was "
            "found. Install Java 17, or use engine='duckdb'."
        )
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise EngineError(
            "engine='spark' needs pyspark (pip install 'ccdata[spark]')."
        ) from exc
    builder = (
        SparkSession.builder.master(master)
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
    )
    for key, value in dict(conf or {}).items():
        builder = builder.config(str(key), str(value))
    try:
        return builder.getOrCreate()
    except Exception as exc:  # py4j / JVM start-up failures
        raise EngineError(f"Spark could not start: {exc}") from exc


def _files(path: Path, ext: str) -> list[str]:
    if path.is_dir():
        found = sorted(str(p) for p in path.rglob(f"*{ext}") if p.is_file())
        if not found:
            raise InputError(
                f"read_source: the folder {str(path)!r} holds no {ext} files."
            )
        return found
    if not path.exists():
        raise InputError(f"read_source: {str(path)!r} does not exist.")
    return [str(path)]


def read_source(
    con,
    source: str | os.PathLike[str] | pd.DataFrame | None,
    *,
    table: str | None = None,
    delimiter: str | None = None,
):
    """Read submitted records as a lazy engine table, with their spreadsheet rows.

    Parameters
    ----------
    con : ibis connection
        From :func:`connect`.
    source : path or DataFrame
        A ``.parquet`` file, a folder of Parquet files (a dataset, hive
        partitions allowed), a ``.csv`` file, a glob matching Parquet (or
        CSV) files, or a pandas DataFrame (small data, e.g. in tests).
        Ignored when ``table`` is given.
    table : str, optional
        Instead of a file: a table or view already in the engine (a DuckDB
        database table, a Spark catalog table such as ``"audit.aaa_2025"``):
        ``name``, ``schema.name`` or ``catalog.schema.name`` of plain
        identifiers, passed to Ibis as names.
    delimiter : str, optional
        The CSV separator (default: detected).

    Returns
    -------
    ibis.Table
        The records with an extra int64 column ``row``: the spreadsheet row
        (header = row 1) in the file's order. For a dataset of several files
        the files are taken in sorted path order, so row numbers continue
        from one file to the next. A column ``row`` already present (e.g. a
        table written by ccdata) is kept as the row number.

    Notes
    -----
    Nothing is read into memory: DuckDB and Spark scan the files when a
    result is asked for. Row numbers come from the Parquet reader's file row
    index (DuckDB ``file_row_number``, Spark ``_metadata.row_index``) plus the
    number of rows of the files before; for a CSV file (DuckDB only) from the
    reader's order, which DuckDB preserves (``preserve_insertion_order``).

    Examples
    --------
    >>> con = connect()
    >>> t = read_source(con, pd.DataFrame({"site_id": ["A", "B"]}))
    >>> t.to_pandas()["row"].tolist()
    [2, 3]
    """
    ibis = _ibis()
    if table is not None:
        if not isinstance(table, str) or not TABLE_NAME.fullmatch(table):
            raise InputError(
                f"read_source: {table!r} is not a table name: use name, "
                "schema.name or catalog.schema.name, each part letters, digits "
                "and '_' (not starting with a digit)."
            )
        *where, bare = table.split(".")
        database: str | tuple[str, ...] | None = (
            None if not where else (where[0] if len(where) == 1 else tuple(where))
        )
        attached = _ATTACHED.get(con)
        if attached is not None and len(where) < 2:
            database = (attached, where[0] if where else "main")
        try:
            t = con.table(bare, database=database)
        except Exception as exc:  # the engine's "no such table"
            raise InputError(
                f"read_source: no table {table!r} in the engine ({type(exc).__name__})."
            ) from exc
        if ROW not in t.columns:
            raise InputError(
                f"read_source: table {table!r} has no {ROW!r} column; row numbers "
                "of a table are not defined by the engine. Add one (the record's "
                "row in the file it came from)."
            )
        return t
    if isinstance(source, pd.DataFrame):
        frame = source
        if frame.index.name == ROW:
            frame = frame.reset_index()
        elif ROW not in frame.columns:
            frame = frame.reset_index(drop=True)
            frame.insert(len(frame.columns), ROW, range(2, len(frame) + 2))
        return ibis.memtable(frame)
    if source is None:
        raise InputError("read_source: give a file, a folder or a table= name.")
    path = Path(os.fspath(source))
    suffix = path.suffix.lower()
    if glob.has_magic(str(path)):
        matched = sorted(glob.glob(str(path)))
        if not matched:
            raise InputError(f"read_source: no file matches {str(path)!r}.")
        suffixes = {Path(m).suffix.lower() for m in matched}
        if suffixes <= {".parquet", ".pq"}:
            if con.name == "duckdb":
                return _duckdb_parquet(con, matched, path)
            return _with_rows(con, matched, _read_parquet(con, matched, path))
        if suffixes <= {".csv", ".txt", ".tsv"} and con.name == "duckdb":
            return _read_csv(con, matched, delimiter)
        raise InputError(
            f"read_source: the files matching {str(path)!r} must all be Parquet "
            "(or, on DuckDB, all CSV)."
        )
    if path.is_dir() or suffix in (".parquet", ".pq"):
        files = _files(path, ".parquet") if path.is_dir() else _files(path, "")
        if con.name == "duckdb":
            return _duckdb_parquet(con, files, path)
        return _with_rows(con, files, _read_parquet(con, files, path))
    if suffix in (".csv", ".txt", ".tsv"):
        if con.name != "duckdb":
            raise InputError(
                "read_source: CSV row numbers need engine='duckdb'; on Spark, "
                "convert the file to Parquet first."
            )
        return _read_csv(con, _files(path, ""), delimiter)
    raise InputError(
        f"read_source: cannot read {str(path)!r}; give a .parquet file, a folder "
        "of Parquet files or a .csv file."
    )


def _sql_list(files: Sequence[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def _duckdb_parquet(con, files: list[str], path: Path):
    """Parquet through DuckDB: row = rows of earlier files + file row number + 2.

    The files' row counts come from their footers (no scan), and each record's
    offset is looked up by DuckDB's ``file_index``, so no join is needed.
    """
    hive = "true" if path.is_dir() else "false"
    listed = _sql_list(files)
    reader = (
        f"read_parquet({listed}, file_row_number = true, "
        f"hive_partitioning = {hive}, union_by_name = true)"
    )
    probe = guard(
        "read_source",
        lambda: con.raw_sql(f"SELECT * FROM {reader} LIMIT 0").description,
    )
    names = [d[0] for d in probe]
    if ROW in names:
        return _duckdb_view(con, f"SELECT * EXCLUDE (file_row_number) FROM {reader}")
    sizes = dict(
        guard(
            "read_source",
            lambda: con.raw_sql(
                f"SELECT file_name, num_rows FROM parquet_file_metadata({listed})"
            ).fetchall(),
        )
    )
    offsets, total = [], 0
    for f in files:
        offsets.append(total)
        total += int(sizes[f])
    lookup = "[" + ", ".join(map(str, offsets)) + "]"
    return _duckdb_view(
        con,
        f"SELECT * EXCLUDE (file_row_number), CAST(file_row_number + "
        f"list_extract(CAST({lookup} AS BIGINT[]), CAST(file_index AS BIGINT) + 1)"
        f" + 2 AS BIGINT) AS {ROW} "
        f"FROM {reader}",
    )


def _read_parquet(con, files: list[str], path: Path):
    if con.name == "duckdb":
        hive = "true" if path.is_dir() else "false"
        return _duckdb_view(
            con,
            f"SELECT * FROM read_parquet({_sql_list(files)}, filename = true, "
            f"file_row_number = true, hive_partitioning = {hive}, "
            "union_by_name = true)",
        ).rename({"_ccdata_file": "filename", "_ccdata_pos": "file_row_number"})
    if con.name == "pyspark":
        session = con._session
        frame = (
            session.read.parquet(*files)
            if not path.is_dir()
            else (
                session.read.option("recursiveFileLookup", "false").parquet(str(path))
            )
        )
        frame = frame.selectExpr(
            "*",
            "_metadata.file_path AS _ccdata_file",
            "_metadata.row_index AS _ccdata_pos",
        )
        name = f"ccdata_source_{abs(hash((tuple(files), id(frame))))}"
        frame.createOrReplaceTempView(name)
        return con.table(name)
    raise InputError(f"read_source: engine {con.name!r} is not supported.")


def _with_rows(con, files: list[str], raw):
    """Add ``row`` = rows of the earlier files + position in the file + 2."""
    ibis = _ibis()
    if ROW in raw.columns:
        return raw.drop("_ccdata_file", "_ccdata_pos")
    sizes = guard(
        "read_source",
        lambda: raw.group_by("_ccdata_file").aggregate(_n=raw.count()).to_pandas(),
    )
    sizes = sizes.sort_values("_ccdata_file", kind="stable").reset_index(drop=True)
    offsets = sizes["_n"].cumsum().shift(fill_value=0).astype("int64")
    table = ibis.memtable(
        pd.DataFrame({"_ccdata_key": sizes["_ccdata_file"], "_ccdata_off": offsets})
    )
    joined = raw.inner_join(table, raw._ccdata_file == table._ccdata_key)
    out = joined.mutate(
        **{ROW: (joined._ccdata_off + joined._ccdata_pos + 2).cast("int64")}
    )
    return out.drop("_ccdata_file", "_ccdata_pos", "_ccdata_key", "_ccdata_off")


def _read_csv(con, files: list[str], delimiter: str | None):
    options = ", all_varchar = true, header = true"
    if delimiter is not None:
        options += ", delim = '" + delimiter.replace("'", "''") + "'"
    return _duckdb_view(
        con,
        f"SELECT *, CAST(row_number() OVER () + 1 AS BIGINT) AS {ROW} "
        f"FROM read_csv({_sql_list(files)}{options})",
    )


def _duckdb_view(con, query: str):
    """Create a DuckDB view of ``query`` and return it as an Ibis table.

    (``con.sql`` of Ibis 12 fails on DuckDB 2.0, so the view is made with raw
    SQL and read back by name.)
    """
    import uuid

    name = f"ccdata_source_{uuid.uuid4().hex[:12]}"
    con.raw_sql(f'CREATE OR REPLACE TEMPORARY VIEW "{name}" AS {query}')
    return con.table(name)


def strip(text):
    """Return ``text.strip()`` (ASCII whitespace, as Ibis), trimming only when needed.

    A trim with a list of characters costs DuckDB about a microsecond per
    value, whatever the value; the first and last characters are tested
    first (``ascii`` of the string and of its reverse), so only values that
    start or end with whitespace (or a control character) are trimmed.
    Same result as ``text.strip()``, NULL kept.
    """
    import ibis

    edge = (text.ascii_str() <= 32) | (text.reverse().ascii_str() <= 32)
    return ibis.ifelse(edge.fill_null(False), text.strip(), text)


def view(expr, label: str):
    """Name ``expr`` as a view in its engine, so later queries compile small.

    Ibis would otherwise inline (and re-optimise) the whole expression tree
    into every query built on it; a view is lazy, nothing is computed.
    """
    import uuid

    ibis = _ibis()
    try:
        con = ibis.get_backend(expr)
    except Exception:  # pragma: no cover - an unbound expression: keep it inline
        return expr
    name = f"ccdata_{label}_{uuid.uuid4().hex[:12]}"
    return con.create_view(name, expr, overwrite=True)


def materialize(expr, label: str):
    """Compute ``expr`` once into a temporary engine table (DuckDB spills it)."""
    import uuid

    ibis = _ibis()
    con = ibis.get_backend(expr)
    name = f"ccdata_{label}_{uuid.uuid4().hex[:12]}"
    if con.name == "duckdb":
        return con.create_table(name, expr, temp=True)
    return expr.cache()


def _memory_error(exc: BaseException) -> bool:
    if isinstance(exc, MemoryError):
        return True
    name = type(exc).__name__
    text = str(exc)
    return (
        name == "OutOfMemoryException"
        or "Out of Memory" in text
        or "OutOfMemoryError" in text
        or "java.lang.OutOfMemory" in text
    )


def _engine_exceptions() -> tuple[type[BaseException], ...]:
    kinds: list[type[BaseException]] = [MemoryError]
    try:
        import duckdb

        kinds.append(duckdb.Error)
    except ImportError:  # pragma: no cover
        pass
    try:
        from py4j.protocol import Py4JError
        from pyspark.errors import PySparkException

        kinds += [PySparkException, Py4JError]
    except ImportError:  # pragma: no cover
        pass
    return tuple(kinds)


def guard(step: str, run: Callable[[], T], *, size: int | None = None) -> T:
    """Run one engine step; memory and engine failures keep their cause.

    Only the engine's own exceptions (and MemoryError) are translated: an
    :class:`~ccdata.errors.EngineMemoryError` or
    :class:`~ccdata.errors.EngineError` naming the step and the number of
    records. Anything else (a bug, a bad parameter) propagates unchanged.
    """
    import time

    t0 = time.perf_counter()
    try:
        out = run()
        _LOG.debug("%s: %.2f s", step, time.perf_counter() - t0)
        return out
    except _engine_exceptions() as exc:
        where = f"{step}" + (f" on {size:,} records" if size is not None else "")
        if _memory_error(exc):
            raise EngineMemoryError(
                f"{where}: the engine ran out of memory ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}). Give DuckDB a "
                "memory_limit and a temp_directory with free disk to spill to, "
                "or more memory to Spark's executors."
            ) from exc
        raise EngineError(
            f"{where}: the engine failed ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''})."
        ) from exc


def collect(expr, *, step: str, size: int | None = None) -> pd.DataFrame:
    """Bring an engine table into pandas; an engine failure names the step.

    Parameters
    ----------
    expr : ibis.Table
        A table small enough for memory (aggregates, or selected columns).
    step : str
        Words for the step in an error message (``"read the valid rows"``).
    size : int, optional
        The number of records the step works on, for the message.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    EngineMemoryError, EngineError
        The engine ran out of memory or failed; its exception is the cause.

    Examples
    --------
    >>> con = connect()
    >>> t = read_source(con, pd.DataFrame({"site_id": ["A", "B"]}))
    >>> collect(t.aggregate(n=t.count()), step="count")["n"].tolist()
    [2]
    """
    return guard(step, expr.to_pandas, size=size)
