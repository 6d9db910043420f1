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
    "ConfigError",
    "InputError",
    "SchemaError",
    "SubmissionReadError",
]


class CCDataError(Exception):
    """Base class of every error raised by ccdata."""


class InputError(CCDataError, ValueError):
    """A function was given data or a parameter it cannot use.

    The message names the parameter (or column) and echoes the bad value.
    """


class SchemaError(CCDataError, ValueError):
    """A schema name is unknown, or a schema definition is inconsistent."""


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
