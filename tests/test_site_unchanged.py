"""A rebuild with nothing new leaves the site alone; any change to an input makes it a real build.

The whole-site key (``mlpages.site.unchanged``) lets a rebuild skip rendering, linking and the
swap. These tests check both sides: nothing is touched when nothing changed, and each input the
key must see (a commit, a ref, the configuration, a file missing from the site, a DVC-cached
image gone from the cache) leads to the site a clean build writes.
"""

from __future__ import annotations

from pathlib import Path

from helpers.site_repo import build_history, commit_files
from test_site_images import _image_repo, png
from test_site_incremental import _assert_same

from mlpages.site.build import build_site


def _inodes(site: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(site).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in site.rglob("*")
        if p.is_file()
    }


def _clean(repo: Path, tmp_path: Path, name: str) -> Path:
    clean = tmp_path / name
    build_site(repo, clean)
    return clean


def test_nothing_new_touches_nothing(make_repo, tmp_path):
    repo, _ = build_history(make_repo, commits=3)
    site = tmp_path / "site"
    first = build_site(repo.path, site)
    before, folder = _inodes(site), site.stat().st_ino
    again = build_site(repo.path, site)
    assert (again.rendered, again.written) == (0, 0)
    assert again.pages == first.pages
    assert again.unchanged == len(before) - 2  # every file but the manifest and .nojekyll
    assert _inodes(site) == before
    assert site.stat().st_ino == folder  # no swap
    _assert_same(site, _clean(repo.path, tmp_path, "clean"), "nothing new")


def test_each_changed_input_rebuilds(make_repo, tmp_path):
    repo, shas = build_history(make_repo, commits=3)
    site = tmp_path / "site"
    build_site(repo.path, site)
    (site / "runs.html").unlink()  # a file gone from the site: rebuilt, not skipped
    report = build_site(repo.path, site)
    assert "runs.html" in report.rendered_paths
    _assert_same(site, _clean(repo.path, tmp_path, "clean-0"), "a file deleted")
    changes = [
        ("a new commit", lambda: repo.commit("run 9", commit_files(9))),
        ("a tag", lambda: repo.git("tag", "v9", shas[0])),
        ("the configuration", lambda: (repo.path / "mlpages.yaml").write_text("title: Other\n")),
    ]
    for index, (step, change) in enumerate(changes, start=1):
        change()
        report = build_site(repo.path, site)
        assert report.rendered > 0, f"{step}: skipped"
        _assert_same(site, _clean(repo.path, tmp_path, f"clean-{index}"), step)


def test_a_dvc_image_gone_from_the_cache_rebuilds(make_repo, tmp_path):
    cached = png(900, seed=7)
    repo, sha = _image_repo(make_repo, committed=png(800, seed=6), cached=cached)
    site = tmp_path / "site"
    build_site(repo.path, site)
    objects = [p for p in (repo.path / ".dvc" / "cache").rglob("*") if p.is_file()]
    assert objects
    for path in objects:  # `dvc gc`: the snapshot stays, the page must drop the image
        path.unlink()
    report = build_site(repo.path, site)
    assert f"commit/{sha[:12]}.html" in report.rendered_paths
    _assert_same(site, _clean(repo.path, tmp_path, "clean"), "an image gone")
