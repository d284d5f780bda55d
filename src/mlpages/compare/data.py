"""Data inputs of a pipeline and those whose content hash differs between two snapshots.

"Data" is every ``.dvc``-tracked output, and every stage dependency that no stage produces and
that is neither code nor configuration (by suffix). The model version pages show the same
inputs as provenance.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import PurePosixPath

from mlpages.models import HashInfo, Snapshot

# Dependencies with these suffixes are code, not data, when deciding "did the data change".
CODE_SUFFIXES = frozenset(
    {".py", ".ipynb", ".r", ".sh", ".bash", ".jl", ".js", ".ts", ".scala", ".java", ".sql", ".m"}
)
# ... and these are configuration (schemas, settings), not data. JSON stays data: datasets use it.
CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".toml", ".cfg", ".ini", ".conf"})


@dataclass(frozen=True)
class DataChange:
    """A data input whose content hash differs. ``source``: tracked (.dvc file) | dep."""

    path: str
    source: str
    status: str  # modified | added | removed
    old_hash: str | None
    new_hash: str | None
    old_size: int | None = None
    new_size: int | None = None
    old_nfiles: int | None = None
    new_nfiles: int | None = None


def _inside_produced(path: str, folders: set[str]) -> bool:
    """Whether an ancestor folder of ``path`` is in ``folders`` (outputs without trailing /)."""
    at = path.find("/")
    while at >= 0:
        if path[:at] in folders:
            return True
        at = path.find("/", at + 1)
    return False


def _is_data_dep(
    path: str, produced: set[str], params_files: set[str], folders: set[str] | None = None
) -> bool:
    if path in produced or path in params_files:
        return False
    if folders is None:
        folders = {out.rstrip("/") for out in produced}
    if _inside_produced(path, folders):
        return False
    return not _code_or_config(path)


@functools.lru_cache(maxsize=65536)
def _code_or_config(path: str) -> bool:
    suffix = PurePosixPath(path).suffix.lower()
    return suffix in CODE_SUFFIXES or suffix in CONFIG_SUFFIXES


# The inputs of recent snapshots, by identity (many compare pages share one base commit).
_RECENT: OrderedDict[int, tuple[Snapshot, dict[str, tuple[str, HashInfo]]]] = OrderedDict()
_RECENT_LIMIT = 64


def data_inputs(snapshot: Snapshot) -> dict[str, tuple[str, HashInfo]]:
    """Data a pipeline reads: ``.dvc`` outputs, and unproduced stage deps not code or config.

    The returned mapping is shared between callers asking about the same snapshot object:
    read it, do not change it.
    """
    known = _RECENT.get(id(snapshot))
    if known is not None and known[0] is snapshot:
        _RECENT.move_to_end(id(snapshot))
        return known[1]
    inputs = _data_inputs(snapshot)
    _RECENT[id(snapshot)] = (snapshot, inputs)
    if len(_RECENT) > _RECENT_LIMIT:
        _RECENT.popitem(last=False)
    return inputs


def _data_inputs(snapshot: Snapshot) -> dict[str, tuple[str, HashInfo]]:
    inputs: dict[str, tuple[str, HashInfo]] = {
        info.path: ("tracked", info) for info in snapshot.tracked
    }
    produced = {o.path for s in snapshot.stages for o in s.lock_outs}
    produced |= {o.path for s in snapshot.stages for o in s.outs}
    params_files = {p.split(":", 1)[0] for s in snapshot.stages for p in s.params if ":" in p}
    params_files |= {k.split(":", 1)[0] for s in snapshot.stages for k, _ in s.lock_params}
    params_files |= set(snapshot.params)
    folders = {out.rstrip("/") for out in produced}
    for stage in snapshot.stages:
        for dep in stage.lock_deps:
            if dep.path not in inputs and _is_data_dep(dep.path, produced, params_files, folders):
                inputs[dep.path] = ("dep", dep)
    return inputs


def compare_data(base: Snapshot, head: Snapshot) -> tuple[DataChange, ...]:
    """Data inputs whose content hash differs (or that appeared or vanished)."""
    old_inputs, new_inputs = data_inputs(base), data_inputs(head)
    changes: list[DataChange] = []
    for path in sorted(set(old_inputs) | set(new_inputs)):
        old = old_inputs.get(path)
        new = new_inputs.get(path)
        old_info = old[1] if old else None
        new_info = new[1] if new else None
        if old_info and new_info and old_info.fingerprint == new_info.fingerprint:
            continue
        status = "modified" if old_info and new_info else ("added" if new_info else "removed")
        source = new[0] if new else old[0]  # type: ignore[index]
        changes.append(
            DataChange(
                path=path,
                source=source,
                status=status,
                old_hash=old_info.fingerprint if old_info else None,
                new_hash=new_info.fingerprint if new_info else None,
                old_size=old_info.size if old_info else None,
                new_size=new_info.size if new_info else None,
                old_nfiles=old_info.nfiles if old_info else None,
                new_nfiles=new_info.nfiles if new_info else None,
            )
        )
    return tuple(changes)
