"""Validate a site submission against a schema, reporting every problem at once.

:func:`validate` parses the submission with ccdata's text rules, lets pandera
decide (``schema.validate(typed, lazy=True)``), and explains pandera's
failure cases: every problem found is one row of
:attr:`ValidationResult.errors`, written in words a site's clerk can act on,
with the row number as the site sees it in its spreadsheet.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandas.api import types as ptypes
from pandera import errors as pa_errors

from ccdata.errors import InputError
from ccdata.schemas import (
    SchemaLike,
    get_schema,
    identifier_columns,
    site_column,
)
from ccdata.validation._explain import (
    INDEX_COLUMN,
    MAX_ROWS_LISTED,
    RANK_COLUMN_CHECK,
    RANK_FRAME_CHECK,
    RANK_KEY,
    RANK_OTHER,
    RANK_REQUIRED,
    RANK_TYPE,
    RANK_UNIQUE,
    ROW_COLUMN,
    Problems,
    check_words,
    column_messages,
    frame_messages,
)
from ccdata.validation._parse import (
    PANDAS3,
    display_values,
    parse_column,
    raw_text,
    text_array,
)
from ccdata.validation._parse import (  # shared with ccdata.io
    text_frame as text_frame,
)

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
    warnings : tuple of str
        Failures of checks declared with ``raise_warning=True``: reported
        here, and the rows stay valid (as pandera does).
    """

    valid: pd.DataFrame
    rejected: pd.DataFrame
    errors: pd.DataFrame
    schema: str
    source: str | None = None
    identifier_columns: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.errors.empty

    @property
    def n_rows(self) -> int:
        """Number of input rows (valid plus rejected)."""
        return len(self.valid) + len(self.rejected)

    def to_frame(self) -> pd.DataFrame:
        """Return the CSV-ready error table: :attr:`errors` with identifiers withheld.

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
# The engine: parse -> pandera decides -> explain
# --------------------------------------------------------------------------


def _row_numbers(data: pd.DataFrame) -> np.ndarray:
    if data.index.name == "row" and ptypes.is_integer_dtype(data.index):
        return data.index.to_numpy(dtype=np.int64)
    return np.arange(len(data), dtype=np.int64) + 2


def _schema_columns(schema: pa.DataFrameSchema, data: pd.DataFrame):
    """Pair data columns with column specs, regex columns matched as pandera does."""
    seen = set()
    for name, col in schema.columns.items():
        if getattr(col, "regex", False):
            try:
                matched = list(col.get_regex_columns(data))
            except Exception:  # no column matches: pandera reports it
                matched = []
        else:
            matched = [name] if name in data.columns else []
        for match in matched:
            if match not in seen:
                seen.add(match)
                yield match, col


def _refuse(schema: pa.DataFrameSchema, data: pd.DataFrame) -> None:
    """Refuse, up front and in words, what cannot be reported row by row."""
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
    if isinstance(data.index, pd.MultiIndex):
        raise InputError(
            "validate: data with a MultiIndex are not supported; reset the index first."
        )
    matched = {name for name, _ in _schema_columns(schema, data)}
    if schema.strict is True:
        extra = [str(c) for c in data.columns if c not in matched]
        if extra:
            raise InputError(
                f"validate: schema {schema.name!r} is strict and the data have "
                f"column(s) it does not define: {', '.join(map(repr, extra))}."
            )
    if schema.ordered:
        order = [c for c in data.columns if c in matched]
        wanted = [c for c in schema.columns if c in data.columns]
        if [c for c in order if c in wanted] != wanted:
            raise InputError(
                f"validate: schema {schema.name!r} wants its columns in the order "
                f"{', '.join(map(repr, wanted))}; the data have them as "
                f"{', '.join(map(repr, order))}."
            )
    for key in schema.unique or []:
        if key not in data.columns:
            raise InputError(
                f"validate: the unique key of schema {schema.name!r} names column "
                f"{key!r}, which the data lack."
            )


def _nullable_twin(values: pd.Series, target) -> str | None:
    """Return the nullable dtype standing in for a NumPy int/bool target with NA."""
    if isinstance(target, np.dtype) and target.kind in "iub":
        if target.kind == "b":
            return "boolean"
        return target.name.capitalize().replace("Uint", "UInt")
    return None


def _holds_na(target) -> bool:
    return not (isinstance(target, np.dtype) and target.kind in "iub")


def _pandera(schema: pa.DataFrameSchema, frame: pd.DataFrame):
    """Run pandera lazily: (failure cases or None, warning texts)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pa_errors.SchemaWarning)
        try:
            schema.validate(frame, lazy=True, inplace=True)
        except pa_errors.SchemaErrors as exc:
            for err in exc.schema_errors:
                if err.reason_code == pa_errors.SchemaErrorReason.CHECK_ERROR:
                    raise InputError(
                        f"validate: a check of schema {schema.name!r} could not be "
                        f"run: {err}"
                    ) from None
            fc = exc.failure_cases
        else:
            fc = None
    texts = tuple(
        str(w.message).strip().splitlines()[0]
        for w in caught
        if issubclass(w.category, pa_errors.SchemaWarning)
    )
    return fc, texts


