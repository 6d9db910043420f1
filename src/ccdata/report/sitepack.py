"""Site feedback packs: each site's own view, peers anonymous, small numbers hidden.

A pack ``sites/<site_id>/`` holds:

* ``index.html`` -- the pack as one self-contained web page (Jinja2 template
  ``templates/sitepack.html``, autoescaped): the site's own coverage first
  (periods received and missing, case ascertainment, completeness), then its
  results in neutral words, then change against its own past; every figure
  is embedded as inline SVG with a ``<title>`` and ``<desc>``; it reads on a
  phone and prints cleanly;
* ``<site_id>.pdf`` -- the same content as a PDF (matplotlib's PDF backend:
  no system libraries; figures stay vector graphics);
* ``summary.md`` -- the same text in Markdown;
* ``indicators.csv`` -- the site's own row of each funnel (value, limits,
  status, coverage) with small counts suppressed;
* ``<indicator>_funnel.png`` -- the funnel plot with the site highlighted and
  every other site an anonymous grey point (``.txt`` beside it: description);
  each pack figure is drawn once and saved as the inline SVG, the PDF page
  and (unless ``[run] pack_png = false``) this PNG;
* ``<indicator>_spc.png`` / ``<indicator>_spc.csv`` -- the site's own run or
  SPC chart (change judged against its own past);
* ``<indicator>_cusum.png`` / ``.csv`` -- its risk-adjusted CUSUM (the CSV by
  month, never one row per patient), when configured;
* ``validation_errors.csv`` -- the problems found in its submission, if any.

A site that sent too little of a funnel's window (``[funnel] min_coverage``,
see :mod:`ccdata.report.coverage`) is not judged on that funnel: its pack says
so, with the months missing ("no data since 2024-09").

When an indicator's source has an expected-cases count (``[completeness.SOURCE]
expected_source``), a site whose case ascertainment is below the threshold is
ringed on every funnel (other such sites anonymously) and its summary says in
plain words that its outcome figures may be incomplete.

Small-number suppression (``[disclosure] min_count``, default 5) applies to
counts of people: the events (``numerator`` / ``observed``) and, for a
proportion, the cases (``denominator``, ``n``). A count ``1 <= n < min_count``
is shown as ``"<5"`` (a zero too with ``suppress_zero``). The expected count
of a ratio indicator is a modelled, non-integer value, not a count of people:
it is never suppressed. A value computed from a suppressed count (the rate,
the O/E ratio, its z-score) is left blank, because multiplying it by the
denominator or expected count shown beside it would give the count back.
Limits and status are kept. Figures show rates, not counts, and are not
altered.

Every file written is then scanned (:func:`scan_pack`) for the identifiers and
names of other sites; a hit fails the run, so no pack is ever published with
another site's identity in it.
"""

from __future__ import annotations

import functools
import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ccdata._wording import NOT_ASSESSED, level_percent, status_text
from ccdata.errors import DisclosureError
from ccdata.report import writers as w
from ccdata.report.config import Config
from ccdata.report.coverage import (
    coverage_sentence,
    min_coverage,
    site_coverage_summary,
)
from ccdata.report.disclosure import TEXT_SUFFIXES as _TEXT_SUFFIXES  # noqa: F401
from ccdata.report.disclosure import (
    hidden_units,
    scan_pack,
    suppress,
    suppress_table,
    suppress_text,
    without_units,
)
from ccdata.report.figures import fixed_margins
from ccdata.report.indicators import IndicatorOutput

__all__ = [
    "DisclosureError",
    "FigureJob",
    "PackJob",
    "ascertainment_sentence",
    "render_jobs",
    "scan_pack",
    "status_words",
    "suppress",
    "write_site_packs",
]

log = logging.getLogger("ccdata.report")

#: Columns that count people, by indicator kind (a ratio's denominator is the
#: modelled expected count, not people).
_COUNT_COLUMNS = {
    "ratio": ("numerator", "observed", "n"),
    "cusum": ("observed", "patients"),
}
_DEFAULT_COUNTS = ("numerator", "denominator", "observed", "n")
#: Values computed from the counts: blanked when a count is suppressed.
_DERIVED_COLUMNS = (
    "value",
    "y",
    "z",
    "z_adjusted",
    "ratio",
    "crude_rate",
    "cusum_end",
    "cusum_max",
)
_DEFAULT_LEVELS = (0.95, 0.998)


def status_words(
    status: str, levels: Iterable[float] = _DEFAULT_LEVELS, direction: str | None = None
) -> str:
    """Neutral words for a funnel status, from the result's own levels.

    Examples
    --------
    >>> status_words("above_998")
    'above the 99.8% limit'
    >>> status_words("below_99", (0.9, 0.99), "increase")
    'below the 99% limit, worse than expected'
    """
    levels = tuple(levels)
    try:
        return status_text(str(status), levels, direction)
    except Exception:  # noqa: BLE001 - an unknown status is shown as it is
        return str(status)


