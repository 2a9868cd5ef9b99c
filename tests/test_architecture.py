"""The house rules of sim/ (docs/ARCHITECTURE.md, "Layout"), checked on the source with the stdlib ``ast``.

- No import cycle between sim modules, counting imports inside functions too (a lazy import does not
  make a cycle go away); only imports under ``if TYPE_CHECKING:`` are left out (they never run).
- Arrows point one way: the faces (``sim`` itself, ``sim.api``, ``sim.cli``, ``sim.sweep``) are imported
  by nothing below them; ``sim.model`` imports neither the engine nor anything above it; ``sim.engine``
  imports neither ``sim.outputs`` nor ``sim.validation`` nor a face.
- ``kernels`` imports nothing of ``sim`` (pure array maths).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FACES = {"sim", "sim.api", "sim.cli", "sim.__main__", "sim.sweep"}
# package -> what its modules must never import (a name and everything below it)
FORBIDDEN = {
    "sim.model": ("sim.engine", "sim.outputs", "sim.validation", "sim.planning", *FACES),
    "sim.engine": ("sim.outputs", "sim.validation", "sim.planning", *FACES),
    "sim.outputs": ("sim.validation", "sim.planning", *FACES),
    "sim.validation": ("sim.outputs", "sim.planning", *FACES),
    "sim.planning": ("sim.outputs", "sim.validation", *FACES),
    "kernels": ("sim",),
}
SHARED = ("sim.config", "sim.errors", "sim._version")  # imported by anyone, import no sim module


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / package).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_imports(tree: ast.AST):
    """Import nodes that can run (everything except the bodies of ``if TYPE_CHECKING:``)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def imported_modules(path: Path, known: set[str], extra_source: str = "") -> set[str]:
    """The project modules a file imports: ``from sim.x import y`` is sim.x.y when that is a module."""
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    found = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8") + "\n" + extra_source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:  # relative import
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for name in names:
            while name and name not in known:  # `import sim.model.geo` names the module; attributes fall back
                name = name.rpartition(".")[0]
            if name and name != this:
                found.add(name)
    return found


def import_graph(added: dict[str, str] | None = None) -> dict[str, set[str]]:
    """Module -> project modules it imports; ``added`` appends source to modules (to test the test)."""
    modules = {**all_modules("sim"), **all_modules("kernels")}
    known, added = set(modules), added or {}
    return {name: imported_modules(path, known, added.get(name, "")) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, or None (iterative depth-first search)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        path, iters = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while path:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(sorted(graph.get(nxt, ()))))
    return None


def _within(name: str, prefix: str) -> bool:
    """``name`` is the module ``prefix`` or inside the package ``prefix`` (a face is one module only)."""
    return name == prefix or (prefix not in FACES and name.startswith(prefix + "."))


def rule_breaks(graph: dict[str, set[str]]) -> list[str]:
    breaks = []
    for module, targets in graph.items():
        for package, forbidden in FORBIDDEN.items():
            if _within(module, package):
                breaks += [f"{module} imports {t}" for t in sorted(targets)
                           if any(_within(t, f) for f in forbidden)]
        if module in FACES:
            continue
        breaks += [f"{module} imports the face {t}" for t in sorted(targets & FACES) if module not in FACES]
        if module in SHARED:
            breaks += [f"{module} (shared) imports {t}" for t in sorted(targets)]
    return breaks


def test_no_import_cycle_between_sim_modules():
    cycle = _cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_imports_point_one_way():
    assert rule_breaks(import_graph()) == []


def test_every_module_of_sim_is_in_a_room():
    rooms = ("sim.model", "sim.engine", "sim.outputs", "sim.validation", "sim.planning")
    loose = [m for m in all_modules("sim") if m not in FACES | set(SHARED) and not any(_within(m, r) for r in rooms)]
    assert loose == []


@pytest.mark.parametrize("module, source, target", [
    ("sim.model.geo", "from sim.api import run\n", "sim.api"),
    ("sim.engine.evaluate", "def f():\n    from sim.outputs import tables\n", "sim.outputs.tables"),
])
def test_the_checks_catch_a_bad_import(module, source, target):
    """A model or engine module that imports a face or an output (even inside a function) is caught,
    and so is the cycle it closes."""
    good, bad = import_graph(), import_graph({module: source})
    assert target in bad[module] and target not in good[module]
    assert any(line.startswith(f"{module} imports") for line in rule_breaks(bad))
    assert _cycle(bad) is not None
