"""The pipeline DAG of a snapshot: edges from outs to deps, a layered layout, drawn as inline SVG.

The layout is computed here (longest-path layers, barycentre ordering); the SVG itself is written by
the ``_partials/dag.html`` template so every label goes through autoescaping.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlpages.models import Stage
from mlpages.site.urls import slug

NODE_H = 34
LAYER_GAP = 46
NODE_GAP = 18
MARGIN = 8
CHAR_W = 7.0
WRAP_LAYERS = 12  # layers per column before the layout wraps into a new column
COLUMN_GAP = 48
WRAP_PAD = 16  # room above and below the nodes for the connectors between columns


@dataclass(frozen=True)
class DagNode:
    key: str
    label: str  # possibly shortened; the full key is in the tooltip
    status: str  # same | modified | added | unlocked | frozen
    x: float
    y: float
    w: float
    h: float
    anchor: str  # fragment id of the stage's details on the page


@dataclass(frozen=True)
class DagEdge:
    source: str
    target: str
    path: str  # SVG path data
    skipped: int = 0  # stages hidden on this edge (condensed layout); 0 = a direct edge
    label_x: float = 0.0
    label_y: float = 0.0


@dataclass(frozen=True)
class DagLayout:
    nodes: tuple[DagNode, ...]
    edges: tuple[DagEdge, ...]
    width: float
    height: float
    hidden: int = 0  # stages left out of a condensed layout


def condense(
    keys: list[str], edges: list[tuple[str, str]], focus: set[str], limit: int
) -> tuple[list[str], list[tuple[str, str, int]]]:
    """Keep ``focus`` and its neighbours (at most ``limit`` stages, sources and sinks when nothing
    is in focus); join kept stages linked through hidden ones with an edge counting them."""
    succs: dict[str, list[str]] = {k: [] for k in keys}
    preds: dict[str, list[str]] = {k: [] for k in keys}
    for s, t in edges:
        succs[s].append(t)
        preds[t].append(s)
    kept = set(focus)
    for key in focus:
        kept.update(succs[key])
        kept.update(preds[key])
    if not kept:
        kept = {k for k in keys if not preds[k] or not succs[k]}
    ordered = [k for k in keys if k in kept][:limit]
    kept = set(ordered)
    joined: list[tuple[str, str, int]] = []
    for source in ordered:
        # Walk forward through hidden stages to the next kept ones (shortest hidden run).
        best: dict[str, int] = {}
        frontier = [(t, 0) for t in succs[source]]
        seen: set[str] = set()
        while frontier:
            node, hops = frontier.pop(0)
            if node in kept:
                best.setdefault(node, hops)
                continue
            if node in seen:
                continue
            seen.add(node)
            frontier.extend((t, hops + 1) for t in succs[node])
        joined.extend((source, target, hops) for target, hops in best.items())
    return ordered, joined


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


_EDGE_MEMO: dict[tuple, list[tuple[str, str]]] = {}
_SHAPES: dict[tuple, tuple[tuple[Stage, ...], tuple]] = {}
MEMO_LIMIT = 2048  # distinct pipeline shapes remembered (a long history has a few hundred)


def _bounded_put(memo: dict, key: tuple, value: object) -> None:
    if len(memo) >= MEMO_LIMIT:
        del memo[next(iter(memo))]
    memo[key] = value


def pipeline_shape(stages: tuple[Stage, ...]) -> tuple:
    """(key, deps, out paths) of every stage; the same stage objects give the same tuple."""
    ids = tuple(map(id, stages))
    hit = _SHAPES.get(ids)
    if hit is not None:
        return hit[1]
    shape = tuple((s.key, s.deps, tuple(o.path for o in s.outs)) for s in stages)
    _bounded_put(_SHAPES, ids, (tuple(stages), shape))  # held: the ids stay theirs
    return shape


def stage_edges(stages: tuple[Stage, ...]) -> list[tuple[str, str]]:
    """(producer, consumer) pairs: a stage depends on a path another stage outputs (or on a
    folder holding it, or on a file inside an output folder)."""
    shape = pipeline_shape(stages)
    memo = _EDGE_MEMO.get(shape)
    if memo is not None:
        return memo
    exact: dict[str, set[str]] = {}  # output path -> producers
    below: dict[str, set[str]] = {}  # folder -> producers of outputs inside it
    for key, _, outs in shape:
        for out in outs:
            out = out.rstrip("/")
            exact.setdefault(out, set()).add(key)
            for folder in _ancestors(out):
                below.setdefault(folder, set()).add(key)
    edges: list[tuple[str, str]] = []
    for key, deps, _ in shape:
        producers: set[str] = set()
        for dep in deps:
            dep = dep.rstrip("/")
            producers |= exact.get(dep, set()) | below.get(dep, set())
            for folder in _ancestors(dep):
                producers |= exact.get(folder, set())
        order = [k for k, _, _ in shape if k in producers and k != key]
        edges.extend((producer, key) for producer in order)
    _bounded_put(_EDGE_MEMO, shape, edges)
    return edges


def _layers(keys: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    layer = dict.fromkeys(keys, 0)
    # Longest path from the sources; bounded so a (malformed) cycle cannot loop forever.
    for _ in range(len(keys)):
        moved = False
        for source, target in edges:
            if layer[target] < layer[source] + 1:
                layer[target] = layer[source] + 1
                moved = True
        if not moved:
            break
    return layer


def _order(rows: list[list[str]], edges: list[tuple[str, str]]) -> list[list[str]]:
    preds: dict[str, list[str]] = {}
    succs: dict[str, list[str]] = {}
    for s, t in edges:
        preds.setdefault(t, []).append(s)
        succs.setdefault(s, []).append(t)
    for sweep in range(4):
        neighbours = preds if sweep % 2 == 0 else succs
        sequence = rows[1:] if sweep % 2 == 0 else rows[-2::-1]
        reference = rows[:-1] if sweep % 2 == 0 else rows[:0:-1]
        for row, ref in zip(sequence, reference, strict=True):
            position = {k: i for i, k in enumerate(ref)}
            # list.sort empties the list while it runs: take current places before sorting.
            current = {k: i for i, k in enumerate(row)}

            def centre(
                key: str,
                current: dict = current,
                position: dict = position,
                neighbours: dict = neighbours,
            ) -> float:
                near = [position[n] for n in neighbours.get(key, []) if n in position]
                return sum(near) / len(near) if near else current[key]

            row.sort(key=centre)
    return rows


@dataclass(frozen=True)
class _Grid:
    """Where the layers go: ``per_column`` layers per column, each column's left edge and width."""

    per_column: int
    col_x: list[float]
    col_widths: list[float]
    row_widths: list[float]
    top: float
    width: float
    height: float


