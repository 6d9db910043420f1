"""Data quality of site submissions: completeness, ascertainment, timeliness, volume.

A comparison is only as fair as the data behind it. These measures tell each
site, and the core team, how complete and timely its records are, so that
missing data are never mistaken for good results:

- :func:`field_completeness` -- share of records holding each field;
- :func:`case_ascertainment` -- cases submitted against an independent count;
- :func:`timeliness` -- lag from the event to data entry;
- :func:`submission_volume` -- cases per period, zero periods included;
- :func:`submission_status` -- which periodic returns are on time, late or missing;
- :func:`data_quality` -- one row per site, with a message it can act on.

Every table is tidy and sorted by site (and period), never by performance.
"""

from __future__ import annotations

from ccdata.completeness._ascertainment import case_ascertainment
from ccdata.completeness._fields import field_completeness, record_completeness
from ccdata.completeness._quality_table import expected_in_span, quality_tables
from ccdata.completeness._summary import data_quality
from ccdata.completeness._timeliness import timeliness
from ccdata.completeness._volume import add_period, submission_status, submission_volume
from ccdata.errors import CompletenessWarning

__all__ = [
    "CompletenessWarning",
    "add_period",
    "case_ascertainment",
    "data_quality",
    "expected_in_span",
    "field_completeness",
    "quality_tables",
    "record_completeness",
    "submission_status",
    "submission_volume",
    "timeliness",
]
