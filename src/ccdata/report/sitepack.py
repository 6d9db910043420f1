"""Site feedback packs: each site's own view, peers anonymous, small numbers hidden.

A pack ``sites/<site_id>/`` holds:

* ``summary.md`` -- a short text summary in neutral words;
* ``indicators.csv`` -- the site's own row of each funnel (value, limits,
  status) with small counts suppressed;
* ``<indicator>_funnel.png`` -- the funnel plot with the site highlighted and
  every other site an anonymous grey point (``.txt`` beside it: description);
* ``<indicator>_spc.png`` / ``<indicator>_spc.csv`` -- the site's own run or
  SPC chart (change judged against its own past);
* ``<indicator>_cusum.png`` / ``.csv`` -- its risk-adjusted CUSUM (the CSV by
  month, never one row per patient), when configured;
* ``validation_errors.csv`` -- the problems found in its submission, if any.

When an indicator's source has an expected-cases count (``[completeness.SOURCE]
expected_source``), a site whose case ascertainment is below the threshold is
ringed on every funnel (other such sites anonymously) and its summary says in
plain words that its outcome figures may be incomplete. Every pack's summary
ends with the site's own data-quality message (:func:`ccdata.data_quality`).

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

import logging
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ccdata.errors import DisclosureError
from ccdata.report import writers as w
from ccdata.report.config import Config
from ccdata.report.disclosure import TEXT_SUFFIXES as _TEXT_SUFFIXES  # noqa: F401
from ccdata.report.disclosure import (
    hidden_units,
    scan_pack,
    suppress,
    suppress_table,
    suppress_text,
    without_units,
)
from ccdata.report.figures import fixed_margins, save_figure
from ccdata.report.indicators import IndicatorOutput

__all__ = ["DisclosureError", "FigureJob", "ascertainment_sentence", "render_jobs",
           "scan_pack", "status_words", "suppress", "write_site_packs"]

log = logging.getLogger("ccdata.report")

_STATUS = {
    "within": "within the expected range (inside the 95% limits)",
    "above_95": "above the 95% limit (inside the 99.8% limit)",
    "above_998": "above the 99.8% limit",
    "below_95": "below the 95% limit (inside the 99.8% limit)",
    "below_998": "below the 99.8% limit",
}
#: Columns that count people, by indicator kind (a ratio's denominator is the
#: modelled expected count, not people).
_COUNT_COLUMNS = {"ratio": ("numerator", "observed", "n"),
                  "cusum": ("observed", "patients")}
_DEFAULT_COUNTS = ("numerator", "denominator", "observed", "n")
#: Values computed from the counts: blanked when a count is suppressed.
_DERIVED_COLUMNS = ("value", "y", "z", "z_adjusted", "ratio", "crude_rate",
                    "cusum_end", "cusum_max")



def status_words(status: str) -> str:
    """Neutral words for a funnel status.

    Examples
    --------
    >>> status_words("above_998")
    'above the 99.8% limit'
    """
    return _STATUS.get(str(status), str(status))


def _suppress_frame(frame: pd.DataFrame, cfg: Config, kind: str) -> pd.DataFrame:
    """The pack's policy (``[disclosure] own_pack``) applied to one of its tables.

    ``"full"``: the site sees its own numbers. ``"suppressed"``: small counts
    hidden with complementary suppression and every derived column blanked
    (:func:`ccdata.report.disclosure.suppress_table`).
    """
    dc = cfg.disclosure
    if dc.own_pack == "full" or (dc.min_count <= 1 and not dc.suppress_zero):
        return frame.copy()
    return suppress_table(frame, kind=kind, min_count=dc.min_count,
                          suppress_zero=dc.suppress_zero, group_columns=("phase",))


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


def _by_site(table: pd.DataFrame | None, column: str = "unit"
             ) -> dict[str, pd.DataFrame]:
    """Rows of ``table`` per site id, split once per indicator (not per site)."""
    if table is None or column not in table.columns:
        return {}
    return {str(k): g for k, g in table.groupby(table[column].astype(str), sort=False)}


def _own_funnel_row(r: IndicatorOutput, rows: pd.DataFrame | None
                    ) -> pd.DataFrame | None:
    if rows is None or rows.empty:
        return None
    row = rows.copy()
    row.insert(1, "title", r.title)
    row.insert(2, "period", r.summary.get("funnel_period", r.window))
    row["status_text"] = row["status"].map(status_words)
    row["sites_compared"] = len(r.funnel_table)
    return row


def ascertainment_sentence(ascertainment: float, expected_label: str) -> str:
    """The plain sentence for a site with poor case ascertainment.

    Examples
    --------
    >>> ascertainment_sentence(0.6195, "Hospital Episode Statistics")[:66]
    'Your records cover 62% of the cases expected from Hospital Episode'
    """
    return (f"Your records cover {100 * ascertainment:.0f}% of the cases expected "
            f"from {expected_label}; outcome figures based on incomplete records "
            "may look better or worse than they are.")


def _flag_sentence(r: IndicatorOutput, row: pd.DataFrame | None, site: str) -> str:
    """The ascertainment sentence if ``site`` is flagged for ``r``, else ''."""
    if row is None or site not in r.flagged or "ascertainment" not in row.columns:
        return ""
    return ascertainment_sentence(float(row["ascertainment"].iloc[0]),
                                  r.expected_label or "an independent source")


def _summary_lines(r: IndicatorOutput, shown: pd.DataFrame | None,
                   own_spc: pd.DataFrame | None, min_count: int,
                   flag: str = "") -> list[str]:
    lines = [f"## {r.title}", ""]
    kind = r.config.kind
    if shown is not None:
        s = shown.iloc[0]
        hidden = s["value"] == ""
        if kind == "ratio":
            what = "observed / expected ratio"
            value = ("not shown" if hidden else _fmt(s["value"], False))
            counts = (f"observed {s['numerator']}, expected "
                      f"{_fmt(s['denominator'], False)}")
        else:
            what = "value"
            value = "not shown" if hidden else _fmt(s["value"], kind == "proportion")
            counts = f"{s['numerator']} of {s['denominator']}"
        lines.append(f"- Period {s['period']}: {what} {value} ({counts}).")
        if hidden:
            other = "the expected count" if kind == "ratio" else "the other count"
            lines.append(f"  The {what} is not shown because a count of patients "
                         f"is below {min_count}: with {other} it would give that "
                         "count back.")
        lines.append(f"- Compared with {int(s['sites_compared'])} sites on a funnel "
                     f"plot, the value is {status_words(s['status'])}.")
        if r.config.target is not None:
            lines.append(f"- The funnel is centred on the target "
                         f"{_fmt(r.config.target, kind == 'proportion')}.")
        if flag:
            lines.append(f"- {flag}")
    if own_spc is not None and len(own_spc):
        lines.append(f"- Change over time ({r.window}): {_spc_signal(own_spc)}")
    lines.append("")
    return lines


def _spc_signal(pts: pd.DataFrame) -> str:
    outside = bool(pts["outside"].fillna(False).astype(bool).any()) \
        if "outside" in pts.columns else False
    run = bool(pts["run_signal"].fillna(False).astype(bool).any()) \
        if "run_signal" in pts.columns else False
    if outside or run:
        parts = []
        if outside:
            parts.append("points outside the control limits")
        if run:
            parts.append("an unusually long run or too few crossings of the "
                         "centre line")
        return ("signs of special-cause variation (" + " and ".join(parts)
                + "): worth a look at what changed.")
    return "no sign of special-cause variation against the site's own past."


@dataclass(frozen=True)
class FigureJob:
    """One pack figure to draw: what, from which shared result, where."""

    kind: str  # "funnel", "spc" or "cusum"
    ref: Any  # indicator name (funnel, spc) or the site's CUSUM rows
    path: Path
    title: str
    kwargs: dict[str, Any] = field(default_factory=dict)


# Pack figures have a fixed layout (no tight bounding box: one render per
# figure). Sizes in inches; margins (left, right, bottom, top) in inches leave
# room for the title above, the legend on the right and the caption below.
_LAYOUT: dict[str, tuple[tuple[float, float], tuple[float, float, float, float]]] = {
    "funnel": ((9.6, 4.6), (0.8, 4.35, 1.25, 0.6)),
    "spc": ((8.4, 3.8), (0.8, 2.5, 0.45, 0.6)),
    "cusum": ((7.6, 3.8), (0.8, 0.3, 0.6, 0.6)),
}


def write_site_packs(cfg: Config, tmp: Path, results: dict[str, IndicatorOutput],
                     errors: pd.DataFrame, sites: pd.DataFrame | None, *,
                     quality: dict[str, Any] | None = None,
                     withheld: dict[str, list[str]] | None = None,
                     ) -> dict[str, list[str]]:
    """Write ``sites/<site_id>/`` for every site and check none names another site.

    ``quality`` (source -> :class:`~ccdata.report.figures.QualityOutput`)
    gives each pack a "Data quality" section: the site's own row of
    :func:`ccdata.data_quality` for every source checked.

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
    err_sites = ({s for s in errors["site_id"].astype(str) if s} if len(errors)
                 else set())
    site_ids |= err_sites
    names = _site_names(cfg, sites)
    every_id = set(site_ids) | set(names)
    for r in results.values():
        every_id |= set(r.units)
    # split every table by site once per indicator
    funnel_rows = {n: _by_site(r.funnel_table) for n, r in packed.items()}
    spc_rows = {n: _by_site(r.spc_table) if r.config.spc_by == "unit" else {}
                for n, r in packed.items()}
    cusum_rows = {n: _by_site(r.cusum, "unit") for n, r in packed.items()}
    cusum_months = {n: _by_site(r.cusum_table, "unit") for n, r in packed.items()}
    errors_by_site = _by_site(errors, "site_id") if err_sites else {}
    dq_rows = {name: _by_site(q.summary, "site_id")
               for name, q in (quality or {}).items() if q.summary is not None}
    min_count = cfg.disclosure.min_count
    packs: dict[str, list[str]] = {}
    jobs: list[FigureJob] = []
    for site in sorted(site_ids):
        pdir = tmp / "sites" / w.pack_name(site)
        pdir.mkdir(parents=True, exist_ok=True)
        title = f"{site} ({names[site]})" if names.get(site) else site
        title = w.md_escape(title)
        hidden_note = ("" if cfg.disclosure.own_pack == "full" else
                       f" Counts of patients below {min_count} are shown as "
                       f"\"<{min_count}\".")
        md = [f"# Feedback pack for {title}", "",
              f"{cfg.run.title}. This pack shows your site's own results. Other "
              f"sites appear only as anonymous grey points.{hidden_note}", ""]
        rows = []
        for name, r in packed.items():
            kind = r.config.kind
            row = _own_funnel_row(r, funnel_rows[name].get(site))
            shown = None
            if row is not None:
                shown = _suppress_frame(row, cfg, kind)
                rows.append(shown)
                p = pdir / f"{name}_funnel.png"
                jobs.append(FigureJob("funnel", name, p, r.title, dict(
                    highlight=site, direction=r.config.direction,
                    period=r.summary.get("funnel_period"), **r.flag_kwargs)))
                flag = _flag_sentence(r, row, site)
                ringed = (f" Sites with {r.flag_label[0].lower()}{r.flag_label[1:]} "
                          "are ringed (dotted)." if r.flagged else "")
                w.write_text(
                    f"Funnel plot of {r.title} for {site}: its value is "
                    f"{status_words(row['status'].iloc[0])}. Every other site is "
                    f"an anonymous grey point.{ringed}"
                    + (f" {flag}" if flag else "") + "\n", p.with_suffix(".txt"))
            own_spc = spc_rows[name].get(site)
            if own_spc is not None and len(own_spc):
                w.write_csv(_suppress_frame(own_spc, cfg, kind),
                            pdir / f"{name}_spc.csv", sort_by=["x"])
                p = pdir / f"{name}_spc.png"
                jobs.append(FigureJob("spc", name, p, f"{r.title}: {site}", dict(
                    series=site, direction=r.config.direction)))
                w.write_text(f"{r.title} over time for {site}: "
                             f"{_spc_signal(own_spc)}\n", p.with_suffix(".txt"))
            own_cusum = cusum_rows[name].get(site)
            if cfg.disclosure.own_pack != "full":
                own_cusum = None  # each step of a CUSUM is a patient's outcome
            if own_cusum is not None and len(own_cusum):
                _cusum_part(pdir, name, r, site, own_cusum, jobs)
                w.write_csv(_suppress_frame(cusum_months[name][site], cfg, "cusum"),
                            pdir / f"{name}_cusum.csv", sort_by=["month"])
            if row is not None or (own_spc is not None and len(own_spc)):
                md.extend(_summary_lines(r, shown, own_spc, min_count,
                                         _flag_sentence(r, row, site)))
        if rows:
            table = pd.concat(rows, ignore_index=True)
            w.write_csv(table, pdir / "indicators.csv", sort_by=["indicator"])
        if site in err_sites:
            own_err = errors_by_site[site]
            w.write_csv(own_err, pdir / "validation_errors.csv",
                        sort_by=["source", "file", "row", "column"])
            md.extend(["## Data problems", "",
                       f"{len(own_err)} problem(s) were found in your submission; "
                       "the rows concerned were left out of the results above. "
                       "See validation_errors.csv.", ""])
        md.extend(_quality_lines(dq_rows, site, cfg))
        w.write_text("\n".join(md).rstrip() + "\n", pdir / "summary.md")
    # other sites' points whose counts are small (or protect a small one) are
    # left out of the pack figures: a point's place gives its count
    peers = {n: hidden_units(r.funnel_table, kind=r.config.kind,
                             min_count=cfg.disclosure.min_count,
                             suppress_zero=cfg.disclosure.suppress_zero)
             for n, r in packed.items()}
    render_jobs(jobs, {n: (r.funnel, r.spc, peers[n]) for n, r in packed.items()},
                dpi=cfg.run.dpi, workers=cfg.run.workers)
    for site in sorted(site_ids):
        pdir = tmp / "sites" / w.pack_name(site)
        problems = scan_pack(pdir, site, every_id | set(names.values()),
                             own_name=names.get(site))
        if problems and withheld is not None:  # that pack only is not published
            withheld[site] = problems
            shutil.rmtree(pdir, ignore_errors=True)
            continue
        if problems:
            raise DisclosureError(
                f"Site pack {site!r} mentions other sites: {problems[:5]!r}; "
                "nothing was published.")
        packs[site] = sorted(p.relative_to(tmp).as_posix()
                             for p in pdir.rglob("*") if p.is_file())
    return packs


