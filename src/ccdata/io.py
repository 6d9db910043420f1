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
import pandera.pandas as pa

from ccdata.errors import InputError, SubmissionReadError
from ccdata.schemas import SchemaLike, get_schema, identifier_columns, list_schemas
from ccdata.validation import ValidationResult, text_array, text_frame, validate

__all__ = ["read_site_list", "read_submission", "read_table"]

_EXCEL = {".xlsx", ".xlsm"}
_PARQUET = {".parquet", ".pq"}
_DELIMITERS = (",", ";", "\t", "|")

#: Limits on what a submission file may hold, checked while reading (so that
#: a small malicious or broken file cannot exhaust memory). The numbers are
#: far above any real submission: Excel itself holds 1,048,576 rows, 16,384
#: columns and 32,767 characters a cell.
MAX_ROWS = 5_000_000
MAX_COLUMNS = 2_000
MAX_CELL_CHARS = 32_767
MAX_UNCOMPRESSED_BYTES = 4 * 1024**3
MAX_SHARED_STRINGS_BYTES = 256 * 1024**2
#: Rows searched for the header line (title rows above it are skipped).
HEADER_SEARCH_ROWS = 20


def _fail(path: Path, reason: str) -> SubmissionReadError:
    return SubmissionReadError(f"Cannot read {path.name!r}: {reason}", path=path)


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")


