"""Plots that compare without ranking (matplotlib).

Every function draws a result computed elsewhere in ccdata (it computes no
statistics), takes ``ax=None`` (default: the current Axes), returns the Axes,
and never calls ``plt.show()``. Two exceptions: a site's own view
(``highlight=``) is drawn on a new figure when ``ax`` is None and refuses an
Axes that already holds artists, so nothing drawn before (another site's
labels) can appear in it; and ``small_multiples`` draws a grid of panels on a
figure (``fig=``) and returns the array of their Axes. A unit outside its
limits is shown by marker shape and fill, never by red/green; with a stated
``direction`` its colour follows Making Data Count (blue improvement, orange
concern; purple without a direction, grey common cause). :func:`save` writes
a figure as a 200 dpi PNG plus SVG, with its text alternative inside both.

Functions named like their module (``funnel``, ``spc``) are the functions:
``ccdata.plot.funnel(result)``.
"""

from __future__ import annotations

from ccdata.plot._describe import describe
from ccdata.plot._funnel import funnel
from ccdata.plot._monitoring import calibration, cusum, vlad
from ccdata.plot._quality import ascertainment, completeness
from ccdata.plot._save import save
from ccdata.plot._spc import run_chart, small_multiples, spc
from ccdata.plot._survey import survey_scores
from ccdata.plot._theme import PALETTE, theme

__all__ = [
    "PALETTE",
    "ascertainment",
    "calibration",
    "completeness",
    "cusum",
    "describe",
    "funnel",
    "run_chart",
    "save",
    "small_multiples",
    "spc",
    "survey_scores",
    "theme",
    "vlad",
]
