"""``index.html``: one page linking every output of a batch run.

The page is static HTML with relative links and no scripts, so the output
folder can be copied, zipped or served as it is. It carries no timestamp (the
time of the run is in ``manifest.json``), so it is identical for identical
inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ccdata.report import writers as w
from ccdata.report.config import Config
from ccdata.report.sitepack import status_words

__all__ = ["write_index"]

_e = w.html_escape

_CSS = """
body{font-family:"DejaVu Sans",Arial,sans-serif;max-width:62rem;margin:2rem auto;
padding:0 1rem;color:#222;line-height:1.45}
h1,h2,h3{font-weight:600}table{border-collapse:collapse;margin:.5rem 0 1rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
figure{margin:1rem 0}img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.9rem;color:#444}.sites a{margin-right:.6rem}
"""


#: The tables written per indicator (``indicators/<name>_<part>.csv``).
_INDICATOR_TABLES = ("funnel", "spc", "observed_expected", "calibration", "cusum",
                     "summary")


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_e('' if pd.isna(v) else v)}</td>"
                                    for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _link(tmp: Path, rel: str) -> str:
    return f'<a href="{_e(rel)}">{_e(rel)}</a>' if (tmp / rel).exists() else ""


def write_index(cfg: Config, tmp: Path, sources: dict[str, Any],
                results: dict[str, Any], quality: dict[str, Any], figures: list[Any],
                packs: dict[str, list[str]],
                counts: dict[str, int]) -> Path:
    """Write ``index.html`` for the steering group into ``tmp``."""
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(cfg.run.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(cfg.run.title)}</h1>",
        "<p>Sites are compared with an expected range on funnel plots, and each "
        "site with its own past on run and SPC charts; sites are listed by "
        "identifier, never ranked. The run's inputs, versions and parameters are "
        'in <a href="manifest.json">manifest.json</a>.</p>',
        "<h2>Data received and validation</h2>",
    ]
    rows = [{"source": s.name, "files": len(s.files), "rows": s.n_rows,
             "rows rejected": s.n_rejected, "problems": len(s.errors),
             "validated": "yes" if s.validated else "no (no schema)"}
            for s in sources.values()]
    parts.append(_table(pd.DataFrame(rows)))
    vfiles = sorted(p.name for p in (tmp / "validation").glob("*_errors.csv")
                    if p.name != "all_errors.csv")
    if vfiles:
        parts.append("<p>Error reports for the sites (rows left out of the results): "
                     + ", ".join(_link(tmp, f"validation/{f}") for f in vfiles)
                     + ". All problems: " + _link(tmp, "validation/all_errors.csv")
                     + ".</p>")
    else:
        parts.append("<p>No data problems were found.</p>")
    if quality:
        parts.append("<h2>Data quality</h2>")
        for q in quality.values():
            links = ", ".join(_link(tmp, f"indicators/{t}.csv") for t in q.tables)
            parts.append(f"<h3>{_e(q.source)}</h3><p>{links}</p>")
            parts.extend(_figure_html(f) for f in figures
                         if f.group == f"data_quality_{q.source}")
    parts.append("<h2>Indicators</h2>")
    for name, r in results.items():
        parts.append(f"<h3>{_e(r.title)}</h3>")
        facts = [f"Period: {_e(r.window)}."]
        if r.config.target is not None:
            t = r.config.target
            shown = f"{100 * t:.4g}%" if r.config.kind == "proportion" else f"{t:.4g}"
            facts.append(f"Target: {_e(shown)}.")
        if r.funnel_table is not None:
            st = r.funnel_table["status"].value_counts().sort_index()
            facts.append("Sites: " + "; ".join(
                f"{int(n)} {_e(status_words(s))}" for s, n in st.items()) + ".")
        if getattr(r, "flag_label", None) is not None:
            label = r.flag_label[0].lower() + r.flag_label[1:]
            facts.append(
                f"Ringed on the funnels: {len(r.flagged)} site(s) with {_e(label)} "
                f"({_e(', '.join(r.flagged)) or 'none'}); their outcome figures may "
                "be incomplete.")
        for k in ("phi", "tau2"):
            if r.summary.get(k) is not None:
                facts.append(f"{k} = {r.summary[k]:.4g}.")
        if r.skipped:
            facts.append("Not produced: " + _e("; ".join(r.skipped)) + ".")
        parts.append("<p>" + " ".join(facts) + "</p>")
        csvs = sorted(f"{name}_{part}.csv" for part in _INDICATOR_TABLES
                      if (tmp / "indicators" / f"{name}_{part}.csv").is_file())
        parts.append("<p>Tables: " + ", ".join(_link(tmp, f"indicators/{c}")
                                               for c in csvs) + "</p>")
        parts.extend(_figure_html(f) for f in figures if f.group == name)
    if packs:
        parts.append("<h2>Site feedback packs</h2><p class=\"sites\">"
                     + " ".join(f'<a href="sites/{_e(w.pack_name(s))}/summary.md">'
                                f"{_e(s)}</a>" for s in sorted(packs)) + "</p>")
    c = counts
    parts.append(f"<p>{c['rows_read']} rows read, {c['rows_rejected']} rejected; "
                 f"{c['indicators']} indicators, {c['figures']} figures, "
                 f"{c['site_packs']} site packs.</p></body></html>")
    return w.write_text("\n".join(parts) + "\n", tmp / "index.html")


def _figure_html(f: Any) -> str:
    return (f'<figure><img src="{_e(f.path)}" alt="{_e(f.description)}">'
            f"<figcaption>{_e(f.title)}</figcaption></figure>")