def _utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when NUL bytes sit at every other position."""
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    n_even, n_odd = even.count(0), odd.count(0)
    if n_odd > 0.4 * len(odd) and n_even < 0.05 * len(even):
        return "utf-16-le"
    if n_even > 0.4 * len(even) and n_odd < 0.05 * len(odd):
        return "utf-16-be"
    return None


def _decode(path: Path, data: bytes) -> str:
    """Decode a text table: UTF-8, UTF-16 or Windows-1252.

    UTF-8 and UTF-16 with or without BOM; refuse mixed encodings and NUL bytes
    with the line.
    """
    encoding = None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding = _utf16_without_bom(data[:4096])
    if encoding:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise _fail(
                path,
                "the file looks like UTF-16 text but is not valid "
                f"UTF-16 (byte {exc.start}).",
            ) from None
        text = text.removeprefix("\ufeff")
    else:
        if data[:4096].count(0) > 0.1 * min(len(data), 4096):
            raise _fail(
                path,
                "it is not a text table (it looks like a binary file). "
                "Save it as CSV (comma separated) or .xlsx.",
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if _UTF8_MULTIBYTE.search(data):
                raise _fail(
                    path,
                    f"line {_line_of(data, exc.start)} is not UTF-8 text while other "
                    "lines are: the file mixes text encodings. Save it again as "
                    "'CSV UTF-8'.",
                ) from None
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError as exc2:
                raise _fail(
                    path,
                    f"line {_line_of(data, exc2.start)} is neither UTF-8 nor "
                    "Windows-1252 text. Save the file again as 'CSV UTF-8'.",
                ) from None
    nul = text.find("\x00")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise _fail(
            path,
            f"line {line} contains a NUL byte (a binary character, "
            "not text). Save the file again as CSV or .xlsx.",
        )
    return text


def _sample_records(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    """Return the first records of ``text`` with the line (1-based) each starts on."""
    head = text[: 256 * 1024]
    reader = csv.reader(io.StringIO(head), delimiter=delimiter)
    out = []
    line = 1
    try:
        for record in reader:
            out.append((line, record))
            line = reader.line_num + 1
            if len(out) >= HEADER_SEARCH_ROWS + 5:
                break
    except csv.Error:
        pass
    return out


def _delimiter(text: str) -> str:
    """Find the delimiter on which most of the first lines agree.

    Most often the same non-zero count; ties go to more fields, then to the order
    of _DELIMITERS.
    """
    lines = [
        ln
        for ln in text[: 64 * 1024].splitlines()[: HEADER_SEARCH_ROWS + 5]
        if ln.strip()
    ]
    best, best_score = ",", (0, 0)
    for d in _DELIMITERS:
        counts = [ln.count(d) for ln in lines if ln.count(d)]
        if not counts:
            continue
        modal = max(set(counts), key=lambda c: (counts.count(c), c))
        score = (counts.count(modal), modal)
        if score > best_score:
            best, best_score = d, score
    return best


def _header_line(records: list[tuple[int, list[str]]], columns: list[str]) -> int:
    """Find the line of the header among the first records.

    The first with the most expected column names, else the first with the most
    filled cells.
    """
    filled = [(line, [c.strip() for c in rec if c.strip()]) for line, rec in records]
    filled = [(line, cells) for line, cells in filled if cells][:HEADER_SEARCH_ROWS]
    if not filled:
        return 1
    if columns:
        wanted = {_normal(c) for c in columns}
        hits = [sum(_normal(c) in wanted for c in cells) for _, cells in filled]
        if max(hits) > 0:
            return filled[hits.index(max(hits))][0]
    widths = [len(cells) for _, cells in filled]
    return filled[widths.index(max(widths))][0]


def _read_csv_cells(path: Path, columns: list[str]) -> pd.DataFrame:
    data = path.read_bytes()
    text = _decode(path, data)
    if not text.strip():
        return pd.DataFrame()
    sep = _delimiter(text)
    header_line = _header_line(_sample_records(text, sep), columns)
    skip = header_line - 1
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            header=None,
            dtype=str,
            sep=sep,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL,
            engine="c",
            skiprows=skip,
        )
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if match:
            want, line, saw = match.groups()
            raise _fail(
                path,
                f"row {int(line) + skip} has {saw} cells but the header "
                f"has {want}. Check for an unquoted {sep!r} in a "
                "value.",
            ) from None
        raise _fail(path, "it is not a table of comma-separated values.") from None
    except (pd.errors.EmptyDataError, UnicodeError) as exc:
        raise _fail(path, f"it is not a readable table ({exc}).") from None
    _check_size(path, frame.shape[0], frame.shape[1])
    frame.index = pd.RangeIndex(skip + 1, skip + len(frame) + 1)  # spreadsheet rows
    return frame


def _check_size(path: Path, n_rows: int, n_cols: int) -> None:
    if n_rows > MAX_ROWS:
        raise _fail(
            path, f"it has more than {MAX_ROWS:,} rows; split it into smaller files."
        )
    if n_cols > MAX_COLUMNS:
        raise _fail(
            path,
            f"it has {n_cols:,} columns, more than the "
            f"{MAX_COLUMNS:,} a submission may have.",
        )


def _check_cells(path: Path, frame: pd.DataFrame) -> None:
    """Refuse a cell longer than Excel's own limit (it is not data but damage)."""
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        lengths = col.str.len().to_numpy(dtype="float64", na_value=0)
        if len(lengths) and lengths.max() > MAX_CELL_CHARS:
            i = int(lengths.argmax())
            raise _fail(
                path,
                f"the cell in row {frame.index[i]}, column {j + 1} "
                f"holds {int(lengths[i]):,} characters, more than the "
                f"{MAX_CELL_CHARS:,} a cell may hold.",
            )


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


