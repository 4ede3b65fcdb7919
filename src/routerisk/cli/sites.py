"""``routerisk sites``: propose shelter sites along the scored routes of a run folder."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ._registry import RegistryChoice, RegistryDefault, constant, registry
from .options import handle_errors, out_option, overwrite_option

_SITING = "routerisk.siting.registry"

__all__ = ["sites"]


def _read_layer(path: Path, layer: str | None, what: str):
    import geopandas as gpd
    import pyogrio

    from .._errors import InputError

    if not path.is_file():
        msg = f"{what} file {str(path)!r} does not exist"
        raise InputError(msg, path=str(path))
    try:
        if layer is not None and layer not in [name for name, _ in pyogrio.list_layers(path)]:
            msg = f"{str(path)!r} has no layer {layer!r}"
            raise InputError(msg, path=str(path))
        if layer is None:  # the first data layer: a styled GeoPackage also lists QGIS's layer_styles table
            layer = next((str(n) for n, _ in pyogrio.list_layers(path) if n != "layer_styles"), None)
        return gpd.read_file(path, layer=layer, engine="pyogrio")
    except InputError:
        raise
    except Exception as exc:  # pyogrio/GDAL raise their own errors with long texts
        msg = f"cannot read {what} file {str(path)!r}: {str(exc).splitlines()[0]}"
        raise InputError(msg, path=str(path)) from None


def _read_points(path: Path, what: str):
    """Points from a vector file, or from a CSV with latitude/longitude columns (EPSG:4326), read like every other
    input: encodings, malformed lines, poles, infinities and ambiguous coordinate columns as in
    :func:`routerisk.io.read_incidents`. Rows with unusable coordinates are reported on stderr and skipped."""
    import geopandas as gpd
    import shapely

    from .._errors import InputError
    from .._validate import ValidationReport
    from ..io._incidents import coords_from_table
    from ..io._tables import read_text_table
    from ..io._vector import attributes, is_vector, read_vector
    from ..io._zones_routes import check_geometries

    file = str(path)
    report = ValidationReport()
    if is_vector(path):
        gdf, rows = read_vector(path, report, file, layer=None, kind=what)
        geoms = gdf.geometry.to_numpy()
        check_geometries(rows, geoms)
        table = attributes(gdf)
    else:
        table, rows = read_text_table(path, report, file)
        lon, lat, _ = coords_from_table(rows, table, file)
        geoms = shapely.points(lon, lat)
    keep = rows.finish()
    if report.n_rejected:
        click.echo(f"{report.n_rejected} {what} rows were rejected: {report.summary()}", err=True)
    if not keep.any():
        msg = f"{what} file {file!r} has no row with usable coordinates"
        raise InputError(msg, path=file)
    return gpd.GeoDataFrame(table.loc[keep].reset_index(drop=True), geometry=list(geoms[keep]), crs="EPSG:4326")


def _existing(value: str | None, run: Path):
    """Existing shelters: a file (read by :func:`routerisk.io.read_shelters`), ``shipped``, or by default the run's
    ``shelters.gpkg`` when there is one; asylum offices are dropped."""
    from ..siting import shelters_only

    if value is None and (run / "shelters.gpkg").is_file():
        path = run / "shelters.gpkg"
        table = _read_layer(path, "shelters", "shelters")
    elif value is None or value == "none":
        return None, None
    elif value == "shipped":
        from ..datasets import load_shelters

        table, path = load_shelters(), None
    else:
        from .._validate import ValidationReport
        from ..io import read_shelters

        report = ValidationReport()
        path = Path(value)
        table = read_shelters(path, report=report)
        if report.n_rejected:
            click.echo(f"{report.n_rejected} shelter rows were rejected: {report.summary()}", err=True)
    table = shelters_only(table)
    if value is None:
        click.echo(f"Existing shelters: {len(table)} from the run's shelters.gpkg (--existing none to ignore).")
    return table, path


@click.command(short_help="Propose shelter sites covering the most route risk; find the protection gaps.")
@click.option(
    "--run", "run_dir", required=True, type=click.Path(file_okay=False),
    help="Run folder of `routerisk score` (reads segments.gpkg and, for --exclude-zones, zones.gpkg).",
)
@click.option("--k", "k", type=int, default=5, show_default=True, help="Number of new sites (mclp, pmedian).")
@click.option("--radius-km", type=float, default=None, cls=RegistryDefault,
              registry_default=constant(_SITING, "DEFAULT_RADIUS_KM"), help="Coverage radius of a site (km).")
@click.option(
    "--existing", metavar="FILE|shipped|none", default=None,
    help="Existing shelters (CSV or vector, read like `--shelters` of score; asylum offices ignored), "
    "'shipped' for the embedded illustrative list, 'none'. Default: the run's shelters.gpkg if any, else none.",
)
@click.option(
    "--candidates", metavar="FILE|gazetteer", default="gazetteer", show_default=True,
    help="Candidate towns: a point file (vector, or CSV with lon/lat), or the shipped GeoNames localities "
    "within --candidate-distance-km of the routes.",
)
@click.option("--candidate-distance-km", type=float, default=10.0, show_default=True,
              help="Reach of gazetteer candidates from the routes (straight line).")
@click.option("--model", type=RegistryChoice(registry(_SITING, "model_names")), default="mclp", show_default=True,
              help="Location model of routerisk.siting.registry: maximal covering, p-median, or fewest sites "
              "reaching --coverage.")
@click.option("--coverage", type=float, default=0.9, show_default=True,
              help="lscp: target share of all risk covered (existing shelters included).")
@click.option("--measure", type=RegistryChoice(registry(_SITING, "measure_names")), default="route", show_default=True,
              help="Distance along the route (snap point + offset) or straight line.")
@click.option("--solver", type=RegistryChoice(registry(_SITING, "solver_names")), default="auto", show_default=True,
              help="CBC (exact), greedy (with its gap), or auto (greedy when too large or CBC times out).")
@click.option("--time-limit", "time_limit_s", type=float, default=30.0, show_default=True,
              help="Seconds allowed to each CBC run.")
@click.option("--exclude-zones/--no-exclude-zones", default=True, show_default=True,
              help="Never propose a site inside an enforcement zone of the run (zones.gpkg).")
@click.option("--unsafe", default="", metavar="'Town1,Town2'",
              help="Towns never to propose (accents and case ignored).")
@out_option
@overwrite_option
@handle_errors
def sites(
    run_dir, k, radius_km, existing, candidates, candidate_distance_km, model, coverage, measure, solver,
    time_limit_s, exclude_zones, unsafe, out, overwrite,
):
    """Propose shelter sites on the scored segments of RUN and write OUT: sites.gpkg (layers sites, coverage,
    gaps), sites.csv, coverage_curve.csv/.png, gaps.csv and manifest.json. Prints the ranked sites.

    Exit codes: 2 an input cannot be used, 3 a bad option value (e.g. --radius-km 0, --k above the number of
    candidates), 4 OUT cannot be written, 5 no answer (no candidate within reach, unreachable --coverage).
    """
    from .._atomic import refuse_inputs
    from ..siting import DEFAULT_RADIUS_KM, ShelterSiting, write_sites

    radius_km = DEFAULT_RADIUS_KM if radius_km is None else radius_km
    run = Path(run_dir)
    named = [v for v in (existing, candidates) if v not in (None, "none", "shipped", "gazetteer")]
    refuse_inputs(out, [run, *named])
    seg_path = run / "segments.gpkg"
    segments = _read_layer(seg_path, "segments", "segments")
    inputs: dict[str, Path] = {"segments": seg_path}
    if (run / "manifest.json").is_file():
        inputs["run_manifest"] = run / "manifest.json"
    exclude: list = [name.strip() for name in unsafe.split(",") if name.strip()]
    zones_path = run / "zones.gpkg"
    if exclude_zones and zones_path.is_file():
        exclude.append(_read_layer(zones_path, "zones", "zones"))
        inputs["zones"] = zones_path
    exist, exist_path = _existing(existing, run)
    if exist_path is not None:
        inputs["existing"] = exist_path
    cands: object = "gazetteer"
    if candidates != "gazetteer":
        cands = _read_points(Path(candidates), "candidates")
        inputs["candidates"] = Path(candidates)
    siting = ShelterSiting.from_segments(
        segments, candidates=cands, existing=exist, radius_km=radius_km, measure=measure,
        candidate_distance_km=candidate_distance_km, exclude=exclude or None,
    )
    result = siting.solve(model, k=k, coverage=coverage, solver=solver, time_limit_s=time_limit_s)
    result.params.update(existing=str(exist_path) if exist_path else (existing or "none"), unsafe=unsafe,
                         exclude_zones=exclude_zones)
    write_sites(result, out, overwrite=overwrite, inputs=inputs, command=" ".join(["routerisk", *sys.argv[1:]]))
    click.echo(result.summary())
    click.echo(f"Wrote {out} ({len(result.sites)} sites, {len(result.gaps)} protection gaps).")
