"""``routerisk rerun``: reproduce a run from its manifest."""

from __future__ import annotations

import click

from .options import handle_errors, out_option, overwrite_option, report_run

__all__ = ["rerun"]


@click.command(short_help="Reproduce a run from its manifest.json.")
@click.argument("manifest", type=click.Path(exists=True))
@out_option
@overwrite_option
@handle_errors
def rerun(manifest, out, overwrite):
    """Reproduce the run recorded in MANIFEST (a manifest.json or a run folder) into OUT, with the same inputs
    (checked by SHA-256), model parameters, seeds and privacy mode."""
    from ..pipeline import rerun as _rerun

    report_run(_rerun(manifest, out, overwrite=overwrite))
