"""ccdata validate (issue #13): exit codes that mean what they say, identifiers
withheld on stdout too, one error file per site."""

from __future__ import annotations

import pandas as pd
import pytest

import ccdata.cli as cli
from ccdata.cli import main, write_error_files
from ccdata.validation import redact_identifiers, validate

OE_HEADER = "site_id,period,observed,expected\n"


@pytest.mark.parametrize("content", ["", OE_HEADER])
def test_no_data_rows_exit_1_never_no_problems(tmp_path, capsys, content):
    path = tmp_path / "oe.csv"
    path.write_text(content)
    assert main(["validate", str(path), "--schema", "observed_expected"]) == 1
    out = capsys.readouterr().out
    assert "no problems found" not in out
    assert "file: the file" in out and "no data rows" in out


def test_internal_error_exit_3_one_line_traceback_only_with_debug(
    tmp_path, capsys, monkeypatch
):
    path = tmp_path / "oe.csv"
    path.write_text(OE_HEADER + "S01,2024,3,2.5\n")

    def broken(*args, **kwargs):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(cli, "read_submission", broken)
    argv = ["validate", str(path), "--schema", "observed_expected"]
    assert main(argv) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "internal error" in err and "ZeroDivisionError" in err and "oe.csv" in err
    assert main([*argv, "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_unusable_file_exit_2(tmp_path, capsys):
    path = tmp_path / "oe.csv"
    path.write_bytes(OE_HEADER.encode() + b"S01,2024,3,2.5\x00\n")
    assert main(["validate", str(path), "--schema", "observed_expected"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ccdata: error: Cannot read 'oe.csv'") and "NUL" in err


def _survey(tmp_path):
    path = tmp_path / "lung_cancer_patient_experience.csv"
    path.write_text(
        "site_id,survey_year,respondent_id,question_id,answer\n"
        "T01,2024,1,Q01,4\nT01,2024,1,Q01,5\nT01,2024,110,Q02,9\n"
    )
    return path


def test_stdout_withholds_identifiers(tmp_path, capsys):
    assert main(["validate", str(_survey(tmp_path))]) == 1
    out = capsys.readouterr().out
    assert "respondent_id [withheld]" in out
    assert "respondent_id 1," not in out and "respondent_id 1 " not in out
    assert "answer 9 is outside 1-5" in out  # other values kept


def test_redaction_is_by_whole_value_not_substring():
    errors = pd.DataFrame(
        {
            "site_id": ["S1", "S1", "S1"],
            "row": [2, 2, 3],
            "column": ["record_id", "age", "record_id"],
            "value": ["1", "110", "R1"],
            "check": ["unique", "in_range", "unique"],
            "message": [
                "record_id 1 appears 2 times (rows 2, 12)",
                "age 110 is outside 18-100",
                "record_id R1 appears 2 times (rows 3, 4); R1 again, not R10",
            ],
        }
    )
    out = redact_identifiers(errors, ["record_id"])
    assert out["message"].tolist() == [
        "record_id [withheld] appears 2 times (rows 2, 12)",
        "age 110 is outside 18-100",
        "record_id [withheld] appears 2 times (rows 3, 4); [withheld] again, not R10",
    ]
    assert out["value"].tolist() == ["[withheld]", "110", "[withheld]"]


def test_error_file_names_are_unique_per_site(tmp_path):
    sites = ["A/B", "A_B", "A B", "a_b", "S01"]
    df = pd.DataFrame(
        {
            "site_id": sites,
            "period": ["p"] * 5,
            "observed": ["-1"] * 5,
            "expected": ["1"] * 5,
        }
    )
    written = write_error_files(validate(df, "observed_expected"), tmp_path)
    names = [p.name for p in written]
    assert len(set(n.lower() for n in names)) == 5
    assert "S01_errors.csv" in names
    for path in written:
        assert len(pd.read_csv(path, encoding="utf-8-sig")) == 1
    again = write_error_files(validate(df, "observed_expected"), tmp_path / "2")
    assert [p.name for p in again] == names  # stable from run to run
