"""Disclosure control of a batch run: suppression and the other-site scan.

Two guarantees live here.

**No other site's identity in a pack.** :func:`scan_pack` reads every file of
a pack -- text files (CSV, Markdown, text, HTML, SVG, JSON, XML), the text
chunks of PNG files (``tEXt``, compressed ``zTXt`` and ``iTXt``, decoded with
Pillow), the streams of PDF files (inflated), the parts of Office files (zip
archives), and any other file as raw text -- and finds the identifiers and
names of other sites, ignoring case (``lung_t02_brookton.csv`` names T02).

**Suppressed counts stay suppressed.** :func:`suppress` replaces small counts
by ``"<5"``; :func:`complementary_suppression` adds the cells that would let a
reader recover a suppressed one by subtraction (a lone suppressed month equals
the total minus the visible months); :func:`suppress_series` applies both to a
site's series by period and blanks every column computed from a suppressed
count -- rates, sigma, control limits, CUSUM values and steps, expected counts
-- so that no suppressed cell can be recovered from its neighbours.

References
----------
.. [1] Office for National Statistics (2006). Review of the dissemination of
   health statistics: confidentiality guidance. (Small-number suppression and
   secondary suppression of differencing risks.)
.. [2] NHS Digital (2014). Disclosure control guidance for HES data.
.. [3] Hundepool A et al. (2012). Statistical Disclosure Control. Wiley,
   ch. 4 (cell suppression and complementary suppression).
"""

from __future__ import annotations

import functools
import io
import re
import zipfile
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["TEXT_SUFFIXES", "complementary_suppression", "file_text", "scan_pack",
           "scan_text", "suppress", "suppress_series"]

#: Files read as text by :func:`scan_pack`.
TEXT_SUFFIXES = (".csv", ".md", ".txt", ".html", ".htm", ".json", ".svg", ".xml",
                 ".tsv", ".css", ".js")


# --------------------------------------------------------------------------- #
# Suppression
# --------------------------------------------------------------------------- #


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


def complementary_suppression(counts: Sequence[float], primary: Sequence[bool], *,
                              total_shown: bool = True) -> np.ndarray:
    """Cells to hide so that no primary (small) cell is recoverable by subtraction.

    A row of cells adding up to a total that is shown (a site's months and its
    pooled count, say) discloses a lone hidden cell: it is the total minus the
    visible cells. When exactly one cell is hidden, the smallest other cell
    (the least information lost) is hidden with it; two hidden cells only give
    their sum, and the sum of a small cell and another cell does not locate
    the small count within the range a reader could not already guess (the
    second cell is chosen so that the pair sums to at least ``min_count`` when
    possible, see Notes).

    Parameters
    ----------
    counts : sequence of float
        The cells of one line (e.g. a site's monthly counts).
    primary : sequence of bool
        Cells suppressed because they are small.
    total_shown : bool, default True
        Whether the line's total is published (in the same output set). When
        it is not, hiding the primary cells is enough.

    Returns
    -------
    numpy.ndarray of bool
        The cells to hide (primary and complementary).

    Notes
    -----
    This is the one-dimensional case of secondary cell suppression
    (Hundepool et al. 2012, section 4.2). In a pack the table is one site's
    line, and the only published margin is the site's pooled total, so one
    complementary cell per line suffices. The complementary cell is the
    smallest non-hidden cell (ties: the earliest), which keeps the most
    information visible.

    Examples
    --------
    >>> complementary_suppression([10, 3, 12, 8], [False, True, False, False])
    array([False,  True, False,  True])
    >>> complementary_suppression([10, 3, 2, 8], [False, True, True, False])
    array([False,  True,  True, False])
    >>> complementary_suppression([10, 3], [False, True], total_shown=False)
    array([False,  True])
    """
    counts = np.asarray(counts, dtype=float)
    hide = np.asarray(primary, dtype=bool).copy()
    if not total_shown or hide.sum() != 1 or len(hide) < 2:
        return hide
    candidates = np.flatnonzero(~hide & ~np.isnan(counts))
    if len(candidates):
        hide[candidates[np.argmin(counts[candidates])]] = True
    return hide


