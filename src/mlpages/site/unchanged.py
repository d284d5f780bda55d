"""The whole-site key: a rebuild whose every input equals the previous build's leaves the site be.

The key fingerprints everything a page can show: the site-wide stamp (title, base URL,
configuration, default branch), the code stamp, the date the pages print, every commit (its
metadata and its snapshot document), the refs, the mainline, the repository's problems and the
registry. Images of DVC-cached plots are the one input outside the snapshots (an object can be
garbage-collected after its commit was read): the build records whether each was there, and the
check asks again. When the key, those answers and the files of the previous build all match, the
build renders, links and swaps nothing: the site on disk is what a clean build would write.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from mlpages.site.page_core import SiteData, fingerprint

IMAGE_CHECKS = "image_checks"  # SiteData.extra: image id -> whether it was readable


def site_key(site: SiteData, code_stamp: str, plotly_path: str) -> str:
    """A fingerprint of every input of the site's pages (see the module docstring)."""
    history = site.history
    digest = hashlib.sha256()
    head = fingerprint(
        site.stamp,
        code_stamp,
        plotly_path,
        site.generated,
        history.default_branch,
        history.mainline,
        history.shallow,
        repr(history.problems),
        repr(history.refs),
        repr(site.registry),
        sorted(set(history.commits) | set(history.snapshots)),
    )
    digest.update(head.encode())
    for sha in history.order:
        commit = history.commits.get(sha)
        digest.update(repr(commit).encode("utf-8", "surrogatepass"))
        digest.update(site.snapshot_key(sha).encode())
    return digest.hexdigest()[:24]


def record_image(site: SiteData, image_sha: str, present: bool) -> None:
    """Note that a page showed (or left out) DVC-cached image ``image_sha``."""
    if image_sha.startswith("md5:"):
        site.extra.setdefault(IMAGE_CHECKS, {})[image_sha] = present


def manifest_entries(site: SiteData, key: str, pages: int, paths: list[str]) -> dict[str, Any]:
    """What the manifest keeps for the next build's check."""
    return {
        "site_key": key,
        "pages": pages,
        "files": sorted(paths),
        "images": dict(sorted(site.extra.get(IMAGE_CHECKS, {}).items())),
    }


def unchanged(
    out: Path, previous: dict[str, Any], site: SiteData, key: str
) -> tuple[int, int] | None:
    """(pages, files) of the site at ``out`` when nothing changed since it was built (the same
    key, the same images readable, every file still there), else None."""
    if not key or previous.get("site_key") != key:
        return None
    files, images, pages = previous.get("files"), previous.get("images"), previous.get("pages")
    if not isinstance(files, list) or not isinstance(images, dict) or not isinstance(pages, int):
        return None
    for image_sha, present in images.items():
        if site.history.has_image(image_sha) != present:
            return None
    if not all(isinstance(p, str) and (out / p).is_file() for p in files):
        return None
    return pages, len(files)
