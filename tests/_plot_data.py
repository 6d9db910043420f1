"""Fixed inputs for the plot tests (loaded by path from tests/test_plot*.py).

``contract_funnel()`` builds a result with exactly the columns of the
FunnelResult contract (issue 3) from fixed numbers, so the plot tests and the
image baselines do not move when the statistics change. Status is assigned
from the stated limits; nothing here is a reference computation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ContractFunnel:
    units: pd.DataFrame
    curve: pd.DataFrame
    target: float
    phi: float | None = None
    tau2: float | None = None
    method: str = "normal"
    kind: str = "proportion"
    levels: tuple[float, ...] = (0.95, 0.998)
    extra: dict = field(default_factory=dict)


def _limits(p0: float, n: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    se = np.sqrt(p0 * (1 - p0) / n)
    return np.clip(p0 - z * se, 0, 1), np.clip(p0 + z * se, 0, 1)


def contract_funnel() -> ContractFunnel:
    """12 units S01..S12 with fixed counts; S03 above 99.8%, S09 below 95%."""
    ids = [f"S{i:02d}" for i in range(1, 13)]
    den = np.array([40, 85, 120, 150, 200, 260, 310, 380, 450, 520, 610, 700.0])
    num = np.array([4, 9, 27, 15, 20, 26, 28, 41, 31, 52, 60, 72.0])
    p0 = 0.10
    units = pd.DataFrame({"unit": ids, "numerator": num, "denominator": den})
    units["value"] = num / den
    units["z"] = (units["value"] - p0) / np.sqrt(p0 * (1 - p0) / den)
    for z, s in ((1.959964, "95"), (3.090232, "998")):
        units[f"lower_{s}"], units[f"upper_{s}"] = _limits(p0, den, z)
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
    grid = np.geomspace(10, 1000, 120)
    curve = pd.DataFrame({"denominator": grid})
    for z, s in ((1.959964, "95"), (3.090232, "998")):
        curve[f"lower_{s}"], curve[f"upper_{s}"] = _limits(p0, grid, z)
    return ContractFunnel(units=units, curve=curve, target=p0)


def cdi() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "month": np.arange(1, 13),
            "n": [17, 12, 27, 20, 20, 19, 26, 16, 9, 8, 10, 3],
            "days": [
                1470,
                1446,
                1617,
                1422,
                1481,
                1390,
                1620,
                1350,
                1500,
                1490,
                1450,
                1470.0,
            ],
        }
    )