def validate(
    data: pd.DataFrame,
    schema: SchemaLike,
    *,
    sites: list[str] | None = None,
) -> ValidationResult:
    """Validate a submission, reporting every problem in one pass.

    Three steps. **Parse**: ccdata's own text rules turn each schema column
    into its type (stripped text, blank = missing, strict whole numbers and
    booleans, ISO 8601 dates; see ``docs/validation.md``); a cell they cannot
    read is a ``type`` problem. **Check**: pandera's own
    ``schema.validate(typed, lazy=True)`` decides on the rows that parsed, so
    every pandera feature (checks, ``nullable``, ``unique``,
    ``report_duplicates``, regex columns, index checks, ``coerce``, parsers)
    means what pandera says. **Explain**: pandera's failure cases become
    problems at the spreadsheet row, in plain English.

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
        submitted), ``errors`` (one row per problem), ``warnings`` (failed
        ``raise_warning`` checks) and ``ok``.

    Raises
    ------
    InputError
        If ``data`` is not a DataFrame, lacks a required column (all missing
        columns are named), breaks ``strict``/``ordered``, or a check of the
        schema cannot be run.
    SchemaDefinitionError
        If the schema name is unknown.

    Notes
    -----
    A value with a type problem is not checked further (one mistake, one
    message), and a row with a type problem is not given to pandera; a unique
    key shared with such a row is still reported. DataFrame-level failures
    are reported once per row under each column they involve (the check's
    ``statistics["columns"]``), or under ``"(row)"``. Custom checks receive
    the typed frame with the input's index (positions when that index has
    duplicates).

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
    _refuse(schema_obj, data)
    n = len(data)
    rows = _row_numbers(data)
    problems = Problems(n)
    specs = dict(_schema_columns(schema_obj, data))
    parsed: dict = {}
    excluded = np.zeros(n, dtype=bool)
    keyed = {k for keys, _ in _unique_keys(schema_obj, specs) for k in keys}

    def parse(item):
        name, spec = item
        p = parse_column(name, data[name], spec.dtype or schema_obj.dtype)
        if name in keyed:
            p.value_keys()  # computed here, in parallel, and kept
        return p

    for (name, spec), p in zip(
        specs.items(), _in_threads(parse, list(specs.items()), n), strict=True
    ):
        parsed[name] = p
        if p.bad.any():
            pos = np.flatnonzero(p.bad)
            text = raw_text(p.raw, pos)
            msgs = [
                f"{name} '{t}' {r}" for t, r in zip(text, p.reasons[pos], strict=True)
            ]
            problems.add(pos, name, "type", text, msgs, rank=RANK_TYPE)
            excluded |= p.bad
        if not _holds_na(p.target) and not spec.nullable and p.missing.any():
            pos = np.flatnonzero(p.missing)
            problems.add(
                pos,
                name,
                "required",
                [""] * len(pos),
                [f"{name} is empty but required"] * len(pos),
                rank=RANK_REQUIRED,
            )
            excluded |= p.missing

    index = data.index if data.index.is_unique else pd.RangeIndex(n)
    typed = pd.DataFrame(
        {
            c: (parsed[c].values if c in parsed else data[c].reset_index(drop=True))
            for c in data.columns
        },
        columns=data.columns,
        copy=False,
    )
    typed.index = index
    keep = np.flatnonzero(~excluded)
    # one boolean filter (cheaper than a take for text columns)
    # one boolean filter (Arrow's filter is cheaper than a take for text)
    sub = _take_rows(typed, ~excluded) if excluded.any() else typed
    run_schema = schema_obj
    casts: dict[Any, Any] = {}
    twins: dict[Any, Any] = {}
    for name, p in parsed.items():
        twin = _nullable_twin(p.values, p.target)
        if twin is None or str(sub[name].dtype) != twin:
            continue
        if sub[name].isna().any():
            twins[name] = twin
        else:
            casts[name] = p.target
    if casts or twins:
        sub = sub.astype({**casts}) if casts else sub.copy()
        for name, twin in twins.items():
            run_schema = _with_dtype(run_schema, name, specs[name], twin)
    if excluded.any():
        _cross_duplicates(problems, schema_obj, specs, parsed, excluded, rows)
    run_schema, narrowed = _narrow_unique(run_schema, specs, parsed, keep)
    failures, texts = _pandera(run_schema, sub)
    failures = _merge_failures(
        failures, _unique_failures(run_schema, specs, sub, narrowed)
    )
    if failures is not None:
        _explain(
            problems, failures, run_schema, specs, parsed, typed, sub, keep, index, rows
        )
    return _assemble(data, schema_obj, parsed, problems, rows, sub, keep, texts)


#: Threads for the work on independent columns (parsing, taking rows). Most
#: of it runs in Arrow's and NumPy's kernels, which release the GIL. Tests set
#: it to 1 to compare with the serial run.
THREADS = min(2, os.cpu_count() or 1)
#: Fewer rows than this are worked on in one thread (a thread costs more).
PARALLEL_ROWS = 200_000


def _in_threads(fn, items: list, n_rows: int) -> list:
    """Return ``[fn(item) for item in items]``, in ``THREADS`` threads when large.

    The results are in the order of ``items``, whatever order they finish in.
    """
    if THREADS < 2 or n_rows < PARALLEL_ROWS or len(items) < 2:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(fn, items))


def _arrow_filter(column: pd.Series, keep: Any) -> pd.Series | None:
    """Filter pandas' Arrow text by Arrow's own filter, else None.

    Arrow's filter is about three times faster than ``Series.iloc[mask]``
    (which takes by position) and gives the same values and dtype.
    """
    values = column.array
    if not (PANDAS3 and isinstance(values, pd.arrays.ArrowStringArray)):
        return None
    arr = getattr(values, "_pa_array", None)
    if arr is None:
        return None
    try:
        out = pd.arrays.ArrowStringArray(  # type: ignore[call-arg]
            arr.filter(keep), dtype=column.dtype
        )
    except (TypeError, ValueError):  # another pandas: the ordinary filter
        return None
    return pd.Series(out, name=column.name, copy=False)


def _take_rows(frame: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """Return ``frame.iloc[rows]`` (``rows`` a boolean mask), faster.

    Arrow text columns are filtered by Arrow (:func:`_arrow_filter`) in one
    thread while the other columns are filtered by pandas in another (both
    run without the GIL); the result has the frame's columns, in its order.
    """
    if len(frame) < PARALLEL_ROWS or frame.shape[1] < 2:
        return frame.iloc[rows]
    import pyarrow as pa  # type: ignore[import-untyped]

    text = [
        c
        for c, dtype in frame.dtypes.items()
        if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
    ]
    if not PANDAS3 or not text:
        return frame.iloc[rows]
    keep = pa.array(rows)

    def job(which):
        if which == "other":
            return frame.drop(columns=text).iloc[rows]
        return [_arrow_filter(frame[c], keep) for c in text]

    out, filtered = _in_threads(job, ["other", "text"], len(frame))
    if any(f is None for f in filtered):
        return frame.iloc[rows]
    for c, column in zip(text, filtered, strict=True):
        column.index = out.index
        out[c] = column
    out = out[list(frame.columns)]
    out.columns = frame.columns
    return out


def _with_dtype(schema, name, spec, dtype):
    if getattr(spec, "regex", False):  # a pattern column: leave it to pandera
        return schema
    return schema.update_column(name, dtype=dtype)


def _key_codes(parsed, keys, positions) -> np.ndarray:
    """Code the rows at ``positions``: equal codes for equal keys.

    Missing values are equal, as for pandas' ``duplicated``; -1 where a part is
    unparsable.
    """
    key = None
    for k in keys:
        p = parsed[k]
        codes = pd.factorize(p.values.iloc[positions], use_na_sentinel=False)[0]
        codes = np.where(p.bad[positions], -1, codes).astype(np.int64)
        if key is None:
            key = codes
            continue
        bad = (key < 0) | (codes < 0)
        key = pd.factorize(key * (int(codes.max(initial=0)) + 2) + codes)[0]
        key[bad] = -1
    return cast(np.ndarray, key)


def _in(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Tell which ``keys`` (int64) are among ``wanted``: a hash lookup.

    ``np.isin`` would sort both (the keys of text are 64-bit hashes, too
    spread out for its table method).
    """
    if not len(wanted) or not len(keys):
        return np.zeros(len(keys), dtype=bool)
    return pd.Series(keys, copy=False).isin(np.unique(wanted)).to_numpy(dtype=bool)


