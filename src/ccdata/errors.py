"""Exceptions and warnings raised by ccdata.

Every error inherits from :class:`CCDataError` and from the matching built-in
(``ValueError``, ``TypeError``, ...), so ``except ValueError`` still works.
Every warning inherits from :class:`CCDataWarning`.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CCDataError",
    "CCDataWarning",
    "CompletenessWarning",
    "ConfigError",
    "DisclosureError",
    "EmptyUnitWarning",
    "EngineError",
    "EngineMemoryError",
    "ImputationWarning",
    "InputError",
    "OverlappingPeriodsWarning",
    "RiskWarning",
    "SPCWarning",
    "SchemaDefinitionError",
    "SeparationWarning",
    "SubmissionReadError",
]


class CCDataError(Exception):
    """Base class of every error raised by ccdata."""


class InputError(CCDataError, ValueError):
    """A function was given data or a parameter it cannot use.

    The message names the parameter (or column) and echoes the bad value.
    """


class SchemaDefinitionError(CCDataError, ValueError):
    """A schema name is unknown, or a schema definition is inconsistent.

    Named so as not to be mistaken for pandera's ``SchemaError`` (a failed
    check). The old name ``ccdata.errors.SchemaError`` still works, with a
    ``FutureWarning``.
    """


class SubmissionReadError(CCDataError, ValueError):
    """A submission file cannot be read as a table at all.

    Raised for a missing or empty file, an unreadable encoding, something that
    is not a table, or missing required columns. The message names the file.

    Attributes
    ----------
    path : str or None
        The file that could not be read.
    """

    def __init__(self, message: str, *, path: Any = None) -> None:
        super().__init__(message)
        self.path = None if path is None else str(path)


class ConfigError(CCDataError, ValueError):
    """A batch-job configuration file is invalid; the message names key and file."""


class CCDataWarning(UserWarning):
    """Base class of every warning emitted by ccdata."""


class DisclosureError(CCDataError, RuntimeError):
    """An output names another site or a suppressed count; nothing is published."""


class CompletenessWarning(CCDataWarning):
    """Records or returns were left out of a completeness measure, or a column absent.

    The message says how many and why (for example records without a usable
    date cannot be placed in a month).
    """


class OverlappingPeriodsWarning(CCDataWarning):
    """The before and after windows of ``funnel_change`` overlap (shared events)."""


class SPCWarning(CCDataWarning):
    """Data were usable but something was set aside (e.g. zero denominators)."""


class RiskWarning(CCDataWarning):
    """Base class of the warnings emitted by :mod:`ccdata.risk`."""


class SeparationWarning(RiskWarning):
    """Quasi-complete separation: some coefficients drift towards infinity.

    Typical cause: a level of a categorical risk factor with no deaths (or
    only deaths). The named coefficients, their odds ratios and any site
    figures that depend on them are unreliable; merge sparse levels.
    """


class ImputationWarning(RiskWarning):
    """A risk factor is missing where the model has no missing-data rule for it."""


class EmptyUnitWarning(RiskWarning):
    """A unit (site) is declared but has no records; it is left out of the table."""


class EngineError(CCDataError, RuntimeError):
    """A query engine (DuckDB, Spark) failed while running a step.

    The message names the step and the number of records; the engine's own
    exception is kept as ``__cause__``. Never raised for bad data or a bad
    parameter (those are :class:`InputError`).
    """


class EngineMemoryError(EngineError, MemoryError):
    """An engine step ran out of memory; the message names the step and size."""


_DEPRECATED = {"SchemaError": "SchemaDefinitionError"}


def __getattr__(name: str) -> Any:
    if name in _DEPRECATED:
        import warnings

        new = _DEPRECATED[name]
        warnings.warn(
            f"ccdata.errors.{name} is deprecated; use ccdata.errors.{new} "
            "(pandera has its own SchemaError).",
            FutureWarning,
            stacklevel=2,
        )
        return globals()[new]
    raise AttributeError(f"module 'ccdata.errors' has no attribute {name!r}")
