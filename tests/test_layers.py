"""The package's layers, named once: a module may import its own layer and the layers below it,
never one above, and no set of modules may import each other in a loop (imports inside functions
count too: a lazy import is still a dependency)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "fraudft"

# Bottom up. A top-level module or sub-package of fraudft belongs to the layer that names it.
LAYERS = (
    ("core", "configs"),
    ("task",),
    ("data",),
    ("synthetic",),
    ("modeling",),
    ("audit",),
    ("metrics",),
    ("engine",),
    ("results",),
    ("experiment",),
    ("cli",),
)
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ("fraudft", *path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the fraudft modules it imports (a `from package import name` of a sub-module
    counts as that sub-module)."""
    mods = modules()

    def owner(name: str) -> str:
        while name not in mods:
            name = name.rpartition(".")[0]
        return name

    graph = {}
    for name, path in mods.items():
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the module's package
                    anchor = name.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                if not base.startswith("fraudft"):
                    continue
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in mods else owner(base))
            elif isinstance(node, ast.Import):
                targets |= {owner(a.name) for a in node.names if a.name.startswith("fraudft")}
        graph[name] = targets - {name}
    return graph


def layer(module: str) -> int | None:
    parts = module.split(".")
    return RANK.get(parts[1]) if len(parts) > 1 else None


def test_every_part_of_the_package_has_a_layer():
    parts = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()
             if p.name != "__init__.py" and (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert parts <= set(RANK), f"name the layer of {sorted(parts - set(RANK))} in LAYERS"
    assert not {p for p in parts if (PACKAGE / f"{p}.py").exists()}, "modules live in the layers' folders"


def test_no_upward_import():
    upward = [f"{a} -> {b}" for a, targets in import_graph().items() for b in targets
              if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(sorted(upward))


def test_no_import_cycle():
    graph = import_graph()
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def connect(v):  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in graph:
        if v not in index:
            connect(v)
    assert not cycles, "modules that import each other in a loop:\n" + "\n".join(map(", ".join, cycles))


@pytest.mark.parametrize("module", ["fraudft.results.table"])
def test_the_graph_sees_imports(module):
    assert "fraudft.metrics.stats" in import_graph()[module]  # guards the test against reading nothing
