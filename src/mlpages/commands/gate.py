"""`mlpages gate`: validate a candidate model against the champion on the same test data."""

from __future__ import annotations

from pathlib import Path

import click

from mlpages.commands.options import (
    model_option,
    params_option,
    path_setting_option,
    repo_option,
    report_option,
)


@click.command(name="gate")
@model_option("candidate", "gate")
@path_setting_option("--test", "test_path", "Test data (CSV with the label).", "gate.test_data")
@click.option(
    "--champion-rev",
    default="",
    help="Compare with the model of this git revision (overrides the registry and params).",
)
@report_option("Where to write the verdict.", "gate", "reports/gate.json")
@params_option("gate", "the rules")
@repo_option("The git repository (champion resolution, DVC cache, config).")
@click.option(
    "--fail-on-reject",
    is_flag=True,
    help="Exit with code 3 on a rejection (default: exit 0, the verdict is in the report).",
)
def gate_command(
    model_path: Path | None,
    test_path: Path | None,
    champion_rev: str,
    report_path: Path | None,
    params_path: Path,
    repo: Path,
    fail_on_reject: bool,
) -> None:
    """Bless or reject the candidate model: floors, non-inferiority vs. the champion, slices.

    The champion is the registry's production version (else params gate.champion_rev); it is
    loaded from the DVC cache at its commit and re-scored on the same test data. With no
    champion the verdict is a rubber stamp on floors only. A rejection exits 0 unless
    --fail-on-reject, so the pipeline completes and CI simply does not register the model.
    """
    from mlpages.ct.gate import run_gate, summary_text
    from mlpages.ct.gate_rules import gate_settings
    from mlpages.errors import GateRejected
    from mlpages.settings import read_yaml_section

    settings = gate_settings(read_yaml_section(params_path, "gate"), str(params_path))
    outcome = run_gate(
        repo,
        settings,
        model_path=model_path,
        test_path=test_path,
        report_path=report_path,
        champion_rev=champion_rev,
    )
    click.echo(summary_text(outcome), err=True)
    if fail_on_reject and outcome.report.verdict == "rejected":
        raise GateRejected(f"candidate rejected: {'; '.join(outcome.report.reasons)}")
