"""Risk models fitted, applied and summarised by the engine.

The logistic likelihood is maximised by the same Fisher scoring as
:func:`ccdata.fit_risk_model`, but each iteration is one engine aggregation:
the p x p information ``X'WX``, the score ``X'(y - p)`` and the deviance are
sums over patients, so only ``p(p+3)/2 + 1`` numbers per iteration leave the
engine. The design columns are written as engine expressions from patsy's own
column names (treatment coding), so names, order and estimates are those of
the in-memory fit.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import tokenize
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import linalg, special, stats

from ccdata._intervals import garwood_interval
from ccdata._params import check_levels, level_suffix
from ccdata.engine._source import ROW, guard, materialize, strip, view
from ccdata.errors import InputError, RiskWarning, SeparationWarning
from ccdata.risk import (
    HosmerLemeshow,
    ObservedExpectedResult,
    PooledObservedExpected,
    RiskDiagnostics,
    RiskModel,
)
from ccdata.risk.diagnostics import risk_group_cuts, risk_group_order_statistics

__all__ = ["cusum_inputs", "fit_risk_model", "observed_expected", "predict"]

#: Rows of the warm-start sample of a large fit.
SAMPLE_ROWS = 200_000
_LEVEL = re.compile(r"^(?P<code>.+)\[(?P<level>[^\[\]]*)\]$")
_FUNCS = {"log": "ln", "log1p": None, "exp": "exp", "sqrt": "sqrt", "abs": "abs"}


# ---------------------------------------------------------------------------
# formula terms -> engine expressions
# ---------------------------------------------------------------------------
def _names(expr: str) -> list[str]:
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(expr).readline):
            if tok.type == tokenize.NAME and tok.string not in out:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError) as exc:
        raise InputError(f"Cannot read the formula {expr!r}: {exc}.") from exc
    return out


def _split_interaction(name: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(name):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == ":" and depth == 0:
            parts.append(name[start:i])
            start = i + 1
    parts.append(name[start:])
    return parts


def _numeric(node: ast.AST, table, where: str):
    """Turn a restricted arithmetic AST into an engine expression (never code)."""
    if isinstance(node, ast.Expression):
        return _numeric(node.body, table, where)
    if isinstance(node, ast.Name):
        if node.id not in table.columns:
            raise InputError(f"{where}: the term names {node.id!r}, not a column.")
        return table[node.id].cast("float64")
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _numeric(node.operand, table, where)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.BinOp):
        a, b = _numeric(node.left, table, where), _numeric(node.right, table, where)
        ops = {
            ast.Add: lambda: a + b,
            ast.Sub: lambda: a - b,
            ast.Mult: lambda: a * b,
            ast.Div: lambda: a / b,
            ast.Pow: lambda: a**b,
        }
        if type(node.op) in ops:
            return ops[type(node.op)]()
    if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords:
        f = node.func
        if isinstance(f, ast.Name) and f.id == "I":
            return _numeric(node.args[0], table, where)
        if (
            isinstance(f, ast.Attribute)
            and isinstance(f.value, ast.Name)
            and f.value.id == "np"
            and f.attr in _FUNCS
        ):
            x = _numeric(node.args[0], table, where)
            if f.attr == "log1p":
                return (x + 1.0).ln()
            return getattr(x, str(_FUNCS[f.attr]))()
    raise InputError(
        f"{where}: the term {ast.unparse(node)!r} cannot run on an engine; use "
        "columns, numbers, + - * / **, I(...), C(column) and np.log/np.exp/"
        "np.sqrt/np.log1p/np.abs."
    )


def _categorical_column(code: str, table, where: str) -> str:
    code = code.strip()
    if code in table.columns:
        return code
    tree = ast.parse(code, mode="eval").body
    if (
        isinstance(tree, ast.Call)
        and isinstance(tree.func, ast.Name)
        and tree.func.id == "C"
        and tree.args
        and isinstance(tree.args[0], ast.Name)
        and tree.args[0].id in table.columns
    ):
        return tree.args[0].id
    raise InputError(
        f"{where}: the categorical term {code!r} cannot run on an engine; write "
        "a text column or C(column)."
    )


def term_expression(name: str, table, *, where: str):
    """Engine expression of one design column, from its patsy name.

    ``Intercept``; ``col[T.level]``, ``C(col)[T.level]`` or ``col[level]``
    (an indicator); a numeric expression (``age``, ``np.log(x)``,
    ``I(age - 70)``); and their interactions joined by ``:``.
    """
    import ibis

    if name == "Intercept":
        # an integer cast to DOUBLE: a bare 1.0 would be a SQL DECIMAL, and
        # DECIMAL x DECIMAL rounds the linear predictor
        return ibis.literal(1, type="int64").cast("float64")
    out = None
    for part in _split_interaction(name):
        m = _LEVEL.match(part)
        if m:
            col = _categorical_column(m.group("code"), table, where)
            level = m.group("level")
            level = level[2:] if level.startswith("T.") else level
            column = table[col]
            if column.type().is_numeric():
                try:
                    value: Any = float(level)
                except ValueError as exc:
                    raise InputError(
                        f"{where}: term {name!r}: column {col!r} is numeric but the "
                        f"level {level!r} is not a number."
                    ) from exc
                expr = column.cast("float64") == value
            else:
                expr = column == level
            expr = expr.cast("float64")
        else:
            try:
                node = ast.parse(part.strip(), mode="eval")
            except SyntaxError as exc:
                raise InputError(f"{where}: cannot read the term {part!r}.") from exc
            expr = _numeric(node, table, where)
            if isinstance(expr, float):
                expr = ibis.literal(1, type="int64").cast("float64") * expr
        out = expr if out is None else out * expr
    return out


def _prototype(table, columns: list[str], categorical: dict[str, list]) -> dict:
    """Build a two-or-more-row stand-in holding every level, for patsy's DesignInfo."""
    n = max([2, *(len(v) for v in categorical.values())])
    out: dict[str, Any] = {}
    for c in columns:
        if c in categorical:
            levels = categorical[c]
            out[c] = pd.Categorical(
                [levels[i % len(levels)] for i in range(n)], categories=levels
            )
        else:
            out[c] = np.linspace(1.0, 2.0, n)
    return out


def _design_names(rhs: str, proto: dict) -> list[str]:
    import patsy
    from patsy.builtins import C

    def categorical(data, contrast=None, levels=None):
        if (
            contrast is None
            and levels is None
            and isinstance(getattr(data, "dtype", None), pd.CategoricalDtype)
        ):
            return data
        return C(data, contrast, levels)

    try:
        x = patsy.dmatrix(
            rhs, proto, eval_env=patsy.EvalEnvironment([{"np": np, "C": categorical}])
        )
    except patsy.PatsyError as exc:
        raise InputError(
            f"fit_risk_model: cannot build the model {rhs!r}: {exc}"
        ) from exc
    return list(x.design_info.column_names)


