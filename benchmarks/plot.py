"""Benchmark: render a 10,000-unit funnel and a 36 x 70 small-multiples figure to PNG.

Run: .venv/bin/python benchmarks/plot.py   (target: under 5 s each on 2 cores)

The funnel result is built directly from the FunnelResult contract columns
(normal-approximation limits) so that only the drawing is timed.
"""

from __future__ import annotations

import io
import resource
import time
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import ccdata.plot as cp


@dataclass(frozen=True)
class _Funnel:
    units: pd.DataFrame
    curve: pd.DataFrame
    target: float
    phi: float | None = None
    tau2: float | None = None
    method: str = "normal"
    kind: str = "proportion"
    levels: tuple[float, ...] = (0.95, 0.998)


def funnel_result(n_units: int = 10_000, seed: int = 1) -> _Funnel:
    rng = np.random.default_rng(seed)
    den = rng.integers(20, 5000, n_units).astype(float)
    num = rng.binomial(den.astype(int), 0.1).astype(float)
    p0 = num.sum() / den.sum()

    def lim(n, z):
        se = np.sqrt(p0 * (1 - p0) / n)
        return np.clip(p0 - z * se, 0, 1), np.clip(p0 + z * se, 0, 1)

    units = pd.DataFrame(
        {
            "unit": [f"U{i:05d}" for i in range(n_units)],
            "numerator": num,
            "denominator": den,
            "value": num / den,
        }
    )
    units["z"] = (units["value"] - p0) / np.sqrt(p0 * (1 - p0) / den)
    for z, s in ((1.96, "95"), (3.09, "998")):
        units[f"lower_{s}"], units[f"upper_{s}"] = lim(den, z)
    v = units["value"]
    units["status"] = np.select(
        [
            v > units.upper_998,
            v > units.upper_95,
            v < units.lower_998,
            v < units.lower_95,
        ],
        ["above_998", "above_95", "below_998", "below_95"],
        "within",
    )
    grid = np.geomspace(10, 6000, 1000)
    curve = pd.DataFrame({"denominator": grid})
    for z, s in ((1.96, "95"), (3.09, "998")):
        curve[f"lower_{s}"], curve[f"upper_{s}"] = lim(grid, z)
    return _Funnel(units, curve, p0)


def spc_result(n_series: int, n_points: int, seed: int = 2):
    from ccdata.variation import spc

    rng = np.random.default_rng(seed)
    months = pd.date_range("2020-01-01", periods=n_points, freq="MS")
    data = pd.DataFrame(
        {
            "site_id": np.repeat(
                [f"S{i:02d}" for i in range(1, n_series + 1)], n_points
            ),
            "month": np.tile(months, n_series),
            "denominator": rng.integers(80, 400, n_series * n_points),
        }
    )
    data["numerator"] = rng.binomial(data["denominator"], 0.2)
    return spc(
        data,
        chart="p",
        x="month",
        numerator="numerator",
        denominator="denominator",
        unit="site_id",
        freeze=24,
    )


def _render(fig: Figure) -> int:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=150)
    return buf.tell()


def main() -> None:
    result = funnel_result()
    t0, c0 = time.perf_counter(), time.process_time()
    with cp.theme():
        fig = Figure(figsize=(8, 5))
        cp.funnel(result, period="benchmark", ax=fig.subplots())
        size = _render(fig)
    t_funnel, c_funnel = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"funnel, 10,000 units, PNG at 150 dpi: {t_funnel:.2f} s wall, "
        f"{c_funnel:.2f} s CPU ({size / 1e3:.0f} kB)"
    )

    # Both readings of "36 x 70": 36 panels of 70 points, and a community of
    # 70 sites with 36 months each (70 panels).
    for n_series, n_points, ncols in ((36, 70, 6), (70, 36, 10)):
        spc = spc_result(n_series, n_points)
        nrows = -(-n_series // ncols)
        t0, c0 = time.perf_counter(), time.process_time()
        with cp.theme():
            fig = Figure()
            cp.small_multiples(spc, ncols=ncols, fig=fig, panel_size=(2.2, 1.4))
            fig.set_size_inches(2.2 * ncols + 0.6, 1.4 * nrows + 0.9)
            size = _render(fig)
        t_sm, c_sm = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"small multiples, {n_series} series x {n_points} points, PNG at "
            f"150 dpi: {t_sm:.2f} s wall, {c_sm:.2f} s CPU ({size / 1e3:.0f} kB)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak:.0f} MB")


if __name__ == "__main__":
    main()
