"""``routerisk report``: report.html (offline, with the live map) and report.pdf (A4) of a run folder."""

from __future__ import annotations

from pathlib import Path

import click

from .options import handle_errors, out_option, overwrite_option

__all__ = ["report"]

SHORT_HELP = "Write report.html (offline, live map) and report.pdf of a run folder."


@click.command(short_help=SHORT_HELP)
@click.option(
    "--run", "run_dir", required=True, type=click.Path(path_type=Path),
    help="A run folder written by `routerisk score` or `demo` (only read).",
)
@click.option("--title", default="Risk along migration routes", show_default=True,
              help="Report title (shown literally, never as markup).")
@click.option("--top", default=20, show_default=True, type=click.IntRange(min=1),
              help="Rows of the table of riskiest stretches.")
@click.option("--trends", "trends_dir", type=click.Path(path_type=Path),
              help="Output folder of `routerisk trends` (trends.csv) [default: trends.csv of the run, if any].")
@click.option("--change", "change_dir", type=click.Path(path_type=Path),
              help="Output folder of `routerisk change` (change.csv) [default: change.csv of the run, if any].")
@click.option("--pdf/--no-pdf", default=True, show_default=True, help="Also write report.pdf (needs reportlab).")
@out_option
@overwrite_option
@handle_errors
def report(run_dir, title, top, trends_dir, change_dir, pdf, out, overwrite):
    """Write OUT: report.html (one self-contained offline file: the run's interactive map, the riskiest stretches
    with their nearest localities and intervals, risk profiles along each route, coverage curve and proposed sites,
    trends and change when present, methods from the manifest), report.pdf (the same for print, A4, figures at
    300 dpi) and manifest.json.

    A public run gives a public report (no incident coordinates, no free text, no suppressed numbers); an --out
    that is, holds or lies inside the run or an input folder is refused.
    """
    from .._atomic import refuse_inputs
    from ..report import write_report

    refuse_inputs(out, [run_dir, trends_dir, change_dir])
    folder = write_report(run_dir, out, title=title, top=top, trends=trends_dir, change=change_dir,
                          overwrite=overwrite, pdf=pdf)  # fmt: skip
    names = ", ".join(sorted(p.name for p in folder.iterdir()))
    click.echo(f"Wrote {folder} ({names}).")
