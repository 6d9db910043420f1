"""Tests of ccdata.report.writers: atomic folder, deterministic CSV, formulas."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccdata.errors import ConfigError
from ccdata.report.publish import OutputLock, cleanup_leftovers, write_marker
from ccdata.report.writers import (
    MARKER_NAME,
    atomic_output_dir,
    neutralise_formulas,
    pack_name,
    safe_name,
    sha256_file,
    write_csv,
    write_json,
    write_text,
)


def test_csv_is_sorted_fixed_format_and_lf(tmp_path):
    df = pd.DataFrame({"unit": ["b", "a", "c"], "value": [1 / 3, 2.0, np.nan]})
    p = write_csv(df, tmp_path / "x.csv", sort_by=["unit"])
    assert p.read_bytes() == b"unit,value\na,2\nb,0.3333333333\nc,\n"


def test_csv_is_byte_identical_whatever_the_row_order(tmp_path, rng):
    df = pd.DataFrame(
        {"unit": [f"S{i:02d}" for i in range(40)], "value": rng.random(40)}
    )
    a = write_csv(df, tmp_path / "a.csv", sort_by=["unit"])
    b = write_csv(
        df.sample(frac=1, random_state=1), tmp_path / "b.csv", sort_by=["unit"]
    )
    assert a.read_bytes() == b.read_bytes()
    assert b"\r" not in a.read_bytes()


@pytest.mark.parametrize("cell", ["=SUM(A1:A9)", "+1", "-2+3", "@cmd", "\tx", "\rx"])
def test_formula_cells_are_neutralised(tmp_path, cell):
    df = pd.DataFrame({"value": [cell], "n": [-5]})
    text = write_csv(df, tmp_path / "f.csv").read_text(encoding="utf-8")
    body = text.split("\n", 1)[1]
    assert body.startswith("\"'") or body.startswith("'")
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
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def _visible(folder):
    """Entries of ``folder`` other than ccdata's version folder(s) of an output."""
    return sorted(p.name for p in folder.iterdir() if ".v-" not in p.name)


def _versions(folder):
    return sorted(p.name for p in folder.iterdir() if ".v-" in p.name)


def test_atomic_dir_replaces_previous_outputs_on_success(tmp_path):
    out = tmp_path / "out"
    with atomic_output_dir(out) as tmp:
        (tmp / "manifest.json").write_text("{}")
        (tmp / "old.txt").write_text("1")
    with atomic_output_dir(out) as tmp:
        (tmp / "manifest.json").write_text("{}")
        (tmp / "new.txt").write_text("2")
    assert sorted(p.name for p in out.iterdir()) == [
        MARKER_NAME,
        "manifest.json",
        "new.txt",
    ]
    assert _visible(tmp_path) == ["out"]  # no debris, no lock
    assert len(_versions(tmp_path)) == 1  # the previous version was removed
    assert out.is_symlink()


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
    assert _visible(tmp_path) == ["out"]
    assert len(_versions(tmp_path)) == 1


def test_atomic_dir_refuses_a_foreign_non_empty_folder(tmp_path):
    out = tmp_path / "home"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not written by ccdata run"):
        with atomic_output_dir(out):
            pass  # pragma: no cover
    assert (out / "precious.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home"]


def test_a_foreign_folder_with_a_manifest_json_is_not_ccdata_s(tmp_path):
    """Bug: any folder holding a file named manifest.json was wiped."""
    out = tmp_path / "webapp"
    out.mkdir()
    (out / "manifest.json").write_text('{"name": "my web app", "icons": []}')
    (out / "index.js").write_text("app()")
    with pytest.raises(ConfigError, match="carries no ccdata marker"):
        with atomic_output_dir(out):
            pass  # pragma: no cover
    assert sorted(p.name for p in out.iterdir()) == ["index.js", "manifest.json"]