def suppress_series(frame: pd.DataFrame, *, count_columns: Iterable[str],
                    derived_columns: Iterable[str], min_count: int,
                    suppress_zero: bool = False, total_shown: bool = True,
                    complementary_column: str | None = None) -> pd.DataFrame:
    """Suppress a site's series by period so that no hidden count comes back.

    Counts below ``min_count`` are shown as ``"<min_count"``; when a total of
    the series is published, one more period is hidden (see
    :func:`complementary_suppression`, on ``complementary_column``, default
    the first count column). On every hidden row, every column computed from
    the counts (``derived_columns``: rate, sigma, limits, z, CUSUM values and
    steps, expected counts...) is blanked, because with its neighbours or the
    count beside it any of them would give the count back.

    Parameters
    ----------
    frame : DataFrame
        One site's rows, in period order.
    count_columns : iterable of str
        Columns counting people.
    derived_columns : iterable of str
        Columns computed from the counts.
    min_count : int
    suppress_zero : bool, default False
    total_shown : bool, default True
    complementary_column : str, optional

    Returns
    -------
    DataFrame
        A copy with text ``"<5"`` in hidden count cells and ``""`` in the
        derived cells of hidden rows.

    Examples
    --------
    >>> df = pd.DataFrame({"n": [10, 3, 12, 8], "rate": [.1, .2, .3, .4]})
    >>> out = suppress_series(df, count_columns=["n"], derived_columns=["rate"],
    ...                       min_count=5)
    >>> out["n"].tolist(), out["rate"].tolist()
    ([10, '<5', 12, '<5'], [0.1, '', 0.3, ''])
    """
    out = frame.copy()
    counts = [c for c in count_columns if c in out.columns]
    if not counts or (min_count <= 1 and not suppress_zero):
        return out
    hidden_row = np.zeros(len(out), dtype=bool)
    masks = {}
    for col in counts:
        _, mask = suppress(out[col], min_count=min_count, suppress_zero=suppress_zero)
        masks[col] = mask
        hidden_row |= mask
    comp_col = complementary_column or counts[0]
    if comp_col in out.columns:
        num = pd.to_numeric(out[comp_col], errors="coerce").to_numpy(dtype=float)
        hidden_row = complementary_suppression(num, hidden_row,
                                               total_shown=total_shown)
    label = f"<{min_count}"
    for col in counts:
        col_mask = masks[col] | (hidden_row & ~masks[col])
        shown = out[col].astype(object).copy()
        shown[col_mask] = label
        out[col] = shown
    for col in derived_columns:
        if col in out.columns and col not in counts:
            shown = out[col].astype(object).copy()
            shown[hidden_row] = ""
            out[col] = shown
    return out


# --------------------------------------------------------------------------- #
# The other-site scan
# --------------------------------------------------------------------------- #


def _png_text(data: bytes) -> str:
    """Every text chunk of a PNG (tEXt, zTXt, iTXt), keys and values, decoded."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            items = dict(getattr(im, "text", {}) or {})
            items.update({k: v for k, v in im.info.items() if isinstance(v, str)})
    except Exception:  # noqa: BLE001 - an unreadable PNG: scan its chunks raw
        return _png_chunks_raw(data)
    return "\n".join(f"{k}\n{v}" for k, v in items.items())


def _png_chunks_raw(data: bytes) -> str:
    out, pos = [], 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        ctype = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if ctype == b"tEXt":
            out.append(body.decode("latin-1"))
        elif ctype == b"zTXt":
            key, _, rest = body.partition(b"\0")
            try:
                out.append(key.decode("latin-1") + "\n"
                           + zlib.decompress(rest[1:]).decode("latin-1"))
            except zlib.error:
                out.append(body.decode("latin-1"))
        elif ctype == b"iTXt":
            out.append(body.decode("utf-8", errors="replace"))
        pos += 12 + length
    return "\n".join(out)


_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def _pdf_text(data: bytes) -> str:
    """A PDF's bytes with every Flate stream inflated (text operators included)."""
    parts = [data.decode("latin-1")]
    for m in _PDF_STREAM.finditer(data):
        try:
            parts.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            continue
    return "\n".join(parts)