# ---------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------
def _rhs(outcome: str, covariates, formula) -> str:
    if (covariates is None) == (formula is None):
        raise InputError(
            "fit_risk_model needs exactly one of 'covariates' (a list of columns "
            f"or patsy terms) and 'formula'. Got covariates={covariates!r}, "
            f"formula={formula!r}."
        )
    if formula is not None:
        if "~" in formula:
            lhs, rhs = formula.split("~", 1)
            if lhs.strip() and lhs.strip() != outcome:
                raise InputError(
                    f"The formula's left-hand side {lhs.strip()!r} differs from "
                    f"outcome={outcome!r}."
                )
            return rhs.strip()
        return formula.strip()
    if isinstance(covariates, str) or not len(covariates):
        raise InputError(
            "The 'covariates' parameter must be a non-empty list of column names "
            f"or patsy terms. Got {covariates!r}."
        )
    return " + ".join(map(str, covariates))


def _is_categorical(table, rhs: str, col: str) -> bool:
    dt = table[col].type()
    if dt.is_string():
        return True
    if dt.is_boolean():
        raise InputError(
            f"fit_risk_model: column {col!r} is boolean; on an engine give it as "
            "0/1 integers."
        )
    wrapped = len(re.findall(r"\bC\(\s*" + re.escape(col) + r"\b", rhs))
    return bool(wrapped) and wrapped == _names_all(rhs).count(col)


def _names_all(expr: str) -> list[str]:
    return [
        tok.string
        for tok in tokenize.generate_tokens(io.StringIO(expr).readline)
        if tok.type == tokenize.NAME
    ]


def _moments_ibis(base, names, b, c0, *, unweighted):
    import ibis

    eta = ibis.literal(float(c0))
    for j in range(len(names)):
        eta = eta + base[f"_x{j}"] * float(b[j])
    step = base.mutate(_eta=eta)
    step = step.mutate(_mu=1.0 / (1.0 + (-step._eta).exp()))
    step = view(
        step.mutate(_w=step._mu * (1.0 - step._mu), _r=step._y - step._mu), "newton"
    )
    aggs: dict[str, Any] = {}
    k = len(names)
    for i in range(k):
        xi = step[f"_x{i}"]
        aggs[f"s{i}"] = (xi * step._r).sum()
        for j in range(i, k):
            aggs[f"w{i}_{j}"] = (step._w * xi * step[f"_x{j}"]).sum()
            if unweighted:
                aggs[f"u{i}_{j}"] = (xi * step[f"_x{j}"]).sum()
    e = step._eta
    aggs["dev"] = (
        ((-e.abs()).exp() + 1.0).ln() + ibis.greatest(e, 0.0) - step._y * e
    ).sum() * 2.0
    aggs["gap"] = step._r.abs().max()
    return step.aggregate(**aggs).to_pandas().iloc[0].to_dict()


