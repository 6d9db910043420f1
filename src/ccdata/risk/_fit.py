"""Maximum-likelihood logistic regression through statsmodels (private).

The design matrix is built by patsy (categorical columns handed over as pandas
Categoricals, which keeps a million-patient design fast) and the model is fitted
by ``statsmodels.discrete.discrete_model.Logit(...).fit(method="newton")``.
statsmodels and patsy are imported inside the functions, never at
``import ccdata``.

Only the errors a step can explain are turned into :class:`InputError`: a formula
patsy cannot read or evaluate on the data, a collinear design, separation. Running
out of memory, an interrupted run or any other failure propagates as what it is.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from ccdata.errors import InputError, RiskWarning, SeparationWarning
from ccdata.risk._design import _FORMULA_ERRORS, _eval_env, _patsy_frame

__all__ = ["COV_TYPES", "CovType", "LogisticFit", "fit_logistic"]

CovType = Literal["nonrobust", "HC1", "cluster"]
COV_TYPES = ("nonrobust", "HC1", "cluster")


@dataclass(frozen=True)
class LogisticFit:
    """What :func:`fit_logistic` hands back to :func:`fit_risk_model`."""

    params: np.ndarray
    std_error: np.ndarray
    p_value: np.ndarray
    design_info: Any
    mu: np.ndarray
    result: Any  # statsmodels LogitResults, data arrays removed
    cov_type: str


def design_matrix(
    rhs: str, frame: pd.DataFrame, levels: Mapping[str, tuple], *, where: str
) -> Any:
    """Patsy ``dmatrix`` of ``rhs``; a formula error is an :class:`InputError`."""
    import patsy

    data = _patsy_frame(frame, levels)  # its InputError (unknown level) passes
    try:
        return patsy.dmatrix(rhs, data, NA_action="raise", eval_env=_eval_env())
    except patsy.PatsyError as exc:
        cause = exc.__cause__
        if cause is not None and not isinstance(cause, _FORMULA_ERRORS):
            raise cause from None
        raise InputError(f"{where}: cannot build the model {rhs!r}: {exc}") from exc
    except _FORMULA_ERRORS as exc:
        raise InputError(f"{where}: cannot build the model {rhs!r}: {exc}") from exc


def _no_callback(*args: Any) -> None:
    return None


def _llnull(y: np.ndarray) -> float:
    n, d = float(y.size), float(y.sum())
    return float(special.xlogy(d, d / n) + special.xlogy(n - d, (n - d) / n))


def _separation_note(y: np.ndarray, mu: np.ndarray) -> list[str]:
    """Return the separation note statsmodels' ``BinaryResults.summary`` prints.

    statsmodels 0.14.0 works it out inside ``summary()`` from ``model.endog``
    and the fitted values, which ``remove_data()`` has dropped; later versions
    compute it at fit time (``_separation_etext``). The same rule and words:
    every, or more than a tenth, of the observations predicted within 1e-4.
    """
    close = np.abs(y - mu) < 1e-4
    if close.all():
        return [
            "Complete Separation: The results show that there is"
            "complete separation or perfect prediction.\n"
            "In this case the Maximum Likelihood Estimator does "
            "not exist and the parameters\n"
            "are not identified."
        ]
    frac = float(close.mean()) if close.size else 0.0
    if frac > 0.1:
        return [
            "Possibly complete quasi-separation: A fraction "
            f"{frac:4.2f} of observations can be\n"
            "perfectly predicted. This might indicate that there "
            "is complete\nquasi-separation. In this case some "
            "parameters will not be identified."
        ]
    return []


def _check_rank(x: np.ndarray, names: list[str], rhs: str, *, where: str) -> None:
    xtx = x.T @ x
    d = np.sqrt(np.diag(xtx))
    d[d == 0] = 1.0
    rank = np.linalg.matrix_rank(xtx / np.outer(d, d), tol=1e-10)
    if rank < x.shape[1]:
        raise InputError(
            f"{where}: the design of {rhs!r} is collinear (rank {rank} < "
            f"{x.shape[1]} columns {names!r}); a term is a combination of others, "
            "or a level never occurs. Remove or merge terms."
        )


def _perfect(names: list[str], params: np.ndarray, *, where: str) -> InputError:
    big = [n for n, v in zip(names, params, strict=True) if abs(v) > 5]
    return InputError(
        f"{where}: perfect separation: the covariates predict every outcome "
        f"exactly (terms with runaway coefficients: {big!r}), so no finite "
        "model exists. Remove or merge the separating covariate(s)."
    )


def fit_logistic(
    y: np.ndarray,
    used: pd.DataFrame,
    rhs: str,
    levels: Mapping[str, tuple],
    *,
    where: str,
    cov_type: str = "nonrobust",
    groups: np.ndarray | None = None,
    max_iter: int = 50,
    yname: str = "y",
) -> LogisticFit:
    """Build the patsy design and fit ``logit P(y=1) = X b`` by Newton-Raphson.

    ``cov_type`` is passed to statsmodels: ``"nonrobust"`` (inverse observed
    information), ``"HC1"`` (White's sandwich with the n/(n-p) factor) or
    ``"cluster"`` (sandwich summed within ``groups``, with statsmodels'
    small-sample correction G/(G-1) (n-1)/(n-p), as Stata's ``vce(cluster)``).

    References
    ----------
    .. [1] McCullagh P, Nelder JA (1989). Generalized Linear Models, 2nd ed.
       Chapman & Hall. Section 2.5.
    .. [2] Cameron AC, Miller DL (2015). A practitioner's guide to
       cluster-robust inference. J Hum Resour 50:317-372.
    """
    from statsmodels.discrete.discrete_model import Logit
    from statsmodels.tools import sm_exceptions as sme

    dm = design_matrix(rhs, used, levels, where=where)
    design_info = dm.design_info
    names = list(design_info.column_names)
    x = np.asarray(dm, dtype=float)
    _check_rank(x, names, rhs, where=where)

    p_bar = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    start = np.zeros(x.shape[1])
    const = (
        np.flatnonzero(np.all(x == 1.0, axis=0)) if x.shape[0] else np.array([], int)
    )
    if len(const):
        start[const[0]] = special.logit(p_bar)
    fit_kw: dict[str, Any] = {"cov_type": cov_type}
    if cov_type == "cluster":
        fit_kw["cov_kwds"] = {"groups": groups}
    elif cov_type == "HC1":
        # statsmodels' "HC1" of a maximum-likelihood model is the plain White
        # sandwich (HC0); HC1 proper has the factor n / (n - p).
        n, p = x.shape
        fit_kw["cov_kwds"] = {"scaling_factor": n / (n - p)}

    # The rank was checked above; statsmodels' own check is an SVD of X.
    model = Logit(y, x, check_rank=False)
    model.data.xnames = names  # patsy's column names in summary()
    model.data.ynames = yname
    converged = True
    with (
        warnings.catch_warnings(record=True) as caught,
        np.errstate(over="ignore", divide="ignore", invalid="ignore"),
    ):
        warnings.simplefilter("always")
        try:
            # callback: statsmodels' per-iteration perfect-prediction check
            # costs a pass over X; separation is diagnosed below instead.
            res = model.fit(
                start_params=start,
                method="newton",
                maxiter=max_iter,
                disp=0,
                callback=_no_callback,
                **fit_kw,
            )
        except np.linalg.LinAlgError:
            # The information matrix became singular on the way: the
            # coefficients ran off to infinity (separation).
            res = None
        if res is not None:
            params = np.asarray(res.params, dtype=float)
            converged = bool(res.mle_retvals.get("converged", True))
            se = np.asarray(res.bse, dtype=float)
            pv = np.asarray(res.pvalues, dtype=float)
            mu = special.expit(x @ params)
            # Cache what summary() needs, then drop the n x p arrays so that a
            # RiskModel does not keep the design alive. The intercept-only
            # log-likelihood has a closed form (statsmodels would refit it by
            # Nelder-Mead): n (p log p + (1 - p) log(1 - p)), p the event rate.
            res._cache["llnull"] = _llnull(y)
            for attr in ("llr_pvalue", "prsquared", "llf"):
                getattr(res, attr)
            res.model.endog_names  # noqa: B018 (cached by statsmodels)
            res.model.exog_names  # noqa: B018
            inner = getattr(res, "_results", res)
            if not hasattr(inner, "_separation_etext"):
                # statsmodels 0.14.0: summary() would need the data
                inner._ccdata_separation_etext = _separation_note(y, mu)
            res.remove_data()
    kinds = {type(w.message) for w in caught}
    if res is None:
        raise InputError(
            f"{where}: the model {rhs!r} cannot be fitted: its information "
            "matrix became singular (the outcome is separated by the covariates, "
            f"or a term is almost constant). Terms: {names!r}."
        )
    dead = y > 0.5
    separated = (
        not converged
        and dead.any()
        and (~dead).any()
        and float(np.min(x[dead] @ params)) > float(np.max(x[~dead] @ params))
    )
    if separated or np.all(np.abs(mu - y) < 1e-6):
        raise _perfect(names, params, where=where)
    runaway = [
        n
        for n, v, s in zip(names, params, se, strict=True)
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
    elif not converged or sme.ConvergenceWarning in kinds:
        warnings.warn(
            f"{where}: the logistic regression did not converge in {max_iter} "
            "iterations; check for separation or very sparse levels.",
            RiskWarning,
            stacklevel=3,
        )
    return LogisticFit(
        params=params,
        std_error=se,
        p_value=pv,
        design_info=design_info,
        mu=np.clip(mu, 1e-15, 1 - 1e-15),
        result=res,
        cov_type=cov_type,
    )
