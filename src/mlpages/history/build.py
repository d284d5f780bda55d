"""Build the :class:`Snapshot` of one commit (or of the work tree) from a file view.

A :class:`FileView` answers "what is at this path" for one revision and the
:class:`~mlpages.history.loader.FileLoader` reads it; the :class:`SnapshotBuilder` holds the parse
caches shared by every commit of a collect (keyed by blob id, so identical blobs are parsed once)
and turns a view into a Snapshot. Problems are recorded, never raised.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
from mlpages.history.cache import BoundedDict
from mlpages.history.loader import NO_OUTS, FileLoader, Loaded, OutIndex, out_index
from mlpages.history.views import FileView
from mlpages.models import Artifact, HashInfo, PlotData, PlotDef, Problem, Snapshot, Stage, Value
from mlpages.objects.store import DvcObjects

Note = Callable[[Loaded], None]


@dataclass
class _DvcFiles:
    """What the DVC files of one revision declare, as they are read (dvc.yaml files first)."""

    yamls: list[DvcYaml] = field(default_factory=list)
    locks: dict[str, LockFile] = field(default_factory=dict)
    tracked: list[HashInfo] = field(default_factory=list)  # outputs of .dvc files
    artifacts: list[Artifact] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    stages: int = 0  # declared so far: past max_stages, no more pipeline files are read


class _ProblemLog:
    """The problems of one snapshot and the DVC objects it wanted but could not find."""

    def __init__(self, problems: list[Problem], never_run: set[str]) -> None:
        self.problems = problems
        self.missing: list[tuple[str, bool]] = []
        # Outputs of stages never run (no dvc.lock entry) are expected to be absent.
        self._never_run = never_run

    def note(self, loaded: Loaded) -> None:
        """Record what reading a file went wrong with (if anything)."""
        problem = loaded.problem
        if problem is not None and not (
            problem.kind == "missing-file" and problem.path in self._never_run
        ):
            self.problems.append(problem)
        if loaded.missing_object is not None:
            self.missing.append(loaded.missing_object)


class SnapshotBuilder:
    """Turns file views into snapshots, parsing every distinct blob once."""

    def __init__(self, config: Config, objects: DvcObjects) -> None:
        self.config = config
        self.loader = FileLoader(config, objects)
        self.max_nodes = config.max_yaml_nodes
        self._yaml: dict[
            tuple[str, str], list[tuple[tuple[tuple[str, str | None], ...], DvcYaml]]
        ] = {}
        self._lock: dict[tuple[str, str], LockFile] = BoundedDict(64)
        self._sections: dict[bytes, Any] = BoundedDict(20_000)
        self._yaml_sections: dict[Any, Any] = BoundedDict(20_000)
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

    # --- parsing with caches -------------------------------------------------------------------

    def _dvc_yaml(self, view: FileView, path: str, blob_id: str) -> DvcYaml:
        key = (blob_id, path)
        for reads, parsed in self._yaml.get(key, []):
            if all(self._blob_id_at(view, p) == bid for p, bid in reads):
                return parsed
        loaded = self.loader.read_blob(view, path, blob_id)
        if loaded.data is None:
            return DvcYaml(path=path, problems=(loaded.problem,) if loaded.problem else ())

        def read_file(rel: str) -> bytes | None:
            got = self.loader.load(view, rel, NO_OUTS)
            return got.data

        parsed = parse_dvc_yaml(
            loaded.data,
            path,
            read_file,
            max_nodes=self.max_nodes,
            max_stages=self.config.max_stages,
            sections=self._yaml_sections,
        )
        reads = tuple((p, self._blob_id_at(view, p)) for p in parsed.reads)
        versions = self._yaml.setdefault(key, [])
        versions.append((reads, parsed))
        if len(versions) > 8:  # templated from a params file that changes every commit
            del versions[0]
        return parsed

    def _dvc_lock(self, view: FileView, path: str, blob_id: str) -> LockFile:
        lock = self._lock.get((blob_id, path))
        if lock is not None:
            return lock
        loaded = self.loader.read_blob(view, path, blob_id)
        if loaded.data is None:
            return LockFile(problems=(loaded.problem,) if loaded.problem else ())
        lock = parse_dvc_lock(
            loaded.data,
            path,
            self._sections,
            max_nodes=self.max_nodes,
            max_stages=self.config.max_stages,
        )
        self._lock[(blob_id, path)] = lock
        return lock

    def _small_dvc_file(
        self, view: FileView, path: str, blob_id: str, cache: dict, parser: Any
    ) -> tuple[tuple[Any, ...], tuple[Problem, ...]]:
        """A .dvc file or artifacts.yaml: ``parser(data, path, max_nodes)``, once per blob."""
        loaded = self.loader.read_blob(view, path, blob_id)
        if loaded.data is None:
            return (), (loaded.problem,) if loaded.problem else ()
        return self._cached_parse(
            cache, (blob_id, path), loaded, lambda d: parser(d, path, self.max_nodes)
        )

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
        files = view.dvc_files()
        problems: list[Problem] = []
        if view.root_missing():
            problems.append(Problem("missing-blob", ".", "the commit's tree is missing"))
        dvc = self._read_dvc_files(view, files)
        problems.extend(dvc.problems)
        stages, plots = self._stages_with_locks(dvc.yamls, dvc.locks)
        outs = out_index(stages, dvc.tracked)
        log = _ProblemLog(problems, {o.path for st in stages if not st.locked for o in st.outs})
        params = self._collect_params(view, dvc.yamls, stages, outs, log.note)
        metrics = self._collect_metrics(view, dvc.yamls, stages, outs, log.note)
        plot_defs, plot_data = self._collect_plots(view, plots, outs, log.note)
        reports = self._collect_reports(view, outs, log.note)
        snapshot = Snapshot(
            sha=sha,
            has_dvc=bool(files) or view.has_dvc_dir(),
            stages=tuple(stages),
            params=params,
            metrics=metrics,
            plots=tuple(plot_defs),
            plot_data=plot_data,
            artifacts=tuple(dvc.artifacts),
            tracked=tuple(dvc.tracked),
            reports=reports,
            problems=tuple(dict.fromkeys(log.problems)),
        )
        return snapshot, tuple(dict.fromkeys(log.missing))

    def _read_dvc_files(self, view: FileView, files: dict[str, str]) -> _DvcFiles:
        """Parse every DVC file of the revision, shallowest first (``files``: path -> blob id)."""
        found = _DvcFiles()
        limit = self.config.max_stages
        for path in sorted(files, key=lambda p: (p.count("/"), p)):
            name, blob_id = posixpath.basename(path), files[path]
            if name in ("dvc.yaml", "dvc.lock") and found.stages >= limit:
                message = f"not read: the commit already has max_stages={limit:,} stages"
                found.problems.append(Problem("too-large", path, message))
            elif name == "dvc.yaml":
                parsed = self._dvc_yaml(view, path, blob_id)
                found.stages += len(parsed.stages)
                found.yamls.append(parsed)
                found.problems.extend(parsed.problems)
                found.artifacts.extend(parsed.artifacts)
            elif name == "dvc.lock":
                lock = self._dvc_lock(view, path, blob_id)
                found.stages += len(lock.stages)
                found.locks[path] = lock
                found.problems.extend(lock.problems)
            elif name == "artifacts.yaml":
                if path == "artifacts.yaml":  # the legacy GTO file lives at the root only
                    arts, problems = self._small_dvc_file(
                        view, path, blob_id, self._artifacts, parse_artifacts_yaml
                    )
                    found.artifacts.extend(arts)
                    found.problems.extend(problems)
            else:
                outs, problems = self._small_dvc_file(
                    view, path, blob_id, self._dvcfile, parse_dvc_file
                )
                found.tracked.extend(outs)
                found.problems.extend(problems)
        return found

    def _stages_with_locks(
        self, yamls: list[DvcYaml], locks: dict[str, LockFile]
    ) -> tuple[list[Stage], list[PlotDef]]:
        """Declared stages merged with their lock entries, then stages known only from a lock."""
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
        return stages, plots

    def _collect_params(
        self, view: FileView, yamls: list[DvcYaml], stages: list[Stage], outs: OutIndex, note: Note
    ) -> dict[str, dict[str, Value]]:
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
            loaded = self.loader.load(view, path, outs)
            if loaded.data is None:
                if loaded.files is None:
                    note(loaded)
                continue
            self._parsed_file(path, loaded, self._params, parse_params, result, note)
        return result

    def _collect_metrics(
        self, view: FileView, yamls: list[DvcYaml], stages: list[Stage], outs: OutIndex, note: Note
    ) -> dict[str, dict[str, Value]]:
        wanted: list[str] = []
        for stage in stages:
            wanted.extend(o.path for o in stage.outs if o.section == "metrics")
        for parsed in yamls:
            wanted.extend(parsed.metrics)
        result: dict[str, dict[str, Value]] = {}
        for path in dict.fromkeys(wanted):
            loaded = self.loader.load(view, path, outs)
            if loaded.files is not None:  # a metrics folder: its metrics files
                for inner in sorted(loaded.files):
                    if posixpath.splitext(inner)[1].lower() in METRIC_EXTENSIONS:
                        self._metrics_file(inner, self.loader.load(view, inner, outs), result, note)
                continue
            self._metrics_file(path, loaded, result, note)
        return result

    def _metrics_file(
        self, path: str, loaded: Loaded, result: dict[str, dict[str, Value]], note: Note
    ) -> None:
        if loaded.data is None:
            note(loaded)
            return
        self._parsed_file(path, loaded, self._metrics, parse_metrics, result, note)

    def _parsed_file(
        self,
        path: str,
        loaded: Loaded,
        cache: dict,
        parser: Any,
        result: dict[str, dict[str, Value]],
        note: Note,
    ) -> None:
        """Parse a loaded params/metrics file once per (blob, extension); record its problems."""
        ext = posixpath.splitext(path)[1].lower()
        values, file_problems = self._cached_parse(
            cache, (loaded.blob_id, ext), loaded, lambda d, p=path: parser(d, p, self.max_nodes)
        )
        for problem in file_problems:
            note(Loaded(problem=replace(problem, path=path)))
        result[path] = values

    def _collect_plots(
        self, view: FileView, plots: list[PlotDef], outs: OutIndex, note: Note
    ) -> tuple[list[PlotDef], dict[str, PlotData]]:
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
                loaded = self.loader.load(view, file, outs, want_data=kind == "table")
                if loaded.files is not None:
                    inner = sorted(p for p in loaded.files if plot_kind(p) != "unsupported")
                    files.extend(inner)
                    for p in inner:
                        if p not in data:
                            got = self.loader.load(view, p, outs, want_data=plot_kind(p) == "table")
                            data[p] = self._plot_file(p, plot, got, note)
                    continue
                files.append(file)
                if file not in data:
                    data[file] = self._plot_file(file, plot, loaded, note)
            if tuple(files) != plot.files:
                plot = replace(plot, files=tuple(files), y=_folder_fields(plot.y, files))
            defs.append(plot)
        return defs, data

    def _plot_file(self, path: str, plot: PlotDef, loaded: Loaded, note: Note) -> PlotData:
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

    def _collect_reports(self, view: FileView, outs: OutIndex, note: Note) -> dict[str, Any]:
        reports: dict[str, Any] = {}
        for key, path in sorted(self.config.reports.items()):
            if not isinstance(path, str):
                continue
            entry = view.entry(path)
            if entry is None and outs.find(path) is None:
                continue
            loaded = self.loader.load(view, path, outs)
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
