"""The history read on several cores: forked workers build blocks of commits from a work queue.

Blocks of :data:`BLOCK` commits are handed out in order to whichever worker is free (a long
history's cost is uneven: split in halves, one half took 2.5 times the other). Each worker has
its own git reader and parse caches and sends back, per commit, the compressed snapshot document
with its stage ids and the stage documents it has not sent before; the parent stores them in the
snapshot cache in commit order. Documents are content-addressed, so the result is the same bytes
as one process. Needs ``fork`` (Linux, macOS); elsewhere the read stays in one process.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlpages.gitread.reader import GitReader
from mlpages.history.build import SnapshotBuilder
from mlpages.history.cache import SnapshotCache, StageTable
from mlpages.history.codec import snapshot_doc
from mlpages.history.walk import build_each
from mlpages.models import Commit

BLOCK = 256  # commits per work item
Row = tuple[str, bytes, tuple[str, ...], list[tuple[str, bool]]]  # sha, zdoc, stage ids, missed

# What a forked worker inherits from the parent (set just before the pool starts).
_JOB: dict[str, Any] = {}


def can_fork() -> bool:
    import multiprocessing  # lazily: most builds never fork

    return "fork" in multiprocessing.get_all_start_methods()


def _worker_state() -> dict[str, Any]:
    if "reader" not in _JOB:
        _JOB["reader"] = GitReader(_JOB["root"])
        _JOB["stages"] = StageTable()
        _JOB["sent"] = set()
    return _JOB


def _work(block: list[str]) -> tuple[list[Row], dict[str, bytes]]:
    """Build one block in a worker: its rows and the stage documents new to the parent."""
    state = _worker_state()
    stages: StageTable = state["stages"]
    sent: set[str] = state["sent"]
    rows: list[Row] = []
    new_docs: dict[str, bytes] = {}
    for sha, snapshot, missing in build_each(
        state["reader"], state["builder"], state["commits"], block
    ):
        ids = tuple(stages.id_of(s) for s in snapshot.stages)
        for stage_id in ids:
            if stage_id not in sent:
                sent.add(stage_id)
                new_docs[stage_id] = stages.docs[stage_id]
        stages.docs.clear()  # sent: the worker keeps ids only
        rows.append((sha, zlib.compress(snapshot_doc(snapshot, list(ids)), 1), ids, missing))
    return rows, new_docs


def build_in_workers(
    root: Path,
    builder: SnapshotBuilder,
    commits: dict[str, Commit],
    todo: list[str],
    cache: SnapshotCache,
    jobs: int,
) -> Iterator[Row]:
    """Rows of ``todo`` in order, built by ``jobs`` forked workers and stored in ``cache``."""
    _JOB.clear()
    _JOB.update(root=root, builder=builder, commits=commits)
    blocks = [todo[i : i + BLOCK] for i in range(0, len(todo), BLOCK)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            for rows, new_docs in pool.map(_work, blocks):
                for stage_id, body in new_docs.items():
                    cache.stages.docs.setdefault(stage_id, body)
                for row in rows:
                    cache.store_doc(*row)
                    yield row
    finally:
        _JOB.clear()