def _suppress_frame(frame: pd.DataFrame, cfg: Config, kind: str) -> pd.DataFrame:
    """Apply the pack's policy (``[disclosure] own_pack``) to one of its tables.

    ``"full"``: the site sees its own numbers. ``"suppressed"``: small counts
    hidden with complementary suppression and every derived column blanked
    (:func:`ccdata.report.disclosure.suppress_table`).
    """
    dc = cfg.disclosure
    if dc.own_pack == "full" or (dc.min_count <= 1 and not dc.suppress_zero):
        return frame.copy()
    out = suppress_table(
        frame,
        kind=kind,
        min_count=dc.min_count,
        suppress_zero=dc.suppress_zero,
        group_columns=("phase",),
    )
    assert out is not None  # a frame in gives a frame out
    return out


def _fmt_float(v: Any) -> Any:
    return w.FLOAT_FORMAT % v if isinstance(v, float) and not np.isnan(v) else v


def _as_int(values: pd.Series) -> pd.Series:
    """Whole-number floats as integers (``142`` rather than ``142.0`` in text)."""
    num = pd.to_numeric(values, errors="coerce")
    if num.notna().all() and (num % 1 == 0).all():
        return num.astype("int64")
    return values


def _fmt(v: Any, percent: bool) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if np.isnan(f):
        return "not available"
    return f"{100 * f:.1f}%" if percent else f"{f:.2f}"


def _by_site(
    table: pd.DataFrame | None, column: str = "unit"
) -> dict[str, pd.DataFrame]:
    """Rows of ``table`` per site id, split once per indicator (not per site)."""
    if table is None or column not in table.columns:
        return {}
    return {str(k): g for k, g in table.groupby(table[column].astype(str), sort=False)}


def _levels(r: IndicatorOutput, cfg: Config) -> tuple[float, ...]:
    if r.funnel is not None and getattr(r.funnel, "levels", None) is not None:
        return tuple(float(v) for v in r.funnel.levels)
    return tuple(float(v) for v in cfg.funnel.levels)


def _own_funnel_row(
    r: IndicatorOutput, rows: pd.DataFrame | None, levels: tuple[float, ...]
) -> pd.DataFrame | None:
    if rows is None or rows.empty:
        return None
    row = rows.copy()
    row.insert(1, "title", r.title)
    row.insert(2, "period", r.summary.get("funnel_period", r.window))
    row["status_text"] = row["status"].map(
        lambda s: status_words(s, levels, r.config.direction)
    )
    table = r.funnel_table
    assert table is not None  # a site's funnel row comes from this table
    row["sites_compared"] = int((table["status"] != NOT_ASSESSED).sum())
    return row


def ascertainment_sentence(ascertainment: float, expected_label: str) -> str:
    """Write the plain sentence for a site with poor case ascertainment.

    Examples
    --------
    >>> ascertainment_sentence(0.6195, "Hospital Episode Statistics")[:66]
    'Your records cover 62% of the cases expected from Hospital Episode'
    """
    return (
        f"Your records cover {100 * ascertainment:.0f}% of the cases expected "
        f"from {expected_label}; outcome figures based on incomplete records "
        "may look better or worse than they are."
    )


def _flag_sentence(r: IndicatorOutput, row: pd.DataFrame | None, site: str) -> str:
    """Return the ascertainment sentence if ``site`` is flagged for ``r``, else ''."""
    if row is None or site not in r.flagged or "ascertainment" not in row.columns:
        return ""
    return ascertainment_sentence(
        float(row["ascertainment"].iloc[0]), r.expected_label or "an independent source"
    )


def _result_lines(
    r: IndicatorOutput,
    shown: pd.DataFrame,
    levels: tuple[float, ...],
    min_count: int,
    flag: str,
) -> list[str]:
    """Write the neutral sentences of one funnel result for a site."""
    kind = r.config.kind
    s = shown.iloc[0]
    hidden = s["value"] == "" or pd.isna(s["value"])
    if kind == "ratio":
        what = "observed / expected ratio"
        value = "not shown" if hidden else _fmt(s["value"], False)
        counts = f"observed {s['numerator']}, expected {_fmt(s['denominator'], False)}"
    else:
        what = "value"
        value = "not shown" if hidden else _fmt(s["value"], kind == "proportion")
        counts = f"{s['numerator']} of {s['denominator']}"
    lines = [f"Period {s['period']}: {what} {value} ({counts})."]
    if hidden and str(s["value"]) == "":
        other = "the expected count" if kind == "ratio" else "the other count"
        lines.append(
            f"The {what} is not shown because a count of patients is below "
            f"{min_count}: with {other} it would give that count back."
        )
    if s["status"] == NOT_ASSESSED:
        lines.append(
            "Not compared with the other sites: too little of the "
            "window was received (see below)."
            if "coverage" in s and pd.notna(s["coverage"])
            else "Not compared with the other sites (no usable data)."
        )
    else:
        lines.append(
            f"Compared with {int(s['sites_compared'])} sites on a funnel "
            f"plot, the value is "
            f"{status_words(s['status'], levels, r.config.direction)}."
        )
    percent = kind == "proportion"
    if r.config.target is not None:
        lines.append(
            f"The funnel is centred on the target {_fmt(r.config.target, percent)}."
        )
    elif r.summary.get("target") is not None and kind != "ratio":
        lines.append(
            f"The funnel is centred on the community average "
            f"{_fmt(r.summary['target'], percent)} (there is no target)."
        )
    elif kind == "ratio":
        lines.append(
            "The funnel is centred on 1: as many events as expected for "
            "the patients treated."
        )
    lines.append(f"Limits shown: {' and '.join(level_percent(v) for v in levels)}.")
    if flag:
        lines.append(flag)
    return lines


