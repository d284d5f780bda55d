"""DVC object ids: the one md5 check, containment of object files, verification of object bytes."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
from dvc_data.hashfile.hash import fobj_md5
from dvc_data.hashfile.tree import Tree

from mlpages.objects.objectid import contained, is_md5, object_file, object_relpath, verified

GOOD = hashlib.md5(b"x").hexdigest()


@pytest.mark.parametrize("value", [GOOD, "0" * 32, "f" * 32 + ".dir"])
def test_hex_md5s_are_accepted(value):
    assert is_md5(value)


@pytest.mark.parametrize(
    "value",
    [
        GOOD.upper(),  # DVC never writes it and never folds case: refused, not normalised
        GOOD[:31],
        GOOD + "0",
        GOOD + ".DIR",
        GOOD + ".dir.dir",
        GOOD + "\n",
        " " + GOOD,
        "g" * 32,
        "abc",  # the old check let 3 to 64 hex digits through
        "//proc/self/environ",
        "//etc/passwd",
        ".../../../../etc/passwd",
        "../../" + "a" * 26,
        "ab/" + "c" * 29,
        "",
        None,
        32,
        ["a" * 32],
    ],
)
def test_everything_else_is_refused(value):
    assert not is_md5(value)
    assert not verified(value, b"x")  # type: ignore[arg-type]
    if isinstance(value, str):
        with pytest.raises(ValueError, match="not a DVC md5"):
            object_relpath(value, legacy=False)
        assert object_file(Path("/tmp"), value, legacy=True) is None


def test_layouts():
    assert object_relpath(GOOD, legacy=False) == f"files/md5/{GOOD[:2]}/{GOOD[2:]}"
    assert object_relpath(GOOD + ".dir", legacy=True) == f"{GOOD[:2]}/{GOOD[2:]}.dir"


def test_containment_resolves_symlinks(tmp_path: Path):
    cache, outside = tmp_path / "cache", tmp_path / "outside"
    (cache / "ab").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret").write_text("s")
    (cache / "ab" / "real").write_text("r")
    (cache / "ab" / "inner").symlink_to(cache / "ab" / "real")
    (cache / "ab" / "outer").symlink_to(outside / "secret")
    (cache / "cd").symlink_to(outside)  # a whole shard folder pointing out
    (cache / "ab" / "loop").symlink_to(cache / "ab" / "loop")
    assert contained(cache, "ab/real") == (cache / "ab" / "real").resolve()
    assert contained(cache, "ab/inner") == (cache / "ab" / "real").resolve()
    assert contained(cache, "ab/absent") == (cache / "ab" / "absent").resolve()
    for way_out in ("ab/outer", "cd/secret", "../outside/secret", "/etc/passwd", ".", "ab/loop"):
        assert contained(cache, way_out) is None, way_out
    linked_cache = tmp_path / "linked-cache"
    linked_cache.symlink_to(cache)  # the cache folder itself may be a link (cache.dir elsewhere)
    assert contained(linked_cache, "ab/real") == (cache / "ab" / "real").resolve()


def test_file_and_dir_objects_verify_against_their_md5():
    data = b'{"acc": 0.5}'
    md5 = hashlib.md5(data).hexdigest()
    assert verified(md5, data) and verified(md5, data, legacy=True)
    assert not verified(md5, data + b" ")
    assert not verified(md5 + ".dir", data + b" ")
    listing = json.dumps([{"md5": md5, "relpath": "m.json"}], sort_keys=True).encode()
    assert verified(hashlib.md5(listing).hexdigest() + ".dir", listing)


def _dvc_legacy_md5(data: bytes) -> str:
    """What DVC 3 (dvc_data) records for a file of the legacy layout: ``md5-dos2unix``."""
    return fobj_md5(io.BytesIO(data), name="md5-dos2unix")


def _dvc2_md5(data: bytes) -> str:
    """DVC 2: text or binary decided once from the first 512 bytes, CRLF→LF in every chunk."""
    from dvc_data.hashfile.istextfile import istextblock

    if not istextblock(data[:512]):
        return hashlib.md5(data).hexdigest()
    digest = hashlib.md5()
    for start in range(0, len(data), 2**20):
        digest.update(data[start : start + 2**20].replace(b"\r\n", b"\n"))
    return digest.hexdigest()


def test_legacy_text_objects_verify_with_dvcs_crlf_normalised_md5():
    text = b"step,loss\r\n" + b"".join(b"%d,%d\r\n" % (i, i * i) for i in range(100))
    legacy = _dvc_legacy_md5(text)
    assert legacy != hashlib.md5(text).hexdigest()  # the normalisation matters here
    assert verified(legacy, text, legacy=True)
    assert not verified(legacy, text)  # DVC 3's own layout hashes the bytes as they are
    assert not verified(legacy, text.replace(b"99,9801", b"99,9802"), legacy=True)
    binary = b"\x00\x01\r\n" * 100  # binary: no conversion, so only the plain md5 names it
    assert _dvc_legacy_md5(binary) == hashlib.md5(binary).hexdigest()
    assert verified(hashlib.md5(binary).hexdigest(), binary, legacy=True)


def test_both_legacy_chunkings_are_accepted():
    # A text first MiB and a binary-looking second one: dvc_data (per chunk) leaves the second
    # chunk's CRLFs alone, DVC 2 (per file) converted them. Both named real objects.
    first = (b"a,b\r\n" * (2**20 // 5 + 1))[: 2**20]
    second = b"\x00" + b"\xff\r\n" * 1000
    data = first + second
    per_chunk, per_file = _dvc_legacy_md5(data), _dvc2_md5(data)
    assert per_chunk != per_file
    assert verified(per_chunk, data, legacy=True)
    assert verified(per_file, data, legacy=True)
    assert not verified(per_file, data[:-1], legacy=True)


def test_a_dir_object_is_the_md5_of_dvcs_canonical_listing():
    from dvc_data.hashfile.hash_info import HashInfo
    from dvc_data.hashfile.meta import Meta

    entries = {"b/x.csv": hashlib.md5(b"1").hexdigest(), "a.json": hashlib.md5(b"2").hexdigest()}
    tree = Tree()
    for relpath, md5 in entries.items():
        tree.add(tuple(relpath.split("/")), Meta(), HashInfo("md5", md5))
    tree.digest()
    listing = tree.as_bytes()
    assert (
        listing
        == json.dumps(
            sorted(
                ({"md5": m, "relpath": r} for r, m in entries.items()), key=lambda e: e["relpath"]
            ),
            sort_keys=True,
        ).encode()
    )
    assert verified(tree.oid, listing)
    assert not verified(tree.oid, json.dumps(json.loads(listing), indent=1).encode())


def test_no_relative_escape_through_a_shard_named_dot_dot(tmp_path: Path):
    # The old path join turned md5 ".../x" into <cache>/files/md5/../x: never again.
    (tmp_path / "files" / "md5").mkdir(parents=True)
    (tmp_path / "files" / "x").write_text("secret")
    assert object_file(tmp_path, ".../x", legacy=False) is None
    assert not os.path.isabs(object_relpath(GOOD, legacy=True))
