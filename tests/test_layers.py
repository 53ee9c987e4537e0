"""Layers point down only (issue 10): no import cycle between scanctl's top-level packages,
counting imports under TYPE_CHECKING and inside functions; the TOML file is parsed in one
module."""

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "scanctl"


def import_graph() -> dict[str, set[str]]:
    """Top-level unit (package or module) → the units it imports, in any scope."""
    graph: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        unit = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "scanctl" and len(parts) > 1 and parts[1] != unit:
                    graph[unit].add(parts[1])
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_top_level_packages_import_without_a_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, " → ".join(cycle)


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_bottom_layers_import_nothing_above_them():
    graph = import_graph()
    assert graph["clock"] <= {"errors"}
    assert graph["config"] <= {"errors"}
    assert graph["store"] <= {"clock", "errors", "config"}


def test_toml_is_parsed_in_one_module():
    users = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "tomllib" in path.read_text(encoding="utf-8")
    )
    assert users == ["config.py"]


def test_no_test_only_fault_hook_in_production_code():
    """Tests inject faults through the library (a substituted engine, a child that calls the
    library), never through a variable that production code reads."""
    for path in PACKAGE.rglob("*.py"):
        assert "SCANCTL_TEST" not in path.read_text(encoding="utf-8"), path