def _spc_signal(pts: pd.DataFrame) -> str:
    outside = (
        bool(pts["outside"].fillna(False).astype(bool).any())
        if "outside" in pts.columns
        else False
    )
    run = (
        bool(pts["run_signal"].fillna(False).astype(bool).any())
        if "run_signal" in pts.columns
        else False
    )
    if outside or run:
        parts = []
        if outside:
            parts.append("points outside the control limits")
        if run:
            parts.append(
                "an unusually long run or too few crossings of the centre line"
            )
        return (
            "signs of special-cause variation ("
            + " and ".join(parts)
            + "): worth a look at what changed."
        )
    return "no sign of special-cause variation against the site's own past."


def _cusum_signals(months: pd.DataFrame | None) -> str:
    """Say in words the months in which a site's CUSUM signalled."""
    if months is None or "signals" not in months.columns:
        return ""
    hit = months[pd.to_numeric(months["signals"], errors="coerce").fillna(0) > 0]
    if hit.empty:
        return "The CUSUM did not cross its limit."
    parts = [
        f"{m} ({int(n)})" for m, n in zip(hit["month"], hit["signals"], strict=True)
    ]
    total = int(pd.to_numeric(hit["signals"]).sum())
    return (
        f"The CUSUM crossed its limit {total} time(s): in "
        + ", ".join(parts)
        + " (month and number of signals)."
    )


@dataclass(frozen=True)
class FigureJob:
    """One pack figure to draw: what, from which shared result, where."""

    kind: str  # "funnel", "spc" or "cusum"
    ref: Any  # indicator name (funnel, spc) or the site's CUSUM rows
    path: Path
    title: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    entry: dict[str, Any] = field(default_factory=dict)  # the page's figure entry


@dataclass
class PackJob:
    """One site's pack to finish: its figures, its page and its PDF."""

    site: str
    pdir: Path
    pack: dict[str, Any]
    figures: list[FigureJob]


# Pack figures have a fixed layout (no tight bounding box: one render per
# figure). Sizes in inches; margins (left, right, bottom, top) in inches leave
# room for the title above, the legend on the right and the caption below.
_LAYOUT: dict[str, tuple[tuple[float, float], tuple[float, float, float, float]]] = {
    "funnel": ((9.6, 4.6), (0.8, 4.35, 1.25, 0.6)),
    "spc": ((8.4, 3.8), (0.8, 2.5, 0.45, 0.6)),
    "cusum": ((7.6, 3.8), (0.8, 0.3, 0.6, 0.6)),
    "survey_scores": ((9.0, 4.2), (0.6, 0.3, 0.5, 0.7)),
}


def _figure(
    jobs: list[FigureJob],
    kind: str,
    ref: Any,
    path: Path,
    title: str,
    desc: str,
    caption: str,
    kwargs: dict[str, Any],
) -> dict[str, Any]:
    entry = {
        "id": f"fig-{path.stem}",
        "src": path.name,
        "title": title,
        "desc": desc,
        "caption": caption,
        "svg": None,
    }
    jobs.append(FigureJob(kind, ref, path, title, kwargs, entry))
    w.write_text(desc + "\n", path.with_suffix(".txt"))
    return entry