def test_an_older_ccdata_output_folder_is_replaced_in_one_exchange(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(
        json.dumps({"tool": "ccdata run", "format_version": 1})
    )
    (out / "old.txt").write_text("old")
    with atomic_output_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
    assert (out / "new.txt").read_text() == "new" and not (out / "old.txt").exists()
    assert _visible(tmp_path) == ["out"]


def test_a_symlinked_output_is_retargeted_never_replaced(tmp_path):
    """Bug: a symlinked output was replaced by a real folder; its target went stale."""
    target = tmp_path / "www" / "results"
    target.mkdir(parents=True)
    link = tmp_path / "outputs"
    link.symlink_to(target)
    for text in ("first", "second"):
        with atomic_output_dir(link) as tmp:
            (tmp / "r.txt").write_text(text)
        assert link.is_symlink()
        assert (link / "r.txt").read_text() == text
        # the new version lives beside the target, on the target's file system
        assert Path(os.path.realpath(link)).parent == target.parent
    assert target.is_dir()  # the user's target survives
    assert len(_versions(target.parent)) == 1


def test_leftovers_of_a_killed_run_are_removed_by_the_next(tmp_path):
    out = tmp_path / "out"
    with atomic_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("1")
    # what a run killed at different moments leaves behind
    for name in (".out.tmp-abc", ".out.old-def", ".out.v-20000101T000000-x"):
        d = tmp_path / name
        d.mkdir()
        write_marker(d)
    (tmp_path / ".out.tmp-empty").mkdir()
    (tmp_path / ".out.link-1-2").symlink_to("nowhere")
    foreign = tmp_path / ".out.tmp-not-ours"
    foreign.mkdir()
    (foreign / "x").write_text("not ccdata's")
    removed = cleanup_leftovers(out)
    assert len(removed) == 5
    assert foreign.exists() and (out / "a.txt").read_text() == "1"


def test_a_second_run_on_the_same_output_is_refused_while_one_holds_the_lock(tmp_path):
    out = tmp_path / "out"
    with OutputLock(out) as lock:
        info = json.loads(lock.path.read_text())
        assert info["pid"] == os.getpid() and info["host"]
        with pytest.raises(ConfigError, match=r"another ccdata run \(PID \d+"):
            with atomic_output_dir(out):
                pass  # pragma: no cover
    assert not lock.path.exists()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    import socket
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    out = tmp_path / "out"
    lock = OutputLock(out)
    lock.path.write_text(
        json.dumps(
            {
                "pid": dead.pid,
                "host": socket.gethostname(),
                "started": "2026-01-01T00:00:00Z",
            }
        )
    )
    with atomic_output_dir(out) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (out / "a.txt").read_text() == "1" and not lock.path.exists()


@pytest.mark.parametrize("name", ["../escape.csv", "../../x.txt", "sub/../../y.json"])
def test_no_file_is_written_outside_the_temporary_output_folder(tmp_path, name):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="outside the output folder"):
        with atomic_output_dir(out) as tmp:
            write_csv(pd.DataFrame({"a": [1]}), tmp / name)
    assert _visible(tmp_path) == []  # nothing beside, no output published
    assert not list(tmp_path.rglob("escape.csv")) and not list(tmp_path.rglob("x.txt"))


def test_a_symlink_planted_inside_the_folder_is_not_followed(tmp_path):
    out = tmp_path / "out"
    outside = tmp_path / "outside.txt"
    with pytest.raises(ConfigError, match="outside the output folder"):
        with atomic_output_dir(out) as tmp:
            (tmp / "link.txt").symlink_to(outside)
            write_text("x", tmp / "link.txt")
    assert not outside.exists()


def test_pack_names_are_collision_free():
    ids = ["A/B", "A_B", "A B", "T01", "T01.", "x" * 300, "..", "con", "$x$"]
    names = [pack_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    assert all(n == safe_name(n) and len(n) <= 64 for n in names)
    assert pack_name("T01") == "T01"


_CELL = st.one_of(
    st.text(alphabet="=+-@\t\rab1 ", max_size=4),
    st.none(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=False, width=32),
    st.booleans(),
)


@given(
    st.lists(st.tuples(_CELL, st.text(alphabet="=-ab", max_size=3)), max_size=8),
    st.sampled_from(["object", "string"]),
)
def test_small_tables_are_neutralised_as_large_ones(rows, kind):
    """The cell-by-cell path for a pack's few rows gives the vectorised result."""
    from ccdata.report.writers import _neutralise

    df = pd.DataFrame(
        {
            "mixed": pd.Series([r[0] for r in rows], dtype=object),
            "text": pd.Series([r[1] for r in rows], dtype=kind),
            "n": pd.Series(range(len(rows)), dtype="int64"),
        }
    )
    pd.testing.assert_frame_equal(
        _neutralise(df, small=True), _neutralise(df, small=False)
    )
