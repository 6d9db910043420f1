"""Root conftest: applies to the tests and to the doctests in src/ccdata."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
