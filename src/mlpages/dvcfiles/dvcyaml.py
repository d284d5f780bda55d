"""dvc.yaml: stages (``foreach``/``matrix`` expanded, ``wdir`` applied), top-level params, metrics,
plots and artifacts. Bytes in, a :class:`DvcYaml` with its :class:`Problem` list out; nothing
raises on bad input. DVC templating (``vars``, ``${}``) lives in :mod:`mlpages.dvcfiles.template`,
plot definitions in :mod:`mlpages.dvcfiles.plots`, dvc.lock in :mod:`mlpages.dvcfiles.lock`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from mlpages.dvcfiles.dvcyaml_split import SectionCache, load_split
from mlpages.dvcfiles.lockentry import cmd_text
from mlpages.dvcfiles.paths import dirname, join
from mlpages.dvcfiles.plots import live_section, plot_def, top_plots
from mlpages.dvcfiles.structured import load_structured, load_yaml_text
from mlpages.dvcfiles.template import (
    Budget,
    TemplateError,
    expand_foreach,
    expand_matrix,
    has_template,
    interpolate,
    local_context,
    merge,
    parse_vars_entry,
    select_keys,
)
from mlpages.models import Artifact, OutDecl, PlotDef, Problem, Stage
from mlpages.safe_yaml import MAX_STAGES, MAX_YAML_NODES, TooLargeError

DEFAULT_PARAMS = "params.yaml"


def parse_artifacts(
    raw: Any, dvcfile: str, path: str
) -> tuple[tuple[Artifact, ...], tuple[Problem, ...]]:
    """``artifacts:`` of a dvc.yaml (or a legacy artifacts.yaml) at ``dvcfile``."""
    if raw is None:
        return (), ()
    if not isinstance(raw, dict):
        return (), (Problem("bad-type", path, "artifacts must be a mapping"),)
    folder = dirname(dvcfile)
    out = []
    for name, spec in raw.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
            continue
        labels = spec.get("labels")
        full = str(name) if folder == "." else f"{folder}:{name}"
        out.append(
            Artifact(
                name=full,
                path=join(folder, spec["path"]),
                type=str(spec["type"]) if spec.get("type") is not None else None,
                desc=str(spec.get("desc") or ""),
                labels=tuple(str(x) for x in labels) if isinstance(labels, list) else (),
            )
        )
    return tuple(out), ()


# --- dvc.yaml ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DvcYaml:
    """A parsed dvc.yaml, paths repo-relative, stages expanded (no lock information yet)."""

    path: str
    stages: tuple[Stage, ...] = ()
    params: tuple[str, ...] = ()  # top-level params files
    metrics: tuple[str, ...] = ()  # top-level metrics paths
    plots: tuple[PlotDef, ...] = ()  # stage plots then top-level plots
    artifacts: tuple[Artifact, ...] = ()
    problems: tuple[Problem, ...] = ()
    reads: tuple[str, ...] = ()  # files read for templating (vars, params.yaml)


ReadFile = Callable[[str], bytes | None]


def _out_items(raw: Any, section: str, base: str) -> list[tuple[str, dict[str, Any]]]:
    items = []
    if not isinstance(raw, list):
        return items
    for item in raw:
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            items.append((join(base, str(item)), {}))
        elif isinstance(item, dict):
            for key, opts in item.items():
                items.append((join(base, str(key)), opts if isinstance(opts, dict) else {}))
    return items


def _stage_params(raw: Any, wdir: str) -> tuple[str, ...]:
    out: list[str] = []
    if not isinstance(raw, list):
        return ()
    for item in raw:
        if isinstance(item, str):
            out.append(f"{join(wdir, DEFAULT_PARAMS)}:{item}")
        elif isinstance(item, dict):
            for file, keys in item.items():
                target = join(wdir, str(file))
                if isinstance(keys, list):
                    out.extend(f"{target}:{k}" for k in keys)
                else:
                    out.append(f"{target}:")
    return tuple(out)


def _build_stage(
    name: str, spec: dict[str, Any], dvcfile: str, folder: str
) -> tuple[Stage, list[PlotDef]]:
    wdir = join(folder, str(spec["wdir"])) if isinstance(spec.get("wdir"), str) else folder
    deps = []
    raw_deps = spec.get("deps")
    for item in raw_deps if isinstance(raw_deps, list) else []:
        if isinstance(item, str | int | float) and not isinstance(item, bool):
            deps.append(join(wdir, str(item)))
        elif isinstance(item, dict):
            deps.extend(join(wdir, str(k)) for k in item)
    outs: list[OutDecl] = []
    plots: list[PlotDef] = []
    for section in ("outs", "metrics", "plots"):
        for path, opts in _out_items(spec.get(section), section, wdir):
            cache = opts.get("cache") is not False
            outs.append(
                OutDecl(path=path, section=section, cache=cache, persist=bool(opts.get("persist")))
            )
            if section == "plots":
                plots.append(plot_def(path, (path,), opts, path, "."))
    live_outs, live_plots = live_section(spec.get("live"), wdir)
    outs += live_outs
    plots += live_plots
    stage = Stage(
        name=name,
        dvcfile=dvcfile,
        wdir=wdir,
        cmd=cmd_text(spec.get("cmd")),
        deps=tuple(deps),
        outs=tuple(outs),
        params=_stage_params(spec.get("params"), wdir),
        frozen=bool(spec.get("frozen")),
        always_changed=bool(spec.get("always_changed")),
        desc=str(spec.get("desc") or ""),
    )
    return stage, plots


def _built_stage(
    name: str, spec: dict[str, Any], dvcfile: str, folder: str, built: SectionCache | None
) -> tuple[Stage, list[PlotDef]]:
    """:func:`_build_stage`, once per shared spec object of the section cache."""
    if built is None:
        return _build_stage(name, spec, dvcfile, folder)
    key = (id(spec), name, dvcfile)
    hit = built.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1], hit[2]
    stage, plots = _build_stage(name, spec, dvcfile, folder)
    built[key] = (spec, stage, plots)
    return stage, plots


def _load_context(
    raw: dict[str, Any],
    folder: str,
    read_file: ReadFile,
    problems: list[Problem],
    path: str,
    max_nodes: int,
) -> tuple[dict[str, Any], list[str]]:
    """Build the interpolation context: params.yaml of the folder, then ``vars``."""
    context: dict[str, Any] = {}
    reads: list[str] = []

    def load(rel: str, keys: tuple[str, ...] | None, required: bool) -> None:
        target = join(folder, rel)
        reads.append(target)
        data = read_file(target)
        if data is None:
            if required:
                problems.append(Problem("missing-file", target, f"vars file of {path} not found"))
            return
        loaded, file_problems = load_structured(data, target, max_nodes)
        problems.extend(file_problems)
        if isinstance(loaded, dict):
            try:
                merge(context, select_keys(loaded, keys))
            except TemplateError as exc:
                problems.append(Problem("bad-type", target, str(exc)))

    load(DEFAULT_PARAMS, None, required=False)
    entries = raw.get("vars")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str):
            file, keys = parse_vars_entry(entry)
            if file != DEFAULT_PARAMS or keys is not None:
                load(file, keys, required=True)
        elif isinstance(entry, dict):
            merge(context, entry)
    return context, reads


def parse_dvc_yaml(
    data: bytes,
    path: str,
    read_file: ReadFile | None = None,
    *,
    max_nodes: int = MAX_YAML_NODES,
    max_stages: int = MAX_STAGES,
    sections: SectionCache | None = None,
) -> DvcYaml:
    """Parse a dvc.yaml at repo-relative ``path``; ``read_file`` supplies vars/params files.

    The file, each vars file and what templating makes of them each get ``max_nodes``;
    ``max_stages`` bounds the stages after foreach/matrix expansion. ``sections`` caches parsed
    and built stage sections across versions of a file without templating.
    """
    raw = load_split(data, max_nodes, sections) if sections is not None else None
    built = sections if raw is not None else None
    if raw is None:
        raw, problems = load_yaml_text(data, path, max_nodes, binary="dvc.yaml is not text")
    else:
        problems = ()
    if problems:
        return DvcYaml(path=path, problems=problems)
    if raw is None:
        return DvcYaml(path=path)
    if not isinstance(raw, dict):
        return DvcYaml(
            path=path, problems=(Problem("bad-type", path, "dvc.yaml must be a mapping"),)
        )
    budget = Budget(max_nodes, max_stages)
    reads: list[str] = []
    found: list[Problem] = []
    try:
        return _parse_dvc_yaml_mapping(
            raw, path, read_file or (lambda _p: None), budget, reads, found, built
        )
    except TooLargeError as exc:
        # Keep what was read: a later commit with other vars files must be parsed again.
        return DvcYaml(
            path=path,
            problems=(*found, Problem("too-large", path, str(exc))),
            reads=tuple(dict.fromkeys(reads)),
        )
    except RecursionError:
        return DvcYaml(
            path=path,
            problems=(Problem("unsupported", path, "nested too deeply"),),
            reads=tuple(dict.fromkeys(reads)),
        )


@dataclass
class _Resolver:
    """``${}`` interpolation against a dvc.yaml's context; what fails becomes a Problem."""

    context: dict[str, Any]
    budget: Budget
    templated: bool  # vars/params files were read: every value may hold ${}
    path: str
    problems: list[Problem]
    plain: bool = False  # known to hold no ${} anywhere

    def __call__(self, obj: Any, where: str, local: dict[str, Any] | None = None) -> Any:
        if self.plain or (not self.templated and not has_template(obj)):
            return obj
        try:
            return interpolate(obj, local or self.context, self.budget)
        except TemplateError as exc:
            self.problems.append(Problem("unsupported", self.path, f"{where}: {exc}"))
            return None


