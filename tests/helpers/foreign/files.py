"""Bytes the foreign repositories share: real PNG images and DVC's md5 of a file."""

from __future__ import annotations

import hashlib
import struct
import zlib


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid solid-colour PNG (a real image the site must show as <img>)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


PNG_RED = _png(40, 30, (200, 30, 30))
PNG_BLUE = _png(30, 30, (30, 60, 200))


def md5_of(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
