"""Issue 14: the run lock's policy for a lock held by another host.

A lock whose PID is dead on this host is taken over (a killed run); a lock
from another host is never taken over silently (ccdata cannot see whether
that run is alive) -- the run stops with a message naming the host and the
``--break-lock`` action -- and ``break_lock=True`` takes it over; a live
run's lock on this host is never broken, not even with ``--break-lock``.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from ccdata.cli import _parser
from ccdata.errors import ConfigError
from ccdata.report import EXIT_FAILED, EXIT_OK, run_pipeline
from ccdata.report.publish import OutputLock, atomic_output_dir

OTHER = {"pid": 4242, "host": "batch-02.example", "started": "2026-12-01T01:00:00Z"}


def _lock(tmp_path, info):
    path = tmp_path / ".out.ccdata-lock"
    path.write_text(json.dumps(info) + "\n")
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_another_host_s_lock_is_refused_and_names_the_action(tmp_path):
    path = _lock(tmp_path, OTHER)
    before = path.read_text()
    with pytest.raises(ConfigError) as err:
        OutputLock(tmp_path / "out").acquire()
    text = str(err.value)
    assert "'batch-02.example'" in text and "PID 4242" in text
    assert "--break-lock" in text and "never takes such a lock over" in text
    assert path.read_text() == before  # untouched


def test_break_lock_takes_over_another_host_s_lock(tmp_path, caplog):
    path = _lock(tmp_path, OTHER)
    lock = OutputLock(tmp_path / "out", break_lock=True)
    with caplog.at_level("WARNING", logger="ccdata.report"):
        lock.acquire()
    info = json.loads(path.read_text())
    assert info["pid"] == os.getpid() and info["host"] == socket.gethostname()
    assert "batch-02.example" in caplog.text and "--break-lock" in caplog.text
    lock.release()
    assert not path.exists()


def test_a_live_lock_on_this_host_is_never_broken(tmp_path):
    live = {
        "pid": os.getppid(),
        "host": socket.gethostname(),
        "started": "2026-12-01T01:00:00Z",
    }
    path = _lock(tmp_path, live)
    for brk in (False, True):
        with pytest.raises(ConfigError, match="another ccdata run") as err:
            OutputLock(tmp_path / "out", break_lock=brk).acquire()
        assert "never broken" in str(err.value)
    assert json.loads(path.read_text())["pid"] == os.getppid()


def test_a_dead_pid_on_this_host_is_taken_over_without_asking(tmp_path):
    dead = {"pid": _dead_pid(), "host": socket.gethostname(), "started": "x"}
    path = _lock(tmp_path, dead)
    with OutputLock(tmp_path / "out"):
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not path.exists()
    # a garbled PID is not a live run either
    _lock(tmp_path, {**dead, "pid": "not a number"})
    with OutputLock(tmp_path / "out"):
        pass


def test_atomic_output_dir_passes_break_lock(tmp_path):
    _lock(tmp_path, OTHER)
    with pytest.raises(ConfigError, match="--break-lock"):
        with atomic_output_dir(tmp_path / "out"):
            pass
    assert not (tmp_path / "out").exists()
    with atomic_output_dir(tmp_path / "out", break_lock=True) as tmp:
        (tmp / "a.txt").write_text("new")
    assert (tmp_path / "out" / "a.txt").read_text() == "new"
    assert not (tmp_path / ".out.ccdata-lock").exists()


def test_the_run_and_the_cli_option(tmp_path):
    (tmp_path / "d.csv").write_text("site_id,x\nA,1\nB,2\n")
    (tmp_path / "c.toml").write_text(
        '[run]\nfigures = false\nsite_packs = false\n\n[sources.d]\npath = "d.csv"\n'
    )
    _lock(tmp_path, OTHER)
    res = run_pipeline(tmp_path / "c.toml", tmp_path / "out", progress=False)
    assert res.exit_code == EXIT_FAILED and "--break-lock" in res.message
    res = run_pipeline(
        tmp_path / "c.toml", tmp_path / "out", progress=False, break_lock=True
    )
    assert res.exit_code == EXIT_OK, res.message
    assert (tmp_path / "out" / "manifest.json").is_file()
    args = _parser().parse_args(["run", "c.toml", "--break-lock"])
    assert args.break_lock is True
    assert _parser().parse_args(["run", "c.toml"]).break_lock is False
