"""Explain: word pandera's failure cases as ccdata's problems."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from ccdata.validation._parse import fmt_number

__all__: list[str] = []

ROW_COLUMN = "(row)"
INDEX_COLUMN = "(index)"
MAX_ROWS_LISTED = 10

# The order of one row's problems under one column (docs/validation.md, "The
# order of the problems"): ccdata's own text rules first, then pandera's
# verdicts in the schema's order, whatever order pandera lists them in.
RANK_TYPE = 0
RANK_REQUIRED = 1
RANK_UNIQUE = 2  # the column's own ``unique``
RANK_KEY = 3  # the schema's composite ``unique`` key
RANK_COLUMN_CHECK = 10  # + the check's position in the column's (or index's) checks
RANK_FRAME_CHECK = 1_000_000  # + the check's position in the schema's checks
RANK_OTHER = 2_000_000  # a failure without a check of its own (dtype, ...)


class Problems:
    """Collects problems as arrays of row positions with their words."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.chunks: list[dict[str, Any]] = []

    def add(self, positions, column, check, values, messages, *, rank: int) -> None:
        """Add problems at row ``positions`` (-1: not at a row).

        ``rank`` orders a row's problems under one column (the ``RANK_*``
        constants): the order of :attr:`ValidationResult.errors` never depends
        on the order in which they were found.
        """
        positions = np.asarray(positions, dtype=np.int64)
        if len(positions):
            self.chunks.append(
                {
                    "pos": positions,
                    "column": column,
                    "check": check,
                    "rank": int(rank),
                    "value": np.asarray(values, dtype=object),
                    "message": np.asarray(messages, dtype=object),
                }
            )

    def frame(self) -> pd.DataFrame:
        """Return all problems (deduplicated).

        Columns pos, column, value, check, message and rank.
        """
        if not self.chunks:
            return pd.DataFrame(
                {
                    "pos": np.zeros(0, dtype=np.int64),
                    "column": [],
                    "value": [],
                    "check": [],
                    "message": [],
                    "rank": np.zeros(0, dtype=np.int64),
                }
            )
        lengths = [len(c["pos"]) for c in self.chunks]
        table = pd.DataFrame(
            {
                "pos": np.concatenate([c["pos"] for c in self.chunks]),
                "column": np.repeat(
                    np.array([c["column"] for c in self.chunks], dtype=object), lengths
                ),
                "value": np.concatenate([c["value"] for c in self.chunks]),
                "check": np.repeat(
                    np.array([c["check"] for c in self.chunks], dtype=object), lengths
                ),
                "message": np.concatenate([c["message"] for c in self.chunks]),
                "rank": np.repeat(
                    np.array([c["rank"] for c in self.chunks], dtype=np.int64), lengths
                ),
            }
        )
        keyed = table[table["pos"] >= 0]
        dup = keyed.duplicated(["pos", "column", "check", "message"])
        if dup.any():
            table = table.drop(index=keyed.index[dup.to_numpy()])
        return table


def row_list(rows: np.ndarray) -> str:
    rows = np.sort(rows)
    text = ", ".join(str(r) for r in rows[:MAX_ROWS_LISTED])
    if len(rows) > MAX_ROWS_LISTED:
        text += f" and {len(rows) - MAX_ROWS_LISTED} more"
    return text


def is_default_error(check: pa.Check) -> bool:
    """Tell whether ``check.error`` is pandera's default (e.g. 'in_range(18, 110)')."""
    return not check.error or str(check.error).startswith(f"{check.name}(")


def _fmt(value: Any, quote: bool) -> str:
    return f"'{value}'" if quote and isinstance(value, str) else fmt_number(value)


def _bounds(stats: dict) -> str:
    lo, hi = fmt_number(stats["min_value"]), fmt_number(stats["max_value"])
    inc_lo, inc_hi = stats.get("include_min", True), stats.get("include_max", True)
    if inc_lo and inc_hi:
        return f"is outside {lo}-{hi}"
    low = f"at least {lo}" if inc_lo else f"greater than {lo}"
    high = f"at most {hi}" if inc_hi else f"less than {hi}"
    return f"is not {low} and {high}"


