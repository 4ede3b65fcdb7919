"""``routerisk change``: rate ratios after / before a date per segment and per state, and deployment analyses."""

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

__all__ = ["change"]


@click.command(short_help="Rate ratios after / before a date, per segment and per state (exact intervals).")
@click.option("--incidents", type=click.Path(dir_okay=False),
              help="Incident file (default: embedded synthetic, unless --counts is given alone).")
@incidents_format_option
@click.option("--routes", type=click.Path(dir_okay=False), help="Route lines (default: the embedded corridors).")
@click.option("--counts", type=click.Path(dir_okay=False),
              help="State-month count table (ano, mes, cve_entidad/entidad, one count column), e.g. INM presentados.")
@click.option("--value", "counts_value", help="Count column of --counts when it has several.")
@click.option("--deployments", type=click.Path(dir_okay=False),
              help="State-month deployment table (despliegue): adds difference-in-differences and lagged GLMs.")
@click.option("--before", required=True, metavar="START:END", help="Before window, ISO dates, inclusive.")
@click.option("--after", required=True, metavar="START:END", help="After window, ISO dates, inclusive.")
@click.option("--level", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Two-sided level of the intervals.")
@click.option("--interval", type=click.Choice(["exact", "wald"]), default="exact", show_default=True,
              help="What rr_lo/rr_hi hold: the exact conditional (binomial) interval or the Poisson GLM's Wald "
              "interval (both are also written as exact_lo/hi and wald_lo/hi).")
@click.option("--maps/--no-maps", default=True, show_default=True, help="Write change_map.png.")
@model_options
@privacy_options
@out_option
@overwrite_option
@handle_errors
def change(incidents, incidents_format, routes, counts, counts_value, deployments, before, after, level, interval,
           maps, config, params, privacy, min_count, out, overwrite):
    """Write OUT: change.csv (segment_id, count_before, count_after, rate_ratio, rr_lo, rr_hi, p_value, p_adjusted),
    change_by_state.csv, change_by_perpetrator.csv (internal mode), change_map.png, with --counts the same per
    state of the table, with --deployments deployment_did.csv, deployment_association.csv and deployment.md (with
    their caveats), and manifest.json.

    Exit code 1 means some input rows were rejected (rejected_rows.csv, rejected_count_rows.csv).
    """
    import sys

    from .._atomic import refuse_inputs
    from ..change import check_windows, parse_window
    from ..timerun import change_run
    from .options import build_model

    b, a = parse_window(before, "--before"), parse_window(after, "--after")
    check_windows(b, a)
    refuse_inputs(out, [incidents, routes, counts, deployments, config])
    model, auto = build_model(config, params)
    if auto:
        from .._errors import ConfigError

        msg = (
            "`bandwidth_m = \"auto\"` is selected by `routerisk score` (recorded in its manifest's "
            "bandwidth_selection); `routerisk change` needs the number: --param bandwidth_m=<metres>"
        )
        raise ConfigError(msg)
    res = change_run(out, before=b, after=a, incidents=incidents, incidents_format=incidents_format, routes=routes,
                     counts=counts, counts_value=counts_value, deployments=deployments, model=model, level=level,
                     interval=interval, privacy=privacy, min_count=min_count, overwrite=overwrite, maps=maps)
    click.echo(f"Wrote {res['out']} ({', '.join(f'{k}: {v}' for k, v in res['facts'].items() if k != 'attribution')}).")
    if res["rejected"]:
        files = [n for n in ("rejected_rows.csv", "rejected_count_rows.csv") if (res["out"] / n).exists()]
        click.echo(f"{res['rejected']} input rows were rejected: see {', '.join(files)} in {res['out']}", err=True)
        sys.exit(1)
