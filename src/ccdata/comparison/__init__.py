"""Funnel-plot statistics: control limits, over-dispersion and outlier status.

Compare units (sites) with the range expected from chance alone around a
target, never with one another's ranks:

* :func:`funnel` places each unit against exact, normal or transformed-scale
  control limits (with optional over-dispersion) and returns a
  :class:`FunnelResult`;
* :func:`funnel_limits` gives the limits at any denominators (vectorised);
* :func:`funnel_change` judges each unit's change between two periods against
  its own past.

The methods, formulas and references are in ``docs/methods.md``.
"""

from __future__ import annotations

from ccdata.comparison.change import CHANGE_STATUS, FunnelChangeResult, funnel_change
from ccdata.comparison.core import funnel
from ccdata.comparison.limits import funnel_limits
from ccdata.comparison.result import FunnelResult

__all__ = [
    "CHANGE_STATUS",
    "FunnelChangeResult",
    "FunnelResult",
    "funnel",
    "funnel_change",
    "funnel_limits",
]
