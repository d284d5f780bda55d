"""Page rendering on several cores: forked workers render blocks of pages from a work queue.

The parent has gathered the history and built every page's (lazy) context; forked workers
inherit all of it, render the pages of the blocks they are handed and send back the bytes. A page
renders to the same bytes in any process, so the site is the same as one process makes.
Needs ``fork``; elsewhere (and for few pages) rendering stays in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

BLOCK = 32  # pages per work item
MIN_PAGES = 4 * BLOCK  # fewer: forking costs more than it saves

_JOB: dict[str, Any] = {}


def can_fork() -> bool:
    import multiprocessing  # lazily: most builds never fork

    return "fork" in multiprocessing.get_all_start_methods()


def _work(block: range) -> list[bytes]:
    render, items = _JOB["render"], _JOB["items"]
    return [render(items[i]) for i in block]


def render_in_workers(
    items: list[Any], render: Callable[[Any], bytes], jobs: int
) -> Iterator[tuple[Any, bytes]]:
    """(item, bytes) in the order of ``items``, rendered by ``jobs`` forked workers."""
    _JOB.clear()
    _JOB.update(render=render, items=items)
    blocks = [range(i, min(i + BLOCK, len(items))) for i in range(0, len(items), BLOCK)]
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    try:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            for block, pages in zip(blocks, pool.map(_work, blocks), strict=True):
                for i, data in zip(block, pages, strict=True):
                    yield items[i], data
    finally:
        _JOB.clear()
