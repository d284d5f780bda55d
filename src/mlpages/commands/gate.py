"""`mlpages gate`: validate a candidate model against the champion on the same test data."""

from __future__ import annotations

from pathlib import Path

import click


@click.command(name="gate")
@click.option(
    "--model",
    "model_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The candidate model (joblib/pickle). [params gate.model, default models/model.pkl]",
)
@click.option(
    "--test",
    "test_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Test data (CSV with the label). [params gate.test_data]",
)
@click.option(
    "--champion-rev",
    default="",
    help="Compare with the model of this git revision (overrides the registry and params).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the verdict. [params gate.report, default reports/gate.json]",
)
@click.option(
    "--params",
    "params_path",
    type=click.Path(path_type=Path),
    default=Path("params.yaml"),
    show_default=True,
    help="params.yaml whose 'gate' section holds the rules.",
)
@click.option(
    "--repo",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("."),
    show_default=True,
    help="The git repository (champion resolution, DVC cache, config).",
)
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
