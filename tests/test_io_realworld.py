"""Files as a site's data clerk makes them (issue #13): each is read, or
refused in one line naming the file, never a traceback or a silent loss."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

import ccdata.io as cio
from ccdata.errors import SubmissionReadError
from ccdata.io import read_site_list, read_submission, read_table

HEADER = "site_id,period,observed,expected"


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _refused(path, match, **kwargs):
    with pytest.raises(SubmissionReadError, match=match) as info:
        read_submission(path, "observed_expected", **kwargs)
    message = str(info.value)
    assert path.name in message and "\n" not in message
    return message


# -- no data rows ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "the file is empty: no header and no data rows"),
        (b"\n \n", "the file is empty: no header and no data rows"),
        ((HEADER + "\n").encode(), "the file has a header but no data rows"),
        ((HEADER + "\n\n,,,\n").encode(), "the file has a header but no data rows"),
    ],
)
def test_files_without_data_rows_are_a_problem_not_clean(tmp_path, content, words):
    result = read_submission(_write(tmp_path / "oe.csv", content), "observed_expected")
    assert not result.ok and result.n_rows == 0
    assert result.errors[["column", "check", "message"]].values.tolist() == [
        ["(file)", "no_data_rows", words]
    ]


# -- header position ----------------------------------------------------------


def test_blank_line_and_title_row_above_the_header(tmp_path):
    text = (
        "\nAAA audit export, March 2024\n\n"
        + HEADER
        + "\nS01,2024,3,2.5\nS02,2024,-1,2\n"
    )
    result = read_submission(
        _write(tmp_path / "oe.csv", text.encode()), "observed_expected"
    )
    assert result.n_rows == 2
    assert result.errors[["row", "column"]].values.tolist() == [[6, "observed"]]


def test_title_row_above_the_header_in_a_workbook(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(["Submission for 2024"])
    ws.append([])
    ws.append(HEADER.split(","))
    ws.append(["S01", "2024", 3, 2.5])
    ws.append(["S02", "2024", -1, 2])
    book.save(tmp_path / "oe.xlsx")
    result = read_submission(tmp_path / "oe.xlsx", "observed_expected")
    assert result.errors[["row", "column"]].values.tolist() == [[5, "observed"]]


# -- encodings ----------------------------------------------------------------


def test_mixed_utf8_and_latin1_is_refused_with_the_line(tmp_path):
    data = (HEADER + ",note\nS01,2024,3,2.5,café\n").encode(
        "utf-8"
    ) + "S02,2024,3,2.5,café\n".encode("latin-1")
    assert "line 3" in _refused(_write(tmp_path / "oe.csv", data), "mixes")


@pytest.mark.parametrize(
    "encoding", ["utf-16-le", "utf-16-be", "utf-16", "cp1252", "utf-8-sig"]
)
def test_encodings_are_read(tmp_path, encoding):
    text = HEADER + ",note\nS01,2024,3,2.5,Bangor – café\n"
    result = read_submission(
        _write(tmp_path / "oe.csv", text.encode(encoding)), "observed_expected"
    )
    assert result.ok and result.valid["note"].tolist() == ["Bangor – café"]


@pytest.mark.parametrize("where", [10, 6000])
def test_nul_bytes_are_refused_wherever_they_are(tmp_path, where):
    rows = "".join(f"S{i:03d},2024,3,2.5\n" for i in range(400))
    data = bytearray((HEADER + "\n" + rows).encode())
    data[len(HEADER) + 1 + where] = 0
    line = data[: len(HEADER) + 1 + where].count(b"\n") + 1
    assert f"line {line} contains a NUL byte" in _refused(
        _write(tmp_path / "oe.csv", bytes(data)), "NUL"
    )


# -- workbooks ----------------------------------------------------------------


def _book(path, *, hidden_first=True, active=1, extra_visible=False):
    """A workbook with a first sheet 'old' and a sheet 'data' (active: 1)."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    first.title = "old"
    first.append(HEADER.split(","))
    first.append(["X01", "2020", 1, 1])
    if hidden_first:
        first.sheet_state = "hidden"
    data = book.create_sheet("data")
    data.append(HEADER.split(","))
    data.append(["S01", "2024", 3, 2.5])
    if extra_visible:
        book.create_sheet("notes").append(["nothing"])
    book.save(path)
    # openpyxl moves the active tab off a hidden sheet; Excel files can have it
    _patch_xml(
        path, "xl/workbook.xml", b'activeTab="1"', f'activeTab="{active}"'.encode()
    )
    return path


def test_hidden_first_sheet_is_not_read(tmp_path):
    result = read_submission(_book(tmp_path / "oe.xlsx"), "observed_expected")
    assert result.valid["site_id"].tolist() == ["S01"]


def test_active_hidden_sheet_and_several_visible_is_refused(tmp_path):
    path = _book(tmp_path / "oe.xlsx", hidden_first=True, active=0, extra_visible=True)
    message = _refused(path, "several sheets")
    assert "'old' (hidden)" in message and "'data'" in message
    assert read_submission(path, "observed_expected", sheet="data").ok


