"""Site feedback packs: each site's own view, peers anonymous, small numbers hidden.

A pack ``sites/<site_id>/`` holds:

* ``summary.md`` -- a short text summary in neutral words;
* ``indicators.csv`` -- the site's own row of each funnel (value, limits,
  status) with small counts suppressed;
* ``<indicator>_funnel.png`` -- the funnel plot with the site highlighted and
  every other site an anonymous grey point (``.txt`` beside it: description);
* ``<indicator>_spc.png`` / ``<indicator>_spc.csv`` -- the site's own run or
  SPC chart (change judged against its own past);
* ``<indicator>_cusum.png`` / ``.csv`` -- its risk-adjusted CUSUM, when configured;
* ``validation_errors.csv`` -- the problems found in its submission, if any.

Small-number suppression: in every table and text of a pack, a count
``1 <= n < min_count`` (``[disclosure] min_count``, default 5) is shown as
``"<5"``; with ``suppress_zero`` a zero is suppressed too. A value (rate,
ratio) computed from a suppressed count is left blank. Figures show rates, not
counts, and are not altered.

Every file written is then scanned (:func:`scan_pack`) for the identifiers and
names of other sites; a hit fails the run, so no pack is ever published with
another site's identity in it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ccdata.config import Config
from ccdata.errors import CCDataError
from ccdata.report import writers as w
from ccdata.report.figures import save_figure
from ccdata.report.indicators import IndicatorOutput
from ccdata.report.sources import stage_api

__all__ = ["DisclosureError", "scan_pack", "status_words", "suppress",
           "write_site_packs"]

log = logging.getLogger("ccdata.report")

_STATUS = {
    "within": "within the expected range (inside the 95% limits)",
    "above_95": "above the 95% limit (inside the 99.8% limit)",
    "above_998": "above the 99.8% limit",
    "below_95": "below the 95% limit (inside the 99.8% limit)",
    "below_998": "below the 99.8% limit",
}
_COUNT_COLUMNS = ("numerator", "denominator", "observed", "n")
_TEXT_SUFFIXES = (".csv", ".md", ".txt", ".html", ".json")


class DisclosureError(CCDataError, RuntimeError):
    """A site pack contains another site's identifier; nothing is published."""


def status_words(status: str) -> str:
    """Neutral words for a funnel status.

    Examples
    --------
    >>> status_words("above_998")
    'above the 99.8% limit'
    """
    return _STATUS.get(str(status), str(status))


def suppress(values: pd.Series, *, min_count: int, suppress_zero: bool = False
             ) -> tuple[pd.Series, np.ndarray]:
    """Replace counts ``1..min_count-1`` (and 0 if asked) by ``"<min_count"``.

    Returns the shown values (object dtype) and the boolean mask of suppressed
    cells.

    Examples
    --------
    >>> shown, mask = suppress(pd.Series([0, 3, 5, 12]), min_count=5)
    >>> shown.tolist(), mask.tolist()
    ([0, '<5', 5, 12], [False, True, False, False])
    """
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    low = 0 if suppress_zero else 1
    mask = (num >= low) & (num < min_count) & ~np.isnan(num)
    shown = values.astype(object).copy()
    shown[mask] = f"<{min_count}"
    return shown, mask


def _suppress_frame(frame: pd.DataFrame, cfg: Config, value_cols: Iterable[str]
                    ) -> pd.DataFrame:
    out = frame.copy()
    dc = cfg.disclosure
    if dc.min_count <= 1 and not dc.suppress_zero:
        return out
    any_mask = np.zeros(len(out), dtype=bool)
    for col in _COUNT_COLUMNS:
        if col in out.columns:
            shown, mask = suppress(out[col], min_count=dc.min_count,
                                   suppress_zero=dc.suppress_zero)
            out[col] = shown
            any_mask |= mask
    for col in value_cols:
        if col in out.columns and any_mask.any():
            out[col] = out[col].astype(object).where(~any_mask, "")
    return out


