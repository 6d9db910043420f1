"""Shared fixtures: Agg backend, figures closed after each test, fixed seeds.

The default run takes two pytest-xdist workers with ``--dist loadfile``
(``addopts`` in pyproject.toml): every test module runs whole on one worker, so a
module-scoped fixture runs once, and a session-scoped fixture runs once per worker
that uses it. Hence the rules for a test module:

- share an expensive setup through a module fixture (``clean_run`` in
  test_batch_e2e.py, ``run`` in test_batch_disclosure.py and test_batch_survey.py);
- keep every reader of the session's ``demo_run`` in test_demo_packs.py (a reader
  elsewhere makes a second worker run the demo again);
- write only under ``tmp_path`` / ``tmp_path_factory`` (each worker has its own
  base folder), never into the repository or a fixed path;
- a test that needs the serial run or a debugger: ``python -m pytest -n 0``.
"""

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


def _import_the_package() -> None:
    """Import every ccdata module the normal way before pytest collects doctests.

    ``--doctest-modules`` with ``--import-mode=importlib`` imports a module such
    as ``ccdata/comparison/result.py`` by path; if that happens before its
    package is imported, the module sits in ``sys.modules`` but is never set as
    an attribute of ``ccdata.comparison`` (the import system sets it only when
    it loads the module itself), and ``ccdata.comparison.result`` then fails in
    whatever test runs later on the same worker. Importing the package first
    makes every run order equal to the one users have.
    """
    import importlib
    import pkgutil

    import ccdata

    for info in pkgutil.walk_packages(ccdata.__path__, "ccdata."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


_import_the_package()

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
    so it runs once per session, not once per test. Use it only from
    test_demo_packs.py (see the module docstring).
    """
    from ccdata.report import prepare_demo_data, run_demo_pipeline

    base = tmp_path_factory.mktemp("demo")
    data = prepare_demo_data(base / "data")
    out = base / "out"
    outcome = run_demo_pipeline(out, data_dir=data, progress=False)
    return outcome, out, data


# The heaviest modules first, the demo's readers (the longest setup of the suite)
# first of all: with two workers (pyproject.toml: ``--dist loadfile
# --no-loadscope-reorder`` hands out modules in this order) the demo starts at
# once on one worker while the other takes the rest, longest first. Serially the
# order changes nothing: no test depends on another's having run.
_FIRST_MODULES = (
    "test_demo_packs.py",
    "test_batch_e2e.py",
    "test_batch_safety.py",
    "test_batch_kill.py",
    "test_notebooks.py",
    "test_engine_spark.py",
    "test_batch_engine.py",
    "test_engine.py",
    "test_batch_disclosure.py",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {name: i for i, name in enumerate(_FIRST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable
