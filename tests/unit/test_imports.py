"""The package's shape: no import cycles, and the torch-free part stays torch-free."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from tests.helpers import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "fusion"
# config, data, scoring, report: importable (and fast) without torch
TORCH_FREE = [
    "fusion.config",
    "fusion.schema",
    "fusion.errors",
    "fusion.overrides",
    "fusion.segments",
    "fusion.outcomes",
    "fusion.metrics",
    "fusion.scoring",
    "fusion.data",
    "fusion.records",
    "fusion.stats",
    "fusion.targets",
    "fusion.sources",
    "fusion.preflight",
    "fusion.report",
    "fusion.report_text",
    "fusion.plots",
    "fusion.parity",
    "fusion.tracking",
    "fusion.traces",
    "fusion.datasets",
    "fusion.studies",
]


def module_name(path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path) -> set[str]:
    """Modules of this package imported when ``path`` is imported (not inside functions or
    ``if TYPE_CHECKING``): the edges along which a cycle would bite."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fusion"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("fusion"))
    return found


def test_no_import_cycle_among_fusion_modules():
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: {d for d in top_level_imports(p) if d in modules and d != m} for m, p in modules.items()}
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in graph[module]:
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(dep) :], dep]))
            if dep not in state:
                visit(dep, [*path, dep])
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])


def test_every_module_imports_on_its_own():
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    modules = sorted(module_name(p) for p in PACKAGE.rglob("*.py"))
    result = subprocess.run(
        [sys.executable, "-c", code, *modules], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_torch_free_modules_do_not_import_torch():
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\nprint(sorted(k for k in ('torch', 'transformers') if k in sys.modules))\n"
    result = subprocess.run(
        [sys.executable, "-c", code, *TORCH_FREE], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
