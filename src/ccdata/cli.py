"""The ``ccdata`` command line.

Commands: ``validate`` (check one submission), ``sample-data`` (write the
bundled sample data), ``run`` (the scheduled batch job), ``config check``
(check a batch configuration) and ``demo`` (the batch job on the sample data).

Exit codes: 0 when everything is clean, 1 when problems were found in the
data (outputs still written for the good data), 2 when the input or the
configuration cannot be used or the command is wrong (message on stderr, no
traceback). ``ccdata validate`` exits 3 on an unexpected internal error (one
line on stderr; the traceback with ``--debug``).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

from ccdata.errors import CCDataError
from ccdata.io import read_site_list, read_submission
from ccdata.report.writers import write_csv
from ccdata.schemas import list_schemas
from ccdata.validation import ERROR_COLUMNS, ValidationResult

__all__ = ["main", "write_error_files"]


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    # UTF-8 with BOM so that Excel shows accented site names correctly.
    return write_csv(frame, path, encoding="utf-8-sig")


def _safe_name(site: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", site).strip(".") or "site"


def _file_names(sites: list[str]) -> dict[str, str]:
    """Give each site id a distinct, safe file-name stem.

    A site id that is already safe is used as it is; any other gets a short
    hash of the id (``A/B`` -> ``A_B-998d3ed8``), so ``A/B``, ``A_B`` and
    ``A B`` never share a file. Names that would still clash (ignoring case,
    as Windows and macOS do) get a longer hash.
    """

    def digest(site: str, n: int) -> str:
        return hashlib.sha256(site.encode("utf-8")).hexdigest()[:n]

    names = {}
    for site in sites:
        safe = _safe_name(site)
        names[site] = safe if safe == site else f"{safe}-{digest(site, 8)}"
    lowered: dict[str, list[str]] = {}
    for site, name in names.items():
        lowered.setdefault(name.lower(), []).append(site)
    for clash in (group for group in lowered.values() if len(group) > 1):
        for site in clash:
            names[site] = f"{_safe_name(site)}-{digest(site, 16)}"
    return names


def write_error_files(
    result: ValidationResult, out_dir: str | Path, *, prefix: str = ""
) -> list[Path]:
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
        ``<prefix>no_site_id_errors.csv``). A site id that is not a safe file
        name gets a short hash of it, so that every site has its own file.
    """
    out = Path(out_dir)
    errors = result.to_frame().loc[:, list(ERROR_COLUMNS)]
    sites = set()
    for frame in (result.valid, result.rejected):
        if "site_id" in frame.columns:
            sites |= {str(s).strip() for s in frame["site_id"].dropna()}
    if len(sites) <= 1:
        return [_write_csv(errors, out / f"{prefix}errors.csv")]
    written = []
    groups = list(errors.groupby(errors["site_id"].fillna(""), sort=True))
    names = _file_names([site for site, _ in groups if site])
    for site, group in groups:
        name = names[site] if site else "no_site_id"
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


def _validate(args: argparse.Namespace) -> int:
    sites = None
    if args.sites:
        sites = read_site_list(args.sites, community=args.community)
    result = read_submission(args.file, args.schema, sites=sites, sheet=args.sheet)
    for line in _summary_lines(result, Path(args.file).name):
        print(line)
    for warning in result.warnings:
        print(f"  warning: {warning}")
    if args.out:
        for path in write_error_files(result, args.out):
            print(f"  errors written to {path}")
    elif not result.ok:
        shown = result.to_frame().head(10)  # identifiers withheld here too
        print("  first problems (use --out DIR to write them all to CSV):")
        for rec in shown.itertuples(index=False):
            row = cast(Any, rec.row)
            where = "file" if pd.isna(row) else f"row {row}"
            print(f"    {where}: {rec.message}")
    return 0 if result.ok else 1


def _cmd_validate(args: argparse.Namespace) -> int:
    """Run ``ccdata validate`` and return its exit code.

    Exit 0: no problems; 1: problems found; 2: the file or schema cannot be
    used (raised as CCDataError/OSError, reported by main); 3: an unexpected
    internal error, in one line (the traceback only with --debug).
    """
    try:
        return _validate(args)
    except (CCDataError, OSError):
        raise
    except Exception as exc:  # a bug in ccdata, not a problem in the data
        if args.debug:
            traceback.print_exc()
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        print(
            f"ccdata: internal error while validating {Path(args.file).name!r}: "
            f"{type(exc).__name__}: {message} (run again with --debug for the "
            "details, and please report it)",
            file=sys.stderr,
        )
        return 3


def _cmd_sample_data(args: argparse.Namespace) -> int:
    from ccdata.sample_data import write_sample_data

    for path in write_sample_data(args.out, seed=args.seed):
        print(f"wrote {path}")
    return 0


# --------------------------------------------------------------------------
# ccdata run / config check / demo (the batch job lives in ccdata.report)
# --------------------------------------------------------------------------


