"""The code layout rules of docs/internals.md, checked on the source itself (no import, no run).

Modules ≤ 450 lines, functions ≤ 80 lines (`def` to last line), no import cycles between mlpages
modules (function-level imports count, except inside `mlpages.commands.*`, whose lazy imports keep
`--help` fast), and template lines ≤ 160 characters.
"""

from __future__ import annotations

import ast
import itertools
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "mlpages"
TEMPLATES = PACKAGE / "site" / "templates"

MAX_MODULE_LINES = 450
MAX_FUNCTION_LINES = 80
MAX_TEMPLATE_LINE = 160
# Function-level imports in these packages are the CLI's lazy loading, not a layer climbing back up.
LAZY_IMPORT_PACKAGES = ("mlpages.commands",)


def module_name(path: Path) -> str:
    """`src/mlpages/site/build.py` → `mlpages.site.build`; a package's `__init__` → the package."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


@cache
def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def where(path: Path, line: int | None = None) -> str:
    shown = path.relative_to(SRC.parent)
    return f"{shown}:{line}" if line is not None else str(shown)


def test_the_tree_is_found():
    assert "mlpages.cli" in modules() and "mlpages.site.build" in modules()
    assert any(TEMPLATES.rglob("*.html"))


def test_modules_are_at_most_450_lines():
    too_long = []
    for path in modules().values():
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > MAX_MODULE_LINES:
            # file:line of the first line past the limit
            too_long.append(
                f"{where(path, MAX_MODULE_LINES + 1)}: {count} lines (max {MAX_MODULE_LINES})"
            )
    assert not too_long, "\n".join(too_long)


def long_functions(path: Path) -> list[str]:
    found = []
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            # From the `def` line: a click command's option decorators are declarations, not logic.
            count = node.end_lineno - node.lineno + 1
            if count > MAX_FUNCTION_LINES:
                found.append(
                    f"{where(path, node.lineno)}: {node.name} is {count} lines"
                    f" (max {MAX_FUNCTION_LINES})"
                )
    return found


def test_functions_are_at_most_80_lines():
    too_long = [finding for path in modules().values() for finding in long_functions(path)]
    assert not too_long, "\n".join(too_long)


def resolve_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imported_modules(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The mlpages modules an import statement loads (its target; for `from`, its submodules)."""
    known = modules()
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        origin = node.module
        if node.level:
            origin = resolve_relative(module, path.name == "__init__.py", node.level, node.module)
        # `from mlpages.a import b` needs the module mlpages.a.b when b is one, else mlpages.a.
        submodules = [f"{origin}.{alias.name}" for alias in node.names]
        names = [name for name in submodules if name in known]
        if len(names) < len(submodules):
            names.append(origin)
    # Loading a submodule also runs its packages' __init__; only the named modules count as edges,
    # so a package __init__ that re-exports its children is not reported as a cycle with them.
    return [name for name in names if name in known and name != module]


def function_level_imports(tree: ast.Module) -> set[int]:
    """Ids of the import nodes nested inside a function body."""
    nested: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    nested.add(id(inner))
    return nested


