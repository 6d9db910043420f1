"""Run charts and statistical process control (SPC) charts.

Judge each site against its own past: run charts with the Anhøj rules and
Shewhart control charts (p, p′, u, u′, c, i/XmR, mr) with frozen baselines,
phases and many series at once, plus the NHS England "Making Data Count"
special-cause rules. Statistics only: plotting lives in :mod:`ccdata.plot`.
"""

from __future__ import annotations

from ccdata.errors import SPCWarning
from ccdata.variation.core import spc
from ccdata.variation.result import SPCResult
from ccdata.variation.runs import anhoej_limits

__all__ = ["SPCResult", "SPCWarning", "anhoej_limits", "spc"]
