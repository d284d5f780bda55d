"""Hostile DVC objects: an md5 in a branch's dvc.lock is an address, never a path, and every object
is checked against it. The build machine's files and environment are the secrets."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from helpers import cli
from helpers.dvc import dvc
from helpers.git import RepoBuilder

from mlpages.objects.objectid import object_relpath

SECRET_ENV = "MLPAGES_HOSTILE_SECRET"
# No request may leave the machine: a refused port, fake keys (no instance-metadata lookups).
OFFLINE_AWS = {
    "AWS_ACCESS_KEY_ID": "AKIAHOSTILETEST00000",
    "AWS_SECRET_ACCESS_KEY": "hostile-test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@dataclass(frozen=True)
class Secrets:
    token: str  # in the secret files and in the build's environment
    json_file: Path
    csv_file: Path

    @property
    def needles(self) -> tuple[bytes, ...]:
        return (self.token.encode(), b"root:x:0:0")  # ours, and /etc/passwd's first line


@pytest.fixture
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Secrets:
    """Files on the build machine outside the repository (a separate temporary folder)."""
    folder = tmp_path_factory.mktemp("build-machine-secrets")
    token = f"SECRET-{uuid.uuid4().hex}"
    json_file = folder / "credentials.json"
    json_file.write_text(json.dumps({"acc": 0.5, "aws_secret_access_key": token}))
    csv_file = folder / "credentials.csv"
    csv_file.write_text(f"step,key\n1,{token}\n")
    return Secrets(token, json_file, csv_file)


def mlpages(secrets: Secrets, *args: str, cwd: Path, extra_env: dict[str, str] | None = None):
    """Run the CLI in a fresh process whose environment holds the secret token."""
    env = {**OFFLINE_AWS, SECRET_ENV: secrets.token, **(extra_env or {})}
    return cli.mlpages(*args, cwd=cwd, env=env, text=False, timeout=300)


def _put(cache: Path, data: bytes) -> str:
    md5 = hashlib.md5(data).hexdigest()
    target = cache / object_relpath(md5, legacy=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return md5


def _lock(outs: dict[str, tuple[str, bool]]) -> str:
    lines = ["schema: '2.0'", "stages:", "  t:", "    cmd: 'true'", "    outs:"]
    for path, (md5, legacy) in outs.items():
        lines += [f"    - path: {path}", *([] if legacy else ["      hash: md5"])]
        lines += [f"      md5: {json.dumps(md5)}", "      size: 1"]
    return "\n".join(lines) + "\n"


METRICS = [
    "good.json",
    "abs.json",
    "trav.json",
    "cachetrav.json",
    "legacytrav.json",
    "linked.json",
    "fetched.json",
    "mismatch.json",
]
PLOTS = ["env.png", "passwd.csv", "leak.csv"]
DVC_YAML = (
    "stages:\n  t:\n    cmd: 'true'\n"
    f"    metrics: [{', '.join(METRICS)}]\n    plots: [{', '.join(PLOTS)}]\n"
)
BASE_DVC_YAML = "stages:\n  t:\n    cmd: 'true'\n    metrics: [good.json]\n"
# What each hostile output must become instead of its content.
EXPECTED = {
    "env.png": "bad-md5",
    "passwd.csv": "bad-md5",
    "leak.csv": "bad-md5",
    "abs.json": "bad-md5",
    "trav.json": "bad-md5",
    "cachetrav.json": "bad-md5",
    "legacytrav.json": "bad-md5",
    "linked.json": "not-in-cache",  # a symlink out of the local cache: refused
    "fetched.json": "not-in-cache",  # a symlink out of the fetch cache: refused
    "mismatch.json": "md5-mismatch",  # a tampered local cache object: not used
}


@dataclass(frozen=True)
class Hostile:
    repo: RepoBuilder
    base: str
    head: str


@pytest.fixture
def real_dvc_hostile(tmp_path: Path, secrets: Secrets) -> Hostile:
    """A real DVC repository with an S3 default remote whose head commit points outputs at the
    build machine's files (absolute md5s, ``../`` walks out of both caches, symlinks, a tampered
    object)."""
    repo = RepoBuilder(tmp_path / "repo")
    dvc(repo.path, "init", "-q")
    dvc(repo.path, "remote", "add", "-d", "store", "s3://hostile-bucket/store")
    dvc(repo.path, "remote", "modify", "--local", "store", "endpointurl", "http://127.0.0.1:9")
    cache = repo.path / ".dvc" / "cache"
    fetch = repo.path / ".dvc" / "tmp" / "mlpages-remote"
    (cache / "files" / "md5").mkdir(parents=True)
    (fetch / "files" / "md5").mkdir(parents=True)  # as an earlier build leaves it
    good = _put(cache, b'{"acc": 0.7}')
    base = {"dvc.yaml": BASE_DVC_YAML, "dvc.lock": _lock({"good.json": (good, False)})}
    repo.commit("base", base)

    secret = secrets.json_file.read_bytes()
    linked = hashlib.md5(secret).hexdigest()  # the right md5: only containment stops this one
    link = cache / object_relpath(linked, legacy=False)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secrets.json_file)
    fetched = hashlib.md5(secret + b" ").hexdigest()
    (secrets.json_file.parent / "copy.json").write_bytes(secret + b" ")
    fetch_link = fetch / object_relpath(fetched, legacy=False)
    fetch_link.parent.mkdir(parents=True, exist_ok=True)
    fetch_link.symlink_to(secrets.json_file.parent / "copy.json")
    claimed = hashlib.md5(b'{"acc": 0.9}').hexdigest()
    tampered = cache / object_relpath(claimed, legacy=False)
    tampered.parent.mkdir(parents=True, exist_ok=True)
    tampered.write_bytes(secret)  # the object's name says one thing, its bytes another
    outs = {
        "good.json": (good, False),
        "env.png": ("//proc/self/environ", False),
        "passwd.csv": ("//etc/passwd", False),
        "leak.csv": ("/" + str(secrets.csv_file), False),
        "abs.json": ("/" + str(secrets.json_file), False),
        # "…/x": md5[:2] is "..", md5[2:] "./x": <base>/files/md5/../x, i.e. <base>/files/x
        "trav.json": (".../" + os.path.relpath(secrets.json_file, fetch / "files"), False),
        "cachetrav.json": (".../" + os.path.relpath(secrets.json_file, cache / "files"), False),
        "legacytrav.json": (".../" + os.path.relpath(secrets.json_file, cache.parent), True),
        "linked.json": (linked, False),
        "fetched.json": (fetched, False),
        "mismatch.json": (claimed, False),
    }
    repo.write({"dvc.yaml": DVC_YAML, "dvc.lock": _lock(outs)})
    # The branch also commits its planted fetch-cache link (.dvc/tmp is only git-ignored).
    repo.git("add", "-f", str(fetch_link.relative_to(repo.path)))
    head = repo.commit("hostile outputs")
    return Hostile(repo, base=repo.git("rev-parse", "HEAD~1").strip(), head=head)


def _assert_nowhere(secrets: Secrets, blobs: dict[str, bytes]) -> None:
    for name, data in blobs.items():
        for needle in secrets.needles:
            assert needle not in data, f"{needle!r} leaked into {name}"


def test_hostile_md5s_leak_nothing_into_site_history_or_diff(
    real_dvc_hostile: Hostile, secrets, tmp_path
):
    repo = real_dvc_hostile.repo.path
    out = tmp_path / "site"
    build = mlpages(secrets, "build", str(repo), "--out", str(out), cwd=repo)
    assert build.returncode == 0, build.stderr.decode()
    assert b"Traceback" not in build.stderr
    files = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert len(files) > 5
    _assert_nowhere(secrets, files)

    page = next(name for name in files if name.startswith(f"commit/{real_dvc_hostile.head[:12]}"))
    soup = BeautifulSoup(files[page], "html.parser")
    rows = {
        tuple(td.get_text(strip=True) for td in tr.find_all("td"))[:2]
        for tr in soup.select("section.problems tr:has(td)")
    }
    assert {(kind, path) for path, kind in EXPECTED.items()} <= rows
    assert ("md5-mismatch", "mismatch.json") in rows

    history = mlpages(secrets, "history", "--json", "--no-cache", str(repo), cwd=repo)
    assert history.returncode == 0, history.stderr.decode()
    _assert_nowhere(secrets, {"history --json": history.stdout})
    doc = json.loads(history.stdout)
    snap = next(c["snapshot"] for c in doc["commits"] if c["sha"] == real_dvc_hostile.head)
    kinds = {p["path"]: p["kind"] for p in snap["problems"]}
    assert {path: kinds.get(path) for path in EXPECTED} == EXPECTED
    assert snap["metrics"]["good.json"] == {"acc": 0.7}
    assert set(snap["metrics"]) == {"good.json"}
    mismatch = next(p for p in snap["problems"] if p["path"] == "mismatch.json")
    assert hashlib.md5(b'{"acc": 0.9}').hexdigest() in mismatch["message"]

    diff = mlpages(
        secrets, "diff", real_dvc_hostile.base, real_dvc_hostile.head, "--repo", str(repo), cwd=repo
    )
    assert diff.returncode == 0, diff.stderr.decode()
    _assert_nowhere(secrets, {"diff markdown": diff.stdout, "diff stderr": diff.stderr})
    text = diff.stdout.decode()
    assert f"Files that could not be read: 0 at the base, {len(EXPECTED)} at the head" in text


@pytest.mark.slow  # runs the real dvc
def test_a_tampered_local_object_reaches_the_commit_page_and_the_pr_markdown(make_repo, tmp_path):
    repo = make_repo()
    dvc(repo.path, "init", "-q")
    cache = repo.path / ".dvc" / "cache"
    good = _put(cache, b'{"roc_auc": 0.81}')
    yaml = "stages:\n  t:\n    cmd: 'true'\n    metrics: [m.json]\n"
    base = repo.commit("base", {"dvc.yaml": yaml, "dvc.lock": _lock({"m.json": (good, False)})})
    newer = _put(cache, b'{"roc_auc": 0.95}')
    (cache / object_relpath(newer, legacy=False)).write_bytes(b'{"roc_auc": 0.987654}')  # tampered
    head = repo.commit("head", {"dvc.lock": _lock({"m.json": (newer, False)})})

    command = [sys.executable, "-m", "mlpages"]
    diff = subprocess.run(
        [*command, "diff", base, head, "--repo", str(repo.path)], capture_output=True, text=True
    )
    assert diff.returncode == 0, diff.stderr
    assert "987654" not in diff.stdout
    assert "⚠️ unreadable at head" in diff.stdout
    assert "Files that could not be read: 0 at the base, 1 at the head" in diff.stdout

    out = tmp_path / "site"
    build = subprocess.run(
        [*command, "build", str(repo.path), "--out", str(out)], capture_output=True, text=True
    )
    assert build.returncode == 0, build.stderr
    page = next((out / "commit").glob(f"{head[:12]}*.html")).read_text()
    soup = BeautifulSoup(page, "html.parser")
    (row,) = soup.select("section.problems tr:has(td)")
    kind, path, message = (td.get_text(strip=True) for td in row.find_all("td"))
    assert (kind, path) == ("md5-mismatch", "m.json")
    assert newer in message and "987654" not in message
    assert not any("987654" in p.read_text(errors="replace") for p in out.rglob("*.html"))
    assert not any("987654" in p.read_text(errors="replace") for p in out.rglob("*.js"))


BLOCK_S3 = '''\
"""Make the S3 client libraries absent, as after a plain `pip install mlpages`."""
import sys


class _Absent:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("boto3", "botocore", "aiobotocore", "s3fs"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _Absent())
'''


@pytest.mark.slow  # runs the real dvc
def test_an_s3_remote_without_the_s3_libraries_is_one_line_and_the_build_goes_on(
    make_repo, tmp_path: Path, secrets: Secrets
):
    repo = make_repo()
    dvc(repo.path, "init", "-q")
    dvc(repo.path, "remote", "add", "-d", "store", "s3://some-bucket/store")
    cache = repo.path / ".dvc" / "cache"
    yaml = "stages:\n  t:\n    cmd: 'true'\n    metrics: [m.json]\n"
    present = _put(cache, b'{"acc": 0.61}')
    repo.commit("first", {"dvc.yaml": yaml, "dvc.lock": _lock({"m.json": (present, False)})})
    absent = hashlib.md5(b'{"acc": 0.62}').hexdigest()  # only "on the remote"
    repo.commit("second", {"dvc.lock": _lock({"m.json": (absent, False)})})
    blocker = tmp_path / "no-s3"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCK_S3)
    env = {"PYTHONPATH": str(blocker)}
    probe = subprocess.run(
        [sys.executable, "-c", "import botocore"], env={**os.environ, **env}, capture_output=True
    )
    assert b"No module named 'botocore'" in probe.stderr  # the simulation is faithful

    want = "the DVC plugin for s3:// remotes is not installed: pip install 'mlpages[s3]'"
    out = tmp_path / "site"
    build = mlpages(
        secrets, "build", str(repo.path), "--out", str(out), cwd=tmp_path, extra_env=env
    )
    stderr = build.stderr.decode()
    assert build.returncode == 0, stderr
    assert "Traceback" not in stderr
    warnings = [line for line in stderr.splitlines() if line.startswith("mlpages: warning: ")]
    assert len(warnings) == 1 and want in warnings[0], stderr
    assert (out / "index.html").is_file()

    history = mlpages(
        secrets, "history", "--json", "--no-cache", str(repo.path), cwd=tmp_path, extra_env=env
    )
    assert history.returncode == 0 and b"Traceback" not in history.stderr
    doc = json.loads(history.stdout)
    assert [p["kind"] for p in doc["problems"]] == ["remote-error"]
    assert want in doc["problems"][0]["message"]
    by_subject = {c["subject"]: c["snapshot"] for c in doc["commits"]}
    assert by_subject["first"]["metrics"] == {"m.json": {"acc": 0.61}}  # the local cache
    assert [p["kind"] for p in by_subject["second"]["problems"]] == ["not-in-cache"]

    diff = mlpages(secrets, "diff", "HEAD~1", "HEAD", cwd=repo.path, extra_env=env)
    stderr = diff.stderr.decode()
    assert diff.returncode == 0, stderr
    assert "Traceback" not in stderr
    warnings = [line for line in stderr.splitlines() if line.startswith("mlpages: warning: ")]
    assert len(warnings) == 1 and want in warnings[0], stderr


@pytest.mark.slow  # runs the real dvc
def test_snapshots_cached_by_a_build_before_the_checks_are_not_reused(make_repo, monkeypatch):
    """A site rebuilt after the upgrade must not serve what the unchecked parser cached."""
    from dataclasses import replace

    import mlpages.history.cache as snapshot_cache
    from mlpages.config import Config
    from mlpages.gitread.reader import locate_repo
    from mlpages.history.collect import collect, default_cache_dir

    repo = make_repo()
    dvc(repo.path, "init", "-q")
    yaml = "stages:\n  t:\n    cmd: 'true'\n    metrics: [m.json]\n"
    sha = repo.commit(
        "x", {"dvc.yaml": yaml, "dvc.lock": _lock({"m.json": ("//etc/passwd", False)})}
    )
    monkeypatch.setattr(snapshot_cache, "PARSER_VERSION", 6)  # the last unchecked release
    first = collect(repo.path, Config())
    leaked = replace(first.snapshots[sha], metrics={"m.json": {"root:x:0:0:root": "/bin/sh"}})
    folder = default_cache_dir(locate_repo(repo.path), Config())
    cache = snapshot_cache.SnapshotCache(folder, Config(), snapshot_cache.StageTable())
    cache.store(leaked, ())  # what that release stored for this commit
    cache.close()
    monkeypatch.undo()
    again = collect(repo.path, Config())
    assert again.computed == 1
    assert again.snapshots[sha].metrics == {}
    assert [p.kind for p in again.snapshots[sha].problems] == ["bad-md5"]


@pytest.mark.slow  # runs the real dvc
def test_a_fetch_cache_linked_out_of_the_repository_is_never_used(make_repo, tmp_path):
    from mlpages.config import Config
    from mlpages.objects.store import default_sources, source_problems

    repo = make_repo()
    dvc(repo.path, "init", "-q")
    dvc(repo.path, "remote", "add", "-d", "store", "s3://some-bucket/store")
    elsewhere = tmp_path / "elsewhere"
    data = b'{"acc": 0.5}'
    md5 = _put(elsewhere / "mlpages-remote", data)
    shutil.rmtree(repo.path / ".dvc" / "tmp")
    (repo.path / ".dvc" / "tmp").symlink_to(elsewhere, target_is_directory=True)  # committed
    sources = default_sources(repo.path, Config())
    remote = next(s for s in sources if s.name == "remote")
    assert remote.read(md5, legacy=False) is None and not remote.has(md5, legacy=False)
    (problem,) = source_problems(sources)
    assert "leads out of" in problem.message