def fit_risk_model(
    table,
    outcome: str,
    covariates: Sequence[str] | None = None,
    formula: str | None = None,
    *,
    missing: str = "complete_case",
    groups: int = 10,
    max_iter: int = 50,
    tol: float = 1e-10,
) -> RiskModel:
    """Fit a logistic risk model with one engine aggregation per Newton step.

    Parameters
    ----------
    table : ibis.Table
        One row per patient (e.g. ``EngineValidationResult.valid``).
    outcome, covariates, formula, groups
        As :func:`ccdata.fit_risk_model`. Terms: numeric columns, text
        columns and ``C(column)`` (treatment coding, first level the
        reference), ``np.log``/``np.exp``/``np.sqrt``/``np.log1p``,
        ``I(...)`` arithmetic and ``:`` interactions of these.
    missing : {"complete_case"}, default "complete_case"
        Records missing a covariate are left out (the indicator method is
        not available on an engine yet).
    max_iter, tol : int and float
        Newton-Raphson iterations and the relative change in deviance that
        ends them (as the in-memory fit).

    Returns
    -------
    RiskModel
        As :func:`ccdata.fit_risk_model`: the same terms, estimates,
        model-based standard errors and diagnostics (c-statistic with DeLong
        interval, calibration, Hosmer-Lemeshow), all computed in the engine.
        :meth:`RiskModel.predict` works on pandas data; use
        :func:`ccdata.engine.predict` on an engine table.

    Raises
    ------
    InputError
        As the in-memory fit (outcome not 0/1, no deaths, single level,
        collinear terms, perfect separation), or a term the engine cannot
        compute.
    EngineError, EngineMemoryError
        The engine failed (step and size named).

    Notes
    -----
    Fisher scoring for the canonical logit link (Newton-Raphson) [1]_: at
    each step the engine returns ``X'WX`` and ``X'(y - p)``; the step solves
    them by Cholesky, halving it when the deviance would rise. Starting from
    the intercept-only fit, the iterates are those of
    :func:`ccdata.fit_risk_model`, so estimates and standard errors agree to
    rounding (tested to 1e-9 on a million patients).

    References
    ----------
    .. [1] McCullagh P, Nelder JA (1989). Generalized Linear Models, 2nd ed.
       Chapman & Hall. Section 2.5.

    Examples
    --------
    >>> from ccdata.engine import connect, read_source
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"age": rng.normal(72, 8, 4000)})
    >>> df["died"] = rng.binomial(1, 1 / (1 + np.exp(-(-3.5 + 0.06 * (df.age - 72)))))
    >>> m = fit_risk_model(read_source(connect(), df), "died", ["age"])
    >>> m.coefficients.term.tolist()
    ['Intercept', 'age']
    """
    import ibis

    where = "ccdata.engine.fit_risk_model"
    if missing != "complete_case":
        raise InputError(
            f"{where}: missing={missing!r} is not available on an engine; use "
            "'complete_case', or fit in memory."
        )
    if outcome not in table.columns:
        raise InputError(f"{where}: outcome column {outcome!r} is not in the table.")
    rhs = _rhs(outcome, covariates, formula)
    cols = [c for c in _names(rhs) if c in table.columns and c != outcome]
    if not cols:
        raise InputError(
            f"{where}: the model {rhs!r} refers to no column of the table. "
            f"Available columns: {list(table.columns)!r}."
        )
    y = table[outcome]
    checks = table.aggregate(
        _n=table.count(),
        _na=y.isnull().cast("int64").sum(),
        _bad=(y.notnull() & ~y.cast("float64").isin([0.0, 1.0])).cast("int64").sum(),
        **{
            f"_m{i}": _missing(table, c).cast("int64").sum() for i, c in enumerate(cols)
        },
    )
    first = guard(where, lambda: checks.to_pandas().iloc[0])
    n_records = int(first["_n"])
    if int(first["_na"] or 0):
        raise InputError(
            f"{where}: outcome column {outcome!r} has {int(first['_na'])} missing "
            "value(s). Every record needs an outcome of 0 or 1."
        )
    if int(first["_bad"] or 0):
        raise InputError(
            f"{where}: outcome column {outcome!r} must hold 0/1; got "
            f"{int(first['_bad'])} other value(s)."
        )
    n_missing = {c: int(first[f"_m{i}"] or 0) for i, c in enumerate(cols)}
    keep = ibis.literal(True)
    for c in cols:
        keep = keep & ~_missing(table, c)
    used = table.filter(keep)
    is_cat = [c for c in cols if _is_categorical(table, rhs, c)]
    categorical, distinct = _levels_and_counts(
        used, is_cat, cols, outcome, where, n_records
    )
    names = _design_names(rhs, _prototype(table, cols, categorical))
    if names[0] != "Intercept":
        raise InputError(f"{where}: the model needs an intercept on an engine.")
    k = len(names)
    extra = {"_row": used[ROW]} if ROW in used.columns else {}
    base = used.select(
        **extra,
        _y=used[outcome].cast("float64"),
        **{
            f"_x{j}": term_expression(n, used, where=where).cast("float64")
            for j, n in enumerate(names)
        },
    )
    base = view(base, "design")
    n_used = int(distinct["_n"])
    n_events = int(distinct["_events"] or 0)
    for c in cols:
        if c in categorical and len(categorical[c]) < 2:
            shown = categorical[c][0] if categorical[c] else "(none)"
            raise InputError(
                f"{where}: covariate {c!r} has a single level ({shown!r}) among "
                f"the {n_used} records used, so its effect cannot be estimated; "
                "drop it from the model."
            )
    if n_events == 0 or n_events == n_used:
        raise InputError(
            f"{where}: outcome {outcome!r} has {n_events} event(s) among "
            f"{n_used} records used; a risk model needs both deaths and survivors."
        )
    layout = _layout(names, used, distinct, categorical, where)
    start, rank_checked = None, False
    if layout.z and extra and n_used > 4 * SAMPLE_ROWS:
        # Warm start: Newton on an every-k-th-row sample held in the engine,
        # then the full data from there (usually 2-3 full passes instead of
        # 6-7). Both converge to the same maximum; a sample of full rank
        # proves the full design has full rank.
        stride = n_used // SAMPLE_ROWS
        sample = guard(
            where,
            lambda: materialize(base.filter(base._row % stride == 0), "sample"),
            size=n_used,
        )
        sm = guard(
            where,
            lambda: (
                sample.aggregate(m=sample.count(), ev=sample._y.sum())
                .to_pandas()
                .iloc[0]
            ),
        )
        m, ev = int(sm["m"]), float(sm["ev"] or 0)
        if 0 < ev < m:
            try:
                b0, cov0, ok, _ = _newton(
                    _engine_moments(sample, layout, where, m),
                    k,
                    ev / m,
                    max_iter,
                    tol,
                    where,
                    names,
                )
                with np.errstate(invalid="ignore"):
                    se0 = np.sqrt(np.diag(cov0))
                # a sparse level can separate in the sample: then start afresh
                ok = ok and bool(
                    np.all(np.isfinite(se0))
                    and np.all((np.abs(b0) <= 5) | (se0 <= np.abs(b0)))
                )
            except InputError:  # rank-deficient sample: check the full data
                b0, ok = None, False
            if ok and np.all(np.isfinite(b0)):
                start, rank_checked = b0, True
    if layout.z:
        moments = _engine_moments(base, layout, where, n_used)
    else:
        # every design column is constant within a covariate pattern: the
        # likelihood depends on the data only through (pattern, n, sum y),
        # exact sufficient statistics aggregated once; Newton runs in numpy
        moments = _pattern_moments(base, layout, where, n_used)
    b, cov, converged, gap = _newton(
        moments,
        k,
        n_events / n_used,
        max_iter,
        tol,
        where,
        names,
        start=start,
        check_rank=not rank_checked,
    )
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(cov))
    _separation(names, b, se, gap, converged, where)
    diagnostics = _diagnostics(base, names, b, groups, where, n_used, n_events)
    z = stats.norm.ppf(0.975)
    with np.errstate(over="ignore"):
        coef = pd.DataFrame(
            {
                "term": names,
                "estimate": b,
                "std_error": se,
                "odds_ratio": np.exp(b),
                "ci_lower": np.exp(b - z * se),
                "ci_upper": np.exp(b + z * se),
                "p_value": 2.0 * stats.norm.sf(np.abs(b / se)),
            }
        )
    return _as_risk_model(
        rhs,
        cols,
        categorical,
        names,
        b,
        coef,
        outcome,
        n_missing,
        n_records,
        n_used,
        n_events,
        diagnostics,
    )


def _missing(table, col: str):
    c = table[col]
    out = c.isnull()
    if c.type().is_floating():
        out = out | c.isnan()
    if c.type().is_string():
        out = out | (strip(c) == "")
    return out.fill_null(True)


def _newton(
    moments, k, p_bar, max_iter, tol, where, names, *, start=None, check_rank=True
):
    """Fisher scoring; ``moments(beta, unweighted)`` gives one pass's sums."""
    p_bar = float(np.clip(p_bar, 1e-6, 1 - 1e-6))
    b = np.zeros(k)
    b[0] = special.logit(p_bar)  # intercept-only start, as the in-memory fit
    if start is not None:
        b = np.asarray(start, dtype=float).copy()
    info, score, dev, gap, xtx = moments(b, check_rank)
    rank = k
    if check_rank:
        d = np.sqrt(np.diag(xtx))
        d[d == 0] = 1.0
        rank = np.linalg.matrix_rank(xtx / np.outer(d, d), tol=1e-10)
    if rank < k:
        raise InputError(
            f"{where}: the design is collinear (rank {rank} < {k} columns "
            f"{names!r}); a term is a combination of others, or a level never "
            "occurs. Remove or merge terms."
        )
    converged = False
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for _ in range(max_iter):
            try:
                step = linalg.cho_solve(linalg.cho_factor(info), score)
            except linalg.LinAlgError:
                break
            for _half in range(30):
                b_new = b + step
                info_n, score_n, dev_new, gap_n, _ = moments(b_new, False)
                if dev_new <= dev * (1 + 1e-12) or not np.isfinite(dev):
                    break
                step = step / 2.0
            change = abs(dev - dev_new) / (abs(dev_new) + 0.1)
            b, dev, info, score, gap = b_new, dev_new, info_n, score_n, gap_n
            if change < tol:
                converged = True
                break
        try:
            cov = linalg.inv(info)
        except linalg.LinAlgError:
            cov = np.full_like(info, np.inf)
    return b, cov, converged, gap