def is_type_checking_block(node: ast.AST) -> bool:
    test = getattr(node, "test", None)
    return isinstance(node, ast.If) and (
        (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING")
        or (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
    )


def type_checking_imports(tree: ast.Module) -> set[int]:
    """Imports under `if TYPE_CHECKING:` never run, so they cannot form a cycle."""
    return {
        id(inner)
        for node in ast.walk(tree)
        if is_type_checking_block(node)
        for inner in ast.walk(node)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    }


@cache
def import_graph() -> dict[str, dict[str, int]]:
    """module → {imported module: line of the first such import}."""
    graph: dict[str, dict[str, int]] = {}
    for module, path in modules().items():
        tree = parsed(path)
        lazy_ok = module.startswith(LAZY_IMPORT_PACKAGES)
        nested = function_level_imports(tree)
        skipped = type_checking_imports(tree)
        edges: dict[str, int] = {}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in skipped:
                continue
            if lazy_ok and id(node) in nested:
                continue
            for target in imported_modules(module, path, node):
                edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def find_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle per strongly connected component (Tarjan), each as a closed path a → … → a."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, {})):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, {}):
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [cycle_path(graph, set(component)) for component in components]


def cycle_path(graph: dict[str, dict[str, int]], component: set[str]) -> list[str]:
    """A shortest closed path inside one strongly connected component, from its first module."""
    start = min(component)
    parent: dict[str, str] = {start: start}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(graph[node]):
                if target == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return [*path[::-1], start]
                if target in component and target not in parent:
                    parent[target] = node
                    following.append(target)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


def describe_cycle(graph: dict[str, dict[str, int]], cycle: list[str]) -> str:
    hops = []
    for source, target in itertools.pairwise(cycle):
        hops.append(f"  {where(modules()[source], graph[source][target])} imports {target}")
    return " → ".join(cycle) + "\n" + "\n".join(hops)


def test_find_cycles_reports_the_path():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b": 1}, "b": {}}) == []


def test_relative_imports_resolve():
    assert resolve_relative("mlpages.site.build", False, 1, "urls") == "mlpages.site.urls"
    assert resolve_relative("mlpages.site", True, 1, "build") == "mlpages.site.build"
    assert resolve_relative("mlpages.site.pages.runs", False, 2, None) == "mlpages.site"


def test_there_are_no_import_cycles():
    graph = import_graph()
    assert any(graph.values()), "the import graph is empty: the parser found no mlpages imports"
    cycles = find_cycles(graph)
    assert not cycles, "import cycles between mlpages modules:\n" + "\n".join(
        describe_cycle(graph, cycle) for cycle in cycles
    )


def test_template_lines_are_at_most_160_characters():
    too_long = []
    for path in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if len(line) > MAX_TEMPLATE_LINE:
                too_long.append(
                    f"{where(path, number)}: {len(line)} characters (max {MAX_TEMPLATE_LINE})"
                )
    assert any(TEMPLATES.rglob("*")), f"no templates under {TEMPLATES}"
    assert not too_long, "\n".join(too_long)


INTERNALS = SRC.parent / "docs" / "internals.md"
BASE_MODULES = {
    "errors",
    "models",
    "settings",
    "config",
    "reports",
    "safe_yaml",
    "text",
    "worktree",
}


def internals_tree() -> set[str]:
    """The first word of each line of the tree in docs/internals.md (paths in src/mlpages)."""
    text = INTERNALS.read_text(encoding="utf-8")
    section = text.split("## The tree: one line per module\n", 1)[1]
    block = section.split("```\n", 2)[1]
    return {line.split()[0] for line in block.splitlines() if line.strip()}


def listed_as(path: Path) -> str:
    """How docs/internals.md names a module: `site/build.py`, and a package by its folder."""
    relative = path.relative_to(PACKAGE).as_posix()
    if path.name == "__init__.py" and path.parent != PACKAGE:
        return relative.removesuffix("__init__.py")
    return relative


def test_every_module_is_in_the_internals_tree():
    listed = internals_tree()
    expected = {listed_as(path) for path in modules().values()}
    missing = sorted(expected - listed)
    assert not missing, f"{where(INTERNALS)}: modules missing from the tree: {', '.join(missing)}"
    gone = sorted(listed - expected)
    assert not gone, f"{where(INTERNALS)}: the tree lists modules that do not exist: {gone}"


def layer_of(module: str) -> str:
    """The row of the layering table a module belongs to: its package, `base` or `cli`."""
    parts = module.split(".")
    if len(parts) == 1 or parts[1] in BASE_MODULES:
        return "base"  # `mlpages` itself is the package __init__ (the version)
    if parts[1] in ("cli", "__main__"):
        return "cli"
    return parts[1]


def layering_table() -> dict[str, set[str]]:
    """`| package | may import |` rows of docs/internals.md → {package: allowed packages}."""
    text = INTERNALS.read_text(encoding="utf-8")
    section = text.split("## Layering: who may import whom\n", 1)[1].split("\n## ", 1)[0]
    table: dict[str, set[str]] = {}
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            table[cells[0].strip("`")] = {name.strip() for name in cells[1].split(",")}
    return table


def test_imports_follow_the_layering_table():
    table = layering_table()
    assert "site" in table and "base" in table["site"], f"{where(INTERNALS)}: no layering table"
    graph = import_graph()
    wrong = []
    for module, edges in sorted(graph.items()):
        source = layer_of(module)
        if source not in table:
            wrong.append(f"{where(modules()[module])}: package {source} has no layering row")
            continue
        for target, line in sorted(edges.items()):
            layer = layer_of(target)
            if layer != source and layer not in table[source]:
                wrong.append(f"{where(modules()[module], line)}: {source} imports {target}")
    assert not wrong, f"imports against the table of {where(INTERNALS)}:\n" + "\n".join(wrong)
