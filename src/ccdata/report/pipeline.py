"""The scheduled batch job: ``run_pipeline(config)`` behind ``ccdata run CONFIG``.

Stages, in order: read and validate every source; write the validation
reports; data quality; indicators (funnel, SPC, risk model, CUSUM); figures;
site feedback packs; ``index.html``; ``manifest.json``. Everything is written
into a temporary folder beside the output folder and swapped into place only
when every stage succeeded (:func:`ccdata.report.writers.atomic_output_dir`).

Exit codes (:attr:`RunOutcome.exit_code`):

* ``0`` -- every submission passed validation; outputs written.
* ``1`` -- data problems found (rows rejected by validation); outputs written
  for the good data, with each site's error report under ``validation/``.
* ``2`` -- configuration or input error, or any failure during the run; no
  outputs written and the previous outputs are untouched.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ccdata.errors import CCDataError, ConfigError
from ccdata.report import disclosure as dsc
from ccdata.report import writers as w
from ccdata.report.config import Config, load_config
from ccdata.report.indicators import (
    IndicatorOutput,
    add_ascertainment,
    compute_indicator,
)
from ccdata.report.progress import Progress  # tqdm bars (ccdata.report.progress)
from ccdata.report.sources import (
    ERROR_COLUMNS,
    PROVENANCE,
    SourceData,
    load_sites,
    read_source,
)

__all__ = [
    "EXIT_DATA_PROBLEMS",
    "EXIT_FAILED",
    "EXIT_OK",
    "Progress",
    "RunOutcome",
    "run_pipeline",
]

log = logging.getLogger("ccdata.report")

EXIT_OK = 0
EXIT_DATA_PROBLEMS = 1
EXIT_FAILED = 2


@dataclass(frozen=True)
class RunOutcome:
    """What a batch run did.

    Attributes
    ----------
    exit_code : int
        0 ok, 1 data problems found but outputs written, 2 nothing written.
    out_dir : Path or None
        The output folder (None when nothing was written).
    message : str
        One line for the analyst.
    counts : dict
        Rows read, rows rejected, errors, indicators, figures, site packs.
    manifest : dict or None
        The manifest written to ``manifest.json``.
    """

    exit_code: int
    out_dir: Path | None
    message: str
    counts: dict[str, int] = field(default_factory=dict)
    manifest: dict[str, Any] | None = None


class _Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def add(self, stage: str, start: float) -> None:
        self.timings[stage] = round(
            self.timings.get(stage, 0.0) + time.perf_counter() - start, 3
        )


def run_pipeline(
    config: Config | str | Path,
    out_dir: str | Path | None = None,
    *,
    progress: bool | None = None,
    break_lock: bool = False,
) -> RunOutcome:
    """Run the batch job: validate, compute and write every output atomically.

    Parameters
    ----------
    config : Config or path-like
        A :class:`~ccdata.report.config.Config` or the path of a TOML file.
    out_dir : path-like, optional
        The output folder; default ``[run] output`` of the configuration.
    progress : bool, optional
        Show a progress line on stderr; default: only when stderr is a terminal.
    break_lock : bool, default False
        Take over the output's lock left by a run on another host (``ccdata
        run --break-lock``); never needed for a killed run on this host, and
        never takes over a live run's lock on this host.

    Returns
    -------
    RunOutcome
        With ``exit_code`` 0 (ok), 1 (data problems, outputs written) or 2
        (configuration or input error: nothing written). Errors are logged to
        the ``ccdata.report`` logger, not raised.
    """
    t0 = time.perf_counter()
    try:
        cfg = config if isinstance(config, Config) else load_config(config)
        out = Path(out_dir) if out_dir is not None else cfg.output_dir()
        if out is None:
            raise ConfigError(
                f"{cfg.path}: no output folder: give --out DIR or set [run] output."
            )
        return _run(cfg, out, progress, t0, break_lock=break_lock)
    except (CCDataError, OSError) as exc:
        log.error("%s", exc)
        return RunOutcome(EXIT_FAILED, None, f"run failed, nothing written: {exc}")
    except Exception as exc:  # noqa: BLE001 - the job must report, not crash
        log.exception("unexpected error; nothing written")
        return RunOutcome(
            EXIT_FAILED,
            None,
            f"run failed, nothing written: {type(exc).__name__}: {exc}",
        )


def _run(
    cfg: Config,
    out: Path,
    progress: bool | None,
    t0: float,
    *,
    break_lock: bool = False,
) -> RunOutcome:
    from ccdata.report import figures as figs
    from ccdata.report import sitepack
    from ccdata.report.index import write_index

    timer = _Timer()
    n_stages = (
        len(cfg.sources)
        + len(cfg.indicators)
        + 4
        + len(cfg.completeness)
        + len(cfg.surveys)
    )
    bar = Progress(n_stages, progress)
    drawing: figs.FigureDrawing | None = None
    try:
        # Fail fast: refuse an output folder that is not ccdata's, or one that
        # another run is writing, before reading any data.
        w.check_output_dir(out)
        with w.atomic_output_dir(out, break_lock=break_lock) as tmp:
            start = time.perf_counter()
            sites = load_sites(cfg)
            sources: dict[str, SourceData] = {}
            for name in cfg.sources:
                sources[name] = read_source(cfg, name, sites)
                s = sources[name]
                log.info(
                    "source %s: %d rows read, %d rejected, %d problems",
                    name,
                    s.n_rows,
                    s.n_rejected,
                    len(s.errors),
                )
                bar.step(f"read {name}")
            timer.add("read_and_validate", start)

            start = time.perf_counter()
            dc = cfg.disclosure
            publish = dc.shared == "publication"
            kw: dict[str, Any] = {
                "min_count": dc.min_count,
                "suppress_zero": dc.suppress_zero,
            }
            # the provenance columns (file, row) are not data to judge
            quality = figs.compute_quality(
                cfg,
                {
                    n: dataclasses.replace(
                        s,
                        data=s.data.drop(
                            columns=[c for c in PROVENANCE if c in s.data.columns]
                        ),
                    )
                    for n, s in sources.items()
                },
            )
            for q in quality.values():
                # published: suppressed together (complements, margins, messages)
                qtables = (
                    dsc.publication_quality_set(q.tables, **kw) if publish else q.tables
                )
                for tname, table in qtables.items():
                    w.write_csv(
                        table,
                        tmp / "indicators" / f"{tname}.csv",
                        sort_by=q.sort_by.get(tname),
                    )
                bar.step(f"data quality {q.source}")
            timer.add("data_quality", start)

            # coverage: every site's return for every period of every source
            from ccdata.report.coverage import write_submission_status

            status = write_submission_status(cfg, tmp, sources, sites)

            results: dict[str, IndicatorOutput] = {}
            shared: dict[str, IndicatorOutput] = {}  # as the shared outputs show it
            start = time.perf_counter()
            for name, ind in cfg.indicators.items():
                results[name] = compute_indicator(cfg, name, sources[ind.source])
                add_ascertainment(cfg, results[name], sources)
                shared[name] = (
                    dsc.publication_view(results[name], **kw)
                    if publish
                    else results[name]
                )
                _write_indicator(tmp, shared[name])
                for note in results[name].skipped:
                    log.warning("indicator %s: %s", name, note)
                bar.step(f"indicator {name}")
            timer.add("indicators", start)

            from ccdata.report import surveys as svy

            surveys = {}
            shared_surveys = {}  # as the shared outputs show them
            for name, sv in cfg.surveys.items():
                start = time.perf_counter()
                surveys[name] = svy.compute_survey(cfg, name, sources[sv.source].data)
                shared_surveys[name] = (
                    svy.publication_survey(surveys[name], **kw)
                    if publish
                    else surveys[name]
                )
                svy.write_survey(tmp, shared_surveys[name])
                timer.add(f"survey_{name}", start)
                bar.step(f"survey {name}")

            start = time.perf_counter()
            registered = (
                None if sites is None else set(sites[cfg.sites.id_column].astype(str))
            )
            # without a site list: ids seen only in rejected rows get no pack
            known = (
                _known_sites(cfg, sources, results, surveys)
                if registered is None
                else None
            )
            errors = _write_validation(tmp, sources, results, registered, known)
            timer.add("validation_reports", start)
            bar.step("validation reports")

            # the steering figures are drawn beside the site packs (in another
            # process unless [run] workers = 1); "figures" is their own time
            if cfg.run.figures:  # with one steering funnel per survey question
                drawing = figs.start_figures(
                    cfg,
                    tmp,
                    shared,
                    quality,
                    also=[
                        functools.partial(svy.write_survey_figures, cfg, tmp, so)
                        for so in shared_surveys.values()
                    ],
                )

            start = time.perf_counter()
            withheld: dict[str, list[str]] = {}
            pack_errors = errors[
                errors["site_id"]
                .astype(str)
                .isin(registered if registered is not None else known or set())
            ]

            def index(packs: Any, withheld: dict[str, list[str]]) -> dict[str, int]:
                figures = drawing.result() if drawing is not None else []
                counts = _counts(
                    sources, errors, results, figures, packs, withheld, surveys, known
                )
                write_index(
                    cfg,
                    tmp,
                    sources,
                    shared,
                    quality,
                    figures,
                    packs,
                    counts,
                    status=status,
                    surveys=shared_surveys,
                )
                return counts

            # the steering report is written while the workers draw the packs,
            # for the packs expected; again at the end only if one was withheld
            early: dict[str, Any] = {}

            def index_early(sites: list[str]) -> None:
                early["sites"] = sites
                early["counts"] = index(dict.fromkeys(sites, ()), {})

            packs = (
                sitepack.write_site_packs(
                    cfg,
                    tmp,
                    results,
                    pack_errors,
                    sites,
                    quality=quality,
                    withheld=withheld,
                    status=status,
                    progress=bar.pack,
                    surveys=surveys,
                    while_drawing=index_early,
                )
                if cfg.run.site_packs
                else {}
            )
            for site, hits in sorted(withheld.items()):
                log.error(
                    "site pack %r withheld: it mentions other sites (%s)",
                    site,
                    "; ".join(hits[:5]),
                )
            if withheld:
                w.write_csv(
                    pd.DataFrame(
                        [
                            {"site_id": k, "problem": h}
                            for k, v in withheld.items()
                            for h in v
                        ],
                        columns=["site_id", "problem"],
                    ),
                    tmp / "validation" / "withheld_site_packs.csv",
                    sort_by=["site_id", "problem"],
                )
            timer.add("site_packs", start)
            bar.step("site packs")

            if drawing is not None:
                drawing.result()
            timer.timings["figures"] = round(drawing.seconds if drawing else 0.0, 3)
            bar.step("figures")

            if early.get("sites") == sorted(packs) and not withheld:
                counts = early["counts"]
            else:  # no pack drawn, or one withheld: the report as it is
                counts = index(packs, withheld)
            n_err = len(errors)
            exit_code = EXIT_DATA_PROBLEMS if (n_err or withheld) else EXIT_OK
            timer.timings["total"] = round(time.perf_counter() - t0, 3)
            manifest = _manifest(cfg, out, sources, results, counts, timer, exit_code)
            manifest["site_packs_withheld"] = sorted(withheld)
            manifest["disclosure_policy"] = dsc.policy_statement(cfg)
            w.write_json(manifest, tmp / w.MANIFEST_NAME)
            bar.step("manifest")
    finally:
        if drawing is not None:
            drawing.cancel()  # a failed run: its figures are not wanted
        bar.close()
    problems = []
    if counts["validation_problems"]:
        problems.append(
            f"{counts['validation_problems']} data problems found in "
            f"{counts['sites_with_problems']} site(s): see validation/"
        )
    if counts["unrecognised_site_ids"]:
        problems.append(
            f"{counts['unrecognised_site_ids']} site id(s) found only in rejected "
            "rows got no site pack: see validation/unrecognised_site_ids.csv"
        )
    if withheld:
        problems.append(
            f"{len(withheld)} site pack(s) withheld (they named other "
            "sites): see validation/withheld_site_packs.csv"
        )
    msg = f"outputs written to {out}; " + (
        "; ".join(problems) if problems else "no data problems found"
    )
    log.info("%s", msg)
    return RunOutcome(exit_code, out, msg, counts, manifest)


def _counts(
    sources: dict[str, SourceData],
    errors: pd.DataFrame,
    results: dict[str, IndicatorOutput],
    figures: list[Any],
    packs: dict[str, Any],
    withheld: dict[str, list[str]],
    surveys: dict[str, Any],
    known: set[str] | None,
) -> dict[str, int]:
    """Count what a run did (``RunOutcome.counts``, the steering report's footer)."""
    n_err = len(errors)
    return {
        "rows_read": sum(s.n_rows for s in sources.values()),
        "rows_rejected": sum(s.n_rejected for s in sources.values()),
        "validation_problems": n_err,
        "sites_with_problems": int(
            errors["site_id"].replace("", pd.NA).dropna().nunique()
        )
        if n_err
        else 0,
        "indicators": len(results),
        "figures": len(figures),
        "site_packs": len(packs),
        "site_packs_withheld": len(withheld),
        "surveys": len(surveys),
        "unrecognised_site_ids": _n_unrecognised(errors, known),
    }


def _known_sites(
    cfg: Config,
    sources: dict[str, SourceData],
    results: dict[str, IndicatorOutput],
    surveys: dict[str, Any],
) -> set[str]:
    """Return the site ids of a run without a site list that get a pack.

    A site is known when it has at least one accepted row in any source (so
    it appears in the results), or owns a submitted file by its name or
    folder (the source's ``owner`` key), so that a site whose whole file was
    rejected still gets its pack with its problems. An id found only in
    rejected rows (a typing error, a corrupt column: 5,000 junk ids) is not a
    site: it gets no pack and is listed in
    ``validation/unrecognised_site_ids.csv``.
    """
    from ccdata.report.sources import _file_owner

    known: set[str] = set()
    for s in sources.values():
        if "site_id" in s.data.columns and len(s.data):
            known |= set(s.data["site_id"].dropna().astype(str))
        src = cfg.sources[s.name]
        if src.owner in ("file", "folder"):
            for f in s.files:
                owner = _file_owner(cfg, src, f, None)
                if owner:
                    known.add(owner)
    for r in results.values():
        known |= {str(u) for u in r.units}
    for so in surveys.values():
        known |= set(so.units)
    known.discard("")
    return known


def _n_unrecognised(errors: pd.DataFrame, known: set[str] | None) -> int:
    if known is None or not len(errors):
        return 0
    ids = errors["site_id"].astype(str)
    return int(ids[(ids != "") & ~ids.isin(known)].nunique())


def _write_validation(
    tmp: Path,
    sources: dict[str, SourceData],
    results: dict[str, IndicatorOutput],
    registered: set[str] | None,
    known: set[str] | None = None,
) -> pd.DataFrame:
    """Write ``validation/``: every problem, per site, and the unregistered ids.

    Rows whose period cannot be read (found while computing indicators) are
    problems like any other, counted once per row and column. Problems whose
    site id is not on the registered site list go to
    ``unregistered_site_errors.csv``; they get no site pack. Without a site
    list, problems whose site id is not ``known`` (:func:`_known_sites`: an
    id found only in rejected rows) go to ``unrecognised_site_errors.csv``,
    with one row per id in ``unrecognised_site_ids.csv``; they get no pack
    and no file of their own.
    """
    vdir = tmp / "validation"
    vdir.mkdir(parents=True, exist_ok=True)
    frames = [s.errors for s in sources.values() if len(s.errors)]
    extra = [
        r.problems
        for r in results.values()
        if r.problems is not None and len(r.problems)
    ]
    if extra:
        found = pd.concat(extra, ignore_index=True).drop_duplicates(
            ["source", "file", "row", "column", "check"]
        )
        frames.append(found)
        for s in sources.values():
            s.errors = pd.concat(
                [s.errors, found[found["source"] == s.name]], ignore_index=True
            )
        frames = [s.errors for s in sources.values() if len(s.errors)]
    errors = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({c: pd.Series(dtype=object) for c in ERROR_COLUMNS})
    )
    order = ["site_id", "source", "file", "row", "column", "check"]
    w.write_csv(errors, vdir / "all_errors.csv", sort_by=order)
    rows = []
    for s in sources.values():
        per_site = (
            s.errors.groupby("site_id").size()
            if len(s.errors)
            else pd.Series(dtype=int)
        )
        rows.append(
            {
                "source": s.name,
                "site_id": "",
                "rows": s.n_rows,
                "rows_rejected": s.n_rejected,
                "problems": len(s.errors),
                "validated": s.validated,
            }
        )
        for site, n in per_site.items():
            rows.append(
                {
                    "source": s.name,
                    "site_id": site,
                    "rows": pd.NA,
                    "rows_rejected": pd.NA,
                    "problems": int(n),
                    "validated": s.validated,
                }
            )
    summary = pd.DataFrame(
        rows,
        columns=["source", "site_id", "rows", "rows_rejected", "problems", "validated"],
    )
    w.write_csv(summary, vdir / "summary.csv", sort_by=["source", "site_id"])
    ids = errors["site_id"].astype(str)
    unregistered = (ids != "") & (
        ~ids.isin(registered) if registered is not None else False
    )
    if unregistered.any():
        w.write_csv(
            errors[unregistered.to_numpy()],
            vdir / "unregistered_site_errors.csv",
            sort_by=order,
        )
    unknown = (
        (ids != "") & ~ids.isin(known)
        if known is not None and registered is None
        else pd.Series(False, index=errors.index)
    )
    if unknown.any():
        bad = errors[unknown.to_numpy()]
        w.write_csv(bad, vdir / "unrecognised_site_errors.csv", sort_by=order)
        listing = (
            bad.assign(site_id=bad["site_id"].astype(str))
            .groupby("site_id", sort=True)
            .agg(
                problems=("check", "size"),
                sources=("source", lambda v: ";".join(sorted(set(map(str, v))))),
                files=("file", lambda v: ";".join(sorted(set(map(str, v))))),
            )
            .reset_index()
        )
        w.write_csv(listing, vdir / "unrecognised_site_ids.csv", sort_by=["site_id"])
    drop = np.asarray(unregistered, dtype=bool) | unknown.to_numpy(dtype=bool)
    rest = errors[~drop] if len(errors) else errors
    for site, frame in rest.groupby("site_id", sort=True):
        fname = (
            f"{w.pack_name(str(site))}_errors.csv"
            if site
            else "unknown_site_errors.csv"
        )
        w.write_csv(frame, vdir / fname, sort_by=order)
    return errors


