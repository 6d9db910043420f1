"""Tests of ccdata.report.writers: atomic folder, deterministic CSV, formulas."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdata.errors import ConfigError
from ccdata.report.writers import (
    atomic_output_dir,
    neutralise_formulas,
    sha256_file,
    write_csv,
    write_json,
)


def test_csv_is_sorted_fixed_format_and_lf(tmp_path):
    df = pd.DataFrame({"unit": ["b", "a", "c"], "value": [1 / 3, 2.0, np.nan]})
    p = write_csv(df, tmp_path / "x.csv", sort_by=["unit"])
    assert p.read_bytes() == b"unit,value\na,2\nb,0.3333333333\nc,\n"


def test_csv_is_byte_identical_whatever_the_row_order(tmp_path, rng):
    df = pd.DataFrame({"unit": [f"S{i:02d}" for i in range(40)],
                       "value": rng.random(40)})
    a = write_csv(df, tmp_path / "a.csv", sort_by=["unit"])
    b = write_csv(df.sample(frac=1, random_state=1), tmp_path / "b.csv", sort_by=["unit"])
    assert a.read_bytes() == b.read_bytes()
    assert b"\r" not in a.read_bytes()


@pytest.mark.parametrize("cell", ["=SUM(A1:A9)", "+1", "-2+3", "@cmd", "\tx", "\rx"])
def test_formula_cells_are_neutralised(tmp_path, cell):
    df = pd.DataFrame({"value": [cell], "n": [-5]})
    text = write_csv(df, tmp_path / "f.csv").read_text(encoding="utf-8")
    body = text.split("\n", 1)[1]
    assert body.startswith('"\'') or body.startswith("'")
    assert ",-5" in body  # numbers are never touched


def test_formula_neutralisation_leaves_safe_text_alone():
    df = pd.DataFrame({"v": ["ok", "S01", "a=b"], "x": [1.0, -2.0, 3.0]})
    pd.testing.assert_frame_equal(neutralise_formulas(df), df)


@given(st.text(max_size=12))
def test_no_text_cell_starts_a_formula_after_neutralising(s):
    out = neutralise_formulas(pd.DataFrame({"v": [s]}))["v"].iloc[0]
    assert not out.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out in (s, "'" + s)


def test_json_is_sorted_and_handles_numpy(tmp_path):
    p = write_json({"b": np.int64(2), "a": np.float64(0.5)}, tmp_path / "m.json")
    assert json.loads(p.read_text()) == {"a": 0.5, "b": 2}
    assert p.read_text().index('"a"') < p.read_text().index('"b"')


def test_sha256(tmp_path):
    p = tmp_path / "x"
    p.write_bytes(b"")
    assert sha256_file(p) == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")


def test_atomic_dir_replaces_previous_outputs_on_success(tmp_path):
    out = tmp_path / "out"
    with atomic_output_dir(out) as tmp:
        (tmp / "manifest.json").write_text("{}")
        (tmp / "old.txt").write_text("1")
    with atomic_output_dir(out) as tmp:
        (tmp / "manifest.json").write_text("{}")
        (tmp / "new.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no debris


def test_atomic_dir_failure_leaves_previous_outputs_and_no_debris(tmp_path):
    out = tmp_path / "out"
    with atomic_output_dir(out) as tmp:
        (tmp / "manifest.json").write_text("{}")
        (tmp / "a.txt").write_text("before")
    with pytest.raises(RuntimeError, match="half-way"):
        with atomic_output_dir(out) as tmp:
            (tmp / "a.txt").write_text("after")
            raise RuntimeError("half-way")
    assert (out / "a.txt").read_text() == "before"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_refuses_a_foreign_non_empty_folder(tmp_path):
    out = tmp_path / "home"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not written by ccdata run"):
        with atomic_output_dir(out):
            pass  # pragma: no cover
    assert (out / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]