def _zip_text(data: bytes) -> str:
    parts = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for name in z.namelist():
                parts.append(name)
                parts.append(z.read(name).decode("utf-8", errors="replace"))
    except (zipfile.BadZipFile, OSError):
        return data.decode("latin-1")
    return "\n".join(parts)


def file_text(path: str | Path) -> str:
    """All text a reader could get out of a written file, for :func:`scan_pack`.

    The file name is part of it (``lung_t02_brookton.csv`` names T02).
    """
    path = Path(path)
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        body = data.decode("utf-8", errors="replace")
    elif suffix == ".png" or data.startswith(b"\x89PNG"):
        body = _png_text(data)
    elif suffix == ".pdf" or data.startswith(b"%PDF"):
        body = _pdf_text(data)
    elif data.startswith(b"PK\x03\x04"):
        body = _zip_text(data)
    else:
        body = data.decode("utf-8", errors="replace")
    return path.name + "\n" + body


def scan_pack(pack_dir: str | Path, site: str, identifiers: Iterable[str], *,
              own_name: str | None = None) -> list[str]:
    """Find other sites' identifiers or names in every file of a pack.

    Parameters
    ----------
    pack_dir : path-like
        The pack folder. Every file is read (see :func:`file_text`); matching
        ignores case and needs a non-alphanumeric character (or the edge)
        on both sides.
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

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "lung_t02_brookton.csv").write_text("x\\n1\\n")
    >>> scan_pack(d, "T01", ["T01", "T02"])
    ['lung_t02_brookton.csv: t02']
    """
    allowed = {site, own_name} - {None, ""}
    allowed_low = {a.casefold() for a in allowed}
    every = tuple(sorted({str(i) for i in identifiers if str(i)} | allowed,
                         key=lambda s: (-len(s), s)))
    if not {s.casefold() for s in every} - allowed_low:
        return []
    pattern = _id_pattern(every)
    hits = []
    for path in sorted(Path(pack_dir).rglob("*")):
        if not path.is_file():
            continue
        found = pattern.findall(file_text(path))
        hits.extend(f"{path.name}: {m}" for m in
                    sorted({m for m in found if m.casefold() not in allowed_low}))
    return hits


@functools.lru_cache(maxsize=4)
def _id_pattern(identifiers: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive regex for every identifier, longest first.

    The site's own id and name are part of the pattern (and ignored when
    found), so an other site's short id inside the site's own name is not
    reported. Compiled once per run, not once per pack. ``_`` counts as a
    separator (``lung_t02_brookton`` names ``t02``).
    """
    alt = "|".join(map(re.escape, identifiers))
    return re.compile(r"(?<![A-Za-z0-9])(" + alt + r")(?![A-Za-z0-9])", re.IGNORECASE)


def scan_text(text: str, site: str, identifiers: Iterable[str], *,
              own_name: str | None = None) -> list[str]:
    """Other sites' identifiers or names found in ``text`` (case-insensitive)."""
    allowed_low = {a.casefold() for a in (site, own_name) if a}
    every = tuple(sorted({str(i) for i in identifiers if str(i)}
                         | {a for a in (site, own_name) if a},
                         key=lambda s: (-len(s), s)))
    if not every:
        return []
    return sorted({m for m in _id_pattern(every).findall(text)
                   if m.casefold() not in allowed_low})
