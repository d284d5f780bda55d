"""The build machine fails us: read-only or full disks, a build killed with ``kill -9``.

Real operating-system errors only: an ``--out`` below a file (ENOTDIR), ``/sys`` (no folder
can be made there), tmpfs mounts (read-only: EROFS; small: ENOSPC) when the test runs as
root with mount rights, and a file size limit (``RLIMIT_FSIZE``: EFBIG) everywhere else.
Every failure must be one line ``mlpages: error: …``, with the previous site intact.
"""

from __future__ import annotations

import contextlib
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cli import mlpages
from helpers.site_repo import build_history, commit_files

from mlpages.site.write import MANIFEST


def _one_line_error(proc: subprocess.CompletedProcess[bytes], *needles: str) -> str:
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 1, (proc.returncode, stderr)
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mlpages: error: "), stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _leftovers(site: Path) -> list[str]:
    return sorted(p.name for p in site.parent.glob(f".{site.name}.*"))


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A real tmpfs at ``path`` (skips the test where mounting is not allowed)."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def _fill(folder: Path) -> None:
    """Write until the filesystem is full."""
    with open(folder / "filler", "wb") as filler, contextlib.suppress(OSError):
        while True:
            filler.write(b"\0" * 65536)
            filler.flush()


# --- where the site cannot be written ----------------------------------------------------------


def test_out_below_a_file_is_one_line(make_repo, tmp_path):
    repo, _ = build_history(make_repo, commits=2)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    proc = mlpages(
        "build",
        str(repo.path),
        "--out",
        str(tmp_path / "notes.txt" / "site"),
        cwd=tmp_path,
        text=False,
    )
    _one_line_error(proc, "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "a file, not a folder"


@pytest.mark.skipif(not Path("/sys/kernel").is_dir(), reason="needs Linux sysfs")
def test_out_where_no_folder_can_be_made_is_one_line(make_repo, tmp_path):
    repo, _ = build_history(make_repo, commits=2)
    proc = mlpages("build", str(repo.path), "--out", "/sys/mlpages-site", cwd=tmp_path, text=False)
    _one_line_error(proc, "/sys")


def test_out_on_a_read_only_filesystem_is_one_line(make_repo, tmp_path):
    repo, _ = build_history(make_repo, commits=2)
    with tmpfs(tmp_path / "ro", "size=1m,ro") as mount:
        proc = mlpages(
            "build", str(repo.path), "--out", str(mount / "site"), cwd=tmp_path, text=False
        )
        _one_line_error(proc, "Read-only file system")


def test_full_disk_is_one_line_and_keeps_the_old_site(make_repo, tmp_path):
    repo, _ = build_history(make_repo, commits=3)
    with tmpfs(tmp_path / "small", "size=12m") as mount:
        site = mount / "site"
        first = mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False)
        assert first.returncode == 0, first.stderr.decode()
        before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
        repo.commit("run 3", commit_files(3))
        _fill(mount)
        proc = mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False)
        _one_line_error(proc, "No space left on device", str(site))
        assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
        assert _leftovers(site) == []
        (mount / "filler").unlink()
        again = mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False)
        assert again.returncode == 0, again.stderr.decode()


def _file_size_limit(limit: int):
    def apply() -> None:
        # Python ignores SIGXFSZ, so writing past the limit is an OSError (EFBIG), not a kill.
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_file_size_limit_is_one_line_and_keeps_the_old_site(make_repo, tmp_path):
    """Runs everywhere (no mount needed): the same failure path as a full disk."""
    repo, _ = build_history(make_repo, commits=3)
    site = tmp_path / "site"
    first = mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False)
    assert first.returncode == 0, first.stderr.decode()
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    repo.commit("run 3", commit_files(3))
    proc = mlpages(
        "build",
        str(repo.path),
        "--out",
        str(site),
        cwd=tmp_path,
        preexec_fn=_file_size_limit(4096),
        text=False,
    )
    _one_line_error(proc, "File too large", str(site))
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert _leftovers(site) == []


# --- the snapshot cache on a full disk ---------------------------------------------------------


def _bulky_files(i: int) -> dict[str, str]:
    """A run whose snapshot is large: a 4,000-row plot of random numbers (~50 kB compressed)."""
    rng = random.Random(i)
    files = commit_files(i)
    files["dvc.yaml"] += "plots:\n- scores.csv:\n    template: bar_horizontal\n    x: a\n    y: b\n"
    files["scores.csv"] = "a,b\n" + "".join(
        f"{rng.random():.9f},{rng.random():.9f}\n" for _ in range(4000)
    )
    return files


def test_full_disk_under_the_snapshot_cache_only_disables_the_cache(make_repo, tmp_path):
    repo = make_repo()
    with tmpfs(tmp_path / "cachefs", "size=256k") as mount:
        repo.write({".dvc/config": "", "mlpages.yaml": f"cache_dir: {mount / 'cache'}\n"})
        for i in range(8):
            repo.commit(f"run {i}", _bulky_files(i))
        site = tmp_path / "site"
        proc = mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False)
        stderr = proc.stderr.decode()
        assert proc.returncode == 0, stderr
        assert "Traceback" not in stderr
        assert "snapshot cache disabled" in stderr and "full" in stderr
        assert len(list((site / "commit").glob("*.html"))) == 8
        # The next build still works (and still without the cache: the disk is still full).
        again = mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False)
        assert again.returncode == 0 and "Traceback" not in again.stderr.decode()