def write_site_packs(
    cfg: Config,
    tmp: Path,
    results: dict[str, IndicatorOutput],
    errors: pd.DataFrame,
    sites: pd.DataFrame | None,
    *,
    quality: dict[str, Any] | None = None,
    status: dict[str, pd.DataFrame] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    withheld: dict[str, list[str]] | None = None,
    surveys: dict[str, Any] | None = None,
    while_drawing: Callable[[list[str]], Any] | None = None,
) -> dict[str, list[str]]:
    """Write ``sites/<site_id>/`` for every site and check none names another site.

    ``quality`` (source -> :class:`~ccdata.report.figures.QualityOutput`)
    gives each pack the site's own row of :func:`ccdata.data_quality` for
    every source checked; ``status`` (source -> the table of
    :func:`ccdata.report.coverage.source_submission_status`) its periods
    received and missing. ``progress(site, done, total)`` is called as each
    pack is finished. ``surveys`` (name ->
    :class:`~ccdata.report.surveys.SurveyOutput`) gives each surveyed unit its
    own priorities, its table and its small-multiples figure.
    ``while_drawing(sites)`` is called in this process while the worker
    processes draw the packs (after them with ``[run] workers = 1``), with
    the sorted ids of the sites that get a pack, so that other work (the
    steering report) overlaps the drawing.

    Each pack is scanned (:func:`scan_pack`) by the process that drew it, as
    soon as it is finished.

    Returns
    -------
    dict
        Site id -> sorted list of files written in its pack (relative paths).

    Raises
    ------
    DisclosureError
        If a pack file contains another site's identifier or name (unless
        ``withheld`` is given: that pack is then removed and its problems
        recorded there, site id -> hits).
    """
    packed = {n: r for n, r in results.items() if r.config.site_packs}
    site_ids: set[str] = set()
    for r in packed.values():
        site_ids |= set(r.units)
    err_sites = (
        {s for s in errors["site_id"].astype(str) if s} if len(errors) else set()
    )
    site_ids |= err_sites
    surveys = surveys or {}
    for so in surveys.values():
        if so.config.site_packs:
            site_ids |= set(so.units)
    names = _site_names(cfg, sites)
    every_id = set(site_ids) | set(names)
    for r in results.values():
        every_id |= set(r.units)
    for so in surveys.values():
        every_id |= set(so.units)
    # split every table by site once per indicator
    funnel_rows = {n: _by_site(r.funnel_table) for n, r in packed.items()}
    spc_rows = {
        n: _by_site(r.spc_table) if r.config.spc_by == "unit" else {}
        for n, r in packed.items()
    }
    cusum_rows = {n: _by_site(r.cusum, "unit") for n, r in packed.items()}
    cusum_months = {n: _by_site(r.cusum_table, "unit") for n, r in packed.items()}
    errors_by_site = _by_site(errors, "site_id") if err_sites else {}
    dq_rows = {
        name: _by_site(q.summary, "site_id")
        for name, q in (quality or {}).items()
        if q.summary is not None
    }
    status_rows = {name: _by_site(t, "site_id") for name, t in (status or {}).items()}
    min_count = cfg.disclosure.min_count
    share = min_coverage(cfg)
    pack_jobs: list[PackJob] = []
    for site in sorted(site_ids):
        pdir = tmp / "sites" / w.pack_name(site)
        pdir.mkdir(parents=True, exist_ok=True)
        title = f"{site} ({names[site]})" if names.get(site) else site
        hidden_note = (
            ""
            if cfg.disclosure.own_pack == "full"
            else f' Counts of patients below {min_count} are shown as "<{min_count}".'
        )
        pack: dict[str, Any] = {
            "title": f"Feedback pack for {title}",
            "intro": (
                f"{cfg.run.title}. This pack shows your site's own results. "
                "Other sites appear only as anonymous grey points." + hidden_note
            ),
            "coverage": _coverage_part(status_rows, dq_rows, site, cfg),
            "results": [],
            "change": [],
            "problems": "",
            "files": [],
            "surveys": [],
            "pdf": f"{w.pack_name(site)}.pdf",
            "footer": (
                f"Made by ccdata from the data received. Results need at "
                f"least {100 * share:.0f}% of a window's periods to be "
                "compared with other sites."
            ),
        }
        jobs: list[FigureJob] = []
        rows = []
        for name, r in packed.items():
            kind = r.config.kind
            levels = _levels(r, cfg)
            row = _own_funnel_row(r, funnel_rows[name].get(site), levels)
            if row is not None:
                shown = _suppress_frame(row, cfg, kind)
                rows.append(shown)
                pack["results"].append(
                    _result_part(
                        cfg,
                        r,
                        name,
                        site,
                        row,
                        shown,
                        levels,
                        min_count,
                        share,
                        pdir,
                        jobs,
                    )
                )
            own_spc = spc_rows[name].get(site)
            change: dict[str, Any] = {
                "name": name,
                "title": r.title,
                "lines": [],
                "figures": [],
            }
            if own_spc is not None and len(own_spc):
                w.write_csv(
                    _suppress_frame(own_spc, cfg, kind),
                    pdir / f"{name}_spc.csv",
                    sort_by=["x"],
                )
                text = f"{r.title} over time for {site}: {_spc_signal(own_spc)}"
                change["lines"].append(
                    f"Change over time ({_own_span(own_spc, r)}): "
                    f"{_spc_signal(own_spc)}"
                )
                change["figures"].append(
                    _figure(
                        jobs,
                        "spc",
                        name,
                        pdir / f"{name}_spc.png",
                        f"{r.title}: {site}",
                        text,
                        f"{r.title}: your site over time ({r.window}).",
                        dict(series=site, direction=r.config.direction),
                    )
                )
            own_cusum = cusum_rows[name].get(site)
            if cfg.disclosure.own_pack != "full":
                own_cusum = None  # each step of a CUSUM is a patient's outcome
            if own_cusum is not None and len(own_cusum):
                months = cusum_months[name].get(site)
                change["lines"].append(_cusum_signals(months))
                change["figures"].append(
                    _cusum_part(pdir, name, r, site, own_cusum, months, jobs)
                )
                if months is not None:
                    w.write_csv(
                        _suppress_frame(months, cfg, "cusum"),
                        pdir / f"{name}_cusum.csv",
                        sort_by=["month"],
                    )
            if change["lines"]:
                pack["change"].append(change)
        for sname, so in surveys.items():
            if so.config.site_packs and site in so.units:
                pack["surveys"].append(_survey_part(sname, so, site, pdir, jobs, cfg))
        if rows:
            table = pd.concat(rows, ignore_index=True)
            w.write_csv(table, pdir / "indicators.csv", sort_by=["indicator"])
        if site in err_sites:
            own_err = errors_by_site[site]
            w.write_csv(
                own_err,
                pdir / "validation_errors.csv",
                sort_by=["source", "file", "row", "column"],
            )
            pack["problems"] = (
                f"{len(own_err)} problem(s) were found in your submission; the rows "
                "concerned were left out of the results above. See "
                "validation_errors.csv for each row, column and value."
            )
        pack["files"] = sorted(
            [p.name for p in pdir.iterdir() if p.is_file()]
            + ([j.path.name for j in jobs] if cfg.run.pack_png else [])
            + [pack["pdf"], "summary.md"]
        )
        from ccdata.report.render import render_template

        w.write_text(render_template("sitepack.md", pack=pack), pdir / "summary.md")
        pack_jobs.append(PackJob(site, pdir, pack, jobs))
    # other sites' points whose counts are small (or protect a small one) are
    # left out of the pack figures: a point's place gives its count
    peers = {
        n: hidden_units(
            r.funnel_table,
            kind=r.config.kind,
            min_count=cfg.disclosure.min_count,
            suppress_zero=cfg.disclosure.suppress_zero,
        )
        for n, r in packed.items()
    }
    shared_results: dict[str, Any] = {
        n: (r.funnel, r.spc, peers[n]) for n, r in packed.items()
    }
    shared_results.update({f"survey:{n}": (so.funnels,) for n, so in surveys.items()})
    found = render_packs(
        pack_jobs,
        shared_results,
        dpi=cfg.run.dpi,
        workers=cfg.run.workers,
        progress=progress,
        png=cfg.run.pack_png,
        scan={"identifiers": every_id | set(names.values()), "names": names},
        while_drawing=(
            None
            if while_drawing is None
            else functools.partial(while_drawing, sorted(site_ids))
        ),
    )
    packs: dict[str, list[str]] = {}
    for site in sorted(site_ids):
        pdir = tmp / "sites" / w.pack_name(site)
        problems = found.get(site, [])
        if problems and withheld is not None:  # that pack only is not published
            withheld[site] = problems
            shutil.rmtree(pdir, ignore_errors=True)
            continue
        if problems:
            raise DisclosureError(
                f"Site pack {site!r} mentions other sites: {problems[:5]!r}; "
                "nothing was published."
            )
        packs[site] = sorted(
            p.relative_to(tmp).as_posix() for p in pdir.rglob("*") if p.is_file()
        )
    return packs


