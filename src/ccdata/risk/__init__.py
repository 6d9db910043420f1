"""Risk adjustment: logistic risk models, observed/expected ratios, monitoring.

* :func:`fit_risk_model` / :class:`RiskModel` - fit a case-mix model
  (statsmodels, imported lazily) or apply a published one, with discrimination
  and calibration diagnostics, and predict each patient's expected risk.
* :func:`observed_expected` - O/E ratios and risk-adjusted rates per unit
  (:class:`ObservedExpectedResult`; its ``to_frame()`` is ready for
  ``ccdata.funnel(..., kind="ratio")``).
* :func:`risk_adjusted_cusum`, :func:`vlad`, :func:`cusum_arl` - monitoring
  outcomes patient by patient (:class:`CusumResult`, :class:`VladResult`).

Warnings raised here subclass :class:`ccdata.risk._common.RiskWarning`
(itself a :class:`ccdata.errors.CCDataWarning`).
"""

from __future__ import annotations

from ccdata.errors import (
    EmptyUnitWarning,
    ImputationWarning,
    RiskWarning,
    SeparationWarning,
)
from ccdata.risk.diagnostics import HosmerLemeshow, RiskDiagnostics
from ccdata.risk.model import RiskModel, fit_risk_model
from ccdata.risk.monitoring import ARLEstimate, cusum_arl, risk_adjusted_cusum, vlad
from ccdata.risk.oe import observed_expected
from ccdata.risk.result import (
    CusumResult,
    ObservedExpectedResult,
    PooledObservedExpected,
    VladResult,
)

__all__ = [
    "ARLEstimate",
    "CusumResult",
    "EmptyUnitWarning",
    "HosmerLemeshow",
    "ImputationWarning",
    "ObservedExpectedResult",
    "PooledObservedExpected",
    "RiskDiagnostics",
    "RiskModel",
    "RiskWarning",
    "SeparationWarning",
    "VladResult",
    "cusum_arl",
    "fit_risk_model",
    "observed_expected",
    "risk_adjusted_cusum",
    "vlad",
]
