"""Validate an engine table against a ccdata schema, out of core.

The checks of :func:`ccdata.validate` are translated into engine
expressions (one boolean flag per column and check); the engine counts every
problem, and only the first ``max_errors`` rows of each check come back, to be
worded in pandas exactly as the in-memory path words them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ccdata.engine._source import ROW, guard, materialize, strip, view
from ccdata.errors import InputError
from ccdata.schemas import (
    SchemaLike,
    get_schema,
    identifier_columns,
    key_columns,
    site_column,
)
from ccdata.validation import ERROR_COLUMNS, redact_identifiers, text_array

__all__ = ["EngineValidationResult", "validate"]

TYPE_WORDS = {
    "int": "is not a whole number",
    "float": "is not a number",
    "date": "is not a date in the form YYYY-MM-DD",
    "bool": "is not 0 or 1",
}
MAX_ROWS_LISTED = 10
_ROW_COLUMN = "(row)"


@dataclass(frozen=True)
class EngineValidationResult:
    """The outcome of validating an engine table (bounded in memory).

    Attributes
    ----------
    valid : ibis.Table
        Lazy table of the rows without any problem, values coerced to the
        schema's types (whole numbers, numbers, timestamps, stripped text),
        with the ``row`` column.
    rejected : ibis.Table
        Lazy table of the rows with at least one problem, as submitted.
    errors : pandas.DataFrame
        Columns ``site_id, row, column, value, check, message`` as
        :attr:`ccdata.ValidationResult.errors`, holding at most
        ``max_errors`` rows per column and check (the first in row order).
    counts : pandas.DataFrame
        One row per column and check that found problems: ``column, check,
        problems`` (the total) and ``shown`` (rows in :attr:`errors`).
    n_rows, n_valid, n_rejected : int
        Records read, without and with a problem; ``n_valid + n_rejected ==
        n_rows``.
    schema : str
    source : str or None
    identifier_columns : tuple of str
    """

    valid: Any
    rejected: Any
    errors: pd.DataFrame
    counts: pd.DataFrame
    n_rows: int
    n_valid: int
    n_rejected: int
    schema: str
    source: str | None = None
    identifier_columns: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return self.counts.empty

    @property
    def truncated(self) -> bool:
        """True when some problems are counted but not listed in :attr:`errors`."""
        return bool((self.counts["problems"] > self.counts["shown"]).any())

    def to_frame(self) -> pd.DataFrame:
        """Return the CSV-ready error table, identifiers withheld."""
        return redact_identifiers(self.errors, self.identifier_columns)


# --------------------------------------------------------------------------
# types
# --------------------------------------------------------------------------
def _kind(dtype: Any) -> str:
    if dtype is None:
        return "other"
    try:
        target = pd.api.types.pandas_dtype(dtype.type)
    except (TypeError, AttributeError):
        return "other"
    types = pd.api.types
    if types.is_bool_dtype(target):
        return "bool"
    if types.is_integer_dtype(target):
        return "int"
    if types.is_float_dtype(target):
        return "float"
    if types.is_datetime64_any_dtype(target):
        return "date"
    if types.is_string_dtype(target) or isinstance(target, pd.CategoricalDtype):
        return "str"
    return "other"


@dataclass
class _Col:
    name: str
    kind: str
    raw: Any  # raw engine expression
    typed: Any  # coerced value, NULL when missing or unreadable
    missing: Any  # boolean expression
    bad: Any  # boolean expression (type problem)
    raw_is_text: bool


def _coerce(t, name: str, kind: str) -> _Col:
    import ibis

    raw = t[name]
    dt = raw.type()
    false = ibis.literal(False)
    if dt.is_string():
        s = strip(raw)
        blank = s.isnull() | (s == "")
        text = ibis.ifelse(blank, ibis.null("string"), s)
        if kind in ("int", "float", "bool"):
            num = text.try_cast("float64")
            bad = ~blank & num.isnull()
            if kind in ("int", "bool"):
                frac = (num % 1) != 0
                bad = bad | (~blank & ~bad & frac)
                if kind == "bool":
                    bad = bad | (~blank & ~bad & ~num.isin([0.0, 1.0]))
            typed = ibis.ifelse(bad, ibis.null("float64"), num)
            if kind in ("int", "bool"):
                typed = typed.cast("int64")
            return _Col(name, kind, raw, typed, blank, bad.fill_null(False), True)
        if kind == "date":
            stamp = text.try_cast("timestamp")
            bad = ~blank & stamp.isnull()
            return _Col(name, kind, raw, stamp, blank, bad, True)
        return _Col(name, kind, raw, text, blank, false, True)
    if dt.is_floating():
        missing = raw.isnull() | raw.isnan()
        if kind in ("int", "bool"):
            bad = ~missing & ((raw % 1) != 0)
            if kind == "bool":
                bad = bad | (~missing & ~raw.isin([0.0, 1.0]))
            bad = bad.fill_null(False)
            typed = ibis.ifelse(missing | bad, ibis.null("float64"), raw).cast("int64")
            return _Col(name, kind, raw, typed, missing, bad, False)
        typed = ibis.ifelse(missing, ibis.null("float64"), raw)
        return _Col(name, kind, raw, typed, missing, false, False)
    if dt.is_boolean() and kind in ("int", "float", "bool"):
        return _Col(name, kind, raw, raw.cast("int64"), raw.isnull(), false, False)
    if dt.is_date() and kind == "date":
        return _Col(name, kind, raw, raw.cast("timestamp"), raw.isnull(), false, False)
    if dt.is_timestamp() and kind == "date":
        return _Col(name, kind, raw, raw.cast("timestamp"), raw.isnull(), false, False)
    return _Col(name, kind, raw, raw, raw.isnull(), false, False)


# --------------------------------------------------------------------------
# checks: expressions and words
# --------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _is_default_error(check: pa.Check) -> bool:
    return not check.error or str(check.error).startswith(f"{check.name}(")


def _passed(check: pa.Check, col: _Col):
    """Engine expression True where the value passes ``check`` (None: unknown)."""
    s = check.statistics or {}
    v = col.typed
    name = check.name
    if name == "in_range":
        lo = v >= s["min_value"] if s.get("include_min", True) else v > s["min_value"]
        hi = v <= s["max_value"] if s.get("include_max", True) else v < s["max_value"]
        return lo & hi
    if name in ("isin", "registered_site"):
        return v.isin(list(s["allowed_values"]))
    if name == "notin":
        return ~v.isin(list(s["forbidden_values"]))
    ops = {
        "greater_than_or_equal_to": lambda: v >= s["min_value"],
        "greater_than": lambda: v > s["min_value"],
        "less_than_or_equal_to": lambda: v <= s["max_value"],
        "less_than": lambda: v < s["max_value"],
        "equal_to": lambda: v == s["value"],
        "not_equal_to": lambda: v != s["value"],
        "str_matches": lambda: v.re_search("^(?:" + str(s["pattern"]) + ")"),
        "str_contains": lambda: v.re_search(str(s["pattern"])),
        "str_startswith": lambda: v.startswith(str(s["string"])),
        "str_endswith": lambda: v.endswith(str(s["string"])),
    }
    if name in ops:
        return ops[name]()
    if name == "str_length":
        n = v.length()
        out = None
        if s.get("min_value") is not None:
            out = n >= s["min_value"]
        if s.get("max_value") is not None:
            out = (n <= s["max_value"]) if out is None else out & (n <= s["max_value"])
        return out
    return None


def _words(check: pa.Check, col: _Col, disp: list[str]) -> list[str]:
    """Messages as ccdata.validate words them (kept in step by the tests)."""
    name, stats, c = check.name, check.statistics or {}, col.name
    quote = col.kind not in ("int", "float", "bool", "date")

    def each(suffix: str) -> list[str]:
        return [f"{c} {d} {suffix}" for d in disp]

    if name == "registered_site":
        return each("is not in the registered site list")
    if not _is_default_error(check):
        template = str(check.error)
        if "{value}" in template or "{column}" in template:
            return [template.format(column=c, value=d) for d in disp]
        return each(template)
    if name == "in_range":
        return each(f"is outside {_fmt(stats['min_value'])}-{_fmt(stats['max_value'])}")
    if name == "isin":
        allowed = [f"'{v}'" if quote else _fmt(v) for v in stats["allowed_values"]]
        return each(f"is not one of {', '.join(allowed)}")
    if name == "notin":
        return each("is not an allowed value")
    if name == "greater_than_or_equal_to":
        lo = stats["min_value"]
        return each("is negative" if lo == 0 else f"is less than {_fmt(lo)}")
    if name == "greater_than":
        return each(f"is not greater than {_fmt(stats['min_value'])}")
    if name == "less_than_or_equal_to":
        return each(f"is greater than {_fmt(stats['max_value'])}")
    if name == "less_than":
        return each(f"is not less than {_fmt(stats['max_value'])}")
    if name == "equal_to":
        return each(f"is not {_fmt(stats['value'])}")
    if name == "not_equal_to":
        return each(f"must not be {_fmt(stats['value'])}")
    if name == "str_matches":
        return each(f"does not match the pattern {stats['pattern']}")
    return each(f"failed the check '{name}'")


def _text(value: Any) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return value.strftime("%Y-%m-%d")
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def _display(col: _Col, raw: pd.Series, typed: pd.Series) -> list[str]:
    if col.kind == "date":
        return [pd.Timestamp(v).strftime("%Y-%m-%d") for v in typed]
    if col.kind in ("int", "float", "bool"):
        return [_fmt(float(v)) for v in typed]
    return [f"'{_text(v)}'" for v in raw]


# --------------------------------------------------------------------------
# the step
# --------------------------------------------------------------------------
@dataclass
class _Flag:
    key: str  # name of the boolean column in the flagged table
    column: str
    check: str
    order: int  # position in the in-memory path's sequence of checks
    words: Any  # callable(frame of fetched rows) -> (values, messages)
    needs: tuple[str, ...]  # columns (raw and typed) the words need


def _schema_columns(schema: pa.DataFrameSchema, columns: list[str]):
    for name, col in schema.columns.items():
        if getattr(col, "regex", False):
            for match in columns:
                if re.fullmatch(str(name), match):
                    yield match, col
        else:
            yield name, col


def _check_columns(schema: pa.DataFrameSchema, columns: list[str]) -> None:
    missing = [
        str(n)
        for n, c in schema.columns.items()
        if c.required and not getattr(c, "regex", False) and n not in columns
    ]
    if missing:
        raise InputError(
            f"validate: the data lack required column(s) "
            f"{', '.join(repr(m) for m in missing)} of schema {schema.name!r}. "
            f"Columns found: {', '.join(map(repr, columns))}."
        )
    if schema.strict is True:
        extra = [c for c in columns if c not in schema.columns and c != ROW]
        if extra:
            raise InputError(
                f"validate: schema {schema.name!r} is strict and the data have "
                f"column(s) it does not define: {', '.join(map(repr, extra))}."
            )


def validate(
    table: Any,
    schema: SchemaLike,
    *,
    sites: list[str] | None = None,
    max_errors: int = 1000,
    source: str | None = None,
) -> EngineValidationResult:
    """Validate an engine table with the checks and words of :func:`ccdata.validate`.

    Parameters
    ----------
    table : ibis.Table
        From :func:`ccdata.engine.read_source` (it has the ``row`` column).
    schema : str, pandera.DataFrameSchema or DataFrameModel class
        The same schemas as the in-memory path.
    sites : list of str, optional
        The registered site list.
    max_errors : int, default 1000
        Rows of :attr:`~EngineValidationResult.errors` kept per column and
        check (the first in row order); every problem is still counted.
    source : str, optional
        The file read, recorded in the result.

    Returns
    -------
    EngineValidationResult

    Raises
    ------
    InputError
        A required column is absent, or the schema holds a custom check that
        the engine cannot run (only pandera's built-in checks and ccdata's
        ``date_order``/``not_greater_than`` are translated).
    EngineError, EngineMemoryError
        The engine failed (the message names the step and the size).

    Notes
    -----
    The checks, their order and their messages are those of
    :func:`ccdata.validate`: type, mandatory value, column checks, unique
    columns, DataFrame-level checks, the composite unique key. A value with a
    type problem is not checked further. Row numbers are the file's (see
    :func:`~ccdata.engine.read_source`). With fewer than ``max_errors``
    problems per check, :attr:`~EngineValidationResult.errors` equals the
    in-memory table row for row (tested).

    Examples
    --------
    >>> from ccdata.engine import connect, read_source
    >>> df = pd.DataFrame({"site_id": ["S01", "S02"], "period": ["2024", "2024"],
    ...                    "observed": ["3", "-1"], "expected": ["2.5", "4"]})
    >>> res = validate(read_source(connect(), df), "observed_expected")
    >>> res.n_valid, res.n_rejected, res.errors["message"].tolist()
    (1, 1, ['observed -1 is negative'])
    """
    import ibis

    source_table = table
    if not isinstance(table, ibis.Table):
        raise InputError(
            f"ccdata.engine.validate needs an Ibis table (see read_source). Got "
            f"{type(table).__name__} instead."
        )
    if ROW not in table.columns:
        raise InputError(
            f"ccdata.engine.validate: the table has no {ROW!r} column; read it "
            "with ccdata.engine.read_source."
        )
    if int(max_errors) != max_errors or max_errors < 1:
        raise InputError(
            "The 'max_errors' parameter must be a whole number >= 1. "
            f"Got {max_errors!r}."
        )
    schema_obj = get_schema(schema, sites=sites)
    columns = [c for c in table.columns if c != ROW]
    _check_columns(schema_obj, columns)

    cols: dict[str, _Col] = {}
    flags: list[_Flag] = []
    exprs: dict[str, Any] = {}
    order = 0

    def add(expr, column, check, words, needs) -> None:
        nonlocal order
        key = f"_f{len(flags)}"
        exprs[key] = expr.fill_null(False)
        flags.append(_Flag(key, column, check, order, words, tuple(needs)))
        order += 1

    uniques: list[tuple[list[str], int]] = []
    specs = list(_schema_columns(schema_obj, columns))
    # stage 1: coerce once; every check then refers to these columns
    staged = {}
    for name, spec in specs:
        col = _coerce(table, name, _kind(spec.dtype))
        staged[f"_t_{name}"] = col.typed
        staged[f"_b_{name}"] = col.bad
        staged[f"_m_{name}"] = col.missing
        cols[name] = col
    table = view(table.mutate(**staged), "coerced")
    for name, col in cols.items():
        col.raw, col.typed = table[name], table[f"_t_{name}"]
        col.bad, col.missing = table[f"_b_{name}"], table[f"_m_{name}"]
    for name, spec in specs:
        kind = cols[name].kind
        col = cols[name]
        if kind in TYPE_WORDS:
            add(col.bad, name, "type", _type_words(col), [name])
        else:
            order += 1
        if not spec.nullable:
            add(col.missing, name, "required", _required_words(col), [])
        for check in spec.checks:
            passed = _passed(check, col)
            if passed is None:
                raise InputError(
                    f"ccdata.engine.validate: the check {check.name!r} on column "
                    f"{name!r} is a custom function, which the engine cannot run. "
                    "Validate this schema in memory (ccdata.validate), or express "
                    "the rule with pandera's built-in checks."
                )
            failed = ~passed.fill_null(True) & ~col.bad
            if check.ignore_na:
                failed = failed & ~col.missing
            add(failed, name, check.name, _check_words(check, col), [name])
        if spec.unique:
            uniques.append(([name], order))
            order += 1

    for check in schema_obj.checks:
        failed, involved, check_name, words, needs = _frame_check(check, cols)
        for c in involved:
            add(failed, c, check_name, words(c), needs)
    if schema_obj.unique:
        uniques.append(([k for k in key_columns(schema_obj) if k in cols], order))
        order += 1

    site_col = site_column(schema_obj)
    flagged = table.mutate(**exprs)
    dup_keys = []
    for keys, u_order in uniques:
        if not keys:
            continue
        dup = _duplicates(flagged, keys)
        key = f"_f{len(flags)}"
        dup_keys.append((keys, dup, key, u_order))
        flagged = _join_dup(flagged, dup, keys, key)
        for k in keys:
            flags.append(_Flag(key, k, "unique", u_order, None, (k,)))
    any_bad = ibis.literal(False)
    for key in dict.fromkeys(f.key for f in flags):
        any_bad = any_bad | flagged[key]
    flagged = view(flagged.mutate(_bad=any_bad), "flagged")

    n_rows = guard(
        "validate (counting records)", lambda: int(source_table.count().execute())
    )
    # Rejected rows are few in a usable submission: collect them once in the
    # engine (a temporary table, spilled to disk by DuckDB when large), then
    # count and list problems from there instead of rescanning the input.
    bad = guard(
        "validate (collecting rejected rows)",
        lambda: materialize(flagged.filter(flagged._bad), "rejected"),
        size=n_rows,
    )
    sums = {f.key: bad[f.key].cast("int64").sum() for f in flags}
    sums["_rejected"] = bad.count()
    totals = guard(
        "validate (counting problems)",
        lambda: bad.aggregate(**sums).to_pandas().iloc[0],
        size=n_rows,
    )
    n_rejected = int(0 if pd.isna(totals["_rejected"]) else totals["_rejected"])

    pieces = []
    count_rows = []
    for f in flags:
        total = int(0 if pd.isna(totals[f.key]) else totals[f.key])
        if not total:
            continue
        if f.check == "unique":
            continue
        pieces.append(_fetch(bad, f, cols, site_col, max_errors, n_rows))
        count_rows.append((f.column, f.check, total, len(pieces[-1])))
    for keys, _dup, key, u_order in dup_keys:
        total = int(0 if pd.isna(totals[key]) else totals[key])
        if not total:
            continue
        got = _unique_rows(bad, keys, cols, site_col, max_errors, key, u_order)
        pieces.append(got)
        for k in keys:
            count_rows.append((k, "unique", total, int((got["column"] == k).sum())))
    errors = _assemble(pieces, list(cols))
    counts = pd.DataFrame(count_rows, columns=["column", "check", "problems", "shown"])
    counts = counts.astype({"problems": "int64", "shown": "int64"})

    keep = [*columns, ROW]
    # The valid rows: the input, coerced, without the (few, materialised)
    # rejected rows. An anti-join on the row number, so that using them does
    # not run every check (and the unique-key aggregation) again.
    kinds = {name: c.kind for name, c in cols.items()}
    coerced = source_table.select(
        **{
            c: (
                _coerce(source_table, c, kinds[c]).typed
                if c in cols
                else source_table[c]
            )
            for c in keep
        }
    )
    bad_rows = bad.select(_bad_row=bad[ROW])
    valid = coerced.anti_join(bad_rows, coerced[ROW] == bad_rows._bad_row)
    rejected = bad.select(*keep)
    return EngineValidationResult(
        valid=valid,
        rejected=rejected,
        errors=errors,
        counts=counts,
        n_rows=n_rows,
        n_valid=n_rows - n_rejected,
        n_rejected=n_rejected,
        schema=str(schema_obj.name),
        source=source,
        identifier_columns=tuple(identifier_columns(schema_obj)),
    )


def _type_words(col: _Col):
    def words(frame: pd.DataFrame):
        values = [_text(v) for v in frame[col.name]]
        return values, [f"{col.name} '{v}' {TYPE_WORDS[col.kind]}" for v in values]

    return words


def _required_words(col: _Col):
    def words(frame: pd.DataFrame):
        n = len(frame)
        return [""] * n, [f"{col.name} is empty but required"] * n

    return words


def _check_words(check: pa.Check, col: _Col):
    def words(frame: pd.DataFrame):
        values = [_text(v) for v in frame[col.name]]
        disp = _display(col, frame[col.name], frame[f"_t_{col.name}"])
        return values, _words(check, col, disp)

    return words


def _frame_check(check: pa.Check, cols: dict[str, _Col]):
    stats = check.statistics or {}
    pairs = {
        "date_order": ("earlier", "later"),
        "not_greater_than": ("smaller", "larger"),
    }
    pair = pairs.get(str(check.name))
    if not (pair and set(pair) <= stats.keys() and all(stats[p] in cols for p in pair)):
        raise InputError(
            f"ccdata.engine.validate: the DataFrame check {check.name!r} is a custom "
            "function, which the engine cannot run. Validate this schema in memory "
            "(ccdata.validate)."
        )
    a, b = cols[stats[pair[0]]], cols[stats[pair[1]]]
    failed = a.typed.notnull() & b.typed.notnull() & (a.typed > b.typed)
    involved = [c for c in stats.get("columns", []) if c in cols] or [a.name, b.name]
    for c in involved:
        failed = failed & ~cols[c].bad

    def words_for(column: str):
        def words(frame: pd.DataFrame):
            da = _display(a, frame[a.name], frame[f"_t_{a.name}"])
            db = _display(b, frame[b.name], frame[f"_t_{b.name}"])
            if check.name == "date_order":
                msgs = [
                    f"{b.name} {y} is before {a.name} {x}"
                    for x, y in zip(da, db, strict=True)
                ]
            else:
                msgs = [
                    f"{a.name} {x} is greater than {b.name} {y}"
                    for x, y in zip(da, db, strict=True)
                ]
            return [_text(v) for v in frame[column]], msgs

        return words

    return failed, involved, check.name, words_for, (*involved, a.name, b.name)


def _duplicates(flagged, keys):
    # typed values are NULL when missing or unreadable: those never collide
    ok = None
    for k in keys:
        this = flagged[f"_t_{k}"].notnull()
        ok = this if ok is None else ok & this
    # Two steps, both exact: group by a 64-bit hash of the key (a hash table
    # of integers, not of 50 million strings), then count the exact keys of
    # the few rows whose hash occurs more than once (a hash collision only
    # adds a candidate; the exact count decides).
    h = None
    for k in keys:
        hk = flagged[f"_t_{k}"].hash()
        h = hk if h is None else h ^ hk
    sub = flagged.filter(ok).mutate(_dup_h=h)
    cand = (
        sub.group_by("_dup_h")
        .aggregate(_dup_c=sub.count())
        .filter(lambda t: t._dup_c > 1)
        .select(_dup_hc="_dup_h")
    )
    sub = sub.semi_join(cand, sub._dup_h == cand._dup_hc)
    return (
        sub.group_by([sub[f"_t_{k}"] for k in keys])
        .aggregate(_dup_n=sub.count())
        .filter(lambda t: t._dup_n > 1)
    )


def _join_dup(flagged, dup, keys, key):
    names = [f"_t_{k}" for k in keys]
    renamed = dup.rename({f"_d_{n}": n for n in names})
    pred = [flagged[n] == renamed[f"_d_{n}"] for n in names]
    joined = flagged.left_join(renamed, pred)
    joined = joined.mutate(**{key: joined._dup_n.notnull()})
    return joined.drop(*[f"_d_{n}" for n in names], "_dup_n")


def _fetch(flagged, f: _Flag, cols, site_col, cap, n_rows) -> pd.DataFrame:
    needs = [ROW]
    for c in (*f.needs, site_col):
        if c in cols:
            needs += [c, f"_t_{c}"]
    needs = list(dict.fromkeys(needs))
    rows = guard(
        f"validate (listing {f.check} problems of {f.column})",
        lambda: (
            flagged.filter(flagged[f.key])
            .order_by(ROW)
            .limit(cap)
            .select(*needs)
            .to_pandas()
        ),
        size=n_rows,
    )
    values, messages = f.words(rows)
    return _piece(rows, f.column, f.check, f.order, values, messages, site_col)


def _piece(rows, column, check, order, values, messages, site_col) -> pd.DataFrame:
    site = (
        rows[f"_t_{site_col}"]
        if f"_t_{site_col}" in rows
        else pd.Series([None] * len(rows))
    )
    return pd.DataFrame(
        {
            "site_id": [None if s is None or pd.isna(s) else str(s) for s in site],
            "row": rows[ROW].to_numpy(dtype=np.int64),
            "column": column,
            "value": list(values),
            "check": check,
            "message": list(messages),
            "_o": order,
        }
    )


def _row_list(rows: np.ndarray, n: int) -> str:
    rows = np.sort(rows)
    text = ", ".join(str(r) for r in rows[:MAX_ROWS_LISTED])
    if n > MAX_ROWS_LISTED:
        text += f" and {n - MAX_ROWS_LISTED} more"
    return text


def _unique_rows(flagged, keys, cols, site_col, cap, key, order) -> pd.DataFrame:
    import ibis

    names = [f"_t_{k}" for k in keys]
    wanted = [ROW, *names, *keys]
    if site_col in cols:
        wanted.append(f"_t_{site_col}")
    wanted = list(dict.fromkeys(wanted))
    first = guard(
        "validate (listing duplicated keys)",
        lambda: (
            flagged.filter(flagged[key])
            .order_by(ROW)
            .limit(cap)
            .select(*wanted)
            .to_pandas()
        ),
    )
    # every duplicated key shown: its count and its first rows
    keyframe = first[names].drop_duplicates().reset_index(drop=True)
    mt = ibis.memtable(keyframe.rename(columns={n: f"_k_{n}" for n in names}))
    sub = flagged.filter(flagged[key])
    joined = sub.inner_join(mt, [sub[n] == mt[f"_k_{n}"] for n in names])
    w = ibis.window(group_by=[joined[n] for n in names], order_by=joined[ROW])
    numbered = joined.mutate(_nth=ibis.row_number().over(w)).filter(
        lambda t: t._nth < MAX_ROWS_LISTED
    )
    listed = guard(
        "validate (rows of duplicated keys)",
        lambda: numbered.select(ROW, *names).to_pandas(),
    )
    dup_counts = guard(
        "validate (duplicated key counts)",
        lambda: (
            joined.group_by([joined[n] for n in names])
            .aggregate(_dup_n=joined.count())
            .to_pandas()
        ),
    )
    info = {}
    for kv, grp in listed.groupby(names, sort=False, dropna=False):
        info[kv if isinstance(kv, tuple) else (kv,)] = grp[ROW].to_numpy()
    totals = {
        tuple(r[n] for n in names): int(r["_dup_n"]) for _, r in dup_counts.iterrows()
    }
    texts = {k: [_text(v) for v in first[k]] for k in keys}
    msgs = []
    for i in range(len(first)):
        kv = tuple(first[n].iloc[i] for n in names)
        n_times = totals[kv]
        rl = _row_list(info[kv], n_times)
        if len(keys) == 1:
            msgs.append(
                f"{keys[0]} {texts[keys[0]][i]} appears {n_times} times (rows {rl})"
            )
        else:
            text = ", ".join(f"{k} {texts[k][i]}" for k in keys)
            msgs.append(f"the key {text} appears {n_times} times (rows {rl})")
    return pd.concat(
        [_piece(first, k, "unique", order, texts[k], msgs, site_col) for k in keys],
        ignore_index=True,
    )


def _assemble(pieces: list[pd.DataFrame], col_order: list[str]) -> pd.DataFrame:
    if pieces:
        errors = pd.concat(pieces, ignore_index=True)
    else:
        errors = pd.DataFrame({c: [] for c in [*ERROR_COLUMNS, "_o"]})
    order = {name: i for i, name in enumerate(col_order)}
    errors["_c"] = errors["column"].map(order).fillna(len(order))
    errors = (
        errors.sort_values(
            ["site_id", "row", "_c", "_o"], na_position="last", kind="stable"
        )
        .drop(columns=["_c", "_o"])
        .reset_index(drop=True)
    )
    out = pd.DataFrame(
        {
            "site_id": text_array(errors["site_id"].to_numpy(dtype=object)),
            "row": errors["row"].to_numpy(dtype=np.int64),
            "column": text_array(errors["column"].to_numpy(dtype=object)),
            "value": text_array(errors["value"].to_numpy(dtype=object)),
            "check": text_array(errors["check"].to_numpy(dtype=object)),
            "message": text_array(errors["message"].to_numpy(dtype=object)),
        }
    )
    return out
