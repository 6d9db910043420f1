"""Run a schema's checks on coerced columns and word the problems found."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ccdata.errors import InputError
from ccdata.validation._coerce import Column, display, fmt_number, raw_text

__all__: list[str] = []

ROW_COLUMN = "(row)"
MAX_ROWS_LISTED = 10

# pandera's built-in checks that test each value on its own: they can be run
# on the distinct values of a column and expanded back.
ELEMENTWISE = frozenset(
    {
        "in_range", "isin", "notin", "greater_than", "greater_than_or_equal_to",
        "less_than", "less_than_or_equal_to", "equal_to", "not_equal_to",
        "str_matches", "str_contains", "str_startswith", "str_endswith",
        "str_length", "registered_site",
    }
)


class Problems:
    """Collects problems as arrays of row positions with their words."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.chunks: list[dict[str, Any]] = []

    def add(self, positions, column, check, values, messages) -> None:
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions):
            self.chunks.append(
                {
                    "pos": positions,
                    "column": column,
                    "check": check,
                    "value": np.asarray(values, dtype=object),
                    "message": np.asarray(messages, dtype=object),
                }
            )

    def frame(self) -> pd.DataFrame:
        """All problems as a table with columns pos, column, value, check, message."""
        if not self.chunks:
            return pd.DataFrame(
                {"pos": np.zeros(0, dtype=np.int64), "column": [], "value": [],
                 "check": [], "message": []}
            )
        lengths = [len(c["pos"]) for c in self.chunks]
        return pd.DataFrame(
            {
                "pos": np.concatenate([c["pos"] for c in self.chunks]),
                "column": np.repeat([c["column"] for c in self.chunks], lengths),
                "value": np.concatenate([c["value"] for c in self.chunks]),
                "check": np.repeat([c["check"] for c in self.chunks], lengths),
                "message": np.concatenate([c["message"] for c in self.chunks]),
            }
        )


def _row_list(rows: np.ndarray) -> str:
    rows = np.sort(rows)
    text = ", ".join(str(r) for r in rows[:MAX_ROWS_LISTED])
    if len(rows) > MAX_ROWS_LISTED:
        text += f" and {len(rows) - MAX_ROWS_LISTED} more"
    return text


def is_default_error(check: pa.Check) -> bool:
    """True when ``check.error`` is pandera's default (e.g. 'in_range(18, 110)')."""
    return not check.error or str(check.error).startswith(f"{check.name}(")


def check_messages(check: pa.Check, col: Column, disp: np.ndarray) -> list[str]:
    """Plain-English messages for the failing values ``disp`` of a column check."""
    name, stats, c = check.name, check.statistics or {}, col.name
    quote = col.kind not in ("int", "float", "bool", "date")

    def each(suffix: str) -> list[str]:
        return [f"{c} {d} {suffix}" for d in disp]

    if name == "registered_site":
        return each("is not in the registered site list")
    if not is_default_error(check):
        template = str(check.error)
        if "{value}" in template or "{column}" in template:
            return [template.format(column=c, value=d) for d in disp]
        return each(template)
    if name == "in_range":
        lo, hi = fmt_number(stats["min_value"]), fmt_number(stats["max_value"])
        return each(f"is outside {lo}-{hi}")
    if name == "isin":
        allowed = [
            f"'{v}'" if quote else fmt_number(v) for v in stats["allowed_values"]
        ]
        return each(f"is not one of {', '.join(allowed)}")
    if name == "notin":
        return each("is not an allowed value")
    if name == "greater_than_or_equal_to":
        lo = stats["min_value"]
        return each("is negative" if lo == 0 else f"is less than {fmt_number(lo)}")
    if name == "greater_than":
        return each(f"is not greater than {fmt_number(stats['min_value'])}")
    if name == "less_than_or_equal_to":
        return each(f"is greater than {fmt_number(stats['max_value'])}")
    if name == "less_than":
        return each(f"is not less than {fmt_number(stats['max_value'])}")
    if name == "equal_to":
        return each(f"is not {fmt_number(stats['value'])}")
    if name == "not_equal_to":
        return each(f"must not be {fmt_number(stats['value'])}")
    if name == "str_matches":
        return each(f"does not match the pattern {stats['pattern']}")
    return each(f"failed the check '{name}'")


