"""Building snapshots commit after commit with read-ahead: the loop of one history reader."""

from __future__ import annotations

from collections.abc import Iterator

from mlpages.config import Config
from mlpages.dvcfiles.data import plot_kind
from mlpages.gitread.reader import GitReader
from mlpages.history.build import SnapshotBuilder
from mlpages.history.views import GitView, TreeIndex
from mlpages.models import Commit, Snapshot

CHUNK = 64  # commits per read-ahead batch


def _prefetch(
    reader: GitReader, index: TreeIndex, roots: list[str], hot: set[str], config: Config
) -> None:
    """Bulk-read the trees and the blobs at ``hot`` paths of the next commits."""
    index.prefetch(roots)
    blobs: list[str] = []
    for root in roots:
        blobs.extend(sha for _, sha in index.dvc_files(root))
        for path in hot:
            entry = reader.lookup(root, path)
            if entry is not None and entry.is_blob:
                blobs.append(entry.sha)
    reader.prefetch_blobs(blobs, config.max_file_bytes)


def build_each(
    reader: GitReader, builder: SnapshotBuilder, commits: dict[str, Commit], todo: list[str]
) -> Iterator[tuple[str, Snapshot, list[tuple[str, bool]]]]:
    """(sha, snapshot, DVC objects missed) of ``todo`` in order, reading ahead CHUNK commits."""
    index = TreeIndex(reader)
    hot: set[str] = set()
    # The first commit alone (it teaches which paths are read), then CHUNK at a time.
    for start in [0, *range(1, len(todo), CHUNK)]:
        chunk = todo[start : start + CHUNK] if start else todo[:1]
        if start:  # read ahead what the previous commits needed (one round trip each)
            _prefetch(reader, index, [commits[sha].tree for sha in chunk], hot, builder.config)
        hot = set()
        for sha in chunk:
            view = GitView(reader, index, commits[sha].tree)
            snapshot, missing = builder.build(sha, view)
            yield sha, snapshot, missing
            # Images are never read while snapshotting (only their size): keeping
            # them out of the read-ahead keeps their bytes out of memory.
            hot |= {p for p in view.paths_read if plot_kind(p) != "image"}
        reader.blob_memo.clear()
