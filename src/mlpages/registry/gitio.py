"""The model registry of a repository, read from its GTO-format git tags.

``read_registry(repo)`` reads every tag with ONE ``git for-each-ref`` call and the artifact
declarations (``dvc.yaml`` ``artifacts:``, sub-folder ``dvc.yaml`` files, a legacy
``artifacts.yaml``) at the tagged commits and at HEAD through the git reader's ONE ``git cat-file
--batch`` (three git processes in all with its ``rev-parse``, whatever the number of tags), then
resolves the state with GTO's default semantics (see :mod:`mlpages.registry.state`). Git runs
only through :mod:`mlpages.gitread`: reads never prompt nor lazy-fetch a partial clone's objects.
The gate uses :func:`production_version` and :func:`model_hash_at` to find the champion and load
it from the DVC cache by hash.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from pathlib import Path

from mlpages.dvcfiles.dotdvc import parse_dvc_file
from mlpages.dvcfiles.dvcyaml import parse_dvc_yaml
from mlpages.dvcfiles.lock import parse_dvc_lock
from mlpages.dvcfiles.lockentry import lock_only_stage, merge_lock
from mlpages.dvcfiles.structured import load_yaml_text
from mlpages.errors import ConfigError, NotAGitRepository, RegistryError
from mlpages.gitread.process import GitFailed, run_git
from mlpages.gitread.reader import GitReader
from mlpages.models import HashInfo
from mlpages.registry.state import Declaration, ModelVersion, Registry, resolve_registry
from mlpages.registry.tags import TagRecord, group_tags

GTO_CONFIG = ".gto"
_FIELDS = (
    "%(refname)",
    "%(objecttype)",
    "%(*objectname)",
    "%(*objecttype)",
    "%(taggername)",
    "%(taggeremail)",
    "%(taggerdate:unix)",
    "%(contents:signature)",
    "%(contents)",
)


# --- git ---------------------------------------------------------------------------------------


def git(repo: Path, *args: str, prompt: bool = False) -> bytes:
    """Run git in ``repo``; a failure becomes a RegistryError with git's own message."""
    try:
        return run_git(repo, *args, prompt=prompt)
    except FileNotFoundError:
        raise NotAGitRepository(f"{repo}: no such folder") from None
    except GitFailed as exc:
        text = exc.message or f"git {args[0]} failed"
        if "not a git repository" in text.lower():
            raise NotAGitRepository(f"{repo}: not a git repository") from None
        raise RegistryError(text) from None


def _tree_of(reader: GitReader, rev: str) -> tuple[str, str]:
    """(commit sha, root tree) of ``rev``; RegistryError when it does not name a commit."""
    sha = reader.resolve(rev)
    commit = reader.read_commits([sha]).get(sha) if sha else None
    if sha is None or commit is None:
        raise RegistryError(f"{rev!r} is not a commit in {reader.root}")
    return sha, commit.tree


def read_tags(repo: Path) -> list[TagRecord]:
    """Every annotated tag pointing at a commit (lightweight tags are ignored, as GTO does)."""
    fmt = "%00".join(_FIELDS) + "%00"
    raw = git(repo, "for-each-ref", f"--format={fmt}", "refs/tags").decode("utf-8", "replace")
    parts = raw.split("\0")
    records = []
    width = len(_FIELDS)
    for start in range(0, len(parts) - width + 1, width):
        ref, objtype, peeled, peeled_type, tagger, email, date, signature, message = parts[
            start : start + width
        ]
        if signature and signature in message:  # a signed tag: the message alone, as GTO reads it
            message = message[: message.rindex(signature)]
        ref = ref.lstrip("\n")
        if objtype != "tag" or peeled_type != "commit":
            continue
        records.append(
            TagRecord(
                name=ref.removeprefix("refs/tags/"),
                sha=peeled,
                time=int(date) if date.strip().lstrip("-").isdigit() else 0,
                author=tagger,
                author_email=email.strip().removeprefix("<").removesuffix(">"),
                message=message.strip(),
            )
        )
    return records


def resolve_commit(repo: Path, rev: str) -> str:
    """The commit sha of ``rev``; RegistryError when it does not name a commit."""
    try:
        return git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
    except RegistryError:
        raise RegistryError(f"{rev!r} is not a commit in {repo}") from None


