"""``routerisk access``: along-network distance to asylum offices and shelters, and the protection access gaps."""

from __future__ import annotations

import click

from .options import handle_errors, out_option, overwrite_option

__all__ = ["access"]


@click.command(short_help="Network km to the nearest asylum office and shelter per segment; access gaps.")
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="A run folder written by `routerisk score` (segments, shelters, zones, manifest).")
@click.option("--max-km", type=click.FloatRange(min=0, min_open=True), default=100.0, show_default=True,
              help="A stretch farther than this (network km) from every asylum office or shelter is a gap.")
@click.option("--detention", type=click.Path(exists=True, dir_okay=False),
              help="Detention sites (CSV with lon/lat or a vector file of points); default: data/detention.csv.")
@click.option("--detention-radius-m", type=click.FloatRange(min=0), default=5000.0, show_default=True,
              help="A way passes a detention site when it comes this close.")
@out_option
@overwrite_option
@handle_errors
def access(run_dir, max_km, detention, detention_radius_m, out, overwrite):
    """Write OUT: access.csv (segment_id, asylum_office_km, shelter_km, passes_enforcement, detention_exposure),
    access_gaps.csv (stretches with no asylum office or no shelter within --max-km), access.png and access.html
    (the map layer "access").

    detention_exposure is the quartic kernel of the distance to the nearest detention site (bandwidth 25 km):
    1 through a site's city, 0 beyond 25 km; reported beside the risk, never added to it.

    passes_enforcement: the shortest way to the nearest asylum office touches an enforcement zone active in the
    run's window or comes within --detention-radius-m of a detention site.
    """
    from ..detention import load_detention, read_detention
    from ..netrun import access_run

    sites = read_detention(detention) if detention else load_detention()
    table = access_run(run_dir, out, max_km=max_km, detention=sites, detention_path=detention,
                       detention_radius_m=detention_radius_m, overwrite=overwrite)  # fmt: skip
    gaps = table.attrs["gaps"]
    click.echo(f"{len(table)} segments; {int(table['passes_enforcement'].sum())} whose way to an asylum office "
               f"passes enforcement; {len(gaps)} access gaps over {max_km:g} km")  # fmt: skip
    click.echo(f"wrote {out}")