def _fmt(v: Any, percent: bool) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if np.isnan(f):
        return "not available"
    return f"{100 * f:.1f}%" if percent else f"{f:.2f}"


def _own_funnel_row(r: IndicatorOutput, site: str) -> pd.DataFrame | None:
    if r.funnel_table is None:
        return None
    row = r.funnel_table[r.funnel_table["unit"].astype(str) == site]
    if row.empty:
        return None
    row = row.copy()
    row.insert(1, "title", r.title)
    row.insert(2, "period", r.summary.get("funnel_period", r.window))
    row["status_text"] = row["status"].map(status_words)
    row["sites_compared"] = len(r.funnel_table)
    return row


def _summary_lines(r: IndicatorOutput, site: str, row: pd.DataFrame | None,
                   shown: pd.DataFrame | None) -> list[str]:
    lines = [f"## {r.title}", ""]
    percent = r.config.kind == "proportion"
    if row is not None and shown is not None:
        s = shown.iloc[0]
        period = s["period"]
        value = s["value"]
        value_text = ("not shown (small numbers)" if value == ""
                      else _fmt(value, percent))
        lines.append(
            f"- Period {period}: value {value_text} "
            f"(numerator {s['numerator']}, denominator "
            f"{_fmt(s['denominator'], False) if r.config.kind == 'ratio' else s['denominator']})."
        )
        lines.append(f"- Compared with {int(s['sites_compared'])} sites on a funnel "
                     f"plot, the value is {status_words(s['status'])}.")
        if r.config.target is not None:
            lines.append(f"- The funnel is centred on the target "
                         f"{_fmt(r.config.target, percent)}.")
    if r.spc is not None and r.spc_table is not None:
        pts = r.spc_table[r.spc_table["unit"].astype(str) == site]
        if len(pts):
            sig = _spc_signal(pts)
            lines.append(f"- Change over time ({r.window}): {sig}")
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
            parts.append("an unusually long run or too few crossings of the centre line")
        return ("signs of special-cause variation (" + " and ".join(parts)
                + "): worth a look at what changed.")
    return "no sign of special-cause variation against the site's own past."