def _inspect_zip(path: Path) -> list[str]:
    """Check an .xlsx container before opening it; return its member names."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _fail(path, f"it is not a readable .xlsx workbook ({exc}).") from None
    total = sum(m.file_size for m in members)
    if total > MAX_UNCOMPRESSED_BYTES:
        raise _fail(
            path,
            f"it unpacks to {total / 1024**3:,.1f} GB, more than the "
            f"{MAX_UNCOMPRESSED_BYTES / 1024**3:,.0f} GB allowed.",
        )
    for m in members:
        if m.filename.lower().endswith("sharedstrings.xml") and (
            m.file_size > MAX_SHARED_STRINGS_BYTES
        ):
            raise _fail(
                path,
                f"its text cells unpack to "
                f"{m.file_size / 1024**2:,.0f} MB, more than the "
                f"{MAX_SHARED_STRINGS_BYTES / 1024**2:,.0f} MB allowed.",
            )
    return [m.filename for m in members]


def _choose_sheet(path: Path, book, sheet: str | int | None):
    names = book.sheetnames
    visible = [
        ws
        for ws in book.worksheets
        if getattr(ws, "sheet_state", "visible") == "visible"
    ]
    listing = ", ".join(
        f"{ws.title!r}" + ("" if ws in visible else " (hidden)")
        for ws in book.worksheets
    )
    if sheet is None:
        active = book.active
        if active is not None and active in visible:
            return active
        if len(visible) == 1:
            return visible[0]
        raise _fail(
            path,
            f"it has several sheets ({listing}) and none is clearly "
            "the data: name one (sheet=... or --sheet NAME).",
        )
    if (
        isinstance(sheet, int)
        and not isinstance(sheet, bool)
        and (0 <= sheet < len(names))
    ):
        return book.worksheets[sheet]
    if isinstance(sheet, str) and sheet in names:
        return book[sheet]
    if isinstance(sheet, str) and sheet.isdigit() and int(sheet) < len(names):
        return book.worksheets[int(sheet)]
    raise _fail(path, f"it has no sheet {sheet!r}. Sheets: {listing}.")


def _sheet_rows(path: Path, ws) -> list[list]:
    """Stream a sheet's rows, ignoring its declared dimension, within the limits."""
    if hasattr(ws, "reset_dimensions"):
        ws.reset_dimensions()  # a forged <dimension> must not pad rows
    rows = []
    for i, r in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1):
        if i > MAX_ROWS:
            _check_size(path, i, 0)
        if len(r) > MAX_COLUMNS:
            _check_size(path, i, len(r))
        rows.append(list(r))
    return rows


def _read_excel_cells(path: Path, sheet: str | int | None) -> pd.DataFrame:
    members = _inspect_zip(path)
    try:
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise _fail(path, f"it is not a readable .xlsx workbook ({exc}).") from None
    except Exception as exc:  # openpyxl raises its own InvalidFileException
        raise _fail(path, f"it is not a readable .xlsx workbook ({exc}).") from None
    try:
        ws = _choose_sheet(path, book, sheet)
        title = ws.title
        values = _sheet_rows(path, ws)
    finally:
        book.close()
    if _has_formulas(path, members):
        _refuse_uncached_formulas(path, title, values)
    width = max((len(r) for r in values), default=0)
    rows = [[_cell_text(v) for v in r] + [""] * (width - len(r)) for r in values]
    frame = pd.DataFrame(rows, dtype="str") if rows else pd.DataFrame()
    frame.index = pd.RangeIndex(1, len(frame) + 1)
    return frame


def _has_formulas(path: Path, members: list[str]) -> bool:
    """Whether any worksheet holds a formula (an <f> element), read in chunks."""
    with zipfile.ZipFile(path) as archive:
        for name in members:
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            with archive.open(name) as member:
                tail = b""
                while chunk := member.read(1 << 20):
                    if b"<f>" in tail + chunk or b"<f " in tail + chunk:
                        return True
                    tail = chunk[-8:]
    return False


def _refuse_uncached_formulas(path: Path, title: str, values: list[list]) -> None:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    book = load_workbook(path, read_only=True, data_only=False)
    try:
        ws = book[title]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()
        for i, r in enumerate(ws.iter_rows(min_row=1, values_only=True)):
            cached = values[i] if i < len(values) else []
            for j, v in enumerate(r):
                if (
                    isinstance(v, str)
                    and v.startswith("=")
                    and (j >= len(cached) or cached[j] is None)
                ):
                    raise _fail(
                        path,
                        f"cell {get_column_letter(j + 1)}{i + 1} of sheet {title!r} "
                        "holds a formula whose result was never calculated (the "
                        "file was written by a program that does not compute "
                        "formulas). Open it in Excel and save it again.",
                    )
    finally:
        book.close()


