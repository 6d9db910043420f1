"""Result objects of the O/E, risk-adjusted CUSUM and VLAD functions.

Each is a frozen dataclass with typed fields for the scalars (which used to ride
in ``DataFrame.attrs``) and ``to_frame()`` for the CSV-ready table. Until
version 0.4 they also behave like that table (``result["ratio"]``,
``result.signal``, ``len(result)``), with a :class:`FutureWarning` saying to use
``to_frame()`` or the named field instead.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

__all__ = [
    "CusumResult",
    "ObservedExpectedResult",
    "PooledObservedExpected",
    "VladResult",
]


def _fmt(v: float) -> str:
    return f"{v:.4g}"


class _TableLike:
    """Deprecated DataFrame behaviour, forwarded to ``to_frame()`` with a warning."""

    _table_field = "points"

    def _table(self) -> pd.DataFrame:
        return getattr(self, self._table_field)

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the CSV-ready table."""
        return self._table().copy()

    def _deprecated(self, what: str) -> pd.DataFrame:
        name = type(self).__name__
        warnings.warn(
            f"{name} is no longer a DataFrame: {what} on it is deprecated and will "
            f"stop working in ccdata 0.4. Use .to_frame() (or .{self._table_field}) "
            "for the table and the named fields for the scalars.",
            FutureWarning,
            stacklevel=3,
        )
        return self._table()

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails. Private and dunder names are
        # never forwarded (copy, pickle and IPython probe those).
        table = object.__getattribute__(self, self._table_field)
        if name.startswith("_") or not (
            hasattr(pd.DataFrame, name) or name in table.columns
        ):
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            )
        return getattr(self._deprecated(f"'.{name}'"), name)

    def __getitem__(self, key: Any) -> Any:
        return self._deprecated("indexing")[key]

    def __len__(self) -> int:
        return len(self._deprecated("len()"))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._deprecated("iterating"))

    def __contains__(self, key: object) -> bool:
        return key in self._deprecated("'in'")

    def __bool__(self) -> bool:
        return True


@dataclass(frozen=True)
class PooledObservedExpected:
    """Observed and expected deaths of all units together.

    Attributes
    ----------
    n, observed : int
        Patients and deaths.
    expected : float
        Sum of the patients' expected risks.
    ratio : float
        O/E (1 when the model was fitted to these records).
    ratio_lower, ratio_upper : float
        Its exact Poisson limits at the result's ``level``.
    crude_rate, expected_rate : float
        Deaths and expected deaths per patient.
    """

    n: int
    observed: int
    expected: float
    ratio: float
    ratio_lower: float
    ratio_upper: float
    crude_rate: float
    expected_rate: float

    def to_dict(self, suffix: str = "95") -> dict[str, Any]:
        """As the dict ``attrs["pooled"]`` used to hold (limits suffixed)."""
        return {
            "n": self.n,
            "observed": self.observed,
            "expected": self.expected,
            "ratio": self.ratio,
            f"ratio_lower_{suffix}": self.ratio_lower,
            f"ratio_upper_{suffix}": self.ratio_upper,
            "crude_rate": self.crude_rate,
            "expected_rate": self.expected_rate,
        }


@dataclass(frozen=True, repr=False)
class ObservedExpectedResult(_TableLike):
    """Observed and expected deaths per unit, with the pooled figures.

    Attributes
    ----------
    units : DataFrame
        One row per unit, sorted by unit: ``unit, n, observed, expected, ratio,
        ratio_lower_<l>, ratio_upper_<l>, crude_rate, expected_rate,
        adjusted_rate, adjusted_lower_<l>, adjusted_upper_<l>`` (``<l>`` from
        ``level``, 0.95 -> ``95``). :meth:`to_frame` returns a copy.
    pooled : PooledObservedExpected
        The same figures for all units together.
    level : float
        Coverage of the confidence limits.
    empty_units : tuple
        Categories of a categorical unit column that had no records (left out).
    """

    units: pd.DataFrame
    pooled: PooledObservedExpected
    level: float
    empty_units: tuple[Any, ...] = ()
    _table_field = "units"

    @property
    def suffix(self) -> str:
        """Column suffix of the limits, e.g. ``"95"``."""
        lower = [c for c in self.units.columns if c.startswith("ratio_lower_")]
        return lower[0][len("ratio_lower_") :] if lower else ""

    @property
    def attrs(self) -> dict[str, Any]:
        """Deprecated: the old ``DataFrame.attrs`` (use the named fields)."""
        warnings.warn(
            "ObservedExpectedResult.attrs is deprecated and will be removed in "
            "ccdata 0.4: use .pooled, .level and .empty_units.",
            FutureWarning,
            stacklevel=2,
        )
        out: dict[str, Any] = {
            "pooled": self.pooled.to_dict(self.suffix),
            "level": self.level,
        }
        if self.empty_units:
            out["empty_units"] = list(self.empty_units)
        return out

    def __repr__(self) -> str:
        """Summarise the result in one line."""
        p = self.pooled
        return (
            f"ObservedExpectedResult({len(self.units)} units, n={p.n:,}, "
            f"observed={p.observed:,}, expected={p.expected:.1f}, "
            f"pooled O/E {_fmt(p.ratio)} ({self.level:.0%} CI "
            f"{_fmt(p.ratio_lower)} to {_fmt(p.ratio_upper)}))"
        )

    def _repr_html_(self) -> str:
        return f"<p><b>{escape(repr(self))}</b></p>" + self.units.to_html(
            index=False, float_format="{:.4g}".format
        )


