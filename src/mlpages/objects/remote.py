"""Read DVC-cached objects from the project's DVC remote through DVC's own filesystems.

The remote's configuration (all levels, profiles, ``credentialpath``, ``ssl_verify``, endpoints)
is DVC's (:mod:`mlpages.objects.dvcconfig`); ``dvc.fs.get_cloud_fs`` gives its filesystem from
DVC's plugin registry (dvc-s3, dvc-http, dvc-gs, dvc-azure, dvc-ssh, dvc-webdav…): one filesystem
per remote per build, never one per object. Only the objects a build needs are fetched, a bounded
thread pool at a time (:meth:`DvcRemote.prefetch`), and kept in a local fetch cache.

Failures never stop a build: the first one that is not "this object is absent" marks the remote
unavailable (so a dead server costs one timeout, not one per object) with a one-line reason
(:mod:`mlpages.objects.remote_errors`). Nothing is used, kept or served from the fetch cache
unless it hashes to its md5 (:mod:`mlpages.objects.objectid`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlpages.objects.dvcconfig import RemoteConfig
from mlpages.objects.local import read_capped
from mlpages.objects.objectid import is_md5, object_file, object_relpath, verified
from mlpages.objects.remote_errors import (
    describe_failure,
    endpoint_of,
    plugin_missing,
    probe,
    quiet_cloud_clients,
)

DEFAULT_JOBS = 32  # parallel requests (measured by benchmarks/bench_remote.py); `jobs` wins
# Schemes whose DVC filesystem takes connect/read timeouts (seconds); DVC's own are minutes.
TIMEOUT_SCHEMES = ("http", "https", "s3")


class DvcRemote:
    """Fetches DVC objects from a remote of any type DVC supports, caching them in ``fetch_cache``.

    Implements :class:`mlpages.objects.store.ObjectSource`. ``fetch_cache=None``: fetched objects
    are kept in memory only. While :attr:`deferring`, a read that would need the network records
    the object in :attr:`wanted` and returns None; :meth:`prefetch` then fetches them together.
    """

    name = "remote"

    def __init__(
        self, remote: RemoteConfig, fetch_cache: Path | None, timeout: float = 10.0
    ) -> None:
        self.remote = remote
        self.fetch_cache = fetch_cache
        self.timeout = timeout
        self.unavailable: str | None = None  # the reason, once the remote failed
        self.fetched = 0  # objects transferred
        self.fetched_bytes = 0
        self.deferring = False
        self.wanted: dict[str, bool] = {}  # md5 -> layout first asked for, not fetched yet
        # md5 -> None (absent) | (layout, bytes) | (layout, None): verified and in the fetch cache
        self._tried: dict[str, tuple[bool, bytes | None] | None] = {}
        self._fs: Any = None
        self._root = ""
        self._lock = threading.Lock()

    @property
    def label(self) -> str:
        return f"remote `{self.remote.name}` ({self.remote.scheme})"

    @property
    def jobs(self) -> int:
        try:
            return max(1, int(self.remote.settings.get("jobs") or DEFAULT_JOBS))
        except (TypeError, ValueError):
            return DEFAULT_JOBS

    def _fail(self, reason: str) -> None:
        with self._lock:
            if self.unavailable is None:
                self.unavailable = f"{self.label}: {reason}"

    def _filesystem(self) -> Any:
        """DVC's filesystem of the remote, made once; None (and the reason) when it cannot be."""
        with self._lock:
            if self._fs is not None or self.unavailable:
                return self._fs
            endpoint = endpoint_of(self.remote.scheme, self.remote.url, self.remote.settings)
            refused = probe(endpoint, min(self.timeout, 5.0)) if endpoint else None
            if refused:
                self.unavailable = f"{self.label}: {refused}"
                return None
            try:
                self._fs, self._root = self._make_filesystem()
            except ImportError as exc:
                self.unavailable = f"{self.label}: {plugin_missing(self.remote.scheme, exc)}"
            except Exception as exc:  # a DVC config or plugin error: one line, no traceback
                self.unavailable = f"{self.label}: {describe_failure(exc)}"
            return self._fs

    def _make_filesystem(self) -> tuple[Any, str]:
        from dvc.fs import get_cloud_fs

        quiet_cloud_clients()
        settings = dict(self.remote.settings)
        if self.remote.scheme in TIMEOUT_SCHEMES:
            settings.setdefault("connect_timeout", self.timeout)
            settings.setdefault("read_timeout", max(self.timeout, 30.0))
        config = {"core": {}, "remote": {self.remote.name: settings}}
        cls, kwargs, root = get_cloud_fs(config, name=self.remote.name)
        return cls(**kwargs), root

    def _path(self, md5: str, legacy: bool) -> str:
        rel = object_relpath(md5, legacy)
        return self._fs.join(self._root, *rel.split("/")) if self._root else rel

    def _fetched_file(self, md5: str, legacy: bool) -> Path | None:
        return None if self.fetch_cache is None else object_file(self.fetch_cache, md5, legacy)

    def _kept(self, md5: str, legacy: bool, max_bytes: int | None) -> bytes | None:
        """A copy fetched by this build (verified when on disk) or a verified fetch-cache one."""
        tried = self._tried.get(md5)
        if tried is not None and tried[0] == legacy and tried[1] is not None:
            return tried[1] if max_bytes is None or len(tried[1]) <= max_bytes else None
        kept = read_capped(self._fetched_file(md5, legacy), max_bytes)
        return kept if kept is not None and verified(md5, kept, legacy) else None

    def read(self, md5: str, legacy: bool, max_bytes: int | None = None) -> bytes | None:
        """The object's bytes; None if absent, too large, not fetched yet or unavailable.

        Whatever is returned may still be a bad copy (the server's was all there was): the
        caller verifies it and reports the mismatch.
        """
        if not is_md5(md5):
            return None
        kept = self._kept(md5, legacy, max_bytes)
        if kept is not None:
            return kept
        if md5 not in self._tried and not self.unavailable:
            if self.deferring:
                self.wanted.setdefault(md5, legacy)
                return None
            self.prefetch([(md5, legacy)])
        found = self._tried.get(md5)
        if found is not None and found[0] == legacy:
            return self._kept(md5, legacy, max_bytes)
        # Nothing better to be had: a bad fetch-cache copy goes to the caller, who reports it.
        return read_capped(self._fetched_file(md5, legacy), max_bytes)

    def has(self, md5: str, legacy: bool) -> bool:
        """True when a verified copy is kept, or the remote has it (one request per object)."""
        if not is_md5(md5):
            return False
        if self._kept(md5, legacy, None) is not None:
            return True
        if md5 not in self._tried and not self.deferring:
            self.prefetch([(md5, legacy)])
        found = self._tried.get(md5)
        return found is not None and found[0] == legacy

    def found(self) -> set[str]:
        """The md5s this remote has handed out (in either layout)."""
        return {md5 for md5, got in self._tried.items() if got is not None}

    def fetch_wanted(self) -> bool:
        """Fetch every object recorded while deferring; True when some new object arrived."""
        pending, self.wanted = list(self.wanted.items()), {}
        before = self.fetched
        self.prefetch(pending)
        if self.fetched > before:
            return True
        # A refused fetch-cache copy is an answer too (md5-mismatch) once the remote gave none.
        return any((f := self._fetched_file(*item)) is not None and f.is_file() for item in pending)

    def prefetch(self, objects: Iterable[tuple[str, bool]]) -> None:
        """Fetch these objects (md5, layout to try first) in parallel; absent ones remembered."""
        todo = [
            (md5, legacy)
            for md5, legacy in dict(objects).items()
            if is_md5(md5) and md5 not in self._tried and self._kept(md5, legacy, None) is None
        ]
        if not todo or self.unavailable or self._filesystem() is None:
            return
        if len(todo) == 1:
            self._fetch_one(*todo[0])
            return
        with ThreadPoolExecutor(max_workers=min(self.jobs, len(todo))) as pool:
            list(pool.map(lambda item: self._fetch_one(*item), todo))

    def _fetch_one(self, md5: str, legacy: bool) -> None:
        """GET one object, trying its other layout when absent; a failure stops the remote."""
        found: tuple[bool, bytes] | None = None
        for layout in (legacy, not legacy):
            if self.unavailable:
                return  # not remembered as absent: a later build asks again
            try:
                data = self._fs.cat_file(self._path(md5, layout))
            except FileNotFoundError:
                continue
            except Exception as exc:  # any client's error: the remote is unavailable
                self._fail(describe_failure(exc))
                return
            found = (layout, bytes(data))
            break
        size = len(found[1]) if found is not None else 0
        if found is not None and verified(md5, found[1], found[0]) and self._keep(md5, *found):
            found = (found[0], None)  # on disk: not held in memory
        with self._lock:
            if found is not None:
                self.fetched += 1
                self.fetched_bytes += size
            self._tried[md5] = found

    def _keep(self, md5: str, legacy: bool, data: bytes) -> bool:
        """Write a verified object into the fetch cache (atomically; a full disk only skips it)."""
        local = self._fetched_file(md5, legacy)
        if local is None:
            return False
        tmp = local.with_name(f"{local.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            local.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(data)
            tmp.replace(local)
        except OSError:
            return False
        return True
