"""Design matrices and prediction for risk models (private).

Turns a data frame into linear predictors for a fitted model (patsy
``DesignInfo`` kept from the fit), a published formula, or a published list of
terms, applying the model's missing-data rule. patsy is imported lazily.

Categorical columns are handed to patsy as pandas Categoricals with fixed
categories: patsy then uses their integer codes instead of looking at every
value in Python, which keeps a million-patient design fast.
"""

from __future__ import annotations

import io
import re
import tokenize
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
from scipy import special

from ccdata._params import check_columns
from ccdata.errors import ImputationWarning, InputError

Missing = Literal["complete_case", "indicator"]
_MISSING = ("complete_case", "indicator")
_LEVEL_TERM = re.compile(r"^(?P<col>.+)\[(?P<level>[^\[\]]*)\]$")
_SUFFIX = "_missing"
# What evaluating a user's formula on the data can raise for reasons the user
# can fix (a misspelt function, np.log of a text column, ...). patsy wraps every
# exception of an evaluated term in a PatsyError whose cause is one of these.
_FORMULA_ERRORS: tuple[type[Exception], ...] = (
    NameError,
    TypeError,
    ValueError,
    LookupError,
    AttributeError,
    ArithmeticError,
    SyntaxError,
)


@dataclass(frozen=True)
class _Spec:
    """How to turn a data frame into linear predictors (private)."""

    kind: str  # "design": patsy DesignInfo; "formula": published formula; "terms"
    params: np.ndarray
    names: tuple[str, ...]
    rhs: str | None = None
    design_info: Any = None
    intercept: float = 0.0
    centre: Mapping[str, float] = field(default_factory=dict)
    fill_values: Mapping[str, Any] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    levels: Mapping[str, tuple] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def _names_in(expr: str) -> list[str]:
    """Python identifiers used in a formula (tokenised, in order, unique)."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(expr).readline):
            if tok.type == tokenize.NAME and tok.string not in out:
                out.append(tok.string)
    except (tokenize.TokenError, IndentationError) as exc:
        raise InputError(f"Cannot read the formula {expr!r}: {exc}.") from exc
    return out


def _referenced(rhs: str, columns: Iterable[str]) -> list[str]:
    cols = set(map(str, columns))
    return [name for name in _names_in(rhs) if name in cols]


def _is_categorical(series: pd.Series, rhs: str, col: str) -> bool:
    if re.search(r"\bC\(\s*" + re.escape(col) + r"\b", rhs):
        return True
    return not (
        pd.api.types.is_numeric_dtype(series.dtype)
        and not pd.api.types.is_bool_dtype(series.dtype)
    )


def select_columns(data: pd.DataFrame, cols: Sequence[str]) -> pd.DataFrame:
    """``data[cols]`` with text columns as pandas categoricals (hashed once)."""
    out = {}
    for col in cols:
        s = data[col]
        if (
            pd.api.types.is_object_dtype(s.dtype)
            or pd.api.types.is_string_dtype(s.dtype)
        ) and not isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype("category")
        out[col] = s
    return pd.DataFrame(out, index=data.index)


def fit_levels(frame: pd.DataFrame, rhs: str) -> dict[str, tuple]:
    """Sorted levels of each column patsy will treat as categorical.

    Text and categorical columns, and numeric columns that appear in the
    formula only inside ``C(...)``. Levels absent from ``frame`` are dropped.
    """
    levels: dict[str, tuple] = {}
    names = _names_in_all(rhs)
    for col in frame.columns:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s.dtype):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            levels[col] = tuple(s.cat.remove_unused_categories().cat.categories)
            continue
        if pd.api.types.is_numeric_dtype(s.dtype):
            wrapped = len(re.findall(r"\bC\(\s*" + re.escape(col) + r"\b", rhs))
            if not wrapped or wrapped != names.count(col):
                continue
        levels[col] = tuple(sorted(pd.unique(s.dropna())))
    return levels


def _names_in_all(expr: str) -> list[str]:
    out: list[str] = []
    for tok in tokenize.generate_tokens(io.StringIO(expr).readline):
        if tok.type == tokenize.NAME:
            out.append(tok.string)
    return out


def _with_levels(s: pd.Series, col: str, levels: tuple) -> pd.Categorical:
    if isinstance(s.dtype, pd.CategoricalDtype):
        old = s.cat.codes.to_numpy()
        cat = s.cat.set_categories(list(levels)).array
        unseen = (cat.codes < 0) & (old >= 0)
    else:
        codes = pd.Index(list(levels)).get_indexer(s.to_numpy())
        unseen = (codes < 0) & s.notna().to_numpy()
        cat = pd.Categorical.from_codes(codes, categories=cast(Any, list(levels)))
    if unseen.any():
        raise InputError(
            f"Column {col!r} has level(s) "
            f"{sorted(map(str, pd.unique(s[unseen])))!r} that the model "
            f"does not know (its levels: {list(levels)!r})."
        )
    return cat


def _patsy_frame(
    frame: pd.DataFrame, levels: Mapping[str, tuple] | None = None
) -> dict[str, Any]:
    """Columns as arrays patsy understands; categoricals with fixed levels.

    A dict (patsy accepts one) avoids copying into a new DataFrame. No missing
    value may remain. A value outside a column's fitted levels is an
    InputError naming it.
    """
    levels = levels or {}
    out: dict[str, Any] = {}
    for col in frame.columns:
        s = frame[col]
        dtype = s.dtype
        if col in levels:
            out[col] = _with_levels(s, col, levels[col])
        elif isinstance(dtype, pd.CategoricalDtype):
            out[col] = s.array
        elif pd.api.types.is_bool_dtype(dtype):
            out[col] = s.to_numpy(dtype=bool)
        elif pd.api.types.is_integer_dtype(dtype):
            out[col] = s.to_numpy(dtype=np.int64)
        elif pd.api.types.is_numeric_dtype(dtype):
            out[col] = s.to_numpy(dtype=float)
        else:
            out[col] = pd.Categorical(s.to_numpy(dtype=object))
    return out


def _categorical(data, contrast=None, levels=None):
    """Patsy's ``C()``, passing a pandas Categorical through untouched.

    patsy maps a boxed ``C(x)`` to integer codes value by value in Python; a
    bare pandas Categorical it maps by its codes. Same levels, same names.
    """
    from patsy.builtins import C

    if (
        contrast is None
        and levels is None
        and isinstance(getattr(data, "dtype", None), pd.CategoricalDtype)
    ):
        return data
    return C(data, contrast, levels)


def _eval_env():
    import patsy

    return patsy.EvalEnvironment([{"np": np, "C": _categorical}])


def _fill(
    frame: pd.DataFrame, fill_values: Mapping[str, Any], *, where: str
) -> pd.DataFrame:
    """Impute fill values and add ``<col>_missing`` indicators (0/1)."""
    out: dict[str, pd.Series | np.ndarray] = {}
    for col in frame.columns:
        s = frame[col]
        out[col] = s
        if col in fill_values:
            na = s.isna()
            out[col + _SUFFIX] = na.to_numpy(dtype=np.int64)
            if na.any():
                value = fill_values[col]
                if isinstance(s.dtype, pd.CategoricalDtype):
                    if value not in s.cat.categories:
                        s = s.cat.add_categories([value])
                    out[col] = s.fillna(value)
                else:
                    out[col] = s.where(~na, value)
    return pd.DataFrame(out, index=frame.index)


def _linear_predictor(spec: _Spec, frame: pd.DataFrame) -> np.ndarray:
    import patsy

    if spec.kind == "design":
        try:
            (x,) = patsy.build_design_matrices(
                [spec.design_info], _patsy_frame(frame, spec.levels), NA_action="raise"
            )
        except patsy.PatsyError as exc:
            raise InputError(
                f"RiskModel.predict cannot build the model's design matrix: {exc}"
            ) from exc
        return np.asarray(x) @ spec.params
    if spec.kind == "formula":
        try:
            x = patsy.dmatrix(
                spec.rhs,
                _patsy_frame(frame),
                NA_action="raise",
                return_type="dataframe",
                eval_env=_eval_env(),
            )
        except patsy.PatsyError as exc:
            raise InputError(
                f"RiskModel.predict cannot evaluate the formula: {exc}"
            ) from exc
        wanted = list(spec.names)
        absent = [n for n in wanted if n not in x.columns]
        extra = [c for c in x.columns if c not in wanted]
        if absent or extra:
            raise InputError(
                "RiskModel.from_coefficients: the formula's design columns do not "
                f"match the coefficients. Without a coefficient: {extra!r}; not "
                f"produced by the formula: {absent!r}. Fix categorical levels "
                "with C(x, levels=[...]) and name the coefficients as patsy does."
            )
        return x[wanted].to_numpy() @ spec.params
    # "terms": one column per published coefficient
    lp = np.full(len(frame), spec.intercept)
    for name, beta in zip(spec.names[1:], spec.params[1:], strict=True):
        lp = lp + beta * _term_column(name, frame, spec)
    return lp


def _term_column(name: str, frame: pd.DataFrame, spec: _Spec) -> np.ndarray:
    if name in frame.columns:
        s = frame[name]
        if not pd.api.types.is_numeric_dtype(s.dtype):
            raise InputError(
                f"RiskModel.from_coefficients: term {name!r} names a non-numeric "
                f"column (dtype {s.dtype}); write one term per level, e.g. "
                f"'{name}[{s.iloc[0] if len(s) else 'level'}]'."
            )
        return s.to_numpy(dtype=float) - float(spec.centre.get(name, 0.0))
    m = _LEVEL_TERM.match(name)
    if m and m.group("col") in frame.columns:
        s = frame[m.group("col")]
        level = m.group("level")
        if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(
            s.dtype
        ):
            try:
                return (s.to_numpy(dtype=float) == float(level)).astype(float)
            except ValueError as exc:
                raise InputError(
                    f"Term {name!r}: column {m.group('col')!r} is numeric but the "
                    f"level {level!r} is not a number."
                ) from exc
        return (s.astype(str).to_numpy() == level).astype(float)
    import patsy

    try:
        x = patsy.dmatrix(
            "0 + " + name,
            _patsy_frame(frame),
            NA_action="raise",
            eval_env=_eval_env(),
        )
    except (patsy.PatsyError, *_FORMULA_ERRORS) as exc:
        cause = exc.__cause__ if isinstance(exc, patsy.PatsyError) else None
        if cause is not None and not isinstance(cause, _FORMULA_ERRORS):
            raise cause from None  # MemoryError and the like stay themselves
        raise InputError(
            f"RiskModel.from_coefficients: term {name!r} is neither a column, "
            f"'column[level]', nor a patsy expression of the data: {exc}"
        ) from exc
    if x.shape[1] != 1:
        raise InputError(
            f"Term {name!r} gives {x.shape[1]} design columns; each published "
            "coefficient needs a term giving exactly one."
        )
    return np.asarray(x)[:, 0]


def _spec_columns(spec: _Spec, columns: Iterable[str]) -> list[str]:
    cols = list(map(str, columns))
    if spec.kind in ("design", "formula"):
        return list(spec.columns) or _referenced(spec.rhs or "", cols)
    out: list[str] = []
    for name in spec.names[1:]:
        if name in cols:
            found = [name]
        elif (m := _LEVEL_TERM.match(name)) and m.group("col") in cols:
            found = [m.group("col")]
        elif name.endswith(_SUFFIX) and name[: -len(_SUFFIX)] in cols:
            found = [name[: -len(_SUFFIX)]]
        else:
            found = _referenced(name, cols)
            if not found:
                raise InputError(
                    f"RiskModel.predict: term {name!r} refers to no column of the "
                    f"data. Available columns: {cols!r}."
                )
        out.extend(c for c in found if c not in out)
    return out


def _predict(spec: _Spec, missing: str, data: pd.DataFrame) -> pd.Series:
    where = "RiskModel.predict"
    check_columns(data, [], where=where)
    cols = _spec_columns(spec, data.columns)
    check_columns(data, cols, where=where)
    frame = select_columns(data, cols)
    na = frame.isna()
    out = np.full(len(frame), np.nan)
    if missing == "indicator":
        unfilled = [c for c in cols if na[c].any() and c not in spec.fill_values]
        keep = ~na[unfilled].any(axis=1).to_numpy() if unfilled else None
        if unfilled:
            warnings.warn(
                f"{where}: column(s) {unfilled!r} have missing values but no "
                "imputation value; those records get a missing risk.",
                ImputationWarning,
                stacklevel=3,
            )
        imputed_only = [
            c
            for c in cols
            if na[c].any()
            and c in spec.fill_values
            and (c + _SUFFIX) not in spec.names
            and spec.kind != "terms"
        ]
        if imputed_only:
            warnings.warn(
                f"{where}: column(s) {imputed_only!r} were complete when the model "
                "was fitted, so it has no missing-indicator term for them; their "
                "missing values are imputed with the fit-time value only.",
                ImputationWarning,
                stacklevel=3,
            )
        frame = _fill(frame, spec.fill_values, where=where)
        if keep is None:
            keep = np.ones(len(frame), dtype=bool)
    else:
        keep = ~na.any(axis=1).to_numpy()
    if keep.any():
        out[keep] = special.expit(_linear_predictor(spec, frame.loc[keep]))
    return pd.Series(out, index=data.index, name="expected")
