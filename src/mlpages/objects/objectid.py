"""DVC object ids from repository content: check the md5, place its file, verify the bytes.

An md5 in a branch's ``dvc.lock`` is an address chosen by whoever pushed the branch, never a path:
every object source (local cache, folder or S3 remote, the remote's fetch cache, and any later
one) accepts it only through :func:`is_md5`, opens only what :func:`object_file` returns, and
uses or keeps only bytes that pass :func:`verified`.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
from pathlib import Path

# DVC writes hashlib's lowercase hexdigest and never folds case, so an uppercase md5 names no
# object DVC would find either: it is refused, not normalised.
_MD5 = re.compile(r"[0-9a-f]{32}(?:\.dir)?")
_CHUNK = 2**20  # DVC 2 and dvc_data hash (and convert CRLF) 1 MiB at a time
_TEXT_PROBE = 512  # DVC's text heuristic looks at this many leading bytes


def is_md5(value: object) -> bool:
    """True for a DVC object id: exactly 32 lowercase hex digits, optionally ``.dir``."""
    return isinstance(value, str) and _MD5.fullmatch(value) is not None


def object_relpath(md5: str, legacy: bool) -> str:
    """``files/md5/ab/cdef…`` (DVC 3) or ``ab/cdef…`` (legacy) of a checked md5."""
    if not is_md5(md5):
        raise ValueError(f"not a DVC md5: {md5[:80]!r}")
    tail = f"{md5[:2]}/{md5[2:]}"
    return tail if legacy else f"files/md5/{tail}"


def contained(folder: Path, relpath: str) -> Path | None:
    """``folder/relpath`` with every symlink resolved, or None when that leaves ``folder``."""
    try:
        base = folder.resolve()
        parts = relpath.split("/")
        if all(part not in ("", ".", "..") for part in parts):
            plain = _plain_below(base, parts)
            if plain is not None:
                return plain
        target = (base / relpath).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None
    return target if target != base and target.is_relative_to(base) else None


def _plain_below(base: Path, parts: list[str]) -> Path | None:
    """``base/parts…`` when no component below ``base`` is a symlink (the common case), checked
    with one lstat per existing component; None when one is a link (then resolve fully)."""
    current = base
    for part in parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except FileNotFoundError:
            return base.joinpath(*parts)  # nothing further exists, so nothing further links
        if stat.S_ISLNK(mode):
            return None
    return current


def object_file(folder: Path, md5: str, legacy: bool) -> Path | None:
    """Where ``md5`` lives below a cache-layout folder; None for a bad md5 or a way out."""
    if not is_md5(md5):
        return None
    return contained(folder, object_relpath(md5, legacy))


def _md5(data: bytes) -> str:
    # The address is DVC's md5; FIPS builds refuse md5 unless told it is not for signatures.
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _dos2unix_md5s(data: bytes) -> set[str]:
    """The md5s DVC gave a text file in the legacy layout: CRLF → LF before hashing.

    dvc_data (DVC 3, ``md5-dos2unix``) decides text or binary per 1 MiB chunk; DVC 2 decided once
    from the file's first 512 bytes and converted every chunk. Both named real objects.
    """
    from dvc_data.hashfile.hash import fobj_md5
    from dvc_data.hashfile.istextfile import istextblock

    found = {fobj_md5(io.BytesIO(data), name="md5-dos2unix")}
    if istextblock(data[:_TEXT_PROBE]):
        whole = hashlib.md5(usedforsecurity=False)
        for start in range(0, len(data), _CHUNK):
            whole.update(data[start : start + _CHUNK].replace(b"\r\n", b"\n"))
        found.add(whole.hexdigest())
    return found


def verified(md5: str, data: bytes, legacy: bool = False) -> bool:
    """True when ``data`` is the object ``md5`` names.

    A file object hashes to its md5, a ``.dir`` object (the JSON listing DVC wrote) to its md5
    without the suffix. In the legacy layout a text file may also match DVC 2's CRLF-normalised md5.
    """
    if not is_md5(md5):
        return False
    want = md5.removesuffix(".dir")
    if _md5(data) == want:
        return True
    return legacy and b"\r\n" in data and want in _dos2unix_md5s(data)