def _quality_lines(dq_rows: dict[str, dict[str, pd.DataFrame]], site: str,
                   cfg: Config | None = None) -> list[str]:
    """The "Data quality" section: the site's own data_quality message per source."""
    lines = []
    for source, by_site in dq_rows.items():
        own = by_site.get(site)
        if own is None or own.empty:
            continue
        msg = str(own["message"].iloc[0])
        if cfg is not None and cfg.disclosure.own_pack != "full":
            msg = suppress_text(msg, min_count=cfg.disclosure.min_count,
                                suppress_zero=cfg.disclosure.suppress_zero)
        lines.append(f"- {source}: {msg[:1].upper()}{msg[1:]}.")
    if not lines:
        return []
    return ["## Data quality", "", "How complete, timely and full your submitted "
            "records are (your own records only):", "", *lines, ""]


def _cusum_part(pdir: Path, name: str, r: IndicatorOutput, site: str,
                own: pd.DataFrame, jobs: list[FigureJob]) -> None:
    p = pdir / f"{name}_cusum.png"
    ucol = "unit" if "unit" in own.columns else r.config.unit
    jobs.append(FigureJob("cusum", own, p, f"{r.title}: risk-adjusted CUSUM, {site}",
                          dict(unit=ucol, series=site)))
    w.write_text(f"Risk-adjusted CUSUM of {r.title} for {site}: the line rises "
                 "with each death and falls with each survival, weighted by the "
                 "patient's predicted risk; crossing the dashed limit is a signal "
                 "worth a look.\n", p.with_suffix(".txt"))


