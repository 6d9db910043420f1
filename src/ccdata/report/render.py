"""HTML from Jinja2 templates, inline SVG figures, and PDF copies of the pages.

Every page the batch job writes for people (a site's ``index.html``, the
steering report ``index.html``) is rendered from a template under
``ccdata/report/templates/`` with autoescaping on, so text from data or
configuration can never become markup. Figures are embedded as inline SVG
with a ``<title>`` and a ``<desc>`` (the figure's text description), so a
pack is one self-contained file that screen readers can describe.

The PDF copy of a page is made with matplotlib's PDF backend
(:class:`~matplotlib.backends.backend_pdf.PdfPages`): it needs nothing beyond
``pip install`` (no system libraries, unlike WeasyPrint), and the figures
stay vector graphics. The page's HTML is read back (:class:`_Blocks`) into
headings, paragraphs, list items, tables and figures, and those are laid out
on A4 pages in the same order, so the PDF says exactly what the HTML says.
"""

from __future__ import annotations

import functools
import html
import re
import textwrap
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

__all__ = ["PdfWriter", "html_blocks", "render_template", "svg_inline", "write_pdf"]

#: A4 portrait, inches.
A4 = (8.27, 11.69)


@functools.lru_cache(maxsize=2)
def _environment(autoescape: bool) -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("ccdata.report", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_template(name: str, **context: Any) -> str:
    """Render ``templates/<name>``; autoescaped unless it is Markdown (``.md``).

    Examples
    --------
    >>> "<h1>" in render_template("_example.html", title="a <b> c")
    True
    >>> "a &lt;b&gt; c" in render_template("_example.html", title="a <b> c")
    True
    """
    env = _environment(not name.endswith(".md"))
    return env.get_template(name).render(**context)


_SVG_HEAD = re.compile(r"^.*?(<svg\b[^>]*>)", re.S)


def svg_inline(svg: str | bytes, *, title: str, desc: str, ident: str) -> Any:
    r"""Turn an SVG document into an inline ``<svg>`` with ``<title>``/``<desc>``.

    The XML prolog and DOCTYPE are dropped, fixed ``width``/``height`` are
    replaced by CSS (the figure scales to a phone's width) and the element
    gets ``role="img"`` and ``aria-labelledby`` pointing at its title and
    description. Returns :class:`markupsafe.Markup` (safe for the templates):
    the title and description are escaped here.

    Examples
    --------
    >>> s = svg_inline('<?xml version="1.0"?><svg width="10pt" height="5pt" '
    ...                'viewBox="0 0 10 5"><g/></svg>', title="T <1>",
    ...                desc="D", ident="f1")
    >>> str(s)[:40]
    '<svg viewBox="0 0 10 5" role="img" aria-'
    >>> "<title id=\"f1-title\">T &lt;1&gt;</title>" in s
    True
    """
    from markupsafe import Markup

    text = svg.decode("utf-8") if isinstance(svg, bytes) else svg
    m = _SVG_HEAD.match(text)
    if m is None:
        raise ValueError("not an SVG document")
    head = re.sub(r'\s(width|height)="[^"]*"', "", m.group(1))
    ident = re.sub(r"[^A-Za-z0-9_-]", "-", ident)
    head = head[:-1].rstrip("/ ") + (
        f' role="img" aria-labelledby="{ident}-title {ident}-desc"'
        f' class="figure-svg" data-figure="{ident}">'
    )
    body = text[m.end() :]
    meta = (
        f'<title id="{ident}-title">{html.escape(title)}</title>'
        f'<desc id="{ident}-desc">{html.escape(desc)}</desc>'
    )
    return Markup(head + meta + body)


# --------------------------------------------------------------------------- #
# HTML back into blocks, for the PDF
# --------------------------------------------------------------------------- #


class _Blocks(HTMLParser):
    """Headings, paragraphs, list items, table rows and figures of a page."""

    _TEXT = {"h1", "h2", "h3", "p", "li", "figcaption", "summary", "dt", "dd"}
    _SKIP = {"style", "script", "svg", "nav", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, Any]] = []
        self._tag: str | None = None
        self._buf: list[str] = []
        self._skip = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._table: list[list[str]] | None = None
        self._head_row = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in self._SKIP:
            if tag == "svg" and not self._skip and a.get("data-figure"):
                self._flush()
                self.blocks.append(("figure", a["data-figure"]))
            self._skip += 1
            return
        if self._skip:
            return
        if tag == "img" and a.get("data-figure"):
            self._flush()
            self.blocks.append(("figure", a["data-figure"]))
        elif tag == "table":
            self._table = []
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag in self._TEXT:
            self._flush()
            self._tag = tag
        elif tag == "br":
            self._buf.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
            return
        if self._skip:
            return
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            self.blocks.append(("table", self._table))
            self._table = None
        elif tag == self._tag:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._tag is not None:
            self._buf.append(data)

    def _flush(self) -> None:
        if self._tag is not None:
            text = " ".join("".join(self._buf).split())
            if text:
                self.blocks.append((self._tag, text))
        self._tag, self._buf = None, []


