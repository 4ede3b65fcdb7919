"""``routerisk rerun``: reproduce a run from its manifest."""

from __future__ import annotations

import click

from .._atomic import refuse_inputs
from .options import handle_errors, out_option, overwrite_option, report_run

__all__ = ["rerun"]


@click.command(short_help="Reproduce a run from its manifest.json.")
@click.argument("manifest", type=click.Path(exists=True))
@out_option
@overwrite_option
@click.option(
    "--geomask-key",
    type=click.Path(dir_okay=False),
    help="The key file a geomasked run was made with; without it the masked points (and, in public mode, every "
    "number computed from them) come from a new draw, and rerun says which outputs it could not reproduce.",
)
@handle_errors
def rerun(manifest, out, overwrite, geomask_key):
    """Reproduce the run recorded in MANIFEST (a manifest.json or a run folder) into OUT, with the same inputs
    (checked by SHA-256), model parameters, seeds and privacy mode, then say which outputs were reproduced.
    Geomasked runs (every public run) reproduce only with their --geomask-key: displacements drawn from OS
    entropy are recorded nowhere."""
    from ..pipeline import rerun as _rerun  # lazy: the pipeline imports geopandas, numba, scipy (1.3 s)

    refuse_inputs(out, [manifest, geomask_key])  # and, once the manifest is read, every input it records
    result = _rerun(manifest, out, overwrite=overwrite, geomask_key=geomask_key)
    for note in result.notes:
        click.echo(note)
    report_run(result)