# --- kill -9 in the middle of writing ----------------------------------------------------------


def _big_history(make_repo, commits: int = 60):
    """Enough commits that writing the site takes a while (a window to kill it in)."""
    repo, shas = build_history(make_repo, commits=6)
    for i in range(6, commits):
        shas.append(repo.commit(f"run {i}", commit_files(i % 12)))
    return repo, shas


def _start_build(repo: Path, site: Path, cwd: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    return subprocess.Popen(
        [sys.executable, "-m", "mlpages", "build", str(repo), "--out", str(site)],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for(folder: Path, prefix: str, proc: subprocess.Popen[bytes]) -> bool:
    """Poll until a ``prefix`` entry appears in ``folder`` (False once ``proc`` has ended)."""
    while proc.poll() is None:
        if any(name.startswith(prefix) for name in os.listdir(folder)):
            return True
    return False


@pytest.mark.parametrize("moment", ["tmp", "old"])
def test_kill_9_mid_write_leaves_nothing_after_the_next_build(make_repo, tmp_path, moment):
    """``tmp``: killed while writing the new site; ``old``: while deleting the previous one."""
    repo, _ = _big_history(make_repo)
    site = tmp_path / "site"
    assert (
        mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False).returncode
        == 0
    )
    prefix = f".site.{moment}-"
    for attempt in range(8):  # the window is short: kill until the kill lands inside it
        repo.commit(f"more {attempt}", commit_files(attempt))
        build = _start_build(repo.path, site, tmp_path)
        caught = _wait_for(tmp_path, prefix, build)
        if caught:
            build.send_signal(signal.SIGKILL)
        build.wait()
        if caught and any(n.startswith(prefix) for n in _leftovers(site)):
            break
    else:
        pytest.fail(f"could not kill a build while {prefix}* existed")
    assert build.returncode == -signal.SIGKILL
    assert (site / "index.html").is_file() or moment == "old"
    after = mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False)
    assert after.returncode == 0, after.stderr.decode()
    assert _leftovers(site) == []
    assert (site / MANIFEST).is_file()
    assert (site / f"commit/{repo.head()[:12]}.html").is_file()


def test_a_paused_build_keeps_its_folder_while_another_build_runs(make_repo, tmp_path):
    """A live build's temp folder is not stale: another build leaves it alone, both finish."""
    repo, _ = _big_history(make_repo)
    site = tmp_path / "site"
    assert (
        mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False).returncode
        == 0
    )
    repo.commit("more", commit_files(7))
    for _ in range(8):
        paused = _start_build(repo.path, site, tmp_path)
        if _wait_for(tmp_path, ".site.tmp-", paused):
            paused.send_signal(signal.SIGSTOP)
            break
        paused.wait()
    else:
        pytest.fail("the build finished before its temp folder was seen")
    try:
        folder = tmp_path / f".site.tmp-{paused.pid}"
        assert folder.is_dir()
        other = mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False)
        assert other.returncode == 0, other.stderr.decode()
        assert folder.is_dir(), "a live build's folder was removed"
    finally:
        paused.send_signal(signal.SIGCONT)
    _, stderr = paused.communicate(timeout=120)
    assert paused.returncode == 0, stderr.decode()
    assert _leftovers(site) == []
    assert (site / f"commit/{repo.head()[:12]}.html").is_file()


def test_folder_named_after_a_live_process_that_is_not_a_build_is_stale(make_repo, tmp_path):
    """PID reuse: the PID of a killed build now belongs to some other live process."""
    repo, _ = build_history(make_repo, commits=2)
    site = tmp_path / "site"
    assert (
        mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False).returncode
        == 0
    )
    other = subprocess.Popen(["sleep", "60"])
    try:
        stale = tmp_path / f".site.tmp-{other.pid}"
        (stale / "commit").mkdir(parents=True)
        (stale / "index.html").write_text("half written")
        old = time.time() - 3600
        os.utime(stale, (old, old))
        assert (
            mlpages(
                "build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False
            ).returncode
            == 0
        )
        assert _leftovers(site) == []
    finally:
        other.kill()
        other.wait()


def test_build_killed_between_its_renames_gets_the_previous_site_back(make_repo, tmp_path):
    """Killed after moving the old site aside, before moving the new one in: no site at all,
    only the backup. The next build puts it back first, so even a failing build keeps it."""
    repo, _ = build_history(make_repo, commits=3)
    site = tmp_path / "site"
    assert (
        mlpages("build", str(repo.path), "--out", str(site), cwd=tmp_path, text=False).returncode
        == 0
    )
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    mover = subprocess.run(  # a real process that dies by SIGKILL right after the first rename
        [
            sys.executable,
            "-c",
            "import os, signal, sys; site = sys.argv[1];"
            "os.rename(site, os.path.join(os.path.dirname(site), f'.site.old-{os.getpid()}'));"
            "os.kill(os.getpid(), signal.SIGKILL)",
            str(site),
        ]
    )
    assert mover.returncode == -signal.SIGKILL and not site.exists()
    assert [name.split("-")[0] for name in _leftovers(site)] == [".site.old"]
    repo.commit("run 3", commit_files(3))
    failing = mlpages(
        "build",
        str(repo.path),
        "--out",
        str(site),
        cwd=tmp_path,
        preexec_fn=_file_size_limit(4096),
        text=False,
    )
    _one_line_error(failing, "File too large")
    assert {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()} == before
    assert _leftovers(site) == []
