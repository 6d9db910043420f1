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
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = [
    "COMPLEMENTARY_LABEL",
    "COUNT_COLUMNS",
    "SAFE_COLUMNS",
    "TEXT_SUFFIXES",
    "complementary_suppression",
    "derived_columns",
    "hidden_rows",
    "protect",
    "hidden_units",
    "policy_statement",
    "publication_quality",
    "publication_quality_set",
    "publication_view",
    "suppress_table",
    "suppress_text",
    "without_units",
    "file_text",
    "scan_pack",
    "scan_text",
    "suppress",
    "suppress_series",
    "suppress_survey",
]

#: Files read as text by :func:`scan_pack`.
TEXT_SUFFIXES = (
    ".csv",
    ".md",
    ".txt",
    ".html",
    ".htm",
    ".json",
    ".svg",
    ".xml",
    ".tsv",
    ".css",
    ".js",
)


# --------------------------------------------------------------------------- #
# Suppression
# --------------------------------------------------------------------------- #


def suppress(
    values: pd.Series, *, min_count: int, suppress_zero: bool = False
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
    arr = values.to_numpy(dtype=object).copy()
    arr[mask] = f"<{min_count}"
    return pd.Series(arr, index=values.index, name=values.name), mask


#: Label of a cell hidden only to protect a small one (complementary).
COMPLEMENTARY_LABEL = "[hidden]"


def protect(
    counts: ArrayLike,
    primary: ArrayLike,
    margins: Iterable[ArrayLike],
    *,
    min_count: int | None = None,
) -> tuple[np.ndarray, list[int]]:
    """Complementary suppression of one line of cells against published margins.

    Each margin is a set of cells (a boolean mask) whose sum is published
    somewhere in the same output set: a site's pooled count (all its months),
    an SPC phase's centre line, the community's pooled rate (all its sites).
    A margin with exactly one hidden cell gives that cell back by subtraction
    (and so do small cells whose sum leaves one value each: two cells summing
    to 2 are both 1), so another cell of the margin is hidden with it: the
    smallest non-zero visible cell (hiding a zero would not help: the pair
    would sum to the hidden count). The search repeats until no margin
    discloses a cell; a margin with no cell left to hide is reported as
    exposed.

    Parameters
    ----------
    counts : sequence of float
    primary : sequence of bool
        The small cells.
    margins : iterable of sequence of bool
        The published sums.
    min_count : int, optional
        The suppression threshold, to find small cells pinned by their sum;
        without it only a lone hidden cell counts as disclosed.

    Returns
    -------
    hidden : numpy.ndarray of bool
        Primary and complementary cells.
    exposed : list of int
        Margins (by position) that still disclose a hidden cell because they
        have no other cell to hide (a margin of one cell): the caller must
        withhold those margins.

    Notes
    -----
    Secondary cell suppression (Hundepool et al. 2012, section 4.2) for the
    one- and two-way tables of a batch run. A reader who knows the margins,
    the visible cells and that a primary cell lies in 1..min_count-1 (a
    complementary cell in 0..inf) can then place every primary cell in at
    least two values (tested by trying the recoveries).

    Examples
    --------
    >>> hidden, exposed = protect([10, 3, 12, 8], [False, True, False, False],
    ...                           [[True, True, True, True]])
    >>> hidden.tolist(), exposed
    ([False, True, False, True], [])
    >>> protect([3], [True], [[True]])[1]
    [0]
    """
    cells = np.asarray(counts, dtype=float)
    hidden = np.asarray(primary, dtype=bool).copy()
    groups = [np.asarray(m, dtype=bool) for m in margins]
    exposed: set[int] = set()
    prim = np.asarray(primary, dtype=bool)
    changed = True
    while changed:
        changed = False
        for i, g in enumerate(groups):
            if not _disclosed(cells, prim, hidden, g, min_count):
                continue
            free = g & ~hidden & ~np.isnan(cells)
            cand = np.flatnonzero(free & (cells > 0))
            if len(cand):
                hidden[cand[np.argmin(cells[cand])]] = True
                changed = True
            else:
                exposed.add(i)
    still = {
        i for i in exposed if _disclosed(cells, prim, hidden, groups[i], min_count)
    }
    return hidden, sorted(still)


def _disclosed(
    counts: np.ndarray,
    primary: np.ndarray,
    hidden: np.ndarray,
    group: np.ndarray,
    min_count: int | None,
) -> bool:
    """Whether the group's published sum pins a hidden primary cell to one value.

    The reader's model: a primary cell is 1..min_count-1, a complementary
    cell any count >= 0, the other cells are visible.
    """
    h = hidden & group
    if h.sum() == 0:
        return False
    if h.sum() == 1:
        return True
    if min_count is None or (h & ~primary).any():
        return False  # a complementary cell is unbounded: no primary is pinned
    rest = float(np.nansum(counts[h]))
    k = int(h.sum())
    # each primary lies in [max(1, rest - (k-1)(m-1)), min(m-1, rest - (k-1))]
    lo = max(1.0, rest - (k - 1) * (min_count - 1))
    hi = min(min_count - 1.0, rest - (k - 1))
    return hi <= lo


def complementary_suppression(
    counts: ArrayLike, primary: ArrayLike, *, total_shown: bool = True
) -> np.ndarray:
    """Cells to hide so that no small cell of a line is recoverable from its total.

    The one-margin case of :func:`protect`: when the line's total is
    published and exactly one cell is hidden, one more is hidden.

    Examples
    --------
    >>> complementary_suppression([10, 3, 12, 8], [False, True, False, False])
    array([False,  True, False,  True])
    >>> complementary_suppression([10, 3, 2, 8], [False, True, True, False])
    array([False,  True,  True, False])
    >>> complementary_suppression([10, 3], [False, True], total_shown=False)
    array([False,  True])
    """
    small = np.asarray(primary, dtype=bool)
    if not total_shown:
        return small.copy()
    return protect(counts, small, [np.ones(len(small), dtype=bool)])[0]


def suppress_series(
    frame: pd.DataFrame,
    *,
    count_columns: Iterable[str],
    derived_columns: Iterable[str],
    min_count: int,
    suppress_zero: bool = False,
    total_shown: bool = True,
    group_columns: Iterable[str] = (),
    margin_columns: Iterable[str] = (),
) -> pd.DataFrame:
    """Suppress one line of a table (a site's periods, or a community's sites).

    Counts below ``min_count`` are shown as ``"<min_count"``; more cells are
    hidden (shown as ``"[hidden]"``) so that no small count comes back from a
    published sum (:func:`protect`): the line's total when ``total_shown``,
    and each group of ``group_columns`` (an SPC phase, whose centre line is
    its pooled rate). On every row with a hidden count, every column computed
    from the counts (``derived_columns``: rate, z, sigma, control limits,
    CUSUM values and steps, expected counts...) is blanked, because with the
    count beside it or its neighbours any of them would give the count back;
    a group whose sum still discloses its one hidden cell has its
    ``margin_columns`` (the centre line) blanked too.

    Returns
    -------
    DataFrame
        A copy (count columns become text where hidden).

    Examples
    --------
    >>> df = pd.DataFrame({"n": [10, 3, 12, 8], "rate": [.1, .2, .3, .4]})
    >>> out = suppress_series(df, count_columns=["n"], derived_columns=["rate"],
    ...                       min_count=5)
    >>> out["n"].tolist(), out["rate"].tolist()
    ([10, '<5', 12, '[hidden]'], ['0.1', '', '0.3', ''])
    """
    out = frame.copy()
    counts = [c for c in count_columns if c in out.columns]
    if not counts or (min_count <= 1 and not suppress_zero) or not len(out):
        return out
    n = len(out)
    margins: list[np.ndarray] = []
    if total_shown:
        margins.append(np.ones(n, dtype=bool))
    groups = [c for c in group_columns if c in out.columns]
    if groups:
        keys = out[groups].astype(str).agg("\x1f".join, axis=1).to_numpy()
        for k in pd.unique(keys):
            margins.append(keys == k)
    for col in counts:  # whole-number floats as integers ("142", not "142.0")
        num = pd.to_numeric(out[col], errors="coerce")
        if num.notna().all() and (num % 1 == 0).all():
            out[col] = num.astype("int64")
    hidden_row = np.zeros(n, dtype=bool)
    exposed_rows = np.zeros(n, dtype=bool)
    label = f"<{min_count}"
    masks = {}
    for col in counts:
        values = pd.to_numeric(out[col], errors="coerce").to_numpy(dtype=float)
        _, primary = suppress(
            out[col], min_count=min_count, suppress_zero=suppress_zero
        )
        hidden, exposed = protect(values, primary, margins, min_count=min_count)
        masks[col] = (primary, hidden)
        hidden_row |= hidden
        for i in exposed:
            exposed_rows |= margins[i]
    for col in counts:
        primary, hidden = masks[col]
        shown = out[col].to_numpy(dtype=object).copy()
        shown[hidden & ~primary] = COMPLEMENTARY_LABEL
        shown[primary] = label
        out[col] = shown
    for col in derived_columns:
        if col in out.columns and col not in counts and hidden_row.any():
            shown = out[col].map(_fmt_float).to_numpy(dtype=object).copy()
            shown[hidden_row] = ""
            out[col] = shown
    for col in margin_columns:
        if col in out.columns and exposed_rows.any():
            shown = out[col].to_numpy(dtype=object).copy()
            shown[exposed_rows] = ""
            out[col] = shown
    return out


def _fmt_float(v: object) -> object:
    """Format a float as the CSV writer would (so a blanked column stays tidy)."""
    from ccdata.report.writers import FLOAT_FORMAT

    if isinstance(v, (float, np.floating)) and not np.isnan(v):
        return FLOAT_FORMAT % v
    return v


# --------------------------------------------------------------------------- #
# The other-site scan
# --------------------------------------------------------------------------- #


def _png_text(data: bytes) -> str:
    """Every text chunk of a PNG (tEXt, zTXt, iTXt), keys and values, decoded.

    Pillow decodes the chunks before the image data (where matplotlib writes
    its metadata) without decoding the image; every chunk, wherever it is, is
    also read and inflated here, so a chunk after the image data is not missed.
    """
    from PIL import Image

    parts = [_png_chunks_raw(data)]
    try:
        with Image.open(io.BytesIO(data)) as im:
            parts.extend(f"{k}\n{v}" for k, v in im.info.items() if isinstance(v, str))
    except Exception:  # noqa: BLE001 - an unreadable PNG: its chunks are read raw
        pass
    return "\n".join(parts)


def _png_chunks_raw(data: bytes) -> str:
    out, pos = [], 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        ctype = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if ctype == b"tEXt":
            out.append(body.decode("latin-1"))
        elif ctype == b"zTXt":
            key, _, rest = body.partition(b"\0")
            try:
                out.append(
                    key.decode("latin-1")
                    + "\n"
                    + zlib.decompress(rest[1:]).decode("latin-1")
                )
            except zlib.error:
                out.append(body.decode("latin-1"))
        elif ctype == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed = rest[:1] == b"\1"
            _, _, rest = rest[2:].partition(b"\0")  # language tag
            translated, _, text = rest.partition(b"\0")
            if compressed:
                try:
                    text = zlib.decompress(text)
                except zlib.error:
                    pass
            out.append(
                b"\n".join((key, translated, text)).decode("utf-8", errors="replace")
            )
        pos += 12 + length
    return "\n".join(out)


_PDF_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


_PDF_SHOW = re.compile(rb"\)\s*(?:Tj|TJ|'|\")")  # a string shown as text
_PDF_STRING = re.compile(rb"\((?:\\.|[^\\)])*\)", re.S)


def _pdf_text(data: bytes) -> str:
    """Extract the text a reader can get out of a PDF: its objects and shown strings.

    The file outside its streams (object dictionaries, metadata such as the
    title) is kept as it is; of each stream, inflated when Flate-compressed,
    only the string literals of text objects (``BT`` ... ``ET``) are kept.
    Image and font streams are binary: scanning their bytes would find short
    identifiers by chance.
    """
    parts = [_PDF_STREAM.sub(b"stream endstream", data).decode("latin-1")]
    for m in _PDF_STREAM.finditer(data):
        body = m.group(1)
        try:
            body = zlib.decompress(body)
        except zlib.error:
            pass
        if b"BT" not in body and not _PDF_SHOW.search(body):
            continue
        parts.extend(lit[1:-1].decode("latin-1") for lit in _PDF_STRING.findall(body))
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


def scan_pack(
    pack_dir: str | Path,
    site: str,
    identifiers: Iterable[str],
    *,
    own_name: str | None = None,
    own_aliases: Iterable[str] = (),
) -> list[str]:
    r"""Find other sites' identifiers or names in every file of a pack.

    Parameters
    ----------
    pack_dir : path-like
        The pack folder. Every file is read (see :func:`file_text`); matching
        ignores case (except for short alphabetic ids such as ``A`` or
        ``AND``, matched as written) and needs a non-alphanumeric character
        (or the edge) on both sides.
    site : str
        The pack's own site id (allowed).
    identifiers : iterable of str
        Every site id and name of the run.
    own_name : str, optional
        The site's own name (allowed).
    own_aliases : iterable of str, optional
        Other spellings of the site's own identity that its pack may show
        (allowed), such as its pack folder name (``A_B-998d3ed8`` for ``A/B``),
        so that an other site's id inside it (``A_B``) is not reported.

    Returns
    -------
    list of str
        ``"file: identifier"`` for every hit (empty when clean).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "lung_t02_brookton.csv").write_text("x\n1\n")
    >>> scan_pack(d, "T01", ["T01", "T02"])
    ['lung_t02_brookton.csv: t02']
    """
    allowed = {a for a in (site, own_name, *own_aliases) if a}
    allowed_low = {a.casefold() for a in allowed}
    every = tuple(
        sorted(
            {str(i) for i in identifiers if str(i)} | allowed,
            key=lambda s: (-len(s), s),
        )
    )
    if not {s.casefold() for s in every} - allowed_low:
        return []
    runs = [(i, {r.casefold() for r in _ALNUM_RUN.findall(i)}) for i in every]
    hits: list[str] = []
    for path in sorted(Path(pack_dir).rglob("*")):
        if not path.is_file():
            continue
        text = file_text(path)
        candidates = _candidates(text, runs, every)
        if not candidates:
            continue
        found = _id_pattern(candidates).findall(text)
        hits.extend(
            f"{path.name}: {m}"
            for m in sorted({m for m in found if m.casefold() not in allowed_low})
        )
    return hits


_ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")
# characters that re.IGNORECASE matches with an ASCII letter (i, s, k)
_CASE_LOOKALIKES = frozenset("\u0130\u0131\u017f\u212a")


def _candidates(
    text: str, runs: list[tuple[str, set[str]]], every: tuple[str, ...]
) -> tuple[str, ...]:
    """Return the identifiers that can match in ``text`` (a much smaller regex).

    A match needs a non-alphanumeric character (or the edge) on both sides, so
    every maximal run of ``[A-Za-z0-9]`` inside an identifier is also a whole
    run of the text: identifiers with a run the text lacks cannot match. Exact
    (the regex still decides); text with a character that ``re.IGNORECASE``
    equates with an ASCII letter (Kelvin sign, long s, dotless i) gets the full
    pattern.
    """
    if not _CASE_LOOKALIKES.isdisjoint(text):
        return every
    tokens = {t.casefold() for t in _ALNUM_RUN.findall(text)}
    return tuple(i for i, need in runs if need <= tokens)


@functools.lru_cache(maxsize=256)
def _id_pattern(identifiers: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive regex for every identifier, longest first.

    The site's own id and name are part of the pattern (and ignored when
    found), so an other site's short id inside the site's own name is not
    reported. Compiled once per run, not once per pack. ``_`` counts as a
    separator (``lung_t02_brookton`` names ``t02``).
    """
    alt = "|".join(
        re.escape(i) if _loose(i) else f"(?-i:{re.escape(i)})" for i in identifiers
    )
    return re.compile(r"(?<![A-Za-z0-9])(" + alt + r")(?![A-Za-z0-9])", re.IGNORECASE)


def _loose(identifier: str) -> bool:
    """Whether an identifier is matched ignoring case.

    Every identifier with a digit (``T02`` also as ``t02``) or of four
    characters or more (names) is; a short alphabetic one (``A``, ``AND``)
    is matched as written, or it would be found in every sentence.
    """
    return len(identifier) >= 4 or any(c.isdigit() for c in identifier)


def scan_text(
    text: str, site: str, identifiers: Iterable[str], *, own_name: str | None = None
) -> list[str]:
    """Other sites' identifiers or names found in ``text`` (case-insensitive)."""
    allowed_low = {a.casefold() for a in (site, own_name) if a}
    every = tuple(
        sorted(
            {str(i) for i in identifiers if str(i)}
            | {a for a in (site, own_name) if a},
            key=lambda s: (-len(s), s),
        )
    )
    if not every:
        return []
    return sorted(
        {m for m in _id_pattern(every).findall(text) if m.casefold() not in allowed_low}
    )


# --------------------------------------------------------------------------- #
# The policy applied to the tables of a run
# --------------------------------------------------------------------------- #

#: Columns that are neither counts nor computed from counts: kept on hidden rows.
SAFE_COLUMNS = frozenset(
    {
        "indicator",
        "title",
        "unit",
        "site_id",
        "x",
        "period",
        "period_start",
        "month",
        "year",
        "phase",
        "baseline",
        "status",
        "status_text",
        "sites_compared",
        "used_in_overdispersion",
        "ascertainment_concern",
        "point_type",
        "outside",
        "long_run",
        "few_crossings",
        "run_signal",
        "trend",
        "two_in_three",
        "shift",
        "decile",
        "field",
        "message",
        "key",
        "window",
        "source",
    }
)
#: Columns that count people, by indicator kind.
COUNT_COLUMNS = {
    "proportion": ("numerator", "denominator", "n"),
    "ratio": ("numerator", "observed", "n"),
    "mean": ("n",),
    "cusum": ("patients", "observed"),
    "calibration": ("n", "observed"),
}
#: Columns holding a published sum of a group of rows (an SPC centre line).
MARGIN_COLUMNS = ("centre",)


#: Columns kept on hidden rows, by kind: a ratio's expected count is a modelled
#: value, not people, and without the O/E ratio it gives no count back.
KEPT_COLUMNS = {"ratio": ("denominator", "expected")}


def derived_columns(
    frame: pd.DataFrame, counts: Iterable[str], kind: str = ""
) -> list[str]:
    """Every column of ``frame`` that may be computed from its counts."""
    skip = (
        set(counts)
        | SAFE_COLUMNS
        | set(MARGIN_COLUMNS)
        | set(KEPT_COLUMNS.get(kind, ()))
    )
    return [c for c in frame.columns if c not in skip]


def suppress_table(
    frame: pd.DataFrame | None,
    *,
    kind: str,
    min_count: int,
    suppress_zero: bool = False,
    by: str | None = None,
    group_columns: Sequence[str] = (),
    total_shown: bool = True,
    forced: np.ndarray | None = None,
    counts: Sequence[str] | None = None,
) -> pd.DataFrame | None:
    """Suppress a table line by line (``by``: one line per site).

    See :func:`suppress_series`. ``forced`` marks rows to hide whatever their
    counts (cells hidden in another table of the same output set).
    """
    if frame is None or not len(frame):
        return frame
    counts = [
        c
        for c in (
            counts
            if counts is not None
            else COUNT_COLUMNS.get(kind, COUNT_COLUMNS["proportion"])
        )
        if c in frame.columns
    ]
    derived = derived_columns(frame, counts, kind)
    frame = frame.reset_index(drop=True)
    lines = (
        [np.arange(len(frame))]
        if by is None or by not in frame.columns
        else [
            np.flatnonzero(frame[by].astype(str).to_numpy() == k)
            for k in pd.unique(frame[by].astype(str))
        ]
    )
    parts = []
    for idx in lines:
        part = frame.iloc[idx]
        out = suppress_series(
            part,
            count_columns=counts,
            derived_columns=derived,
            min_count=min_count,
            suppress_zero=suppress_zero,
            total_shown=total_shown,
            group_columns=group_columns,
            margin_columns=MARGIN_COLUMNS,
        )
        if forced is not None and forced[idx].any():
            out = _force_hidden(
                out,
                part,
                forced[idx],
                counts,
                derived,
                min_count,
                suppress_zero,
                total_shown,
                group_columns,
            )
        parts.append(out)
    return pd.concat(parts).sort_index() if parts else frame


def _force_hidden(
    out: pd.DataFrame,
    part: pd.DataFrame,
    forced: np.ndarray,
    counts: list[str],
    derived: list[str],
    min_count: int,
    suppress_zero: bool,
    total_shown: bool,
    group_columns: Sequence[str],
) -> pd.DataFrame:
    """Hide ``forced`` rows too, then protect them like small cells."""
    n = len(part)
    margins = [np.ones(n, dtype=bool)] if total_shown else []
    groups = [c for c in group_columns if c in part.columns]
    if groups:
        keys = part[groups].astype(str).agg("\x1f".join, axis=1).to_numpy()
        margins += [keys == k for k in pd.unique(keys)]
    hidden_row = np.zeros(n, dtype=bool)
    out = out.copy()
    for col in counts:
        num = pd.to_numeric(part[col], errors="coerce").to_numpy(dtype=float)
        _, primary = suppress(
            part[col], min_count=min_count, suppress_zero=suppress_zero
        )
        hidden, _ = protect(num, primary | forced, margins, min_count=min_count)
        hidden_row |= hidden
        shown = out[col].to_numpy(dtype=object).copy()
        extra = hidden & ~np.char.startswith(shown.astype(str), "<")
        shown[extra] = COMPLEMENTARY_LABEL
        out[col] = shown
    for col in derived:
        shown = out[col].map(_fmt_float).to_numpy(dtype=object).copy()
        shown[hidden_row] = ""
        out[col] = shown
    return out


def hidden_rows(frame: pd.DataFrame | None) -> np.ndarray:
    """Rows of a suppressed table with a hidden count."""
    if frame is None or not len(frame):
        return np.zeros(0, dtype=bool)
    mask = np.zeros(len(frame), dtype=bool)
    for col in frame.columns:
        # text columns: object, or pandas' string dtype (the default of pandas 3)
        if frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col]):
            text = frame[col].astype(str)
            mask |= (
                text.str.match(r"^<\d+$") | (text == COMPLEMENTARY_LABEL)
            ).to_numpy()
    return mask


