"""ccdata: comparative quality data for clinical communities.

Validate site submissions, compute completeness, funnel-plot limits,
risk-adjusted ratios, run and SPC charts, and draw them without ranking.

The statistics are imported eagerly (numpy, scipy, pandas, pandera); the
plotting module :mod:`ccdata.plot` (matplotlib) and statsmodels are imported
only when first used, so ``import ccdata`` stays light for batch jobs.

Namespace
---------
Every public function and result type is importable from the root
(``ccdata.funnel``, ``ccdata.spc``, ``ccdata.FunnelResult``). The subpackages
are named for their idea, never for a function, so a module and a function
never share a name: :mod:`ccdata.comparison` (funnel statistics),
:mod:`ccdata.variation` (run and SPC charts), :mod:`ccdata.risk`,
:mod:`ccdata.completeness`, :mod:`ccdata.validation`, :mod:`ccdata.schemas`,
:mod:`ccdata.io`, :mod:`ccdata.survey` (patient-experience surveys),
:mod:`ccdata.errors`, :mod:`ccdata.plot` and
:mod:`ccdata.report` (the batch job).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from ccdata.comparison import (
    CHANGE_STATUS,
    FunnelChangeResult,
    FunnelResult,
    ScreenResult,
    funnel,
    funnel_change,
    funnel_limits,
    screen,
)
from ccdata.completeness import (
    add_period,
    case_ascertainment,
    data_quality,
    field_completeness,
    record_completeness,
    submission_status,
    submission_volume,
    timeliness,
)
from ccdata.errors import (
    CCDataError,
    CCDataWarning,
    CompletenessWarning,
    ConfigError,
    DisclosureError,
    EmptyUnitWarning,
    ImputationWarning,
    InputError,
    RiskWarning,
    SchemaDefinitionError,
    SeparationWarning,
    SPCWarning,
    SubmissionReadError,
)
from ccdata.io import (
    read_site_list,
    read_submission,
    read_table,
)
from ccdata.risk import (
    ARLEstimate,
    CusumResult,
    HosmerLemeshow,
    ObservedExpectedResult,
    RiskDiagnostics,
    RiskModel,
    VladResult,
    cusum_arl,
    fit_risk_model,
    observed_expected,
    risk_adjusted_cusum,
    vlad,
)
from ccdata.schemas import (
    date_order,
    get_schema,
    identifier_columns,
    key_columns,
    list_schemas,
    mandatory_columns,
    not_greater_than,
    register_schema,
    registered_sites,
    site_column,
)
from ccdata.survey import (
    CaseMixResult,
    SurveyFunnels,
    TrustPriorities,
    case_mix_adjust,
    survey_funnels,
    survey_indicators,
    trust_priorities,
)
from ccdata.validation import (
    ERROR_COLUMNS,
    ValidationResult,
    redact_identifiers,
    validate,
)
from ccdata.variation import (
    SPCResult,
    anhoej_limits,
    spc,
)

if TYPE_CHECKING:
    from ccdata import plot

try:
    __version__ = version("ccdata")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = [
    "ARLEstimate",
    "CCDataError",
    "CaseMixResult",
    "CCDataWarning",
    "CHANGE_STATUS",
    "CompletenessWarning",
    "ConfigError",
    "CusumResult",
    "DisclosureError",
    "ERROR_COLUMNS",
    "EmptyUnitWarning",
    "FunnelChangeResult",
    "FunnelResult",
    "HosmerLemeshow",
    "ImputationWarning",
    "InputError",
    "ObservedExpectedResult",
    "RiskDiagnostics",
    "RiskModel",
    "RiskWarning",
    "SPCResult",
    "SPCWarning",
    "SchemaDefinitionError",
    "ScreenResult",
    "SeparationWarning",
    "SubmissionReadError",
    "SurveyFunnels",
    "TrustPriorities",
    "ValidationResult",
    "VladResult",
    "add_period",
    "anhoej_limits",
    "case_ascertainment",
    "case_mix_adjust",
    "cusum_arl",
    "data_quality",
    "date_order",
    "field_completeness",
    "fit_risk_model",
    "funnel",
    "funnel_change",
    "funnel_limits",
    "get_schema",
    "identifier_columns",
    "key_columns",
    "list_schemas",
    "mandatory_columns",
    "not_greater_than",
    "observed_expected",
    "plot",
    "read_site_list",
    "read_submission",
    "read_table",
    "record_completeness",
    "redact_identifiers",
    "register_schema",
    "registered_sites",
    "risk_adjusted_cusum",
    "screen",
    "site_column",
    "spc",
    "submission_status",
    "submission_volume",
    "survey_funnels",
    "survey_indicators",
    "timeliness",
    "trust_priorities",
    "validate",
    "vlad",
    "__version__",
]


def __getattr__(name: str) -> Any:
    # Lazy: matplotlib is imported only when ccdata.plot is first used.
    if name == "plot":
        return importlib.import_module("ccdata.plot")
    raise AttributeError(f"module 'ccdata' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
