"""Data quality tables and the steering group's figures of a batch run.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot
state) inside :func:`ccdata.plot.theme`, saved as PNG, and each gets a text
description beside it (``NAME.txt``, from :func:`ccdata.plot.describe` when
available) used as the ``alt`` text of ``index.html``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ccdata.config import Config
from ccdata.report import writers as w
from ccdata.report.indicators import IndicatorOutput
from ccdata.report.sources import SourceData, stage_api

__all__ = ["FigureInfo", "QualityOutput", "compute_quality", "describe_text",
           "save_figure", "write_figures"]

log = logging.getLogger("ccdata.report")


@dataclass
class QualityOutput:
    """Data-quality tables of one source."""

    source: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sort_by: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FigureInfo:
    """One figure written: relative path, title and text description."""

    path: str
    title: str
    description: str
    group: str


def compute_quality(cfg: Config, sources: dict[str, SourceData]) -> dict[str, QualityOutput]:
    """Field completeness, timeliness and case ascertainment per configured source."""
    out: dict[str, QualityOutput] = {}
    for name, qc in cfg.completeness.items():
        src = sources[name]
        q = QualityOutput(source=name)
        data = src.data
        by = "site_id"
        fc = stage_api("ccdata.completeness", "field_completeness")
        if fc is None:
            q.skipped.append("field completeness: not available")
        else:
            kw: dict[str, Any] = {"by": by}
            if qc.fields is not None:
                kw["fields"] = list(qc.fields)
            elif cfg.sources[name].schema is not None:
                kw["schema"] = cfg.sources[name].schema
            t = f"data_quality_{name}_fields"
            q.tables[t] = fc(data, **kw)
            q.sort_by[t] = [by]
            t = f"data_quality_{name}_fields_overall"
            q.tables[t] = fc(data, **{**kw, "by": None})
            q.sort_by[t] = []
        if qc.event_date and qc.entered_date:
            tl = stage_api("ccdata.completeness", "timeliness")
            if tl is None:
                q.skipped.append("timeliness: not available")
            else:
                kw = {"event_date": qc.event_date, "entry_date": qc.entered_date,
                      "by": by}
                if qc.timeliness_days is not None:
                    kw["within_days"] = qc.timeliness_days
                t = f"data_quality_{name}_timeliness"
                q.tables[t] = tl(data, **kw)
                q.sort_by[t] = [by]
        if qc.expected_source is not None:
            ca = stage_api("ccdata.completeness", "case_ascertainment")
            if ca is None:
                q.skipped.append("case ascertainment: not available")
            else:
                expected = sources[qc.expected_source].data
                expected = expected[[by, qc.expected_column]].rename(
                    columns={qc.expected_column: "expected"})
                t = f"data_quality_{name}_ascertainment"
                q.tables[t] = ca(data[[by]], expected, by=by)
                q.sort_by[t] = [by]
        for note in q.skipped:
            log.warning("data quality %s: %s", name, note)
        out[name] = q
    return out


def describe_text(result: Any, fallback: str) -> str:
    """Text description of a result from :func:`ccdata.plot.describe`, or fallback."""
    describe = stage_api("ccdata.plot", "describe")
    if describe is None:
        return fallback
    try:
        text = describe(result)
    except Exception:  # noqa: BLE001 - a description is a nicety, never fatal
        return fallback
    return str(text).strip() or fallback


def save_figure(draw: Callable[[Any], Any], path: Path, *, dpi: int,
                size: tuple[float, float] = (6.4, 4.2)) -> Path:
    """Draw with ``draw(fig)`` on a new Figure inside the ccdata theme; save PNG."""
    from matplotlib.figure import Figure

    theme = stage_api("ccdata.plot", "theme")
    path.parent.mkdir(parents=True, exist_ok=True)

    def _do() -> None:
        fig = Figure(figsize=size)
        draw(fig)
        fig.savefig(path, dpi=dpi, metadata={"Software": None})

    if theme is not None:
        with theme(dpi=dpi):
            _do()
    else:  # pragma: no cover - plot module being written
        _do()
    return path


def _record(figures: list[FigureInfo], tmp: Path, path: Path, title: str, text: str,
            group: str) -> None:
    w.write_text(text + "\n", path.with_suffix(".txt"))
    figures.append(FigureInfo(path.relative_to(tmp).as_posix(), title, text, group))


def write_figures(cfg: Config, tmp: Path, results: dict[str, IndicatorOutput],
                  quality: dict[str, Any]) -> list[FigureInfo]:
    """Draw the steering group's figures into ``tmp/figures``."""
    fdir = tmp / "figures"
    figures: list[FigureInfo] = []
    dpi = cfg.run.dpi
    pfunnel = stage_api("ccdata.plot", "funnel")
    pspc = stage_api("ccdata.plot", "spc")
    psmall = stage_api("ccdata.plot", "small_multiples")
    pcal = stage_api("ccdata.plot", "calibration")
    for name, r in results.items():
        direction = r.config.direction
        if r.funnel is not None and pfunnel is not None:
            p = fdir / f"{name}_funnel.png"
            period = r.summary.get("funnel_period")
            save_figure(lambda fig, r=r, period=period: pfunnel(
                r.funnel, labels="outside", direction=direction, period=period,
                title=r.title, ax=fig.add_subplot()), p, dpi=dpi, size=(6.4, 4.6))
            _record(figures, tmp, p, f"{r.title}: funnel plot",
                    describe_text(r.funnel, f"Funnel plot of {r.title}."), name)
        if r.spc is not None:
            p = fdir / f"{name}_spc.png"
            if r.config.spc_by == "unit" and psmall is not None:
                n = r.spc_input["unit"].nunique()
                cols = max(1, min(8, round((n * 1.4) ** 0.5)))
                rows = -(-n // cols)
                save_figure(lambda fig, r=r, cols=cols: psmall(
                    r.spc, by="unit", ncols=cols, direction=direction,
                    title=r.title, fig=fig), p, dpi=dpi,
                    size=(1.9 * cols, 1.25 * rows + 0.8))
            elif pspc is not None:
                save_figure(lambda fig, r=r: pspc(
                    r.spc, direction=direction, title=r.title,
                    ax=fig.add_subplot()), p, dpi=dpi)
            else:
                continue
            _record(figures, tmp, p, f"{r.title}: change over time",
                    describe_text(r.spc, f"SPC chart of {r.title}."), name)
        if r.risk_model is not None and pcal is not None:
            p = fdir / f"{name}_calibration.png"
            try:
                save_figure(lambda fig, r=r: pcal(r.risk_model, ax=fig.add_subplot()),
                            p, dpi=dpi)
            except TypeError:
                log.warning("indicator %s: calibration figure skipped", name)
            else:
                _record(figures, tmp, p, f"{r.title}: risk model calibration",
                        describe_text(r.risk_model,
                                      f"Calibration of the risk model of {r.title}."),
                        name)
    _quality_figures(cfg, tmp, quality, figures)
    return figures


def _quality_figures(cfg: Config, tmp: Path, quality: dict[str, Any],
                     figures: list[FigureInfo]) -> None:
    pcomp = stage_api("ccdata.plot", "completeness")
    if pcomp is None:
        return
    for name, q in quality.items():
        table = q.tables.get(f"data_quality_{name}_fields_overall")
        if table is None:
            continue
        p = tmp / "figures" / f"data_quality_{name}.png"
        try:
            save_figure(lambda fig, t=table: pcomp(
                t, title=f"Field completeness: {name}", ax=fig.add_subplot()), p,
                dpi=cfg.run.dpi, size=(7.0, max(3.5, 0.25 * len(table) + 1.5)))
        except Exception as exc:  # noqa: BLE001 - plot API being settled
            log.warning("data quality figure for %s skipped: %s", name, exc)
            continue
        _record(figures, tmp, p, f"Data quality: {name}",
                describe_text(table, f"Field completeness of {name}, all sites."),
                f"data_quality_{name}")