_SMALL_IN_TEXT = re.compile(r"(?<![\w.,%])(\d+)(?![\w.,%])")
_PERCENT = re.compile(r"\s*\(?\d+(?:\.\d+)?%\)?")


def suppress_text(text: str, *, min_count: int, suppress_zero: bool = False) -> str:
    """Hide small whole numbers in a sentence built from counts.

    The percentages of the same clause are hidden too (they would give the
    numbers back).

    For data-quality messages: ``"4 records submitted against 10 expected
    cases (40%)"`` becomes ``"<5 records submitted against 10 expected
    cases"``. Clauses are separated by ``;``.

    Examples
    --------
    >>> suppress_text("4 records against 10 expected (40%); 16 of 254 late (6.3%)",
    ...               min_count=5)
    '<5 records against 10 expected; 16 of 254 late (6.3%)'
    """
    low = 0 if suppress_zero else 1

    def clause(part: str) -> str:
        hit = False

        def repl(m: re.Match[str]) -> str:
            nonlocal hit
            if low <= int(m.group(1)) < min_count:
                hit = True
                return f"<{min_count}"
            return m.group(0)

        out = _SMALL_IN_TEXT.sub(repl, part)
        return _PERCENT.sub("", out) if hit else out

    return ";".join(clause(p) for p in text.split(";"))


