"""Save a figure for print and projection: PNG at a print resolution, plus SVG."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from ccdata.errors import InputError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["FORMATS", "save"]

#: File formats :func:`save` writes, by suffix.
FORMATS = ("png", "svg", "pdf")


def save(
    fig: Figure,
    path: str | os.PathLike[str],
    *,
    dpi: int = 200,
    formats: Sequence[str] = ("png", "svg"),
    alt: str | None = None,
    title: str | None = None,
    tight: bool | None = None,
) -> list[Path]:
    """Save ``fig`` as a 200 dpi PNG and an SVG (or PDF), with its text alternative.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure, as drawn (e.g. ``ax.figure`` of a ccdata plot).
    path : str or path-like
        The file name without suffix (``figures/ae_funnel``); a suffix that is
        one of ``formats`` is dropped. Parent folders are created.
    dpi : int, default 200
        Resolution of the PNG (print and projection need 150-300; 200 is
        sharp on an A4 page and a projector). Vector formats ignore it.
    formats : sequence of {"png", "svg", "pdf"}, default ("png", "svg")
        The files written, in this order.
    alt : str, optional
        The figure's text alternative (e.g. from :func:`ccdata.plot.describe`):
        written into the PNG's ``Description`` text chunk, the SVG's
        ``<desc>`` element (read by screen readers when the SVG is inlined in
        HTML) and the PDF's subject.
    title : str, optional
        The figure's title for the same metadata (PNG ``Title``, SVG
        ``<title>``, PDF title). Default: the figure's suptitle, else the
        first Axes' title, else the file name.
    tight : bool, optional
        Crop to what was drawn (``bbox_inches="tight"``). Default: the
        ``savefig.bbox`` rcParam (tight inside :func:`ccdata.plot.theme`).
        Figures drawn by ccdata are complete either way (their layout makes
        room for the legend and caption).

    Returns
    -------
    list of pathlib.Path
        The files written, one per format.

    Raises
    ------
    InputError
        If ``dpi`` is not a positive integer or a format is unknown.

    Notes
    -----
    The files carry no software version or creation date, so the same figure
    gives the same bytes on every run (reproducible outputs).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(3, 2))
    >>> _ = fig.add_subplot().plot([0, 1], [0, 1])
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     files = save(fig, Path(tmp) / "line", alt="A rising line.")
    ...     [f.name for f in files]
    ['line.png', 'line.svg']
    """
    where = "ccdata.plot.save"
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi <= 0:
        raise InputError(
            f"The 'dpi' parameter of {where} must be a positive integer (150-300 "
            f"suits print and projection). Got {dpi!r} instead."
        )
    if isinstance(formats, str):
        formats = (formats,)
    chosen = [str(f).lower().lstrip(".") for f in formats]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise InputError(
            f"The 'formats' parameter of {where} must list formats among "
            f"{FORMATS!r}. Got {tuple(formats)!r} instead."
        )
    stem = Path(path)
    if stem.suffix.lower().lstrip(".") in FORMATS:
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    name = title if title is not None else _title(fig) or stem.name
    kwargs: dict[str, Any] = (
        {} if tight is None else {"bbox_inches": "tight" if tight else None}
    )
    out = []
    for fmt in dict.fromkeys(chosen):
        target = stem.with_name(f"{stem.name}.{fmt}")
        if fmt == "png":
            meta = {"Software": None, "Title": name}
            if alt is not None:
                meta["Description"] = alt
            fig.savefig(target, format="png", dpi=dpi, metadata=meta, **kwargs)
        elif fmt == "svg":
            fig.savefig(
                target, format="svg", metadata={"Date": None, "Creator": None}, **kwargs
            )
            _svg_text(target, name, alt)
        else:
            meta = {
                "Creator": None,
                "Producer": None,
                "CreationDate": None,
                "Title": name,
            }
            if alt is not None:
                meta["Subject"] = alt
            fig.savefig(target, format="pdf", metadata=meta, **kwargs)
        out.append(target)
    return out


def _title(fig: Figure) -> str:
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        return str(sup.get_text()).replace("\n", " ")
    for ax in fig.axes:
        for loc in ("center", "left", "right"):
            text = ax.get_title(loc=loc)
            if text:
                return text
    return ""


def _svg_text(path: Path, title: str, alt: str | None) -> None:
    """Put ``<title>`` and ``<desc>`` first inside the SVG root, and role="img"."""
    text = path.read_text(encoding="utf-8")
    match = re.search(r"<svg\b[^>]*>", text)
    if match is None:  # not an SVG matplotlib wrote: leave it
        return
    head = match.group(0)
    if "role=" not in head:
        head = head[:-1].rstrip("/") + ' role="img">'
    inner = f"\n <title>{escape(title)}</title>"
    if alt is not None:
        inner += f"\n <desc>{escape(alt)}</desc>"
    text = text[: match.start()] + head + inner + text[match.end() :]
    path.write_text(text, encoding="utf-8")
