"""Benchmark: the full batch pipeline on the bundled sample data (`ccdata demo`).

Run with ``.venv/bin/python benchmarks/demo.py``. Target: under 60 s on a
2-core machine. Prints wall time (total and per stage), CPU time (this
process and the figure-drawing worker processes: on a shared machine the CPU
time is the steadier figure), peak memory and the 1-minute load average
before and after the run (a figure measured on a busy machine says so).
"""

from __future__ import annotations

import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from ccdata.report import prepare_demo_data, run_demo_pipeline


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> int:
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    load0 = os.getloadavg()[0]
    c0 = _cpu()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        data = prepare_demo_data(Path(tmp) / "data")
        t1 = time.perf_counter()
        res = run_demo_pipeline(Path(tmp) / "out", data_dir=data, progress=False)
        t2 = time.perf_counter()
    cpu = _cpu() - c0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sample data written in {t1 - t0:.1f} s")
    print(f"pipeline: exit code {res.exit_code}, {res.counts}")
    if res.manifest:
        for stage, sec in sorted(res.manifest["timings_seconds"].items()):
            print(f"  {stage:<20} {sec:7.2f} s")
    print(
        f"ccdata demo wall time: {t2 - t0:.1f} s (target < 60 s); "
        f"CPU time {cpu:.1f} s; peak memory {peak_mb:.0f} MB (main process); "
        f"load average {load0:.2f} before, {os.getloadavg()[0]:.2f} after "
        f"({os.cpu_count()} CPUs)"
    )
    return 0 if res.exit_code in (0, 1) else 1


if __name__ == "__main__":
    raise SystemExit(main())