# ---------------------------------------------------------------------------
# the sums of one Newton pass, grouped by covariate cell
# ---------------------------------------------------------------------------
#: Most cells (products of the levels of the discrete covariates) a pass groups by.
CELL_LIMIT = 20_000
#: Most covariate patterns aggregated once when every covariate is discrete.
PATTERN_LIMIT = 500_000
#: A numeric covariate with at most this many distinct values joins the cells.
DISCRETE_VALUES = 64


@dataclasses.dataclass(frozen=True)
class _Layout:
    """Design columns constant within a cell (``d``) and the others (``z``)."""

    d: tuple[int, ...]
    z: tuple[int, ...]
    cells: int  # upper bound on the number of cells


def _sources(name: str, table, where: str) -> set[str]:
    out: set[str] = set()
    if name == "Intercept":
        return out
    for part in _split_interaction(name):
        m = _LEVEL.match(part)
        if m:
            out.add(_categorical_column(m.group("code"), table, where))
        else:
            out.update(c for c in _names(part) if c in table.columns)
    return out


def _levels_and_counts(used, categorical_cols, cols, outcome, where, size):
    """Return the categorical levels and numeric distinct counts, in one query.

    The numeric counts are approximate (HyperLogLog); they only choose the
    cells, which are exact groupings whatever their number.
    """
    aggs = {"_n": used.count(), "_events": used[outcome].cast("float64").sum()}
    for i, c in enumerate(cols):
        if c in categorical_cols:
            aggs[f"_l{i}"] = used[c].collect(distinct=True)
        else:
            aggs[f"_d{i}"] = used[c].approx_nunique()
    row = guard(where, lambda: used.aggregate(**aggs).to_pandas().iloc[0], size=size)
    categorical: dict[str, list] = {}
    distinct: dict[str, Any] = {"_n": row["_n"], "_events": row["_events"]}
    for i, c in enumerate(cols):
        if c in categorical_cols:
            got = row[f"_l{i}"]
            values = [
                v
                for v in (list(got) if got is not None else [])
                if v is not None and not (isinstance(v, float) and np.isnan(v))
            ]
            if used[c].type().is_integer():
                values = [int(v) for v in values]
            categorical[c] = sorted(values)
            distinct[c] = len(values)
        else:
            distinct[c] = int(row[f"_d{i}"] or 0)
    return categorical, distinct


def _layout(names, table, distinct: dict[str, int], categorical, where) -> _Layout:
    """Split the design columns into cell columns and per-row columns.

    A design column whose source columns are all discrete (categorical, or
    numeric with few values) is constant within a cell of those columns, so a
    pass sums per cell only the products that involve the other columns.
    Sources join the cells, fewest values first, while the product of their
    counts (an upper bound on the number of cells) stays within the limit.
    When every source is discrete the cells are the covariate patterns
    (``z`` empty) and a larger limit applies: they are aggregated only once.
    """
    srcs = [_sources(n, table, where) for n in names]
    pool = sorted(
        (
            c
            for c, v in distinct.items()
            if not c.startswith("_") and (c in categorical or v <= DISCRETE_VALUES)
        ),
        key=lambda c: (distinct[c], c),
    )
    every = {c for s in srcs for c in s}

    def pick(limit: int) -> tuple[set[str], int]:
        chosen: set[str] = set()
        bound = 1
        for c in pool:
            if bound * max(distinct[c], 1) <= limit:
                chosen.add(c)
                bound *= max(distinct[c], 1)
        return chosen, bound

    chosen, bound = pick(PATTERN_LIMIT)
    if not every <= chosen:
        chosen, bound = pick(CELL_LIMIT)
    d = tuple(j for j, s in enumerate(srcs) if s <= chosen)
    z = tuple(j for j, s in enumerate(srcs) if not s <= chosen)
    return _Layout(d, z, bound)


def _eta_sql(k: int, b: np.ndarray) -> str:
    return " + ".join(f"CAST({float(b[j])!r} AS DOUBLE) * _x{j}" for j in range(k))


def _cell_sql(
    source: str, k: int, layout: _Layout, b: np.ndarray, unweighted: bool, quote: str
) -> tuple[str, list[str]]:
    """Write the SQL of one Newton pass, summed per cell (DuckDB and Spark SQL).

    Per cell: sum w, w z, w z z', r, r z (z the per-row columns), the
    deviance and max |r|; with ``unweighted`` also the count, z and z z'
    (for the rank check). Written by hand: eta, mu and w once per row in
    nested projections, no expression tree rebuilt at each iteration.
    """
    xs = ", ".join(f"_x{j}" for j in range(k))
    z = layout.z
    exprs: list[tuple[str, str]] = [("sw", "SUM(_w)"), ("sr", "SUM(_r)")]
    for a, i in enumerate(z):
        exprs.append((f"swz{a}", f"SUM(_w * _x{i})"))
        exprs.append((f"srz{a}", f"SUM(_r * _x{i})"))
        for c, j in enumerate(z[a:], start=a):
            exprs.append((f"swzz{a}_{c}", f"SUM(_w * _x{i} * _x{j})"))
    if unweighted:
        exprs.append(("n", "CAST(COUNT(*) AS DOUBLE)"))
        for a, i in enumerate(z):
            exprs.append((f"sz{a}", f"SUM(_x{i})"))
            for c, j in enumerate(z[a:], start=a):
                exprs.append((f"szz{a}_{c}", f"SUM(_x{i} * _x{j})"))
    exprs += [
        (
            "dev",
            "2.0 * SUM(LN(1.0 + EXP(-ABS(_eta))) + GREATEST(_eta, 0.0) - _y * _eta)",
        ),
        ("gap", "MAX(ABS(_r))"),
    ]
    keys = [f"_x{j}" for j in layout.d]
    table = f"{quote}{source}{quote}"
    select = ", ".join([*keys, *(f"{e} AS {n}" for n, e in exprs)])
    sql = (
        f"SELECT {select}"
        f" FROM (SELECT _y, {xs}, _eta, _mu * (1.0 - _mu) AS _w, _y - _mu AS _r"
        f" FROM (SELECT _y, {xs}, _eta, 1.0 / (1.0 + EXP(-_eta)) AS _mu"
        f" FROM (SELECT _y, {xs}, {_eta_sql(k, b)} AS _eta FROM {table}) AS a)"
        f" AS b) AS c GROUP BY {', '.join(keys)}"
    )
    return sql, [*keys, *(n for n, _ in exprs)]


