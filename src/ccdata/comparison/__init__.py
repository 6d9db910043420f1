"""Funnel-plot statistics: control limits, over-dispersion and outlier status.

Compare units (sites) with the range expected from chance alone around a
target, never with one another's ranks:

* :func:`funnel` places each unit against exact, normal or transformed-scale
  control limits (with optional over-dispersion) and returns a
  :class:`FunnelResult`;
* :func:`funnel_limits` gives the limits at any denominators (vectorised);
* :func:`funnel_change` judges each unit's change between two periods against
  its own past or the community's common change;
* :func:`screen` lists the unit-indicator pairs beyond chance across many
  funnels after false-discovery control: conversations to have.

The methods, formulas and references are in ``docs/methods.md``.
"""

from __future__ import annotations

from ccdata.comparison.change import CHANGE_STATUS, FunnelChangeResult, funnel_change
from ccdata.comparison.core import funnel
from ccdata.comparison.limits import funnel_limits
from ccdata.comparison.result import FunnelResult
from ccdata.comparison.screening import ScreenResult, screen

__all__ = [
    "CHANGE_STATUS",
    "FunnelChangeResult",
    "FunnelResult",
    "ScreenResult",
    "funnel",
    "funnel_change",
    "funnel_limits",
    "screen",
]
