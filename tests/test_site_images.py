"""Plot images obey ``max_file_bytes`` like every other file, and each image blob is read and
held once however many commits show it (a 30 MB plot in 80 commits once took 2.4 GB)."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

from bs4 import BeautifulSoup

from mlpages.site.build import build_site

DVC_YAML = """\
stages:
  plot:
    cmd: python plot.py
    deps:
    - plot.py
    outs:
    - plots/cached.png
plots:
- plots/committed.png
- plots/small.png
- plots/cached.png
- plots/diagram.svg
"""
SMALL_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"></svg>'


def png(size: int, seed: int) -> bytes:
    """``size`` bytes that start like a PNG (browsers sniff the header; the rest is noise)."""
    header = b"\x89PNG\r\n\x1a\n"
    return header + random.Random(seed).randbytes(size - len(header))


def _lock(cached: bytes) -> str:
    digest = hashlib.md5(cached).hexdigest()
    return (
        "schema: '2.0'\nstages:\n  plot:\n    cmd: python plot.py\n    deps:\n"
        f"    - path: plot.py\n      hash: md5\n      md5: {hashlib.md5(b'x').hexdigest()}\n"
        "      size: 1\n    outs:\n"
        f"    - path: plots/cached.png\n      hash: md5\n      md5: {digest}\n"
        f"      size: {len(cached)}\n"
    )


def _put_in_dvc_cache(repo: Path, data: bytes) -> None:
    digest = hashlib.md5(data).hexdigest()
    target = repo / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _image_repo(
    make_repo, *, committed: bytes, cached: bytes, svg: bytes = SMALL_SVG, config: str = ""
):
    repo = make_repo()
    repo.write({".dvc/config": "", ".dvc/.gitignore": "/cache\n", "mlpages.yaml": config})
    _put_in_dvc_cache(repo.path, cached)
    sha = repo.commit(
        "plots",
        {
            "dvc.yaml": DVC_YAML,
            "dvc.lock": _lock(cached),
            "plot.py": "x",
            "plots/committed.png": committed,
            "plots/small.png": png(5_000, seed=1),
            "plots/diagram.svg": svg,
        },
    )
    return repo, sha


def _problems(page: Path) -> dict[str, str]:
    soup = BeautifulSoup(page.read_text(), "html.parser")
    rows = soup.select("section.problems tr")
    return {
        row.find_all("td")[1].get_text(strip=True): row.get_text(" ", strip=True)
        for row in rows
        if len(row.find_all("td")) == 3
    }


def _site_images(site: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (site / "img").glob("*")}


def test_images_over_max_file_bytes_are_problems_and_not_copied(make_repo, tmp_path):
    big, cached = png(300_000, seed=2), png(250_000, seed=3)
    svg = SMALL_SVG[:-6] + b"<!--" + b"x" * 150_000 + b"--></svg>"
    repo, sha = _image_repo(
        make_repo, committed=big, cached=cached, svg=svg, config="max_file_bytes: 100000\n"
    )
    site = tmp_path / "site"
    report = build_site(repo.path, site)
    assert report.problem_commits == [sha]
    problems = _problems(site / f"commit/{sha[:12]}.html")
    assert "too-large" in problems["plots/committed.png"]
    assert "300000 bytes" in problems["plots/committed.png"]
    assert "too-large" in problems["plots/cached.png"]
    assert "too-large" in problems["plots/diagram.svg"]
    assert "svg+xml" not in (site / f"commit/{sha[:12]}.html").read_text()
    images = _site_images(site)
    assert list(images.values()) == [png(5_000, seed=1)]  # the small one is still shown
    for path in site.rglob("*"):
        if path.is_file() and path.stat().st_size > 100_000:
            assert path.suffix == ".js", f"{path} is over the cap"


def test_a_real_six_megabyte_image_with_the_default_cap(make_repo, tmp_path):
    repo, sha = _image_repo(make_repo, committed=png(6_000_000, seed=4), cached=png(900, seed=5))
    site = tmp_path / "site"
    build_site(repo.path, site)
    problems = _problems(site / f"commit/{sha[:12]}.html")
    assert "6000000 bytes, over max_file_bytes=5000000" in problems["plots/committed.png"]
    assert sorted(len(b) for b in _site_images(site).values()) == [900, 5_000]
    assert "data:image/svg+xml;base64," in (site / f"commit/{sha[:12]}.html").read_text()


MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    from mlpages.site.build import build_site
    report = build_site(sys.argv[1], sys.argv[2])
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_mb": peak_kb / 1024, "seconds": report.seconds["total"]}))
    """
)


def _history_of_images(make_repo, name: str, size: int, commits: int = 20):
    """``commits`` commits showing one image; every other commit changes it, the rest share it."""
    repo = make_repo(name=name)
    repo.write({".dvc/config": "", ".dvc/.gitignore": "/cache\n"})
    shared_cached = png(size, seed=100)
    _put_in_dvc_cache(repo.path, shared_cached)
    for i in range(commits):
        committed = png(size, seed=i) if i % 2 else png(size, seed=1000)
        repo.commit(
            f"run {i}",
            {
                "dvc.yaml": DVC_YAML,
                "dvc.lock": _lock(shared_cached),
                "plot.py": "x",
                "plots/committed.png": committed,
                "plots/small.png": png(2_000, seed=i),
                "plots/diagram.svg": SMALL_SVG,
            },
        )
    return repo


def _peak(repo: Path, site: Path) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, str(repo), str(site)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def test_memory_does_not_grow_with_commits_times_image_size(make_repo, tmp_path):
    """20 commits, 11 distinct 2 MB images plus one 2 MB DVC-cached image in every commit:
    holding each commit's copy costs 80 MB; reading each blob once, one at a time, a few MB."""
    small = _history_of_images(make_repo, "tiny", size=2_000)
    large = _history_of_images(make_repo, "large", size=2_000_000)
    baseline = _peak(small.path, tmp_path / "tiny-site")
    measured = _peak(large.path, tmp_path / "large-site")
    growth = measured["peak_mb"] - baseline["peak_mb"]
    print(f"peak RSS: {baseline['peak_mb']:.0f} MB tiny, {measured['peak_mb']:.0f} MB large")
    assert growth < 25, f"peak memory grew by {growth:.0f} MB with 2 MB images"
    assert len(list((tmp_path / "large-site" / "img").glob("*.png"))) == 11 + 1 + 20
