"""The expression language of ``derive`` in a batch configuration.

A configuration is data, never code. ``[sources.NAME] derive`` makes new
columns from a small language that ccdata parses and evaluates itself, on
whole numpy/pandas columns; no text from a configuration ever reaches
:func:`eval`, :meth:`pandas.DataFrame.eval` or :meth:`pandas.DataFrame.query`.

The language:

* column names (letters, digits and ``_``, not starting with a digit), numbers
  and quoted strings (``"1"``, for comparisons);
* ``+ - * /``, unary ``-``, parentheses;
* comparisons ``== != < <= > >=`` (chains such as ``0 < x < 5`` too);
* ``and``, ``or``, ``not`` (element-wise);
* the functions ``where(cond, a, b)``, ``isnull(x)``, ``notnull(x)``,
  ``clip(x, low, high)``, ``abs(x)``, ``min(a, b)``, ``max(a, b)``,
  ``round(x)`` / ``round(x, digits)``;
* ``true``, ``false``.

Anything else (attributes, subscripts, keywords, lambdas, ``**``, unknown
functions...) is an :class:`ExpressionError` when the configuration is read,
so ``ccdata config check`` rejects it before any data is touched. Python's
:mod:`ast` module is used only to *parse* the text into a tree; the tree is
walked by a whitelist and evaluated here, node by node.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ccdata.errors import ConfigError

__all__ = ["FUNCTIONS", "Expression", "evaluate", "parse_expression"]

#: Longest expression accepted (characters): guards the parser's recursion.
MAX_LENGTH = 500
#: Deepest nesting accepted.
MAX_DEPTH = 40


#: The error raised for a ``derive`` expression outside the language (every
#: error class lives in :mod:`ccdata.errors`).
ExpressionError = ConfigError


def _where(cond: Any, a: Any, b: Any) -> Any:
    return np.where(_as_bool(cond), a, b)


def _as_bool(x: Any) -> Any:
    if isinstance(x, pd.Series):
        return x.fillna(False).astype(bool)
    return np.asarray(x, dtype=bool) if not isinstance(x, bool) else x


def _isnull(x: Any) -> Any:
    return x.isna() if isinstance(x, pd.Series) else pd.isna(x)


def _notnull(x: Any) -> Any:
    return ~_isnull(x)


def _clip(x: Any, low: Any, high: Any) -> Any:
    return np.clip(x, low, high)


def _round(x: Any, digits: Any = 0) -> Any:
    if isinstance(digits, bool) or not isinstance(digits, (int, np.integer)):
        raise ExpressionError("round(x, digits): digits must be a whole number.")
    return np.round(x, int(digits))


#: Function name -> (implementation, minimum arguments, maximum arguments).
FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int]] = {
    "where": (_where, 3, 3),
    "isnull": (_isnull, 1, 1),
    "notnull": (_notnull, 1, 1),
    "clip": (_clip, 3, 3),
    "abs": (np.abs, 1, 1),
    "min": (np.minimum, 2, 2),
    "max": (np.maximum, 2, 2),
    "round": (_round, 1, 2),
}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_SYMBOL = {
    ast.Pow: "**",
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Invert: "~",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_CONSTANTS = {"true": True, "false": False}


@dataclass(frozen=True)
class Expression:
    """A parsed ``derive`` expression: its text, its tree and the columns it reads."""

    text: str
    tree: ast.Expression
    columns: tuple[str, ...]

    def evaluate(self, data: pd.DataFrame) -> pd.Series:
        """Evaluate on the columns of ``data``; see :func:`evaluate`."""
        return evaluate(self, data)


def _fail(text: str, why: str) -> ExpressionError:
    return ExpressionError(
        f"{text!r} is not a valid derive expression: {why}. "
        "Allowed: column names, numbers, + - * /, parentheses, "
        "comparisons, and/or/not, and the functions "
        f"{', '.join(sorted(FUNCTIONS))}."
    )


def _check(node: ast.AST, text: str, columns: list[str], depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise _fail(text, "it is nested too deeply")
    d = depth + 1
    if isinstance(node, ast.Expression):
        _check(node.body, text, columns, d)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(
            node.value, (int, float, str)
        ):
            raise _fail(text, f"the constant {node.value!r} is not a number or text")
    elif isinstance(node, ast.Name):
        if node.id not in _CONSTANTS and node.id not in columns:
            columns.append(node.id)
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise _fail(
                text, f"the operator {_SYMBOL.get(type(node.op), '?')!r} is not allowed"
            )
        _check(node.left, text, columns, d)
        _check(node.right, text, columns, d)
    elif isinstance(node, ast.UnaryOp):
        if not isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            raise _fail(
                text, f"the operator {_SYMBOL.get(type(node.op), '?')!r} is not allowed"
            )
        _check(node.operand, text, columns, d)
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, text, columns, d)
    elif isinstance(node, ast.Compare):
        for op in node.ops:
            if type(op) not in _CMPOPS:
                raise _fail(
                    text,
                    f"the comparison {_SYMBOL.get(type(op), '?')!r} is not allowed",
                )
        _check(node.left, text, columns, d)
        for c in node.comparators:
            _check(c, text, columns, d)
    elif isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise _fail(
                text, "only a named function can be called (no '.', no subscripts)"
            )
        if node.func.id not in FUNCTIONS:
            raise _fail(text, f"{node.func.id!r} is not one of the allowed functions")
        if node.keywords:
            raise _fail(text, "functions take positional arguments only")
        _, lo, hi = FUNCTIONS[node.func.id]
        if not lo <= len(node.args) <= hi:
            n = str(lo) if lo == hi else f"{lo} or {hi}"
            raise _fail(
                text, f"{node.func.id}() takes {n} argument(s), got {len(node.args)}"
            )
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise _fail(text, "'*' arguments are not allowed")
            _check(a, text, columns, d)
    else:
        raise _fail(text, f"{type(node).__name__.lower()} syntax is not allowed")


def parse_expression(text: str) -> Expression:
    """Parse a ``derive`` expression, refusing anything outside the language.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"attendances - breaches"``.

    Returns
    -------
    Expression
        With the column names it reads in ``columns``.

    Raises
    ------
    ConfigError
        For any construct outside the language (named in the message).

    Examples
    --------
    >>> parse_expression("where(age >= 75, 1, 0) + clip(x, 0, 1)").columns
    ('age', 'x')
    >>> parse_expression("x.__class__")
    Traceback (most recent call last):
    ...
    ccdata.errors.ConfigError: 'x.__class__' is not a valid derive ...
    """
    if not isinstance(text, str):
        raise ExpressionError(f"a derive expression must be text; got {text!r}.")
    if len(text) > MAX_LENGTH:
        raise _fail(text[:40] + "...", f"it is longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        msg = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        raise _fail(text, f"it cannot be parsed ({msg})") from None
    columns: list[str] = []
    _check(tree, text, columns)
    return Expression(text=text, tree=tree, columns=tuple(columns))


def _numeric(values: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return values
    num = pd.to_numeric(values, errors="coerce")
    # keep text columns as text (for comparisons with "1"); numbers as numbers
    return num if num.notna().sum() == values.notna().sum() else values


def _eval(node: ast.AST, data: Mapping[str, Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body, data)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        return data[node.id]
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, data), _eval(node.right, data))
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, data)
        if isinstance(node.op, ast.Not):
            return ~_as_bool(v) if not isinstance(v, bool) else not v
        return -v if isinstance(node.op, ast.USub) else +v
    if isinstance(node, ast.BoolOp):
        vals = [_as_bool(_eval(v, data)) for v in node.values]
        out = vals[0]
        for v in vals[1:]:
            out = (out & v) if isinstance(node.op, ast.And) else (out | v)
        return out
    if isinstance(node, ast.Compare):
        left = _eval(node.left, data)
        out = None
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _eval(comp, data)
            part = _CMPOPS[type(op)](left, right)
            out = part if out is None else (_as_bool(out) & _as_bool(part))
            left = right
        return out
    if isinstance(node, ast.Call):
        func = FUNCTIONS[node.func.id][0]  # type: ignore[attr-defined]
        return func(*(_eval(a, data) for a in node.args))
    raise _fail(ast.unparse(node), "unexpected syntax")  # pragma: no cover


def evaluate(expr: Expression | str, data: pd.DataFrame) -> pd.Series:
    """Evaluate a ``derive`` expression on the columns of ``data``.

    Text columns whose every value is a number are used as numbers.

    Parameters
    ----------
    expr : Expression or str
        A parsed expression or its text (parsed first).
    data : DataFrame

    Returns
    -------
    Series
        Aligned with ``data``'s index.

    Raises
    ------
    ConfigError
        If the expression is invalid or reads a column ``data`` lacks.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [10, 20], "b": ["3", "4"]})
    >>> evaluate("a - b", df).tolist()
    [7, 16]
    >>> evaluate("where(a > 15 and not isnull(b), 1, 0)", df).tolist()
    [0, 1]
    """
    if isinstance(expr, str):
        expr = parse_expression(expr)
    missing = [c for c in expr.columns if c not in data.columns]
    if missing:
        raise ExpressionError(
            f"derive expression {expr.text!r} reads column(s) {missing!r} not in "
            f"the data; columns are {list(map(str, data.columns))!r}."
        )
    cols = {c: _numeric(data[c]) for c in expr.columns}
    with np.errstate(divide="ignore", invalid="ignore"):
        try:
            value = _eval(expr.tree, cols)
        except ExpressionError:
            raise
        except (TypeError, ValueError, ArithmeticError) as exc:
            raise ExpressionError(
                f"derive expression {expr.text!r} cannot be computed on this data "
                f"({type(exc).__name__}: {exc})."
            ) from None
    if isinstance(value, pd.Series):
        return value.reindex(data.index)
    arr = np.asarray(value)
    if arr.ndim == 0:
        return pd.Series(np.repeat(arr, len(data)), index=data.index)
    return pd.Series(arr, index=data.index)
