"""The ``ccdata`` command line: validate submissions, write sample data, run the demo.

Exit codes: 0 when everything is clean, 1 when problems were found in the
data, 2 when the input cannot be read or the command is wrong (message on
stderr, no traceback).
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ccdata.errors import CCDataError
from ccdata.io import read_site_list, read_submission
from ccdata.schemas import list_schemas
from ccdata.validation import ERROR_COLUMNS, ValidationResult

__all__ = [
    "DEMO_FILES",
    "DEMO_STEPS",
    "DemoContext",
    "demo_validation",
    "main",
    "run_demo",
    "write_error_files",
]

#: Sample files validated by the demo, with the community of their sites.
DEMO_FILES = {
    "aaa_procedures": "aaa",
    "aaa_expected_cases": "aaa",
    "ckd_care_bundle": "ckd",
    "lung_cancer_indicators": "lung",
    "lung_cancer_patient_experience": "lung",
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


# --------------------------------------------------------------------------
# Writing CSV files that sites open in Excel
# --------------------------------------------------------------------------


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells starting with = + - @ with a quote (no formula injection)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_string_dtype(out[col]) or out[col].dtype == object:
            text = out[col].astype("str")
            risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(bool)
            if risky.any():
                out[col] = text.where(~risky, "'" + text)
    return out


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # UTF-8 with BOM so that Excel shows accented site names correctly.
    _excel_safe(frame).to_csv(
        path, index=False, encoding="utf-8-sig", lineterminator="\n"
    )
    return path


def _safe_name(site: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", site).strip(".") or "site"


def write_error_files(result: ValidationResult, out_dir: str | Path, *,
                      prefix: str = "") -> list[Path]:
    """Write the error table as CSV: one file per site when there are several sites.

    Parameters
    ----------
    result : ValidationResult
        A validation result.
    out_dir : str or Path
        Folder to write to (created if needed).
    prefix : str, default ""
        Put before the file names (the demo uses ``"<schema>_"``).

    Returns
    -------
    list of Path
        ``<out_dir>/<prefix>errors.csv`` when the submission holds one site
        (written even when empty), else ``<out_dir>/<prefix><site_id>_errors.csv``
        for each site with problems (problems without a site id go to
        ``<prefix>no_site_id_errors.csv``).
    """
    out = Path(out_dir)
    errors = result.errors.loc[:, list(ERROR_COLUMNS)]
    sites = set()
    for frame in (result.valid, result.rejected):
        if "site_id" in frame.columns:
            sites |= {str(s).strip() for s in frame["site_id"].dropna()}
    if len(sites) <= 1:
        return [_write_csv(errors, out / f"{prefix}errors.csv")]
    written = []
    for site, group in errors.groupby(errors["site_id"].fillna(""), sort=True):
        name = _safe_name(site) if site else "no_site_id"
        written.append(_write_csv(group, out / f"{prefix}{name}_errors.csv"))
    return written


# --------------------------------------------------------------------------
# ccdata validate
# --------------------------------------------------------------------------


def _summary_lines(result: ValidationResult, label: str) -> list[str]:
    lines = [
        f"{label}: checked against schema {result.schema!r}",
        f"  rows: {result.n_rows:,}   valid: {len(result.valid):,}   "
        f"rejected: {len(result.rejected):,}   problems: {len(result.errors):,}",
    ]
    if result.ok:
        lines.append("  no problems found")
        return lines
    lines.append("  problems by column:")
    for rec in result.problems_by_column().itertuples(index=False):
        lines.append(f"    {rec.column:<28} {rec.problems:>7,} in {rec.rows:,} row(s)")
    return lines


def _cmd_validate(args: argparse.Namespace) -> int:
    sites = None
    if args.sites:
        sites = read_site_list(args.sites, community=args.community)
    result = read_submission(args.file, args.schema, sites=sites, sheet=args.sheet)
    for line in _summary_lines(result, Path(args.file).name):
        print(line)
    if args.out:
        for path in write_error_files(result, args.out):
            print(f"  errors written to {path}")
    elif not result.ok:
        shown = result.errors.head(10)
        print("  first problems (use --out DIR to write them all to CSV):")
        for rec in shown.itertuples(index=False):
            print(f"    row {rec.row}: {rec.message}")
    return 0 if result.ok else 1


def _cmd_sample_data(args: argparse.Namespace) -> int:
    from ccdata.sample_data import write_sample_data

    for path in write_sample_data(args.out, seed=args.seed):
        print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------
# ccdata demo
# --------------------------------------------------------------------------


@dataclass
class DemoContext:
    """State shared by the demo steps.

    Attributes
    ----------
    out_dir : Path
        Where the demo writes its outputs.
    data_dir : Path
        Folder holding the sample data files used.
    results : dict
        Validation results by schema name (filled by the validation step).
    summary : list of str
        Lines of the demo summary, printed and written to ``summary.txt``.
    """

    out_dir: Path
    data_dir: Path
    results: dict[str, ValidationResult] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)


def _demo_data(data_dir: Path) -> str:
    """Write the sample data with the generator, or copy the repository's files."""
    try:
        from ccdata.sample_data import write_sample_data
    except ImportError:
        write_sample_data = None
    if write_sample_data is not None:
        write_sample_data(data_dir)
        return "generated with ccdata.sample_data.write_sample_data"
    repo = Path(__file__).resolve().parents[2] / "sample_data"
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in ["sites", *DEMO_FILES]:
        src = repo / f"{name}.csv"
        if src.exists():
            shutil.copyfile(src, data_dir / src.name)
    return f"copied from {repo}"


