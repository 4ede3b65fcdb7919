"""The shape of the package: no import cycles, small modules, short functions (read with ``ast``, nothing imported).

Limits: a module holds at most :data:`MAX_MODULE_LINES` lines; a function at most :data:`MAX_FUNCTION_CODE`
lines of code (non-blank, non-comment lines, its docstring excluded). Imports count wherever they stand (module
level or inside a function), so a cycle cannot hide behind a function-level import; ``if TYPE_CHECKING:`` blocks
are not imports at run time and are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "routerisk"
MAX_MODULE_LINES = 500
MAX_FUNCTION_CODE = 80


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    t = node.test
    return (isinstance(t, ast.Name) and t.id == "TYPE_CHECKING") or (
        isinstance(t, ast.Attribute) and t.attr == "TYPE_CHECKING"
    )


def _imports(name: str, path: Path) -> set[str]:
    """routerisk modules imported by ``name`` (resolving relative imports and ``from pkg import module``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            skip.update(id(n) for b in node.body for n in ast.walk(b))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("routerisk"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join([*base, node.module] if node.module else base)
            else:
                mod = node.module or ""
            if not mod.startswith("routerisk"):
                continue
            found.add(mod)
            for a in node.names:  # `from . import maps` imports the submodule
                if f"{mod}.{a.name}" in MODULES:
                    found.add(f"{mod}.{a.name}")
    return {m for m in found if m in MODULES and m != name}


def _graph() -> dict[str, set[str]]:
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    # importing a.b.c runs a/__init__ and a.b/__init__ first: a package's own __init__ is not a cycle with its
    # children unless it imports them back, which the edges above already say
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _package_edges_removed(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Drop edges from a package's ``__init__`` to its own submodules (re-exports), which cannot form a cycle
    at import time unless a submodule imports the package back for a name it has not defined yet; those back
    edges are kept, so such a cycle still shows."""
    out = {}
    for name, deps in graph.items():
        path = MODULES[name]
        if path.name == "__init__.py":
            deps = {d for d in deps if not d.startswith(name + ".")}
        out[name] = deps
    return out


def test_the_import_graph_is_read():
    graph = _graph()
    assert "routerisk.engine" in graph["routerisk.scoring"]
    assert "routerisk.kernels" in graph["routerisk.engine"]
    assert any(graph.values())


def test_no_import_cycles():
    cycles = _cycles(_package_edges_removed(_graph()))
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_the_cycle_detector_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_size(name):
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{name}: {lines} lines (limit {MAX_MODULE_LINES}); it is doing two jobs"


def _code_lines(node: ast.AST, source: list[str]) -> int:
    body = getattr(node, "body", [])
    doc = set()
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        doc = set(range(first.lineno, first.end_lineno + 1))
    n = 0
    for i in range(node.lineno, node.end_lineno + 1):
        text = source[i - 1].strip()
        if text and not text.startswith("#") and i not in doc:
            n += 1
    return n


def _long_functions() -> list[str]:
    out = []
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(source))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _code_lines(node, source)
                if n > MAX_FUNCTION_CODE:
                    out.append(f"{name}.{node.name}: {n} lines of code")
    return out


def test_no_long_functions():
    long = _long_functions()
    assert not long, f"functions over {MAX_FUNCTION_CODE} lines of code: " + "; ".join(long)


def test_code_line_counter_on_a_hand_made_function():
    src = 'def f(x):\n    """Doc\n\n    more."""\n    # comment\n\n    y = x\n    return y\n'
    node = ast.parse(src).body[0]
    assert _code_lines(node, src.splitlines()) == 3  # def, y = x, return y