def run_check(check: pa.Check, obj: Any, n: int, where: str) -> np.ndarray | bool:
    """Run a pandera check; a boolean 'passed' array of length n, or one bool."""
    try:
        out = check(obj).check_output
    except Exception as exc:  # a user-supplied check that cannot run
        raise InputError(
            f"The check {check.name!r} on {where} could not be run: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if isinstance(out, pd.DataFrame):
        out = out.all(axis=1)
    if not isinstance(out, pd.Series):
        return bool(out)
    if len(out) != n or not out.index.equals(pd.RangeIndex(n)):
        out = out.reindex(pd.RangeIndex(n), fill_value=True)
    return out.to_numpy(dtype=bool, na_value=True)


def column_check(problems: Problems, check: pa.Check, col: Column) -> None:
    """Run one column check; record each failing value."""
    n = problems.n
    where = f"column {col.name!r}"
    if col.codes is not None and check.name in ELEMENTWISE and not check.groupby:
        passed_u = run_check(check, col.distinct, len(col.distinct), where)
        passed = passed_u if isinstance(passed_u, bool) else passed_u[col.codes]
    else:
        passed = run_check(check, col.values, n, where)
    if isinstance(passed, bool):
        if not passed:
            problems.add([-1], col.name, check.name, [""],
                         [f"column {col.name} failed the check '{check.name}'"])
        return
    failed = ~passed & ~col.bad
    if check.ignore_na:
        failed &= ~col.missing
    pos = np.flatnonzero(failed)
    if len(pos):
        problems.add(pos, col.name, check.name, raw_text(col.raw, pos),
                     check_messages(check, col, display(col, pos)))


def unique_problems(problems: Problems, cols: dict[str, Column], keys, rows) -> None:
    """Report every row whose key (one or more columns) appears more than once."""
    keys = [k for k in keys if k in cols]
    if not keys or problems.n == 0:
        return
    key = cols[keys[0]].key_codes()
    complete = key >= 0
    for k in keys[1:]:
        other = cols[k].key_codes()
        complete &= other >= 0
        key = pd.factorize(key.astype(np.int64) * (int(other.max()) + 2) + other)[0]
    key = np.where(complete, key, -1)
    counts = np.bincount(key[complete]) if complete.any() else np.zeros(0, dtype=int)
    dup = complete.copy()
    dup[complete] = counts[key[complete]] > 1
    if not dup.any():
        return
    pos = np.flatnonzero(dup)
    codes = pd.factorize(key[pos])[0]
    row_lists = pd.Series(rows[pos]).groupby(codes).agg(
        lambda r: _row_list(r.to_numpy())
    )
    n_times = np.bincount(codes)
    texts = {k: raw_text(cols[k].raw, pos) for k in keys}
    if len(keys) == 1:
        k = keys[0]
        msgs = [
            f"{k} {v} appears {n_times[g]} times (rows {row_lists[g]})"
            for v, g in zip(texts[k], codes, strict=True)
        ]
    else:
        msgs = []
        for i, g in enumerate(codes):
            text = ", ".join(f"{k} {texts[k][i]}" for k in keys)
            msgs.append(
                f"the key {text} appears {n_times[g]} times (rows {row_lists[g]})"
            )
    for k in keys:
        problems.add(pos, k, "unique", texts[k], msgs)


def _compare(cols: dict[str, Column], left: str, right: str) -> np.ndarray:
    """Rows where left > right (missing or unreadable values compare False)."""
    a, b = cols[left].values.to_numpy(), cols[right].values.to_numpy()
    if a.dtype.kind == "M" or b.dtype.kind == "M":
        a, b = a.astype("datetime64[ns]"), b.astype("datetime64[ns]")
        return ~np.isnat(a) & ~np.isnat(b) & (a > b)
    with np.errstate(invalid="ignore"):
        return np.asarray(a.astype("float64") > b.astype("float64"), dtype=bool)


def frame_check(problems: Problems, check: pa.Check, cols: dict[str, Column],
                frame: pd.DataFrame | None) -> None:
    """Run a DataFrame-level check; report failures under each column involved.

    ``frame`` is the coerced DataFrame, needed only for checks that ccdata
    does not know (it is built lazily by the caller).
    """
    stats = check.statistics or {}
    involved = [c for c in stats.get("columns", []) if c in cols]
    known = {
        "date_order": ("earlier", "later"),
        "not_greater_than": ("smaller", "larger"),
    }
    pair = known.get(check.name)
    if pair and set(pair) <= stats.keys() and all(stats[p] in cols for p in pair):
        a, b = cols[stats[pair[0]]], cols[stats[pair[1]]]
        failed = _compare(cols, a.name, b.name)
    else:
        if frame is None:
            raise InputError(f"The check {check.name!r} needs the data frame.")
        passed = run_check(check, frame, problems.n, where=f"schema {check.name!r}")
        if isinstance(passed, bool):
            if not passed:
                column = involved[0] if involved else ROW_COLUMN
                message = f"the data as a whole failed the check '{check.name}'"
                problems.add([-1], column, check.name, [""], [message])
            return
        failed = ~passed
        pair = None
    for c in involved:  # a type problem is reported already; do not repeat it
        failed &= ~cols[c].bad
    pos = np.flatnonzero(failed)
    if not len(pos):
        return
    if pair and check.name == "date_order":
        da, db = display(a, pos), display(b, pos)
        msgs = [
            f"{b.name} {y} is before {a.name} {x}" for x, y in zip(da, db, strict=True)
        ]
    elif pair:
        da, db = display(a, pos), display(b, pos)
        msgs = [f"{a.name} {x} is greater than {b.name} {y}"
                for x, y in zip(da, db, strict=True)]
    elif not is_default_error(check):
        msgs = [str(check.error)] * len(pos)
    else:
        msgs = [f"the row failed the check '{check.name}'"] * len(pos)
    for c in involved or [ROW_COLUMN]:
        vals = raw_text(cols[c].raw, pos) if c in cols else [""] * len(pos)
        problems.add(pos, c, check.name, vals, msgs)
