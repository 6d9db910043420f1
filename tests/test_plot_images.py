"""Image comparison of every plot against committed baselines.

Regenerate the baselines (after an intended change of look) with::

    CCDATA_GENERATE_BASELINES=1 .venv/bin/python -m pytest \\
        tests/test_plot_images.py -p no:cacheprovider

Inputs are fixed (tests/_plot_data.py and small literal tables), rcParams are
the ccdata theme at 72 dpi, the backend is Agg.

Pixels depend on matplotlib's text rendering and layout, which change between
minor versions (3.8 kerns and places labels differently from 3.11), so the
pixel comparison runs only under the matplotlib minor version the baselines
were made with (``baseline_images/matplotlib_version.txt``). Under every
version each figure is also compared with its drawn content, stored beside the
image as ``<name>.json``: the texts, legend entries, every line's points and
every scatter's positions and colours (numbers to a relative 1e-6), and the
image size to within 10%.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from matplotlib import colors as mcolors
from matplotlib.figure import Figure
from matplotlib.testing.compare import compare_images
from PIL import Image

import ccdata.plot as cp

BASELINES = Path(__file__).with_name("baseline_images")
GENERATE = os.environ.get("CCDATA_GENERATE_BASELINES") == "1"
TOL = 3.0
VERSION_FILE = BASELINES / "matplotlib_version.txt"


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def _pixels_comparable() -> bool:
    """Whether this matplotlib renders as the one that made the baselines."""
    made_with = VERSION_FILE.read_text().strip() if VERSION_FILE.exists() else ""
    return _minor(made_with) == _minor(matplotlib.__version__)


_spec = importlib.util.spec_from_file_location(
    "_plot_data", Path(__file__).with_name("_plot_data.py")
)
plot_data = importlib.util.module_from_spec(_spec)
sys.modules["_plot_data"] = plot_data
_spec.loader.exec_module(plot_data)


def _spc(**kw):
    from ccdata.variation import spc

    return spc(
        plot_data.cdi(),
        chart=kw.pop("chart", "p"),
        x="month",
        numerator="n",
        denominator="days",
        **kw,
    )


def _hospitals():
    from ccdata.variation import spc

    path = (
        Path(__file__).resolve().parents[1]
        / "sample_data"
        / "real"
        / ("qicharts2_hospital_infections.csv")
    )
    hi = pd.read_csv(path, parse_dates=["month"])
    return spc(
        hi[hi["infection"] == "BAC"],
        chart="u",
        x="month",
        numerator="n",
        denominator="days",
        unit="hospital",
        freeze=12,
    )


def _monitor(col: str) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    y = rng.normal(0.05, 0.6, 60).cumsum()
    frame = pd.DataFrame({"unit": "S07", col: y if col == "vlad" else np.abs(y)})
    frame["signal"] = frame[col] >= 3.0 if col == "cusum" else False
    return frame


CALIBRATION = pd.DataFrame(
    {
        "decile": np.arange(1, 11),
        "n": 100,
        "observed_rate": [0.0, 0.01, 0.01, 0.02, 0.02, 0.04, 0.03, 0.05, 0.07, 0.12],
        "expected_rate": [
            0.004,
            0.008,
            0.012,
            0.016,
            0.021,
            0.027,
            0.034,
            0.045,
            0.063,
            0.11,
        ],
    }
)
COMPLETENESS = pd.DataFrame(
    {
        "site_id": ["S01", "S02", "S03", "S07"],
        "field": "creatinine_umol_l",
        "present": [90, 45, 160, 70],
        "expected": [100, 50, 170, 90],
        "proportion": [0.9, 0.9, 0.941, 0.778],
        "lower_95": [0.826, 0.786, 0.896, 0.68],
        "upper_95": [0.945, 0.957, 0.967, 0.853],
    }
)
ASCERTAINMENT = (
    COMPLETENESS.drop(columns=["field", "proportion"])
    .rename(columns={"present": "submitted"})
    .assign(
        ascertainment=[0.9, 0.9, 0.941, 1.05],
        upper_95=[0.945, 0.957, 0.967, 1.12],
        over_expected=[False, False, False, True],
    )
)

CASES = {
    "funnel": lambda ax: cp.funnel(
        plot_data.contract_funnel(), period="2025/26", ax=ax
    ),
    "funnel_outside": lambda ax: cp.funnel(
        plot_data.contract_funnel(),
        labels="outside",
        caption=False,
        legend=False,
        ax=ax,
    ),
    "funnel_flagged": lambda ax: cp.funnel(
        plot_data.contract_funnel(),
        labels="outside",
        flagged=["S02", "S03", "S08"],
        caption=False,
        legend=False,
        ax=ax,
    ),
    "funnel_site_view_flagged": lambda ax: cp.funnel(
        plot_data.contract_funnel(),
        highlight="S08",
        flagged=["S02", "S03", "S08"],
        caption=False,
        ax=ax,
    ),
    "funnel_site_view": lambda ax: cp.funnel(
        plot_data.contract_funnel(),
        highlight="S07",
        log_denominator=True,
        legend=False,
        ax=ax,
    ),
    "spc_freeze": lambda ax: cp.spc(
        _spc(freeze=6), variation_labels=True, legend=False, ax=ax
    ),
    "spc_phases": lambda ax: cp.spc(
        _spc(chart="u", part=[8]), multiplier=1000, legend=False, ax=ax
    ),
    "run_chart": lambda ax: cp.run_chart(_spc(chart="run"), legend=False, ax=ax),
    "cusum": lambda ax: cp.cusum(_monitor("cusum"), limit=3.0, ax=ax),
    "vlad": lambda ax: cp.vlad(_monitor("vlad"), ax=ax),
    "calibration": lambda ax: cp.calibration(CALIBRATION, ax=ax),
    "completeness": lambda ax: cp.completeness(COMPLETENESS, target=0.95, ax=ax),
    "ascertainment": lambda ax: cp.ascertainment(ASCERTAINMENT, highlight="S07", ax=ax),
}


def _num(v) -> float | None:
    v = float(v)
    return None if math.isnan(v) else v


def _points(xy) -> list:
    """Count, sums and extremes of a drawn set of (x, y) points."""
    xy = np.ma.filled(np.ma.asarray(xy, dtype=float).reshape(-1, 2), np.nan)
    ok = np.isfinite(xy).all(axis=1)
    if not ok.any():
        return [int(len(xy)), 0]
    pts = xy[ok]
    return [int(len(xy)), int(ok.sum()), *map(_num, pts.sum(0)), *map(_num, pts.min(0))]


def _label(artist) -> str:
    label = str(artist.get_label())
    return "" if label.startswith("_") else label


def _signature(fig: Figure) -> dict:
    """What a figure draws, in numbers and words that no renderer changes."""
    axes = []
    for ax in fig.axes:
        legend = ax.get_legend()
        axes.append(
            {
                "titles": [
                    ax.get_title(loc=loc) for loc in ("left", "center", "right")
                ],
                "xlabel": ax.get_xlabel(),
                "ylabel": ax.get_ylabel(),
                "texts": sorted(t.get_text() for t in ax.texts if t.get_text()),
                "legend": [t.get_text() for t in legend.get_texts()] if legend else [],
                "lines": sorted(
                    [
                        [_label(ln), ln.get_linestyle(), *_points(ln.get_xydata())]
                        for ln in ax.lines
                    ],
                    key=str,
                ),
                "scatter": sorted(
                    [
                        [
                            str(c.get_gid() or _label(c)),
                            *_points(c.get_offsets()),
                            sorted({mcolors.to_hex(f) for f in c.get_facecolors()}),
                        ]
                        for c in ax.collections
                        if len(c.get_offsets()) > 1 or c.get_gid()
                    ],
                    key=str,
                ),
                "n_patches": len([p for p in ax.patches if p.get_visible()]),
            }
        )
    return {
        "figure_texts": sorted(t.get_text() for t in fig.texts if t.get_text()),
        "axes": axes,
    }


def _same(actual, expected, where: str = "") -> None:
    """Compare signatures: words exactly, numbers to a relative 1e-6."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and actual.keys() == expected.keys(), where
        for k in expected:
            _same(actual[k], expected[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert isinstance(actual, list), where
        assert len(actual) == len(expected), f"{where}: {actual} != {expected}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _same(a, e, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(actual, str):
        assert actual == pytest.approx(expected, rel=1e-6, abs=1e-9), where
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def _check(fig: Figure, name: str, tmp_path: Path) -> None:
    actual = tmp_path / f"{name}.png"
    fig.savefig(actual, dpi=72)
    # JSON round trip: tuples become lists, as in the stored file
    drawn = json.loads(json.dumps(_signature(fig)))
    baseline = BASELINES / f"{name}.png"
    content = BASELINES / f"{name}.json"
    if GENERATE:
        BASELINES.mkdir(exist_ok=True)
        shutil.copyfile(actual, baseline)
        content.write_text(json.dumps(drawn, indent=1) + "\n")
        VERSION_FILE.write_text(matplotlib.__version__ + "\n")
        return
    if not baseline.exists() or not content.exists():
        pytest.fail(
            f"no baseline {baseline} or {content}; generate with "
            "CCDATA_GENERATE_BASELINES=1"
        )
    _same(drawn, json.loads(content.read_text()), name)
    if _pixels_comparable():
        result = compare_images(str(baseline), str(actual), tol=TOL)
        assert result is None, result
    else:  # another matplotlib lays text out differently: the size, coarsely
        size = np.array(Image.open(actual).size)
        expected_size = np.array(Image.open(baseline).size)
        assert (np.abs(size - expected_size) <= 0.1 * expected_size).all(), (
            f"{name}: {size} against the baseline's {expected_size}"
        )


@pytest.mark.parametrize("name", sorted(CASES))
def test_plot_matches_baseline(name, tmp_path):
    with cp.theme(dpi=72):
        matplotlib.rcParams["figure.figsize"] = (4.8, 3.2)
        fig = Figure()
        CASES[name](fig.subplots())
        _check(fig, name, tmp_path)


def test_small_multiples_matches_baseline(tmp_path):
    with cp.theme(dpi=72):
        fig = Figure(figsize=(6.4, 3.6))
        cp.small_multiples(_hospitals(), ncols=3, variation_labels=True, fig=fig)
        _check(fig, "small_multiples", tmp_path)