def _write_indicator(tmp: Path, res: IndicatorOutput) -> None:
    idir = tmp / "indicators"
    if res.funnel_table is not None:
        w.write_csv(res.funnel_table, idir / f"{res.name}_funnel.csv", sort_by=["unit"])
    if res.spc_table is not None:
        w.write_csv(res.spc_table, idir / f"{res.name}_spc.csv", sort_by=["unit"])
    if res.oe_table is not None:
        w.write_csv(
            res.oe_table, idir / f"{res.name}_observed_expected.csv", sort_by=["unit"]
        )
    if res.calibration is not None:
        w.write_csv(res.calibration, idir / f"{res.name}_calibration.csv")
    if res.cusum_table is not None:  # monthly aggregates: no patient-level rows
        w.write_csv(res.cusum_table, idir / f"{res.name}_cusum.csv")
    summary = pd.DataFrame(
        [
            {"indicator": res.name, "key": k, "value": v}
            for k, v in sorted(res.summary.items())
        ]
        + [{"indicator": res.name, "key": "window", "value": res.window}],
        columns=["indicator", "key", "value"],
    )
    summary["value"] = summary["value"].map(
        lambda v: (
            ""
            if v is None
            else (w.FLOAT_FORMAT % v if isinstance(v, float) else str(v))
        )
    )
    w.write_csv(summary, idir / f"{res.name}_summary.csv", sort_by=["key"])