_SHARED: dict[str, Any] = {}


def _init_worker(shared: dict[str, Any]) -> None:
    if "parent" in shared:
        from ccdata.report.publish import die_with_parent

        die_with_parent(shared["parent"])
    _SHARED.clear()
    _SHARED.update(shared)


def _render(job: FigureJob, dpi: int) -> None:
    import textwrap

    from ccdata.plot import cusum, funnel, spc

    size, (left, right, bottom, top) = _LAYOUT[job.kind]
    kwargs = job.kwargs
    if job.kind == "cusum":
        data, plot = job.ref, cusum
    elif job.kind == "funnel":
        data, plot = _SHARED["results"][job.ref][0], funnel
        hidden = _SHARED["results"][job.ref][2:3]
        if hidden and hidden[0]:
            data = without_units(data, hidden[0], keep=kwargs.get("highlight"))
            if "flagged" in kwargs:
                kept = set(data.units["unit"].astype(str))
                kwargs = {**kwargs, "flagged": [u for u in kwargs["flagged"]
                                                if u in kept]}
    else:
        data, plot = _SHARED["results"][job.ref][1], spc
    # the title goes above the axes, left-aligned and wrapped to the figure's
    # width (a long indicator title centred on the axes would be cut)
    chars = int((size[0] - left - 0.2) * 72 / (11.5 * 0.55))
    title = textwrap.shorten(job.title, 2 * chars, placeholder="...")
    lines = textwrap.wrap(title, chars)
    top += 0.2 * (len(lines) - 1)

    def draw(fig: Any) -> None:
        plot(data, ax=fig.add_subplot(), title="" if job.kind != "funnel" else None,
             **kwargs)
        fig.suptitle("\n".join(lines), x=left / size[0], ha="left",
                     y=1 - 0.12 / size[1], va="top", fontsize="large")

    save_figure(draw, job.path, dpi=dpi, size=size,
                margins=fixed_margins(size, left=left, right=right, bottom=bottom,
                                      top=top))


