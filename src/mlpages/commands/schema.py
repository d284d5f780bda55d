"""`mlpages schema infer`: write a first schema.yaml from reference data, to be curated by hand."""

from __future__ import annotations

from pathlib import Path

import click


@click.group(name="schema")
def schema_group() -> None:
    """Create the data schema that `mlpages validate` checks batches against."""


@schema_group.command(name="infer")
@click.argument("data", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    default=Path("schema.yaml"),
    show_default=True,
    help="Where to write the schema.",
)
@click.option(
    "--margin",
    type=float,
    default=0.1,
    show_default=True,
    help="Numeric ranges are widened by this share of the observed span on each side.",
)
@click.option(
    "--max-categories",
    type=int,
    default=50,
    show_default=True,
    help="Text columns with at most this many distinct values become categories.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing schema file.")
def infer_command(
    data: tuple[Path, ...], out_path: Path, margin: float, max_categories: int, force: bool
) -> None:
    """Infer a schema from DATA (CSV files or folders of batches; each file is one batch)."""
    from mlpages.ct.batches import expand_inputs, read_batch
    from mlpages.ct.schema import infer_schema, save_schema
    from mlpages.errors import ConfigError

    if out_path.exists() and not force:
        raise ConfigError(f"{out_path} exists (a curated schema?); use --force to overwrite it")
    files = expand_inputs(data)
    schema = infer_schema(
        [read_batch(p) for p in files], margin=margin, max_categories=max_categories
    )
    save_schema(schema, out_path)
    click.echo(
        f"wrote {out_path}: {len(schema.columns)} columns from {len(files)} file(s); "
        "review ranges and domains before committing it",
        err=True,
    )
