"""Benchmark of ccdata.spc: 10,000 series of 36 monthly points with unit=.

Run with ``.venv/bin/python benchmarks/spc.py``. Prints the best wall time of
three runs of a p chart, a p′ chart, a run chart and an i chart of every series
at once (the 2-second target is for the p and run charts), and the peak traced
memory (tracemalloc, measured in a separate run) of each.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd

from ccdata.variation import spc

N_SERIES = 10_000
N_POINTS = 36


def make_data(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    den = rng.integers(50, 500, size=N_SERIES * N_POINTS)
    p = np.repeat(rng.uniform(0.05, 0.4, N_SERIES), N_POINTS)
    num = rng.binomial(den, p)
    return pd.DataFrame(
        {
            "site_id": np.repeat([f"S{i:05d}" for i in range(N_SERIES)], N_POINTS),
            "month": np.tile(
                pd.date_range("2016-04-01", periods=N_POINTS, freq="MS"), N_SERIES
            ),
            "events": num,
            "n": den,
        }
    )


def bench(label: str, data: pd.DataFrame, repeat: int = 3, **kwargs) -> None:
    """Best wall time of ``repeat`` runs, then peak memory of one traced run."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = spc(data, x="month", unit="site_id", **kwargs)
        times.append(time.perf_counter() - t0)
    assert len(res.points) == N_SERIES * N_POINTS
    tracemalloc.start()
    spc(data, x="month", unit="site_id", **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{label:<30s} {min(times):6.3f} s (best of {repeat})   "
        f"peak {peak / 2**20:6.1f} MiB"
    )


if __name__ == "__main__":
    spc(
        make_data().head(72),
        chart="p",
        x="month",
        unit="site_id",
        numerator="events",
        denominator="n",
    )  # warm-up (imports)
    data = make_data()
    print(f"{N_SERIES} series x {N_POINTS} points, unit='site_id'")
    bench("p chart", data, chart="p", numerator="events", denominator="n")
    bench("p' chart", data, chart="pp", numerator="events", denominator="n")
    bench("run chart (ratio)", data, chart="run", numerator="events", denominator="n")
    bench("i chart of counts", data, chart="i", value="events")
    bench(
        "p chart, part=[12] freeze=6",
        data,
        chart="p",
        numerator="events",
        denominator="n",
        part=[12],
        freeze=6,
    )