def demo_validation(ctx: DemoContext) -> int:
    """Demo step: validate every sample file and write its error report."""
    folder = ctx.out_dir / "validation"
    folder.mkdir(parents=True, exist_ok=True)
    site_file = ctx.data_dir / "sites.csv"
    rows, status = [], 0
    ctx.summary.append("Validation of the sample submissions")
    for name, community in DEMO_FILES.items():
        path = ctx.data_dir / f"{name}.csv"
        if not path.exists():
            ctx.summary.append(f"  {name}: file not found, skipped")
            continue
        sites = None
        if site_file.exists():
            sites = read_site_list(site_file, community=community)
        result = read_submission(path, name, sites=sites)
        ctx.results[name] = result
        write_error_files(result, folder, prefix=f"{name}_")
        rows.append({"schema": name, "rows": result.n_rows, "valid": len(result.valid),
                     "rejected": len(result.rejected), "problems": len(result.errors)})
        ctx.summary.extend("  " + line for line in _summary_lines(result, path.name))
        status = max(status, 0 if result.ok else 1)
    _write_csv(pd.DataFrame(rows), folder / "summary.csv")
    return status


#: The demo's steps, run in order; each takes the DemoContext and returns an
#: exit status (0 clean, 1 problems found). Later steps (completeness,
#: funnel plots, SPC charts, reports) are appended here.
DEMO_STEPS: list[Callable[[DemoContext], int]] = [demo_validation]


def run_demo(out_dir: str | Path) -> int:
    """Run the demo on freshly generated sample data and write its outputs.

    Parameters
    ----------
    out_dir : str or Path
        Output folder (created if needed): ``sample_data/`` (the data used),
        ``validation/`` (error reports and ``summary.csv``) and ``summary.txt``.

    Returns
    -------
    int
        0 when every step ran clean, 1 when a step found problems.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = _demo_data(Path(tmp))
        data_dir = out / "sample_data"
        shutil.copytree(tmp, data_dir, dirs_exist_ok=True)
    ctx = DemoContext(out_dir=out, data_dir=data_dir)
    ctx.summary.append(f"ccdata demo: sample data {source}, in {data_dir}")
    status = 0
    for step in DEMO_STEPS:
        status = max(status, step(ctx))
    text = "\n".join(ctx.summary) + "\n"
    (out / "summary.txt").write_text(text, encoding="utf-8")
    print(text, end="")
    print(f"Outputs written to {out}")
    return status


def _cmd_demo(args: argparse.Namespace) -> int:
    return run_demo(args.out)


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ccdata",
        description="Comparative quality data for clinical communities.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    val = sub.add_parser("validate", help="check a site submission (.csv or .xlsx)")
    val.add_argument("file", help="the submission file")
    val.add_argument("--schema", help="schema name (default: the file name); one of "
                     + ", ".join(list_schemas()))
    val.add_argument("--sites", help="CSV of registered sites (a site_id column)")
    val.add_argument("--community",
                     help="use only the sites of this community from --sites")
    val.add_argument("--sheet", help="sheet of an .xlsx workbook (default: the first)")
    val.add_argument("--out", help="folder for the error CSV file(s)")
    val.set_defaults(func=_cmd_validate)

    smp = sub.add_parser("sample-data", help="write the bundled sample data")
    smp.add_argument("--out", required=True, help="folder to write to")
    smp.add_argument("--seed", type=int, default=20261122, help="random seed")
    smp.set_defaults(func=_cmd_sample_data)

    demo = sub.add_parser("demo", help="run ccdata on the sample data")
    demo.add_argument("--out", required=True, help="folder for the outputs")
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ccdata`` command; return the exit status (0, 1 or 2).

    Examples
    --------
    >>> main(["validate", "no-such-file.csv", "--schema", "aaa_procedures"])
    2
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already printed
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return args.func(args)
    except (CCDataError, OSError) as exc:
        print(f"ccdata: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