def _join(folder: str, path: str) -> str:
    if "://" in path:  # remote storage (s3://bucket/model.pkl): kept as written
        return path
    return posixpath.normpath(posixpath.join(folder, path)) if folder else posixpath.normpath(path)


def parse_declarations(dvcfile: str, data: bytes | None) -> dict[str, Declaration]:
    """Artifacts declared in one dvc.yaml (``folder:name`` outside the root) or artifacts.yaml."""
    # Not text, broken, over the node budget: no declarations (the snapshot reports why).
    raw = load_yaml_text(data, dvcfile)[0] if data is not None else None
    if not isinstance(raw, dict):
        return {}
    folder = posixpath.dirname(dvcfile)
    if posixpath.basename(dvcfile) == "artifacts.yaml":
        section, name_prefix = raw, ""
    else:
        section, name_prefix = raw.get("artifacts"), f"{folder}:" if folder else ""
    if not isinstance(section, dict):
        return {}
    found = {}
    for key, spec in section.items():
        spec = spec if isinstance(spec, dict) else {}
        path = spec.get("path")
        name = f"{name_prefix}{key}"
        found[name] = Declaration(
            name=name,
            path=_join(folder, str(path)) if path else "",
            type=str(spec["type"]) if spec.get("type") is not None else None,
            desc=str(spec.get("desc") or spec.get("description") or ""),
            source=dvcfile,
        )
    return found


def declaring_files(name: str) -> tuple[str, ...]:
    """The files that may declare artifact ``name``: ``cv:seg`` -> cv/dvc.yaml."""
    if ":" in name:
        folder = name.rsplit(":", 1)[0].strip("/")
        return (f"{folder}/dvc.yaml",)
    return ("dvc.yaml", "artifacts.yaml")


def declarations_at(
    repo: Path, rev: str, names: Iterable[str] | None = None
) -> dict[str, Declaration]:
    """Artifacts declared at ``rev``; all of them (every dvc.yaml) when ``names`` is None."""
    with GitReader(Path(repo)) as reader:
        return _declarations(reader, rev, names)


def _declarations(
    reader: GitReader, rev: str, names: Iterable[str] | None
) -> dict[str, Declaration]:
    sha, tree = _tree_of(reader, rev)
    if names is None:
        files = [
            f
            for f, _ in reader.walk_blobs(tree)
            if f in ("dvc.yaml", "artifacts.yaml") or f.endswith("/dvc.yaml")
        ]
    else:
        files = sorted({f for n in names for f in declaring_files(n)})
    blobs = reader.read_files(f"{sha}:{f}" for f in files)
    found: dict[str, Declaration] = {}
    for file in files:
        for name, declaration in parse_declarations(file, blobs.get(f"{sha}:{file}")).items():
            found.setdefault(name, declaration)  # dvc.yaml wins over a legacy artifacts.yaml
    return found


def allowed_stages(repo: Path) -> tuple[str, ...] | None:
    """Stages allowed by ``.gto`` (``stages: [dev, prod]``); None when any stage is allowed."""
    config = Path(repo) / GTO_CONFIG
    if not config.exists():
        return None
    raw = load_yaml_text(config.read_bytes(), GTO_CONFIG)[0]  # unreadable: any stage
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ConfigError(f"{config}: expected a mapping (stages: [...])")
    stages = raw.get("stages")
    if stages is None:
        return None
    if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
        raise ConfigError(f"{config}: 'stages' must be a list of names")
    return tuple(stages)