def _repeated(keys: np.ndarray) -> np.ndarray:
    """Tell which ``keys`` (int64) occur more than once: one sort, one lookup."""
    if len(keys) < 2:
        return np.zeros(len(keys), dtype=bool)
    ordered = np.sort(keys)
    twice = ordered[1:][ordered[1:] == ordered[:-1]]
    return _in(keys, twice)


def _sharing(parsed, keys, candidates, some) -> np.ndarray:
    """Return the ``candidates`` sharing every key part with one of ``some``.

    The ``candidates`` (positions) whose every key part equals that of at least
    one of ``some`` (positions): a cheap filter before exact grouping. Missing
    values match missing values. Compared by the parsed column's value keys
    (:meth:`Parsed.value_keys`, computed once for every use) where it has
    them; a hash collision only adds a candidate.
    """
    mask = np.ones(len(candidates), dtype=bool)
    for k in keys:
        codes = parsed[k].value_keys()
        if codes is not None:
            mask &= _in(codes[candidates], codes[some])
            continue
        values = parsed[k].values
        mask &= values.iloc[candidates].isin(values.iloc[some].unique()).to_numpy(
            dtype=bool, na_value=False
        ) | values.iloc[candidates].isna().to_numpy(dtype=bool) & bool(
            values.iloc[some].isna().any()
        )
    return candidates[mask]


