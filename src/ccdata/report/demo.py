"""Realistic problems planted in the demo's data.

They let the demo show what the batch job does with them.

The bundled sample data (:mod:`ccdata.sample_data`) is clean apart from the
CKD practices that stopped submitting. A real month's submissions are not, so
:func:`add_demo_problems` changes the demo's copy (never the generator):

* **a late site** -- vascular unit ``S05`` entered its records for the three
  months before the latest quarter more than 90 days after the operation, and
  its latest quarter has not arrived yet: the demo shows late returns,
  timeliness messages and the missing months in its pack;
* **a mistyped row** -- practice ``P05`` typed ``2O`` (letter O) for the
  eligible patients of 2025-06: validation rejects the row, names the row,
  column and value in ``validation/P05_errors.csv`` and its pack, and the month
  counts as missing in its coverage;
* **a stopped submitter** -- vascular unit ``S12`` sent nothing after
  2024-12: it is ``not_assessed`` on the AAA funnel ("no data since 2024-12"),
  beside the nine CKD practices that stopped part-way.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["DEMO_PROBLEMS", "add_demo_problems"]

#: What :func:`add_demo_problems` plants: site -> the problem, in words.
DEMO_PROBLEMS = {
    "S05": "late: its latest quarter not yet received, the three months before "
    "entered more than 90 days after the operation",
    "P05": "a mistyped row: eligible '2O' (letter O) in 2025-06",
    "S12": "stopped submitting after 2024-12",
}


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def add_demo_problems(data_dir: str | Path) -> list[str]:
    """Plant the demo's problems in the CSV files of ``data_dir``.

    Returns one line per problem planted (for the log). Files absent from
    ``data_dir`` are left alone.

    Examples
    --------
    >>> add_demo_problems("/no/such/folder")
    []
    """
    d = Path(data_dir)
    done: list[str] = []
    aaa_path = d / "aaa_procedures.csv"
    if aaa_path.is_file():
        aaa = pd.read_csv(aaa_path, dtype=str, keep_default_na=False)
        month = aaa["procedure_date"].str[:7]
        last = sorted(month.unique())[-1]
        latest = pd.period_range(end=pd.Period(last, "M"), periods=3, freq="M")
        before = pd.period_range(end=latest[0] - 1, periods=3, freq="M")
        s05 = aaa["site_id"] == "S05"
        drop = s05 & month.isin(latest.astype(str))
        late = s05 & month.isin(before.astype(str))
        entered = pd.to_datetime(aaa.loc[late, "procedure_date"]) + pd.Timedelta(
            days=120
        )
        aaa.loc[late, "record_entered_date"] = entered.dt.strftime("%Y-%m-%d")
        stop = (aaa["site_id"] == "S12") & (month > "2024-12")
        aaa = aaa[~(drop | stop)]
        _write(aaa, aaa_path)
        done += [f"S05: {DEMO_PROBLEMS['S05']}", f"S12: {DEMO_PROBLEMS['S12']}"]
    ckd_path = d / "ckd_care_bundle.csv"
    if ckd_path.is_file():
        ckd = pd.read_csv(ckd_path, dtype=str, keep_default_na=False)
        row = (ckd["site_id"] == "P05") & (ckd["month"] == "2025-06")
        if row.any():
            ckd.loc[row, "eligible"] = "2O"
            _write(ckd, ckd_path)
            done.append(f"P05: {DEMO_PROBLEMS['P05']}")
    return done
