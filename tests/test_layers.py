"""Imports run one way: cli -> sweep (orchestration: sweeps and horizon studies) ->
training -> data -> contract; tracking is used by training and sweep and itself uses
only contract. Checked on the source, import statement by import statement (top-level
and inside functions)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rnnbench"

# layer -> the rnnbench layers it may import (besides itself and the public helpers
# rnnbench, rnnbench.nn, rnnbench.params, rnnbench.taskkit, rnnbench.testing)
ALLOWED = {
    "contract": set(),
    "data": {"contract"},
    "tracking": {"contract"},
    "training": {"contract", "data", "tracking"},
    "sweep": {"contract", "data", "tracking", "training"},
    "cli": {"contract", "data", "tracking", "training", "sweep"},
}
PUBLIC = {"rnnbench", "_api", "nn", "params", "taskkit", "testing"}


def layer_of(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_layers(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            if name == "rnnbench" or name.startswith("rnnbench."):
                parts = name.split(".")
                found.add(parts[1] if len(parts) > 1 else "rnnbench")
    return found


@pytest.mark.parametrize(
    "path", sorted(p for p in PACKAGE.rglob("*.py") if layer_of(p) in ALLOWED), ids=str
)
def test_no_module_imports_a_higher_layer(path):
    layer = layer_of(path)
    wrong = imported_layers(path) - ALLOWED[layer] - {layer} - PUBLIC
    assert not wrong, f"{path.relative_to(PACKAGE)} ({layer}) imports {sorted(wrong)}"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the rnnbench modules it imports (anywhere in its source, TYPE_CHECKING
    blocks included); `from package import name` counts as the submodule when one exists."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
                found |= {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_import_cycle_between_modules():
    """No two rnnbench modules import each other, directly or through others (package
    __init__ re-exports aside: a package importing its own submodules is no cycle)."""
    graph = import_graph()
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start and len(path) > 1:
                    cycles.append(" -> ".join([*path, start]))
                elif nxt not in path and nxt > start:  # each cycle once, from its least module
                    stack.append((nxt, [*path, nxt]))
    packages = {m for m in graph if (PACKAGE.parent / m.replace(".", "/") / "__init__.py").exists()}
    real = [
        c
        for c in cycles
        if not any(c.split(" -> ")[i] in packages for i in range(len(c.split(" -> "))))
    ]
    assert not real, real


BUILT_IN_NAMES = {
    "adding",
    "copy",
    "listops",
    "text-classification",
    "language-modelling",
    "rnn",
    "birnn",
    "lstm",
    "gru",
    "textrnn",
    "rcnn",
    "memnet",
}


def code_strings(tree: ast.AST) -> list[str]:
    """String constants of the code, docstrings left out."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_no_core_module_names_a_built_in_plugin():
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "cli":
            continue  # a command's defaults and help texts may name examples
        strings = code_strings(ast.parse(path.read_text()))
        named = sorted(
            {
                s
                for s in strings
                if s in BUILT_IN_NAMES or s.startswith(("rnnbench_models", "rnnbench_tasks"))
            }
        )
        assert not named, f"{path.relative_to(PACKAGE)} names {named}"