def _survey_part(
    name: str,
    so: Any,
    site: str,
    pdir: Path,
    jobs: list[FigureJob],
    cfg: Config | None = None,
) -> dict[str, Any]:
    """Build a surveyed unit's own part: its priorities, CSV and figure.

    With ``[disclosure] own_pack = "suppressed"`` the priorities CSV hides
    small respondent numbers as the published survey tables do
    (:func:`ccdata.report.disclosure.suppress_survey`), like every other
    table of the pack; the sentences and the figure give no counts.
    """
    own = so.priorities.for_unit(site)
    dc = cfg.disclosure if cfg is not None else None
    if dc is not None and dc.own_pack != "full":
        from ccdata.report.disclosure import suppress_survey

        a = so.funnels.adjusted
        own = suppress_survey(
            own,
            unit=a.unit,
            period=a.period,
            min_count=dc.min_count,
            suppress_zero=dc.suppress_zero,
        )
    w.write_csv(own, pdir / f"survey_{name}_priorities.csv")
    text = so.priorities.summary(site)
    part: dict[str, Any] = {
        "name": name,
        "title": so.title,
        "lines": [text, so.rule],
        "figures": [],
    }
    part["figures"].append(
        _figure(
            jobs,
            "survey_scores",
            f"survey:{name}",
            pdir / f"survey_{name}_scores.png",
            f"{so.title}: {site}",
            f"{so.title} for {site}: each question's case-mix-adjusted score against "
            f"its expected range. {text}",
            f"{so.title}: your trust's scores against their expected ranges.",
            {"unit": site},
        )
    )
    return part


