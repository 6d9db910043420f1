"""Data quality tables and the steering group's figures of a batch run.

Figures are drawn on :class:`matplotlib.figure.Figure` objects (no pyplot
state) inside :func:`ccdata.plot.theme`, saved as PNG, and each gets a text
description beside it (``NAME.txt``, from :func:`ccdata.plot.describe`) used
as the ``alt`` text of ``index.html``. :mod:`matplotlib` and :mod:`ccdata.plot`
are imported inside the functions that draw, so importing this module (as
``ccdata.cli`` does) stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from ccdata.completeness import expected_in_span, quality_tables
from ccdata.report import writers as w
from ccdata.report.config import Config
from ccdata.report.indicators import IndicatorOutput
from ccdata.report.sources import SourceData

__all__ = [
    "FigureDrawing",
    "FigureInfo",
    "QualityOutput",
    "compute_quality",
    "describe_text",
    "fixed_margins",
    "save_figure",
    "start_figures",
    "write_figures",
]


@dataclass
class QualityOutput:
    """Data-quality tables of one source."""

    source: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sort_by: dict[str, list[str]] = field(default_factory=dict)

    @property
    def summary(self) -> pd.DataFrame | None:
        """One row per site from :func:`ccdata.data_quality`, with its message."""
        return self.tables.get(f"data_quality_{self.source}_summary")


@dataclass(frozen=True)
class FigureInfo:
    """One figure written: relative path, title and text description."""

    path: str
    title: str
    description: str
    group: str


def compute_quality(
    cfg: Config, sources: dict[str, SourceData]
) -> dict[str, QualityOutput]:
    """Field completeness, timeliness and case ascertainment per configured source.

    The tables come from :func:`ccdata.completeness.quality_tables`; also one
    row per site from :func:`ccdata.data_quality`
    (``data_quality_<source>_summary``): the counts behind each measure and a
    message in words the site can act on, which its feedback pack quotes.
    """
    out: dict[str, QualityOutput] = {}
    by = "site_id"
    for name, qc in cfg.completeness.items():
        data = sources[name].data
        expected = None
        if qc.expected_source is not None:
            expected = expected_in_span(
                sources[qc.expected_source].data,
                expected_column=qc.expected_column,
                by=by,
                expected_period=qc.expected_period,
                records=data,
                event_date=qc.event_date,
            )
        tables = quality_tables(
            data,
            by=by,
            fields=qc.fields,
            schema=cfg.sources[name].schema if qc.fields is None else None,
            event_date=qc.event_date,
            entry_date=qc.entered_date,
            within_days=qc.timeliness_days,
            event_label=qc.event_label,
            expected=expected,
            threshold=qc.ascertainment_threshold,
        )
        q = QualityOutput(source=name)
        for key, table in tables.items():
            t = f"data_quality_{name}_{key}"
            q.tables[t] = table
            q.sort_by[t] = [] if key == "fields_overall" else [by]
        out[name] = q
    return out


def describe_text(result: Any, **kwargs: Any) -> str:
    """Text description of a result by :func:`ccdata.plot.describe`.

    Used as the ``.txt`` beside each PNG and as its ``alt`` text. Errors are
    not swallowed: a result ``describe`` cannot handle is a bug to fix.
    """
    from ccdata.plot import describe

    return str(describe(result, **kwargs)).strip()


def fixed_margins(
    size: tuple[float, float], *, left: float, right: float, bottom: float, top: float
) -> dict[str, float]:
    """Subplot parameters for margins given in inches on a figure of ``size``.

    Examples
    --------
    >>> fixed_margins((10, 5), left=1, right=2, bottom=1, top=0.5)
    {'left': 0.1, 'right': 0.8, 'bottom': 0.2, 'top': 0.9}
    """
    w, h = size
    return {
        "left": left / w,
        "right": 1 - right / w,
        "bottom": bottom / h,
        "top": 1 - top / h,
    }


def save_figure(
    draw: Callable[..., Any],
    path: Path,
    *,
    dpi: int = 200,
    size: tuple[float, float] = (6.4, 4.2),
    margins: dict[str, float] | None = None,
    formats: tuple[str, ...] = ("png",),
    alt: str | None = None,
) -> Path:
    """Draw with ``draw(fig)`` on a new Figure inside the ccdata theme; save it.

    Parameters
    ----------
    draw : callable
        Called with the :class:`~matplotlib.figure.Figure`; draws on it.
    path : Path
        The PNG file (parent folders are created); other formats are written
        beside it with their own suffix.
    dpi : int, default 200
        Resolution of the PNG.
    size : (float, float)
        Figure size in inches.
    margins : dict, optional
        Fixed subplot parameters (``left, right, bottom, top`` as fractions,
        see :func:`fixed_margins`) that leave room for the legend, caption and
        title. The figure is then saved as it is, rendered once. Without
        margins the theme's ``savefig.bbox = "tight"`` crops the figure to what
        was drawn, which renders it twice: fine for the steering group's few
        figures, too slow for the hundreds of figures of the site packs.
    formats : tuple of str, default ("png",)
        Formats written by :func:`ccdata.plot.save` ("png", "svg", "pdf"),
        e.g. ``("png", "svg")`` for an HTML pack that inlines the SVG.
    alt : str, optional
        Text alternative written into the PNG metadata and the SVG ``<desc>``.
    """
    import matplotlib
    from matplotlib.figure import Figure

    from ccdata.plot import save, theme

    path = w.check_inside(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # text.parse_math off: a site id such as "$\\notacommand$" is text, not math
    with (
        theme(dpi=dpi),
        matplotlib.rc_context(
            {
                "text.parse_math": False,
                **({"savefig.bbox": "standard"} if margins is not None else {}),
            }
        ),
    ):
        fig = Figure(figsize=size)
        if margins is not None:
            fig.subplots_adjust(**margins)
        draw(fig)
        save(fig, path.with_suffix(""), dpi=dpi, formats=formats, alt=alt)
    return path


#: Formats of the steering group's figures: PNG for the page, SVG for print.
FORMATS = ("png", "svg")


def _record(
    figures: list[FigureInfo], tmp: Path, path: Path, title: str, text: str, group: str
) -> None:
    w.write_text(text + "\n", path.with_suffix(".txt"))
    figures.append(FigureInfo(path.relative_to(tmp).as_posix(), title, text, group))


def write_figures(
    cfg: Config,
    tmp: Path,
    results: dict[str, IndicatorOutput],
    quality: dict[str, QualityOutput],
) -> list[FigureInfo]:
    """Draw the steering group's figures into ``tmp/figures``."""
    from ccdata.plot import calibration, small_multiples
    from ccdata.plot import funnel as plot_funnel
    from ccdata.plot import spc as plot_spc

    fdir = tmp / "figures"
    figures: list[FigureInfo] = []
    dpi = cfg.run.dpi
    for name, r in results.items():
        direction = r.config.direction
        if r.funnel is not None:
            p = fdir / f"{name}_funnel.png"
            period = r.summary.get("funnel_period")
            text = describe_text(
                r.funnel, direction=direction, period=period, **r.flag_kwargs
            )
            save_figure(
                lambda fig, r=r, period=period, d=direction: plot_funnel(
                    r.funnel,
                    labels="outside",
                    direction=d,
                    period=period,
                    title=r.title,
                    ax=fig.add_subplot(),
                    **r.flag_kwargs,
                ),
                p,
                dpi=dpi,
                size=(6.4, 4.6),
                formats=FORMATS,
                alt=text,
            )
            _record(figures, tmp, p, f"{r.title}: funnel plot", text, name)
        if r.spc is not None:
            p = fdir / f"{name}_spc.png"
            text = describe_text(r.spc, direction=direction)
            if r.config.spc_by == "unit":
                n = cast(pd.DataFrame, r.spc_input)["unit"].nunique()
                cols = max(1, min(8, round((n * 1.4) ** 0.5)))
                rows = -(-n // cols)
                save_figure(
                    lambda fig, r=r, cols=cols, d=direction: small_multiples(
                        r.spc,
                        by="unit",
                        ncols=cols,
                        direction=d,
                        title=r.title,
                        fig=fig,
                    ),
                    p,
                    dpi=dpi,
                    size=(1.9 * cols, 1.25 * rows + 0.8),
                    formats=FORMATS,
                    alt=text,
                )
            else:
                save_figure(
                    lambda fig, r=r, d=direction: plot_spc(
                        r.spc, direction=d, title=r.title, ax=fig.add_subplot()
                    ),
                    p,
                    dpi=dpi,
                    formats=FORMATS,
                    alt=text,
                )
            _record(figures, tmp, p, f"{r.title}: change over time", text, name)
        if r.risk_model is not None:
            p = fdir / f"{name}_calibration.png"
            text = describe_text(r.risk_model)
            save_figure(
                lambda fig, r=r: calibration(r.risk_model, ax=fig.add_subplot()),
                p,
                dpi=dpi,
                formats=FORMATS,
                alt=text,
            )
            _record(figures, tmp, p, f"{r.title}: risk model calibration", text, name)
    _quality_figures(cfg, tmp, quality, figures)
    return figures


def _quality_figures(
    cfg: Config, tmp: Path, quality: dict[str, QualityOutput], figures: list[FigureInfo]
) -> None:
    from ccdata.plot import completeness

    for name, q in quality.items():
        table = q.tables[f"data_quality_{name}_fields_overall"]
        p = tmp / "figures" / f"data_quality_{name}.png"
        # without a schema the all-fields row counts every field asked for
        every = (
            "All listed fields"
            if cfg.completeness[name].fields is not None
            else "All mandatory fields"
        )
        text = describe_text(table)
        save_figure(
            lambda fig, t=table, name=name, every=every: completeness(
                t,
                title=f"Field completeness: {name}",
                all_fields_label=every,
                ax=fig.add_subplot(),
            ),
            p,
            dpi=cfg.run.dpi,
            size=(7.0, max(3.5, 0.25 * len(table) + 1.5)),
            formats=FORMATS,
            alt=text,
        )
        _record(figures, tmp, p, f"Data quality: {name}", text, f"data_quality_{name}")


class FigureDrawing:
    """The steering group's figures being drawn, possibly in another process.

    Made by :func:`start_figures`; :meth:`result` waits for the drawing and
    returns what :func:`write_figures` returns (an error in the drawing is
    raised there). ``seconds`` is the drawing's own wall time.
    """

    def __init__(self, process: Any = None, conn: Any = None) -> None:
        self._process = process
        self._conn = conn
        self._figures: list[FigureInfo] = []
        self.seconds = 0.0

    def result(self) -> list[FigureInfo]:
        """Wait for the figures; return the list of figures written."""
        if self._process is None:
            return self._figures
        process, conn = self._process, self._conn
        self._process = self._conn = None
        try:
            kind, value, seconds = conn.recv()
        except EOFError:
            kind, value, seconds = "died", None, 0.0
        finally:
            conn.close()
            process.join()
        if kind == "error":
            raise value
        if kind == "died":
            raise RuntimeError(
                "the process drawing the steering group's figures ended without "
                f"finishing (exit code {process.exitcode})"
            )
        self._figures, self.seconds = value, seconds
        return self._figures

    def cancel(self) -> None:
        """Stop a drawing whose figures are no longer wanted (the run failed)."""
        if self._process is not None:
            self._process.terminate()
            self._process.join()
            self._conn.close()
            self._process = self._conn = None


def _draw_all(
    args: tuple[Any, ...], also: Sequence[Callable[[], list[Any]]]
) -> list[FigureInfo]:
    figures = write_figures(*args)
    for task in also:
        figures += task()
    return figures


def _draw_in_child(
    conn: Any,
    parent: int,
    args: tuple[Any, ...],
    also: Sequence[Callable[[], list[Any]]] = (),
) -> None:
    import time

    from ccdata.report.publish import die_with_parent

    die_with_parent(parent)
    start = time.perf_counter()
    try:
        figures = _draw_all(args, also)
    except BaseException as exc:  # noqa: BLE001 - raised again in the parent
        try:
            conn.send(("error", exc, 0.0))
        except Exception:  # noqa: BLE001 - an error that cannot be pickled
            conn.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}"), 0.0))
    else:
        conn.send(("ok", figures, time.perf_counter() - start))
    finally:
        conn.close()


