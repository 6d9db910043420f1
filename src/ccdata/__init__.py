"""ccdata: comparative quality data for clinical communities.

Validate site submissions, compute completeness, funnel-plot limits,
risk-adjusted ratios, run and SPC charts, and draw them without ranking.

The statistics are imported eagerly (numpy, scipy, pandas, pandera); the
plotting module :mod:`ccdata.plot` (matplotlib) and statsmodels are imported
only when first used, so ``import ccdata`` stays light for batch jobs.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Modules whose public names (their ``__all__``) are re-exported at the package
# root. Importing a function named like its module (``funnel``, ``spc``) here
# also makes ``ccdata.funnel`` the function rather than the module.
_EXPORTING_MODULES = (
    "ccdata.errors",
    "ccdata.schemas",
    "ccdata.validation",
    "ccdata.io",
    "ccdata.completeness",
    "ccdata.funnel",
    "ccdata.risk",
    "ccdata.spc",
)

__all__: list[str] = ["__version__", "plot"]

for _name in _EXPORTING_MODULES:
    _module = importlib.import_module(_name)
    for _public in getattr(_module, "__all__", ()):
        globals()[_public] = getattr(_module, _public)
        __all__.append(_public)
del _name, _module, _public


def __getattr__(name: str) -> Any:
    # Lazy: matplotlib is imported only when ccdata.plot is first used.
    if name == "plot":
        return importlib.import_module("ccdata.plot")
    raise AttributeError(f"module 'ccdata' has no attribute {name!r}")