def hidden_units(
    funnel_table: pd.DataFrame | None,
    *,
    kind: str,
    min_count: int,
    suppress_zero: bool = False,
) -> set[str]:
    """Sites whose funnel counts are hidden (small, or protecting a small one).

    Their points are left out of figures shown to others: a funnel point's
    position gives its rate and denominator, hence its count.
    """
    if (
        funnel_table is None
        or not len(funnel_table)
        or (min_count <= 1 and not suppress_zero)
    ):
        return set()
    shown = suppress_table(
        funnel_table, kind=kind, min_count=min_count, suppress_zero=suppress_zero
    )
    mask = hidden_rows(shown)
    return set(funnel_table["unit"].astype(str).to_numpy()[mask])


def without_units(result: Any, units: set[str], *, keep: str | None = None) -> Any:
    """Drop the rows of ``units`` from a FunnelResult or SPCResult (keep ``keep``)."""
    import dataclasses

    drop = set(units) - {keep}
    if result is None or not drop:
        return result
    name = (
        "units"
        if isinstance(getattr(result, "units", None), pd.DataFrame)
        else "points"
    )
    table = getattr(result, name)
    if "unit" not in table.columns:
        return result
    return dataclasses.replace(
        result,
        **{name: table[~table["unit"].astype(str).isin(drop)].reset_index(drop=True)},
    )


