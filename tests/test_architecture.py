"""The layer diagram of STYLE.md, checked by parsing every module's imports.

``ALLOWED`` is the explicit table: a top-level module or subpackage of
``ccdata`` may import only the modules listed against it. Shared private leaf
modules at the root (``ccdata._params``, ``ccdata._intervals``, ...) are the
one place private code is shared; no module imports another subpackage's
private modules or private names.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

import ccdata

SRC = Path(__file__).resolve().parents[1] / "src" / "ccdata"

#: Shared leaf modules: importable by anything, importing only ``errors``.
LEAVES = {"errors", "_params", "_intervals", "_wording", "_periods", "_text"}
_LEAF = LEAVES | set()
STATS_BASE = _LEAF | {"schemas"}

ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "_params": {"errors"},
    "_intervals": {"errors"},
    "_wording": {"errors", "_params"},
    "_periods": {"errors", "_params"},
    "_text": {"errors"},
    "schemas": {"errors", "_params", "_text"},
    "validation": STATS_BASE,
    "io": STATS_BASE | {"validation"},
    "sample_data": _LEAF,
    "completeness": STATS_BASE,
    "comparison": _LEAF,
    "variation": _LEAF,
    "risk": _LEAF,
    "survey": STATS_BASE | {"comparison"},
    "engine": STATS_BASE | {"validation", "io", "completeness", "risk"},
    "plot": _LEAF | {"comparison", "variation", "risk", "completeness", "survey"},
    "report": STATS_BASE
    | {
        "validation",
        "io",
        "sample_data",
        "completeness",
        "comparison",
        "variation",
        "risk",
        "survey",
        "engine",
        "plot",
    },
    "cli": STATS_BASE
    | {"validation", "io", "sample_data", "report", "engine", "completeness"},
}
STATS = {
    "completeness",
    "risk",
    "comparison",
    "variation",
    "schemas",
    "io",
    "validation",
    "survey",
}


def _top(module_path: Path) -> str:
    rel = module_path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, tuple(a.name for a in node.names)


MODULES = sorted(p for p in SRC.rglob("*.py") if _top(p) != "__init__")


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_follow_the_table(path):
    top = _top(path)
    assert top in ALLOWED, f"{top} is not placed in the ALLOWED table"
    for name, _ in _imports(path):
        parts = name.split(".")
        if parts[0] != "ccdata":
            continue
        assert len(parts) > 1, f"{path}: never import from the package root"
        target = parts[1]
        assert target in ALLOWED, f"{path} imports unknown module {name}"
        if target != top:
            assert target in ALLOWED[top], (
                f"{path} imports {name}, but {top} may import only "
                f"{sorted(ALLOWED[top])}"
            )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_private_names_of_another_module(path):
    top = _top(path)
    for name, names in _imports(path):
        parts = name.split(".")
        if parts[0] != "ccdata" or len(parts) < 2 or parts[1] == top:
            continue
        private_modules = [p for p in parts[2:] if p.startswith("_")]
        assert not private_modules, f"{path} imports a private module: {name}"
        private_names = [n for n in names if n.startswith("_")]
        assert not private_names, f"{path} imports private {private_names} from {name}"


def test_allowed_table_has_no_cycle():
    seen: dict[str, int] = {}

    def visit(node: str, stack: tuple[str, ...]) -> None:
        assert node not in stack, f"import cycle: {' -> '.join((*stack, node))}"
        if seen.get(node):
            return
        for nxt in ALLOWED[node]:
            visit(nxt, (*stack, node))
        seen[node] = 1

    for node in ALLOWED:
        visit(node, ())


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if _top(p) in STATS],
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_statistics_never_import_matplotlib(path):
    assert not any(n.split(".")[0] == "matplotlib" for n, _ in _imports(path))


def test_import_ccdata_is_light():
    code = (
        "import sys, ccdata; "
        "print(sorted({m.split('.')[0] for m in sys.modules "
        "if m.startswith(('matplotlib', 'statsmodels', 'duckdb', 'ibis'))}))"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def _public_modules():
    for info in pkgutil.walk_packages(ccdata.__path__, "ccdata."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        yield info.name


PUBLIC_MODULES = sorted(_public_modules())


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_import_gives_the_module(name):
    """``import ccdata.x as m`` is the module, with every name of its ``__all__``."""
    module = importlib.import_module(name)
    parent, _, child = name.rpartition(".")
    attr = getattr(importlib.import_module(parent), child)
    assert isinstance(attr, types.ModuleType), f"{name} is shadowed by {attr!r}"
    assert attr is module
    for public in getattr(module, "__all__", ()):
        assert hasattr(module, public), f"{name}.__all__ lists missing {public!r}"


def test_no_module_and_function_share_a_name():
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for public in getattr(module, "__all__", ()):
            full = f"{name}.{public}"
            assert full not in sys.modules or isinstance(
                getattr(module, public), types.ModuleType
            ), f"{full} is both a module and {getattr(module, public)!r}"


def test_root_namespace_is_explicit():
    tree = ast.parse((SRC / "__init__.py").read_text(encoding="utf-8"))
    assigned = [
        node
        for node in tree.body
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
    ]
    assert len(assigned) == 1 and isinstance(assigned[0].value, ast.List)
    assert all(isinstance(e, ast.Constant) for e in assigned[0].value.elts)
    assert "globals()" not in (SRC / "__init__.py").read_text(encoding="utf-8")
    assert set(dir(ccdata)) == set(ccdata.__all__)
    for leaked in ("Any", "annotations", "importlib"):
        assert leaked not in dir(ccdata)
    for public in ccdata.__all__:
        assert getattr(ccdata, public) is not None


def test_errors_and_warnings_live_in_errors():
    from ccdata import errors

    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for public in getattr(module, "__all__", ()):
            obj = getattr(module, public)
            if isinstance(obj, type) and issubclass(obj, (Exception, Warning)):
                assert obj.__module__ == "ccdata.errors", f"{name}.{public}"
                assert getattr(errors, public) is obj


def test_old_schema_error_name_is_deprecated():
    from ccdata import errors

    with pytest.warns(FutureWarning, match="SchemaDefinitionError"):
        old = errors.SchemaError
    assert old is errors.SchemaDefinitionError