def html_blocks(page: str) -> list[tuple[str, Any]]:
    """Return the text blocks of an HTML page in order, for :func:`write_pdf`.

    Examples
    --------
    >>> html_blocks("<h1>A &amp; B</h1><p>one <b>two</b></p><ul><li>x</li></ul>")
    [('h1', 'A & B'), ('p', 'one two'), ('li', 'x')]
    """
    parser = _Blocks()
    parser.feed(page)
    parser.close()
    parser._flush()
    return parser.blocks


# --------------------------------------------------------------------------- #
# PDF pages
# --------------------------------------------------------------------------- #

_STYLE = {
    "h1": (16, "bold", 0.42),
    "h2": (13, "bold", 0.34),
    "h3": (11, "bold", 0.28),
    "p": (9.5, "normal", 0.2),
    "li": (9.5, "normal", 0.2),
    "dt": (9.5, "bold", 0.2),
    "dd": (9.5, "normal", 0.2),
    "summary": (9.5, "bold", 0.2),
    "figcaption": (8.5, "normal", 0.18),
}


_PLAIN = str.maketrans(
    {
        "\u2014": "-",
        "\u2013": "-",
        "\u2022": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2264": "<=",
        "\u2265": ">=",
        "\u03c6": "phi",
        "\u03c4": "tau",
        "\u2032": "'",
        "\u2026": "...",
    }
)


def _latin1(text: str) -> str:
    """Text the PDF's built-in fonts can show (Latin-1; a few symbols spelt out).

    Examples
    --------
    >>> _latin1("tau² ≥ 0 — é")
    'tau² >= 0 - é'
    """
    return text.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


#: What matplotlib's ``PdfFile._write_afm_font`` calls (3.8 to 3.11); another
#: body is left alone.
_AFM_FONT_NAMES = (
    "open",
    "AFM",
    "get_fontname",
    "Name",
    "reserveObject",
    "writeObject",
)


def _cache_core_fonts(pdf: Any) -> None:
    """Let a PDF file name its built-in (core) fonts without re-reading them.

    matplotlib's PDF backend parses a core font's whole AFM metrics file
    (kerning pairs and all) when it finishes each file, only to read the
    font's name; with a PDF per site pack that is about a tenth of the time
    of a pack. The metrics were already parsed, once per process, to lay the
    text out (``_cached_get_afm_from_fname``); this names the font from that
    parse. The file written is byte-for-byte the same. On a matplotlib whose
    internals differ, the file is left to matplotlib's own code.
    """
    try:
        from matplotlib.backends import backend_pdf as bp
        from matplotlib.backends._backend_pdf_ps import _cached_get_afm_from_fname

        file = pdf._ensure_file()
        names = type(file)._write_afm_font.__code__.co_names
    except (ImportError, AttributeError):  # pragma: no cover - other matplotlib
        return
    if names != _AFM_FONT_NAMES:  # pragma: no cover - matplotlib changed it
        return

    def write_afm_font(filename: str) -> Any:
        fontname = _cached_get_afm_from_fname(filename).get_fontname()
        fontdict = {
            "Type": bp.Name("Font"),
            "Subtype": bp.Name("Type1"),
            "BaseFont": bp.Name(fontname),
            "Encoding": bp.Name("WinAnsiEncoding"),
        }
        obj = file.reserveObject("font dictionary")
        file.writeObject(obj, fontdict)
        return obj

    file._write_afm_font = write_afm_font