def publication_view(res: Any, *, min_count: int, suppress_zero: bool = False) -> Any:
    """Return an indicator's outputs as published (``shared = "publication"``).

    Every table is suppressed with complementary suppression
    (:func:`suppress_table`): the funnel table across sites (the pooled rate
    is published), each site's SPC series by phase (its pooled count is the
    funnel's), observed/expected and calibration tables; sites hidden in the
    funnel have a period hidden in their series too, so their total cannot be
    rebuilt. The monthly CUSUM table is not published (its steps are
    outcomes). Figures get results without the hidden sites' points.
    """
    import dataclasses

    kind = res.config.kind
    kw: dict[str, Any] = {"min_count": min_count, "suppress_zero": suppress_zero}
    funnel_table = suppress_table(res.funnel_table, kind=kind, **kw)
    hidden = (
        set(res.funnel_table["unit"].astype(str).to_numpy()[hidden_rows(funnel_table)])
        if funnel_table is not None
        else set()
    )
    spc_table = res.spc_table
    if spc_table is not None and len(spc_table):
        forced = spc_table["unit"].astype(str).isin(
            hidden
        ).to_numpy() & _smallest_nonzero_per_unit(spc_table)
        spc_table = suppress_table(
            spc_table,
            kind=kind,
            by="unit",
            group_columns=("phase",),
            forced=forced,
            **kw,
        )
    oe = res.oe_table
    if oe is not None and len(oe):
        forced = oe["unit"].astype(str).isin(hidden).to_numpy()
        oe = suppress_table(oe, kind="ratio", forced=forced, **kw)
    calibration = suppress_table(res.calibration, kind="calibration", **kw)
    spc_hidden = (
        hidden_rows(spc_table) if spc_table is not None else np.zeros(0, dtype=bool)
    )
    spc_result = res.spc
    if spc_result is not None and spc_table is not None and spc_hidden.any():
        pts = spc_result.points.reset_index(drop=True)
        if len(pts) == len(spc_table):
            pts = pts.copy()
            for col in ("y", "lower", "upper", "sigma"):
                if col in pts.columns:
                    pts.loc[spc_hidden, col] = np.nan
            spc_result = dataclasses.replace(spc_result, points=pts)
    return dataclasses.replace(
        res,
        flagged=[u for u in res.flagged if u not in hidden],
        funnel_table=funnel_table,
        spc_table=spc_table,
        oe_table=oe,
        calibration=calibration,
        cusum_table=None,
        cusum=None,
        funnel=without_units(res.funnel, hidden),
        spc=spc_result,
    )