def _normal(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def read_table(
    path: str | Path, *, sheet: str | int | None = None, columns: Iterable[str] = ()
) -> pd.DataFrame:
    r"""Read a .csv, .xlsx or .parquet file as text, indexed by spreadsheet row number.

    The header is found among the first rows: blank lines and title rows
    above it are skipped (the row with the most of the expected ``columns``,
    else the first with the most filled cells). Cells are stripped text; an
    empty cell is ``NA``. Fully empty rows are skipped, keeping the row
    numbers of the others. Header names are matched to ``columns`` ignoring
    case, spaces and hyphens ("Site ID" -> ``site_id``).

    Parameters
    ----------
    path : str or Path
        A .csv (UTF-8, UTF-8 with BOM, UTF-16 with or without BOM, or
        Windows-1252; comma, semicolon, tab or bar separated), .xlsx or
        .parquet file (Parquet needs the optional pyarrow package:
        ``pip install 'ccdata[parquet]'``).
    sheet : str or int, optional
        Sheet name or 0-based position for .xlsx; by default the active
        sheet if visible, else the only visible one.
    columns : iterable of str
        Expected column names used to find and normalise the header.

    Returns
    -------
    pandas.DataFrame
        All columns of dtype ``str``; index named ``"row"``. An empty file,
        or one with a header only, gives a frame without rows.

    Raises
    ------
    SubmissionReadError
        If the file is missing or not a table; cannot be decoded (mixed
        encodings and NUL bytes are named with their line); exceeds the
        limits :data:`MAX_ROWS`, :data:`MAX_COLUMNS`, :data:`MAX_CELL_CHARS`,
        :data:`MAX_UNCOMPRESSED_BYTES` or :data:`MAX_SHARED_STRINGS_BYTES`;
        has several visible sheets and none active; or holds a formula
        without a calculated value. The one-line message names the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "t.csv").write_text("Audit export\n\nSite ID;N\nS01;3\n")
    >>> table = read_table(folder / "t.csv", columns=["site_id"])
    >>> table.to_dict("index")
    {4: {'site_id': 'S01', 'N': '3'}}
    """
    path = Path(path)
    if not path.exists():
        raise _fail(path, "the file does not exist.")
    if not path.is_file():
        raise _fail(path, "it is a folder, not a file.")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise _fail(
            path, "the old Excel .xls format is not supported. Save it as .xlsx or CSV."
        )
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if suffix in _PARQUET or magic == b"PAR1":
        return _read_parquet_table(path, columns)
    columns = list(columns)
    excel = suffix in _EXCEL or magic == b"PK\x03\x04"
    cells = _read_excel_cells(path, sheet) if excel else _read_csv_cells(path, columns)
    if not len(cells) or not cells.shape[1]:
        return _empty_table()
    cells = cells.apply(lambda c: c.str.strip())
    _check_cells(path, cells)
    filled = (cells != "").to_numpy()
    nonempty = filled.any(axis=1)
    if not nonempty.any():
        return _empty_table()
    header_at = int(nonempty.argmax())
    if excel:  # title rows above the header (CSV: skipped while reading)
        first = np.flatnonzero(nonempty)[:HEADER_SEARCH_ROWS]
        records = [(int(i), cells.iloc[i].tolist()) for i in first]
        header_at = _header_line(records, columns)
    header = [str(h) for h in cells.iloc[header_at]]
    body = cells.iloc[header_at + 1 :][nonempty[header_at + 1 :]]
    keep = [i for i, h in enumerate(header) if h or filled[header_at + 1 :, i].any()]
    header = [header[i] or f"column_{i + 1}" for i in keep]
    body = body.iloc[:, keep]
    lookup = {_normal(c): c for c in columns}
    header = [lookup.get(_normal(h), h) for h in header]
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        if h in seen:
            raise _fail(
                path,
                f"the column {h!r} appears twice in the header "
                f"(columns {seen[h] + 1} and {i + 1}).",
            )
        seen[h] = i
    body.columns = header
    body = text_frame(body.mask(body == ""))
    body.index.name = "row"
    return body


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(index=pd.RangeIndex(0, name="row"))


def _as_text(values: pd.Series) -> pd.Series:
    """Render a typed Parquet column as the text a spreadsheet export would hold."""
    missing = values.isna().to_numpy()
    text: pd.Series
    if pd.api.types.is_bool_dtype(values):
        text = values.map({True: "1", False: "0"})
    elif pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values)
        midnight = (stamps.dropna() == stamps.dropna().dt.normalize()).all()
        text = stamps.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S")
    elif pd.api.types.is_float_dtype(values):
        num = values.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(num) & (num == np.round(num))
        text = pd.Series(
            np.where(whole, np.char.mod("%d", np.nan_to_num(num)), values.astype(str)),
            index=values.index,
        )
    else:
        text = values.astype(str).str.strip()
    return pd.Series(text_array(text.mask(missing)), index=text.index)


