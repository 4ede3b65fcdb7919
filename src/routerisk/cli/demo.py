"""``routerisk demo``: the whole analysis on the embedded data."""

from __future__ import annotations

import click

from .options import handle_errors, out_option, overwrite_option, privacy_options, report_run

__all__ = ["demo"]


@click.command(short_help="Run the whole analysis on the embedded demo data.")
@privacy_options
@out_option
@overwrite_option
@handle_errors
def demo(privacy, min_count, out, overwrite):
    """Score the embedded corridors with the embedded synthetic incidents, illustrative enforcement zones and
    shelters, propose 5 new shelter sites (maximal covering along the routes, within the default radius of
    `routerisk sites`) and write the tables, the
    sites and protection gaps, the GeoTIFF risk surface and the maps (routerisk_demo.html/.png/.pdf) to OUT.

    The demo incidents are SYNTHETIC and the zones and shelters ILLUSTRATIVE: the outputs say so.
    """
    from .._atomic import refuse_inputs
    from .._paths import data_dir
    from ..pipeline import run

    refuse_inputs(out, [data_dir()])

    result = run(
        out,
        embedded_zones=True,
        embedded_shelters=True,
        privacy=privacy,
        min_count=min_count,
        overwrite=overwrite,
        maps=True,
        map_name="routerisk_demo",
        sites=5,
    )
    report_run(result)
