"""What `mlpages init` finds in a repository: branch, DVC project, remote, stages, artifacts.

Read from the work tree the way the site reads it (``snapshot_of(repo, None, config)``) plus
git's own idea of the default branch and ``.dvc/config``. Nothing here writes.
"""

from __future__ import annotations

import math
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mlpages.errors import NotADvcRepository

CT_COMMANDS = ("validate", "gate", "monitor")  # `mlpages <command>` stages continuous training uses


@dataclass(frozen=True)
class RemoteNeeds:
    """A DVC remote type and what a CI runner needs to read and write it."""

    kind: str  # s3 | azure | gs | http | ssh | local | other | none
    name: str = ""
    url: str = ""
    extras: str = ""  # pip extras of mlpages for this remote type
    secrets: tuple[str, ...] = ()  # environment variables the dvc steps need, one secret each
    variables: tuple[tuple[str, str], ...] = ()  # (env name, repository variable name)
    note: str = ""


@dataclass(frozen=True)
class Findings:
    root: Path  # the git work tree
    dvc_root: str  # "." or the sub-folder of a `dvc init --subdir` project
    branch: str
    remote: RemoteNeeds
    model_artifacts: tuple[str, ...]
    ct_stages: dict[str, str]  # mlpages command -> stage name
    stage_names: tuple[str, ...]
    key_metrics: tuple[str, ...]
    code_paths: tuple[str, ...]  # git-tracked dependencies of the stages (retrain when changed)
    has_config: bool  # mlpages.yaml or [tool.mlpages] exists
    has_gto: bool
    problems: tuple[str, ...] = field(default_factory=tuple)


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def default_branch(root: Path) -> str:
    """origin's HEAD, else the checked-out branch, else git's init.defaultBranch, else main."""
    origin = _git(root, "symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD")
    if origin.startswith("origin/"):
        return origin.removeprefix("origin/")
    current = _git(root, "symbolic-ref", "--quiet", "--short", "HEAD")
    return current or _git(root, "config", "init.defaultBranch") or "main"


def dvc_root_of(root: Path) -> str:
    """ "." for a DVC project at the root, else the one sub-folder with a .dvc folder."""
    if (root / ".dvc").is_dir():
        return "."
    found = sorted(
        p.parent.relative_to(root).as_posix()
        for p in root.glob("*/.dvc")
        if p.is_dir() and not p.parent.name.startswith(".")
    )
    if not found:
        raise NotADvcRepository(f"{root}: not a DVC repository (run `dvc init` first)")
    return found[0]


def remote_needs(project: Path) -> RemoteNeeds:
    """The default remote of the DVC project at ``project`` and what CI needs for it."""
    from mlpages.objects.dvcconfig import remote_config

    try:
        remote = remote_config(project)
    except Exception as exc:  # an unreadable .dvc/config: say so, write no credentials
        return RemoteNeeds("other", note=f".dvc/config does not parse: {exc}")
    if remote is None:
        return RemoteNeeds("none", note="no default DVC remote: the site reads the git history")
    scheme = remote.url.split("://", 1)[0].lower() if "://" in remote.url else "local"
    base = {"name": remote.name, "url": remote.url}
    if scheme == "s3":
        variables = (
            (("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_S3"),) if not remote.endpoint_url else ()
        )
        return RemoteNeeds(
            "s3", **base, extras="s3",
            secrets=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), variables=variables,
        )  # fmt: skip
    if scheme in ("azure", "az"):
        return RemoteNeeds(
            "azure", **base, extras="azure", secrets=("AZURE_STORAGE_CONNECTION_STRING",)
        )
    if scheme in ("http", "https"):
        return RemoteNeeds(
            "http", **base,
            note="an HTTP remote needs no secret to read when the server is public; one that "
            "wants a login takes `dvc remote modify --local` user/password, not set here",
        )  # fmt: skip
    if scheme in ("gs", "gcs"):
        return RemoteNeeds(
            "gs", **base, extras="gs",
            note="a Google Cloud Storage remote: authenticate the runner yourself "
            "(google-github-actions/auth) before the mlpages steps",
        )  # fmt: skip
    if scheme in ("ssh", "sftp"):
        return RemoteNeeds("ssh", **base, extras="ssh", note="an SSH remote: add a deploy key")
    if scheme == "local":
        return RemoteNeeds(
            "local", **base,
            note="a local-folder remote is not reachable from GitHub's runners: the site "
            "shows what git holds (metrics committed with `cache: false`)",
        )  # fmt: skip
    return RemoteNeeds("other", **base, note=f"remote type {scheme!r}: set its credentials by hand")


def _key_metrics(metrics: dict[str, dict[str, object]], limit: int = 4) -> tuple[str, ...]:
    found = []
    for path, values in sorted(metrics.items()):
        for key, value in values.items():
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if number and math.isfinite(float(value)):  # type: ignore[arg-type]
                found.append(f"{path}:{key}")
    return tuple(found[:limit])


def _code_paths(root: Path, deps: set[str], outs: set[str]) -> tuple[str, ...]:
    tracked = set(_git(root, "ls-files").splitlines())
    paths = {"dvc.yaml", "params.yaml"} if (root / "params.yaml").exists() else {"dvc.yaml"}
    for dep in deps:
        if dep in outs or dep.endswith(".dvc"):
            continue
        if dep in tracked:
            top = dep.split("/", 1)[0]
            paths.add(top if "/" in dep else dep)
        elif any(name.startswith(dep.rstrip("/") + "/") for name in tracked):
            paths.add(dep.rstrip("/").split("/", 1)[0])
    return tuple(sorted(paths))


def detect(repo: Path) -> Findings:
    """Everything init adapts to; NotAGitRepository / NotADvcRepository as one line."""
    from mlpages.config import load_config
    from mlpages.gitread.reader import locate_repo
    from mlpages.history.collect import snapshot_of

    root = locate_repo(Path(repo)).root
    dvc_root = dvc_root_of(root)
    config = load_config(root)
    snapshot = snapshot_of(root, None, config)
    ct_stages: dict[str, str] = {}
    for stage in snapshot.stages:
        words = stage.cmd.split()
        if words[:2] in (["python", "-m"], ["python3", "-m"]):
            words = words[2:]
        if len(words) >= 2 and words[0] == "mlpages" and words[1] in CT_COMMANDS:
            ct_stages.setdefault(words[1], stage.name)
    has_config = (root / "mlpages.yaml").exists() or "[tool.mlpages]" in _text(
        root / "pyproject.toml"
    )
    deps = {dep for stage in snapshot.stages for dep in stage.deps}
    outs = {out.path for stage in snapshot.stages for out in stage.outs}
    return Findings(
        root=root,
        dvc_root=dvc_root,
        branch=default_branch(root),
        remote=remote_needs(root / dvc_root),
        model_artifacts=tuple(a.name for a in snapshot.artifacts if a.type == "model"),
        ct_stages=ct_stages,
        stage_names=tuple(stage.name for stage in snapshot.stages),
        key_metrics=_key_metrics(snapshot.metrics),
        code_paths=_code_paths(root, deps, outs),
        has_config=has_config,
        has_gto=(root / ".gto").exists(),
        problems=tuple(f"{p.path}: {p.message}" for p in snapshot.problems),
    )


def _text(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