class PdfWriter:
    """Lay text blocks and figures out on the pages of a PDF file.

    Text goes on A4 pages (wrapped, paginated); each figure gets a page of its
    own at its own size, so it stays a vector drawing.
    """

    def __init__(self, path: str | Path, *, title: str) -> None:
        from matplotlib.backends.backend_pdf import PdfPages

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._pdf = PdfPages(
            str(path),
            metadata={
                "Title": title,
                "Creator": "ccdata",
                "Producer": None,
                "CreationDate": None,
            },
        )
        self._fig: Any = None
        self._page: Any = None  # the one Figure every text page is drawn on
        self._core_fonts = False
        self._y = 0.0
        self.pages = 0

    # -- text -----------------------------------------------------------------
    def _new_page(self) -> None:
        self._end_page()
        if self._page is None:
            # one Figure for every text page of the file: a new Figure per
            # page costs more than the text drawn on it
            from matplotlib.figure import Figure

            self._page = Figure(figsize=A4)
        self._fig = self._page
        self._y = A4[1] - 0.7

    def _end_page(self) -> None:
        if self._fig is not None:
            # text pages use the PDF's built-in Helvetica: no font to embed and
            # no glyph to draw, about ten times faster than an embedded font,
            # and the words stay searchable text in the file
            import logging

            import matplotlib

            fm = logging.getLogger("matplotlib.font_manager")
            level = fm.level
            fm.setLevel(logging.ERROR)  # "Helvetica: using medium" is not news
            if not self._core_fonts:
                _cache_core_fonts(self._pdf)
                self._core_fonts = True
            try:
                with matplotlib.rc_context({"pdf.use14corefonts": True}):
                    self._pdf.savefig(self._fig)
            finally:
                fm.setLevel(level)
                for t in list(self._fig.texts):  # the next page starts empty
                    t.remove()
            self.pages += 1
            self._fig = None

    def _line(
        self,
        text: str,
        *,
        size: float,
        weight: str,
        x: float = 0.7,
        step: float = 0.2,
        family: str | None = None,
    ) -> None:
        if self._fig is None or self._y < 0.8:
            self._new_page()
        kw = {"family": family} if family else {}
        self._fig.text(
            x / A4[0],
            self._y / A4[1],
            _latin1(text),
            fontsize=size,
            fontweight=weight,
            va="top",
            ha="left",
            **kw,
        )
        self._y -= step

    def text(self, kind: str, text: str) -> None:
        """Add a heading (``h1``-``h3``), paragraph, list item or caption."""
        size, weight, step = _STYLE.get(kind, _STYLE["p"])
        if kind in ("h1", "h2", "h3"):
            if self._fig is not None and self._y < 2.0:
                self._new_page()
            self._y -= 0.08
        width = int(6.9 * 72 / (size * 0.55))
        indent = 0.95 if kind in ("li", "dd") else 0.7
        lines = textwrap.wrap(text, width - (4 if kind == "li" else 0)) or [""]
        for i, line in enumerate(lines):
            prefix = "- " if kind == "li" and i == 0 else ""
            self._line(
                prefix + line,
                size=size,
                weight=weight,
                x=indent - (0.12 if prefix else 0),
                step=step,
            )
        self._y -= 0.06

    def table(self, rows: list[list[str]]) -> None:
        """Add a table: columns laid out in proportion to their widest cell."""
        if not rows:
            return
        ncol = max(len(r) for r in rows)
        widths = [
            max((len(r[i]) if i < len(r) else 0) for r in rows) for i in range(ncol)
        ]
        total = max(sum(widths), 1)
        avail = 6.9
        chars = [max(4, int(avail * 72 / (8 * 0.55) * w / total)) for w in widths]
        xs = [0.7]
        for c in chars[:-1]:
            xs.append(xs[-1] + c * 8 * 0.55 / 72)
        for k, row in enumerate(rows):
            cells = [
                textwrap.wrap(row[i] if i < len(row) else "", chars[i]) or [""]
                for i in range(ncol)
            ]
            height = max(len(c) for c in cells)
            if self._fig is None or self._y - 0.17 * height < 0.8:
                self._new_page()
            for i, cell in enumerate(cells):
                for j, line in enumerate(cell):
                    self._fig.text(
                        xs[i] / A4[0],
                        (self._y - 0.17 * j) / A4[1],
                        _latin1(line),
                        fontsize=8,
                        va="top",
                        ha="left",
                        fontweight="bold" if k == 0 else "normal",
                    )
            self._y -= 0.17 * height + 0.04
        self._y -= 0.1

    # -- figures --------------------------------------------------------------
    def figure(self, fig: Any) -> None:
        """Add a matplotlib figure on a page of its own."""
        self._end_page()
        self._pdf.savefig(fig)
        self.pages += 1
        self._y = 0.0

    def image(self, png: str | Path, *, caption: str = "") -> None:
        """Add a PNG image (a figure saved earlier) on a page of its own."""
        import matplotlib.image as mpimg
        from matplotlib.figure import Figure

        img = mpimg.imread(str(png))
        h, w = img.shape[:2]
        width = 7.3
        height = width * h / w
        fig = Figure(figsize=(width + 0.6, height + 1.0))
        ax = fig.add_axes(
            (
                0.3 / (width + 0.6),
                0.7 / (height + 1.0),
                width / (width + 0.6),
                height / (height + 1.0),
            )
        )
        ax.imshow(img, interpolation="antialiased")
        ax.set_axis_off()
        if caption:
            fig.text(
                0.3 / (width + 0.6),
                0.1,
                textwrap.fill(caption, 120),
                fontsize=7,
                va="bottom",
                ha="left",
            )
        self.figure(fig)

    def close(self) -> int:
        """Finish the file; returns the number of pages."""
        self._end_page()
        self._pdf.close()
        return self.pages


def write_pdf(
    path: str | Path, page: str, *, title: str, figures: dict[str, Any] | None = None
) -> int:
    """Write the PDF copy of an HTML page; returns its number of pages.

    Parameters
    ----------
    path : path-like
        The PDF file.
    page : str
        The rendered HTML page.
    title : str
        The document title (PDF metadata).
    figures : dict, optional
        Figure id (the ``data-figure`` attribute of an ``<svg>`` or ``<img>``
        in the page) -> a matplotlib Figure, or the path of a PNG file.
    """
    import matplotlib

    # text from data (a site id such as "$\\notacommand$") is text, not math
    with matplotlib.rc_context({"text.parse_math": False}):
        return _write_pdf(path, page, title=title, figures=figures)


def _write_pdf(
    path: str | Path, page: str, *, title: str, figures: dict[str, Any] | None
) -> int:
    figures = figures or {}
    doc = PdfWriter(path, title=title)
    for kind, value in html_blocks(page):
        if kind == "figure":
            fig = figures.get(value)
            if fig is None:
                continue
            if isinstance(fig, str | Path):
                doc.image(fig)
            else:
                doc.figure(fig)
        elif kind == "table":
            doc.table(value)
        else:
            doc.text(kind, value)
    return doc.close()