def read_registry(repo: Path) -> Registry:
    """The registry of ``repo``: versions, stages and events from its GTO tags."""
    repo = Path(repo)
    with GitReader(repo) as reader:
        tags = read_tags(repo)
        grouped = group_tags(tags)
        head = reader.resolve("HEAD")  # None in an empty repository
        specs: dict[tuple[str, str], None] = {}
        for name, artifact_tags in grouped.items():
            for tag in artifact_tags:
                for file in declaring_files(name):
                    specs[(tag.sha, file)] = None
        blobs = reader.read_files(f"{sha}:{file}" for sha, file in specs)
        declarations = _declarations(reader, head, None) if head else {}
    parsed: dict[tuple[str, bytes | None], dict[str, Declaration]] = {}  # same blob, one parse

    def declared_path(name: str, sha: str) -> str | None:
        for file in declaring_files(name):
            data = blobs[f"{sha}:{file}"]
            if (file, data) not in parsed:
                parsed[(file, data)] = parse_declarations(file, data)
            if name in parsed[(file, data)]:
                return parsed[(file, data)][name].path
        return None

    paths = {
        name: {tag.sha: declared_path(name, tag.sha) for tag in artifact_tags}
        for name, artifact_tags in grouped.items()
    }
    return resolve_registry(tags, declarations, paths, allowed_stages(repo))


def production_version(repo: Path, artifact: str, stage: str = "prod") -> ModelVersion | None:
    """The version of ``artifact`` holding ``stage`` now (the gate's champion), or None."""
    state = read_registry(repo).artifacts.get(artifact)
    if state is None or state.deprecated:
        return None
    return state.holder(stage)


# --- the artifact's hash at a commit (dvc.lock / .dvc files) ----------------------------------


def _outputs(reader: GitReader, rev: str) -> list[HashInfo]:
    """Every output recorded at ``rev`` in its dvc.lock and .dvc files (repo-relative).

    Parsed with :mod:`mlpages.dvcfiles` (stage ``wdir``, ``foreach``/``matrix`` names, DVC 1-3
    lock schemas); the files, and the vars files templating reads, through the one reader.
    """
    sha, tree = _tree_of(reader, rev)
    files = [f for f, _ in reader.walk_blobs(tree) if not f.startswith(".dvc/")]
    locks = [f for f in files if posixpath.basename(f) == "dvc.lock"]
    dvcs = [f for f in files if f.endswith(".dvc")]
    yamls = [posixpath.join(posixpath.dirname(f), "dvc.yaml") for f in locks]
    blobs = reader.read_files(f"{sha}:{f}" for f in locks + dvcs + yamls)

    def read_file(path: str) -> bytes | None:
        return reader.read_files([f"{sha}:{path}"])[f"{sha}:{path}"]

    outs: list[HashInfo] = []
    for lock_path, yaml_path in zip(locks, yamls, strict=True):
        lock = parse_dvc_lock(blobs.get(f"{sha}:{lock_path}") or b"", lock_path)
        yaml_data = blobs.get(f"{sha}:{yaml_path}")
        declared = parse_dvc_yaml(yaml_data, yaml_path, read_file).stages if yaml_data else ()
        by_name = {stage.name: stage for stage in declared}
        for name, entry in lock.stages.items():
            stage = by_name.get(name) or lock_only_stage(name, entry, yaml_path)
            outs.extend(merge_lock(stage, entry).lock_outs)
    for file in dvcs:
        outs.extend(parse_dvc_file(blobs.get(f"{sha}:{file}") or b"", file)[0])
    return outs


def _hash_in(outs: list[HashInfo], artifact_path: str) -> HashInfo | None:
    target = posixpath.normpath(artifact_path)
    exact = next((o for o in outs if o.path == target), None)
    if exact is not None:
        return exact
    covering = [o for o in outs if target.startswith(o.path.rstrip("/") + "/")]
    return max(covering, key=lambda o: len(o.path)) if covering else None


def model_hash_at(repo: Path, sha: str, artifact_path: str) -> HashInfo | None:
    """The hash recorded at ``sha`` for ``artifact_path`` (or for the directory output holding it).

    An exact output wins; for a file inside a directory output the directory's entry is returned
    (its ``path`` says so, and its ``.dir`` listing in the cache names the file).
    """
    with GitReader(Path(repo)) as reader:
        return _hash_in(_outputs(reader, sha), artifact_path)


def artifact_present_at(repo: Path, sha: str, path: str) -> bool:
    """True when ``path`` is in git or a recorded DVC output at ``sha`` (no path, URL: True)."""
    if not path or "://" in path:  # a virtual artifact (no path) or remote storage
        return True
    with GitReader(Path(repo)) as reader:
        _, tree = _tree_of(reader, sha)
        if reader.lookup(tree, path) is not None:
            return True
        return _hash_in(_outputs(reader, sha), path) is not None
