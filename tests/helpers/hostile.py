"""Run mlpages on hostile input in a child process with a time limit and a memory limit.

A regression (a YAML bomb expanding again, a FIFO read that blocks) then fails its test fast — a
MemoryError at the address-space limit, or the timeout — instead of hanging the suite or eating
the memory of a machine shared with others.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

MEMORY_LIMIT = 1 << 30  # address space of the child: 1 GB
TIMEOUT = 60  # seconds; a healthy run on these tiny repositories takes about one


# The child limits itself, then runs the code: no preexec_fn (unsafe in a threaded parent).
_LIMIT = (
    f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))\n"
)
_MLPAGES = (
    _LIMIT
    + "import runpy, sys; sys.argv[0] = 'mlpages'; runpy.run_module('mlpages', run_name='__main__')"
)


def run_limited(
    args: list[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """``python -m mlpages ARGS`` in ``cwd`` under the limits (TimeoutExpired past ``timeout``)."""
    return subprocess.run(
        [sys.executable, "-c", _MLPAGES, *args],
        cwd=cwd,
        env={**os.environ, "DVC_NO_ANALYTICS": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def python_limited(code: str, *, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter under the limits."""
    return subprocess.run(
        [sys.executable, "-c", _LIMIT + code],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def laughs(levels: int = 9, width: int = 9) -> list[str]:
    """Lines of a "billion laughs": level N is a list of ``width`` aliases of level N-1."""
    names = "abcdefghijklmnopqrstuvwxyz"
    leaves = ",".join(['"lol"'] * width)
    lines = [f"{names[0]}: &{names[0]} [{leaves}]"]
    for i in range(1, levels):
        refs = ",".join([f"*{names[i - 1]}"] * width)
        lines.append(f"{names[i]}: &{names[i]} [{refs}]")
    return lines


# The 342-byte params.yaml of the report: 9**9 (387 million) strings once expanded.
BOMB_342 = "\n".join(laughs()) + "\n"


def mapping_laughs(levels: int = 9, width: int = 9) -> str:
    """The mapping form (about 800 bytes): flattening it makes 9**9 dotted keys."""
    keys = ", ".join(f"k{j}: lol" for j in range(width))
    lines = [f"l0: &l0 {{{keys}}}"]
    for i in range(1, levels):
        refs = ", ".join(f"k{j}: *l{i - 1}" for j in range(width))
        lines.append(f"l{i}: &l{i} {{{refs}}}")
    return "\n".join(lines) + "\n"