def _result_part(
    cfg: Config,
    r: IndicatorOutput,
    name: str,
    site: str,
    row: pd.DataFrame,
    shown: pd.DataFrame,
    levels: tuple[float, ...],
    min_count: int,
    share: float,
    pdir: Path,
    jobs: list[FigureJob],
) -> dict[str, Any]:
    """One result of a site's pack: sentences, coverage and its funnel figure."""
    flag = _flag_sentence(r, row, site)
    status = str(row["status"].iloc[0])
    assessed = status != NOT_ASSESSED
    part: dict[str, Any] = {
        "name": name,
        "title": r.title,
        "assessed": assessed,
        "figures": [],
        "lines": _result_lines(r, shown, levels, min_count, flag),
        "coverage": "",
    }
    if "coverage" in row.columns and pd.notna(row["coverage"].iloc[0]):
        part["coverage"] = coverage_sentence(row.iloc[0], min_share=share)
    if assessed and r.funnel is not None:
        label = r.flag_label or ""
        ringed = (
            f" Sites with {label[:1].lower()}{label[1:]} are ringed (dotted)."
            if r.flagged
            else ""
        )
        words = status_words(status, levels, r.config.direction)
        cov = f" {part['coverage']}" if part["coverage"] else ""
        desc = (
            f"Funnel plot of {r.title} for {site}: its value is {words}. Every "
            f"other site is an anonymous grey point.{ringed}"
            + (f" {flag}" if flag else "")
            + cov
        )
        period = r.summary.get("funnel_period")
        part["figures"].append(
            _figure(
                jobs,
                "funnel",
                name,
                pdir / f"{name}_funnel.png",
                r.title,
                desc,
                f"{r.title} ({period}): your site highlighted; the value is {words}."
                + cov,
                dict(
                    highlight=site,
                    direction=r.config.direction,
                    period=period,
                    **r.flag_kwargs,
                ),
            )
        )
    return part


def _coverage_part(
    status_rows: dict[str, dict[str, pd.DataFrame]],
    dq_rows: dict[str, dict[str, pd.DataFrame]],
    site: str,
    cfg: Config | None = None,
) -> list[dict[str, Any]]:
    """Build the pack's first section: per source, the site's periods and quality."""
    out = []
    for source in sorted(set(status_rows) | set(dq_rows)):
        rows: list[tuple[str, str]] = []
        sentences: list[str] = []
        quality = ""
        own = status_rows.get(source, {}).get(site)
        info = site_coverage_summary(own, site)
        if info:
            rows.append(
                (
                    "Periods expected",
                    f"{info['first']} to {info['last']} ({info['periods']})",
                )
            )
            rows.append(
                ("Periods received", f"{info['received']} of {info['periods']}")
            )
            rows.append(("Periods missing", info["missing"] or "none"))
            if info["timed"]:
                rows.append(
                    (
                        "Received late",
                        f"{info['late_count']}"
                        + (f" ({info['late']})" if info["late"] else ""),
                    )
                )
            if info["missing"]:
                sentences.append(f"No data was received for {info['missing']}.")
        dq = dq_rows.get(source, {}).get(site)
        if dq is not None and not dq.empty:
            d = dq.iloc[0]
            asc = d.get("ascertainment")
            if asc is not None and pd.notna(asc):
                rows.append(
                    (
                        "Case ascertainment",
                        f"{100 * float(asc):.0f}% of the expected cases "
                        f"({_count(d.get('submitted'))} of "
                        f"{_count(d.get('expected'))})",
                    )
                )
            comp = d.get("complete_proportion")
            if comp is not None and pd.notna(comp):
                rows.append(
                    (
                        "Complete records",
                        f"{100 * float(comp):.1f}% of {d.get('records')} "
                        "records hold every mandatory field",
                    )
                )
            msg = str(d.get("message") or "")
            if msg and cfg is not None and cfg.disclosure.own_pack != "full":
                msg = suppress_text(
                    msg,
                    min_count=cfg.disclosure.min_count,
                    suppress_zero=cfg.disclosure.suppress_zero,
                )
            if msg:
                quality = f"{msg[:1].upper()}{msg[1:]}."
        if rows or sentences or quality:
            out.append(
                {
                    "source": source,
                    "label": f"Source: {source}",
                    "rows": rows,
                    "sentences": sentences,
                    "quality": quality,
                }
            )
    return out


def _own_span(points: pd.DataFrame, r: IndicatorOutput) -> str:
    """Return the periods a site's own chart has data for (not the whole window)."""
    freq = {"month": "M", "quarter": "Q", "year": "Y"}.get(r.config.period_freq)
    if freq is None or "x" not in points.columns:
        return r.window
    has = points["y"].notna() if "y" in points.columns else points["x"].notna()
    x = points.loc[has, "x"]
    if x.empty:
        return r.window
    try:
        per = pd.to_datetime(x.astype(str)).dt.to_period(freq)
    except (ValueError, TypeError):
        return r.window
    first, last = str(per.min()), str(per.max())
    return first if first == last else f"{first} to {last}"


