"""What is at a path of one revision: a git blob, a folder, or a DVC output read by its hash.

The :class:`FileLoader` answers for every file a snapshot reads (params, metrics, plots,
reports, vars files); problems (missing, too large, outside the repository, not in the DVC
cache, a tampered copy) are returned in :class:`Loaded`, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlpages.config import Config
from mlpages.history.cache import BoundedDict
from mlpages.history.views import FileView, Refused, TooLarge
from mlpages.models import HashInfo, Problem, Stage
from mlpages.objects.objectid import is_md5
from mlpages.objects.store import DvcObjects
from mlpages.worktree import OUTSIDE


@dataclass
class Loaded:
    """What reading one path produced."""

    data: bytes | None = None
    source: str = "git"  # git | cache | remote
    blob_id: str | None = None  # git blob id or "md5:<hash>"
    files: dict[str, str] | None = None  # for folders: repo path -> blob id / "md5:<hash>"
    problem: Problem | None = None
    missing_object: tuple[str, bool] | None = None


class OutIndex:
    """DVC outputs of one revision by path (files exactly, directories by prefix); lazy."""

    def __init__(self, outs: list[HashInfo]) -> None:
        self._outs = outs
        self._exact: dict[str, HashInfo] | None = None
        self._dirs: list[HashInfo] = []

    def find(self, path: str) -> HashInfo | None:
        """The output that is ``path`` or the (deepest) directory output containing it."""
        if self._exact is None:
            self._exact = {}
            for out in self._outs:
                self._exact.setdefault(out.path, out)
            self._dirs = sorted((o for o in self._outs if o.is_dir), key=lambda o: -len(o.path))
        found = self._exact.get(path)
        if found is not None:
            return found
        for out in self._dirs:
            if path.startswith(out.path.rstrip("/") + "/"):
                return out
        return None


NO_OUTS = OutIndex([])
_INDEXES: dict[tuple, tuple[list[Stage], OutIndex]] = {}


def out_index(stages: list[Stage], tracked: list[HashInfo]) -> OutIndex:
    """The outputs of a revision's stages and .dvc files; the same index for the same objects
    (consecutive commits of a long history share their stages, so it is built once)."""
    key = (tuple(map(id, stages)), tuple(tracked))
    hit = _INDEXES.get(key)
    if hit is not None:
        return hit[1]
    index = OutIndex([o for s in stages for o in s.lock_outs] + list(tracked))
    if len(_INDEXES) >= 8:
        del _INDEXES[next(iter(_INDEXES))]
    _INDEXES[key] = (list(stages), index)  # the stages are held: their ids stay theirs
    return index


def _missing_blob(path: str) -> Loaded:
    return Loaded(
        problem=Problem("missing-blob", path, "blob missing from the object store (partial clone?)")
    )


def _size_of(got: bytes | TooLarge | None) -> int:
    """A blob's size from :meth:`FileView.read` (-1: missing)."""
    if got is None:
        return -1
    return got.size if isinstance(got, TooLarge) else len(got)