def _read_parquet_table(path: Path, columns: Iterable[str]) -> pd.DataFrame:
    """Read a Parquet file as text (as :func:`read_table` does for CSV).

    Parquet has no spreadsheet rows: ``row`` numbers the records as they would
    appear once exported with a header row (the first record is row 2).
    """
    try:
        frame = pd.read_parquet(path)
    except ImportError as exc:
        raise _fail(
            path,
            "reading Parquet files needs the pyarrow package: "
            "pip install 'ccdata[parquet]'.",
        ) from exc
    except (OSError, ValueError) as exc:
        raise _fail(path, f"it cannot be read as a Parquet table ({exc}).") from exc
    if frame.shape[1] == 0 or len(frame) == 0:
        raise _fail(path, "the file is empty.")
    lookup = {_normal(c): c for c in columns}
    header = [lookup.get(_normal(str(h)), str(h)) for h in frame.columns]
    if len(set(header)) != len(header):
        raise _fail(
            path,
            f"two columns have the same name after normalising the header: {header!r}.",
        )
    body = pd.DataFrame(
        {
            h: _as_text(frame[c]).to_numpy()
            for h, c in zip(header, frame.columns, strict=True)
        }
    )
    body.index = pd.RangeIndex(2, len(body) + 2, name="row")
    return text_frame(body)


#: The ``check`` of the problem reported for a file without data rows.
NO_DATA_ROWS = "no_data_rows"


def _no_data_rows(path: Path, schema_obj, table: pd.DataFrame) -> ValidationResult:
    """Return a result for a file without data: one problem, so it is never 'ok'."""
    empty = table.iloc[:0]
    message = (
        "the file has a header but no data rows"
        if table.shape[1]
        else "the file is empty: no header and no data rows"
    )
    errors = pd.DataFrame(
        {
            "site_id": text_array([None]),
            "row": pd.array([pd.NA], dtype="Int64"),
            "column": text_array(["(file)"]),
            "value": text_array([""]),
            "check": text_array([NO_DATA_ROWS]),
            "message": text_array([message]),
        }
    )
    return ValidationResult(
        valid=empty.copy(),
        rejected=empty.copy(),
        errors=errors,
        schema=str(schema_obj.name),
        source=str(path),
        identifier_columns=tuple(identifier_columns(schema_obj)),
    )


