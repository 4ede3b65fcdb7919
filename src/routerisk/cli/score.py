"""``routerisk score``: score route segments from incident records (and enforcement zones)."""

from __future__ import annotations

import click

from .._atomic import refuse_inputs
from .options import (
    build_model,
    handle_errors,
    incidents_format_option,
    model_options,
    out_option,
    overwrite_option,
    parse_geomask,
    privacy_options,
    report_run,
)

__all__ = ["score"]


@click.command(short_help="Score route segments by risk and write a run folder.")
@click.option(
    "--incidents", type=click.Path(dir_okay=False), help="Incident file (default: embedded synthetic incidents)."
)
@incidents_format_option
@click.option("--routes", type=click.Path(dir_okay=False), help="Route lines (default: the embedded corridors).")
@click.option("--zones", type=click.Path(dir_okay=False), help="Enforcement zones (polygons, or points with radius_m).")
@click.option(
    "--zones-format",
    type=click.Choice(["auto", "deployments"]),
    default="auto",
    show_default=True,
    help="'deployments' reads a state-month deployment table as time-varying zones ('auto' recognises one by its "
    "columns: year, month, state, personnel).",
)
@click.option("--shelters", type=click.Path(dir_okay=False), help="Existing shelters and asylum offices.")
@click.option(
    "--detention",
    type=click.Path(dir_okay=False),
    help="Detention sites (CSV with lon/lat or locality/state, or points; 'embedded': the city-level list in "
    "data/detention.csv): adds detention_exposure beside the risk, detention.gpkg and the detention map layer.",
)
@model_options
@privacy_options
@click.option(
    "--geomask",
    metavar="MIN_M,MAX_M",
    help="Also write incidents_geomasked.gpkg: points donut-masked between these radii in metres "
    "(e.g. 500,2000), no text, ids or exact dates. Public mode masks with these radii (default 500,2000) "
    "the points every published number is computed from.",
)
@click.option(
    "--geomask-key",
    type=click.Path(dir_okay=False),
    help="Secret key file (>= 16 bytes): geomask displacements become HMAC-SHA256 of the key and each record, "
    "reproducible by whoever holds the key (default: OS entropy, a new draw each run). Never written anywhere.",
)
@click.option(
    "--sites",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Propose this many new shelter sites (maximal covering along the routes, default radius of "
    "`routerisk sites`).",
)
@click.option(
    "--study-area",
    type=click.Path(dir_okay=False),
    help="Polygon file of the study area: incident rows outside it are excluded from scores, rasters and maps and "
    "counted in the manifest (outside_study_area) [default: the routes buffered by the kernel's reach].",
)
@click.option(
    "--cell-m",
    type=click.FloatRange(min=1.0),
    default=1000.0,
    show_default=True,
    help="Cell size in metres of the risk surface (risk_surface.tif, internal maps), over the study area.",
)
@click.option(
    "--maps/--no-maps", default=False, show_default=True, help="Also write map.html/.png/.pdf and risk_surface.tif."
)
@out_option
@overwrite_option
@handle_errors
def score(
    incidents, incidents_format, routes, zones, zones_format, shelters, detention, config, params, privacy, min_count,
    geomask, geomask_key, sites, study_area, cell_m, maps, out, overwrite,
):
    """Score every route segment by risk and write OUT: segments.gpkg, segments.parquet, segments_ranked.csv,
    rejected_rows.csv (when rows were rejected) and manifest.json.

    Exit code 1 means the run finished but some input rows were rejected (listed in rejected_rows.csv).
    """
    from ..pipeline import run  # lazy: the pipeline imports geopandas, numba, scipy (1.3 s); not for --help

    embedded_detention = detention == "embedded"
    detention = None if embedded_detention else detention
    refuse_inputs(out, [incidents, routes, zones, shelters, config, geomask_key, study_area, detention])
    model, auto_bandwidth = build_model(config, params)

    result = run(
        out,
        incidents=incidents,
        incidents_format=incidents_format,
        routes=routes,
        zones=zones,
        zones_format=zones_format,
        shelters=shelters,
        model=model,
        bandwidth="auto" if auto_bandwidth else None,
        privacy=privacy,
        min_count=min_count,
        overwrite=overwrite,
        maps=maps,
        sites=sites,
        geomask=parse_geomask(geomask),
        geomask_key=geomask_key,
        detention=detention,
        embedded_detention=embedded_detention,
        study_area=study_area,
        cell_m=cell_m,
    )
    from ..studyarea import describe_outside, describe_precision

    for line in (describe_outside(result.manifest.get("outside_study_area")),
                 describe_precision(result.manifest.get("location_precision"))):  # fmt: skip
        if line:
            click.echo(line)
    report_run(result)
