"""Writers for the batch job: atomic output folder, deterministic CSV, manifest.

Everything the batch job writes goes through this module, so the guarantees
of ``ccdata run`` live in one place:

* outputs are written into a temporary folder *beside* the output folder and
  swapped into place with :func:`os.replace` only when the whole run succeeded
  (:func:`atomic_output_dir`); a failed or interrupted run leaves the previous
  outputs untouched and no debris;
* CSV files are byte-identical for the same inputs (:func:`write_csv`): fixed
  float format, ``"\\n"`` line endings, UTF-8, rows in a fixed order;
* CSV cells a spreadsheet would run as a formula are neutralised
  (:func:`neutralise_formulas`).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ccdata.errors import ConfigError

__all__ = [
    "FLOAT_FORMAT",
    "MANIFEST_NAME",
    "atomic_output_dir",
    "check_output_dir",
    "dependency_versions",
    "neutralise_formulas",
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
_DEPENDENCIES = ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "pandera",
                 "openpyxl")


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
    out = data.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            continue
        if isinstance(s.dtype, pd.DatetimeTZDtype) or (
                pd.api.types.is_datetime64_any_dtype(s)):
            continue
        obj = s.astype(object)
        is_text = obj.map(type).eq(str).to_numpy()
        if not is_text.any():
            continue
        text = obj[is_text].astype(str)
        hit = text.str.startswith(_FORMULA_START).to_numpy()
        if hit.any():
            rows = np.flatnonzero(is_text)[hit]
            obj.iloc[rows] = "'" + text[hit]
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = data.reset_index(drop=True)
    if sort_by:
        keys = [c for c in sort_by if c in df.columns]
        if keys:
            df = df.sort_values(keys, kind="mergesort", na_position="last")
    df = neutralise_formulas(df)
    text = df.to_csv(index=False, lineterminator="\n", float_format=float_format,
                     date_format="%Y-%m-%d")
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
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, indent=2, sort_keys=True, default=_json_default,
                      ensure_ascii=False)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(text + "\n")
    return path


def write_text(text: str, path: str | Path) -> Path:
    """Write UTF-8 text with ``"\\n"`` line endings."""
    path = Path(path)
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


def check_output_dir(out: Path) -> None:
    """Raise ConfigError unless ``out`` is new, empty or a previous ccdata output."""
    if not out.exists():
        return
    if not out.is_dir():
        raise ConfigError(
            f"Output folder {str(out)!r} exists and is not a folder; choose another "
            "path with --out or [run] output."
        )
    if any(out.iterdir()) and not (out / MANIFEST_NAME).is_file():
        raise ConfigError(
            f"Output folder {str(out)!r} exists, is not empty and holds no "
            f"{MANIFEST_NAME}: it was not written by ccdata run, so it is left "
            "alone. Choose an empty or new folder with --out or [run] output."
        )


@contextlib.contextmanager
def atomic_output_dir(out_dir: str | Path) -> Iterator[Path]:
    """Write a folder atomically: yield a temporary folder, swap it in on success.

    The temporary folder is created beside ``out_dir`` (same file system) as
    ``.<name>.tmp-XXXX``. When the ``with`` block finishes without an
    exception, the previous ``out_dir`` (if any) is renamed aside, the new
    folder renamed into place with :func:`os.replace`, and the old one
    removed. If the block raises (or is interrupted), the temporary folder is
    removed and ``out_dir`` is untouched.

    Parameters
    ----------
    out_dir : path-like
        The output folder. An existing folder is replaced only if it is empty
        or holds a ``manifest.json`` (a previous ccdata run); otherwise
        :class:`~ccdata.errors.ConfigError` is raised before anything is written.

    Yields
    ------
    Path
        The temporary folder to write into.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output_dir(root / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("hi")
    >>> sorted(p.name for p in root.iterdir()), (root / "out" / "a.txt").read_text()
    (['out'], 'hi')
    """
    out = Path(out_dir).absolute()
    check_output_dir(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o755 & ~_umask())
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.rmdir(old)
            os.replace(out, old)
            try:
                os.replace(tmp, out)
            except BaseException:
                os.replace(old, out)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def html_escape(text: Any) -> str:
    """Escape text for HTML (quotes included)."""
    return html.escape(str(text), quote=True)