def _run_sql(base, sql: str) -> np.ndarray:
    import ibis

    con = ibis.get_backend(base)
    if con.name == "duckdb":
        rows = con.con.execute(sql).fetchall()
    else:
        rows = [tuple(r) for r in con._session.sql(sql).collect()]
    return np.array(rows, dtype=float).reshape(len(rows), -1)


def _combine(
    layout: _Layout, k: int, d: np.ndarray, g: dict[str, np.ndarray], prefix: str
) -> np.ndarray:
    """X'AX from per-cell sums: A = W (prefix "w") or the identity ("")."""
    z = layout.z
    dd = np.asarray(layout.d)
    zz = np.asarray(z, dtype=int)
    s0 = g["sw"] if prefix == "w" else g["n"]
    out = np.zeros((k, k))
    out[np.ix_(dd, dd)] = d.T @ (s0[:, None] * d)
    if len(z):
        sz = np.column_stack([g[f"s{prefix}z{a}"] for a in range(len(z))])
        cross = d.T @ sz
        out[np.ix_(dd, zz)] = cross
        out[np.ix_(zz, dd)] = cross.T
        for a in range(len(z)):
            for c in range(a, len(z)):
                v = float(g[f"s{prefix}zz{a}_{c}"].sum())
                out[z[a], z[c]] = out[z[c], z[a]] = v
    return out


def _engine_moments(base, layout: _Layout, where: str, size: int):
    """moments(beta, unweighted): one grouped engine query per pass."""
    import ibis

    k = len(layout.d) + len(layout.z)
    con = ibis.get_backend(base)
    if con.name not in ("duckdb", "pyspark"):  # any other backend: Ibis sums
        names = [f"_x{j}" for j in range(k)]

        def ibis_moments(beta, unweighted=False):
            return guard(
                f"{where} (Newton step)",
                lambda: _moments_ibis_pass(base, names, beta, unweighted),
                size=size,
            )

        return ibis_moments
    source = base.get_name().split(".")[-1]
    quote = '"' if con.name == "duckdb" else "`"

    def moments(beta, unweighted=False):
        sql, cols = _cell_sql(source, k, layout, beta, unweighted, quote)
        arr = guard(f"{where} (Newton step)", lambda: _run_sql(base, sql), size=size)
        g = {c: arr[:, i] for i, c in enumerate(cols)}
        d = arr[:, : len(layout.d)]
        info = _combine(layout, k, d, g, "w")
        score = np.zeros(k)
        score[np.asarray(layout.d)] = d.T @ g["sr"]
        for a, j in enumerate(layout.z):
            score[j] = float(g[f"srz{a}"].sum())
        xtx = _combine(layout, k, d, g, "") if unweighted else None
        return info, score, float(g["dev"].sum()), float(g["gap"].max()), xtx

    return moments


def _pattern_moments(base, layout: _Layout, where: str, size: int):
    """Aggregate once to (pattern, n, sum y); moments(beta) then run in numpy."""
    k = len(layout.d)
    keys = [f"_x{j}" for j in range(k)]
    grouped = base.group_by(keys).aggregate(_n=base.count(), _s=base._y.sum())
    frame = guard(
        f"{where} (covariate patterns)", lambda: grouped.to_pandas(), size=size
    )
    x = frame[keys].to_numpy(dtype=float)
    n = frame["_n"].to_numpy(dtype=float)
    s = frame["_s"].to_numpy(dtype=float)

    def moments(beta, unweighted=False):
        eta = x @ beta
        mu = special.expit(eta)
        w = n * mu * (1.0 - mu)
        info = x.T @ (w[:, None] * x)
        score = x.T @ (s - n * mu)
        soft = np.log1p(np.exp(-np.abs(eta))) + np.maximum(eta, 0.0)
        dev = 2.0 * float(np.sum(n * soft - s * eta))
        gap = float(
            max(
                np.max(1.0 - mu, where=s > 0, initial=0.0),
                np.max(mu, where=s < n, initial=0.0),
            )
        )
        xtx = x.T @ (n[:, None] * x) if unweighted else None
        return info, score, dev, gap, xtx

    return moments


def _moments_ibis_pass(base, names, b, unweighted):
    """Fallback: the row-wise sums of one pass as an Ibis expression."""
    row = _moments_ibis(base, names, b, 0.0, unweighted=unweighted)
    k = len(names)
    info = np.empty((k, k))
    xtx = np.empty((k, k)) if unweighted else None
    for i in range(k):
        for j in range(i, k):
            info[i, j] = info[j, i] = float(row[f"w{i}_{j}"])
            if xtx is not None:
                xtx[i, j] = xtx[j, i] = float(row[f"u{i}_{j}"])
    score = np.array([float(row[f"s{i}"]) for i in range(k)])
    return info, score, float(row["dev"]), float(row["gap"]), xtx


def _separation(names, b, se, gap, converged, where) -> None:
    if gap < 1e-6:
        big = [n for n, v in zip(names, b, strict=True) if abs(v) > 5]
        raise InputError(
            f"{where}: perfect separation: the covariates predict every outcome "
            f"exactly (terms with runaway coefficients: {big!r}), so no finite "
            "model exists. Remove or merge the separating covariate(s)."
        )
    runaway = [
        n
        for n, v, s in zip(names, b, se, strict=True)
        if not np.isfinite(s) or (abs(v) > 5 and s > abs(v))
    ]
    if runaway:
        warnings.warn(
            f"{where}: quasi-complete separation: term(s) {runaway!r} have "
            "coefficients drifting to infinity (e.g. a category with no deaths, "
            "or only deaths). Merge sparse levels; their odds ratios are unreliable.",
            SeparationWarning,
            stacklevel=3,
        )
    elif not converged:
        warnings.warn(
            f"{where}: the logistic regression did not converge; check for "
            "separation or very sparse levels.",
            RiskWarning,
            stacklevel=3,
        )


def _prediction_formula(rhs: str, categorical: dict[str, list]) -> str:
    """``rhs`` with each categorical column's levels fixed, for pandas predict."""
    out = rhs
    for col, levels in categorical.items():
        fixed = f"C({col}, levels={levels!r})"
        out = re.sub(r"\bC\(\s*" + re.escape(col) + r"\s*\)", "\0" + col + "\0", out)
        out = re.sub(r"(?<![\w.\0])" + re.escape(col) + r"\b(?!\s*=)(?!\0)", fixed, out)
        out = out.replace("\0" + col + "\0", fixed)
    return out


