"""``routerisk path``: the shortest and least-risk paths between two places on the route network."""

from __future__ import annotations

import click

from .options import handle_errors, out_option, overwrite_option

__all__ = ["path"]


def _place(text: str):
    """A place name, or ``lon,lat``."""
    parts = text.split(",")
    if len(parts) == 2:
        try:
            return float(parts[0]), float(parts[1])
        except ValueError:
            pass
    return text


@click.command(short_help="Shortest and least-risk paths between two places (paths.csv, paths.png).")
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="A run folder written by `routerisk score` (its segments' risk).")
@click.option("--from", "source", required=True, help="Start: a locality (\"Name\" or \"Name, State\") or lon,lat.")
@click.option("--to", "target", required=True, help="End: a locality or lon,lat.")
@click.option("--alpha", "alphas", multiple=True, type=click.FloatRange(min=0), default=(1.0, 5.0, 20.0),
              show_default=True,
              help="Risk aversion (repeatable): cost = length x (1 + alpha x risk / 100), risk on the 0-100 scale.")
@click.option("--k", "k", type=click.IntRange(min=1, max=20), default=3, show_default=True,
              help="Paths per alpha: the least-risk one and k-1 alternatives (next simple paths by cost).")
@click.option("--network", type=click.Path(dir_okay=False),
              help="OSM XML file (.osm): follow its roads; each takes the risk of the nearest segment within 1 km.")
@out_option
@overwrite_option
@handle_errors
def path(run_dir, source, target, alphas, k, network, out, overwrite):
    """Write OUT: paths.csv (path = shortest / least_risk / alternative_N, alpha, length_km, risk_exposure,
    extra_km, risk_avoided, cost, localities passed), paths.gpkg and paths.png.

    risk_exposure is the sum of length_km x risk / 100 along the path. The least-risk path is never riskier and
    never shorter than the shortest one.
    """
    from ..netrun import path_run

    paths = path_run(run_dir, out, source=_place(source), target=_place(target), alphas=tuple(alphas), k=k,
                     network=network, overwrite=overwrite)  # fmt: skip
    best = paths[paths["path"] == "least_risk"]
    short = paths.iloc[0]
    click.echo(f"shortest: {short['length_km']:.1f} km, risk exposure {short['risk_exposure']:.2f}")
    for _, row in best.iterrows():
        click.echo(f"least risk (alpha {row['alpha']:g}): {row['length_km']:.1f} km (+{row['extra_km']:.1f}), "
                   f"risk exposure {row['risk_exposure']:.2f} (-{row['risk_avoided']:.2f})")  # fmt: skip
    click.echo(f"wrote {out}")
