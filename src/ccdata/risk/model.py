"""Logistic risk models: fit one or apply a published one.

Formulas use the patsy formula language, the default formula engine of
statsmodels 0.15 (``C(x)`` for categorical terms, ``bs(x, df=4)`` / ``cr(x, df=4)``
for splines, ``I(age - 70)`` for arithmetic, ``np.log(x)``). The design matrix is
built with patsy directly and its ``DesignInfo`` is kept, so prediction on new
data re-uses the categorical levels, spline knots and imputation values learned
at fit time. The likelihood is maximised by statsmodels' ``Logit`` (Newton
steps, ``ccdata.risk._fit``), with model-based, heteroscedasticity-robust or
cluster-robust standard errors. patsy and statsmodels are imported only inside
the functions that need them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ccdata._params import check_choice, check_columns
from ccdata.errors import InputError
from ccdata.risk._common import binary_outcome, unit_codes
from ccdata.risk._design import (
    _MISSING,
    _SUFFIX,
    Missing,
    _fill,
    _is_categorical,
    _predict,
    _referenced,
    _Spec,
    fit_levels,
    select_columns,
)
from ccdata.risk._fit import COV_TYPES, CovType, fit_logistic
from ccdata.risk.diagnostics import RiskDiagnostics, assess_predictions

__all__ = ["RiskModel", "fit_risk_model"]


@dataclass(frozen=True)
class RiskModel:
    """A logistic risk model, fitted here or published elsewhere.

    Attributes
    ----------
    formula : str
        Right-hand side of the model (patsy syntax), including any missing-value
        indicator terms added by ``missing="indicator"``.
    outcome : str or None
        Outcome column the model was fitted or assessed on.
    coefficients : DataFrame
        Columns ``term, estimate, std_error, odds_ratio, ci_lower, ci_upper,
        p_value``. ``estimate`` is on the log-odds scale; ``ci_lower`` and
        ``ci_upper`` are the 95% Wald confidence limits of the **odds ratio**
        (``exp(estimate -/+ 1.96 std_error)``). Published models have missing
        standard errors, limits and p-values.
    missing : {"complete_case", "indicator"}
        Missing-data strategy, applied again by :meth:`predict`.
    missing_data : DataFrame
        One row per covariate column: ``covariate, n_missing, action,
        fill_value``; ``action`` is "dropped" (complete case), "imputed"
        (value plus indicator term) or "none".
    n_records, n_used, n_dropped, n_imputed : int
        Records given, records used in the fit, records dropped (complete case)
        and records with at least one imputed value (indicator method).
    n_events : int or None
        Deaths among the records used.
    diagnostics : RiskDiagnostics or None
        Discrimination and calibration (on the fitting data for fitted models;
        on ``data`` passed to :meth:`from_coefficients` for published ones).
    source : {"fitted", "published"}
    cov_type : {"nonrobust", "HC1", "cluster"}
        How ``std_error`` (and the limits and p-values) were estimated; see
        :func:`fit_risk_model`. "nonrobust" for published models.
    """

    formula: str
    outcome: str | None
    coefficients: pd.DataFrame
    missing: str
    missing_data: pd.DataFrame
    n_records: int
    n_used: int
    n_dropped: int
    n_imputed: int
    n_events: int | None
    diagnostics: RiskDiagnostics | None
    source: str
    _spec: _Spec = field(repr=False, compare=False)
    cov_type: str = "nonrobust"
    _result: Any = field(default=None, repr=False, compare=False)

    # -- diagnostics shortcuts ------------------------------------------------
    def _diag(self) -> RiskDiagnostics:
        if self.diagnostics is None:
            raise InputError(
                "This published RiskModel has no diagnostics: pass data= and "
                "outcome= to RiskModel.from_coefficients, or call "
                "model.assess(data, outcome=...)."
            )
        return self.diagnostics

    @property
    def c_statistic(self) -> float:
        """Area under the ROC curve (:func:`~ccdata.risk.diagnostics.c_statistic`)."""
        return self._diag().c_statistic

    @property
    def c_statistic_ci(self) -> tuple[float, float]:
        """95% DeLong confidence interval of the c-statistic, (lower, upper)."""
        return self._diag().c_statistic_ci

    @property
    def calibration_in_the_large(self) -> float:
        """Intercept of ``logit P(y) = a + offset(logit p)``; 0 when calibrated."""
        return self._diag().calibration_in_the_large

    @property
    def calibration_slope(self) -> float:
        """Slope of ``logit P(y) = a + b logit p`` (Cox 1958); 1 when calibrated."""
        return self._diag().calibration_slope

    @property
    def hosmer_lemeshow(self):
        """Hosmer-Lemeshow test on deciles of risk (statistic, df, p_value)."""
        return self._diag().hosmer_lemeshow

    @property
    def brier_score(self) -> float:
        """Mean squared difference between outcome and predicted risk."""
        return self._diag().brier_score

    @property
    def calibration_table(self) -> pd.DataFrame:
        """Observed and expected deaths per decile of predicted risk."""
        return self._diag().calibration_table

    def to_frame(self) -> pd.DataFrame:
        """Return the coefficient table (CSV-ready)."""
        return self.coefficients.copy()

    # -- statsmodels ----------------------------------------------------------
    @property
    def statsmodels_result(self) -> Any:
        """Statsmodels' ``LogitResults`` of a fitted model (None if published).

        Its data arrays are removed (``remove_data()``) so that the model does
        not keep the design matrix alive; estimates, covariance, likelihoods and
        :meth:`summary` remain.
        """
        return self._result

    def summary(self) -> Any:
        """Statsmodels' printable report of the fit (``Summary``).

        ``print(model.summary())`` gives the familiar regression table; it also
        renders as HTML in a notebook and has ``as_text()``, ``as_html()`` and
        ``as_latex()``. In ccdata ``summary()`` always means such a printable
        report; tables come from :meth:`to_frame`.

        Raises
        ------
        InputError
            For a published model, which has no fit to report: use
            :meth:`to_frame` for its coefficients.
        """
        if self._result is None:
            raise InputError(
                "RiskModel.summary() reports a statsmodels fit; this model was "
                "published (from_coefficients), so it has none. Use to_frame() "
                "for its coefficient table."
            )
        inner = getattr(self._result, "_results", self._result)
        if hasattr(inner, "_separation_etext"):
            return self._result.summary()
        # statsmodels 0.14.0's BinaryResults.summary() recomputes its
        # separation note from the data remove_data() dropped: build the
        # tables with DiscreteResults.summary and add the note kept at fit.
        from statsmodels.discrete.discrete_model import DiscreteResults

        smry = DiscreteResults.summary(inner)
        note = getattr(inner, "_ccdata_separation_etext", [])
        if note:
            smry.add_extra_txt(note)
        return smry

    def __repr__(self) -> str:
        """Summarise the model in one line."""
        events = "" if self.n_events is None else f", {self.n_events:,} events"
        c = (
            ""
            if self.diagnostics is None
            else f", c-statistic {self.diagnostics.c_statistic:.3f}"
        )
        formula = self.formula if len(self.formula) <= 60 else self.formula[:57] + "..."
        return (
            f"RiskModel({self.source}, {len(self.coefficients)} terms, "
            f"n_used={self.n_used:,}{events}{c}; {formula!r})"
        )

    def _repr_html_(self) -> str:
        from html import escape

        head = f"<p><b>{escape(repr(self))}</b></p>"
        table = self.coefficients.to_html(index=False, float_format="{:.4g}".format)
        return head + table

    # -- prediction -----------------------------------------------------------
    def predict(self, data: pd.DataFrame) -> pd.Series:
        """Predict the expected risk of death for each record of ``data``.

        The model's missing-data strategy is applied again: with
        ``"indicator"`` the values learned at fit time are imputed (and the
        indicator set); with ``"complete_case"`` records missing a risk factor
        get a missing (NaN) risk.

        Returns
        -------
        Series
            Named ``"expected"``, aligned to ``data.index``.

        Raises
        ------
        InputError
            A needed column is absent, or a categorical level was not seen
            when the model was fitted.
        """
        return _predict(self._spec, self.missing, data)

    def assess(
        self, data: pd.DataFrame, outcome: str, *, groups: int = 10
    ) -> RiskDiagnostics:
        """Discrimination and calibration of this model on ``data``.

        Records the model cannot score (complete case) are left out. The
        Hosmer-Lemeshow test uses ``groups`` degrees of freedom (validation
        data, Hosmer, Lemeshow & Sturdivant 2013, section 5.2.2).
        """
        check_columns(data, [outcome], where="RiskModel.assess")
        p = self.predict(data).to_numpy()
        keep = ~np.isnan(p)
        y = binary_outcome(data.loc[keep], outcome, where="RiskModel.assess")
        return assess_predictions(y, p[keep], groups=groups, development=False)

    # -- published models ----------------------------------------------------
    @classmethod
    def from_coefficients(
        cls,
        intercept: float,
        coefficients: Mapping[str, float],
        *,
        formula: str | None = None,
        centre: Mapping[str, float] | None = None,
        missing: Missing = "complete_case",
        fill_values: Mapping[str, Any] | None = None,
        data: pd.DataFrame | None = None,
        outcome: str | None = None,
        groups: int = 10,
    ) -> RiskModel:
        """Apply a published logistic model without refitting.

        Parameters
        ----------
        intercept : float
            The model's constant (log-odds).
        coefficients : mapping of str to float
            Log-odds coefficient per term. Without ``formula`` each key is one of

            * a numeric column name, entering linearly (minus ``centre[col]``);
            * ``"column[level]"``, an indicator of that level, e.g.
              ``"sex[F]"``, ``"asa_grade[4]"`` (numeric columns compare
              numerically, others as text);
            * ``"column_missing"``, the 0/1 indicator made by
              ``missing="indicator"``;
            * any patsy expression giving one column, e.g.
              ``"np.log(creatinine_umol_l)"`` or ``"I((age - 70) / 10)"``.

            With ``formula`` the keys must be the design-matrix column names
            patsy gives that formula; fix categorical levels with
            ``C(x, levels=[...])`` so that the coding does not depend on the
            data scored.
        formula : str, optional
            Right-hand side in patsy syntax (``"~ ..."`` accepted).
        centre : mapping of str to float, optional
            Values subtracted from plain numeric-column terms, e.g.
            ``{"age": 70}`` for a model published for "age minus 70".
        missing : {"complete_case", "indicator"}, default "complete_case"
            With "indicator", ``fill_values`` gives the value imputed per column.
        fill_values : mapping, optional
            Column -> value imputed when missing (``missing="indicator"``).
        data, outcome : DataFrame and str, optional
            When given, the diagnostics are computed on them (validation: the
            Hosmer-Lemeshow test has ``groups`` degrees of freedom).
        groups : int, default 10

        Returns
        -------
        RiskModel
            With ``source="published"``.

        Examples
        --------
        >>> m = RiskModel.from_coefficients(
        ...     -3.0, {"age": 0.05, "sex[F]": 0.3}, centre={"age": 70})
        >>> df = pd.DataFrame({"age": [70, 80], "sex": ["M", "F"]})
        >>> m.predict(df).round(4).tolist()
        [0.0474, 0.0998]
        """
        check_choice(missing, _MISSING, name="missing", where="from_coefficients")
        coefs = {str(k): float(v) for k, v in dict(coefficients).items()}
        if not coefs and formula is None:
            raise InputError(
                "The 'coefficients' parameter of from_coefficients needs at least "
                f"one term -> coefficient. Got {coefficients!r}."
            )
        fills = dict(fill_values or {})
        if missing == "indicator" and not fills:
            raise InputError(
                "from_coefficients(missing='indicator') needs 'fill_values': the "
                "value the published model imputes for each column."
            )
        names = ("Intercept", *coefs)
        params = np.array([float(intercept), *coefs.values()])
        if formula is not None:
            rhs = formula.split("~", 1)[1] if "~" in formula else formula
            spec = _Spec("formula", params, names, rhs=rhs.strip(), fill_values=fills)
            shown = rhs.strip()
        else:
            spec = _Spec(
                "terms",
                params,
                names,
                intercept=float(intercept),
                centre=dict(centre or {}),
                fill_values=fills,
            )
            shown = " + ".join(coefs)
        table = pd.DataFrame(
            {
                "term": list(names),
                "estimate": params,
                "std_error": np.nan,
                "odds_ratio": np.exp(params),
                "ci_lower": np.nan,
                "ci_upper": np.nan,
                "p_value": np.nan,
            }
        )
        missing_table = pd.DataFrame(
            {
                "covariate": list(fills),
                "n_missing": 0,
                "action": "imputed",
                "fill_value": pd.Series(list(fills.values()), dtype=object),
            }
        )
        model = cls(
            formula=shown,
            outcome=outcome,
            coefficients=table,
            missing=missing,
            missing_data=missing_table,
            n_records=0,
            n_used=0,
            n_dropped=0,
            n_imputed=0,
            n_events=None,
            diagnostics=None,
            source="published",
            _spec=spec,
        )
        if data is not None:
            if outcome is None:
                raise InputError(
                    "from_coefficients: 'outcome' is needed when 'data' is given."
                )
            diag = model.assess(data, outcome, groups=groups)
            model = _replace(
                model,
                diagnostics=diag,
                n_records=len(data),
                n_used=diag.n,
                n_dropped=len(data) - diag.n,
                n_events=diag.observed,
            )
        return model


def _replace(model: RiskModel, **changes: Any) -> RiskModel:
    return dataclasses.replace(model, **changes)


# ---------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------
def _rhs(outcome: str, covariates: Any, formula: str | None) -> str:
    if (covariates is None) == (formula is None):
        raise InputError(
            "fit_risk_model needs exactly one of 'covariates' (a list of columns "
            "or patsy terms) and 'formula'. Got "
            f"covariates={covariates!r}, formula={formula!r}."
        )
    if formula is not None:
        if not isinstance(formula, str):
            raise InputError(
                f"The 'formula' parameter must be a string. Got {formula!r}."
            )
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


def fit_risk_model(
    data: pd.DataFrame,
    outcome: str,
    covariates: Sequence[str] | None = None,
    formula: str | None = None,
    *,
    missing: Missing = "complete_case",
    groups: int = 10,
    cov_type: CovType = "nonrobust",
    unit: str | None = None,
) -> RiskModel:
    """Fit a logistic regression risk model (maximum likelihood, logit link).

    Parameters
    ----------
    data : DataFrame
        One row per patient.
    outcome : str
        0/1 (or boolean) outcome column, e.g. ``"died_in_hospital"``.
    covariates : list of str, optional
        Columns or patsy terms, joined with ``+``. Numeric columns enter
        linearly and text columns as categories; write ``"C(asa_grade)"`` for a
        numeric code treated as categorical and ``"bs(age, df=4)"`` or
        ``"cr(age, df=4)"`` for a spline.
    formula : str, optional
        Instead of ``covariates``: a patsy right-hand side (``"age + C(sex)"``)
        or full formula (``"died ~ age + C(sex)"``).
    missing : {"complete_case", "indicator"}, default "complete_case"
        How missing risk factors are handled (the counts are reported in
        ``missing_data``):

        * ``"complete_case"``: records missing any covariate are dropped from
          the fit; :meth:`RiskModel.predict` gives them a missing risk.
        * ``"indicator"``: missing values are imputed (median of a numeric
          column, most frequent level of a categorical one, learned here and
          re-used at prediction) and a 0/1 term ``<column>_missing`` is added
          for each column with missing values, so its records keep their own
          baseline (the missing-indicator method).
    groups : int, default 10
        Risk groups for Hosmer-Lemeshow and the calibration table.
    cov_type : {"nonrobust", "HC1", "cluster"}, default "nonrobust"
        Standard errors of the coefficients (the estimates do not change):
        the inverse observed information ("nonrobust"); White's
        heteroscedasticity-consistent sandwich with the ``n/(n-p)`` factor
        ("HC1"); or the cluster-robust sandwich with the patients of each
        ``unit`` as a cluster ("cluster", with statsmodels' small-sample
        factor ``G/(G-1) (n-1)/(n-p)``), for patients within sites.
    unit : str, optional
        The unit (site) column; needed for ``cov_type="cluster"``.

    Returns
    -------
    RiskModel
        :meth:`RiskModel.summary` gives statsmodels' report of the fit and
        :attr:`RiskModel.statsmodels_result` its ``LogitResults``.

    Raises
    ------
    InputError
        Outcome not 0/1 or missing; no deaths or no survivors; a covariate with
        a single level; collinear terms; complete separation; a formula patsy
        cannot evaluate on the data. Other failures (e.g. ``MemoryError``)
        propagate as what they are.

    Warns
    -----
    SeparationWarning
        Quasi-complete separation (e.g. a category with no deaths).

    Notes
    -----
    The design matrix is built by patsy and the likelihood maximised by
    statsmodels' ``Logit(...).fit(method="newton")`` (Newton-Raphson, which for
    the canonical logit link is Fisher scoring); statsmodels is imported only
    when a model is fitted. Wald limits and p-values use ``cov_type``'s
    standard errors and the normal distribution. Diagnostics are on the
    fitting data (apparent performance:
    calibration-in-the-large is 0 and the slope 1 by construction for a
    maximum-likelihood fit with an intercept; judge calibration on new data with
    :meth:`RiskModel.assess`).

    References
    ----------
    .. [1] McCullagh P, Nelder JA (1989). Generalized Linear Models, 2nd ed.
       Chapman & Hall.
    .. [2] Groenwold RHH, White IR, Donders ART, et al. (2012). Missing
       covariate data in clinical research: when and when not to use the
       missing-indicator method for analysis. CMAJ 184:1265-1269.
    .. [3] White H (1980). A heteroskedasticity-consistent covariance matrix
       estimator and a direct test for heteroskedasticity. Econometrica
       48:817-838.
    .. [4] Cameron AC, Miller DL (2015). A practitioner's guide to
       cluster-robust inference. J Hum Resour 50:317-372.
    .. [5] Seabold S, Perktold J (2010). statsmodels: econometric and
       statistical modeling with Python. Proc 9th Python in Science Conf.

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> df = pd.DataFrame({"age": rng.normal(72, 8, 4000)})
    >>> df["died"] = rng.binomial(1, 1 / (1 + np.exp(-(-3.5 + 0.06 * (df.age - 72)))))
    >>> m = fit_risk_model(df, "died", ["age"])
    >>> m.coefficients.term.tolist()
    ['Intercept', 'age']
    >>> 0.5 < m.c_statistic < 0.8
    True
    """
    where = "fit_risk_model"
    check_columns(data, [outcome], where=where)
    check_choice(missing, _MISSING, name="missing", where=where)
    check_choice(cov_type, COV_TYPES, name="cov_type", where=where)
    if cov_type == "cluster" and unit is None:
        raise InputError(
            f"{where}(cov_type='cluster') needs 'unit', the column whose values "
            "are the clusters (e.g. unit='site_id')."
        )
    if unit is not None:
        check_columns(data, [unit], where=where)
    rhs = _rhs(outcome, covariates, formula)
    cols = [c for c in _referenced(rhs, data.columns) if c != outcome]
    if not cols:
        raise InputError(
            f"{where}: the model {rhs!r} refers to no column of the data. "
            f"Available columns: {list(map(str, data.columns))!r}."
        )
    y_all = binary_outcome(data, outcome, where=where)
    frame = select_columns(data, cols)
    na = frame.isna()
    n_missing = na.sum().astype(int)
    fill_values: dict[str, Any] = {}
    if missing == "complete_case":
        keep = ~na.any(axis=1).to_numpy()
        actions = ["dropped" if n_missing[c] else "none" for c in cols]
        fills: list[Any] = [None] * len(cols)
        indicator_terms: list[str] = []
    else:
        for c in cols:
            observed = frame[c].dropna()
            if observed.empty:
                raise InputError(f"{where}: covariate {c!r} has no observed values.")
            if _is_categorical(frame[c], rhs, c):
                fill_values[c] = observed.value_counts().sort_index().idxmax()
            else:
                fill_values[c] = float(observed.median())
        indicator_terms = [c + _SUFFIX for c in cols if n_missing[c]]
        clash = [t for t in indicator_terms if t in data.columns]
        if clash:
            raise InputError(
                f"{where}: missing='indicator' needs to create column(s) {clash!r}, "
                "which already exist in the data; rename them."
            )
        keep = np.ones(len(frame), dtype=bool)
        actions = ["imputed" if n_missing[c] else "none" for c in cols]
        fills = [fill_values[c] for c in cols]
    used = frame if keep.all() else frame.loc[keep]
    y = y_all[keep]
    for c in cols:
        seen = used[c].dropna().unique()
        if len(seen) < 2:
            shown = seen[0] if len(seen) else "(none)"
            raise InputError(
                f"{where}: covariate {c!r} has a single level ({shown!r}) among "
                f"the {int(keep.sum())} records used, so its effect cannot be "
                "estimated; drop it from the model."
            )
    n_events = int(y.sum())
    if n_events == 0 or n_events == y.size:
        raise InputError(
            f"{where}: outcome {outcome!r} has {n_events} event(s) among "
            f"{y.size} records used; a risk model needs both deaths and survivors."
        )
    if missing == "indicator":
        used = _fill(used, fill_values, where=where)
    rhs_fit = " + ".join([rhs, *indicator_terms])
    levels = fit_levels(used, rhs_fit)
    clusters = None
    if cov_type == "cluster":
        clusters, _ = unit_codes(
            data.loc[keep] if not keep.all() else data, str(unit), where=where
        )
    fit = fit_logistic(
        y,
        used,
        rhs_fit,
        levels,
        where=where,
        cov_type=cov_type,
        groups=clusters,
        yname=str(outcome),
    )
    params, se, design_info, mu = fit.params, fit.std_error, fit.design_info, fit.mu
    z = stats.norm.ppf(0.975)
    with np.errstate(over="ignore"):
        table = pd.DataFrame(
            {
                "term": list(design_info.column_names),
                "estimate": params,
                "std_error": se,
                "odds_ratio": np.exp(params),
                "ci_lower": np.exp(params - z * se),
                "ci_upper": np.exp(params + z * se),
                "p_value": fit.p_value,
            }
        )
    missing_table = pd.DataFrame(
        {
            "covariate": cols,
            "n_missing": [int(n_missing[c]) for c in cols],
            "action": actions,
            "fill_value": pd.Series(fills, dtype=object),
        }
    )
    spec = _Spec(
        "design",
        params,
        tuple(design_info.column_names),
        rhs=rhs_fit,
        design_info=design_info,
        fill_values=fill_values,
        columns=tuple(cols),
        levels=levels,
    )
    return RiskModel(
        formula=rhs_fit,
        outcome=outcome,
        coefficients=table,
        missing=missing,
        missing_data=missing_table,
        n_records=len(data),
        n_used=int(keep.sum()),
        n_dropped=int((~keep).sum()),
        n_imputed=int(na.any(axis=1).sum()) if missing == "indicator" else 0,
        n_events=n_events,
        diagnostics=assess_predictions(y, mu, groups=groups, development=True),
        source="fitted",
        _spec=spec,
        cov_type=cov_type,
        _result=fit.result,
    )
