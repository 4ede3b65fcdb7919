"""``routerisk demo``: the whole analysis on the embedded real data (or, with ``--synthetic``, the synthetic demo)."""

from __future__ import annotations

import click

from .options import handle_errors, out_option, overwrite_option, privacy_options, report_run

__all__ = ["REAL_DEMO_TITLE", "demo"]

#: Title of the real demo's maps: what the records are.
REAL_DEMO_TITLE = "Deaths and disappearances of migrants recorded by the IOM, 2014-2020 (a minimum count)"
#: The embedded real inputs of the default demo (data/README.md gives their sources and licences).
REAL_INCIDENTS = "iom_mmp_mexico_box_2014_2020.csv"
REAL_DEPLOYMENTS = "guardia_nacional_deployment_by_state_month.csv"


@click.command(short_help="Run the whole analysis on the embedded demo data.")
@click.option(
    "--synthetic", is_flag=True,
    help="Run the SYNTHETIC demo instead: generated attack incidents and illustrative enforcement zones.",
)
@privacy_options
@out_option
@overwrite_option
@handle_errors
def demo(synthetic, privacy, min_count, out, overwrite):
    """Score the embedded corridors and write the tables, 5 proposed shelter sites (maximal covering along the
    routes, within the default radius of `routerisk sites`), the protection gaps, the GeoTIFF risk surface and
    the maps (routerisk_demo.html/.png/.pdf) to OUT.

    By default the records are REAL: the 1,990 IOM Missing Migrants Project records of deaths and
    disappearances of people in migration in and around Mexico, January 2014 - January 2020 (a minimum count,
    not a complete record of violence against migrants), with the National Guard deployment by state and month
    (July 2019 - July 2021) as the enforcement layer, and the real shelters and asylum offices of the embedded
    list (at city level; the shelters invented for the synthetic demo are left out). With --synthetic, the
    incidents are SYNTHETIC and the zones ILLUSTRATIVE: the outputs say so.
    """
    from datetime import date

    from .._atomic import refuse_inputs
    from .._paths import data_dir, data_path
    from ..model import RiskModel
    from ..pipeline import run

    refuse_inputs(out, [data_dir()])
    if synthetic:
        result = run(out, embedded_zones=True, embedded_shelters=True, privacy=privacy, min_count=min_count,
                     overwrite=overwrite, maps=True, map_name="routerisk_demo", sites=5,
                     map_title="Risk along migration routes (SYNTHETIC incidents)")  # fmt: skip
    else:
        click.echo(
            "Real data: IOM Missing Migrants Project records of deaths and disappearances in migration, "
            "2014-2020 (a minimum count); National Guard deployment by state and month, 2019-07 to 2021-07."
        )
        # the deployment months shown on the maps end with the records (January 2020)
        model = RiskModel(window_end=date(2020, 1, 31))
        result = run(
            out, incidents=data_path(REAL_INCIDENTS), zones=data_path(REAL_DEPLOYMENTS), embedded_shelters="real",
            model=model, privacy=privacy, min_count=min_count, overwrite=overwrite, maps=True,
            map_name="routerisk_demo", sites=5, map_title=REAL_DEMO_TITLE,
        )  # fmt: skip
        from ..studyarea import describe_outside, describe_precision

        for line in (describe_outside(result.manifest.get("outside_study_area")),
                     describe_precision(result.manifest.get("location_precision"))):  # fmt: skip
            if line:
                click.echo(line)
    report_run(result)
