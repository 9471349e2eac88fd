"""The package's imports, walked from the source: the product holds no harness, no test double runs in a kernel,
and no two modules or subpackages import each other round a cycle (ARCHITECTURE.md)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGE = REPO / "solution"
SELF_CHECKS = ("tools", "tests")  # what the product may never import


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, package: str) -> set[str]:
    """Every name an import statement anywhere in the file reaches, functions' lazy imports included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return found


def _graph(paths: Iterable[Path]) -> dict[str, set[str]]:
    """Module -> the package's modules it imports; scripts outside the package are keyed by their path."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in paths:
        name = _module_name(path) if path.is_relative_to(PACKAGE) else str(path.relative_to(REPO))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = {target for target in _imported(path, package) if target in modules and target != name}
    return graph


PACKAGE_GRAPH = _graph(PACKAGE.rglob("*.py"))


def _reachable(graph: dict[str, set[str]], starts: Iterable[str]) -> set[str]:
    seen, stack = set(), list(starts)
    while stack:
        name = stack.pop()
        if name not in seen:
            seen.add(name)
            stack.extend(graph.get(name, ()))
            parent = name.rpartition(".")[0]  # importing a.b.c runs a.b's __init__ first
            stack.extend([parent] if parent else [])
    return seen


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _subpackage(module: str) -> str:
    """solution.training.fit -> training; solution.__main__ -> __main__; solution (its version) -> solution."""
    return module.split(".")[1] if "." in module else module


def test_the_product_imports_no_harness_and_no_test():
    offending = {
        module: sorted(name for name in _imported(path, module) if name.split(".")[0] in SELF_CHECKS)
        for module, path in ((_module_name(path), path) for path in PACKAGE.rglob("*.py"))
    }
    assert not {module: names for module, names in offending.items() if names}


def test_no_module_and_no_subpackage_imports_round_a_cycle():
    assert _cycles(PACKAGE_GRAPH) == []
    subpackages: dict[str, set[str]] = {}
    for module, targets in PACKAGE_GRAPH.items():
        edges = subpackages.setdefault(_subpackage(module), set())
        edges |= {_subpackage(target) for target in targets} - {_subpackage(module)}
    assert _cycles(subpackages) == []


def test_a_cycle_is_found_where_there_is_one():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _entry_scripts(folder: str) -> list[Path]:
    return sorted((REPO / folder).glob("*.py")) + sorted((REPO / folder).glob("*/kernel.py"))


@pytest.fixture(scope="module")
def product_graph() -> dict[str, set[str]]:
    return {**PACKAGE_GRAPH, **_graph(_entry_scripts("demo") + _entry_scripts("kernels"))}


def test_every_module_of_the_package_serves_a_users_command_a_demo_or_a_kernel(product_graph):
    """A module reached only from tests or tools/ is a harness or dead code, and belongs outside the package."""
    makefile = re.findall(r"from (solution[\w.]*) import", (REPO / "Makefile").read_text())  # make demo's photo
    entries = ["solution.__main__", *makefile] + [name for name in product_graph if name.endswith(".py")]
    assert len(entries) > 10, entries  # the three demo scripts and every kernel's script were found
    unreached = set(PACKAGE_GRAPH) - _reachable(product_graph, entries)
    assert sorted(unreached) == []


def test_no_stand_in_runs_inside_a_kaggle_kernel(product_graph):
    kernels = [name for name in product_graph if name.startswith("kernels/")]
    reached = _reachable(product_graph, kernels)
    assert "solution.kaggle.kernel_runtime" in reached
    assert sorted(name for name in reached if name.startswith("solution.standins")) == []
