"""Input checks and warnings shared by the risk-adjustment modules."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ccdata.errors import EmptyUnitWarning, InputError


def binary_outcome(data: pd.DataFrame, column: str, *, where: str) -> np.ndarray:
    """Return ``data[column]`` as a float array of 0/1, or raise InputError."""
    values = data[column]
    if values.isna().any():
        n_na = int(values.isna().sum())
        raise InputError(
            f"{where}: outcome column {column!r} has {n_na} missing value(s). "
            "Every record needs an outcome of 0 or 1; drop or correct those "
            "records first."
        )
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float)
    try:
        arr = values.to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{where}: outcome column {column!r} must hold 0/1 (or True/False). "
            f"Got values such as {values.unique()[:5].tolist()!r}."
        ) from exc
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        raise InputError(
            f"{where}: outcome column {column!r} must hold 0/1 (or True/False). "
            f"Got {int(bad.sum())} other value(s), e.g. "
            f"{pd.unique(arr[bad])[:5].tolist()!r}."
        )
    return arr


def risk_array(data: pd.DataFrame, column: str, *, where: str) -> np.ndarray:
    """Return ``data[column]`` as a float array of risks in (0, 1), or raise."""
    try:
        arr = data[column].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"{where}: expected-risk column {column!r} must be numeric "
            f"probabilities in (0, 1). Got dtype {data[column].dtype}."
        ) from exc
    if np.isnan(arr).any():
        raise InputError(
            f"{where}: expected-risk column {column!r} has "
            f"{int(np.isnan(arr).sum())} missing value(s). Predict with "
            "missing='indicator', or drop the records the model could not "
            "score (complete-case prediction leaves them missing)."
        )
    bad = (arr <= 0.0) | (arr >= 1.0)
    if bad.any():
        raise InputError(
            f"{where}: expected-risk column {column!r} must hold each patient's "
            f"predicted risk, strictly between 0 and 1. Got {int(bad.sum())} "
            f"value(s) outside (0, 1), e.g. {arr[bad][:5].tolist()!r}."
        )
    return arr


def unit_codes(
    data: pd.DataFrame, unit: str, *, where: str
) -> tuple[np.ndarray, pd.Index]:
    """Integer codes (sorted unit order) and the unit labels; warn on empty units."""
    values = data[unit]
    if values.isna().any():
        raise InputError(
            f"{where}: unit column {unit!r} has {int(values.isna().sum())} "
            "missing value(s); every record needs a unit."
        )
    if isinstance(values.dtype, pd.CategoricalDtype):
        used = values.cat.remove_unused_categories()
        empty = sorted(set(values.cat.categories) - set(used.cat.categories), key=str)
        if empty:
            import warnings

            warnings.warn(
                f"{where}: unit(s) {empty!r} of {unit!r} have no records and are "
                "left out.",
                EmptyUnitWarning,
                stacklevel=3,
            )
        values = used
    codes, labels = pd.factorize(values, sort=True)
    return codes.astype(np.int64), pd.Index(labels)