def _smallest_nonzero_per_unit(table: pd.DataFrame) -> np.ndarray:
    """Find the row of each unit's smallest non-zero numerator (forced hidden)."""
    if "numerator" not in table.columns:
        return np.zeros(len(table), dtype=bool)
    num = pd.to_numeric(table["numerator"], errors="coerce")
    num = num.where(num > 0)
    out = np.zeros(len(table), dtype=bool)
    idx = num.groupby(table["unit"].astype(str).to_numpy()).idxmin().dropna()
    positions = table.index.get_indexer(pd.Index(idx.to_numpy()))
    out[positions[positions >= 0]] = True
    return out


def publication_quality(
    table: Any, *, min_count: int, suppress_zero: bool = False
) -> Any:
    """Return a data-quality table as published: small record counts hidden.

    Whole-number columns are counts of records (primary and complementary
    suppression down each column, whose total is published in the overall
    table); proportions and intervals on hidden rows are blanked; small
    numbers in the ``message`` text are hidden with their clause's
    percentages (:func:`suppress_text`).
    """
    if table is None or not len(table):
        return table
    counts = [
        c
        for c in table.columns
        if pd.api.types.is_integer_dtype(table[c]) and c not in SAFE_COLUMNS
    ]
    out: Any = suppress_table(
        table,
        kind="quality",
        min_count=min_count,
        suppress_zero=suppress_zero,
        counts=counts,
    )
    if "message" in out.columns:
        out = out.copy()
        out["message"] = (
            out["message"]
            .astype(str)
            .map(
                lambda t: suppress_text(
                    t, min_count=min_count, suppress_zero=suppress_zero
                )
            )
        )
    return out


