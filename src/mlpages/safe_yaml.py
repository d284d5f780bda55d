"""YAML of a repository, loaded with a budget: aliases cannot make a small file huge.

PyYAML composes a document into a node graph, then constructs Python objects from it. An alias is
a second reference to an earlier node, so a 342-byte "billion laughs" composes to a few dozen
nodes and constructs cheaply (shared objects), yet every reader that walks the result — flattening
params, json-dumping a list, interpolating ``${}`` — meets 9**9 strings. Before constructing,
:func:`load_yaml` counts the composed graph as such a reader meets it (every alias expanded, a
string one node per :data:`CHARS_PER_NODE` characters; memoised, so counting costs one pass over
the distinct nodes) and refuses the document past its budget with :class:`TooLargeError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

MAX_YAML_NODES = 2_000_000  # a real 1 MB dvc.lock of 155 stages has about 100,000
MAX_STAGES = 10_000  # stages of one commit after foreach/matrix expansion
CHARS_PER_NODE = 16


class TooLargeError(Exception):
    """Repository content over a budget: YAML nodes, expanded stages, interpolated text."""


def text_cost(text: str) -> int:
    """What a string counts against a node budget."""
    return 1 + len(text) // CHARS_PER_NODE


Expansion = tuple[int, list[Any]]  # (cost of the node and its leaf children, other children)


def graph_size(root: Any, expand: Callable[[Any], Expansion], limit: int) -> int:
    """Size of the tree a graph unfolds into (shared parts counted at every reference).

    Each distinct node is expanded once. A cycle (a recursive alias) unfolds forever and, like a
    total over ``limit``, raises :class:`TooLargeError`.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, Expansion | None]] = [(root, None)]
    while stack:
        node, expansion = stack.pop()
        key = id(node)
        if expansion is not None:  # second visit: every child is sized
            on_path.discard(key)
            own, kids = expansion
            total = own + sum(sizes[id(kid)] for kid in kids)
            if total > limit:
                raise TooLargeError(f"over max_yaml_nodes={limit:,} once aliases are expanded")
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise TooLargeError("a recursive alias: the document never ends")
        expansion = expand(node)
        on_path.add(key)
        stack.append((node, expansion))
        stack.extend((kid, None) for kid in expansion[1] if id(kid) not in sizes)
    return sizes[id(root)]


def _expand_node(node: Any) -> Expansion:
    """A composed YAML node: scalars are summed on the spot (most nodes are scalars)."""
    if node.id == "scalar":
        return text_cost(node.value), []
    flat = [part for pair in node.value for part in pair] if node.id == "mapping" else node.value
    own, kids = 1, []
    for kid in flat:
        if kid.id == "scalar":
            own += 1 + len(kid.value) // CHARS_PER_NODE
        else:
            kids.append(kid)
    return own, kids


def load_yaml_sized(data: bytes | str, max_nodes: int = MAX_YAML_NODES) -> tuple[Any, int]:
    """The document and its expanded size, 0 when it has no alias (then no bigger than its text).

    Raises :class:`TooLargeError` past ``max_nodes`` and yaml.YAMLError on bad YAML.
    """
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(data)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, 0
        alias = "*" if isinstance(data, str) else b"*"
        if alias not in data and 2 * len(data) <= max_nodes:
            # Without an alias nothing is shared: the tree is no bigger than the text (flow
            # collections such as [?,?] reach 1.5 nodes per character, hence the factor 2).
            size = 0
        else:
            size = graph_size(node, _expand_node, max_nodes)
        return loader.construct_document(node), size
    finally:
        loader.dispose()


def load_yaml(data: bytes | str, max_nodes: int = MAX_YAML_NODES) -> Any:
    """Parse YAML (safe loader, libyaml when built) within a node budget.

    Raises :class:`TooLargeError` past ``max_nodes`` and yaml.YAMLError on bad YAML.
    """
    return load_yaml_sized(data, max_nodes)[0]


def _expand_object(item: Any) -> Expansion:
    if isinstance(item, dict):
        flat: Iterable[Any] = [part for pair in item.items() for part in pair]
    elif isinstance(item, list | tuple):
        flat = item
    else:
        return (text_cost(item) if isinstance(item, str) else 1), []
    own, kids = 1, []
    for kid in flat:
        if isinstance(kid, dict | list | tuple):
            kids.append(kid)
        else:
            own += text_cost(kid) if isinstance(kid, str) else 1
    return own, kids


def object_size(value: Any, limit: int) -> int:
    """Expanded size of loaded data (dicts, lists, strings), counted like a YAML document."""
    return graph_size(value, _expand_object, limit)
