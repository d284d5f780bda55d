"""`mlpages validate`: check a data batch against schema.yaml and measure its drift."""

from __future__ import annotations

from pathlib import Path

import click

from mlpages.commands.options import (
    params_option,
    path_setting_option,
    reference_option,
    report_option,
)


@click.command(name="validate")
@click.argument("batches", nargs=-1, type=click.Path(path_type=Path))
@path_setting_option(
    "--schema", "schema_path", "The schema to check against.", "validate.schema", "schema.yaml"
)
@reference_option(
    "Reference data for drift: CSV files or folders (repeatable). Default: the "
    "validate.window batches before the checked one in its folder."
)
@report_option("Validation report (JSON).", "validate", "reports/validation.json")
@path_setting_option(
    "--drift-report",
    "drift_report_path",
    "Drift report (JSON).",
    "validate.drift_report",
    "reports/drift.json",
)
@params_option("validate", "the batch choice and drift settings")
def validate_command(
    batches: tuple[Path, ...],
    schema_path: Path | None,
    reference_paths: tuple[Path, ...],
    report_path: Path | None,
    drift_report_path: Path | None,
    params_path: Path,
) -> None:
    """Validate BATCHES (CSV files, or a folder whose newest batch is checked) against a schema.

    Every schema anomaly is listed (kind, column, count) in the JSON report and on stderr; any
    anomaly exits with code 4 so a DVC pipeline stops here. Drift is measured and reported
    but never fails the command. Without BATCHES the folder validate.data_dir (data/raw) is used.
    """
    from mlpages.ct import drift as drift_mod
    from mlpages.ct import validate as validate_mod
    from mlpages.errors import ValidationFailed
    from mlpages.settings import read_yaml_section

    settings = validate_mod.validate_settings(
        read_yaml_section(params_path, "validate"), str(params_path)
    )
    outcome = validate_mod.run_validation(
        batches,
        schema_path=schema_path,
        reference=reference_paths,
        report_path=report_path,
        drift_report_path=drift_report_path,
        settings=settings,
        raise_on_fail=False,
    )
    click.echo(validate_mod.summary_text(outcome.report), err=True)
    click.echo(drift_mod.summary_text(outcome.drift), err=True)
    if outcome.report.status == "fail":
        raise ValidationFailed(validate_mod.failure_line(outcome.report, outcome.written[0]))