def policy_statement(cfg: Any) -> dict[str, Any]:
    """Describe the run's disclosure policy per audience, for ``manifest.json``."""
    dc = cfg.disclosure
    low = 0 if dc.suppress_zero else 1
    small = f"counts {low} to {dc.min_count - 1}"
    return {
        "min_count": dc.min_count,
        "suppress_zero": dc.suppress_zero,
        "own_pack": dc.own_pack,
        "shared": dc.shared,
        "audiences": {
            "site (its own pack)": (
                "its own data in full"
                if dc.own_pack == "full"
                else f"its own data with {small} hidden, complementary suppression, "
                "derived values blanked, no CUSUM"
            ),
            "site (other sites in its pack)": (
                f"anonymous points; sites with {small} (or protecting one) are "
                "left out of the figures"
            ),
            "shared outputs (indicators/, figures/, index.html)": (
                "the core team: real numbers"
                if dc.shared == "internal"
                else f"publication: {small} hidden with complementary suppression, "
                "derived values blanked, hidden sites left out of figures, no "
                "CUSUM table"
            ),
        },
    }


# --------------------------------------------------------------------------- #
# Survey tables
# --------------------------------------------------------------------------- #

#: Survey columns computed from the item non-response count of a row.
SURVEY_NONRESPONSE_DERIVED = ("item_nonresponse_rate",)


def suppress_survey(
    table: pd.DataFrame | None,
    *,
    unit: str = "site_id",
    period: str = "survey_year",
    min_count: int,
    suppress_zero: bool = False,
) -> pd.DataFrame | None:
    """Suppress small respondent numbers of a survey table, complementary included.

    Counted people in a survey table are the ``respondents`` to a question
    and its ``item_nonresponse`` (people who returned the questionnaire but
    skipped the question). The two add up to the questionnaires returned by
    the unit in that period, the same number for every question, so any
    question with both counts visible gives that total away, and with it
    any one hidden count of another question by subtraction.

    The rule, for ``shared = "publication"``:

    * a ``respondents`` count below ``min_count`` (1 to ``min_count - 1``,
      and 0 with ``suppress_zero``) is shown as ``"<min_count"`` (these rows
      are below the survey's own minimum and carry no scores anyway);
    * when any question of a unit and period has a small ``respondents`` or
      ``item_nonresponse`` count, the item non-response of *every* question
      of that unit and period is hidden, all with the same label
      ``"[hidden]"`` (a reader cannot tell which one was small), and its
      rate (``item_nonresponse_rate``) is blanked. The returned total is then
      published nowhere: a reader knows only that it is at least the largest
      visible ``respondents`` count, which leaves every hidden count at least
      two values (unbounded above).

    Scores (mean, share positive, their intervals) stay as they are: they
    are computed only from 21 respondents or more (the survey's minimum,
    always at least ``min_count``), and the number of respondents beside
    them is not small.

    Parameters
    ----------
    table : DataFrame or None
        A survey table with ``respondents`` and, optionally,
        ``item_nonresponse`` (the scores table of
        :func:`ccdata.survey.survey_indicators`; the funnels and priorities
        tables have ``respondents`` only).
    unit, period : str
        The key columns of a unit and a survey period.
    min_count : int
    suppress_zero : bool, default False

    Returns
    -------
    DataFrame or None
        A copy; hidden counts become text.

    Examples
    --------
    >>> t = pd.DataFrame({"site_id": ["A", "A", "B", "B"],
    ...                   "survey_year": [2025] * 4,
    ...                   "respondents": [40, 37, 50, 3],
    ...                   "item_nonresponse": [0, 3, 10, 57],
    ...                   "item_nonresponse_rate": [0.0, 0.075, 1 / 6, 0.95]})
    >>> out = suppress_survey(t, min_count=5)
    >>> out["respondents"].tolist()
    [40, 37, 50, '<5']
    >>> out["item_nonresponse"].tolist()
    ['[hidden]', '[hidden]', '[hidden]', '[hidden]']
    >>> out["item_nonresponse_rate"].tolist()
    ['', '', '', '']
    """
    if table is None or not len(table) or "respondents" not in table.columns:
        return table
    if min_count <= 1 and not suppress_zero:
        return table
    out = table.reset_index(drop=True).copy()
    resp_shown, resp_small = suppress(
        out["respondents"], min_count=min_count, suppress_zero=suppress_zero
    )
    small = resp_small.copy()
    has_non = "item_nonresponse" in out.columns
    if has_non:
        _, non_small = suppress(
            out["item_nonresponse"], min_count=min_count, suppress_zero=suppress_zero
        )
        small |= non_small
    keys = [c for c in (unit, period) if c in out.columns]
    if keys and small.any():
        block = (
            pd.Series(small)
            .groupby([out[k].astype(str).to_numpy() for k in keys])
            .transform("any")
        ).to_numpy(dtype=bool)
    else:
        block = small
    if resp_small.any():
        shown = out["respondents"].to_numpy(dtype=object).copy()
        shown[resp_small] = resp_shown.to_numpy(dtype=object)[resp_small]
        out["respondents"] = shown
    if has_non and block.any():
        shown = out["item_nonresponse"].to_numpy(dtype=object).copy()
        shown[block] = COMPLEMENTARY_LABEL
        out["item_nonresponse"] = shown
        for col in SURVEY_NONRESPONSE_DERIVED:
            if col in out.columns:
                vals = out[col].map(_fmt_float).to_numpy(dtype=object).copy()
                vals[block] = ""
                out[col] = vals
    return out


# --------------------------------------------------------------------------- #
# Data-quality tables as a set
# --------------------------------------------------------------------------- #

#: ``(total, part)`` column pairs of the data-quality tables whose difference
#: is a count of records: missing values (expected - present), incomplete
#: records (records - complete_records), cases not submitted (expected -
#: submitted).
QUALITY_COMPLEMENTS = (
    ("expected", "present"),
    ("records", "complete_records"),
    ("expected", "submitted"),
)
#: The site-level data-quality tables (one row per site), by name ending.
_SITE_TABLES = ("_summary", "_timeliness", "_ascertainment")
_ALL_FIELDS = "all_mandatory_fields"  # ccdata.completeness's all-fields row


def _quality_key(name: str) -> str:
    for key in ("_fields_overall", "_fields", *_SITE_TABLES):
        if name.endswith(key):
            return key
    return ""