#: Narrow pandera's column ``unique`` check to the rows that can fail it (see
#: :func:`_narrow_unique`); tests switch it off to compare with the slow path.
_NARROW_UNIQUE = True


def _narrow_unique(schema, specs, parsed, keep):
    """Move column ``unique`` checks to the rows sharing a value.

    pandera's ``unique`` check hashes the whole column twice (``is_unique``,
    then ``duplicated``). A row whose value occurs once among the rows given
    to pandera can never be a duplicate, so the check is dropped from the
    full run and run by pandera, unchanged (``report_duplicates`` included),
    on the rows that share a value with another (:func:`_unique_failures`),
    found by the column's value keys (a 64-bit hash for text, no hash
    table): pandera still decides which rows fail. Skipped where pandera could change
    the values first (``coerce``, parsers) or drops rows itself.

    Returns the schema for the full run and ``{column: rows of sub}``.
    """
    narrowed: dict[str, np.ndarray] = {}
    if (
        not _NARROW_UNIQUE
        or schema.coerce
        or schema.parsers
        or getattr(schema, "drop_invalid_rows", False)
    ):
        return schema, narrowed
    for name in specs:
        col = schema.columns.get(name)
        if (
            col is None
            or not col.unique
            or getattr(col, "regex", False)
            or col.coerce
            or col.parsers
            or getattr(col, "drop_invalid_rows", False)
            or name not in parsed
        ):
            continue
        codes = parsed[name].value_keys()
        if codes is None:
            continue
        # a hash collision only gives pandera one more row to look at
        narrowed[name] = np.flatnonzero(_repeated(codes[keep]))
    if narrowed:
        schema = schema.update_columns({name: {"unique": False} for name in narrowed})
    return schema, narrowed


