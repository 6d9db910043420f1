r"""Writers for the batch job: atomic output folder, deterministic CSV, manifest.

Everything the batch job writes goes through this module, so the guarantees
of ``ccdata run`` live in one place:

* outputs are written into a temporary folder *beside* the output folder and
  published in one atomic step only when the whole run succeeded
  (:func:`atomic_output_dir`, from :mod:`ccdata.report.publish`: ownership
  marker, lock, symbolic-link swap); a failed or interrupted run leaves the
  previous outputs untouched, and its debris is removed by the next run;
* every file is written only inside that temporary folder
  (:func:`~ccdata.report.publish.check_inside`);
* CSV files are byte-identical for the same inputs (:func:`write_csv`): fixed
  float format, ``"\n"`` line endings, UTF-8, rows in a fixed order;
* CSV cells a spreadsheet would run as a formula are neutralised
  (:func:`neutralise_formulas`).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from ccdata.report.publish import (
    MARKER_NAME,
    atomic_output_dir,
    check_inside,
    check_output_dir,
)

__all__ = [
    "FLOAT_FORMAT",
    "MANIFEST_NAME",
    "MARKER_NAME",
    "atomic_output_dir",
    "check_output_dir",
    "dependency_versions",
    "neutralise_formulas",
    "md_escape",
    "pack_name",
    "safe_name",
    "sha256_file",
    "write_csv",
    "write_json",
    "write_text",
]

#: Float format of every CSV written by the batch job (10 significant digits).
FLOAT_FORMAT = "%.10g"
#: Name of the manifest at the root of an output folder.
MANIFEST_NAME = "manifest.json"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_DEPENDENCIES = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "matplotlib",
    "pandera",
    "openpyxl",
)


def neutralise_formulas(data: pd.DataFrame) -> pd.DataFrame:
    """Prefix with ``'`` every text cell a spreadsheet would run as a formula.

    A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return is written as ``'=...`` so that Excel or LibreOffice shows it as
    text (CSV injection, OWASP). Numeric columns are left alone: a negative
    number is not a formula.

    Parameters
    ----------
    data : DataFrame

    Returns
    -------
    DataFrame
        A copy with text cells neutralised.

    Examples
    --------
    >>> df = pd.DataFrame({"v": ["=1+1", "ok", "-2", "@x"], "n": [-1, 2, 3, 4]})
    >>> neutralise_formulas(df)["v"].tolist()
    ["'=1+1", 'ok', "'-2", "'@x"]
    """
    return _neutralise(data, small=len(data) <= _SMALL_TABLE)


#: Tables of at most this many rows are checked cell by cell in Python: for a
#: site pack's few rows that is faster than a vectorised string operation per
#: column (the result is the same, see the tests).
_SMALL_TABLE = 64


def _neutralise(data: pd.DataFrame, *, small: bool) -> pd.DataFrame:
    out = data.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        if isinstance(s.dtype, pd.DatetimeTZDtype) or (
            pd.api.types.is_datetime64_any_dtype(s)
        ):
            continue
        if small:
            values = s.to_numpy(dtype=object)
            rows = [
                i
                for i, v in enumerate(values)
                if type(v) is str and v.startswith(_FORMULA_START)
            ]
            if rows:
                obj = s.astype(object)
                obj.iloc[rows] = ["'" + values[i] for i in rows]
                out[col] = obj
            continue
        if isinstance(s.dtype, pd.StringDtype):  # every cell text or missing
            hit = s.str.startswith(_FORMULA_START).fillna(False).to_numpy(bool)
            if hit.any():
                obj = s.astype(object)
                obj.iloc[np.flatnonzero(hit)] = "'" + s[hit].astype(str)
                out[col] = obj
            continue
        obj = s.astype(object)
        is_text = obj.map(type).eq(cast(Any, str)).to_numpy()
        if not is_text.any():
            continue
        text = obj[is_text].astype(str)
        hit = text.str.startswith(_FORMULA_START).to_numpy()
        if hit.any():
            positions = np.flatnonzero(is_text)[hit]
            obj.iloc[positions] = "'" + text[hit]
            out[col] = obj
    return out


def write_csv(
    data: pd.DataFrame,
    path: str | Path,
    *,
    sort_by: Sequence[str] | None = None,
    float_format: str = FLOAT_FORMAT,
    encoding: str = "utf-8",
) -> Path:
    """Write ``data`` as a deterministic, formula-safe CSV.

    Parameters
    ----------
    data : DataFrame
        The table; the index is not written.
    path : path-like
        Destination (parent folders are created).
    sort_by : sequence of str, optional
        Columns to sort by (stable sort; missing columns are ignored). Tables are
        sorted by identifiers, never by performance.
    float_format : str, default ``"%.10g"``
        printf-style format of floating-point cells.
    encoding : str, default ``"utf-8"``
        ``"utf-8-sig"`` adds a byte-order mark, which makes Excel show accented
        names correctly (used for the error reports sites open themselves).

    Returns
    -------
    Path
        The file written.
    """
    path = check_inside(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = data.reset_index(drop=True)
    if sort_by:
        keys = [c for c in sort_by if c in df.columns]
        if keys:
            df = df.sort_values(keys, kind="mergesort", na_position="last")
    df = neutralise_formulas(df)
    text = df.to_csv(
        index=False,
        lineterminator="\n",
        float_format=float_format,
        date_format="%Y-%m-%d",
    )
    with open(path, "w", encoding=encoding, newline="") as fh:
        fh.write(text)
    return path


def safe_name(name: str) -> str:
    """``name`` as a safe file or folder name inside the output folder.

    Characters other than letters, digits, ``.``, ``_`` and ``-`` become
    ``_``; leading and trailing dots are removed, so that an identifier such
    as ``".."`` cannot name the parent folder (``"_"`` when nothing is left).

    Examples
    --------
    >>> safe_name("T 08"), safe_name("A/B"), safe_name(".."), safe_name("S.1")
    ('T_08', 'A_B', '_', 'S.1')
    """
    out = "".join(c if c.isalnum() or c in "._-" else "_" for c in str(name))
    return out.strip(".") or "_"


def pack_name(site: str) -> str:
    """Return a collision-free folder name for the pack of site ``site``.

    A site id that is already a safe name of at most 64 characters is used as
    it is; any other (``A/B``, ``A B``, ``T01.``, a 300-character id) becomes
    its safe name, cut to 48 characters, plus ``-`` and the first 8 hex digits
    of the SHA-256 of the id, so that ids that look alike as file names
    (``A/B``, ``A_B``, ``A B``) get different folders.

    Examples
    --------
    >>> pack_name("T01"), pack_name("A_B")
    ('T01', 'A_B')
    >>> pack_name("A/B") != pack_name("A B") != "A_B"
    True
    >>> len(pack_name("x" * 300))
    57
    """
    s = str(site)
    safe = safe_name(s)
    if safe == s and len(s) <= 64 and safe.lower() not in _RESERVED:
        return s
    digest = hashlib.sha256(s.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{safe[:48]}-{digest}"


#: Names a folder cannot safely have on some systems (Windows devices).
_RESERVED = frozenset(
    {
        "con",
        "prn",
        "aux",
        "nul",
        *(f"com{i}" for i in range(10)),
        *(f"lpt{i}" for i in range(10)),
    }
)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        v = float(obj)
        return None if np.isnan(v) else v
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, Path):
        return obj.as_posix()
    if isinstance(obj, (set, frozenset, tuple)):
        return sorted(obj) if isinstance(obj, (set, frozenset)) else list(obj)
    return str(obj)


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as indented JSON with sorted keys and a final newline."""
    path = check_inside(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        obj, indent=2, sort_keys=True, default=_json_default, ensure_ascii=False
    )
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text + "\n")
    return path


def write_text(text: str, path: str | Path) -> Path:
    r"""Write UTF-8 text with ``"\n"`` line endings."""
    path = check_inside(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    return path


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> _ = p.write_bytes(b"abc")
    >>> sha256_file(p)[:12]
    'ba7816bf8f01'
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dependency_versions() -> dict[str, str | None]:
    """Installed versions of ccdata and its dependencies (None when absent)."""
    out: dict[str, str | None] = {}
    for name in ("ccdata", *_DEPENDENCIES):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    import platform

    out["python"] = platform.python_version()
    return out


_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|<>$])")


def md_escape(text: Any) -> str:
    r"""Escape text from the data for Markdown (and the HTML Markdown allows).

    Examples
    --------
    >>> print(md_escape("A_B [x](javascript:y) <b>"))
    A\_B \[x\](javascript:y) \<b\>
    """
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


def html_escape(text: Any) -> str:
    """Escape text for HTML (quotes included)."""
    return html.escape(str(text), quote=True)
