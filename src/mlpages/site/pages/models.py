"""The models page: every registry artifact with its stages, versions, stage timeline and metrics.

``pages(site)`` yields ``models.html`` and one page per model version
(:mod:`.model_version`, ``models/<artifact-slug>/<version-slug>.html``). Without registry tags
the models page says so plainly and lists the model artifacts ``dvc.yaml`` declares (nothing is
made up).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from mlpages.reports import gate_view
from mlpages.site.charts.mlops import spans_from_timeline, stage_timeline_figure, version_markers
from mlpages.site.page_core import Page, SiteData, fingerprint
from mlpages.site.pages.model_version import (
    SHOWN_METRIC_ROWS,
    event_row,
    metric_table,
    version_context,
    version_path,
)


def _artifacts(site: SiteData) -> list[Any]:
    registry = site.registry
    if registry is None:
        return []
    # The registry also lists artifacts declared in dvc.yaml that were never tagged: skip those.
    names = sorted(n for n, a in registry.artifacts.items() if a.events)
    preferred = site.config.model_artifact
    if preferred in registry.artifacts:
        names.remove(preferred)
        names.insert(0, preferred)
    return [registry.artifacts[n] for n in names]


def _until(site: SiteData, artifacts: Sequence[Any]) -> int:
    """The right end of the stage timelines: the build date, or a later registry event."""
    return max([site.generated, *(e.time for a in artifacts for e in a.events)])


def _stage_order(site: SiteData, artifact: Any) -> list[str]:
    stages = {e.stage for e in artifact.events if e.stage}
    prod = site.config.production_stage
    rest = sorted(stages - {prod})
    return [prod, *rest] if prod in stages else rest


def _version_row(site: SiteData, artifact: Any, version: Any) -> dict[str, Any]:
    commit = site.history.commits.get(version.sha)
    snapshot = site.snapshot(version.sha)
    gate = gate_view(snapshot.reports.get("gate")) if snapshot else None
    return {
        "version": version.version,
        "sha": version.sha,
        "in_history": commit is not None,
        "subject": commit.subject if commit else "",
        "created_at": version.created_at,
        "stages": list(version.stages),
        "deregistered": version.deregistered,
        "gate": gate.summary.verdict if gate else None,
        "url": version_path(artifact.name, version.version),
        "rollbacks": sum(1 for e in artifact.events if e.version == version.version and e.rollback),
    }


def artifact_context(site: SiteData, artifact: Any, until: int) -> dict[str, Any]:
    """Everything the models page shows about one artifact."""
    versions = sorted(artifact.versions, key=lambda v: v.created_at, reverse=True)
    order = _stage_order(site, artifact)
    spans = spans_from_timeline(artifact.timeline, until)
    markers = version_markers(artifact.events, artifact=artifact.name)
    figure = stage_timeline_figure(spans, markers, order, title=None)
    live = [v for v in versions if not v.deregistered]
    columns = [(v.version, site.snapshot(v.sha)) for v in live[:8]]
    return {
        "name": artifact.name,
        "path": artifact.path,
        "type": artifact.type,
        "deprecated": artifact.deprecated,
        "stages": [(stage, artifact.stages.get(stage)) for stage in order],
        "versions": [_version_row(site, artifact, v) for v in versions],
        "timeline": figure if spans or markers else None,
        "metric_columns": [
            {"version": label, "url": version_path(artifact.name, label)} for label, _ in columns
        ],
        "metric_rows": metric_table(site, columns),
        "events": [event_row(e) for e in sorted(artifact.events, key=lambda e: -e.time)],
        "rollbacks": sum(1 for e in artifact.events if e.rollback),
    }


def declared_models(site: SiteData) -> list[dict[str, str]]:
    """Artifacts declared in dvc.yaml at the head commit (shown when nothing is registered)."""
    head = site.snapshot(site.head)
    if head is None:
        return []
    return [
        {"name": a.name, "path": a.path, "type": a.type or "", "desc": a.desc}
        for a in head.artifacts
    ]


def models_context(site: SiteData) -> dict[str, Any]:
    """Template context of ``models.html``."""
    artifacts = _artifacts(site)
    until = _until(site, artifacts)
    contexts = [artifact_context(site, a, until) for a in artifacts]
    return {
        "artifacts": contexts,
        "plotly": any(a["timeline"] for a in contexts),
        "declared": declared_models(site),
        "production_stage": site.config.production_stage,
        "shown_metric_rows": SHOWN_METRIC_ROWS,
    }


def pages(site: SiteData) -> Iterable[Page]:
    """``models.html`` and one page per registered model version."""
    artifacts = _artifacts(site)
    # Version pages show their neighbours (the version replaced, the metric table across
    # versions) and the models page the head's declared models: all their snapshots count.
    registry_key = fingerprint(
        [(event_row(e), e.artifact) for a in artifacts for e in a.events],
        _until(site, artifacts),
        [
            (v.sha, v.sha in site.history.commits, site.snapshot_key(v.sha))
            for a in artifacts
            for v in a.versions
        ],
    )
    yield Page(
        path="models.html",
        template="models.html",
        context=lambda: models_context(site),
        key=fingerprint("models", registry_key, site.head, site.snapshot_key(site.head)),
        title="Models",
        nav="models",
    )
    for artifact in artifacts:
        for version in artifact.versions:
            yield Page(
                path=version_path(artifact.name, version.version),
                template="model_version.html",
                context=lambda a=artifact, v=version: version_context(site, a, v),
                key=fingerprint("version", registry_key, version.sha),
                title=f"{artifact.name} {version.version}",
                nav="models",
            )
