"""Benchmark: the batch job (``ccdata run``) with an engine source against pandas.

Run::

    python benchmarks/batch_engine.py --rows 1000000 [--engine duckdb|pandas]
        [--dir DIR] [--memory-limit 3GB]

Uses the ``aaa_procedures`` Parquet dataset of ``benchmarks/scale.py`` (made
once, reused), a site list of its 70 sites and one configuration: crude
in-hospital mortality per site (funnel with over-dispersion) and its p-chart
per site and month, no figures or packs (their time does not depend on the
source). ``--engine duckdb`` reads the dataset folder in DuckDB (validation
in the engine, three used columns brought in); ``--engine pandas`` reads the
same files with ``read_submission`` one by one (the in-memory path). Prints
the run's stage timings and ends with exactly one line
``rows=N engine=E seconds=S peak_rss_gb=G``. Run each engine in its own
process: the peak RSS is the process's.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path

CONFIG = """
[run]
title = "batch engine benchmark"
figures = false
site_packs = false

[sites]
path = "sites.csv"

[funnel]
overdispersion = "additive"

[sources.aaa]
{source}
schema = "aaa_procedures"
{connection}

[indicators.mortality]
source = "aaa"
numerator = "died_in_hospital"
period = "procedure_date"
spc = "p"
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--engine", choices=("duckdb", "pandas"), default="duckdb")
    parser.add_argument("--dir", type=Path, default=Path("/work/scale-data"))
    parser.add_argument("--memory-limit", default=None)
    args = parser.parse_args(argv)

    sys.path.insert(0, str(Path(__file__).parent))
    import scale  # the dataset generator of benchmarks/scale.py

    from ccdata.report import run_pipeline

    data = scale.generate(args.rows, args.dir)
    work = args.dir / f"batch_{args.engine}_{args.rows}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "sites.csv").write_text(
        "site_id\n" + "".join(f"S{k:02d}\n" for k in range(1, scale.N_SITES + 1))
    )
    if args.engine == "duckdb":
        source = f'engine = "duckdb"\npath = "{data.as_posix()}"'
        connection = "[sources.aaa.connection]\nthreads = 2" + (
            f'\nmemory_limit = "{args.memory_limit}"' if args.memory_limit else ""
        )
    else:
        source = f'path = "{data.as_posix()}/part-*.parquet"'
        connection = ""
    cfg = work / "config.toml"
    cfg.write_text(CONFIG.format(source=source, connection=connection))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = run_pipeline(cfg, work / "out", progress=False)
    seconds = time.perf_counter() - t0
    print(outcome.message)
    if outcome.manifest is not None:
        print(json.dumps(outcome.manifest["timings_seconds"]))
        print(json.dumps(outcome.manifest["sources"]["aaa"]))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(
        f"rows={args.rows} engine={args.engine} seconds={seconds:.1f} "
        f"peak_rss_gb={rss:.2f}"
    )
    return 0 if outcome.exit_code in (0, 1) else 1


if __name__ == "__main__":
    raise SystemExit(main())