def _as_risk_model(
    rhs,
    cols,
    categorical,
    names,
    b,
    coef,
    outcome,
    n_missing,
    n_records,
    n_used,
    n_events,
    diagnostics,
) -> RiskModel:
    """Adapter: a RiskModel whose predict() works on pandas data (public API)."""
    pred_rhs = _prediction_formula(rhs, categorical)
    proto = _prototype(None, cols, categorical)
    pred_names = _design_names(pred_rhs, proto)
    if len(pred_names) != len(names):  # pragma: no cover - defensive
        raise InputError(f"fit_risk_model: cannot fix the levels of {rhs!r}.")
    model = RiskModel.from_coefficients(
        float(b[0]),
        dict(zip(pred_names[1:], map(float, b[1:]), strict=True)),
        formula=pred_rhs,
    )
    missing_table = pd.DataFrame(
        {
            "covariate": cols,
            "n_missing": [n_missing[c] for c in cols],
            "action": ["dropped" if n_missing[c] else "none" for c in cols],
            "fill_value": pd.Series([None] * len(cols), dtype=object),
        }
    )
    return dataclasses.replace(
        model,
        formula=rhs,
        outcome=outcome,
        coefficients=coef,
        missing="complete_case",
        missing_data=missing_table,
        n_records=n_records,
        n_used=n_used,
        n_dropped=n_records - n_used,
        n_imputed=0,
        n_events=n_events,
        diagnostics=diagnostics,
        source="fitted",
    )


# ---------------------------------------------------------------------------
# diagnostics (engine-side counterparts of ccdata.risk.diagnostics)
# ---------------------------------------------------------------------------
def _risk(base, names, b):
    import ibis

    eta = ibis.literal(0.0)
    for j in range(len(names)):
        eta = eta + base[f"_x{j}"] * float(b[j])
    p = 1.0 / (1.0 + (-eta).exp())
    return p.clip(lower=1e-15, upper=1 - 1e-15)


def _recalibration(t, *, slope: bool, where: str, size: int):
    """Newton for logit P = a + offset(lp) or a + b lp, as the in-memory path."""
    import ibis

    k = 2 if slope else 1
    beta = np.zeros(k)
    if slope:
        beta[1] = 1.0
        rng = guard(
            where,
            lambda: t.aggregate(lo=t._lp.min(), hi=t._lp.max()).to_pandas().iloc[0],
            size=size,
        )
        if float(rng["hi"]) - float(rng["lo"]) == 0:
            return np.full(k, np.nan), np.full(k, np.nan)

    def pass_(beta):
        eta = ibis.literal(float(beta[0])) + (
            t._lp * float(beta[1]) if slope else t._lp
        )
        mu = 1.0 / (1.0 + (-eta).exp())
        w = mu * (1.0 - mu)
        aggs = {"i00": w.sum(), "s0": (t._y - mu).sum()}
        if slope:
            aggs.update(
                i01=(w * t._lp).sum(),
                i11=(w * t._lp * t._lp).sum(),
                s1=(t._lp * (t._y - mu)).sum(),
            )
        r = guard(where, lambda: t.aggregate(**aggs).to_pandas().iloc[0], size=size)
        if slope:
            info = np.array([[r["i00"], r["i01"]], [r["i01"], r["i11"]]], dtype=float)
            return info, np.array([r["s0"], r["s1"]], dtype=float)
        return np.array([[r["i00"]]], dtype=float), np.array([r["s0"]], dtype=float)

    try:
        for _ in range(50):
            info, score = pass_(beta)
            step = np.linalg.solve(info, score)
            beta = beta + step
            if np.max(np.abs(step)) < 1e-10:
                break
        info, _ = pass_(beta)
        se = np.sqrt(np.diag(np.linalg.inv(info)))
    except np.linalg.LinAlgError:
        return np.full(k, np.nan), np.full(k, np.nan)
    return beta, se


def _diagnostics(base, names, b, groups, where, size, events) -> RiskDiagnostics:
    """RiskDiagnostics from two engine queries.

    Every statistic of :func:`ccdata.risk.diagnostics.assess_predictions` is
    a sum over patients of a function of (y, p), so it is a weighted sum over
    the distinct predicted risks: one grouping by p (with cumulative counts
    for the c-statistic's placement values and the quantiles) and one
    grouping by Hosmer-Lemeshow group.
    """
    import ibis

    where = f"{where} (diagnostics)"
    if int(groups) != groups or groups < 3:
        raise InputError(
            f"The 'groups' parameter must be an integer >= 3. Got {groups!r}."
        )
    p = _risk(base, names, b)
    t = base.select(_y=base._y, _p=p)
    per = t.group_by("_p").aggregate(pos=t._y.sum(), neg=(1.0 - t._y).sum())
    w = ibis.window(order_by=per._p, rows=(None, -1))
    per = per.mutate(
        pos_below=per.pos.sum().over(w).fill_null(0.0),
        neg_below=per.neg.sum().over(w).fill_null(0.0),
    )
    per = per.mutate(
        n_below=per.pos_below + per.neg_below,
        cnt=per.pos + per.neg,
        lp=(per._p / (1.0 - per._p)).ln(),
    )
    # totals first (cheap): n and events give the order statistics wanted
    n = size
    wanted = risk_group_order_statistics(n, int(groups))
    o = float(events)  # counted with the fit
    n1, n0 = o, n - o
    v10 = (per.neg_below * 2.0 + per.neg) / (2.0 * n0)
    v01 = 1.0 - (per.pos_below * 2.0 + per.pos) / (2.0 * n1)
    pw = per._p * (1.0 - per._p)
    aggs = dict(
        a=(per.pos * v10).sum(),
        a2=(per.pos * v10 * v10).sum(),
        b=(per.neg * v01).sum(),
        b2=(per.neg * v01 * v01).sum(),
        e=(per.cnt * per._p).sum(),
        brier=(per.pos * (1.0 - per._p) ** 2 + per.neg * per._p**2).sum(),
        w0=(per.cnt * pw).sum(),
        w1=(per.cnt * pw * per.lp).sum(),
        w2=(per.cnt * pw * per.lp * per.lp).sum(),
        r0=(per.pos - per.cnt * per._p).sum(),
        r1=((per.pos - per.cnt * per._p) * per.lp).sum(),
        lp_lo=per.lp.min(),
        lp_hi=per.lp.max(),
    )
    for k in wanted:  # the k-th smallest risk (0-based)
        aggs[f"k{k}"] = per._p.max(
            where=(per.n_below <= k) & (per.n_below + per.cnt > k)
        )
    s = guard(where, lambda: per.aggregate(**aggs).to_pandas().iloc[0], size=size)
    e = float(s["e"])
    c = float(s["a"]) / n1
    s10 = (float(s["a2"]) - n1 * c * c) / (n1 - 1) if n1 > 1 else 0.0
    m01 = float(s["b"]) / n0
    s01 = (float(s["b2"]) - n0 * m01 * m01) / (n0 - 1) if n0 > 1 else 0.0
    se_c = float(np.sqrt(max(s10, 0.0) / n1 + max(s01, 0.0) / n0))
    z = stats.norm.ppf(0.975)
    (a,), (a_se,), (_, bs), (_, b_se) = _recalibrate(s, t, where, size)
    # Hosmer-Lemeshow groups: quantile cut points, ties kept together
    # the same cut points and tie rule as in memory (risk_group_cuts)
    inner = risk_group_cuts(lambda k: float(s[f"k{k}"]), n, int(groups))
    g = ibis.literal(0)
    for cut in inner:
        g = g + (t._p > ibis.literal(float(cut), type="float64")).cast("int64")
    tg = t.mutate(_g=g)
    hl = guard(
        where,
        lambda: (
            tg.group_by("_g")
            .aggregate(n=tg.count(), o=tg._y.sum(), e=tg._p.sum())
            .order_by("_g")
            .to_pandas()
        ),
        size=size,
    )
    n_g = hl["n"].to_numpy(dtype=float)
    o_g = hl["o"].to_numpy(dtype=float)
    e_g = hl["e"].to_numpy(dtype=float)
    hl_stat = float(np.sum((o_g - e_g) ** 2 / (e_g * (1.0 - e_g / n_g))))
    k = len(n_g)
    df = k - 2
    if df < 1:
        warnings.warn(
            f"Hosmer-Lemeshow test not available: tied predicted risks leave only "
            f"{k} risk group(s); its p-value is NaN.",
            RiskWarning,
            stacklevel=3,
        )
    p_hl = float(stats.chi2.sf(hl_stat, df)) if df >= 1 else float("nan")
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(o_g > 0, stats.beta.ppf(0.025, o_g, n_g - o_g + 1), 0.0)
        hi = np.where(o_g < n_g, stats.beta.ppf(0.975, o_g + 1, n_g - o_g), 1.0)
    table = pd.DataFrame(
        {
            "decile": np.arange(1, k + 1),
            "n": n_g.astype(np.int64),
            "observed": o_g.astype(np.int64),
            "expected": e_g,
            "observed_rate": o_g / n_g,
            "expected_rate": e_g / n_g,
            "observed_lower_95": lo,
            "observed_upper_95": hi,
        }
    )
    return RiskDiagnostics(
        n=n,
        observed=int(o),
        expected=e,
        c_statistic=c,
        c_statistic_ci=(max(0.0, c - z * se_c), min(1.0, c + z * se_c)),
        calibration_in_the_large=float(a),
        calibration_in_the_large_ci=(float(a - z * a_se), float(a + z * a_se)),
        calibration_slope=float(bs),
        calibration_slope_ci=(float(bs - z * b_se), float(bs + z * b_se)),
        hosmer_lemeshow=HosmerLemeshow(hl_stat, df, p_hl, k),
        brier_score=float(s["brier"]) / n,
        calibration_table=table,
        development=True,
    )


