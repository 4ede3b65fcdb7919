"""``routerisk trends``: emerging hot spots along the routes (space-time cube, Mann-Kendall, ArcGIS patterns)."""

from __future__ import annotations

import click

from .options import (
    handle_errors,
    incidents_format_option,
    model_options,
    out_option,
    overwrite_option,
    privacy_options,
)

__all__ = ["trends"]


@click.command(short_help="Emerging hot spots per segment: trend and pattern over months, quarters or years.")
@click.option("--incidents", type=click.Path(dir_okay=False), help="Incident file (default: embedded synthetic).")
@incidents_format_option
@click.option("--routes", type=click.Path(dir_okay=False), help="Route lines (default: the embedded corridors).")
@click.option(
    "--period", type=click.Choice(["month", "quarter", "year"]), default="quarter", show_default=True,
    help="Length of a time step of the space-time cube (at least 3 steps are needed).",
)
@click.option(
    "--alpha", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.10, show_default=True,
    help="Level of the per-period hot/cold test (BH-adjusted) and of the trend (BH over segments).",
)
@click.option("--maps/--no-maps", default=True, show_default=True, help="Write the PNG maps and trends.html.")
@model_options
@privacy_options
@click.option("--geomask-key", type=click.Path(dir_okay=False),
              help="Public mode: secret key file making the masking reproducible (see `routerisk score`).")
@out_option
@overwrite_option
@handle_errors
def trends(incidents, incidents_format, routes, period, alpha, maps, config, params, privacy, min_count, geomask_key,
           out, overwrite):
    """Write OUT: trends.csv (segment_id, pattern, trend_tau, trend_p, count_<period> and z_<period> per period),
    trends.gpkg, trends_by_perpetrator.csv (internal mode), trends_patterns.png, trends_periods.png, trends.html
    and manifest.json.

    Time decay is off (each period is its own window). Exit code 1 means some input rows were rejected.
    """
    import sys

    from .._atomic import refuse_inputs
    from ..timerun import trends_run
    from .options import build_model

    refuse_inputs(out, [incidents, routes, config, geomask_key])
    model, auto = build_model(config, params)
    if auto:
        from .._errors import ConfigError

        msg = (
            "`bandwidth_m = \"auto\"` is selected by `routerisk score` (recorded in its manifest's "
            "bandwidth_selection); `routerisk trends` needs the number: --param bandwidth_m=<metres>"
        )
        raise ConfigError(msg)
    key = None
    if geomask_key is not None:
        from ..privacy import read_geomask_key

        key = read_geomask_key(geomask_key)
    res = trends_run(out, incidents=incidents, incidents_format=incidents_format, routes=routes, period=period,
                     model=model, alpha=alpha, privacy=privacy, min_count=min_count, overwrite=overwrite, maps=maps,
                     key=key)
    counts = res["table"]["pattern"].value_counts()
    click.echo(f"Wrote {res['out']} ({len(res['table'])} segments; "
               + ", ".join(f"{k}: {v}" for k, v in counts.items()) + ").")
    if res["rejected"]:
        click.echo(f"{res['rejected']} input rows were rejected: see {res['out'] / 'rejected_rows.csv'}", err=True)
        sys.exit(1)