def _unique_failures(schema, specs, sub, narrowed) -> list[pd.DataFrame]:
    """Return the failure cases pandera gives for each narrowed ``unique`` check."""
    out = []
    for name, rows in narrowed.items():
        if not len(rows):
            continue
        col = schema.columns[name]
        check = pa.DataFrameSchema(
            {
                name: pa.Column(
                    None,
                    nullable=True,
                    unique=True,
                    report_duplicates=col.report_duplicates,
                )
            },
            name=schema.name,
        )
        fc, _ = _pandera(check, sub[[name]].iloc[rows])
        if fc is not None and len(fc):  # pandera leaves missing values out
            out.append(fc)
    return out


def _merge_failures(fc, extra):
    """Add the narrowed ``unique`` failure cases to those of pandera's full run.

    Where they stand does not matter: the problems are ordered by their ranks
    (see :func:`_assemble`), never by pandera's order of failure cases.
    """
    parts = ([] if fc is None else [fc]) + list(extra)
    if not parts:
        return fc
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]


def _unique_words(keys, texts, counts, lists) -> list[str]:
    if len(keys) == 1:
        return [
            f"{keys[0]} {v} appears {c} times (rows {r})"
            for v, c, r in zip(texts[keys[0]], counts, lists, strict=True)
        ]
    out = []
    for i in range(len(counts)):
        key = ", ".join(f"{k} {texts[k][i]}" for k in keys)
        out.append(f"the key {key} appears {counts[i]} times (rows {lists[i]})")
    return out


