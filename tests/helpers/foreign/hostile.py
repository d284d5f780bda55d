"""Hostile content and refs of every kind, and the clones CI makes (checkout, shallow)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from helpers.foreign.files import PNG_RED
from helpers.git import RepoBuilder, git

HOSTILE_DVC_YAML = (
    "stages:\n  train:\n    cmd: python train.py\n    params:\n    - lr\n"
    "    metrics:\n    - metrics.json:\n        cache: false\n"
)


def _commit_bytes_message(repo: RepoBuilder, message: bytes, encoding: str) -> str:
    msg_file = repo.path.parent / f"{repo.path.name}-msg.txt"
    msg_file.write_bytes(message)
    repo.clock += 3600
    date = f"{repo.clock} +0000"
    args = ["-c", f"i18n.commitEncoding={encoding}"]
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    git(repo.path, "add", "-A")
    git(repo.path, *args, "commit", "-q", "--allow-empty", "-F", str(msg_file), env=env)
    msg_file.unlink()
    return repo.head()


def _raw_commit(repo: RepoBuilder, message: bytes) -> str:
    """A commit object written byte for byte (git commit would re-encode invalid UTF-8)."""
    repo.clock += 3600
    head = repo.head()
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    who = f"Ada Tester <ada@example.com> {repo.clock} +0000".encode()
    body = b"tree %s\nparent %s\nauthor %s\ncommitter %s\n\n" % (
        tree.encode(),
        head.encode(),
        who,
        who,
    )
    sha = (
        subprocess.run(
            ["git", "hash-object", "-t", "commit", "-w", "--stdin"],
            cwd=repo.path,
            input=body + message,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )
    repo.git("update-ref", "HEAD", sha)
    return sha


def build_hostile(path: Path) -> dict[str, str]:
    """Broken files, odd messages, merges, orphan/exp/tag-of-tag refs, detached HEAD."""
    repo = RepoBuilder(path)
    repo.write({".dvc/config": "", ".dvc/.gitignore": "/cache\n/tmp\n"})
    shas = {
        "good": repo.commit(
            "Good start",
            {
                "dvc.yaml": HOSTILE_DVC_YAML,
                "params.yaml": "lr: 0.1\n",
                "metrics.json": json.dumps({"acc": 0.75}),
            },
        )
    }
    repo.git("tag", "-a", "v1", "-m", "release one")
    repo.git("tag", "-a", "v1-alias", "v1", "-m", "a tag of a tag")
    shas["bad_yaml"] = repo.commit(
        "Broken dvc.yaml", {"dvc.yaml": "stages:\n  train: [unclosed\n", "params.yaml": "lr: [\n"}
    )
    shas["bad_json"] = repo.commit(
        "Broken metrics",
        {"dvc.yaml": HOSTILE_DVC_YAML, "params.yaml": "lr: 0.2\n", "metrics.json": '{"acc": 0.8,'},
    )
    shas["binary"] = repo.commit("Binary metrics", {"metrics.json": PNG_RED + b"\x00" * 64})
    huge = json.dumps({f"m{i}": i * 0.5 for i in range(330_000)})
    assert len(huge) > 5_000_000
    shas["huge"] = repo.commit("Huge metrics", {"metrics.json": huge})
    shas["nan"] = repo.commit(
        "Non-finite metrics",
        {"metrics.json": '{"acc": NaN, "loss": Infinity, "gain": -Infinity, "ok": 0.5}'},
    )
    shas["latin1"] = _commit_bytes_message(
        repo, "Modèle réentraîné: précision\n".encode("latin-1"), "ISO-8859-1"
    )
    shas["bad_utf8"] = _raw_commit(repo, b"Broken \xff\xfe bytes\n")
    # A feature branch merged back with --no-ff.
    repo.git("checkout", "-q", "-b", "feature/wider")
    shas["feature"] = repo.commit(
        "Wider model", {"params.yaml": "lr: 0.3\n", "metrics.json": json.dumps({"acc": 0.9})}
    )
    repo.git("checkout", "-q", "main")
    repo.clock += 3600
    date = f"{repo.clock} +0000"
    git(
        path,
        "merge",
        "-q",
        "--no-ff",
        "-m",
        "Merge feature/wider",
        "feature/wider",
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    )
    shas["merge"] = repo.head()
    # A DVC 3 experiment ref on a commit no branch reaches.
    tree = repo.git("rev-parse", f"{shas['feature']}^{{tree}}").strip()
    exp = git(
        path,
        "commit-tree",
        tree,
        "-p",
        shas["merge"],
        "-m",
        "exp-4f2a1",
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
    ).strip()
    base = shas["merge"]
    repo.git("update-ref", f"refs/exps/{base[:2]}/{base[2:]}/exp-4f2a1", exp)
    shas["exp"] = exp
    # An orphan branch without any DVC file (a gh-pages-like branch).
    repo.git("checkout", "-q", "--orphan", "gh-pages")
    repo.git("rm", "-rq", "--cached", ".")
    for child in path.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    shas["orphan"] = repo.commit("Pages root", {"index.html": "<p>hi</p>"})
    # Detached HEAD on main's merge commit.
    repo.git("checkout", "-q", "-f", "--detach", shas["merge"])
    return shas


def ci_checkout(source: Path, target: Path) -> str:
    """What actions/checkout leaves: only refs/remotes/origin/*, HEAD detached, no local branch."""
    target.mkdir(parents=True)
    git(target, "init", "-q")
    git(target, "remote", "add", "origin", str(source))
    git(target, "fetch", "-q", "origin", "+refs/heads/*:refs/remotes/origin/*", "--no-tags")
    git(target, "checkout", "-q", "--detach", "origin/main")
    assert not git(target, "for-each-ref", "refs/heads").strip()
    return git(target, "rev-parse", "HEAD").strip()


def shallow_clone(source: Path, target: Path) -> None:
    """`git clone --depth 2` (as actions/checkout without fetch-depth: 0)."""
    git(target.parent, "clone", "-q", "--depth", "2", f"file://{source}", str(target))


def build_without_dvc(path: Path) -> None:
    """A plain git repository: no dvc.yaml, no .dvc/ in any commit."""
    repo = RepoBuilder(path)
    repo.commit("Plain project", {"README.md": "# nothing to see\n", "src/app.py": "print(1)\n"})