@dataclass(frozen=True, repr=False)
class CusumResult(_TableLike):
    """A risk-adjusted CUSUM per unit (Steiner et al. 2000).

    Attributes
    ----------
    points : DataFrame
        One row per patient, sorted by unit then time: ``unit`` (when given),
        the ``order_by`` column, the outcome, the expected risk, ``weight``,
        ``cusum`` and ``signal``. :meth:`to_frame` returns a copy.
    odds_ratio : float
        The change the CUSUM detects, ``R``.
    limit : float
        The control limit ``h``.
    reset : bool
        Whether the CUSUM restarts at 0 after a signal.
    direction : {"increase", "decrease"}
        "increase" for ``R > 1`` (more deaths than predicted), "decrease" for
        ``R < 1``.
    unit_column : str or None
        The caller's unit column (named ``unit`` in :attr:`points`).
    """

    points: pd.DataFrame
    odds_ratio: float
    limit: float
    reset: bool
    direction: str
    unit_column: str | None = None
    _table_field = "points"

    @property
    def n_signals(self) -> int:
        """Number of signals over all units."""
        return int(self.points["signal"].sum())

    @property
    def attrs(self) -> dict[str, Any]:
        """Deprecated: the old ``DataFrame.attrs`` (use the named fields)."""
        warnings.warn(
            "CusumResult.attrs is deprecated and will be removed in ccdata 0.4: "
            "use .odds_ratio, .limit, .reset and .direction.",
            FutureWarning,
            stacklevel=2,
        )
        return {
            "odds_ratio": self.odds_ratio,
            "limit": self.limit,
            "reset": self.reset,
            "direction": self.direction,
        }

    def __repr__(self) -> str:
        """Summarise the result in one line."""
        units = self.points["unit"].nunique() if "unit" in self.points else 1
        return (
            f"CusumResult({len(self.points):,} patients, {units} unit(s), "
            f"odds_ratio={self.odds_ratio:g}, limit={self.limit:g}, "
            f"{self.n_signals} signal(s))"
        )

    def _repr_html_(self) -> str:
        return f"<p><b>{escape(repr(self))}</b></p>" + self.points.head(10).to_html(
            index=False, float_format="{:.4g}".format
        )


@dataclass(frozen=True, repr=False)
class VladResult(_TableLike):
    """A variable life-adjusted display per unit (Lovegrove et al. 1997).

    Attributes
    ----------
    points : DataFrame
        One row per patient, sorted by unit then time: ``unit`` (when given),
        the ``order_by`` column, the outcome, the expected risk, ``vlad`` and
        ``signal``. :meth:`to_frame` returns a copy.
    odds_ratio : float or None
        The paired risk-adjusted CUSUM behind ``signal``; None for no signal.
    limit : float
        Its control limit.
    signal_source : str
        ``"paired risk-adjusted CUSUM"`` or ``"none"``.
    unit_column : str or None
        The caller's unit column (named ``unit`` in :attr:`points`).
    """

    points: pd.DataFrame
    odds_ratio: float | None
    limit: float
    signal_source: str
    unit_column: str | None = None
    _table_field = "points"

    @property
    def n_signals(self) -> int:
        """Number of signals over all units."""
        return int(self.points["signal"].sum())

    @property
    def attrs(self) -> dict[str, Any]:
        """Deprecated: the old ``DataFrame.attrs`` (use the named fields)."""
        warnings.warn(
            "VladResult.attrs is deprecated and will be removed in ccdata 0.4: "
            "use .odds_ratio, .limit and .signal_source.",
            FutureWarning,
            stacklevel=2,
        )
        return {
            "odds_ratio": self.odds_ratio,
            "limit": self.limit,
            "signal": self.signal_source,
        }

    def __repr__(self) -> str:
        """Summarise the result in one line."""
        units = self.points["unit"].nunique() if "unit" in self.points else 1
        odds = "none" if self.odds_ratio is None else f"{self.odds_ratio:g}"
        return (
            f"VladResult({len(self.points):,} patients, {units} unit(s), "
            f"paired CUSUM odds_ratio={odds}, {self.n_signals} signal(s))"
        )

    def _repr_html_(self) -> str:
        return f"<p><b>{escape(repr(self))}</b></p>" + self.points.head(10).to_html(
            index=False, float_format="{:.4g}".format
        )
