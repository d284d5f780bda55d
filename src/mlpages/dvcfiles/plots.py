"""Plot definitions of a dvc.yaml: stage plot outputs, top-level ``plots:``, DVC 2's ``live:``."""

from __future__ import annotations

from typing import Any

from mlpages.dvcfiles.paths import join
from mlpages.models import OutDecl, PlotDef, Problem


def _y_pairs(y: Any, default_file: str | None) -> tuple[tuple[str, str], ...]:
    if isinstance(y, dict):
        pairs = []
        for file, fields in y.items():
            for f in fields if isinstance(fields, list) else [fields]:
                pairs.append((str(file), str(f)))
        return tuple(pairs)
    if default_file is None or y is None:
        return ()
    return tuple((default_file, str(f)) for f in (y if isinstance(y, list) else [y]))


def _x_field(x: Any) -> str | None:
    if isinstance(x, dict):
        return str(next(iter(x.values()))) if x else None
    return None if x is None else str(x)


def _x_files(x: Any, base: str) -> tuple[tuple[str, str], ...]:
    """DVC's per-file x mapping (``x: {train.csv: step, test.csv: epoch}``) as pairs."""
    return tuple((join(base, str(f)), str(v)) for f, v in x.items()) if isinstance(x, dict) else ()


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def plot_def(
    plot_id: str, files: tuple[str, ...], opts: dict[str, Any], y_default: str | None, base: str
) -> PlotDef:
    """One plot definition; ``y_default`` names the file a bare ``y`` field refers to."""
    y = tuple((join(base, f), field_) for f, field_ in _y_pairs(opts.get("y"), y_default))
    return PlotDef(
        id=plot_id,
        files=files,
        template=str(opts.get("template") or "linear"),
        x=_x_field(opts.get("x")),
        x_files=_x_files(opts.get("x"), base),
        y=y,
        x_label=_opt_str(opts.get("x_label")),
        y_label=_opt_str(opts.get("y_label")),
        title=_opt_str(opts.get("title")),
        header=opts.get("header") is not False,
    )


def live_section(raw: Any, wdir: str) -> tuple[list[OutDecl], list[PlotDef]]:
    """DVC 2.0-2.7's ``live: {path: {summary, html}}``: the DVCLive folder is a plots output and,
    unless ``summary: false``, ``<path>.json`` its summary metrics."""
    outs: list[OutDecl] = []
    plots: list[PlotDef] = []
    for key, opts in raw.items() if isinstance(raw, dict) else ():
        path = join(wdir, str(key))
        opts = opts if isinstance(opts, dict) else {}
        outs.append(OutDecl(path=path, section="plots", cache=opts.get("cache") is not False))
        plots.append(plot_def(path, (path,), {}, path, "."))
        if opts.get("summary") is not False:
            outs.append(OutDecl(path=f"{path}.json", section="metrics", cache=False))
    return outs, plots


def top_plots(raw: Any, folder: str, path: str) -> tuple[list[PlotDef], list[Problem]]:
    """The top-level ``plots:`` list of a dvc.yaml in ``folder``."""
    plots: list[PlotDef] = []
    if raw is None:
        return plots, []
    if not isinstance(raw, list):
        return plots, [Problem("bad-type", path, "top-level plots must be a list")]
    for item in raw:
        if isinstance(item, str):
            file = join(folder, item)
            plots.append(plot_def(file, (file,), {}, file, "."))
        elif isinstance(item, dict):
            for plot_id, opts in item.items():
                opts = opts if isinstance(opts, dict) else {}
                pid = str(plot_id)
                if isinstance(opts.get("y"), dict):
                    files = tuple(dict.fromkeys(join(folder, str(f)) for f in opts["y"]))
                    plots.append(plot_def(pid, files, opts, None, folder))
                else:
                    file = join(folder, pid)
                    plots.append(plot_def(file, (file,), opts, pid, folder))
    return plots, []
