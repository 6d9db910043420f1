"""The steering report: ``index.html`` and ``report.pdf`` of a batch run.

The page is rendered from the Jinja2 template ``templates/index.html``
(autoescaped), with a table of contents, an overview table of every
indicator per community in site-identifier order (never sorted by results)
with each site's coverage and data quality beside its outcomes, every
source's coverage per site, and each indicator's facts in plain words (the
over-dispersion numbers phi and tau² are in a ``<details>`` block). It is
static HTML with relative links and no scripts, so the output folder can be
copied, zipped or served as it is, and it carries no timestamp (the time of
the run is in ``manifest.json``), so it is identical for identical inputs.
``report.pdf`` is the same page laid out for print
(:func:`ccdata.report.render.write_pdf`), and ``indicators.xlsx`` holds the
tidy tables for steering groups who work in Excel.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pandas as pd

from ccdata._wording import (
    NOT_ASSESSED,
    level_percent,
    status_short,
    widening_sentence,
)
from ccdata.report import writers as w
from ccdata.report.config import Config

__all__ = ["overview_tables", "workbook_cells", "write_index", "write_workbook"]

#: The tables written per indicator (``indicators/<name>_<part>.csv``).
_INDICATOR_TABLES = (
    "funnel",
    "spc",
    "observed_expected",
    "calibration",
    "cusum",
    "summary",
)
_NONE = "\u2014"


def _levels(r: Any, cfg: Config) -> tuple[float, ...]:
    if r.funnel is not None and getattr(r.funnel, "levels", None) is not None:
        return tuple(float(v) for v in r.funnel.levels)
    return tuple(float(v) for v in cfg.funnel.levels)


def _cell(row: pd.Series, levels: tuple[float, ...], direction: Any) -> str:
    status = str(row["status"])
    if status == NOT_ASSESSED:
        n, k = row.get("periods_in_window"), row.get("periods_received")
        if pd.notna(n) and pd.notna(k):
            return f"not assessed (data for {int(k)} of {int(n)} periods)"
        return "not assessed"
    try:
        words = status_short(status, levels)
    except Exception:  # noqa: BLE001 - show an unknown status as it is
        words = status
    # a suppressed (blanked) coverage cell reads as missing, never as a number
    cov = pd.to_numeric(pd.Series([row.get("coverage")]), errors="coerce").iloc[0]
    if pd.notna(cov) and float(cov) < 1:
        words += (
            f" (data for {int(row['periods_received'])} of "
            f"{int(row['periods_in_window'])} periods)"
        )
    return words


def _community(cfg: Config, source: str) -> str:
    return cfg.sources[source].community or ""


def overview_tables(
    cfg: Config,
    results: dict[str, Any],
    quality: dict[str, Any],
    status: dict[str, pd.DataFrame],
) -> list[dict[str, Any]]:
    """One overview table per community: a row per site, in site-id order.

    Columns: the site, its coverage of each source (periods received of
    expected), each indicator's status in neutral words, and the data quality
    of each source (complete records, case ascertainment).
    """
    groups: dict[str, list[str]] = {}
    for name, r in results.items():
        if r.funnel_table is not None:
            groups.setdefault(_community(cfg, r.config.source), []).append(name)
    blocks = []
    for community in sorted(groups):
        names = groups[community]
        srcs = sorted({results[n].config.source for n in names})
        units: set[str] = set()
        for n in names:
            units |= set(results[n].funnel_table["unit"].astype(str))
        columns = ["Site"]
        cov_cols = [s for s in srcs if s in status]
        columns += [f"Periods received ({s})" for s in cov_cols]
        columns += [results[n].title for n in names]
        dq_cols = [s for s in srcs if s in quality and quality[s].summary is not None]
        columns += [f"Data quality ({s})" for s in dq_cols]
        per_unit = {
            n: results[n].funnel_table.set_index(
                results[n].funnel_table["unit"].astype(str)
            )
            for n in names
        }
        cov = {
            s: status[s]
            .assign(_got=status[s]["status"] != "missing")
            .groupby(status[s]["site_id"].astype(str))["_got"]
            .agg(["sum", "size"])
            for s in cov_cols
        }
        dq = {
            s: quality[s].summary.set_index(quality[s].summary["site_id"].astype(str))
            for s in dq_cols
        }
        rows = []
        for u in sorted(units):
            row = [u]
            for s in cov_cols:
                c = cov[s]
                got, size = (int(cast(float, c.loc[u, k])) for k in ("sum", "size"))
                row.append(f"{got} of {size}" if u in c.index else _NONE)
            for n in names:
                t = per_unit[n]
                row.append(
                    _cell(
                        t.loc[u], _levels(results[n], cfg), results[n].config.direction
                    )
                    if u in t.index
                    else _NONE
                )
            for s in dq_cols:
                row.append(_dq_cell(dq[s].loc[u]) if u in dq[s].index else _NONE)
            rows.append(row)
        label = f"Community: {community}" if community else "Sites without a community"
        blocks.append({"label": label, "columns": columns, "rows": rows})
    return blocks


def _dq_cell(d: pd.Series) -> str:
    parts = []
    comp = d.get("complete_proportion")
    if comp is not None and pd.notna(comp):
        parts.append(f"{100 * float(comp):.1f}% complete records")
    asc = d.get("ascertainment")
    if asc is not None and pd.notna(asc):
        concern = bool(d.get("ascertainment_concern"))
        parts.append(
            f"ascertainment {100 * float(asc):.0f}%"
            + (" (below threshold)" if concern else "")
        )
    return "; ".join(parts) or _NONE


def _coverage_blocks(status: dict[str, pd.DataFrame]) -> list[dict[str, Any]]:
    from ccdata.report.coverage import site_coverage_summary

    out = []
    for source in sorted(status):
        table = status[source]
        rows, timed = [], False
        for site in sorted(table["site_id"].astype(str).unique()):
            info = site_coverage_summary(table, site)
            timed = timed or info["timed"]
            if info["missing_count"] or info["late_count"]:
                rows.append(
                    {
                        "site": site,
                        "received": f"{info['received']} of {info['periods']}",
                        "missing": info["missing"] or "none",
                        "late": str(info["late_count"]),
                    }
                )
        n_sites = table["site_id"].nunique()
        periods = sorted(table["period"].astype(str).unique())
        text = (
            f"{n_sites} sites, {len(periods)} periods ({periods[0]} to {periods[-1]}). "
        )
        text += (
            f"{len(rows)} site(s) with a period missing or late are listed."
            if rows
            else "Every site sent every period."
        )
        out.append(
            {
                "label": f"Source: {source}",
                "text": text,
                "rows": rows,
                "timed": timed,
                "file": f"indicators/submission_status_{source}.csv",
            }
        )
    return out


def _indicator_block(
    cfg: Config, tmp: Path, name: str, r: Any, figures: list[Any]
) -> dict[str, Any]:
    lines = [f"Period: {r.window}."]
    levels = _levels(r, cfg)
    percent = r.config.kind == "proportion"
    if r.config.target is not None:
        t = r.config.target
        shown = f"{100 * t:.4g}%" if percent else f"{t:.4g}"
        lines.append(f"Target: {shown}.")
    elif r.summary.get("target") is not None and r.config.kind != "ratio":
        t = r.summary["target"]
        shown = f"{100 * t:.3g}%" if percent else f"{t:.3g}"
        lines.append(
            f"No target: the funnel is centred on the community average ({shown})."
        )
    details: list[tuple[str, str]] = []
    if r.funnel_table is not None:
        st = r.funnel_table["status"].value_counts()
        order = [s for s in _status_order(levels) if s in st.index]
        lines.append(
            "Sites: "
            + "; ".join(f"{int(st[s])} {status_short(s, levels)}" for s in order)
            + "."
        )
        lines.append("Limits: " + " and ".join(level_percent(v) for v in levels) + ".")
        applied = r.summary.get("overdispersion_applied")
        method = r.summary.get("overdispersion")
        if method not in (None, "none"):
            lines.append(widening_sentence("sites", widened=bool(applied)))
        for key, label in (
            ("phi", "Over-dispersion ratio (phi)"),
            ("tau2", "Between-site variance (tau\u00b2)"),
        ):
            if r.summary.get(key) is not None:
                details.append((label, f"{r.summary[key]:.4g}"))
        if method is not None:
            details.append(("Over-dispersion method", str(method)))
        short = r.coverage is not None and int((~r.coverage["assessed"]).sum()) or 0
        if short:
            lines.append(
                f"{short} site(s) not assessed: they sent too little of the "
                "window (see the coverage column of the funnel table)."
            )
    if getattr(r, "flag_label", None) is not None:
        label = r.flag_label[0].lower() + r.flag_label[1:]
        lines.append(
            f"Ringed on the funnels: {len(r.flagged)} site(s) with {label} "
            f"({', '.join(r.flagged) or 'none'}); their outcome figures may "
            "be incomplete."
        )
    if r.summary.get("c_statistic") is not None:
        details.append(("Risk model c-statistic", f"{r.summary['c_statistic']:.3f}"))
    if r.skipped:
        lines.append("Not produced: " + "; ".join(r.skipped) + ".")
    files = sorted(
        f"indicators/{name}_{part}.csv"
        for part in _INDICATOR_TABLES
        if (tmp / "indicators" / f"{name}_{part}.csv").is_file()
    )
    return {
        "name": name,
        "title": r.title,
        "lines": lines,
        "details": details,
        "files": files,
        "figures": [_fig(f, i) for i, f in enumerate(figures) if f.group == name],
    }


def _status_order(levels: tuple[float, ...]) -> list[str]:
    from ccdata._wording import status_names

    return status_names(levels)


def _fig(f: Any, i: int) -> dict[str, Any]:
    return {
        "id": f"steer-{i}",
        "src": f.path,
        "desc": f.description,
        "caption": f.title,
        "svg": None,
        "title": f.title,
    }


def write_index(
    cfg: Config,
    tmp: Path,
    sources: dict[str, Any],
    results: dict[str, Any],
    quality: dict[str, Any],
    figures: list[Any],
    packs: dict[str, list[str]],
    counts: dict[str, int],
    *,
    status: dict[str, pd.DataFrame] | None = None,
    surveys: dict[str, Any] | None = None,
) -> Path:
    """Write ``index.html``, ``report.pdf`` and ``indicators.xlsx`` into ``tmp``."""
    from ccdata.report.coverage import min_coverage
    from ccdata.report.render import render_template, write_pdf

    status = status or {}
    figs = [_fig(f, i) for i, f in enumerate(figures)]
    src_rows = [
        [
            s.name,
            len(s.files),
            s.n_rows,
            s.n_rejected,
            len(s.errors),
            "yes" if s.validated else "no (no schema)",
        ]
        for s in sources.values()
    ]
    vfiles = sorted(
        f"validation/{p.name}"
        for p in (tmp / "validation").glob("*_errors.csv")
        if p.name != "all_errors.csv"
    )
    qblocks = []
    for q in quality.values():
        qblocks.append(
            {
                "label": f"Source: {q.source}",
                "text": (
                    "Field completeness, timeliness and case ascertainment per "
                    "site; each site's pack quotes its own message."
                ),
                "files": [f"indicators/{t}.csv" for t in q.tables],
                "figures": [
                    fg
                    for fg, f in zip(figs, figures, strict=True)
                    if f.group == f"data_quality_{q.source}"
                ],
            }
        )
    workbook = write_workbook(tmp)
    c = counts
    context = {
        "title": cfg.run.title,
        "workbook": workbook,
        "overview": overview_tables(cfg, results, quality, status),
        "sources": {
            "columns": [
                "Source",
                "Files",
                "Rows",
                "Rows rejected",
                "Problems",
                "Validated",
            ],
            "rows": src_rows,
        },
        "validation_files": vfiles,
        "coverage": _coverage_blocks(status),
        "min_coverage": f"{100 * min_coverage(cfg):.0f}%",
        "quality": qblocks,
        "indicators": [
            _indicator_block(cfg, tmp, n, r, figures) for n, r in results.items()
        ],
        "surveys": [_survey_block(n, so, figures) for n, so in (surveys or {}).items()],
        "packs": [
            {"site": s, "href": f"sites/{w.pack_name(s)}/index.html"}
            for s in sorted(packs)
        ],
        "footer": (
            f"{c['rows_read']} rows read, {c['rows_rejected']} rejected; "
            f"{c['indicators']} indicators, {c['figures']} figures, "
            f"{c['site_packs']} site packs."
        ),
    }
    page = render_template("index.html", r=context)
    path = w.write_text(page, tmp / "index.html")
    pngs = {fg["id"]: tmp / f.path for fg, f in zip(figs, figures, strict=True)}
    write_pdf(tmp / "report.pdf", page, title=cfg.run.title, figures=pngs)
    return path


def _survey_block(name: str, so: Any, figures: Sequence[Any] = ()) -> dict[str, Any]:
    """Return the steering view of one survey: sentences, tables, funnels.

    One funnel figure per question (``group == "survey:<name>"``, drawn by
    :func:`ccdata.report.surveys.write_survey_figures`), with the neutral
    sentence of each question's funnel; never a ranking of trusts or of
    questions.
    """
    from ccdata.report.surveys import steering_funnels, survey_files

    adjusted = (
        f"after case-mix adjustment for {', '.join(so.config.case_mix)}"
        if so.config.case_mix
        else "without case-mix adjustment"
    )
    n_units = len(so.units)
    return {
        "name": name,
        "title": so.title,
        "files": [f"indicators/{f}" for f in survey_files(name)],
        "text": (
            f"Scores per trust, survey year and question for {n_units} "
            f"trusts ({so.config.score} score), compared with the range "
            f"expected {adjusted}; each trust's pack lists its own "
            f"priorities. {so.rule}"
        ),
        "questions": [
            f"{que} ({per}): {so.funnels.summary(per, que, technical=False)}"
            for per, que, _ in steering_funnels(so)
        ],
        # the estimates behind each question's limits (phi, tau^2, the test)
        "details": [
            (f"{que} ({per})", res.summary(noun="trusts"))
            for per, que, res in steering_funnels(so)
        ],
        "figures": [
            _fig(f, i) for i, f in enumerate(figures) if f.group == f"survey:{name}"
        ],
    }


#: A number as the CSV files write it (``%.10g``, whole numbers): no leading
#: zero, so that a code such as ``"007"`` stays text.
_NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"
#: Columns of identifiers: text in the workbook even when they look like numbers.
_ID_COLUMNS = frozenset(
    {"unit", "site_id", "question_id", "indicator", "source", "field", "key"}
)


def workbook_cells(table: pd.DataFrame) -> list[list[Any]]:
    """Type the cells of a CSV table (read as text) for a spreadsheet, by column.

    A cell that is a number as the CSV files write them becomes a number
    (analysts sort and sum them), ``True``/``False`` a boolean and an empty
    cell an empty cell; everything else stays the text of the CSV file, so a
    suppressed count keeps its marker (``"<5"``, ``"[hidden]"``) exactly.
    Identifier columns (``unit``, ``site_id``, ``*_id``, ...) stay text. A
    text cell that a spreadsheet would run as a formula is neutralised as
    in the CSV files (:func:`ccdata.report.writers.neutralise_formulas`).

    Examples
    --------
    >>> t = pd.DataFrame({"unit": ["007", "S01"], "n": ["12", "<5"],
    ...                   "value": ["0.25", ""], "ok": ["True", "=1+1"]})
    >>> workbook_cells(t)
    [['007', 'S01'], [12, '<5'], [0.25, None], [True, "'=1+1"]]
    """
    columns: list[list[Any]] = []
    for col in table.columns:
        s = table[col].astype(str)
        values = s.to_numpy(dtype=object).copy()
        text = s.ne("").to_numpy(bool).copy()
        values[~text] = None
        if not (col in _ID_COLUMNS or str(col).endswith("_id")):
            num = s.str.fullmatch(_NUMBER).to_numpy(bool)
            if num.any():
                values[num] = [
                    float(v) if ("." in v or "e" in v or "E" in v) else int(v)
                    for v in s[num]
                ]
            yes, no = s.eq("True").to_numpy(bool), s.eq("False").to_numpy(bool)
            values[yes], values[no] = True, False
            text &= ~(num | yes | no)
        if text.any():
            cells = pd.DataFrame({"v": values[text]})
            values[text] = w.neutralise_formulas(cells)["v"].to_numpy(dtype=object)
        columns.append(values.tolist())
    return columns


def write_workbook(tmp: Path) -> str | None:
    """``indicators.xlsx``: every CSV of ``indicators/`` as a sheet (openpyxl).

    Sheet names are the file names cut to Excel's 31 characters; the first
    sheet lists every table with its file. Cells are typed
    (:func:`workbook_cells`): numbers are numbers, suppressed cells keep the
    CSV's marker. The header row is bold and stays in view. Written in
    openpyxl's write-only mode (row by row, a third of the time of a
    workbook built in memory). Returns the relative path, or None when
    there are no tables.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    files = sorted((tmp / "indicators").glob("*.csv"))
    if not files:
        return None
    path = w.check_inside(tmp / "indicators.xlsx")
    used: set[str] = set()
    sheets = []
    for f in files:
        base = f.stem[:31]
        name, k = base, 1
        while name in used:
            k += 1
            name = f"{base[:28]}~{k}"
        used.add(name)
        sheets.append((name, f))
    book = Workbook(write_only=True)
    bold = Font(bold=True)

    def sheet(name: str, header: list[str], columns: list[list[Any]]) -> None:
        ws = book.create_sheet(name)
        ws.freeze_panes = "A2"
        cells = []
        for h in header:
            cell = WriteOnlyCell(ws, value=h)
            cell.font = bold
            cells.append(cell)
        ws.append(cells)
        for row in zip(*columns, strict=True):
            ws.append(row)

    sheet(
        "contents",
        ["sheet", "file"],
        [[n for n, _ in sheets], [f"indicators/{f.name}" for _, f in sheets]],
    )
    for name, f in sheets:
        table = pd.read_csv(f, dtype=str, keep_default_na=False)
        header = w.neutralise_formulas(pd.DataFrame([list(table.columns)]))
        sheet(name, [str(v) for v in header.iloc[0]], workbook_cells(table))
    book.save(path)
    return "indicators.xlsx"