def test_only_visible_sheet_is_read_when_the_active_one_is_hidden(tmp_path):
    path = _book(tmp_path / "oe.xlsx", hidden_first=True, active=0)
    assert read_submission(path, "observed_expected").valid["site_id"].tolist() == [
        "S01"
    ]


def test_formula_without_cached_value_is_refused(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.append(HEADER.split(","))
    ws.append(["S01", "2024", "=1+2", 2.5])
    book.save(tmp_path / "oe.xlsx")  # openpyxl stores no calculated value
    assert "cell C2" in _refused(tmp_path / "oe.xlsx", "formula")


def _patch_xml(path, member, old: bytes, new: bytes):
    with zipfile.ZipFile(path) as archive:
        items = {i.filename: archive.read(i.filename) for i in archive.infolist()}
    assert old in items[member]
    items[member] = items[member].replace(old, new)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in items.items():
            archive.writestr(name, data)


def test_a_forged_dimension_does_not_exhaust_memory(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER.split(","))
    book.active.append(["S01", "2024", 3, 2.5])
    path = tmp_path / "oe.xlsx"
    book.save(path)
    _patch_xml(
        path,
        "xl/worksheets/sheet1.xml",
        b'<dimension ref="A1:D2" />',
        b'<dimension ref="A1:XFD1048576" />',
    )
    assert path.stat().st_size < 10_000
    result = read_submission(path, "observed_expected")
    assert result.ok and result.n_rows == 1


def test_a_huge_cell_is_refused(tmp_path, monkeypatch):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER.split(","))
    book.active.append(["S" * 100, "2024", 3, 2.5])
    book.save(tmp_path / "oe.xlsx")  # openpyxl itself cuts cells at 32,767
    _patch_xml(
        tmp_path / "oe.xlsx", "xl/worksheets/sheet1.xml", b"S" * 100, b"S" * 40_000
    )
    assert "40,000 characters" in _refused(tmp_path / "oe.xlsx", "characters")
    csv = _write(tmp_path / "oe.csv", f"{HEADER}\n{'S' * 40_000},2024,3,2.5\n".encode())
    assert "row 2, column 1" in _refused(csv, "characters")


def test_zip_limits_are_checked_before_reading(tmp_path, monkeypatch):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER.split(","))
    book.active.append(["S01", "2024", 3, 2.5])
    book.save(tmp_path / "oe.xlsx")
    monkeypatch.setattr(cio, "MAX_UNCOMPRESSED_BYTES", 100)
    _refused(tmp_path / "oe.xlsx", "unpacks to")
    monkeypatch.setattr(cio, "MAX_UNCOMPRESSED_BYTES", 10**9)
    with zipfile.ZipFile(tmp_path / "oe.xlsx", "a") as archive:  # Excel's layout
        archive.writestr(
            "xl/sharedStrings.xml", "<sst>" + "<si><t>x</t></si>" * 10 + "</sst>"
        )
    monkeypatch.setattr(cio, "MAX_SHARED_STRINGS_BYTES", 100)
    _refused(tmp_path / "oe.xlsx", "text cells unpack")


def test_row_and_column_limits(tmp_path, monkeypatch):
    text = HEADER + "\n" + "S01,2024,3,2.5\n" * 5
    path = _write(tmp_path / "oe.csv", text.encode())
    monkeypatch.setattr(cio, "MAX_ROWS", 3)
    _refused(path, "more than 3 rows")
    monkeypatch.setattr(cio, "MAX_ROWS", 100)
    monkeypatch.setattr(cio, "MAX_COLUMNS", 2)
    _refused(path, "4 columns")


# -- site lists ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8-sig"])
def test_site_list_in_any_encoding_delimiter_and_header_spelling(tmp_path, encoding):
    text = (
        "Site ID;Community;Name\nS02;aaa;Ysbyty – Bangor\n S01 ;aaa;Café\nP01;ckd;x\n"
    )
    path = _write(tmp_path / "sites.csv", text.encode(encoding))
    assert read_site_list(path) == ["P01", "S01", "S02"]
    assert read_site_list(path, community="aaa") == ["S01", "S02"]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"site_id,community\nS01,aaa\n,aaa\n", "row 3: site_id is empty but required"),
        (b"site_id,community\n", "no sites"),
        (b"", "no sites"),
        (b"name\nS01\n", "needs a 'site_id' column"),
    ],
)
def test_bad_site_lists_give_one_clear_error(tmp_path, content, match):
    path = _write(tmp_path / "sites.csv", content)
    with pytest.raises(SubmissionReadError, match=match) as info:
        read_site_list(path)
    assert "sites.csv" in str(info.value)


def test_read_table_finds_header_by_expected_columns(tmp_path):
    text = "Exported by System X, 2024\nsite_id;period\nS01;2024\n"
    table = read_table(_write(tmp_path / "t.csv", text.encode()), columns=["site_id"])
    assert list(table.columns) == ["site_id", "period"]
    assert table.index.tolist() == [3]
    assert isinstance(table, pd.DataFrame)
