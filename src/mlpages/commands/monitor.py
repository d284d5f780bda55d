"""`mlpages monitor`: score the newest production batch, append to the record, decide retraining."""

from __future__ import annotations

from pathlib import Path

import click

from mlpages.commands.options import (
    model_option,
    params_option,
    path_setting_option,
    reference_option,
)


@click.command(name="monitor")
@model_option("production", "monitor")
@path_setting_option(
    "--batch",
    "batch_path",
    "The batch CSV, or a folder whose newest batch (by name) is monitored.",
    "monitor.data_dir",
    "data/raw",
)
@reference_option(
    "Training reference: CSV files or folders (repeatable). [params monitor.reference; "
    "default: the monitor.window batches before the monitored one]"
)
@params_option("monitor", "the thresholds")
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    default=Path("reports/monitoring.json"),
    show_default=True,
    help="The cumulative monitoring record (the batch's entry is added or replaced).",
)
@click.option(
    "--trigger-out",
    "trigger_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the retraining decision here (e.g. reports/trigger.json).",
)
@click.option(
    "--model-version", default=None, help="Registry version of the model, for the record."
)
@click.option(
    "--trained-at",
    default=None,
    help="When the model was trained (ISO date or epoch seconds), for the schedule trigger; "
    "default: monitor.batch_days per batch the model has scored.",
)
@click.option(
    "--production/--workspace",
    default=None,
    help="Score with the registry's production model (loaded from the DVC cache at its commit; "
    "the --model file when nothing is in production) or with the --model file. "
    "[params monitor.production, default --workspace]",
)
@click.option("--now", default=None, help="Current time for the schedule trigger (ISO or epoch).")
def monitor_command(
    model_path: Path | None,
    batch_path: Path | None,
    reference_paths: tuple[Path, ...],
    params_path: Path,
    out_path: Path,
    trigger_path: Path | None,
    model_version: str | None,
    trained_at: str | None,
    now: str | None,
    production: bool | None,
) -> None:
    """Monitor a production batch: predictions, drift, performance, alerts, retrain trigger."""
    from mlpages.ct.monitor_run import run_monitor

    result = run_monitor(
        model_path=model_path,
        batch_path=batch_path,
        reference_paths=reference_paths,
        params_path=params_path,
        out_path=out_path,
        trigger_path=trigger_path,
        model_version=model_version,
        trained_at=trained_at,
        now=now,
        production=production,
    )
    entry = result.entry
    for note in result.notes:
        click.echo(f"monitor: {note}", err=True)
    alerts = "; ".join(f"{a.kind}: {a.detail}" for a in entry.alerts) or "no alerts"
    click.echo(f"monitor: {entry.batch} ({entry.rows} rows) -> {out_path}: {alerts}", err=True)
    if result.decision is not None:
        why = "; ".join(f"{r.kind}: {r.detail}" for r in result.decision.reasons)
        verdict = f"retrain ({why})" if result.decision.retrain else "no retraining needed"
        click.echo(f"trigger: {verdict} -> {trigger_path}", err=True)
