"""Shared fixtures: Agg backend, figures closed after each test, fixed seeds."""

from __future__ import annotations

import os
from pathlib import Path

os.environ["MPLBACKEND"] = "Agg"

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ccdata",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ccdata")

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO_ROOT / "sample_data"
REFERENCE = Path(__file__).resolve().parent / "reference"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261122)


@pytest.fixture(scope="session")
def sample_data_dir() -> Path:
    return SAMPLE_DATA


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    return REFERENCE


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """ONE run of ``ccdata demo`` shared by every test that only reads its outputs.

    Returns ``(outcome, out_dir, data_dir)``. The demo is the single test of
    the whole pipeline on the bundled sample data (about a minute on 2 cores),
    so it runs once per session, not once per test.
    """
    from ccdata.report import prepare_demo_data, run_demo_pipeline

    base = tmp_path_factory.mktemp("demo")
    data = prepare_demo_data(base / "data")
    out = base / "out"
    outcome = run_demo_pipeline(out, data_dir=data, progress=False)
    return outcome, out, data