def write_site_packs(cfg: Config, tmp: Path, results: dict[str, IndicatorOutput],
                     errors: pd.DataFrame, sites: pd.DataFrame | None
                     ) -> dict[str, list[str]]:
    """Write ``sites/<site_id>/`` for every site and check none names another site.

    Returns
    -------
    dict
        Site id -> sorted list of files written in its pack (relative paths).

    Raises
    ------
    DisclosureError
        If a pack file contains another site's identifier or name.
    """
    packed = {n: r for n, r in results.items() if r.config.site_packs}
    site_ids: set[str] = set()
    for r in packed.values():
        site_ids |= set(r.units)
    err_sites = {s for s in errors["site_id"].astype(str) if s} if len(errors) else set()
    site_ids |= err_sites
    names = _site_names(cfg, sites)
    every_id = set(site_ids) | set(names)
    for r in results.values():
        every_id |= set(r.units)
    pfunnel = stage_api("ccdata.plot", "funnel")
    pspc = stage_api("ccdata.plot", "spc")
    pcusum = stage_api("ccdata.plot", "cusum")
    dpi = cfg.run.dpi
    packs: dict[str, list[str]] = {}
    jobs: list[tuple] = []
    for site in sorted(site_ids):
        pdir = tmp / "sites" / _safe(site)
        pdir.mkdir(parents=True, exist_ok=True)
        title = f"{site} ({names[site]})" if names.get(site) else site
        md = [f"# Feedback pack for {title}", "",
              f"{cfg.run.title}. This pack shows your site's own results. Other "
              "sites appear only as anonymous grey points; counts below "
              f"{cfg.disclosure.min_count} are shown as "
              f"\"<{cfg.disclosure.min_count}\".", ""]
        rows = []
        for name, r in packed.items():
            row = _own_funnel_row(r, site)
            shown = None
            if row is not None:
                shown = _suppress_frame(row, cfg, ["value"])
                rows.append(shown)
                if pfunnel is not None:
                    p = pdir / f"{name}_funnel.png"
                    jobs.append(("funnel", name, p, dpi, dict(
                        highlight=site, direction=r.config.direction,
                        period=r.summary.get("funnel_period"), title=r.title)))
                    w.write_text(
                        f"Funnel plot of {r.title} for {site}: its value is "
                        f"{status_words(row['status'].iloc[0])}. Every other site is "
                        "an anonymous grey point.\n", p.with_suffix(".txt"))
            own_spc = (r.spc_table[r.spc_table["unit"].astype(str) == site]
                       if r.spc_table is not None and r.config.spc_by == "unit" else None)
            if own_spc is not None and len(own_spc):
                w.write_csv(_suppress_frame(own_spc, cfg, ["y", "value"]),
                            pdir / f"{name}_spc.csv", sort_by=["x"])
                if pspc is not None:
                    p = pdir / f"{name}_spc.png"
                    jobs.append(("spc", name, p, dpi, dict(
                        series=site, direction=r.config.direction,
                        title=f"{r.title}: {site}")))
                    w.write_text(f"{r.title} over time for {site}: "
                                 f"{_spc_signal(own_spc)}\n", p.with_suffix(".txt"))
            if r.cusum is not None:
                _cusum_part(cfg, pdir, name, r, site, pcusum, jobs)
            if row is not None or (own_spc is not None and len(own_spc)):
                md.extend(_summary_lines(r, site, row, shown))
        if rows:
            table = pd.concat(rows, ignore_index=True)
            w.write_csv(table, pdir / "indicators.csv", sort_by=["indicator"])
        if site in err_sites:
            own_err = errors[errors["site_id"].astype(str) == site]
            w.write_csv(own_err, pdir / "validation_errors.csv",
                        sort_by=["source", "file", "row", "column"])
            md.extend(["## Data problems", "",
                       f"{len(own_err)} problem(s) were found in your submission; "
                       "the rows concerned were left out of the results above. "
                       "See validation_errors.csv.", ""])
        w.write_text("\n".join(md).rstrip() + "\n", pdir / "summary.md")
    render_jobs(jobs, {n: (r.funnel, r.spc) for n, r in packed.items()},
                workers=cfg.run.workers)
    for site in sorted(site_ids):
        pdir = tmp / "sites" / _safe(site)
        problems = scan_pack(pdir, site, every_id | set(names.values()),
                             own_name=names.get(site))
        if problems:
            raise DisclosureError(
                f"Site pack {site!r} mentions other sites: {problems[:5]!r}; "
                "nothing was published.")
        packs[site] = sorted(p.relative_to(tmp).as_posix()
                             for p in pdir.rglob("*") if p.is_file())
    return packs


def _cusum_part(cfg: Config, pdir: Path, name: str, r: IndicatorOutput, site: str,
                pcusum: Any, jobs: list[tuple]) -> None:
    table = r.cusum
    ucol = "unit" if "unit" in table.columns else r.config.unit
    if ucol not in table.columns:
        return
    own = table[table[ucol].astype(str) == site]
    if own.empty:
        return
    w.write_csv(own, pdir / f"{name}_cusum.csv")
    if pcusum is None:
        return
    p = pdir / f"{name}_cusum.png"
    jobs.append(("cusum", own, p, cfg.run.dpi, dict(
        unit=ucol, series=site, title=f"{r.title}: risk-adjusted CUSUM")))
    w.write_text(f"Risk-adjusted CUSUM of {r.title} for {site}: the line rises "
                 "with each death and falls with each survival, weighted by the "
                 "patient's predicted risk.\n", p.with_suffix(".txt"))