def _render_chunk(args: tuple[list[FigureJob], int]) -> None:
    jobs, dpi = args
    for job in jobs:
        _render(job, dpi)


def render_jobs(jobs: list[FigureJob], results: dict[str, Any], *, dpi: int,
                workers: int = 0) -> None:
    """Draw the packs' figures, in parallel processes when ``workers`` != 1.

    ``workers = 0`` uses one process per CPU (at most 4). Figures are
    independent files, so the order of drawing does not change any output.
    Jobs go to the workers in a few large chunks, so each worker process
    pays the set-up (fonts, theme) once.

    Parameters
    ----------
    jobs : list of FigureJob
    results : dict
        Indicator name -> (FunnelResult, SPCResult), shared with the workers
        once rather than sent with every job.
    dpi : int
    workers : int, default 0
    """
    import os

    n = min(4, os.cpu_count() or 1) if workers == 0 else workers
    shared: dict[str, Any] = {"results": results}
    if n <= 1 or len(jobs) < 8:
        _init_worker(shared)
        for job in jobs:
            _render(job, dpi)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    shared["parent"] = os.getpid()  # workers die with this process
    # interleave, so every worker gets a similar mix of figure kinds
    chunks = [(jobs[i::2 * n], dpi) for i in range(2 * n)]
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context(method),
                             initializer=_init_worker, initargs=(shared,)) as pool:
        list(pool.map(_render_chunk, chunks))


def _site_names(cfg: Config, sites: pd.DataFrame | None) -> dict[str, str]:
    if sites is None or cfg.sites.name_column is None \
            or cfg.sites.name_column not in sites.columns:
        return {}
    return dict(zip(sites[cfg.sites.id_column].astype(str),
                    sites[cfg.sites.name_column].astype(str), strict=False))
