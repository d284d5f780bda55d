"""Build the :class:`Snapshot` of one commit (or of the work tree) from a file view.

A :class:`FileView` answers "what is at this path" for one revision; the :class:`SnapshotBuilder`
holds the parse caches shared by every commit of a collect (keyed by blob id, so identical blobs are
parsed once) and turns a view into a Snapshot. Problems are recorded, never raised.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, replace
from typing import Any

from mlpages.config import Config
from mlpages.dvcfiles.data import (
    METRIC_EXTENSIONS,
    parse_metrics,
    parse_params,
    parse_plot_table,
    plot_kind,
)
from mlpages.dvcfiles.dotdvc import parse_artifacts_yaml, parse_dvc_file
from mlpages.dvcfiles.dvcyaml import DEFAULT_PARAMS, DvcYaml, parse_dvc_yaml
from mlpages.dvcfiles.lock import parse_dvc_lock
from mlpages.dvcfiles.lockentry import LockFile, lock_only_stage, merge_lock
from mlpages.dvcfiles.paths import dirname, join
from mlpages.dvcfiles.structured import one_line
from mlpages.history.views import FileView, Refused, TooLarge
from mlpages.models import Artifact, HashInfo, PlotData, PlotDef, Problem, Snapshot, Stage, Value
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


def _missing_blob(path: str) -> Loaded:
    return Loaded(
        problem=Problem("missing-blob", path, "blob missing from the object store (partial clone?)")
    )


def _size_of(got: bytes | TooLarge | None) -> int:
    """A blob's size from :meth:`FileView.read` (-1: missing)."""
    if got is None:
        return -1
    return got.size if isinstance(got, TooLarge) else len(got)