def _recalibrate(s, t, where, size):
    """Calibration-in-the-large and slope: one Newton step from the sums.

    Both start where mu equals the predicted risk (a = 0; a = 0, b = 1), so
    the sums of the first query give the first step. For a maximum-likelihood
    fit with an intercept that step is zero to rounding (the fit's own score
    equations); otherwise the engine iterates (:func:`_recalibration`).
    """
    info1 = np.array([[float(s["w0"])]])
    score1 = np.array([float(s["r0"])])
    info2 = np.array([[s["w0"], s["w1"]], [s["w1"], s["w2"]]], dtype=float)
    score2 = np.array([s["r0"], s["r1"]], dtype=float)
    out = []
    for info, score, slope, start in (
        (info1, score1, False, [0.0]),
        (info2, score2, True, [0.0, 1.0]),
    ):
        if slope and float(s["lp_hi"]) - float(s["lp_lo"]) == 0:
            out.append((np.full(2, np.nan), np.full(2, np.nan)))
            continue
        try:
            step = np.linalg.solve(info, score)
        except np.linalg.LinAlgError:
            out.append((np.full(len(start), np.nan), np.full(len(start), np.nan)))
            continue
        if np.max(np.abs(step)) < 1e-10:
            beta = np.asarray(start) + step
            out.append((beta, np.sqrt(np.diag(np.linalg.inv(info)))))
        else:
            out.append(
                _recalibration(
                    t.mutate(_lp=(t._p / (1.0 - t._p)).ln()),
                    slope=slope,
                    where=where,
                    size=size,
                )
            )
    (a, a_se), (b2, b2_se) = out
    return a, a_se, b2, b2_se


# ---------------------------------------------------------------------------
# prediction, O/E, CUSUM inputs
# ---------------------------------------------------------------------------
def predict(table, model: RiskModel, *, name: str = "expected"):
    """Add each record's expected risk from ``model`` as an engine column.

    Parameters
    ----------
    table : ibis.Table
    model : RiskModel
        Fitted here or in memory, or published
        (:meth:`RiskModel.from_coefficients`): its coefficient terms are
        turned into engine expressions (see :func:`fit_risk_model`).
    name : str, default "expected"

    Returns
    -------
    ibis.Table
        ``table`` with column ``name``; missing (NULL) where a covariate is
        missing (complete case, as :meth:`RiskModel.predict`).

    Examples
    --------
    >>> from ccdata.engine import connect, read_source
    >>> m = RiskModel.from_coefficients(-3.0, {"age": 0.05})
    >>> t = predict(read_source(connect(), pd.DataFrame({"age": [0, 20]})), m)
    >>> t.to_pandas()["expected"].round(4).tolist()
    [0.0474, 0.1192]
    """
    import ibis

    where = "ccdata.engine.predict"
    if model.missing != "complete_case":
        raise InputError(f"{where}: only complete-case models run on an engine.")
    terms = model.coefficients["term"].tolist()
    est = model.coefficients["estimate"].to_numpy(dtype=float)
    eta = ibis.literal(0.0)
    for term, beta in zip(terms, est, strict=True):
        eta = eta + term_expression(str(term), table, where=where).cast(
            "float64"
        ) * float(beta)
    cols = [c for t in terms for c in _names(str(t)) if c in table.columns]
    ok = ibis.literal(True)
    for c in dict.fromkeys(cols):
        ok = ok & ~_missing(table, c)
    risk = (1.0 / (1.0 + (-eta).exp())).clip(lower=1e-15, upper=1 - 1e-15)
    return table.mutate(**{name: ibis.ifelse(ok, risk, ibis.null("float64"))})