def _grid(rows: list[list[str]], widths: dict[str, float]) -> _Grid:
    """Long pipelines wrap into columns of WRAP_LAYERS layers (read top to bottom, then the
    next column), so a 150-stage chain is a few screens wide instead of 12,000 px tall."""
    row_widths = [sum(widths[k] for k in row) + NODE_GAP * (len(row) - 1) for row in rows]
    per_column = WRAP_LAYERS if len(rows) > WRAP_LAYERS else max(len(rows), 1)
    columns = [rows[i : i + per_column] for i in range(0, len(rows), per_column)] or [[]]
    col_widths = [
        max(row_widths[c * per_column : c * per_column + len(col)], default=0)
        for c, col in enumerate(columns)
    ]
    col_x = [MARGIN + sum(col_widths[:c]) + COLUMN_GAP * c for c in range(len(columns))]
    top = MARGIN + (WRAP_PAD if len(columns) > 1 else 0)
    width = col_x[-1] + col_widths[-1] + MARGIN
    height = top + per_column * NODE_H + (per_column - 1) * LAYER_GAP + MARGIN
    if len(columns) > 1:
        height += WRAP_PAD
    return _Grid(per_column, col_x, col_widths, row_widths, top, width, height)


def _place_nodes(
    rows: list[list[str]],
    grid: _Grid,
    by_key: dict[str, Stage],
    status: dict[str, str],
    widths: dict[str, float],
) -> tuple[dict[str, DagNode], dict[str, int]]:
    """Every node centred in its layer's row of its column; and the column of each node."""
    nodes: dict[str, DagNode] = {}
    column_of: dict[str, int] = {}
    for index, row in enumerate(rows):
        column = index // grid.per_column
        x = grid.col_x[column] + (grid.col_widths[column] - grid.row_widths[index]) / 2
        y = grid.top + (index % grid.per_column) * (NODE_H + LAYER_GAP)
        for key in row:
            w = widths[key]
            max_chars = int((w - 28) / CHAR_W)
            label = key if len(key) <= max_chars else key[: max_chars - 1] + "…"
            state = status.get(key, "same")
            if state == "same" and by_key[key].frozen:
                state = "frozen"
            nodes[key] = DagNode(key, label, state, x, y, w, NODE_H, anchor_id(key))
            column_of[key] = column
            x += w + NODE_GAP
    return nodes, column_of