class BoundedDict(dict):
    """A dict that forgets its oldest entries past ``limit`` (parse caches of long histories)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > self.limit:
            del self[next(iter(self))]


class SnapshotBuilder:
    """Turns file views into snapshots, parsing every distinct blob once."""

    def __init__(self, config: Config, objects: DvcObjects) -> None:
        self.config = config
        self.objects = objects
        self.max_bytes = config.max_file_bytes
        self.max_nodes = config.max_yaml_nodes
        self._yaml: dict[
            tuple[str, str], list[tuple[tuple[tuple[str, str | None], ...], DvcYaml]]
        ] = {}
        self._lock: dict[tuple[str, str], LockFile] = BoundedDict(64)
        self._sections: dict[bytes, Any] = BoundedDict(20_000)
        self._dvcfile: dict[tuple[str, str], tuple[tuple[HashInfo, ...], tuple[Problem, ...]]] = {}
        self._artifacts: dict[
            tuple[str, str], tuple[tuple[Artifact, ...], tuple[Problem, ...]]
        ] = {}
        self._params: dict[tuple[str, str], tuple[dict[str, Value], tuple[Problem, ...]]] = (
            BoundedDict(4096)
        )
        self._metrics: dict[tuple[str, str], tuple[dict[str, Value], tuple[Problem, ...]]] = (
            BoundedDict(4096)
        )
        self._plots: dict[tuple[str, str, bool], tuple[PlotData, tuple[Problem, ...]]] = (
            BoundedDict(512)
        )
        self._merged: dict[tuple[int, int], tuple[Stage, object, Stage]] = BoundedDict(20_000)
        self._reports: dict[str, tuple[Any, tuple[Problem, ...]]] = BoundedDict(512)
        # Image sizes by blob id / "md5:<hash>" (-2: over the cap, size unknown).
        self._sizes: dict[str, int] = BoundedDict(20_000)

    # --- reading -------------------------------------------------------------------------------

    def _read_blob(self, view: FileView, path: str, blob_id: str) -> Loaded:
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
            return self._read_blob(view, path, entry.id)
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

    # --- parsing with caches -------------------------------------------------------------------

    def _dvc_yaml(self, view: FileView, path: str, blob_id: str, data_of: Any) -> DvcYaml:
        key = (blob_id, path)
        for reads, parsed in self._yaml.get(key, []):
            if all(self._blob_id_at(view, p) == bid for p, bid in reads):
                return parsed
        loaded = data_of()
        if loaded.data is None:
            return DvcYaml(path=path, problems=(loaded.problem,) if loaded.problem else ())

        def read_file(rel: str) -> bytes | None:
            got = self.load(view, rel, NO_OUTS)
            return got.data

        parsed = parse_dvc_yaml(
            loaded.data,
            path,
            read_file,
            max_nodes=self.max_nodes,
            max_stages=self.config.max_stages,
        )
        reads = tuple((p, self._blob_id_at(view, p)) for p in parsed.reads)
        versions = self._yaml.setdefault(key, [])
        versions.append((reads, parsed))
        if len(versions) > 8:  # templated from a params file that changes every commit
            del versions[0]
        return parsed

    @staticmethod
    def _blob_id_at(view: FileView, path: str) -> str | None:
        entry = view.entry(path)
        return entry.id if entry is not None and entry.kind == "blob" else None

    def _cached_parse(self, cache: dict, key: tuple, loaded: Loaded, parse: Any) -> Any:
        if key in cache:
            return cache[key]
        result = parse(loaded.data)
        if loaded.blob_id is not None:
            cache[key] = result
        return result

    def _merge(self, stage: Stage, entry: object | None) -> Stage:
        if entry is None:
            return stage
        key = (id(stage), id(entry))
        hit = self._merged.get(key)
        if hit is not None and hit[0] is stage and hit[1] is entry:
            return hit[2]
        merged = merge_lock(stage, entry)  # type: ignore[arg-type]
        self._merged[key] = (stage, entry, merged)
        return merged

    # --- the snapshot --------------------------------------------------------------------------

    def build(self, sha: str, view: FileView) -> tuple[Snapshot, tuple[tuple[str, bool], ...]]:
        """The snapshot of one revision and the DVC objects it wanted but could not find."""
        problems: list[Problem] = []
        missing: list[tuple[str, bool]] = []
        files = view.dvc_files()
        has_dvc = bool(files) or view.has_dvc_dir()
        if view.root_missing():
            problems.append(Problem("missing-blob", ".", "the commit's tree is missing"))

        def read_dvc_file(path: str) -> Loaded:
            return self._read_blob(view, path, files[path])

        yamls: list[DvcYaml] = []
        locks: dict[str, LockFile] = {}
        tracked: list[HashInfo] = []
        artifacts: list[Artifact] = []
        declared = 0  # stages so far: past max_stages, no more pipeline files are read
        for path in sorted(files, key=lambda p: (p.count("/"), p)):
            name = posixpath.basename(path)
            blob_id = files[path]
            if name in ("dvc.yaml", "dvc.lock") and declared >= self.config.max_stages:
                problems.append(
                    Problem(
                        "too-large",
                        path,
                        f"not read: the commit already has max_stages={self.config.max_stages:,}"
                        " stages",
                    )
                )
                continue
            if name == "dvc.yaml":
                parsed = self._dvc_yaml(view, path, blob_id, lambda p=path: read_dvc_file(p))
                declared += len(parsed.stages)
                yamls.append(parsed)
                problems.extend(parsed.problems)
                artifacts.extend(parsed.artifacts)
            elif name == "dvc.lock":
                lock = self._lock.get((blob_id, path))
                if lock is None:
                    loaded = read_dvc_file(path)
                    if loaded.data is None:
                        lock = LockFile(problems=(loaded.problem,) if loaded.problem else ())
                    else:
                        lock = parse_dvc_lock(
                            loaded.data,
                            path,
                            self._sections,
                            max_nodes=self.max_nodes,
                            max_stages=self.config.max_stages,
                        )
                        self._lock[(blob_id, path)] = lock
                declared += len(lock.stages)
                locks[path] = lock
                problems.extend(lock.problems)
            elif name == "artifacts.yaml":
                if path != "artifacts.yaml":
                    continue
                loaded = read_dvc_file(path)
                if loaded.data is None:
                    problems.extend([loaded.problem] if loaded.problem else [])
                    continue
                arts, art_problems = self._cached_parse(
                    self._artifacts,
                    (blob_id, path),
                    loaded,
                    lambda d, p=path: parse_artifacts_yaml(d, p, self.max_nodes),
                )
                artifacts.extend(arts)
                problems.extend(art_problems)
            else:
                loaded = read_dvc_file(path)
                if loaded.data is None:
                    problems.extend([loaded.problem] if loaded.problem else [])
                    continue
                outs, out_problems = self._cached_parse(
                    self._dvcfile,
                    (blob_id, path),
                    loaded,
                    lambda d, p=path: parse_dvc_file(d, p, self.max_nodes),
                )
                tracked.extend(outs)
                problems.extend(out_problems)

        stages: list[Stage] = []
        plots: list[PlotDef] = []
        declared_yaml = {y.path for y in yamls}
        for parsed in yamls:
            lock = locks.get(join(dirname(parsed.path), "dvc.lock"))
            lock_stages = lock.stages if lock is not None else {}
            for stage in parsed.stages:
                stages.append(self._merge(stage, lock_stages.get(stage.name)))
            if not parsed.stages and parsed.problems and lock_stages:
                stages.extend(lock_only_stage(n, e, parsed.path) for n, e in lock_stages.items())
            plots.extend(parsed.plots)
        for lock_path, lock in locks.items():
            yaml_path = join(dirname(lock_path), "dvc.yaml")
            if yaml_path not in declared_yaml:
                stages.extend(lock_only_stage(n, e, yaml_path) for n, e in lock.stages.items())

        outs = OutIndex([o for s in stages for o in s.lock_outs] + tracked)

        # Outputs of stages never run (no dvc.lock entry) are expected to be absent.
        never_run = {o.path for st in stages if not st.locked for o in st.outs}

        def note(loaded: Loaded) -> None:
            problem = loaded.problem
            if problem is not None and not (
                problem.kind == "missing-file" and problem.path in never_run
            ):
                problems.append(problem)
            if loaded.missing_object is not None:
                missing.append(loaded.missing_object)

        params = self._collect_params(view, yamls, stages, outs, note)
        metrics = self._collect_metrics(view, yamls, stages, outs, note)
        plot_defs, plot_data = self._collect_plots(view, plots, outs, note)
        reports = self._collect_reports(view, outs, note)
        snapshot = Snapshot(
            sha=sha,
            has_dvc=has_dvc,
            stages=tuple(stages),
            params=params,
            metrics=metrics,
            plots=tuple(plot_defs),
            plot_data=plot_data,
            artifacts=tuple(artifacts),
            tracked=tuple(tracked),
            reports=reports,
            problems=tuple(dict.fromkeys(problems)),
        )
        return snapshot, tuple(dict.fromkeys(missing))

    def _collect_params(self, view, yamls, stages, outs, note) -> dict[str, dict[str, Value]]:
        wanted: dict[str, bool] = {}  # path -> explicitly declared
        if view.entry(DEFAULT_PARAMS) is not None:
            wanted[DEFAULT_PARAMS] = False
        for parsed in yamls:
            for p in parsed.params:
                wanted[p] = True
        for stage in stages:
            for ref in stage.params:
                wanted[ref.rsplit(":", 1)[0]] = True
        result: dict[str, dict[str, Value]] = {}
        for path in sorted(wanted):
            loaded = self.load(view, path, outs)
            if loaded.data is None:
                if loaded.files is None:
                    note(loaded)
                continue
            self._parsed_file(path, loaded, self._params, parse_params, result, note)
        return result

    def _collect_metrics(self, view, yamls, stages, outs, note) -> dict[str, dict[str, Value]]:
        wanted: list[str] = []
        for stage in stages:
            wanted.extend(o.path for o in stage.outs if o.section == "metrics")
        for parsed in yamls:
            wanted.extend(parsed.metrics)
        result: dict[str, dict[str, Value]] = {}
        for path in dict.fromkeys(wanted):
            loaded = self.load(view, path, outs)
            if loaded.files is not None:
                targets = [
                    (p, bid)
                    for p, bid in sorted(loaded.files.items())
                    if posixpath.splitext(p)[1].lower() in METRIC_EXTENSIONS
                ]
                for file_path, _ in targets:
                    self._metrics_file(file_path, self.load(view, file_path, outs), result, note)
                continue
            self._metrics_file(path, loaded, result, note)
        return result

    def _metrics_file(self, path, loaded, result, note) -> None:
        if loaded.data is None:
            note(loaded)
            return
        self._parsed_file(path, loaded, self._metrics, parse_metrics, result, note)

    def _parsed_file(self, path, loaded, cache, parser, result, note) -> None:
        """Parse a loaded params/metrics file once per (blob, extension); record its problems."""
        ext = posixpath.splitext(path)[1].lower()
        values, file_problems = self._cached_parse(
            cache, (loaded.blob_id, ext), loaded, lambda d, p=path: parser(d, p, self.max_nodes)
        )
        for problem in file_problems:
            note(Loaded(problem=replace(problem, path=path)))
        result[path] = values

    def _collect_plots(self, view, plots, outs, note) -> tuple[list[PlotDef], dict[str, PlotData]]:
        defs: list[PlotDef] = []
        data: dict[str, PlotData] = {}
        seen_ids: set[str] = set()
        for plot in plots:
            if plot.id in seen_ids:
                continue
            seen_ids.add(plot.id)
            files: list[str] = []
            for file in plot.files:
                kind = plot_kind(file)
                loaded = self.load(view, file, outs, want_data=kind == "table")
                if loaded.files is not None:
                    inner = sorted(p for p in loaded.files if plot_kind(p) != "unsupported")
                    files.extend(inner)
                    for p in inner:
                        if p not in data:
                            data[p] = self._plot_file(
                                view,
                                p,
                                plot,
                                self.load(view, p, outs, want_data=plot_kind(p) == "table"),
                                note,
                            )
                    continue
                files.append(file)
                if file not in data:
                    data[file] = self._plot_file(view, file, plot, loaded, note)
            if tuple(files) != plot.files:
                plot = replace(plot, files=tuple(files), y=_folder_fields(plot.y, files))
            defs.append(plot)
        return defs, data

    def _plot_file(self, view, path: str, plot: PlotDef, loaded: Loaded, note) -> PlotData:
        kind = plot_kind(path)
        if loaded.problem is not None:
            note(loaded)
            return PlotData(path=path, kind="missing", source=loaded.source)
        if kind == "image":
            return PlotData(
                path=path,
                kind="image",
                image_sha=loaded.blob_id,
                image_ext=posixpath.splitext(path)[1].lower().lstrip("."),
                source=loaded.source,
            )
        if kind != "table" or loaded.data is None:
            note(Loaded(problem=Problem("unsupported", path, "not a plot data file")))
            return PlotData(path=path, kind="missing", source=loaded.source)
        key = (loaded.blob_id or "", path, plot.header)
        parsed, file_problems = self._cached_parse(
            self._plots,
            key,
            loaded,
            lambda d: parse_plot_table(
                d,
                path,
                header=plot.header,
                max_rows=self.config.max_plot_rows,
                max_nodes=self.max_nodes,
            ),
        )
        for problem in file_problems:
            note(Loaded(problem=problem))
        return parsed if parsed.source == loaded.source else replace(parsed, source=loaded.source)

    def _collect_reports(self, view, outs, note) -> dict[str, Any]:
        reports: dict[str, Any] = {}
        for key, path in sorted(self.config.reports.items()):
            if not isinstance(path, str):
                continue
            entry = view.entry(path)
            if entry is None and outs.find(path) is None:
                continue
            loaded = self.load(view, path, outs)
            if loaded.data is None:
                note(loaded)
                continue
            cache_key = loaded.blob_id or ""
            if cache_key and cache_key in self._reports:
                value, report_problems = self._reports[cache_key]
            else:
                try:
                    value, report_problems = json.loads(loaded.data), ()
                except (ValueError, RecursionError) as exc:
                    value = None
                    report_problems = (Problem("json-error", path, one_line(exc)),)
                if cache_key:
                    self._reports[cache_key] = (value, report_problems)
            for problem in report_problems:
                note(Loaded(problem=problem))
            if value is not None:
                reports[key] = value
        return reports


def _folder_fields(
    pairs: tuple[tuple[str, str], ...], files: list[str]
) -> tuple[tuple[str, str], ...]:
    """A field given for a folder plot applies to every file in it (DVC's semantics)."""
    expanded: list[tuple[str, str]] = []
    for file, field_ in pairs:
        inner = [p for p in files if p.startswith(file + "/")]
        expanded.extend((p, field_) for p in inner or [file])
    return tuple(expanded)