class _OncePerMessage(logging.Filter):
    """Let each warning or error through once per run (no repeated lines)."""

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[tuple[int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = (record.levelno, record.getMessage())
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


#: Set by :func:`_configure_logging` (the global options of ``main``).
_LOGGING: dict[str, int] = {}


def _configure_logging(verbosity: int = 0, stream: object = None) -> None:
    """Log to stderr: INFO by default, WARNING with --quiet, DEBUG with --verbose.

    On a terminal lines are ``LEVEL message``; elsewhere (cron, CI, a pipe)
    each line starts with its time, ``2026-12-01 02:00:03 INFO ...``. Each
    warning or error is printed once. Replaces the handlers a previous call
    installed (``main`` may be called several times in one process).
    """
    stream = sys.stderr if stream is None else stream
    level = {-1: logging.WARNING, 0: logging.INFO}.get(verbosity, logging.DEBUG)
    tty = bool(getattr(stream, "isatty", lambda: False)())
    fmt = (
        "%(levelname)s %(message)s" if tty else "%(asctime)s %(levelname)s %(message)s"
    )
    handler = logging.StreamHandler(cast(Any, stream))
    handler.setFormatter(logging.Formatter(fmt, datefmt="%Y-%m-%d %H:%M:%S"))
    handler.addFilter(_OncePerMessage())
    handler.set_name("ccdata-cli")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "ccdata-cli"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("ccdata").setLevel(level)
    _LOGGING["level"] = level


def _setup_logging() -> None:
    """Configure logging unless ``main`` already did (for the subcommands)."""
    if "level" not in _LOGGING:
        _configure_logging()


def _cmd_run(args: argparse.Namespace) -> int:
    from ccdata.report import run_pipeline

    _setup_logging()
    outcome = run_pipeline(args.config, args.out, break_lock=args.break_lock)
    print(outcome.message)
    return outcome.exit_code


def _cmd_config_check(args: argparse.Namespace) -> int:
    from ccdata.report import check_config

    problems = check_config(args.file)  # every mistake, in one pass
    for problem in problems:
        print(f"ccdata: {problem}", file=sys.stderr)
    if problems:
        print(f"ccdata: {args.file}: {len(problems)} problem(s) found", file=sys.stderr)
        return 2
    print(f"{args.file}: configuration OK")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from ccdata.report import run_demo_pipeline

    _setup_logging()
    outcome = run_demo_pipeline(args.out)
    # an error is already in the log: print the one-line result on stdout only
    # when outputs were written, so each error appears once in a cron mail
    if outcome.exit_code != 2:
        print(outcome.message)
    return outcome.exit_code


# --------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("ccdata")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        __version__ = "0+unknown"
    parser = argparse.ArgumentParser(
        prog="ccdata",
        description="Comparative quality data for clinical communities.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only warnings and errors; no progress bars",
    )
    noise.add_argument(
        "-v", "--verbose", action="store_true", help="debug messages too"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    val = sub.add_parser("validate", help="check a site submission (.csv or .xlsx)")
    val.add_argument("file", help="the submission file")
    val.add_argument(
        "--schema",
        help="schema name (default: the file name); one of "
        + ", ".join(list_schemas()),
    )
    val.add_argument("--sites", help="CSV of registered sites (a site_id column)")
    val.add_argument(
        "--community", help="use only the sites of this community from --sites"
    )
    val.add_argument(
        "--sheet",
        help="sheet of an .xlsx workbook (default: the "
        "active sheet, or the only visible one)",
    )
    val.add_argument("--out", help="folder for the error CSV file(s)")
    val.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an internal error (exit code 3)",
    )
    val.set_defaults(func=_cmd_validate)

    smp = sub.add_parser("sample-data", help="write the bundled sample data")
    smp.add_argument("--out", required=True, help="folder to write to")
    smp.add_argument("--seed", type=int, default=20261122, help="random seed")
    smp.set_defaults(func=_cmd_sample_data)

    run = sub.add_parser("run", help="run the batch job described by a TOML config")
    run.add_argument("config", help="the configuration file (TOML)")
    run.add_argument("--out", help="output folder (default: the config's output)")
    run.add_argument(
        "--break-lock",
        action="store_true",
        help="take over the output's lock left by a run on another host (check "
        "first that no run is active there); a live run's lock on this host is "
        "never broken",
    )
    run.set_defaults(func=_cmd_run)

    cfg = sub.add_parser("config", help="work with configuration files")
    cfg_sub = cfg.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    check = cfg_sub.add_parser("check", help="check a configuration file")
    check.add_argument("file", help="the configuration file (TOML)")
    check.set_defaults(func=_cmd_config_check)

    demo = sub.add_parser("demo", help="run the full batch job on the sample data")
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
    _configure_logging(-1 if args.quiet else (1 if args.verbose else 0))
    try:
        return args.func(args)
    except (CCDataError, OSError) as exc:
        print(f"ccdata: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
