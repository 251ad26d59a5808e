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
    "fusion.config.compose",
    "fusion.config.schema",
    "fusion.errors",
    "fusion.plugins",
    "fusion.profiling",
    "fusion.config.overrides",
    "fusion.methods.segments",
    "fusion.references",
    "fusion.references.gold_explanation",
    "fusion.references.passage",
    "fusion.evaluate.fluency",
    "fusion.evaluate.answer_end",
    "fusion.evaluate.agreement",
    "fusion.evaluate.judges.rules",
    "fusion.evaluate.judges.rules_claims",
    "fusion.evaluate.judges.rules_tokens",
    "fusion.evaluate.judges.factory",
    "fusion.evaluate.strict",
    "fusion.commands.grade",
    "fusion.tracking.answers",
    "fusion.evaluate.outcomes",
    "fusion.evaluate.metrics",
    "fusion.evaluate.scoring",
    "fusion.data.simpleqa",
    "fusion.records",
    "fusion.report.stats",
    "fusion.config.targets",
    "fusion.model.sources",
    "fusion.job.preflight",
    "fusion.report.build",
    "fusion.report.text",
    "fusion.report.verdicts",
    "fusion.report.ordering",
    "fusion.report.replication",
    "fusion.report.provenance",
    "fusion.report.runs",
    "fusion.report.groups",
    "fusion.report.labels",
    "fusion.report.pairs",
    "fusion.report.summary",
    "fusion.report.comparison",
    "fusion.report.adjudication",
    "fusion.report.hand",
    "fusion.report.plots",
    "fusion.bench.parity",
    "fusion.tracking.runs",
    "fusion.tracking.traces",
    "fusion.tracking.datasets",
    "fusion.tracking.studies",
    "fusion.tracking.scorer",
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
    """Imports inside functions count too: a cycle closed by a deferred import still ties the two
    modules together, and breaks the day the import moves to the top."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {m: {d for d in lazy_imports(p) if d in modules and d != m} for m, p in modules.items()}
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph[module]):
            if state.get(dep) == 1:
                pytest.fail("import cycle: " + " -> ".join([*path[path.index(dep) :], dep]))
            if dep not in state:
                visit(dep, [*path, dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_every_module_imports_on_its_own():
    code = "import importlib, sys\nfor m in sys.argv[1:]:\n    importlib.import_module(m)\n"
    # a package's __main__ runs its command when imported: it is an entry point, not a module
    modules = sorted(module_name(p) for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")
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


# the subpackages from the ground up: each imports only those before it (and the ground modules),
# never one after it; the entry points (fusion.commands, fusion.run) sit on top
LAYERS = [
    "methods",
    "references",
    "config",
    "data",
    "model",
    "evaluate",
    "tracking",
    "report",
    "search",
    "job",
    "bench",
]
GROUND = {"fusion.errors", "fusion.records", "fusion.paths", "fusion.plugins", "fusion.profiling"}


def layer_of(module: str) -> int:
    if module in GROUND:
        return -1
    if module.endswith(".__main__"):  # ``python -m fusion.report``: an entry point, like the commands
        return len(LAYERS)
    part = module.split(".")[1] if module.count(".") else ""
    return LAYERS.index(part) if part in LAYERS else len(LAYERS)  # the entry points: above every layer


def test_each_subpackage_imports_only_those_below_it():
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    wrong = []
    for module, path in modules.items():
        for dep in top_level_imports(path) | lazy_imports(path):
            if dep in modules and dep != "fusion" and layer_of(dep) > layer_of(module):
                wrong.append(f"{module} -> {dep}")
    assert not wrong, "a subpackage imports one above it: " + ", ".join(sorted(wrong))


def lazy_imports(path) -> set[str]:
    """Modules of this package imported anywhere in ``path``, inside functions too, but not in an
    ``if TYPE_CHECKING:`` block (it never runs)."""
    found = set()
    stack: list[ast.AST] = [ast.parse(path.read_text())]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fusion"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("fusion"))
        stack.extend(ast.iter_child_nodes(node))
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def test_the_public_api_names_are_what_the_package_exports():
    import fusion

    assert set(fusion.__all__) == {*fusion._API, "__version__"}


# the package's size limits (the project's style): small modules, short functions
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 80


def test_no_module_over_300_lines_and_no_function_over_80():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        name = module_name(path)
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long.append(f"{name}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{name}.{node.name}: {length} lines")
    assert not too_long, "over the size limits: " + ", ".join(too_long)
