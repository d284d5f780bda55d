"""Reads never leave the repository (issue 13, finding 3).

Committed symlinks and `dvc.yaml` paths that point outside the repository — absolute paths, `..`,
`wdir: ..`, a symlinked folder, links into `.git/` and `.dvc/config.local`, `/proc/self/environ`,
`/dev/zero` — are an `outside-repo` problem in the work tree (`mlpages diff` on a dirty tree,
``snapshot_of(repo, None)``) as in a commit; the secret bytes of a file outside the repository
appear nowhere in the diff (markdown and JSON), `history --json` or the site. FIFOs are never
opened. DVC's `cache.type: symlink` outputs (links into a cache folder outside the repository)
still read.
"""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest
from helpers.dvc import dvc
from helpers.git import IDENTITY, RepoBuilder
from helpers.hostile import python_limited, run_limited

from mlpages.config import Config
from mlpages.history.codec import snapshot_to_json
from mlpages.history.collect import snapshot_of

SECRET = "S3CRET-7c1f9a-do-not-publish"
BASE = {
    ".dvc/config": "[core]\n    analytics = false\n",
    ".dvc/.gitignore": "/config.local\n/tmp\n/cache\n",
}


def _outside(tmp_path: Path) -> Path:
    """The build machine's files: a folder next to the repository, full of the secret."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    for name in ("secret.json", "wdir.json", "dir/secret.json"):
        (outside / name).write_text(json.dumps({"token": SECRET}))
    (outside / "p.yaml").write_text(f"key: {SECRET}\n")
    (outside / "plot.csv").write_text(f"step,{SECRET}\n1,2\n")
    (outside / "gate.json").write_text(json.dumps({"verdict": SECRET, "rules": []}))
    return outside


def _escaping_repo(tmp_path: Path) -> tuple[RepoBuilder, dict[str, str]]:
    """A repository whose every way out is committed; returns it and path -> expected kind."""
    outside = _outside(tmp_path)
    out = outside.as_posix()
    dvc_yaml = textwrap.dedent(
        f"""\
        stages:
          train:
            cmd: echo
            params:
            - {out}/p.yaml:
              - key
            metrics:
            - metrics.json:
                cache: false
          up:
            cmd: echo
            wdir: ..
            metrics:
            - outside/wdir.json:
                cache: false
        metrics:
        - {out}/secret.json
        - m2.json
        - mdir
        - linkdir/secret.json
        - ../outside/secret.json
        - gitcfg.yaml
        - dvclocal.yaml
        - env.yaml
        - zero.json
        - good.json
        params:
        - {out}/p.yaml
        plots:
        - plink.csv
        """
    )
    repo = RepoBuilder(tmp_path / "repo")
    repo.write({**BASE, "dvc.yaml": dvc_yaml, "sub/real.json": '{"ok": 1}\n'})
    links = {
        "metrics.json": f"{out}/secret.json",
        "m2.json": "../outside/secret.json",
        "mdir": f"{out}/dir",
        "linkdir": out,
        "params.yaml": "../outside/p.yaml",
        "plink.csv": f"{out}/plot.csv",
        "reports/gate.json": f"{out}/gate.json",
        "gitcfg.yaml": ".git/config",
        "dvclocal.yaml": ".dvc/config.local",
        "env.yaml": "/proc/self/environ",
        "zero.json": "/dev/zero",
        "good.json": "sub/real.json",  # inside: followed
    }
    for link, target in links.items():
        (repo.path / link).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, repo.path / link)
    repo.commit("every way out")
    # Secrets of the build machine inside the work tree, never committed.
    repo.git("config", "http.extraheader", f"AUTHORIZATION: basic {SECRET}")
    (repo.path / ".dvc/config.local").write_text(
        f"['remote \"s3\"']\n    secret_access_key = {SECRET}\n"
    )
    (repo.path / "notes.txt").write_text("uncommitted: the work tree is dirty\n")
    expected = {
        f"{out}/secret.json": "outside-repo",
        f"{out}/p.yaml": "outside-repo",
        "../outside/secret.json": "outside-repo",
        "../outside/wdir.json": "outside-repo",
        "metrics.json": "outside-repo",
        "m2.json": "outside-repo",
        "mdir": "outside-repo",
        "linkdir/secret.json": "outside-repo",
        "params.yaml": "outside-repo",
        "plink.csv": "outside-repo",
        "reports/gate.json": "outside-repo",
        "env.yaml": "outside-repo",
        "zero.json": "outside-repo",
    }
    return repo, expected


def _leaks(text: str) -> bool:
    return SECRET in text


def test_work_tree_snapshot_refuses_every_way_out(tmp_path):
    repo, expected = _escaping_repo(tmp_path)
    snapshot = snapshot_of(repo.path, None, Config())
    kinds = {p.path: p.kind for p in snapshot.problems}
    for path, kind in expected.items():
        assert kinds.get(path) == kind, (path, snapshot.problems)
    # Links into .git/ and .dvc/ (tokens, remote credentials) are refused as well.
    assert kinds["gitcfg.yaml"] == kinds["dvclocal.yaml"] == "outside-repo"
    assert snapshot.metrics["good.json"] == {"ok": 1}  # a link inside the repository is followed
    assert not _leaks(json.dumps(snapshot_to_json(snapshot)))


def test_commit_snapshot_refuses_the_same_paths(tmp_path):
    repo, expected = _escaping_repo(tmp_path)
    snapshot = snapshot_of(repo.path, "HEAD", Config())
    kinds = {p.path: p.kind for p in snapshot.problems}
    for path, kind in expected.items():
        assert kinds.get(path) == kind, (path, snapshot.problems)
    assert snapshot.metrics["good.json"] == {"ok": 1}
    assert not _leaks(json.dumps(snapshot_to_json(snapshot)))


def test_diff_history_and_site_never_show_the_secret(tmp_path):
    repo, expected = _escaping_repo(tmp_path)
    env = {**IDENTITY, "MLPAGES_TEST_TOKEN": SECRET}  # what /proc/self/environ would show
    outputs = []
    for args in (
        ["diff", "main"],
        ["diff", "main", "--format", "json"],
        ["history", "--json", "--no-cache"],
        ["build", "--out", str(tmp_path / "site")],
    ):
        out = run_limited(args, repo.path, env=env)
        assert out.returncode == 0, (args, out.stderr[-2000:])
        outputs.append(out.stdout + out.stderr)
    assert not any(_leaks(text) for text in outputs)
    diff = json.loads(outputs[1])
    assert diff["head_label"] == "workspace" and diff["head_problems"] >= len(expected)
    for file in (tmp_path / "site").rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file


def test_fifos_and_special_files_are_never_opened(make_repo):
    """A FIFO named like a DVC file, or declared as metrics, would block a read forever."""
    repo = make_repo(
        [("base", {**BASE, "dvc.yaml": "metrics:\n- fifo.json\n- link.json\n", "a.txt": "1"})]
    )
    (repo.path / "sub").mkdir()
    for fifo in ("sub/dvc.lock", "sub/dvc.yaml", "fifo.json", "params.yaml"):
        os.mkfifo(repo.path / fifo)
    os.symlink("fifo.json", repo.path / "link.json")
    (repo.path / "a.txt").write_text("2")
    code = (
        "import json; from mlpages.config import Config;"
        "from mlpages.history.collect import snapshot_of;"
        f"s = snapshot_of({str(repo.path)!r}, None, Config());"
        "print(json.dumps({p.path: p.kind for p in s.problems}))"
    )
    out = python_limited(code, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    kinds = json.loads(out.stdout)
    for path in ("sub/dvc.lock", "sub/dvc.yaml", "fifo.json", "link.json", "params.yaml"):
        assert kinds.get(path) == "unsupported", (path, kinds)
    diff = run_limited(["diff", "main", "--format", "json"], repo.path)
    assert diff.returncode == 0, diff.stderr[-2000:]


@pytest.mark.slow
def test_dvc_symlink_cache_outside_the_repository_still_reads(make_repo, tmp_path):
    """`cache.type: symlink` with `cache.dir` elsewhere: outputs are links into that folder."""
    repo = make_repo()
    cache = tmp_path / "dvc-cache"
    dvc(repo.path, "init", "-q")
    dvc(repo.path, "config", "core.analytics", "false")
    dvc(repo.path, "config", "cache.type", "symlink")
    dvc(repo.path, "config", "cache.dir", str(cache))
    repo.write(
        {
            "score.py": "import json\njson.dump({'auc': 0.75}, open('scores.json', 'w'))\n",
            "dvc.yaml": "stages:\n  score:\n    cmd: python score.py\n    metrics:\n"
            "    - scores.json\n",
        }
    )
    dvc(repo.path, "repro", "-q")
    assert (repo.path / "scores.json").is_symlink()
    assert Path(os.readlink(repo.path / "scores.json")).is_relative_to(cache)
    repo.commit("score")
    # The same cache folder also holds a file that is not an object: a link to it is refused.
    (cache / "secret.json").write_text(json.dumps({"token": SECRET}))
    os.symlink(cache / "secret.json", repo.path / "stolen.json")
    repo.write({"dvc.yaml": (repo.path / "dvc.yaml").read_text() + "metrics:\n- stolen.json\n"})
    snapshot = snapshot_of(repo.path, None, Config())
    assert snapshot.metrics["scores.json"] == {"auc": 0.75}
    kinds = {p.path: p.kind for p in snapshot.problems}
    assert kinds == {"stolen.json": "outside-repo"}, snapshot.problems
    out = run_limited(["diff", "main"], repo.path)
    assert out.returncode == 0 and not _leaks(out.stdout), out.stderr[-2000:]
