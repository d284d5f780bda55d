"""The real ``mlpages`` command line in a fresh process, as a user or CI job runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any


def mlpages(
    *args: str,
    cwd: Path,
    env: Mapping[str, str | None] | None = None,
    ok: Collection[int] | None = None,
    **popen: Any,
) -> subprocess.CompletedProcess:
    """``python -m mlpages ARGS`` in ``cwd``: os.environ with ``env`` over it (None unsets).

    Output is text unless ``text=False`` is passed. With ``ok``, the run must print no traceback
    and exit with one of those codes.
    """
    full_env = dict(os.environ)
    for key, value in (env or {}).items():
        if value is None:
            full_env.pop(key, None)
        else:
            full_env[key] = value
    popen.setdefault("text", True)
    proc = subprocess.run(
        [sys.executable, "-m", "mlpages", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        check=False,
        **popen,
    )
    if ok is not None:
        stderr = (
            proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode("utf-8", "replace")
        )
        assert "Traceback" not in stderr, stderr
        assert proc.returncode in ok, (proc.returncode, proc.stdout[-2000:], stderr[-2000:])
    return proc
