"""The layer diagram of STYLE.md, checked by parsing every module's imports.

errors, _validation, _typing  <-  schemas, io, validation, sample_data
    <-  completeness, risk, funnel, spc  <-  plot  <-  report, config  <-  cli
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "ccdata"

LAYERS = {
    "errors": 0,
    "_validation": 0,
    "_typing": 0,
    "_intervals": 0,
    "schemas": 1,
    "io": 1,
    "validation": 1,
    "sample_data": 1,
    "completeness": 2,
    "risk": 2,
    "funnel": 2,
    "spc": 2,
    "plot": 3,
    "config": 4,
    "report": 4,
    "cli": 5,
}
STATS = {"completeness", "risk", "funnel", "spc", "schemas", "io", "validation"}


def _top(module_path: Path) -> str:
    rel = module_path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


MODULES = sorted(p for p in SRC.rglob("*.py") if _top(p) != "__init__")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_one_way(path):
    top = _top(path)
    assert top in LAYERS, f"{top} is not placed in the layer diagram"
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] != "ccdata":
            continue
        assert len(parts) > 1, f"{path}: never import from the package root"
        target = parts[1]
        assert target in LAYERS, f"{path} imports unknown module {name}"
        assert LAYERS[target] <= LAYERS[top], f"{path} imports upward: {name}"


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if _top(p) in STATS],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_statistics_never_import_matplotlib(path):
    assert not any(n.split(".")[0] == "matplotlib" for n in _imports(path))


def test_import_ccdata_is_light():
    import subprocess
    import sys

    code = (
        "import sys, ccdata; "
        "print(any(m.startswith(('matplotlib', 'statsmodels')) for m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
