"""``routerisk validate``: read one input file, print what was kept and rejected, write the rejected rows."""

from __future__ import annotations

from pathlib import Path

import click

from .._atomic import atomic_file, refuse_inputs
from .._errors import OutputError
from ._registry import RegistryChoice, registry
from .options import handle_errors

__all__ = ["validate"]

KINDS = ("incidents", "zones", "routes", "shelters", "deployments")
#: The --format choices: every incident format of the registry (routerisk.io.formats), read on first use.
FORMATS = registry("routerisk.io.formats", "incident_format_names")


@click.command("validate")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--kind", required=True, type=click.Choice(KINDS), help="Which layer the file holds.")
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=RegistryChoice(FORMATS),
    help="Input format; 'auto' detects vector files by extension and incident tables (IOM, ACLED, ...) by their "
    "columns. The table formats other than csv apply to incidents only (routerisk.io.INCIDENT_FORMATS).",
)
@click.option("--layer", default=None, help="Layer of a multi-layer vector file (e.g. a GeoPackage).")
@click.option(
    "--rejected",
    "rejected_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the rejected rows as CSV [default: <file stem>.rejected.csv in the current folder]; never "
    "the input itself, and an existing file only with --overwrite.",
)
@click.option("--overwrite", is_flag=True, help="Replace the --rejected file if it exists.")
@click.pass_context
@handle_errors
def validate(
    ctx: click.Context, file: Path, kind: str, fmt: str, layer: str | None, rejected_path: Path | None,
    overwrite: bool,
) -> None:
    """Check FILE as a layer of KIND: rows read, kept and rejected (by reason), and changes made.

    Exit code 0 when every row was kept, 1 when rows were rejected (they are written to --rejected),
    2 when the file cannot be used at all, 4 when --rejected is the input or exists without --overwrite.
    """
    # lazy: routerisk.io and routerisk._sinks import geopandas and pandas (0.9 s); `validate --help` needs neither
    from .. import io as readers
    from .._sinks import write_csv
    from ..io.formats import table_format_names

    out = rejected_path if rejected_path is not None else Path.cwd() / f"{file.stem}.rejected.csv"
    refuse_inputs(out, [file], option="--rejected")
    if (out.exists() or out.is_symlink()) and not overwrite:
        msg = f"--rejected file {str(out)!r} already exists; pass --overwrite to replace it, or choose another"
        raise OutputError(msg)

    report = readers.ValidationReport()
    if kind == "deployments":
        if fmt not in ("auto", "csv"):
            raise click.BadParameter("deployments are read from a CSV table", param_hint="--format")
        readers.read_deployments(file, report=report)
    else:
        if fmt in table_format_names() and kind != "incidents":
            raise click.BadParameter(f"{fmt!r} applies to --kind incidents only", param_hint="--format")
        reader = {
            "incidents": readers.read_incidents,
            "zones": readers.read_zones,
            "routes": readers.read_routes,
            "shelters": readers.read_shelters,
        }[kind]
        reader(file, format=fmt, report=report, layer=layer)
    click.echo(report.summary())
    rejected = report.rejected
    if len(rejected) == 0:
        click.echo("All rows kept.")
        return
    with atomic_file(out) as tmp:
        write_csv(rejected, tmp)  # formula-like cells neutralised (routerisk._sinks)
    n = report.n_rejected
    click.echo(f"{n} rejected row{'s' if n != 1 else ''} written to {out}")
    ctx.exit(1)
