"""Relative URLs between pages, so the site works from ``file://`` and under any sub-path."""

from __future__ import annotations

import functools
import hashlib
import posixpath
import re

from mlpages.text import utf8_text

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def relative_url(from_page: str, target: str) -> str:
    """The link from site page ``from_page`` to site path ``target`` (both site-relative, POSIX)."""
    if "://" in target or target.startswith(("#", "data:", "mailto:")):
        return target
    target, _, fragment = target.partition("#")
    start = posixpath.dirname(from_page) or "."
    rel = posixpath.relpath(target or from_page, start)
    if target.endswith("/") and not rel.endswith("/"):
        rel += "/"
    return rel + (f"#{fragment}" if fragment else "")


def commit_path(sha: str) -> str:
    """Site path of a commit page."""
    return f"commit/{sha[:12]}.html"


@functools.lru_cache(maxsize=8192)  # stage and branch names recur on every page
def slug(name: str) -> str:
    """A file-name-safe slug for a repository-controlled name (branch, stage), one per name.

    Undecodable bytes count as U+FFFD, as the history engine reads ref names: a branch checked
    out as ``b"x\\xff"`` gets the slug of the ``"x\\ufffd"`` the site shows.
    """
    name = utf8_text(name)
    cleaned = _UNSAFE.sub("-", name).strip("-.")[:60] or "x"
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned}-{digest}"


def compare_path(branch: str) -> str:
    """Site path of the page comparing ``branch`` with its merge-base on the default branch."""
    return f"compare/{slug(branch)}.html"
