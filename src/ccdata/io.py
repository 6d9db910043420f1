"""Read site submissions (.csv, .xlsx) without losing a value, then validate.

Every cell is read as text first, so nothing is converted (or lost) before
:func:`ccdata.validate` looks at it. The row numbers of the file are kept as
the index (named ``"row"``, header = row 1), so problems are reported at the
row the site sees in its own spreadsheet.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ccdata.errors import SubmissionReadError
from ccdata.schemas import SchemaLike, get_schema, list_schemas
from ccdata.validation import ValidationResult, validate

__all__ = ["read_site_list", "read_submission", "read_table"]

_EXCEL = {".xlsx", ".xlsm"}
_PARQUET = {".parquet", ".pq"}
_DELIMITERS = (",", ";", "\t", "|")


def _fail(path: Path, reason: str) -> SubmissionReadError:
    return SubmissionReadError(f"Cannot read {path.name!r}: {reason}", path=path)


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise _fail(path, "the file says it is UTF-16 but is not.") from exc
    if b"\x00" in data[:4096]:
        raise _fail(path, "it is not a text table (it looks like a binary file). "
                          "Save it as CSV (comma separated) or .xlsx.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _fail(path, "its text encoding is neither UTF-8 nor Windows-1252. "
                      "Save it again as 'CSV UTF-8'.")


def _delimiter(text: str) -> str:
    first = text.split("\n", 1)[0]
    counts = {d: first.count(d) for d in _DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _read_csv_cells(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    text = _decode(path, data)
    if not text.strip():
        raise _fail(path, "the file is empty.")
    try:
        frame = pd.read_csv(
            io.StringIO(text), header=None, dtype=str, sep=_delimiter(text),
            keep_default_na=False, na_filter=False, skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL, engine="c",
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            want, line, saw = match.groups()
            raise _fail(path, f"row {line} has {saw} cells but the header has {want}. "
                              "Check for an unquoted comma in a value.") from None
        raise _fail(path, "it is not a table of comma-separated values.") from None
    except (pd.errors.EmptyDataError, UnicodeError) as exc:
        raise _fail(path, f"it is not a readable table ({exc}).") from None
    frame.index = pd.RangeIndex(1, len(frame) + 1)  # spreadsheet row numbers
    return frame


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_excel_cells(path: Path, sheet: str | int | None) -> pd.DataFrame:
    try:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _fail(path, f"it is not a readable .xlsx workbook ({exc}).") from None
    except Exception as exc:  # openpyxl raises its own InvalidFileException
        raise _fail(path, f"it is not a readable .xlsx workbook ({exc}).") from None
    try:
        names = book.sheetnames
        if sheet is None:
            ws = book.worksheets[0]
        elif isinstance(sheet, int) and 0 <= sheet < len(names):
            ws = book.worksheets[sheet]
        elif isinstance(sheet, str) and sheet in names:
            ws = book[sheet]
        else:
            raise _fail(path, f"it has no sheet {sheet!r}. Sheets: "
                              f"{', '.join(map(repr, names))}.")
        rows = [
            [_cell_text(v) for v in r]
            for r in ws.iter_rows(min_row=1, values_only=True)
        ]
    finally:
        book.close()
    width = max((len(r) for r in rows), default=0)
    frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype="str")
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _normal(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def read_table(path: str | Path, *, sheet: str | int | None = None,
               columns: Iterable[str] = ()) -> pd.DataFrame:
    """Read a .csv, .xlsx or .parquet file as text, indexed by spreadsheet row number.

    The header is the first non-empty row. Cells are stripped text; an empty
    cell is ``NA``. Fully empty rows are skipped. Header names are matched
    to ``columns`` ignoring case, spaces and hyphens ("Site ID" ->
    ``site_id``).

    Parameters
    ----------
    path : str or Path
        A .csv (UTF-8, UTF-8 with BOM, Windows-1252 or UTF-16; comma,
        semicolon or tab separated), .xlsx or .parquet file (Parquet needs
        the optional pyarrow package: ``pip install 'ccdata[parquet]'``).
    sheet : str or int, optional
        Sheet name or 0-based position for .xlsx; default the first sheet.
    columns : iterable of str
        Expected column names used to normalise the header.

    Returns
    -------
    pandas.DataFrame
        All columns of dtype ``str``; index named ``"row"``.

    Raises
    ------
    SubmissionReadError
        If the file is missing, empty, not a table, or cannot be decoded.
    """
    path = Path(path)
    if not path.exists():
        raise _fail(path, "the file does not exist.")
    if not path.is_file():
        raise _fail(path, "it is a folder, not a file.")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise _fail(path, "the old Excel .xls format is not supported. "
                          "Save it as .xlsx or CSV.")
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if suffix in _PARQUET or magic == b"PAR1":
        return _read_parquet_table(path, columns)
    if suffix in _EXCEL or magic == b"PK\x03\x04":
        cells = _read_excel_cells(path, sheet)
    else:
        cells = _read_csv_cells(path)
    cells = cells.apply(lambda c: c.str.strip()) if len(cells) else cells
    filled = (cells != "").to_numpy()
    nonempty = filled.any(axis=1)
    if not nonempty.any():
        raise _fail(path, "the file is empty.")
    header_at = int(nonempty.argmax())
    header = [str(h) for h in cells.iloc[header_at]]
    body = cells.iloc[header_at + 1:][nonempty[header_at + 1:]]
    keep = [i for i, h in enumerate(header) if h or filled[header_at + 1:, i].any()]
    header = [header[i] or f"column_{i + 1}" for i in keep]
    body = body.iloc[:, keep]
    lookup = {_normal(c): c for c in columns}
    header = [lookup.get(_normal(h), h) for h in header]
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        if h in seen:
            raise _fail(path, f"the column {h!r} appears twice in the header "
                              f"(columns {seen[h] + 1} and {i + 1}).")
        seen[h] = i
    body.columns = header
    body = body.mask(body == "").astype("str")
    body.index.name = "row"
    return body


def _as_text(values: pd.Series) -> pd.Series:
    """A typed Parquet column as the text a spreadsheet export would hold."""
    missing = values.isna().to_numpy()
    if pd.api.types.is_bool_dtype(values):
        text = values.map({True: "1", False: "0"})
    elif pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values)
        midnight = (stamps.dropna() == stamps.dropna().dt.normalize()).all()
        text = stamps.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
    elif pd.api.types.is_float_dtype(values):
        num = values.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(num) & (num == np.round(num))
        text = pd.Series(np.where(whole, np.char.mod("%d", np.nan_to_num(num)),
                                  values.astype(str)), index=values.index)
    else:
        text = values.astype(str).str.strip()
    return text.mask(missing).astype("str")


def _read_parquet_table(path: Path, columns: Iterable[str]) -> pd.DataFrame:
    """Read a Parquet file as text (as :func:`read_table` does for CSV).

    Parquet has no spreadsheet rows: ``row`` numbers the records as they would
    appear once exported with a header row (the first record is row 2).
    """
    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise _fail(path, "reading Parquet files needs the pyarrow package: "
                          "pip install 'ccdata[parquet]'.") from exc
    except (OSError, ValueError) as exc:
        raise _fail(path, f"it cannot be read as a Parquet table ({exc}).") from exc
    if frame.shape[1] == 0 or len(frame) == 0:
        raise _fail(path, "the file is empty.")
    lookup = {_normal(c): c for c in columns}
    header = [lookup.get(_normal(str(h)), str(h)) for h in frame.columns]
    if len(set(header)) != len(header):
        raise _fail(path, f"two columns have the same name after normalising the "
                          f"header: {header!r}.")
    body = pd.DataFrame({h: _as_text(frame[c]).to_numpy()
                         for h, c in zip(header, frame.columns, strict=True)})
    body.index = pd.RangeIndex(2, len(body) + 2, name="row")
    return body.astype("str")


def read_submission(
    path: str | Path,
    schema: SchemaLike | None = None,
    *,
    sites: list[str] | None = None,
    sheet: str | int | None = None,
) -> ValidationResult:
    """Read a site's .csv, .xlsx or .parquet submission and validate it.

    Parameters
    ----------
    path : str or Path
        The file. CSV may be UTF-8 (with or without BOM), Windows-1252 or
        UTF-16, separated by commas, semicolons or tabs.
    schema : str, pandera.DataFrameSchema or DataFrameModel class, optional
        The schema; by default the registered schema named like the file
        (``aaa_procedures.csv`` -> ``"aaa_procedures"``).
    sites : list of str, optional
        The registered site list.
    sheet : str or int, optional
        The sheet of an .xlsx workbook (default: the first).

    Returns
    -------
    ValidationResult
        As :func:`ccdata.validate`, with ``source`` set and frames indexed by
        the file's row numbers (index name ``"row"``, header = row 1).

    Raises
    ------
    SubmissionReadError
        If the file cannot be read as a table, or lacks required columns
        (all are named). The message names the file.
    SchemaDefinitionError
        If the schema is unknown.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "oe.csv").write_text(
    ...     "site_id,period,observed,expected\\nS01,2024,3,2.5\\nS02,2024,x,4\\n")
    >>> result = read_submission(folder / "oe.csv", "observed_expected")
    >>> result.errors[["row", "column", "message"]].values.tolist()
    [[3, 'observed', "observed 'x' is not a whole number"]]
    """
    path = Path(path)
    if schema is None:
        if path.stem not in list_schemas():
            raise SubmissionReadError(
                f"Cannot tell which schema to use for {path.name!r}: name one "
                f"(--schema NAME or schema=...; one of {', '.join(list_schemas())}).",
                path=path,
            )
        schema = path.stem
    schema_obj = get_schema(schema, sites=sites)
    table = read_table(path, sheet=sheet, columns=list(schema_obj.columns))
    missing = [
        str(name) for name, col in schema_obj.columns.items()
        if col.required
        and not getattr(col, "regex", False)
        and name not in table.columns
    ]
    if missing:
        raise _fail(
            path,
            f"required column(s) {', '.join(map(repr, missing))} of schema "
            f"{schema_obj.name!r} are missing. Columns found: "
            f"{', '.join(map(repr, table.columns))}.",
        )
    result = validate(table, schema_obj)
    return dataclasses.replace(result, source=str(path))


def read_site_list(path: str | Path, *, community: str | None = None) -> list[str]:
    """Read a registered site list (a table with a ``site_id`` column).

    Parameters
    ----------
    path : str or Path
        A .csv or .xlsx file such as ``sample_data/sites.csv``.
    community : str, optional
        Keep only rows whose ``community`` column equals this value.

    Returns
    -------
    list of str
        Sorted, distinct site identifiers.

    Raises
    ------
    SubmissionReadError
        If the file cannot be read or has no ``site_id`` column.
    """
    path = Path(path)
    table = read_table(path, columns=["site_id", "community"])
    if "site_id" not in table.columns:
        raise _fail(path, "a site list needs a 'site_id' column. Columns found: "
                          f"{', '.join(map(repr, table.columns))}.")
    if community is not None:
        if "community" not in table.columns:
            raise _fail(path, "it has no 'community' column to select "
                              f"community {community!r} from.")
        table = table[table["community"] == community]
    return sorted(set(table["site_id"].dropna()))
