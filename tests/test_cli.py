"""The ccdata command line: exit codes, summaries and written files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ccdata.cli import main, write_error_files
from ccdata.validation import validate

OE_HEADER = "site_id,period,observed,expected\n"


def _sample_or_skip(sample_data_dir, name):
    return sample_data_dir / f"{name}.csv"


def test_validate_clean_file_exits_0(tmp_path, capsys):
    path = tmp_path / "oe.csv"
    path.write_text(OE_HEADER + "S01,2024,3,2.5\nS01,2025,4,2.5\n")
    assert (
        main(
            [
                "validate",
                str(path),
                "--schema",
                "observed_expected",
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "rows: 2" in out and "no problems found" in out
    errors = pd.read_csv(tmp_path / "out" / "errors.csv", encoding="utf-8-sig")
    assert list(errors.columns) == [
        "site_id",
        "row",
        "column",
        "value",
        "check",
        "message",
    ]
    assert errors.empty


def test_validate_problems_exit_1_one_file_per_site(tmp_path, capsys):
    path = tmp_path / "oe.csv"
    path.write_text(
        OE_HEADER + "S01,2024,3,2.5\nS01,2025,-3,2\nS02,2024,x,1\nS03,2024,1,1\n"
    )
    code = main(
        [
            "validate",
            str(path),
            "--schema",
            "observed_expected",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "rejected: 2" in out and "observed" in out
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["S01_errors.csv", "S02_errors.csv"]
    s01 = pd.read_csv(tmp_path / "out" / "S01_errors.csv", encoding="utf-8-sig")
    assert s01[["row", "column"]].values.tolist() == [[3, "observed"]]
    assert s01["value"].tolist() == ["'-3"]  # neutralised for Excel


def test_validate_without_out_prints_problems(tmp_path, capsys):
    path = tmp_path / "observed_expected.csv"
    path.write_text(OE_HEADER + "S01,2024,3,0\n")
    assert main(["validate", str(path)]) == 1
    assert "row 2: expected 0 is not greater than 0" in capsys.readouterr().out


def test_formula_cells_are_neutralised(tmp_path):
    df = pd.DataFrame(
        {
            "site_id": ["S01"],
            "period": ["=HYPERLINK(1)"],
            "observed": ["@x"],
            "expected": ["+1"],
        }
    )
    written = write_error_files(validate(df, "observed_expected"), tmp_path)
    text = written[0].read_text(encoding="utf-8-sig")
    assert "'@x" in text and ",@x" not in text


def test_site_list_option(tmp_path, capsys):
    sites = tmp_path / "sites.csv"
    sites.write_text("community,site_id\naaa,S01\nckd,S02\n")
    path = tmp_path / "oe.csv"
    path.write_text(OE_HEADER + "S01,2024,3,2.5\nS02,2024,3,2.5\n")
    args = [
        "validate",
        str(path),
        "--schema",
        "observed_expected",
        "--sites",
        str(sites),
    ]
    assert main(args) == 0
    assert main([*args, "--community", "aaa"]) == 1
    assert "registered site list" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "MISSING", "--schema", "observed_expected"],
        ["validate", "FILE", "--schema", "no_such_schema"],
        ["validate", "FILE"],
    ],
)
def test_unreadable_input_or_unknown_schema_exit_2(tmp_path, capsys, argv):
    (tmp_path / "oe.csv").write_text(OE_HEADER + "S01,2024,3,2.5\n")
    (tmp_path / "empty.csv").write_text("")
    paths = {
        "MISSING": tmp_path / "nope.csv",
        "FILE": tmp_path / "oe.csv",
        "EMPTY": tmp_path / "empty.csv",
    }
    argv = [str(paths.get(a, a)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("ccdata: error: ")
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["validate"]) == 2
    assert main(["--help"]) == 0


def test_sample_data_command_calls_the_generator(tmp_path, monkeypatch, capsys):
    import ccdata.sample_data as sd

    calls = []

    def fake(out_dir, *, seed):
        calls.append((str(out_dir), seed))
        return [tmp_path / "sites.csv"]

    monkeypatch.setattr(sd, "write_sample_data", fake)
    assert main(["sample-data", "--out", str(tmp_path), "--seed", "7"]) == 0
    assert calls == [(str(tmp_path), 7)]
    assert "sites.csv" in capsys.readouterr().out


def test_validate_committed_sample_with_corruption(tmp_path, sample_data_dir, capsys):
    src = _sample_or_skip(sample_data_dir, "aaa_procedures")
    lines = src.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    cells = lines[9].split(",")  # spreadsheet row 10
    cells[header.index("age")] = "212"
    lines[9] = ",".join(cells)
    path = tmp_path / "aaa_procedures.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["validate", str(path), "--out", str(tmp_path / "out")]) == 1
    (written,) = list((tmp_path / "out").iterdir())
    assert written.name == f"{cells[header.index('site_id')]}_errors.csv"
    errors = pd.read_csv(written, encoding="utf-8-sig")
    assert errors[["row", "column", "message"]].values.tolist() == [
        [10, "age", "age 212 is outside 18-110"]
    ]


def test_demo_runs_the_full_pipeline_on_the_sample_data(tmp_path, monkeypatch, capsys):
    # The full demo runs end to end once per suite (the demo_run fixture read by
    # test_demo_packs.py); here: the command reaches run_demo_pipeline with the
    # folder and passes its exit code on.
    import ccdata.report as report

    calls = []

    def fake(out_dir, **kwargs):
        calls.append(out_dir)
        return report.RunOutcome(1, Path(out_dir), "outputs written; 3 problems")

    monkeypatch.setattr(report, "run_demo_pipeline", fake)
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 1
    assert calls == [str(tmp_path / "demo")]
    assert "3 problems" in capsys.readouterr().out


def test_run_and_config_check_commands(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[run]\ntitel = "typo"\n[sources.a]\npath = "a.csv"\n', encoding="utf-8"
    )
    assert main(["config", "check", str(bad)]) == 2
    assert "titel" in capsys.readouterr().err
    assert main(["run", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
