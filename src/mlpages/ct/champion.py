"""Find the champion (the production model) and load its bytes from the DVC cache at its revision.

Resolution order: an explicit revision (``--champion-rev``), then the registry's production stage
(:func:`mlpages.registry.read_registry`, when that module is present), then ``gate.champion_rev``
from params; none of them means there is no champion (the gate's first run: a rubber stamp).

The model file is never checked out: its md5 comes from ``dvc.lock`` *at the champion's commit*,
and the bytes from the DVC cache (``<cache>/files/md5/ab/cdef…``, legacy ``<cache>/ab/cdef…``).
"""

from __future__ import annotations

import configparser
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpages.errors import DataError, MlpagesError


@dataclass(frozen=True)
class Champion:
    """The model the candidate is compared with."""

    sha: str
    source: str  # registry | revision
    version: str | None = None
    path: str = "models/model.pkl"  # repo-relative model path at that revision
    rev: str = ""  # what the user or registry named (tag, branch, sha)

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "sha": self.sha, "source": self.source}

    @property
    def label(self) -> str:
        return self.version or self.rev or self.sha[:12]


def _git_reader(repo: Path) -> Any:
    from mlpages.history import GitReader

    return GitReader(repo)


def resolve_revision(repo: Path, rev: str) -> str:
    """The commit sha of ``rev``; an unknown revision is a clear error."""
    with _git_reader(repo) as reader:
        sha = reader.resolve(rev)
    if sha is None:
        raise DataError(f"champion revision {rev!r} is not a commit of {repo}")
    return sha


def registry_champion(repo: Path, artifact: str, stage: str, default_path: str) -> Champion | None:
    """The version assigned to ``stage`` in the registry, or None (no registry / no assignment)."""
    try:
        from mlpages.registry import read_registry
    except ImportError:
        return None
    registry = read_registry(repo)
    if not registry.artifacts:
        return None
    name = artifact or next(
        (n for n, a in registry.artifacts.items() if getattr(a, "type", None) == "model"),
        next(iter(registry.artifacts)),
    )
    state = registry.artifacts.get(name)
    if state is None:
        return None
    version = state.stages.get(stage)
    if not version:
        return None
    match = next((v for v in state.versions if v.version == version), None)
    if match is None:
        return None
    return Champion(
        sha=match.sha,
        source="registry",
        version=version,
        path=getattr(state, "path", "") or default_path,
        rev=f"{name}#{stage}",
    )


def resolve_champion(
    repo: Path,
    *,
    explicit_rev: str = "",
    params_rev: str = "",
    artifact: str = "",
    stage: str = "prod",
    model_path: str = "models/model.pkl",
) -> Champion | None:
    """Explicit revision, else registry production stage, else params revision, else None."""
    if explicit_rev:
        sha = resolve_revision(repo, explicit_rev)
        return Champion(sha=sha, source="revision", path=model_path, rev=explicit_rev)
    found = registry_champion(repo, artifact, stage, model_path)
    if found is not None:
        return found
    if params_rev:
        sha = resolve_revision(repo, params_rev)
        return Champion(sha=sha, source="revision", path=model_path, rev=params_rev)
    return None


# --- dvc.lock and the cache ----------------------------------------------------------------------


def read_blob_at(repo: Path, sha: str, path: str) -> bytes | None:
    """The content of ``path`` in commit ``sha`` (None when the commit has no such file)."""
    with _git_reader(repo) as reader:
        commit = reader.read_commits([sha]).get(sha)
        if commit is None:
            return None
        entry = reader.lookup(commit.tree, path)
        if entry is None or not entry.is_blob:
            return None
        blob = reader.read_blob(entry.sha)
    return None if blob is None else blob[1]


def locked_output(lock_text: str, path: str) -> tuple[str, bool, str] | None:
    """(md5, is DVC-3 hash, path inside a directory output or "") of ``path`` in dvc.lock."""
    import yaml

    try:
        lock = yaml.safe_load(lock_text) or {}
    except yaml.YAMLError:
        return None
    stages = lock.get("stages", lock) if isinstance(lock, dict) else {}
    target = path.strip("/")
    for stage in stages.values() if isinstance(stages, dict) else ():
        if not isinstance(stage, dict):
            continue
        for out in stage.get("outs") or ():
            if not isinstance(out, dict) or not out.get("md5"):
                continue
            out_path = str(out.get("path", "")).strip("/")
            if out_path == target:
                return str(out["md5"]), out.get("hash") == "md5", ""
            if str(out["md5"]).endswith(".dir") and target.startswith(out_path + "/"):
                return str(out["md5"]), out.get("hash") == "md5", target[len(out_path) + 1 :]
    return None


def cache_dir(repo: Path) -> Path:
    """The DVC cache folder of ``repo`` (``cache.dir`` of .dvc/config(.local), else .dvc/cache)."""
    for name in ("config.local", "config"):
        config_file = repo / ".dvc" / name
        if not config_file.is_file():
            continue
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read_string(config_file.read_text())
        except (configparser.Error, UnicodeDecodeError):
            continue
        if parser.has_option("cache", "dir"):
            configured = Path(parser.get("cache", "dir").strip("'\""))
            return configured if configured.is_absolute() else (repo / ".dvc" / configured)
    return repo / ".dvc" / "cache"


def cache_object(cache: Path, md5: str, dvc3: bool) -> Path:
    """Where an object lives in the cache (DVC 3 layout or the legacy one)."""
    base = cache / "files" / "md5" if dvc3 else cache
    return base / md5[:2] / md5[2:]


def champion_model_bytes(repo: Path, champion: Champion) -> bytes:
    """The champion's model file from the DVC cache, by the md5 in its revision's dvc.lock."""
    where = f"champion {champion.label} ({champion.sha[:12]})"
    lock = read_blob_at(repo, champion.sha, "dvc.lock")
    if lock is None:
        raise DataError(f"{where}: the commit has no dvc.lock")
    found = locked_output(lock.decode("utf-8", "replace"), champion.path)
    if found is None:
        raise DataError(f"{where}: {champion.path} is not an output in its dvc.lock")
    md5, dvc3, inner = found
    cache = cache_dir(repo)
    candidates = [cache_object(cache, md5, dvc3), cache_object(cache, md5, not dvc3)]
    obj = next((p for p in candidates if p.is_file()), None)
    if obj is None:
        raise DataError(
            f"{where}: {champion.path} (md5 {md5}) is not in the DVC cache; run `dvc fetch` "
            "for that revision (or `dvc pull`)"
        )
    if not inner:
        return obj.read_bytes()
    try:
        listing = json.loads(obj.read_text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise MlpagesError(f"{where}: unreadable directory listing {obj}: {exc}") from None
    entry = next((e for e in listing if e.get("relpath") == inner), None)
    if entry is None:
        raise DataError(f"{where}: {champion.path} is not in its directory output")
    file_obj = cache_object(cache, str(entry["md5"]), dvc3)
    if not file_obj.is_file():
        raise DataError(f"{where}: {champion.path} (md5 {entry['md5']}) is not in the DVC cache")
    return file_obj.read_bytes()
