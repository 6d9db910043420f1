"""The scheduled batch job: pipeline, atomic writers, site packs, demo.

Public entry points (wired to the command line by :mod:`ccdata.cli`):

* :func:`run_pipeline` -- ``ccdata run CONFIG [--out DIR]``;
* :func:`check_config` -- ``ccdata config check FILE``;
* :func:`run_demo_pipeline` -- ``ccdata demo --out DIR``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import tomllib
from importlib import resources
from pathlib import Path

from ccdata.errors import ConfigError, DisclosureError
from ccdata.report.config import Config, check_config, load_config, parse_config
from ccdata.report.demo import add_demo_problems
from ccdata.report.pipeline import (
    EXIT_DATA_PROBLEMS,
    EXIT_FAILED,
    EXIT_OK,
    RunOutcome,
    run_pipeline,
)
from ccdata.report.sitepack import scan_pack

__all__ = [
    "EXIT_DATA_PROBLEMS",
    "EXIT_FAILED",
    "EXIT_OK",
    "DisclosureError",
    "add_demo_problems",
    "RunOutcome",
    "check_config",
    "demo_config",
    "load_config",
    "prepare_demo_data",
    "run_demo_pipeline",
    "run_pipeline",
    "scan_pack",
]

log = logging.getLogger("ccdata.report")

_AE_FILE = "ae_attendances.csv"


def _find_ae_data() -> Path | None:
    """Locate the real A&E file: bundled package data, else the repository's copy."""
    bundled = resources.files("ccdata") / "data" / _AE_FILE
    if bundled.is_file():
        return Path(str(bundled))
    repo = Path(__file__).resolve().parents[3] / "sample_data" / "real" / _AE_FILE
    return repo if repo.is_file() else None


def prepare_demo_data(data_dir: str | Path) -> Path:
    """Write the demo's data folder: the sample CSVs and the real A&E data.

    Parameters
    ----------
    data_dir : path-like
        Folder to fill (created). The synthetic files come from
        :func:`ccdata.sample_data.write_sample_data`, with a few realistic
        problems planted by :func:`ccdata.report.demo.add_demo_problems` (a
        late site, a mistyped row, a stopped submitter) so that the demo shows
        validation reports and coverage; the real NHS England A&E file (Open
        Government Licence v3.0) is copied to ``real/``.

    Returns
    -------
    Path
        ``data_dir``.
    """
    from ccdata.sample_data import write_sample_data

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_sample_data(data_dir)
    for line in add_demo_problems(data_dir):
        log.info("demo: planted problem %s", line)
    ae = _find_ae_data()
    if ae is not None:
        (data_dir / "real").mkdir(exist_ok=True)
        shutil.copyfile(ae, data_dir / "real" / _AE_FILE)
    return data_dir


def demo_config(data_dir: str | Path) -> Config:
    """Load the bundled demo configuration (``ccdata/data/demo.toml``) on ``data_dir``.

    Sources whose files are absent from ``data_dir`` (e.g. the real A&E data
    when it is not installed) are dropped with their indicators, with a warning.
    """
    res = resources.files("ccdata") / "data" / "demo.toml"
    table = tomllib.loads(res.read_text(encoding="utf-8"))
    data_dir = Path(data_dir)
    for name, src in list(table.get("sources", {}).items()):
        paths = [src["path"]] if isinstance(src["path"], str) else src["path"]
        if not all((data_dir / p).is_file() for p in paths):
            log.warning(
                "demo: source %s left out (file not found in %s)", name, data_dir
            )
            del table["sources"][name]
            table["indicators"] = {
                k: v
                for k, v in table.get("indicators", {}).items()
                if v.get("source") != name
            }
            table.get("completeness", {}).pop(name, None)
    return parse_config(table, base_dir=data_dir, path=Path(str(res)))


def run_demo_pipeline(
    out_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    progress: bool | None = None,
) -> RunOutcome:
    """Run the full batch job on the bundled sample data (``ccdata demo --out DIR``).

    Parameters
    ----------
    out_dir : path-like
        Output folder (written atomically, as for :func:`run_pipeline`).
    data_dir : path-like, optional
        A folder already prepared by :func:`prepare_demo_data`; by default a
        temporary one is made and removed afterwards.
    progress : bool, optional
        Progress line on stderr (default: only on a terminal).

    Returns
    -------
    RunOutcome
    """
    if data_dir is not None:
        return run_pipeline(demo_config(data_dir), out_dir, progress=progress)
    tmp = Path(tempfile.mkdtemp(prefix="ccdata-demo-data-"))
    try:
        try:
            prepare_demo_data(tmp)
            cfg = demo_config(tmp)
        except ConfigError as exc:
            log.error("%s", exc)
            return RunOutcome(EXIT_FAILED, None, f"demo failed: {exc}")
        return run_pipeline(cfg, out_dir, progress=progress)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