def _count(v: Any) -> str:
    """Write a count as text: ``346`` rather than ``346.0``.

    Examples
    --------
    >>> _count(346.0), _count(2.5), _count(None)
    ('346', '2.5', 'None')
    """
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def _cusum_part(
    pdir: Path,
    name: str,
    r: IndicatorOutput,
    site: str,
    own: pd.DataFrame,
    months: pd.DataFrame | None,
    jobs: list[FigureJob],
) -> dict[str, Any]:
    ucol = "unit" if "unit" in own.columns else r.config.unit
    signals = _cusum_signals(months)
    desc = (
        f"Risk-adjusted CUSUM of {r.title} for {site}: the line rises with each "
        "death and falls with each survival, weighted by the patient's "
        "predicted risk; crossing the dashed limit is a signal worth a look. " + signals
    ).strip()
    return _figure(
        jobs,
        "cusum",
        own,
        pdir / f"{name}_cusum.png",
        f"{r.title}: risk-adjusted CUSUM, {site}",
        desc,
        f"Risk-adjusted CUSUM of {r.title}. {signals}".strip(),
        dict(unit=ucol, series=site),
    )


_SHARED: dict[str, Any] = {}


def _init_worker(shared: dict[str, Any]) -> None:
    if "parent" in shared:
        from ccdata.report.publish import die_with_parent

        die_with_parent(shared["parent"])
    _SHARED.clear()
    _SHARED.update(shared)


def _draw(job: FigureJob, dpi: int, png: bool = True) -> Any:
    """Draw one figure on a new Figure (inside the theme); save its PNG if asked.

    The Figure is returned so that the caller saves its other formats (the
    inline SVG, the page of the PDF) from the same drawing.
    """
    import textwrap

    from matplotlib.figure import Figure

    from ccdata.plot import cusum, funnel, spc

    size, (left, right, bottom, top) = _LAYOUT[job.kind]
    kwargs = job.kwargs
    if job.kind == "survey_scores":  # small multiples: draws its own Axes
        from ccdata.plot import survey_scores

        fig = Figure(figsize=size)
        survey_scores(
            _SHARED["results"][job.ref][0], kwargs["unit"], fig=fig, title=job.title
        )
        if png:
            _save_png(fig, job.path, dpi)
        return fig
    plot: Callable[..., Any]
    if job.kind == "cusum":
        data, plot = job.ref, cusum
    elif job.kind == "funnel":
        data, plot = _SHARED["results"][job.ref][0], funnel
        hidden = _SHARED["results"][job.ref][2:3]
        if hidden and hidden[0]:
            data = without_units(data, hidden[0], keep=kwargs.get("highlight"))
            if "flagged" in kwargs:
                kept = set(data.units["unit"].astype(str))
                kwargs = {
                    **kwargs,
                    "flagged": [u for u in kwargs["flagged"] if u in kept],
                }
    else:
        data, plot = _SHARED["results"][job.ref][1], spc
    # the title goes above the axes, left-aligned and wrapped to the figure's
    # width (a long indicator title centred on the axes would be cut)
    chars = int((size[0] - left - 0.2) * 72 / (11.5 * 0.55))
    title = textwrap.shorten(job.title, 2 * chars, placeholder="...")
    lines = textwrap.wrap(title, chars)
    top += 0.2 * (len(lines) - 1)
    fig = Figure(figsize=size)
    fig.subplots_adjust(
        **fixed_margins(size, left=left, right=right, bottom=bottom, top=top)
    )
    plot(
        data, ax=fig.add_subplot(), title="" if job.kind != "funnel" else None, **kwargs
    )
    fig.suptitle(
        "\n".join(lines),
        x=left / size[0],
        ha="left",
        y=1 - 0.12 / size[1],
        va="top",
        fontsize="large",
    )
    if png:
        _save_png(fig, job.path, dpi)
    return fig


def _save_png(fig: Any, path: Path, dpi: int) -> None:
    w.check_inside(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, metadata={"Software": None})


def _render_pack(job: PackJob, dpi: int, png: bool = True) -> None:
    """Draw a pack's figures once each and save them to every format.

    Each figure is drawn on one Figure, which is saved as the PNG (if
    ``png``), as the inline SVG of the page and as a page of the PDF.
    """
    import io

    import matplotlib

    from ccdata.plot import theme
    from ccdata.report.render import render_template, svg_inline, write_pdf

    with (
        theme(dpi=dpi),
        matplotlib.rc_context(
            {
                "savefig.bbox": "standard",
                "svg.hashsalt": "ccdata",
                "svg.fonttype": "none",
                # a site id such as "$\\notacommand$" is text, not math
                "text.parse_math": False,
            }
        ),
    ):
        figs = {}
        for fj in job.figures:
            fig = _draw(fj, dpi, png)
            buf = io.StringIO()
            fig.savefig(buf, format="svg", metadata={"Date": None})
            e = fj.entry
            e["svg"] = svg_inline(
                buf.getvalue(), title=e["title"], desc=e["desc"], ident=e["id"]
            )
            figs[e["id"]] = fig
        page = render_template("sitepack.html", pack=job.pack)
        w.write_text(page, job.pdir / "index.html")
        write_pdf(
            job.pdir / job.pack["pdf"], page, title=job.pack["title"], figures=figs
        )