def _edge_path(
    source: str,
    target: str,
    nodes: dict[str, DagNode],
    grid: _Grid,
    between: list[DagNode],
    column_of: dict[str, int],
) -> tuple[str, tuple[float, float], float]:
    """SVG path data of one edge, where its label goes, and how far right it reaches."""
    a, b = nodes[source], nodes[target]
    x1, y1 = a.x + a.w / 2, a.y + a.h
    x2, y2 = b.x + b.w / 2, b.y
    side = 0.0
    if column_of[source] != column_of[target]:
        # Into a later column: down below the nodes, along the bottom to the gap before the
        # target's column, up above the nodes, along the top, down into the target.
        gap = grid.col_x[column_of[target]] - COLUMN_GAP / 2
        low, high = grid.height - MARGIN - WRAP_PAD / 2, MARGIN + WRAP_PAD / 2
        d = f"M{x1:.1f},{y1:.1f} V{low:.1f} H{gap:.1f} V{high:.1f} H{x2:.1f} V"
        return d + f"{y2 - 1:.1f}", (gap + 4, high - 3), side
    if between:
        # A long edge would cross the stages in between: go round their right side.
        x1, x2 = a.x + a.w * 0.8, b.x + b.w * 0.8
        bypass = max(n.x + n.w for n in between) + 14
        side = bypass + MARGIN
        d = f"M{x1:.1f},{y1:.1f} C{bypass:.1f},{y1 + 30:.1f} {bypass:.1f},{y2 - 30:.1f} "
    else:
        bend = max((y2 - y1) / 2, 12)
        d = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} "
    d += f"{x2:.1f},"
    return d + f"{y2 - 1:.1f}", ((x1 + x2) / 2 + 6, (y1 + y2) / 2 + 4), side


_LAYOUT_MEMO: dict[tuple, DagLayout] = {}
_QUICK_MEMO: dict[tuple, tuple[tuple[Stage, ...], DagLayout]] = {}
_LAYOUT_MEMO_LIMIT = 512


def layout_dag(
    stages: tuple[Stage, ...], status: dict[str, str] | None = None, limit: int | None = None
) -> DagLayout:
    """Place the stages in layers (top to bottom) and route the edges.

    With ``limit`` and more stages than that, the layout is condensed to the stages whose status
    is not ``same`` and their neighbours; the hidden ones are counted on dashed edges.
    Layouts are memoised on what they depend on (pipeline shape, statuses, limit): the commits of
    a long history share a few hundred shapes.
    """
    status = status or {}
    marks = tuple(sorted(status.items()))
    quick = (tuple(map(id, stages)), marks, limit)  # the same stage objects: the same layout
    hit = _QUICK_MEMO.get(quick)
    if hit is not None:
        return hit[1]
    memo_key = (pipeline_shape(stages), tuple(s.frozen for s in stages), marks, limit)
    found = _LAYOUT_MEMO.get(memo_key)
    if found is None:
        found = _layout(stages, status, limit)
        _remember(_LAYOUT_MEMO, memo_key, found)
    _remember(_QUICK_MEMO, quick, (stages, found))  # holding the stages keeps their ids theirs
    return found


def _remember(memo: dict, key: tuple, value: object) -> None:
    if len(memo) >= _LAYOUT_MEMO_LIMIT:
        del memo[next(iter(memo))]
    memo[key] = value


def _layout(stages: tuple[Stage, ...], status: dict[str, str], limit: int | None) -> DagLayout:
    keys = [s.key for s in stages]
    full_edges = stage_edges(stages)
    weighted = [(s, t, 0) for s, t in full_edges]
    hidden = 0
    if limit is not None and len(keys) > limit:
        focus = {k for k in keys if status.get(k, "same") != "same"}
        kept, weighted = condense(keys, full_edges, focus, limit)
        hidden = len(keys) - len(kept)
        keys = kept
    edges = [(s, t) for s, t, _ in weighted]
    skipped = {(s, t): n for s, t, n in weighted}
    layer = _layers(keys, edges)
    rows: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for key in keys:
        rows[layer[key]].append(key)
    rows = _order(rows, edges)
    widths = {k: min(max(len(k) * CHAR_W + 28, 96), 230) for k in keys}
    grid = _grid(rows, widths)
    nodes, column_of = _place_nodes(rows, grid, {s.key: s for s in stages}, status, widths)
    paths = []
    width = grid.width
    for source, target in edges:
        between = [
            nodes[k]
            for r in rows[layer[source] + 1 : layer[target]]
            for k in r
            if column_of[k] == column_of[source]
        ]
        d, label, side = _edge_path(source, target, nodes, grid, between, column_of)
        width = max(width, side)
        paths.append(DagEdge(source, target, d, skipped[(source, target)], label[0], label[1]))
    return DagLayout(tuple(nodes[k] for k in keys), tuple(paths), width, grid.height, hidden)


def anchor_id(stage_key: str) -> str:
    """A safe fragment id for a stage (stage keys may contain ':' and '@')."""
    return "stage-" + slug(stage_key)