def _quality_one(
    table: pd.DataFrame,
    key: str,
    *,
    min_count: int,
    suppress_zero: bool,
    forced: np.ndarray | None,
) -> pd.DataFrame:
    """Suppress one data-quality table, complements included (see the set)."""
    frame = table.reset_index(drop=True).copy()
    pairs = [(t, p) for t, p in QUALITY_COMPLEMENTS if {t, p} <= set(frame.columns)]
    counts = [
        c
        for c in frame.columns
        if (pd.api.types.is_integer_dtype(frame[c]) or any(c in pair for pair in pairs))
        and c not in SAFE_COLUMNS
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    virtual: dict[str, str | None] = {}  # virtual count -> the part it hides
    for tot, part in pairs:
        name = f"_not_{part}"
        frame[name] = pd.to_numeric(frame[tot], errors="coerce") - pd.to_numeric(
            frame[part], errors="coerce"
        )
        virtual[name] = part
    if key == "_timeliness" and "n" in frame.columns:
        for col in [c for c in frame.columns if str(c).startswith("within_")]:
            name = f"_late_{col}"
            n = pd.to_numeric(frame["n"], errors="coerce")
            for c in ("invalid_dates", "missing_dates"):  # the share's denominator
                if c in frame.columns:
                    n = n - pd.to_numeric(frame[c], errors="coerce").fillna(0)
            share = pd.to_numeric(frame[col], errors="coerce")
            frame[name] = (n * (1 - share)).round()
            virtual[name] = None  # the share is derived: blanked on the row
    out = suppress_table(
        frame,
        kind="quality",
        min_count=min_count,
        suppress_zero=suppress_zero,
        counts=[*counts, *virtual],
        by="field" if key == "_fields" else None,
        forced=forced,
    )
    assert out is not None
    for name, hides in virtual.items():
        hid = out[name].astype(str).str.match(r"^<\d+$") | (
            out[name].astype(str) == COMPLEMENTARY_LABEL
        )
        if hides is not None and hid.any():
            shown = out[hides].to_numpy(dtype=object).copy()
            visible = ~pd.Series(shown).astype(str).str.match(r"^<\d+$").to_numpy()
            shown[hid.to_numpy() & visible] = COMPLEMENTARY_LABEL
            out[hides] = shown
    return out.drop(columns=list(virtual))


def _is_hidden(values: pd.Series) -> np.ndarray:
    text = values.astype(str)
    return (text.str.match(r"^<\d+$") | (text == COMPLEMENTARY_LABEL)).to_numpy()


def _copy_cells(
    target: pd.DataFrame,
    source: pd.DataFrame,
    columns: Sequence[str],
    site: str,
    rows: np.ndarray | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Show in ``target`` the cells of ``source`` (same site) that it hides.

    Returns the table and the rows where a copied cell is hidden.
    """
    target = target.copy()
    where = np.ones(len(target), dtype=bool) if rows is None else rows
    hid = np.zeros(len(target), dtype=bool)
    src = source.set_index(source[site].astype(str))
    keys = target[site].astype(str)
    for col in columns:
        if col not in target.columns or col not in src.columns:
            continue
        lookup = keys.map(src[col]).to_numpy(dtype=object)
        h = _is_hidden(pd.Series(lookup)) & where
        if h.any():
            shown = target[col].to_numpy(dtype=object).copy()
            shown[h] = lookup[h]
            target[col] = shown
        hid |= h
    return target, hid


def _blank(
    table: pd.DataFrame, columns: Iterable[str], rows: np.ndarray
) -> pd.DataFrame:
    if not rows.any():
        return table
    table = table.copy()
    for col in columns:
        if col in table.columns:
            shown = table[col].map(_fmt_float).to_numpy(dtype=object).copy()
            shown[rows] = ""
            table[col] = shown
    return table


#: Clauses of a data-quality message, with the summary column of each count.
_MESSAGE_COUNTS = (
    (re.compile(r"(?<![\w<.])\d+(?= records submitted)"), "submitted"),
    (re.compile(r"(?<=submitted against )\d+(?= expected)"), "expected"),
    (re.compile(r"(?<![\w<.])\d+(?= entered more than)"), "entered_late"),
    (re.compile(r"(?<![\w<.])\d+(?= with an entry date before)"), "invalid_dates"),
    (re.compile(r"(?<![\w<.])\d+(?= with a date missing)"), "missing_dates"),
    (re.compile(r"(?<= of )\d+(?= records missing)"), "records"),
)


def publication_quality_set(
    tables: dict[str, pd.DataFrame],
    *,
    min_count: int,
    suppress_zero: bool = False,
    site: str = "site_id",
) -> dict[str, pd.DataFrame]:
    """Return a source's data-quality tables as published, suppressed together.

    The tables of one source (``data_quality_<source>_fields``,
    ``_fields_overall``, ``_summary``, ``_timeliness``, ``_ascertainment``)
    are published side by side, so a small count must not come back from any
    of them:

    * **complements**: a count that is a difference of two published counts
      -- missing values (``expected - present``), incomplete records
      (``records - complete_records``), cases not submitted (``expected -
      submitted``), records entered late (valid-dated records times one minus
      the share entered in time) -- is suppressed like a count (primary and
      complementary suppression) by hiding the part it is taken from and
      blanking the proportions and intervals of the row;
    * **margins**: the per-site field table is protected field by field
      against the all-sites table (its sums), the site-level tables against
      their column totals;
    * **the same number in two tables** is hidden in both: the
      ascertainment table's counts and the timeliness table's date counts
      are the summary's, the all-mandatory-fields row of the field table is
      the summary's complete and total records, and records entered late are
      hidden in the summary where the timeliness share gives them away;
    * **messages**: each count in a site's ``message`` is hidden where its
      cell is (submitted, expected, late, dates, "N of M records missing
      FIELD" against the field table), small numbers anywhere
      (:func:`suppress_text`).

    Parameters
    ----------
    tables : dict of DataFrame
        ``{name: table}`` of one source (``QualityOutput.tables``).
    min_count : int
    suppress_zero : bool, default False
    site : str, default "site_id"

    Returns
    -------
    dict of DataFrame
        The same names, suppressed copies.

    Examples
    --------
    >>> fields = pd.DataFrame({"site_id": ["A", "B", "C"], "field": "x",
    ...                        "present": [97, 50, 60], "expected": [100, 60, 60],
    ...                        "proportion": [0.97, 50 / 60, 1.0]})
    >>> out = publication_quality_set({"data_quality_s_fields": fields},
    ...                               min_count=5)["data_quality_s_fields"]
    >>> out["present"].tolist(), out["expected"].tolist()
    (['[hidden]', '[hidden]', 60], [100, 60, 60])
    """
    if min_count <= 1 and not suppress_zero:
        return dict(tables)
    kw: dict[str, Any] = {"min_count": min_count, "suppress_zero": suppress_zero}
    names = {_quality_key(n): n for n in tables}
    out: dict[str, pd.DataFrame] = {}
    for name, table in tables.items():
        if table is None or not len(table):
            out[name] = table
            continue
        key = _quality_key(name)
        table = table.reset_index(drop=True)
        if key == "_fields" and "field" in table.columns:
            # the all-mandatory row is the summary's; suppress the fields alone
            allf = (table["field"].astype(str) == _ALL_FIELDS).to_numpy()
            fields = _quality_one(table[~allf], key, forced=None, **kw)
            rest = _quality_one(table[allf], "", forced=None, **kw)
            rest.index = np.flatnonzero(allf)
            fields.index = np.flatnonzero(~allf)
            out[name] = pd.concat([fields, rest]).sort_index()
        else:
            out[name] = _quality_one(table, key, forced=None, **kw)
    summary = out.get(names.get("_summary", ""))
    timely = out.get(names.get("_timeliness", ""))
    derived = ("proportion", "lower_95", "upper_95", "ascertainment")
    if summary is not None and len(summary) and site in summary.columns:
        if timely is not None and len(timely):
            # late records: hidden in the summary where the timeliness share is
            late = [c for c in timely.columns if str(c).startswith("within_")]
            hid = np.zeros(len(timely), dtype=bool)
            for c in late:
                hid |= (timely[c].astype(str) == "").to_numpy() & pd.to_numeric(
                    tables[names["_timeliness"]][c], errors="coerce"
                ).notna().to_numpy()
            gone = set(timely[site].astype(str).to_numpy()[hid])
            if gone and "entered_late" in summary.columns:
                rows = summary[site].astype(str).isin(gone).to_numpy()
                rows = rows & ~_is_hidden(summary["entered_late"])
                shown = summary["entered_late"].to_numpy(dtype=object).copy()
                shown[rows] = COMPLEMENTARY_LABEL
                summary = summary.assign(entered_late=shown)
            timely, h = _copy_cells(
                timely, summary, ("invalid_dates", "missing_dates"), site
            )
            lates = (
                _is_hidden(
                    timely[site]
                    .astype(str)
                    .map(summary.set_index(summary[site].astype(str))["entered_late"])
                )
                if "entered_late" in summary.columns
                else np.zeros(len(timely), bool)
            )
            timely = _blank(timely, late, h | lates)
            out[names["_timeliness"]] = timely
        asc_name = names.get("_ascertainment")
        if asc_name is not None and out[asc_name] is not None and len(out[asc_name]):
            asc, h = _copy_cells(out[asc_name], summary, ("submitted", "expected"),
                                 site)  # fmt: skip
            out[asc_name] = _blank(asc, derived, h)
            back, h2 = _copy_cells(summary, asc, ("submitted", "expected"), site)
            summary = _blank(back, ("ascertainment", "ascertainment_lower_95",
                                    "ascertainment_upper_95"), h2)  # fmt: skip
        fname = names.get("_fields")
        if fname is not None and out[fname] is not None and len(out[fname]):
            f = out[fname]
            allf = (f["field"].astype(str) == _ALL_FIELDS).to_numpy()
            src = pd.DataFrame(
                {
                    site: summary[site],
                    **(
                        {"present": summary["complete_records"]}
                        if "complete_records" in summary.columns
                        else {}
                    ),
                    **(
                        {"expected": summary["records"]}
                        if "records" in summary.columns
                        else {}
                    ),
                }
            )
            f, h = _copy_cells(f, src, ("present", "expected"), site, rows=allf)
            f, h_exp = _copy_cells(f, src, ("expected",), site)  # = records
            out[fname] = _blank(f, derived, h | h_exp)
        out[names["_summary"]] = summary
    # messages
    quality_fields = out.get(names.get("_fields", ""))
    hidden_cells: set[tuple[str, str]] = set()
    if (
        quality_fields is not None
        and len(quality_fields)
        and {site, "field"} <= set(quality_fields.columns)
    ):
        rows = (
            _is_hidden(quality_fields["present"])
            if "present" in quality_fields
            else hidden_rows(quality_fields)
        )
        hidden_cells = set(
            zip(
                quality_fields[site].astype(str).to_numpy()[rows],
                quality_fields["field"].astype(str).to_numpy()[rows],
                strict=True,
            )
        )
    for name, t in list(out.items()):
        if t is None or "message" not in t.columns or site not in t.columns:
            continue
        msgs = []
        for i, (sid, text) in enumerate(
            zip(t[site].astype(str), t["message"].astype(str), strict=True)
        ):
            text = suppress_text(text, **kw)
            hid_any = False
            for pattern, col in _MESSAGE_COUNTS:
                if col in t.columns and _is_hidden(t[col].iloc[[i]])[0]:
                    text, k = pattern.subn(COMPLEMENTARY_LABEL, text)
                    hid_any |= bool(k)
            for s_, f_ in hidden_cells:
                if s_ == sid:
                    text, k = re.subn(
                        rf"(?<![\w.<])\d+(?= of [^;]*? records missing "
                        rf"{re.escape(f_)}(?![\w]))",
                        COMPLEMENTARY_LABEL,
                        text,
                    )
                    hid_any |= bool(k)
            if hid_any:  # a percentage beside a hidden count gives it back
                text = _PERCENT.sub("", text)
            msgs.append(text)
        out[name] = t.assign(message=msgs)
    return out
