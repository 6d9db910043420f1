"""Issue 14: a run killed at any point leaves a complete output and no process.

The batch job runs in its own session; it is killed with SIGKILL early (while
reading), while its figure workers are drawing, and at a later moment. After
each kill the output path must show a complete earlier output, no process of
the session may survive a few seconds, and the next run must take over the
stale lock, remove the leftovers and publish.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="uses /proc and POSIX sessions"
)

TRUSTS = [f"T{i:02d}" for i in range(1, 13)]

CONFIG = """
[run]
dpi = 20
figures = false
workers = 2

[sites]
path = "sites.csv"

[sources.lung]
path = "lung.csv"
schema = "lung_cancer_indicators"
community = "lung"

[indicators.histology]
source = "lung"
filter = { indicator = "histological_confirmation" }
numerator = "numerator"
denominator = "denominator"
period = "year"
period_freq = "year"
"""

SCRIPT = """
import sys
from ccdata.report import run_pipeline
sys.exit(run_pipeline(sys.argv[1], sys.argv[2]).exit_code)
"""


def _session(sid: int) -> list[int]:
    """PIDs of live (non-zombie) processes in session ``sid``."""
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(p.name))
    return pids


def _start(job: Path, out: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [
                str(Path(__file__).resolve().parents[1] / "src"),
                os.environ.get("PYTHONPATH", ""),
            ]
        ),
        "MPLBACKEND": "Agg",
    }
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(job), str(out)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _complete(out: Path) -> str:
    """The finish time of the complete output the path shows."""
    assert out.is_symlink() and out.is_dir()
    manifest = json.loads((out / "manifest.json").read_text())
    assert (out / "index.html").is_file() and (out / ".ccdata-output").is_file()
    assert {p.name for p in (out / "sites").iterdir()} == set(TRUSTS)
    return manifest["finished_at"] + str(manifest["timings_seconds"]["total"])


def _no_survivors(sid: int, within: float = 8.0) -> list[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        alive = _session(sid)
        if not alive:
            return []
        time.sleep(0.2)
    return _session(sid)


def _kill_when(proc: subprocess.Popen, condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if condition():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.02)
    proc.wait()
    return False


def test_a_kill_at_any_point_leaves_a_complete_output_and_no_process(tmp_path):
    rng = np.random.default_rng(3)
    job = tmp_path / "job"
    job.mkdir()
    pd.DataFrame({"community": "lung", "site_id": TRUSTS}).to_csv(
        job / "sites.csv", index=False
    )
    rows = [
        (t, y, "histological_confirmation", int(rng.integers(50, 90)), 100)
        for t in TRUSTS
        for y in (2024, 2025)
    ]
    pd.DataFrame(
        rows, columns=["site_id", "year", "indicator", "numerator", "denominator"]
    ).to_csv(job / "lung.csv", index=False)
    (job / "job.toml").write_text(CONFIG)
    out = tmp_path / "out"

    first = _start(job / "job.toml", out)
    assert first.wait(timeout=120) == 0
    previous = _complete(out)

    start = time.monotonic()
    plans = {
        "early": lambda: time.monotonic() - start > 0.3,
        # while the figure workers are drawing (the session has > 1 process)
        "workers": lambda: len(_session(proc.pid)) > 1,
    }
    killed_with_workers = False
    for name, when in plans.items():
        start = time.monotonic()
        proc = _start(job / "job.toml", out)
        killed = _kill_when(proc, when)
        if name == "workers":
            killed_with_workers = killed
        assert _no_survivors(proc.pid) == [], f"processes survived the {name} kill"
        shown = _complete(out)  # the previous output, or a new complete one
        if killed:
            assert shown == previous or name == "workers"
        previous = shown
    assert killed_with_workers, "the run finished before its workers were seen"

    # the next run takes over the stale lock, tidies up and publishes
    last = _start(job / "job.toml", out)
    assert last.wait(timeout=120) == 0
    assert _complete(out) != previous
    leftovers = sorted(
        p.name
        for p in tmp_path.iterdir()
        if p.name.startswith(".out.") and ".v-" not in p.name
    )
    assert leftovers == []
    assert len([p for p in tmp_path.iterdir() if ".out.v-" in p.name]) == 1