def observed_expected(
    table,
    *,
    unit: str = "site_id",
    outcome: str,
    expected: str,
    level: float = 0.95,
    period: str | None = None,
) -> ObservedExpectedResult:
    """Observed and expected deaths per unit (and period), summed in the engine.

    The same table as :func:`ccdata.observed_expected` (O/E with exact
    Garwood limits, indirectly standardised rates [1]_), from three sums per
    unit. With ``period`` (e.g. a ``month`` column from
    :func:`ccdata.engine.add_period`) there is one row per unit and period,
    the pooled figures and the crude rate being those of all records.

    References
    ----------
    .. [1] Breslow NE, Day NE (1987). Statistical Methods in Cancer Research,
       Vol. II. IARC. Chapter 2.

    Examples
    --------
    >>> from ccdata.engine import connect, read_source
    >>> t = read_source(connect(), pd.DataFrame({"site_id": ["A", "A", "B", "B"],
    ...     "died": [1, 0, 0, 0], "risk": [0.2, 0.1, 0.3, 0.4]}))
    >>> observed_expected(t, outcome="died", expected="risk")["ratio"].round(3).tolist()
    [3.333, 0.0]
    """
    where = "ccdata.engine.observed_expected"
    keys = [unit] if period is None else [unit, period]
    absent = [c for c in [*keys, outcome, expected] if c not in table.columns]
    if absent:
        raise InputError(f"{where}: column(s) {absent!r} are not in the table.")
    (level,) = check_levels([level], where=where)
    y, p = table[outcome].cast("float64"), table[expected].cast("float64")
    # one pass: the sums per unit and the counts of unusable values with them
    checks = {
        "y_na": y.isnull().cast("int64").sum(),
        "y_bad": (y.notnull() & ~y.isin([0.0, 1.0])).cast("int64").sum(),
        "p_na": (p.isnull() | p.isnan()).cast("int64").sum(),
        "p_bad": ((p <= 0.0) | (p >= 1.0)).fill_null(False).cast("int64").sum(),
        "u_na": table[unit].isnull().cast("int64").sum(),
    }
    sums = guard(
        where,
        lambda: (
            table.group_by(keys)
            .aggregate(n=table.count(), o=y.sum(), e=p.sum(), **checks)
            .to_pandas()
        ),
    )
    problems = {
        "y_na": f"outcome column {outcome!r} has {{}} missing value(s)",
        "y_bad": f"outcome column {outcome!r} must hold 0/1; {{}} other value(s)",
        "p_na": f"expected-risk column {expected!r} has {{}} missing value(s)",
        "p_bad": f"expected-risk column {expected!r} has {{}} value(s) outside (0, 1)",
        "u_na": f"unit column {unit!r} has {{}} missing value(s)",
    }
    for key, text in problems.items():
        total = int(sums[key].fillna(0).sum()) if len(sums) else 0
        if total:
            raise InputError(f"{where}: " + text.format(total) + ".")
    sums = sums.sort_values(keys, kind="stable").reset_index(drop=True)
    return _oe_table(sums, keys, level, unit)


def _oe_table(
    sums: pd.DataFrame, keys: list[str], level: float, unit: str
) -> ObservedExpectedResult:
    """Adapter: the table of ccdata.observed_expected from per-unit sums."""
    suffix = level_suffix(level)
    n = sums["n"].to_numpy(dtype=np.int64)
    o = sums["o"].to_numpy(dtype=float)
    e = sums["e"].to_numpy(dtype=float)
    n_all, o_all, e_all = int(n.sum()), float(o.sum()), float(e.sum())
    crude_all = o_all / n_all if n_all else np.nan
    lo, hi = garwood_interval(o, level)
    labels = sums[unit].to_numpy()
    if sums[unit].dtype == object or pd.api.types.is_string_dtype(sums[unit].dtype):
        labels = sums[unit].astype("str").to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = o / e
        columns: dict[str, Any] = {"unit": labels}
        for extra in keys[1:]:
            columns[extra] = sums[extra].to_numpy()
        columns.update(
            {
                "n": n,
                "observed": o.astype(np.int64),
                "expected": e,
                "ratio": ratio,
                f"ratio_lower_{suffix}": lo / e,
                f"ratio_upper_{suffix}": hi / e,
                "crude_rate": o / n,
                "expected_rate": e / n,
                "adjusted_rate": ratio * crude_all,
                f"adjusted_lower_{suffix}": lo / e * crude_all,
                f"adjusted_upper_{suffix}": hi / e * crude_all,
            }
        )
        table = pd.DataFrame(columns)
    plo, phi = garwood_interval(np.array([o_all]), level)
    nan = float("nan")
    pooled = PooledObservedExpected(
        n=n_all,
        observed=int(o_all),
        expected=e_all,
        ratio=o_all / e_all if e_all else nan,
        ratio_lower=float(plo[0]) / e_all if e_all else nan,
        ratio_upper=float(phi[0]) / e_all if e_all else nan,
        crude_rate=float(crude_all),
        expected_rate=e_all / n_all if n_all else nan,
    )
    return ObservedExpectedResult(units=table, pooled=pooled, level=float(level))


def cusum_inputs(
    table,
    *,
    outcome: str,
    expected: str,
    order_by: str,
    unit: str = "site_id",
    units: Sequence[Any] | None = None,
) -> pd.DataFrame:
    """Return the patient sequence each unit's risk-adjusted CUSUM needs, in order.

    Parameters
    ----------
    table : ibis.Table
        With the outcome, the expected risk (see :func:`predict`), the order
        column and ``row``.
    outcome, expected, order_by, unit : str
    units : sequence, optional
        Only these units (a CUSUM is read one unit at a time); default all.

    Returns
    -------
    pandas.DataFrame
        Columns ``unit, order_by, row, outcome, expected`` (the given names),
        sorted by unit, then ``order_by``, then file row (so ties keep the
        file's order, as :func:`ccdata.risk_adjusted_cusum` keeps the
        order of its data). Pass it to ``ccdata.risk_adjusted_cusum(...,
        order_by=order_by, unit=unit)``. Four numbers per patient of the units
        asked for: select ``units`` when the table is national.

    Examples
    --------
    >>> from ccdata.engine import connect, read_source
    >>> t = read_source(connect(), pd.DataFrame({"site_id": ["A", "B", "A"],
    ...     "day": [2, 1, 1], "died": [0, 1, 1], "risk": [0.1, 0.2, 0.3]}))
    >>> cusum_inputs(t, outcome="died", expected="risk", order_by="day")["row"].tolist()
    [4, 2, 3]
    """
    where = "ccdata.engine.cusum_inputs"
    cols = [unit, order_by, ROW, outcome, expected]
    absent = [c for c in cols if c not in table.columns]
    if absent:
        raise InputError(f"{where}: column(s) {absent!r} are not in the table.")
    t = table
    if units is not None:
        t = t.filter(t[unit].isin(list(units)))
    return guard(
        where, lambda: t.select(*cols).order_by([unit, order_by, ROW]).to_pandas()
    )
