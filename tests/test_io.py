"""ccdata.read_submission: files read without losing a value, or one clear error."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from ccdata.errors import SubmissionReadError
from ccdata.io import read_site_list, read_submission, read_table

HEADER = "site_id,period,observed,expected"


def _write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def aaa_csv(tmp_path, sample_data_dir):
    """A copy of the committed AAA sample (first 60 rows), or a built one."""
    src = sample_data_dir / "aaa_procedures.csv"
    lines = src.read_text(encoding="utf-8").splitlines()[:61]
    path = tmp_path / "aaa_procedures.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _corrupt_cell(path, row: int, column: str, value: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[row - 1].split(",")
    cells[header.index(column)] = value
    lines[row - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_sample_copy_reads_clean_with_file_row_numbers(aaa_csv):
    result = read_submission(aaa_csv, "aaa_procedures")
    assert result.ok and result.n_rows == 60
    assert list(result.valid.index[:3]) == [2, 3, 4]
    assert result.valid.index.name == "row"
    assert result.source == str(aaa_csv)


def test_corrupted_sample_reports_row_and_column(aaa_csv):
    _corrupt_cell(aaa_csv, 7, "age", "abc")
    _corrupt_cell(aaa_csv, 12, "sex", "X")
    _corrupt_cell(aaa_csv, 20, "died_in_hospital", "")
    result = read_submission(aaa_csv, "aaa_procedures")
    assert sorted(result.errors[["row", "column", "check"]].values.tolist()) == [
        [7, "age", "type"],
        [12, "sex", "isin"],
        [20, "died_in_hospital", "required"],
    ]
    assert sorted(result.rejected.index) == [7, 12, 20]
    assert len(result.valid) == 57


def test_missing_column_names_file_and_every_column(aaa_csv):
    frame = pd.read_csv(aaa_csv, dtype=str).drop(columns=["age", "procedure_type"])
    frame.to_csv(aaa_csv, index=False)
    with pytest.raises(SubmissionReadError) as info:
        read_submission(aaa_csv, "aaa_procedures")
    message = str(info.value)
    assert "aaa_procedures.csv" in message
    assert "'age', 'procedure_type'" in message
    assert info.value.path == str(aaa_csv)


def test_utf8_bom_is_read(tmp_path):
    path = _write(tmp_path / "oe.csv", "\ufeff" + HEADER + "\nS01,2024,3,2.5\n")
    result = read_submission(path, "observed_expected")
    assert result.ok and list(result.valid.columns) == HEADER.split(",")


def test_cp1252_is_read(tmp_path):
    text = HEADER + ",note\nS01,2024,3,2.5,Ysbyty Gwynedd – Bangor café\n"
    path = _write(tmp_path / "oe.csv", text, encoding="cp1252")
    result = read_submission(path, "observed_expected")
    assert result.ok
    assert result.valid["note"].iloc[0] == "Ysbyty Gwynedd – Bangor café"


def test_bom_aaa_copy_reports_same_problem(aaa_csv):
    _corrupt_cell(aaa_csv, 5, "age", "212")
    aaa_csv.write_bytes(b"\xef\xbb\xbf" + aaa_csv.read_bytes())
    result = read_submission(aaa_csv, "aaa_procedures")
    assert result.errors[["row", "column", "message"]].values.tolist() == [
        [5, "age", "age 212 is outside 18-110"]
    ]


def test_semicolon_and_header_spelling(tmp_path):
    text = "Site ID;Period;Observed;Expected\nS01;2024;3;2.5\n"
    path = _write(tmp_path / "oe.csv", text)
    result = read_submission(path, "observed_expected")
    assert result.ok and list(result.valid.columns) == HEADER.split(",")


def test_blank_lines_keep_spreadsheet_row_numbers(tmp_path):
    text = HEADER + "\nS01,2024,3,2.5\n\nS02,2024,-4,2\n"
    result = read_submission(_write(tmp_path / "oe.csv", text), "observed_expected")
    assert result.errors["row"].tolist() == [4]
    assert result.n_rows == 2


def test_text_is_not_lost_before_validation(tmp_path):
    text = "site_id,period,indicator,numerator,denominator\n007,2024-01,x, 3 ,10\n"
    result = read_submission(_write(tmp_path / "ind.csv", text), "indicator_submission")
    assert result.valid["site_id"].tolist() == ["007"]
    assert result.valid["numerator"].tolist() == [3.0]


def test_xlsx_with_dates_and_numbers(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(["site_id", "month", "expected"])
    sheet.append(["S01", "2024-01", 3])
    sheet.append(["S01", "2024-13", 4.0])
    book.create_sheet("notes").append(["nothing here"])
    path = tmp_path / "expected.xlsx"
    book.save(path)
    result = read_submission(path, "aaa_expected_cases")
    assert result.errors[["row", "column", "check"]].values.tolist() == [
        [3, "month", "str_matches"]
    ]
    assert result.errors["message"].iloc[0] == (
        "month '2024-13' is not a month in the form YYYY-MM"
    )
    with pytest.raises(SubmissionReadError, match="no sheet 'other'"):
        read_submission(path, "aaa_expected_cases", sheet="other")


def test_xlsx_datetime_cells_become_dates(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["a", "b"])
    book.active.append([dt.datetime(2024, 3, 5), dt.datetime(2024, 3, 5, 14, 30)])
    book.save(tmp_path / "t.xlsx")
    table = read_table(tmp_path / "t.xlsx")
    assert table.loc[2].tolist() == ["2024-03-05", "2024-03-05 14:30:00"]


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("binary.csv", b"%PDF-1.4\x00\x00\x01", "not a text table"),
        ("ragged.csv", b"site_id,period\nS01,2024\nS02,2024,9\n", "row 3 has 3 cells"),
        ("old.xls", b"\xd0\xcf\x11\xe0", r"\.xls"),
        ("broken.xlsx", b"PK\x03\x04garbage", "not a readable .xlsx"),
        ("dup.csv", b"site_id,period,period\nS01,1,2\n", "appears twice"),
    ],
)
def test_unreadable_files_give_one_clear_error(tmp_path, name, content, match):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SubmissionReadError, match=match) as info:
        read_submission(path, "observed_expected")
    assert name in str(info.value)
    assert "Traceback" not in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(SubmissionReadError, match="does not exist"):
        read_submission(tmp_path / "nope.csv", "observed_expected")


def test_schema_inferred_from_file_name(tmp_path):
    path = _write(tmp_path / "observed_expected.csv", HEADER + "\nS01,2024,3,2.5\n")
    assert read_submission(path).schema == "observed_expected"
    other = _write(tmp_path / "mine.csv", HEADER + "\n")
    with pytest.raises(SubmissionReadError, match="--schema"):
        read_submission(other)


def test_site_list_and_unknown_site(tmp_path):
    sites = _write(
        tmp_path / "sites.csv", "community,site_id\naaa,S01\naaa,S02\nckd,P01\n"
    )
    assert read_site_list(sites) == ["P01", "S01", "S02"]
    assert read_site_list(sites, community="aaa") == ["S01", "S02"]
    path = _write(tmp_path / "oe.csv", HEADER + "\nS01,2024,3,2.5\nP01,2024,1,1\n")
    result = read_submission(
        path, "observed_expected", sites=read_site_list(sites, community="aaa")
    )
    assert result.errors[["row", "column", "check"]].values.tolist() == [
        [3, "site_id", "registered_site"]
    ]


def test_parquet_submission_is_validated_like_csv(tmp_path, sample_data_dir):
    data = pd.read_csv(
        sample_data_dir / "aaa_procedures.csv",
        nrows=40,
        parse_dates=[
            "admission_date",
            "procedure_date",
            "discharge_date",
            "record_entered_date",
        ],
    )
    data["died_in_hospital"] = data["died_in_hospital"].astype(bool)
    data.loc[5, "age"] = 212  # spreadsheet row 7 once exported with a header
    path = tmp_path / "aaa_procedures.parquet"
    data.to_parquet(path, index=False)
    result = read_submission(path, "aaa_procedures")
    assert len(result.valid) + len(result.rejected) == 40
    assert result.errors[["row", "column", "value"]].values.tolist() == [
        [7, "age", "212"]
    ]
    # optional integers (missing asa_grade is read back as missing, not "nan")
    missing_asa = data["asa_grade"].drop(5).isna().sum()
    assert result.valid["asa_grade"].isna().sum() == missing_asa
    assert result.valid["admission_date"].dtype.kind == "M"


def test_unreadable_parquet_names_the_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(SubmissionReadError, match="broken.parquet"):
        read_submission(path, "aaa_procedures")
