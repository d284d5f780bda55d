"""The real ``dvc`` for tests (a test or fixture using it is slow: see conftest's marking hook)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from helpers.git import run


def dvc(
    repo: Path, *args: str, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``python -m dvc ARGS`` in ``repo`` with the tool environment; ``check``: must succeed."""
    return run([sys.executable, "-m", "dvc", *args], repo, env=env, check=check)
