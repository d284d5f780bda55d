"""``.dvc`` files (``dvc add`` / ``dvc import``) and the legacy GTO ``artifacts.yaml`` (pure)."""

from __future__ import annotations

from mlpages.dvcfiles.dvcyaml import parse_artifacts
from mlpages.dvcfiles.lockentry import parse_hash_entry
from mlpages.dvcfiles.paths import dirname, join
from mlpages.dvcfiles.structured import load_yaml_text
from mlpages.models import Artifact, HashInfo, Problem
from mlpages.safe_yaml import MAX_YAML_NODES


def parse_dvc_file(
    data: bytes, path: str, max_nodes: int = MAX_YAML_NODES
) -> tuple[tuple[HashInfo, ...], tuple[Problem, ...]]:
    """The outputs of a ``.dvc`` file (``dvc add``/``dvc import``), repo-relative."""
    raw, problems = load_yaml_text(data, path, max_nodes)
    if problems:
        return (), problems
    if raw is None:
        return (), ()
    if not isinstance(raw, dict):
        return (), (Problem("bad-type", path, "a .dvc file must be a mapping"),)
    base = (
        join(dirname(path), str(raw["wdir"])) if isinstance(raw.get("wdir"), str) else dirname(path)
    )
    outs = raw.get("outs")
    items = outs if isinstance(outs, list) else []
    return tuple(h for h in (parse_hash_entry(i, base) for i in items) if h is not None), ()


def parse_artifacts_yaml(
    data: bytes, path: str, max_nodes: int = MAX_YAML_NODES
) -> tuple[tuple[Artifact, ...], tuple[Problem, ...]]:
    """A legacy (GTO) artifacts.yaml: ``name: {path, type, description, labels}``."""
    raw, problems = load_yaml_text(data, path, max_nodes)
    if problems:
        return (), problems
    if isinstance(raw, dict):
        raw = {
            k: {**v, "desc": v.get("desc") or v.get("description") or ""}
            for k, v in raw.items()
            if isinstance(v, dict)
        }
    return parse_artifacts(raw, path, path)