def read_submission(
    path: str | Path,
    schema: SchemaLike | None = None,
    *,
    sites: list[str] | None = None,
    sheet: str | int | None = None,
) -> ValidationResult:
    r"""Read a site's .csv, .xlsx or .parquet submission and validate it.

    Parameters
    ----------
    path : str or Path
        The file. CSV may be UTF-8 (with or without BOM), UTF-16 or
        Windows-1252, separated by commas, semicolons, tabs or bars (see
        :func:`read_table`).
    schema : str, pandera.DataFrameSchema or DataFrameModel class, optional
        The schema; by default the registered schema named like the file
        (``aaa_procedures.csv`` -> ``"aaa_procedures"``).
    sites : list of str, optional
        The registered site list.
    sheet : str or int, optional
        The sheet of an .xlsx workbook (default: the active sheet if visible,
        else the only visible one).

    Returns
    -------
    ValidationResult
        As :func:`ccdata.validate`, with ``source`` set and frames indexed by
        the file's row numbers (index name ``"row"``, header = row 1). A file
        without data rows (0 bytes, or a header only) gives one problem with
        check ``"no_data_rows"``, so it is never reported as clean.

    Raises
    ------
    SubmissionReadError
        If the file cannot be read as a table, or lacks required columns
        (all are named). The one-line message names the file.
    SchemaDefinitionError
        If the schema is unknown.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "oe.csv").write_text(
    ...     "site_id,period,observed,expected\nS01,2024,3,2.5\nS02,2024,x,4\n")
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
    if table.shape[1] == 0:
        return _no_data_rows(path, schema_obj, table)
    missing = [
        str(name)
        for name, col in schema_obj.columns.items()
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
    if len(table) == 0:
        return _no_data_rows(path, schema_obj, table)
    try:
        result = validate(table, schema_obj)
    except InputError as exc:
        raise _fail(path, str(exc).removeprefix("validate: ")) from None
    return dataclasses.replace(result, source=str(path))


_SITE_LIST = pa.DataFrameSchema(
    {
        "site_id": pa.Column("str", nullable=False, unique=False),
        "community": pa.Column("str", nullable=True, required=False),
    },
    name="site_list",
)


def read_site_list(path: str | Path, *, community: str | None = None) -> list[str]:
    r"""Read a registered site list (a table with a ``site_id`` column).

    The file is read like a submission (any encoding, delimiter, header
    spelling such as ``Site ID`` or sheet that :func:`read_table` accepts)
    and validated: every row needs a site id.

    Parameters
    ----------
    path : str or Path
        A .csv or .xlsx file such as ``sample_data/sites.csv``.
    community : str, optional
        Keep only rows whose ``community`` column equals this value.

    Returns
    -------
    list of str
        Sorted, distinct site identifiers (surrounding spaces stripped).

    Raises
    ------
    SubmissionReadError
        If the file cannot be read, has no ``site_id`` column, has no sites,
        or a row without a site id (the message names the file and rows).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "sites.csv").write_bytes(
    ...     "Site ID;Community\nS02;aaa\n S01 ;aaa\nP01;ckd\n".encode("cp1252"))
    >>> read_site_list(folder / "sites.csv", community="aaa")
    ['S01', 'S02']
    """
    path = Path(path)
    table = read_table(path, columns=["site_id", "community"])
    if table.shape[1] and "site_id" not in table.columns:
        raise _fail(
            path,
            "a site list needs a 'site_id' column. Columns found: "
            f"{', '.join(map(repr, table.columns))}.",
        )
    if len(table) == 0:
        raise _fail(path, "the site list has no sites (no data rows).")
    result = validate(table, _SITE_LIST)
    if not result.ok:
        shown = "; ".join(
            f"row {r.row}: {r.message}" for r in result.errors.head(3).itertuples()
        )
        more = len(result.errors) - 3
        raise _fail(
            path,
            f"the site list has problems: {shown}"
            + (f" (and {more} more)." if more > 0 else "."),
        )
    table = result.valid
    if community is not None:
        if "community" not in table.columns:
            raise _fail(
                path,
                f"it has no 'community' column to select community {community!r} from.",
            )
        table = table[table["community"] == community]
    return sorted(set(table["site_id"].dropna()))
