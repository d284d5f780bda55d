"""The DVC cache reader: layouts, cache.dir settings, .dir listings, object sources."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from helpers.dvc import dvc
from helpers.git import git

from mlpages.dvcfiles.dotdvc import parse_dvc_file
from mlpages.models import HashInfo
from mlpages.objects.dvcconfig import RemoteConfig, cache_dir_of, load_dvc_config, remote_config
from mlpages.objects.local import LocalCache
from mlpages.objects.objectid import object_relpath
from mlpages.objects.store import DvcObjects, ObjectRead


def _put(cache: Path, data: bytes, legacy: bool, suffix: str = "") -> str:
    md5 = hashlib.md5(data).hexdigest() + suffix
    target = cache / object_relpath(md5, legacy)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return md5


def test_cache_dir_settings(tmp_path):
    dvc = tmp_path / ".dvc"
    dvc.mkdir()
    assert cache_dir_of(tmp_path) == dvc / "cache"
    (dvc / "config").write_text("[core]\n    remote = s3\n[cache]\n    dir = ../../shared\n")
    assert cache_dir_of(tmp_path) == (tmp_path.parent / "shared").resolve()
    (dvc / "config.local").write_text(f"[cache]\n    dir = {tmp_path / 'local'}\n")
    assert cache_dir_of(tmp_path) == tmp_path / "local"  # config.local wins
    (dvc / "config.local").write_text("not an ini file [[[")
    assert cache_dir_of(tmp_path) == (tmp_path.parent / "shared").resolve()


def test_dvc_config_is_read_as_dvc_writes_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))  # the global level
    dvc = tmp_path / "repo" / ".dvc"
    dvc.mkdir(parents=True)
    root = dvc.parent
    assert remote_config(root) is None and load_dvc_config(root).data["remote"] == {}
    (dvc / "config").write_text(
        "[core]\n    remote = store\n    analytics = false\n"
        "['remote \"store\"']\n    url = s3://bucket/path  # the team's bucket\n"
        "['remote \"other\"']\n    url = '../other'\n"
        '[cache]\n    dir = "../shared cache"\n'
    )
    (dvc / "config.local").write_text(
        "['remote \"store\"']\n    endpointurl = http://127.0.0.1:9000\n    profile = ci\n"
        "    ssl_verify = false\n"
    )
    glob = tmp_path / "home" / "dvc"
    glob.mkdir(parents=True)
    (glob / "config").write_text("['remote \"store\"']\n    region = eu-west-3\n")
    store = remote_config(root)
    assert store == RemoteConfig("store", "s3://bucket/path")
    assert (
        store.settings.items()
        >= {
            "url": "s3://bucket/path",
            "endpointurl": "http://127.0.0.1:9000",
            "profile": "ci",
            "ssl_verify": False,  # validated by DVC's schema
            "region": "eu-west-3",  # from the global level
            "use_ssl": True,  # DVC's defaults for an S3 remote
        }.items()
    )
    assert store.scheme == "s3" and store.endpoint_url == "http://127.0.0.1:9000"
    other = remote_config(root, "other")
    assert other.url == str(tmp_path / "repo" / "other") and other.scheme == "local"
    assert remote_config(root, "absent") is None
    assert cache_dir_of(root) == (root / "shared cache").resolve()
    (dvc / "config.local").write_text("not an ini file [[[")
    config = load_dvc_config(root)
    assert config.problem and "config.local" in config.problem
    assert remote_config(root).url == "s3://bucket/path"  # the committed file still counts
    assert cache_dir_of(root) == (root / "shared cache").resolve()


def test_an_unknown_remote_type_is_named_not_raised(tmp_path):
    dvc = tmp_path / ".dvc"
    dvc.mkdir()
    (dvc / "config").write_text("[core]\n    remote = ck\n['remote \"ck\"']\n    url = ck://x/y\n")
    config = load_dvc_config(tmp_path)
    assert config.problem and "ck://" in config.problem
    assert remote_config(tmp_path).url == "ck://x/y"


def test_both_layouts_and_size_cap(tmp_path):
    cache = tmp_path / "cache"
    new = _put(cache, b"dvc3 object", legacy=False)
    old = _put(cache, b"dvc2 object", legacy=True)
    assert (cache / "files" / "md5" / new[:2] / new[2:]).is_file()
    assert (cache / old[:2] / old[2:]).is_file()
    objects = DvcObjects([LocalCache(cache)], max_bytes=100)
    assert objects.read_object(new, legacy=False).data == b"dvc3 object"
    assert objects.read_object(old, legacy=True).data == b"dvc2 object"
    # A hash recorded with the wrong layout flag is still found in the other layout.
    assert objects.read_object(old, legacy=False).data == b"dvc2 object"
    big = _put(cache, b"x" * 500, legacy=False)
    found = objects.read_object(big, legacy=False)
    assert found.data is None and found.too_large
    missing = objects.read_object("0" * 32, legacy=False)
    assert (missing.data, missing.source, missing.too_large) == (None, None, False)
    assert not objects.has("../../etc/passwd", legacy=True)  # never a path outside the cache


def test_files_inside_directory_outputs(tmp_path):
    cache = tmp_path / "cache"
    a = _put(cache, b"a,b\n1,2\n", legacy=False)
    b = _put(cache, b'{"acc": 1}', legacy=False)
    listing = json.dumps([{"md5": a, "relpath": "plots/a.csv"}, {"md5": b, "relpath": "m.json"}])
    dir_md5 = _put(cache, listing.encode(), legacy=False, suffix=".dir")
    out = HashInfo("eval", dir_md5, "md5", nfiles=2)
    objects = DvcObjects([LocalCache(cache)])
    assert objects.locate(out, "eval/m.json") == (b, False)
    assert objects.locate(out, "eval/nope.json") is None
    assert objects.locate(out, "evaluation/m.json") is None
    assert objects.locate(out, "eval") is None
    assert objects.files_in_dir(out) == {"eval/plots/a.csv": a, "eval/m.json": b}
    assert objects.files_in_dir(HashInfo("eval", "0" * 32 + ".dir", "md5")) is None
    file_out = HashInfo("m.json", b, "md5")
    assert objects.locate(file_out, "m.json") == (b, False)
    assert objects.locate(HashInfo("m.json", b, None), "m.json") == (b, True)


def test_sources_are_tried_in_order(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    md5 = _put(second, b"only in two", legacy=False)
    objects = DvcObjects([LocalCache(first), LocalCache(second, name="remote")])
    found = objects.read_object(md5, legacy=False)
    assert (found.data, found.source) == (b"only in two", "remote")
    assert objects.has(md5, legacy=False)


@pytest.mark.slow  # runs the real dvc
def test_reads_what_real_dvc_writes(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    dvc(repo, "init", "-q")
    (repo / "data").mkdir()
    (repo / "data" / "x.txt").write_text("hello dvc\n")
    dvc(repo, "add", "-q", "data")
    (out,), problems = parse_dvc_file((repo / "data.dvc").read_bytes(), "data.dvc")
    assert problems == () and out.is_dir and out.hash_name == "md5"
    objects = DvcObjects([LocalCache(cache_dir_of(repo))])
    md5, legacy = objects.locate(out, "data/x.txt")
    assert objects.read_object(md5, legacy).data == b"hello dvc\n"


def test_every_object_read_is_verified_and_a_bad_copy_is_remembered(tmp_path):
    first, second = tmp_path / "cache", tmp_path / "remote"
    data = b'{"acc": 0.5}'
    md5 = _put(second, data, legacy=False)
    (first / object_relpath(md5, legacy=False)).parent.mkdir(parents=True)
    (first / object_relpath(md5, legacy=False)).write_bytes(b'{"acc": 1.0}')  # tampered local copy
    objects = DvcObjects([LocalCache(first), LocalCache(second, name="remote")])
    assert objects.read_object(md5, legacy=False) == ObjectRead(data, "remote")  # the good one
    assert objects.mismatched == {}
    (second / object_relpath(md5, legacy=False)).write_bytes(b'{"acc": 2.0}')
    found = objects.read_object(md5, legacy=False)
    assert (found.data, found.mismatch) == (None, "cache")
    assert objects.mismatched == {md5: "cache"}


def test_dir_listings_are_verified_and_keep_only_plain_relpaths(tmp_path):
    cache = tmp_path / "cache"
    a = _put(cache, b"a\n", legacy=False)
    listing = [
        {"md5": a, "relpath": "ok/a.csv"},
        {"md5": a, "relpath": "../../escape.csv"},
        {"md5": a, "relpath": "/abs.csv"},
        {"md5": a, "relpath": "x/./y.csv"},
        {"md5": "//etc/passwd", "relpath": "bad-md5.csv"},  # kept: the reader refuses the md5
    ]
    dir_md5 = _put(cache, json.dumps(listing).encode(), legacy=False, suffix=".dir")
    out = HashInfo("d", dir_md5, "md5")
    objects = DvcObjects([LocalCache(cache)])
    assert objects.files_in_dir(out) == {"d/ok/a.csv": a, "d/bad-md5.csv": "//etc/passwd"}
    assert objects.read_object("//etc/passwd", legacy=False) == ObjectRead(None, None)
    (cache / object_relpath(dir_md5, legacy=False)).write_text(json.dumps(listing[:1]))
    fresh = DvcObjects([LocalCache(cache)])
    assert fresh.files_in_dir(out) is None
    assert fresh.mismatched == {dir_md5: "cache"}


@pytest.mark.slow  # runs the real dvc
def test_objects_written_by_dvc_add_verify(tmp_path):
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    dvc(repo, "init", "-q")
    (repo / "data" / "sub").mkdir(parents=True)
    crlf = b"a,b\r\n1,2\r\n"
    (repo / "data" / "crlf.csv").write_bytes(crlf)
    (repo / "data" / "sub" / "m.json").write_text('{"acc": 1}')
    dvc(repo, "add", "-q", "data")
    (out,), _ = parse_dvc_file((repo / "data.dvc").read_bytes(), "data.dvc")
    cache = cache_dir_of(repo)
    raw = (cache / object_relpath(out.md5, legacy=False)).read_bytes()
    # The .dir object is DVC's canonical listing (sorted by relpath, keys sorted), its md5 the id.
    entries = sorted(json.loads(raw), key=lambda e: e["relpath"])
    assert raw == json.dumps(entries, sort_keys=True).encode()
    assert hashlib.md5(raw).hexdigest() + ".dir" == out.md5
    # DVC 3 (`hash: md5`) hashes the bytes as they are, CRLF included.
    assert {e["relpath"]: e["md5"] for e in entries}["crlf.csv"] == hashlib.md5(crlf).hexdigest()
    objects = DvcObjects([LocalCache(cache)])
    assert objects.read_object(*objects.locate(out, "data/crlf.csv")).data == crlf
    assert objects.mismatched == {}


@pytest.mark.slow  # runs the real dvc
def test_a_real_legacy_text_object_verifies_and_a_tampered_one_does_not(tmp_path):
    """A DVC 2-era object: a CRLF text file named by its CRLF→LF md5, in the legacy layout."""
    from dvc_data.hashfile.hash import file_md5

    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q")
    dvc(repo, "init", "-q")
    crlf = b"step,loss\r\n0,1.0\r\n1,0.5\r\n"
    (repo / "loss.csv").write_bytes(crlf)
    md5 = file_md5(str(repo / "loss.csv"), name="md5-dos2unix")  # DVC's own legacy hash
    assert md5 != hashlib.md5(crlf).hexdigest()
    cache = cache_dir_of(repo)
    target = cache / object_relpath(md5, legacy=True)
    target.parent.mkdir(parents=True)
    target.write_bytes(crlf)
    # No `hash: md5`: a legacy entry. DVC itself checks this object out for it.
    entry = f"outs:\n- md5: {md5}\n  size: {len(crlf)}\n  path: loss.csv\n"
    (repo / "loss.csv.dvc").write_text(entry)
    (repo / "loss.csv").unlink()
    dvc(repo, "checkout", "-q")
    assert (repo / "loss.csv").read_bytes() == crlf
    (out,), _ = parse_dvc_file((repo / "loss.csv.dvc").read_bytes(), "loss.csv.dvc")
    objects = DvcObjects([LocalCache(cache)])
    assert objects.read_object(*objects.locate(out, "loss.csv")).data == crlf
    target.chmod(0o644)
    target.write_bytes(crlf.replace(b"0.5", b"0.4"))
    found = DvcObjects([LocalCache(cache)]).read_object(md5, legacy=True)
    assert (found.data, found.mismatch) == (None, "cache")