_SHARED: dict[str, Any] = {}


def _init_worker(shared: dict[str, Any]) -> None:
    _SHARED.clear()
    _SHARED.update(shared)


def _render(job: tuple) -> None:
    kind, ref, path, dpi, kw = job
    plot = {"funnel": stage_api("ccdata.plot", "funnel"),
            "spc": stage_api("ccdata.plot", "spc"),
            "cusum": stage_api("ccdata.plot", "cusum")}[kind]
    if kind == "cusum":
        data = ref
    else:
        data = _SHARED[ref][0 if kind == "funnel" else 1]
    save_figure(lambda fig: plot(data, ax=fig.add_subplot(), **kw), path, dpi=dpi)


def render_jobs(jobs: list[tuple], shared: dict[str, Any], *, workers: int = 0) -> None:
    """Draw the packs' figures, in parallel processes when ``workers`` != 1.

    ``workers = 0`` uses one process per CPU (at most 4). Figures are
    independent files, so the order of drawing does not change any output.
    """
    import os

    n = (min(4, os.cpu_count() or 1) if workers == 0 else workers)
    if n <= 1 or len(jobs) < 8:
        _init_worker(shared)
        for job in jobs:
            _render(job)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context(method),
                             initializer=_init_worker, initargs=(shared,)) as pool:
        list(pool.map(_render, jobs, chunksize=max(1, len(jobs) // (4 * n))))


def _site_names(cfg: Config, sites: pd.DataFrame | None) -> dict[str, str]:
    if sites is None or cfg.sites.name_column is None \
            or cfg.sites.name_column not in sites.columns:
        return {}
    return dict(zip(sites[cfg.sites.id_column].astype(str),
                    sites[cfg.sites.name_column].astype(str), strict=False))


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def scan_pack(pack_dir: str | Path, site: str, identifiers: Iterable[str], *,
              own_name: str | None = None) -> list[str]:
    """Find other sites' identifiers or names in the text files of a pack.

    Parameters
    ----------
    pack_dir : path-like
        The pack folder; CSV, Markdown, text, HTML and JSON files are read
        (a PNG's text is its ``.txt`` description).
    site : str
        The pack's own site id (allowed).
    identifiers : iterable of str
        Every site id and name of the run.
    own_name : str, optional
        The site's own name (allowed).

    Returns
    -------
    list of str
        ``"file: identifier"`` for every hit (empty when clean).
    """
    others = sorted({str(i) for i in identifiers if str(i) and str(i) not in
                     (site, own_name)}, key=lambda s: (-len(s), s))
    if not others:
        return []
    pattern = re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, others))
                         + r")(?![A-Za-z0-9])")
    hits = []
    for path in sorted(Path(pack_dir).rglob("*")):
        if path.is_file() and path.suffix.lower() in _TEXT_SUFFIXES:
            text = path.read_text(encoding="utf-8", errors="replace")
            own_stripped = text
            for allowed in (site, own_name):
                if allowed:
                    own_stripped = own_stripped.replace(allowed, " ")
            for m in sorted(set(pattern.findall(own_stripped))):
                hits.append(f"{path.name}: {m}")
        elif path.is_file() and path.suffix.lower() == ".png":
            data = path.read_bytes()
            for ident in others:
                if re.search(rb"(?<![A-Za-z0-9])" + re.escape(ident.encode())
                             + rb"(?![A-Za-z0-9])", _png_text_chunks(data)):
                    hits.append(f"{path.name}: {ident}")
    return hits


def _png_text_chunks(data: bytes) -> bytes:
    """The tEXt/iTXt/zTXt chunks of a PNG (metadata), concatenated."""
    out, pos = [], 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        ctype = data[pos + 4:pos + 8]
        if ctype in (b"tEXt", b"iTXt", b"zTXt"):
            out.append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    return b"\n".join(out)