def check_words(check: pa.Check, quote: bool) -> str:
    """Say what a failing value 'is', for a built-in check, naming its parameters."""
    name, stats = check.name, check.statistics or {}
    if name == "registered_site":
        return "is not in the registered site list"
    if not is_default_error(check):
        return str(check.error)
    if name == "in_range":
        return _bounds(stats)
    if name == "isin":
        allowed = ", ".join(_fmt(v, quote) for v in stats["allowed_values"])
        return f"is not one of {allowed}"
    if name == "notin":
        banned = ", ".join(_fmt(v, quote) for v in stats["forbidden_values"])
        return f"is one of the values not allowed ({banned})"
    if name == "greater_than_or_equal_to":
        lo = stats["min_value"]
        return "is negative" if lo == 0 else f"is less than {fmt_number(lo)}"
    if name == "greater_than":
        return f"is not greater than {fmt_number(stats['min_value'])}"
    if name == "less_than_or_equal_to":
        return f"is greater than {fmt_number(stats['max_value'])}"
    if name == "less_than":
        return f"is not less than {fmt_number(stats['max_value'])}"
    if name == "equal_to":
        return f"is not {_fmt(stats['value'], quote)}"
    if name == "not_equal_to":
        return f"must not be {_fmt(stats['value'], quote)}"
    if name == "str_matches":
        return f"does not match the pattern {stats['pattern']}"
    if name == "str_contains":
        return f"does not contain the pattern {stats['pattern']}"
    if name == "str_startswith":
        return f"does not start with '{stats['string']}'"
    if name == "str_endswith":
        return f"does not end with '{stats['string']}'"
    if name == "str_length":
        exact, lo, hi = (
            stats.get("exact_value"),
            stats.get("min_value"),
            stats.get("max_value"),
        )
        if exact is not None:
            return f"is not exactly {exact} characters long"
        if lo is not None and hi is not None:
            return f"is not {lo} to {hi} characters long"
        if lo is not None:
            return f"is shorter than {lo} characters"
        return f"is longer than {hi} characters"
    if name == "unique_values_eq":
        return "is not one of the expected values"
    return f"failed the check '{name}'"


def column_messages(
    check: pa.Check, column: str, disp: list[str], quote: bool
) -> list[str]:
    """Plain-English messages for the failing values ``disp`` of a column check."""
    if not is_default_error(check) and check.name != "registered_site":
        template = str(check.error)
        if "{value}" in template or "{column}" in template:
            return [
                template.replace("{column}", column).replace("{value}", d) for d in disp
            ]
    words = check_words(check, quote)
    return [f"{column} {d} {words}" for d in disp]


def frame_messages(
    check: pa.Check, columns: list[str], disp: dict[str, list[str]], n: int
) -> list[str]:
    """Messages for the failing rows of a DataFrame-level check."""
    stats = check.statistics or {}
    template = stats.get("message")
    if isinstance(template, str) and columns and all(c in disp for c in columns):
        # the template split once into text and {cJ}/{vJ} fields; values are
        # never parsed as templates themselves
        parts = re.split(r"(\{[cv]\d+\})", template)
        pieces: list[Any] = []
        for part in parts:
            m = re.fullmatch(r"\{([cv])(\d+)\}", part)
            j = int(m.group(2)) if m else -1
            if m and j < len(columns):
                pieces.append(columns[j] if m.group(1) == "c" else disp[columns[j]])
            else:
                pieces.append(part)
        return [
            "".join(p if isinstance(p, str) else p[i] for p in pieces) for i in range(n)
        ]
    if not is_default_error(check):
        return [str(check.error)] * n
    return [f"the row failed the check '{check.name}'"] * n