def start_figures(
    cfg: Config,
    tmp: Path,
    results: dict[str, IndicatorOutput],
    quality: dict[str, QualityOutput],
    *,
    also: Sequence[Callable[[], list[Any]]] = (),
) -> FigureDrawing:
    """Start drawing the steering group's figures beside the site packs.

    The figures do not depend on the site packs, so unless ``[run] workers``
    is 1 they are drawn by one forked process (it inherits the results:
    nothing is pickled but the list of figures it sends back) while this
    process prepares the packs and their workers draw them: on 2 cores the
    figures' drawing overlaps the packs' instead of preceding it. Without
    ``fork`` (or with ``workers = 1``) they are drawn here and now.
    ``also`` holds further drawing tasks (each returns the figures it
    wrote, e.g. the survey questions' funnels), run after the indicators'
    figures in the same process.

    Examples
    --------
    >>> import tempfile
    >>> from ccdata.report.config import parse_config
    >>> cfg = parse_config({"sources": {"a": {"path": "a.csv"}}})
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     drawing = start_figures(cfg, Path(tmp), {}, {})  # nothing to draw
    ...     drawing.result()
    []
    """
    import multiprocessing as mp
    import os
    import time

    if cfg.run.workers == 1 or "fork" not in mp.get_all_start_methods():
        start = time.perf_counter()
        drawing = FigureDrawing()
        drawing._figures = _draw_all((cfg, tmp, results, quality), also)
        drawing.seconds = time.perf_counter() - start
        return drawing
    ctx = mp.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_draw_in_child,
        args=(send, os.getpid(), (cfg, tmp, results, quality), also),
        name="ccdata-figures",
        daemon=True,
    )
    process.start()
    send.close()  # the child holds the sending end
    return FigureDrawing(process, receive)