def _group_rows(group: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, for each member, its group's size and :func:`row_list` text.

    One sort by (group, row); the text is built once per group (the loop runs
    over duplicated keys, one message each, never over all rows).
    """
    order = np.lexsort((rows, group))
    g, r = group[order], rows[order]
    first = np.r_[True, g[1:] != g[:-1]] if len(g) else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(first)
    sizes = np.diff(np.r_[starts, len(g)])
    texts = np.empty(len(starts), dtype=object)
    listed = r.tolist()
    for i, (b, size) in enumerate(zip(starts.tolist(), sizes.tolist(), strict=True)):
        # as row_list: the rows in order, the first MAX_ROWS_LISTED of them
        text = ", ".join(map(str, listed[b : b + min(size, MAX_ROWS_LISTED)]))
        if size > MAX_ROWS_LISTED:
            text += f" and {size - MAX_ROWS_LISTED} more"
        texts[i] = text
    which = np.empty(len(g), dtype=np.int64)
    which[order] = np.cumsum(first) - 1
    return sizes[which], texts[which]


def _report_groups(
    problems, keys, parsed, group, pos, rows, report=None, *, rank: int
) -> None:
    """Report duplicate keys from the ``group`` codes of the rows at ``pos``.

    ``group`` holds the codes of the rows at full positions ``pos`` (every row
    sharing a key); only rows where ``report`` is true are reported, but counts
    and row lists name every row of the group.
    """
    counts, lists = _group_rows(np.asarray(group), rows[pos])
    if report is not None:
        pos, counts, lists = pos[report], counts[report], lists[report]
    texts = {
        k: raw_text(parsed[k].raw, pos) if k in parsed else [""] * len(pos)
        for k in keys
    }
    msgs = _unique_words(keys, texts, counts, lists)
    for k in keys:
        problems.add(pos, k, "unique", texts[k], msgs, rank=rank)


def _unique_keys(schema, specs) -> list[tuple[list[str], int]]:
    """Return the unique keys with their rank: each column's own, then the schema's."""
    keys = [([c], RANK_UNIQUE) for c, spec in specs.items() if spec.unique]
    if schema.unique:
        keys.append((list(schema.unique), RANK_KEY))
    return keys


def _cross_duplicates(problems, schema, specs, parsed, excluded, rows) -> None:
    """Duplicate keys shared with rows that pandera never saw (type problems)."""
    for keys, rank in _unique_keys(schema, specs):
        if not all(k in parsed for k in keys):
            continue
        usable = np.ones(len(excluded), dtype=bool)
        for k in keys:
            usable &= ~parsed[k].bad & ~parsed[k].missing
        pos = np.flatnonzero(usable)
        if not len(pos) or not usable[excluded].any():
            continue
        pos = _sharing(parsed, keys, pos, np.flatnonzero(usable & excluded))
        codes = _key_codes(parsed, keys, pos)
        size = np.bincount(codes)
        with_excluded = np.bincount(codes, weights=excluded[pos]) > 0
        hit = (size[codes] > 1) & with_excluded[codes]
        if hit.any():
            _report_groups(
                problems, keys, parsed, codes[hit], pos[hit], rows, rank=rank
            )


_REFUSED = (
    "column_in_dataframe",
    "column_in_schema",
    "column_ordered",
    "duplicate_dataframe_column_names",
    "dataframe_column_labels_unique",
)


@functools.cache
def _index_failures_by_position() -> bool:
    """Whether pandera names a failing index value by position, not label.

    pandera 0.24 reports the failure cases of a (single) ``Index`` check with
    ``index`` = the row's position in the frame; later versions give the
    index label, as for columns. Asked once, of pandera itself: a two-row
    frame indexed [7, 8] whose index check fails on 8 reports 1 or 8.
    """
    probe = pa.DataFrameSchema(index=pa.Index("int64", pa.Check.le(7)))
    try:
        probe.validate(pd.DataFrame(index=pd.Index([7, 8])), lazy=True)
    except pa_errors.SchemaErrors as exc:
        return exc.failure_cases["index"].tolist() == [1]
    return False


def _explain(
    problems, failures, schema, specs, parsed, typed, sub, keep, index, rows
) -> None:
    """Turn pandera's failure cases into problems at spreadsheet rows."""
    fc = failures.reset_index(drop=True)
    has_index = fc["index"].notna().to_numpy()
    pos = np.full(len(fc), -1, dtype=np.int64)
    if has_index.any():
        pos[has_index] = index.get_indexer(pd.Index(list(fc["index"][has_index])))
        on_index = has_index & (fc["schema_context"] == "Index").to_numpy()
        if on_index.any() and _index_failures_by_position():
            # positions in the frame pandera checked (sub = typed.iloc[keep])
            pos[on_index] = keep[fc["index"][on_index].astype(np.int64).to_numpy()]
    num = fc["check_number"].astype("float64")
    col = fc["column"].astype(object).where(fc["column"].notna(), None)
    # a DataFrame-level check is melted to one failure per column: one group
    frame_level = (fc["schema_context"] == "DataFrameSchema").to_numpy() & (
        num.notna().to_numpy()
    )
    col = col.where(~frame_level, None)
    fc = fc.assign(_pos=pos, _num=num, _col=col)
    group_cols = ["schema_context", "_col", "check", "_num"]
    for (ctx, col, chk, num), group in fc.groupby(group_cols, dropna=False, sort=False):
        positions = group["_pos"].to_numpy()
        located = positions[positions >= 0]
        col = (
            None if col is None or (not isinstance(col, str) and pd.isna(col)) else col
        )
        check = None
        if not pd.isna(num):
            if ctx == "Column" and col in specs:
                check = specs[col].checks[int(num)]
            elif ctx == "DataFrameSchema":
                check = schema.checks[int(num)]
            elif ctx == "Index" and schema.index is not None:
                check = schema.index.checks[int(num)]
        label = check.name if check is not None else str(chk)
        if pd.isna(num):
            rank = RANK_OTHER
        elif ctx == "DataFrameSchema":
            rank = RANK_FRAME_CHECK + int(num)
        else:
            rank = RANK_COLUMN_CHECK + int(num)
        if not len(located):
            if str(chk).startswith("dtype(") or chk in _REFUSED:
                cases = ", ".join(map(str, group["failure_case"].head(5)))
                where = f"column {col!r}" if col else "the data"
                raise InputError(
                    f"validate: {where} fails pandera's {chk} "
                    f"({cases}) in schema {schema.name!r}, which ccdata cannot "
                    "report row by row."
                )
            if ctx == "Column" and col:
                message = f"column {col} failed the check '{label}'"
            else:
                message = f"the data as a whole failed the check '{label}'"
            problems.add([-1], col or ROW_COLUMN, label, [""], [message], rank=rank)
            continue
        if ctx in ("Index", "MultiIndex"):
            values = group["failure_case"][positions >= 0].astype(str).to_numpy()
            words = (
                check_words(check, True)
                if check is not None
                else f"failed the check '{label}'"
            )
            problems.add(
                located,
                INDEX_COLUMN,
                label,
                values,
                [f"index value {v} {words}" for v in values],
                rank=rank,
            )
            continue
        if ctx == "Column" and col in parsed:
            p = parsed[col]
            if chk == "not_nullable":
                problems.add(
                    located,
                    col,
                    "required",
                    [""] * len(located),
                    [f"{col} is empty but required"] * len(located),
                    rank=RANK_REQUIRED,
                )
                continue
            if chk == "field_uniqueness":
                _pandera_duplicates(
                    problems, [col], parsed, sub, keep, located, rows, RANK_UNIQUE
                )
                continue
            text = raw_text(p.raw, located)
            disp = display_values(typed[col].iloc[located], p.kind, text)
            quote = p.kind in ("str", "category", "other")
            if check is not None:
                msgs = column_messages(check, cast(str, col), disp, quote)
            else:
                msgs = [f"{col} {d} failed the check '{label}'" for d in disp]
            problems.add(located, col, label, text, msgs, rank=rank)
            continue
        located = np.unique(located)
        if chk == "multiple_fields_uniqueness":
            keys = [k for k in (schema.unique or []) if k in typed.columns]
            _pandera_duplicates(
                problems, keys, parsed, sub, keep, located, rows, RANK_KEY
            )
            continue
        if check is not None and ctx == "DataFrameSchema":
            stats = check.statistics or {}
            involved = [c for c in stats.get("columns", []) or [] if c in typed.columns]
            disp_by_col = {}
            for c in involved:
                text = (
                    raw_text(typed[c], located)
                    if c not in parsed
                    else raw_text(parsed[c].raw, located)
                )
                kind = parsed[c].kind if c in parsed else "other"
                disp_by_col[c] = display_values(typed[c].iloc[located], kind, text)
            msgs = frame_messages(check, involved, disp_by_col, len(located))
            vals: np.ndarray | list[str]
            for c in involved or [ROW_COLUMN]:
                if c in parsed:
                    vals = raw_text(parsed[c].raw, located)
                elif c in typed.columns:
                    vals = raw_text(typed[c], located)
                else:
                    vals = [""] * len(located)
                problems.add(located, c, label, vals, msgs, rank=rank)
            continue
        where = cast(str, col) if col in typed.columns else ROW_COLUMN
        problems.add(
            located,
            where,
            label,
            [""] * len(located),
            [f"the row failed the check '{label}'"] * len(located),
            rank=rank,
        )


def _pandera_duplicates(
    problems, keys, parsed, sub, keep, located, rows, rank: int
) -> None:
    """Word pandera's duplicate rows, counting every row that shares the key."""
    if not all(k in parsed for k in keys):
        problems.add(
            located,
            keys[0] if keys else ROW_COLUMN,
            "unique",
            [""] * len(located),
            ["the row repeats a key that must be unique"] * len(located),
            rank=rank,
        )
        return
    members = _sharing(parsed, keys, keep, located)
    codes = _key_codes(parsed, keys, members)
    wanted = np.unique(codes[np.isin(members, located)])
    in_group = np.isin(codes, wanted)
    members, codes = members[in_group], codes[in_group]
    _report_groups(
        problems,
        keys,
        parsed,
        codes,
        members,
        rows,
        np.isin(members, located),
        rank=rank,
    )


def _assemble(
    data, schema_obj, parsed, problems, rows, sub, keep, warning_texts
) -> ValidationResult:
    n = len(data)
    table = problems.frame()
    pos = table["pos"].to_numpy(dtype=np.int64)
    in_rows = pos >= 0
    bad_rows = np.zeros(n, dtype=bool)
    bad_rows[pos[in_rows]] = True
    safe = np.where(in_rows, pos, 0)
    site = np.full(len(pos), None, dtype=object)
    site_col = site_column(schema_obj)
    if n and len(pos) and site_col in parsed:
        site = raw_text(parsed[site_col].raw, safe)
        site[~in_rows] = None
    site = np.where(site == "", None, site) if len(site) else site  # type: ignore[call-overload]
    row = (
        np.where(in_rows, rows[safe], 0)
        if n and len(pos)
        else np.zeros(len(pos), dtype=np.int64)
    )
    errors = pd.DataFrame(
        {
            "site_id": text_array(site),
            "row": pd.array(row, dtype="Int64"),
            "column": text_array(table["column"].to_numpy(dtype=object)),
            "value": text_array(table["value"].to_numpy(dtype=object)),
            "check": text_array(table["check"].to_numpy(dtype=object)),
            "message": text_array(table["message"].to_numpy(dtype=object)),
        }
    )
    if (~in_rows).any():
        errors.loc[~in_rows, "row"] = pd.NA
    if len(errors):
        # by site, row, column in the schema's order, then check (the ranks)
        order = {name: i for i, name in enumerate(parsed)}
        errors["_o"] = errors["column"].map(order).fillna(len(order))
        errors["_r"] = table["rank"].to_numpy(dtype=np.int64)
        errors = errors.sort_values(
            ["site_id", "row", "_o", "_r"], na_position="last", kind="stable"
        ).drop(columns=["_o", "_r"])
    errors = errors.reset_index(drop=True)
    if not errors["row"].isna().any():
        errors["row"] = errors["row"].astype("int64")

    good = ~bad_rows
    columns = list(data.columns)
    if schema_obj.strict == "filter":
        columns = [c for c in columns if c in parsed]
    # the valid rows are rows of ``sub`` (what pandera saw, parsers applied):
    # one boolean filter of it, no take and no copy of the whole frame
    valid = _take_rows(sub, good[keep]) if bad_rows.any() else sub
    if list(valid.columns) != columns:
        valid = valid.loc[:, columns]
    if valid is sub:  # pandas 2 has no copy-on-write: never share the input
        valid = sub.copy(deep=not PANDAS3)
    valid.index = data.index[good]
    rejected = data.iloc[np.flatnonzero(bad_rows)].copy()
    return ValidationResult(
        valid=valid,
        rejected=rejected,
        errors=errors,
        schema=str(schema_obj.name),
        identifier_columns=tuple(identifier_columns(schema_obj)),
        warnings=warning_texts,
    )


def redact_identifiers(errors: pd.DataFrame, columns) -> pd.DataFrame:
    """Withhold the values of identifier columns from an error table.

    Rows reported under an identifier column get ``"[withheld]"`` as their
    value. In the messages of the same spreadsheet row (a duplicated
    composite key names its identifier in the messages of its other columns)
    the value is withheld where it stands as a whole value: after its column
    name (``record_id R1A2``, ``record_id 'R1A2'``), and, unless it is a bare
    number that could be mistaken for a row number, wherever it stands alone
    (never inside a longer word or number: an id ``1`` leaves ``age 110``
    alone).

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
    >>> e = pd.DataFrame({"site_id": ["S01", "S01"], "row": [5, 5],
    ...                   "column": ["record_id", "age"], "value": ["1", "110"],
    ...                   "check": ["unique", "in_range"],
    ...                   "message": ["record_id 1 appears 2 times (rows 5, 9)",
    ...                               "age 110 is outside 18-100"]})
    >>> redact_identifiers(e, ["record_id"])["message"].tolist()
    ['record_id [withheld] appears 2 times (rows 5, 9)', 'age 110 is outside 18-100']
    """
    columns = [str(c) for c in columns]
    out = errors.copy()
    hit = out["column"].isin(columns).to_numpy()
    if not hit.any():
        return out
    values = out["value"].astype(object).to_numpy()
    rows = out["row"].astype(object).to_numpy()
    by_row: dict[object, set[str]] = {}
    for i in np.flatnonzero(hit).tolist():
        v = values[i]
        if isinstance(v, str) and v:
            by_row.setdefault(None if pd.isna(rows[i]) else rows[i], set()).add(v)
    out["value"] = out["value"].astype(object)
    out.loc[hit, "value"] = WITHHELD
    names = "|".join(re.escape(c) for c in sorted(columns, key=len, reverse=True))
    messages = out["message"].astype(object).to_numpy().copy()
    for i, message in enumerate(messages):
        if not isinstance(message, str):
            continue
        mine = by_row.get(None if pd.isna(rows[i]) else rows[i], set())
        for v in sorted(mine, key=len, reverse=True):
            if v not in message:
                continue
            val = re.escape(v)
            message = re.sub(
                rf"(?<![\w-])({names}) (?:'{val}'|{val})(?![\w-])",
                rf"\1 {WITHHELD}",
                message,
            )
            if not v.isdigit():
                message = re.sub(rf"(?<![\w-]){val}(?![\w-])", WITHHELD, message)
        messages[i] = message
    out["message"] = text_array(messages)
    return out