def _manifest(
    cfg: Config,
    out: Path,
    sources: dict[str, SourceData],
    results: dict[str, IndicatorOutput],
    counts: dict[str, int],
    timer: _Timer,
    exit_code: int,
) -> dict[str, Any]:
    from datetime import UTC, datetime

    inputs = []
    if cfg.sites.path is not None:
        p = cfg.resolve(cfg.sites.path)
        inputs.append(
            {
                "role": "sites",
                "path": p.as_posix(),
                "sha256": w.sha256_file(p),
                "bytes": p.stat().st_size,
            }
        )
    for s in sources.values():
        for f in s.files:
            inputs.append(
                {
                    "role": f"source:{s.name}",
                    "path": f.as_posix(),
                    "sha256": w.sha256_file(f),
                    "bytes": f.stat().st_size,
                }
            )
    params = {
        k: v
        for k, v in dataclasses.asdict(cfg).items()
        if k not in ("path", "base_dir")
    }
    return {
        "tool": "ccdata run",
        "format_version": 1,
        "config": {
            "path": None if cfg.path is None else cfg.path.as_posix(),
            "sha256": None if cfg.path is None else w.sha256_file(cfg.path),
        },
        "versions": w.dependency_versions(),
        "inputs": inputs,
        "parameters": params,
        "sources": {
            s.name: {
                "rows": s.n_rows,
                "rows_rejected": s.n_rejected,
                "problems": len(s.errors),
                "validated": s.validated,
                "notes": s.notes,
            }
            for s in sources.values()
        },
        "indicators": {
            r.name: {
                "title": r.title,
                "window": r.window,
                "units": len(r.units),
                "summary": r.summary,
                "skipped": r.skipped,
            }
            for r in results.values()
        },
        "counts": counts,
        "exit_code": exit_code,
        "timings_seconds": timer.timings,
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "output_dir": out.absolute().as_posix(),
    }