def _finish_pack(job: PackJob, dpi: int, png: bool) -> list[str]:
    """Draw a pack (:func:`_render_pack`) and scan it for other sites' identities.

    Returns the problems found by :func:`scan_pack` (empty when the pack is
    clean, or when no scan was asked for: ``_SHARED["scan"]``).
    """
    _render_pack(job, dpi, png)
    scan = _SHARED.get("scan")
    if scan is None:
        return []
    return scan_pack(
        job.pdir,
        job.site,
        scan["identifiers"],
        own_name=scan["names"].get(job.site),
        own_aliases=(w.pack_name(job.site),),
    )


def _render_chunk(
    args: tuple[list[PackJob], int, bool],
) -> list[tuple[str, list[str]]]:
    jobs, dpi, png = args
    return [(job.site, _finish_pack(job, dpi, png)) for job in jobs]


def render_jobs(
    jobs: list[FigureJob], results: dict[str, Any], *, dpi: int, workers: int = 0
) -> None:
    """Draw loose pack figures (PNG only), in this process.

    Kept for callers that draw figures without a pack page; the batch job
    uses :func:`render_packs`.
    """
    import matplotlib

    from ccdata.plot import theme

    _init_worker({"results": results})
    with (
        theme(dpi=dpi),
        matplotlib.rc_context({"savefig.bbox": "standard", "text.parse_math": False}),
    ):
        for job in jobs:
            _draw(job, dpi)


def render_packs(
    jobs: list[PackJob],
    results: dict[str, Any],
    *,
    dpi: int,
    workers: int = 0,
    progress: Callable[[str, int, int], None] | None = None,
    png: bool = True,
    scan: dict[str, Any] | None = None,
    while_drawing: Callable[[], Any] | None = None,
) -> dict[str, list[str]]:
    """Finish the packs (figures, page, PDF), in parallel unless ``workers`` is 1.

    ``workers = 0`` uses one process per CPU (at most 4). Packs are
    independent folders, so the order of drawing does not change any output.
    Each worker gets a few packs at a time and pays the set-up (fonts, theme)
    once; ``progress(site, done, total)`` is called in this process as packs
    finish. The largest packs are handed out first, so that no worker is
    left with a long pack at the end while the others wait.

    Parameters
    ----------
    jobs : list of PackJob
    results : dict
        Indicator name -> (FunnelResult, SPCResult), shared with the workers
        once rather than sent with every job.
    dpi : int
    workers : int, default 0
    progress : callable, optional
    png : bool, default True
        Also save each figure as a PNG file (``[run] pack_png``); the page
        and the PDF never need it (inline SVG, vector pages).
    scan : dict, optional
        ``{"identifiers": every site id and name, "names": site id -> name}``:
        each pack is then scanned by :func:`scan_pack` in the process that
        drew it, as soon as it is drawn.
    while_drawing : callable, optional
        Called (no arguments) in this process once the workers have their
        packs, and before waiting for them: work of this process that
        overlaps the drawing. With one worker it is called after the
        drawing.

    Returns
    -------
    dict
        Site id -> the problems :func:`scan_pack` found in its pack (empty
        lists when clean; empty without ``scan``).
    """
    import os

    n = min(4, os.cpu_count() or 1) if workers == 0 else workers
    shared: dict[str, Any] = {"results": results}
    if scan is not None:
        shared["scan"] = scan
    found: dict[str, list[str]] = {}
    if n <= 1 or len(jobs) < 4:
        _init_worker(shared)
        for k, job in enumerate(jobs, 1):
            found[job.site] = _finish_pack(job, dpi, png)
            if progress is not None:
                progress(job.site, k, len(jobs))
        if while_drawing is not None:
            while_drawing()
        return found
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    shared["parent"] = os.getpid()  # workers die with this process
    # small tasks (a few packs each), the packs with most figures first, keep
    # every worker busy to the end
    order = sorted(jobs, key=lambda j: -len(j.figures))
    size = max(1, min(3, len(jobs) // (4 * n)))
    chunks = [(order[i : i + size], dpi, png) for i in range(0, len(jobs), size)]
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(
        max_workers=n,
        mp_context=mp.get_context(method),
        initializer=_init_worker,
        initargs=(shared,),
    ) as pool:
        futures = [pool.submit(_render_chunk, c) for c in chunks]
        try:
            if while_drawing is not None:
                while_drawing()
            done = 0
            for fut in as_completed(futures):
                for site, problems in fut.result():
                    found[site] = problems
                    done += 1
                    if progress is not None:
                        progress(site, done, len(jobs))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return found


def _site_names(cfg: Config, sites: pd.DataFrame | None) -> dict[str, str]:
    if (
        sites is None
        or cfg.sites.name_column is None
        or cfg.sites.name_column not in sites.columns
    ):
        return {}
    return dict(
        zip(
            sites[cfg.sites.id_column].astype(str),
            sites[cfg.sites.name_column].astype(str),
            strict=False,
        )
    )