class FileLoader:
    """Reads what is at a path of a revision: a git blob or folder, else a DVC-cached output."""

    def __init__(self, config: Config, objects: DvcObjects) -> None:
        self.objects = objects
        self.max_bytes = config.max_file_bytes
        # Image sizes by blob id / "md5:<hash>" (-2: over the cap, size unknown).
        self._sizes: dict[str, int] = BoundedDict(20_000)

    def read_blob(self, view: FileView, path: str, blob_id: str) -> Loaded:
        """A git blob within ``max_file_bytes``, or the problem that kept it out."""
        data = view.read(blob_id, self.max_bytes)
        if data is None:
            return _missing_blob(path)
        if isinstance(data, TooLarge):
            return Loaded(problem=self._too_large(path, data.size))
        if isinstance(data, Refused):
            return Loaded(problem=Problem(data.kind, path, data.message))
        return Loaded(data=data, blob_id=blob_id)

    def load(self, view: FileView, path: str, outs: OutIndex, want_data: bool = True) -> Loaded:
        """Read ``path`` from git, else from the DVC cache through the outputs covering it.

        ``want_data=False`` (images, shown as they are): only check that the file exists and is
        within ``max_file_bytes``, and return its id; the site reads it once, when it writes it.
        """
        entry = view.entry(path)
        if entry is not None:
            if entry.kind == "outside":  # never the DVC cache either: the path is refused
                return Loaded(problem=Problem("outside-repo", path, OUTSIDE.message))
            if entry.kind == "tree":
                return Loaded(files=dict(view.files_below(entry.id, path)))
            if not want_data:
                return self._check_blob(view, path, entry.id)
            return self.read_blob(view, path, entry.id)
        out = outs.find(path)
        if out is not None:
            return self._load_cached(path, out, want_data)
        return Loaded(problem=Problem("missing-file", path, "not in git and not a DVC output"))

    def _check_blob(self, view: FileView, path: str, blob_id: str) -> Loaded:
        size = self._sizes.get(blob_id)
        if size is None:
            # max_bytes=0: git reports the size and skips the content; nothing is held.
            size = _size_of(view.read(blob_id, 0))
            self._sizes[blob_id] = size
        if size < 0:
            return _missing_blob(path)
        if size > self.max_bytes:
            return Loaded(problem=self._too_large(path, size))
        return Loaded(blob_id=blob_id)

    def _check_object(self, path: str, md5: str, legacy: bool, declared: int | None) -> Loaded:
        """A DVC-cached image: present and within the cap (read at most once per object)."""
        if declared is not None and declared > self.max_bytes:
            # The lock's own size is enough to refuse (nothing is fetched from a remote).
            return Loaded(problem=self._too_large(path, declared))
        verdict = self._sizes.get(f"md5:{md5}")
        if verdict is None:
            found = self.objects.read_object(md5, legacy)  # capped at max_file_bytes
            verdict = -2 if found.too_large else -1 if found.data is None else len(found.data)
            if verdict != -1:  # a missing object may still arrive (dvc pull): ask again
                self._sizes[f"md5:{md5}"] = verdict
        if verdict == -1:
            return self._not_in_cache(path, md5, legacy)
        if verdict == -2:
            return Loaded(problem=self._too_large(path, None))
        return Loaded(blob_id=f"md5:{md5}", source="cache")

    def _too_large(self, path: str, size: int | None) -> Problem:
        said = f"{size} bytes, over" if size is not None else "over"
        return Problem("too-large", path, f"{said} max_file_bytes={self.max_bytes}")

    def _not_in_cache(self, path: str, md5: str, legacy: bool) -> Loaded:
        bad_copy = self.objects.mismatched.get(md5)
        if bad_copy is not None:
            # Name the path and the md5, never the bytes: they are whatever the attacker put there.
            problem = Problem(
                "md5-mismatch",
                path,
                f"DVC output {md5}: the copy in the {bad_copy} does not hash to this md5 "
                "(tampered or corrupt); not used",
            )
        else:
            problem = Problem("not-in-cache", path, f"DVC output {md5} is not in the DVC cache")
        return Loaded(problem=problem, missing_object=(md5, legacy))

    @staticmethod
    def _bad_md5(path: str, md5: str) -> Loaded:
        return Loaded(
            problem=Problem(
                "bad-md5",
                path,
                f"DVC output md5 {md5[:80]!r} is not 32 lowercase hex digits (optional .dir): "
                "not read",
            )
        )

    def _load_cached(self, path: str, out: HashInfo, want_data: bool) -> Loaded:
        if not out.md5:
            return Loaded(
                problem=Problem("unsupported", path, "output has no md5 (cloud-versioned)")
            )
        if not is_md5(out.md5):  # an address, never a path: checked before any source sees it
            return self._bad_md5(path, out.md5)
        if out.is_dir and path == out.path:
            files = self.objects.files_in_dir(out)
            if files is None:
                return self._not_in_cache(path, out.md5, out.hash_name != "md5")
            return Loaded(files={p: f"md5:{m}" for p, m in files.items()}, source="cache")
        located = self.objects.locate(out, path)
        if located is None:
            if out.is_dir and self.objects.dir_listing(out.md5, out.hash_name != "md5") is None:
                return self._not_in_cache(path, out.md5, out.hash_name != "md5")
            return Loaded(
                problem=Problem("missing-file", path, f"not in the DVC output {out.path}")
            )
        md5, legacy = located
        if not is_md5(md5):  # from a .dir listing: repository content as well
            return self._bad_md5(path, md5)
        if not want_data:
            declared = out.size if path == out.path and not out.is_dir else None
            return self._check_object(path, md5, legacy, declared)
        found = self.objects.read_object(md5, legacy)
        if found.too_large:
            return Loaded(problem=self._too_large(path, None))
        if found.data is None:
            return self._not_in_cache(path, md5, legacy)
        return Loaded(data=found.data, source=found.source or "cache", blob_id=f"md5:{md5}")
