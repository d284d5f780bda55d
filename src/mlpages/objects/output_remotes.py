"""Remotes that outputs name for themselves (``remote:`` in dvc.yaml or a .dvc file).

DVC pushes such an output to that remote instead of the default one, so a report looks for it
there after the default remote. The names come from the work tree's DVC files (listed by git);
each is only a key into the user's own DVC configuration.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlpages.gitread.process import run_git
from mlpages.safe_yaml import TooLargeError, load_yaml

MAX_FILE_BYTES = 2_000_000  # a DVC file larger than this is not scanned for names


def _entries(doc: Any) -> Iterator[dict]:
    """Option mappings of outputs: ``{path: {remote: …}}`` in stages, ``- remote:`` in .dvc."""
    if not isinstance(doc, dict):
        return
    for out in doc.get("outs") or []:  # a .dvc file
        if isinstance(out, dict):
            yield out
    stages = doc.get("stages")
    for stage in stages.values() if isinstance(stages, dict) else []:
        if not isinstance(stage, dict):
            continue
        for section in ("outs", "metrics", "plots"):
            for item in stage.get(section) or []:
                if isinstance(item, dict):
                    yield from (v for v in item.values() if isinstance(v, dict))


def output_remote_names(root: Path) -> list[str]:
    """Names given by ``remote:`` of outputs in the work tree's dvc.yaml and .dvc files."""
    import yaml

    listed = run_git(root, "ls-files", "-z", "--", "dvc.yaml", "*/dvc.yaml", "*.dvc", check=False)
    names: dict[str, None] = {}
    for raw in listed.split(b"\0"):
        if not raw:
            continue
        path = root / os.fsdecode(raw)
        try:
            if path.is_symlink() or path.stat().st_size > MAX_FILE_BYTES:
                continue
            doc = load_yaml(path.read_bytes())  # within the node budget of every YAML read
        except (OSError, yaml.YAMLError, TooLargeError):
            continue
        for entry in _entries(doc):
            name = entry.get("remote")
            if isinstance(name, str) and name:
                names[name] = None
    return list(names)