def _expand_stage(name: str, spec: dict[str, Any], resolve: _Resolver) -> list[tuple[str, Any]]:
    """One entry of ``stages:`` as (stage name, spec) pairs: foreach/matrix give ``name@key``."""
    budget, local = resolve.budget, resolve.context
    if isinstance(spec.get("vars"), list):
        local = local_context(resolve.context, budget)
        for entry in spec["vars"]:
            if isinstance(entry, dict):
                merge(local, entry)
    if "foreach" in spec:
        return list(expand_foreach(name, spec, local, budget))
    if "matrix" in spec:
        return list(expand_matrix(name, spec, local, budget))
    budget.spend_stages(1)
    resolved = resolve(spec, f"stage {name!r}", local)
    return [(name, resolved)] if isinstance(resolved, dict) else []


def _expand_stages(raw_stages: Any, resolve: _Resolver) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every stage spec of ``stages:``, expanded, in file order; bad entries are problems."""
    problems, path = resolve.problems, resolve.path
    if raw_stages is not None and not isinstance(raw_stages, dict):
        problems.append(Problem("bad-type", path, "stages must be a mapping"))
        return
    for name, spec in (raw_stages or {}).items():
        name = str(name)
        if not isinstance(spec, dict):
            problems.append(Problem("bad-type", path, f"stage {name!r} must be a mapping"))
            continue
        try:
            expanded = _expand_stage(name, spec, resolve)
        except TemplateError as exc:
            problems.append(Problem("unsupported", path, f"stage {name!r}: {exc}"))
            continue
        for stage_name, stage_spec in expanded:
            if isinstance(stage_spec, dict):
                yield stage_name, stage_spec


def _paths(value: Any, folder: str) -> tuple[str, ...]:
    """A top-level ``params:`` / ``metrics:`` list as repo-relative paths (other items dropped)."""
    if not isinstance(value, list):
        return ()
    return tuple(join(folder, str(p)) for p in value if isinstance(p, str))


def _parse_dvc_yaml_mapping(
    raw: dict[str, Any],
    path: str,
    read_file: ReadFile,
    budget: Budget,
    reads: list[str],
    problems: list[Problem],
    built: SectionCache | None = None,
) -> DvcYaml:
    """The stages and top-level sections; ``reads`` and ``problems`` are filled as it goes.

    ``built`` (specs straight from the section cache, no templating) remembers built stages.
    """
    folder = dirname(path)
    context: dict[str, Any] = {}
    if built is None and has_template(raw):
        context, files = _load_context(raw, folder, read_file, problems, path, budget.max_nodes)
        reads.extend(files)
    resolve = _Resolver(context, budget, bool(reads), path, problems, plain=built is not None)
    stages: list[Stage] = []
    plots: list[PlotDef] = []
    for name, spec in _expand_stages(raw.get("stages"), resolve):
        stage, stage_plots = _built_stage(name, spec, path, folder, built)
        stages.append(stage)
        plots.extend(stage_plots)
    params = _paths(resolve(raw.get("params"), "params"), folder)
    metrics = _paths(resolve(raw.get("metrics"), "metrics"), folder)
    top_level, plot_problems = top_plots(resolve(raw.get("plots"), "plots"), folder, path)
    plots.extend(top_level)
    problems.extend(plot_problems)
    artifacts, art_problems = parse_artifacts(
        resolve(raw.get("artifacts"), "artifacts"), path, path
    )
    problems.extend(art_problems)
    return DvcYaml(
        path=path,
        stages=tuple(stages),
        params=params,
        metrics=metrics,
        plots=tuple(plots),
        artifacts=artifacts,
        problems=tuple(problems),
        reads=tuple(dict.fromkeys(reads)),
    )
