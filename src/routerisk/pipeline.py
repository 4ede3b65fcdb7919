"""``run``: read, validate, segment, score and write one run folder, with its manifest.

Each step is a public function usable on its own (:func:`routerisk.io.read_incidents`,
:func:`routerisk.routes.segmentize`, :func:`routerisk.score_segments`, ...); ``run`` chains them and writes the
outputs atomically. The CLI's ``score``, ``demo`` and ``rerun`` commands call it.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from ._atomic import atomic_dir
from ._sinks import write_csv
from ._validate import ValidationReport
from .manifest import read_manifest, sha256_file, write_manifest
from .privacy import (
    DEFAULT_MIN_COUNT,
    check_privacy,
    disclosure_record,
    public_report,
    publishable_shelters,
    published_date_range,
    suppress_segments,
)
from .siting import (
    DEFAULT_RADIUS_KM,
    ShelterSiting,
    result_summary,
    shelters_only,
    sites_layers,
    write_site_files,
)

__all__ = ["RANKED_COLUMNS", "RunResult", "rank_segments", "rerun", "run"]

#: Columns of ``segments_ranked.csv``, in order.
RANKED_COLUMNS = (
    "rank",
    "segment_id",
    "route_id",
    "route_name",
    "km_from",
    "km_to",
    "state_name",
    "risk",
    "risk_lo",
    "risk_hi",
    "risk_percentile",
    "risk_class",
    "evidence",
    "hotspot",
    "p_value",
    "gi_z",
    "n_incidents",
    "incident_exposure",
    "incident_exposure_lo",
    "incident_exposure_hi",
    "incident_density",
    "incident_risk",
    "enforcement_exposure",
    "enforcement_risk",
    "composite_risk",
)

EMBEDDED = "embedded"


@dataclass
class RunResult:
    """What :func:`run` produced.

    Attributes
    ----------
    out : pathlib.Path
        The run folder.
    segments : GeoDataFrame
        The scored segments as written (suppressed in public mode).
    report : ValidationReport
        Rejected and changed input rows.
    manifest : dict
        The manifest as written.
    notes : list of str
        What a :func:`rerun` reproduced and what it could not (:func:`routerisk.manifest.compare_rerun`).
    """

    out: Path
    segments: gpd.GeoDataFrame
    report: ValidationReport
    manifest: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def rank_segments(segments: gpd.GeoDataFrame) -> pd.DataFrame:
    """The ranked table: highest risk first (suppressed segments last), ties by segment id.

    Parameters
    ----------
    segments : GeoDataFrame
        Scored segments.

    Returns
    -------
    DataFrame
        Columns :data:`RANKED_COLUMNS` that exist in the input.
    """
    df = pd.DataFrame(segments.drop(columns=segments.geometry.name))
    df["route_name"] = df["name"] if "name" in df.columns else df["route_id"]
    df["km_from"] = (df["start_m"] / 1000.0).round(3)
    df["km_to"] = (df["end_m"] / 1000.0).round(3)
    df = df.sort_values(["risk", "segment_id"], ascending=[False, True], na_position="last", kind="stable")
    df["rank"] = range(1, len(df) + 1)
    df = df[[c for c in RANKED_COLUMNS if c in df.columns]].reset_index(drop=True)
    floats = df.select_dtypes("float").columns
    df[floats] = df[floats].round(4)  # readable; full precision stays in the GeoPackage and GeoParquet
    return df


def _input_record(role: str, path: str | None, fmt: str, report: ValidationReport, key: str) -> dict[str, Any]:
    counts = report.counts.get(key, {})
    rec: dict[str, Any] = {"role": role, "format": fmt, **counts}
    if path is None:
        from ._data import data_path

        rec["path"] = f"{EMBEDDED}:{key.split(':', 1)[1]}"
        rec["sha256"] = sha256_file(data_path(key.split(":", 1)[1]))
    else:
        rec["path"] = str(Path(path).absolute())
        rec["sha256"] = sha256_file(path)
    return rec


def _load(role: str, path: str | os.PathLike[str] | None, fmt: str, report: ValidationReport) -> Any:
    """Read one input, or the embedded default when ``path`` is None; return (layer, report key)."""
    from . import datasets, io

    if path is None:
        loader, name = {
            "incidents": (datasets.load_incidents, "incidents_synthetic.csv"),
            "routes": (datasets.load_corridors, "corridors.csv"),
            "zones": (datasets.load_zones, datasets.ZONES_FILE),
            "shelters": (datasets.load_shelters, "shelters.csv"),
        }[role]
        layer = loader()
        key = f"{EMBEDDED}:{name}"
        report.count(key, read=len(layer), kept=len(layer))
        return layer, key
    path = str(path)
    if role == "incidents":
        # lon/lat columns, not 5M shapely Points: scoring projects coordinates; Points are built where written
        layer = io.read_incidents(path, format=fmt, report=report, geometry=False)
    elif role == "zones":
        layer = io.read_deployments(path, report=report) if fmt == "deployments" else io.read_zones(path, report=report)
    elif role == "routes":
        layer = io.read_routes(path, report=report)
    else:
        layer = io.read_shelters(path, report=report)
    return layer, path


#: Incidents written to ``incidents.gpkg`` at a time (Points are built per batch, not for the whole layer).
_GPKG_BATCH = 500_000


def _with_geometry(inc: pd.DataFrame) -> gpd.GeoDataFrame:
    """The incidents as a GeoDataFrame: a lon/lat table (``read_incidents(..., geometry=False)``) gets Points."""
    if isinstance(inc, gpd.GeoDataFrame):
        return inc
    import shapely

    from .schema import WGS84

    geom = shapely.points(inc["lon"].to_numpy(dtype="float64"), inc["lat"].to_numpy(dtype="float64"))
    return gpd.GeoDataFrame(inc.drop(columns=["lon", "lat"]), geometry=geom, crs=WGS84)


def _write_incidents(inc: pd.DataFrame, path: Path) -> None:
    """Write ``incidents.gpkg`` through Arrow; a lon/lat table as a stream of :data:`_GPKG_BATCH`-row batches.

    A GeoDataFrame goes through ``to_file``. For a lon/lat table, each batch gets its Points (as WKB) and is
    converted as ``pyogrio.write_dataframe(..., use_arrow=True)`` converts a whole frame, then the batches are
    written in one go (one layer creation and one spatial index, as ``to_file``): the same features, with only
    one batch of Points and WKB in memory at a time.
    """
    if isinstance(inc, gpd.GeoDataFrame):
        # through Arrow: a few hundred MB for millions of points instead of WKB + object copies of every column
        inc.to_file(path, layer="incidents", driver="GPKG", use_arrow=True)
        return
    import pyarrow as pa
    import shapely
    from pyogrio.raw import write_arrow

    lon = inc["lon"].to_numpy(dtype="float64")
    lat = inc["lat"].to_numpy(dtype="float64")
    attrs = inc.drop(columns=["lon", "lat"])

    def arrow_batch(start: int) -> pa.Table:
        part = attrs.iloc[start : start + _GPKG_BATCH]
        table = pa.Table.from_pandas(part, preserve_index=False)
        for i, fld in enumerate(table.schema):  # as pyogrio: all-null columns and labels are written as text
            if pa.types.is_null(fld.type):
                table = table.set_column(i, fld.with_type(pa.string()), table[i].cast(pa.string()))
            elif pa.types.is_dictionary(fld.type) and pa.types.is_null(fld.type.value_type):
                typ = pa.dictionary(fld.type.index_type, pa.string())
                table = table.set_column(i, fld.with_type(typ), table[i].cast(typ))
        end = start + len(part)
        wkb = shapely.to_wkb(shapely.points(lon[start:end], lat[start:end]))
        return table.append_column("geometry", pa.array(wkb, type=pa.binary()))

    first = arrow_batch(0)
    schema = first.schema

    def batches():
        yield from first.cast(schema).to_batches()
        for start in range(_GPKG_BATCH, len(inc), _GPKG_BATCH):
            yield from arrow_batch(start).cast(schema).to_batches()

    stream = pa.RecordBatchReader.from_batches(schema, batches())
    write_arrow(
        stream, str(path), layer="incidents", driver="GPKG", geometry_name="geometry", geometry_type="Point",
        crs="EPSG:4326",
    )


def run(
    out: str | os.PathLike[str],
    *,
    incidents: str | os.PathLike[str] | None = None,
    routes: str | os.PathLike[str] | None = None,
    zones: str | os.PathLike[str] | None = None,
    shelters: str | os.PathLike[str] | None = None,
    embedded_zones: bool = False,
    embedded_shelters: bool = False,
    model: Any = None,
    incidents_format: str = "auto",
    zones_format: str = "auto",
    privacy: str = "internal",
    min_count: int = DEFAULT_MIN_COUNT,
    overwrite: bool = False,
    maps: bool = False,
    map_name: str = "map",
    layers: Any = None,
    sites: int = 0,
    sites_radius_km: float = DEFAULT_RADIUS_KM,
    geomask: tuple[float, float] | None = None,
    geomask_key: str | os.PathLike[str] | None = None,
    bandwidth: str | None = None,
    command: str | None = None,
) -> RunResult:
    """Read, validate, segment and score, then write the run folder atomically.

    Parameters
    ----------
    out : path
        The run folder (created; replaced only with ``overwrite=True``).
    incidents, routes : path, optional
        Input files; ``None`` uses the embedded synthetic incidents / the embedded corridors.
    zones, shelters : path, optional
        Input files; ``None`` means none, unless ``embedded_zones`` / ``embedded_shelters`` is set.
    model : RiskModel, optional
        The model's parameters; the defaults when ``None``.
    incidents_format : str, default "auto"
        ``"auto"``, ``"csv"``, ``"iom"``, ``"acled"`` or ``"vector"``.
    zones_format : str, default "auto"
        ``"auto"`` or ``"deployments"`` (a state-month deployment table, see :func:`routerisk.io.read_deployments`).
    privacy : {"internal", "public"}
        See :mod:`routerisk.privacy`.
    min_count : int, default 5
        Public mode: smallest number of supporting incidents that may be published.
    overwrite : bool, default False
        Replace an existing run folder.
    maps : bool, default False
        Also write the interactive and static maps and the GeoTIFF risk surface.
    map_name : str, default "map"
        File stem of the maps (``map.html``, ``map.png``, ``map.pdf``).
    layers : None, names or mapping, optional
        Map layers to draw (:func:`routerisk.maps.layers.select_layers`); default every layer the mode allows.
    sites : int, default 0
        Propose this many new shelter sites (maximal covering, :class:`routerisk.siting.ShelterSiting`) among the
        gazetteer localities near the routes, with the given shelters (kind ``shelter``) covering first and
        candidates inside enforcement zones excluded; writes ``sites.gpkg``, ``sites.csv``, ``gaps.csv`` and
        the coverage curve, and draws the sites and protection gaps on the maps. 0 skips siting.
    sites_radius_km : float, default 30
        Coverage radius of a shelter, measured along the route.
    geomask : (min_m, max_m), optional
        Also write ``incidents_geomasked.gpkg``: the incidents donut-masked between these radii, without text,
        ids or exact dates (:func:`routerisk.privacy.donut_mask`, displacements from OS entropy, or from
        ``geomask_key``) — for outputs that must show points, in either privacy mode. In public mode these radii
        (default :data:`routerisk.privacy.DEFAULT_GEOMASK_M`) also mask the points every public number is
        computed from.
    geomask_key : path, optional
        A secret key file (:func:`routerisk.privacy.read_geomask_key`): displacements become a keyed PRF of each
        record, so a rerun with the key reproduces them; the key is written nowhere.
    bandwidth : {"auto"}, optional
        ``"auto"`` replaces ``model.bandwidth_m`` by the one :func:`routerisk.select_bandwidth` selects from the
        incidents (the masked copy in public mode); the manifest records the selection and the model used.
    command : str, optional
        The command line to record; the current one by default.

    Returns
    -------
    RunResult
    """
    from ._budget import check_grid, check_pairs
    from .bandwidth import bandwidth_sensitivity, resolve_bandwidth
    from .model import RiskModel
    from .routes import segmentize
    from .scoring import score_segments

    check_privacy(privacy, min_count)
    key = None
    if geomask_key is not None:
        from .privacy import read_geomask_key

        key = read_geomask_key(geomask_key)
    model = RiskModel() if model is None else model
    out = Path(out)
    # fail on an unusable output folder before any work
    with atomic_dir(out, overwrite=overwrite, inputs=(incidents, routes, zones, shelters, geomask_key)) as tmp:
        report = ValidationReport()
        inc, inc_key = _load("incidents", incidents, incidents_format, report)
        rts, rts_key = _load("routes", routes, "auto", report)
        zns = zns_key = shl = shl_key = None
        if zones is not None or embedded_zones:
            zns, zns_key = _load("zones", zones, zones_format, report)
        if shelters is not None or embedded_shelters:
            shl, shl_key = _load("shelters", shelters, "auto", report)

        segments = segmentize(rts, segment_length_m=model.segment_length_m, crs=model.crs, report=report)
        check_pairs(segments, inc, model)  # run-time budgets, checked before the work
        if maps:
            check_grid(inc, model)
        masked_inc = None
        if privacy == "public" or geomask is not None:  # one masked copy for every public number and point
            from .privacy import DEFAULT_GEOMASK_M, mask_points

            lo, hi = (float(v) for v in (geomask or DEFAULT_GEOMASK_M))
            masked_inc = mask_points(inc, min_m=lo, max_m=hi, key=key, crs=model.crs)
        scoring_inc = masked_inc if privacy == "public" else inc
        bw_selection = None
        if bandwidth == "auto":
            model, bw_selection = resolve_bandwidth(model, scoring_inc, auto=True)
            check_pairs(segments, inc, model)
        scored = score_segments(segments, scoring_inc, zones=zns, model=model)
        sensitivity = bandwidth_sensitivity(segments, scoring_inc, model=model)
        score_details = {k: v for k, v in scored.attrs.get("routerisk", {}).items() if k != "model"}
        if privacy == "public":  # every date the manifest records cut to its month
            from .privacy import month_dates_in

            score_details = month_dates_in(score_details)
        scored.attrs = {}
        published = suppress_segments(scored, min_count) if privacy == "public" else scored

        published.to_file(tmp / "segments.gpkg", layer="segments", driver="GPKG")
        published.to_parquet(tmp / "segments.parquet")
        write_csv(rank_segments(published), tmp / "segments_ranked.csv")  # every CSV via routerisk._sinks
        write_csv(sensitivity, tmp / "sensitivity.csv")
        if zns is not None:
            zns.to_file(tmp / "zones.gpkg", layer="zones", driver="GPKG")
        if shl is not None:
            publishable_shelters(shl, privacy).to_file(tmp / "shelters.gpkg", layer="shelters", driver="GPKG")
        # Points of every incident only where something draws or masks them (a lon/lat table otherwise)
        inc_points = None
        if maps:  # Points only where something draws them; public maps draw the masked copy
            inc_points = _with_geometry(masked_inc if privacy == "public" else inc)
            if privacy == "public":
                inc_points.attrs = dict(masked_inc.attrs)
        if geomask is not None:
            from .privacy import donut_mask

            masked = donut_mask(masked_inc, key=key)
            masked.to_file(tmp / "incidents_geomasked.gpkg", layer="incidents_geomasked", driver="GPKG")
        if privacy == "internal":
            _write_incidents(inc, tmp / "incidents.gpkg")
        rejected = report.rejected
        if len(rejected):
            write_csv(public_report(rejected) if privacy == "public" else rejected, tmp / "rejected_rows.csv")
        if privacy == "internal" and len(report.notes):
            write_csv(report.notes, tmp / "input_notes.csv")

        site_layers = site_facts = None
        if sites:
            site_layers, site_facts = _propose_sites(tmp, published, shl, zns, k=sites, radius_km=sites_radius_km)
        if maps:
            from .maps import write_run_maps

            write_run_maps(
                tmp, segments=published, incidents=inc_points, zones=zns, shelters=shl, model=model,
                privacy=privacy, min_count=min_count, name=map_name, sites=site_layers, layers=layers,
            )

        inputs = [_input_record("incidents", incidents, incidents_format, report, inc_key)]
        inputs.append(_input_record("routes", routes, "auto", report, rts_key))
        if zns_key is not None:
            inputs.append(_input_record("zones", zones, zones_format, report, zns_key))
        if shl_key is not None:
            inputs.append(_input_record("shelters", shelters, "auto", report, shl_key))
        dates = inc["date"].dropna()
        manifest_content = {
            "command": command if command is not None else shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "inputs": inputs,
            "model": model.to_dict(),
            "score": score_details,
            "bandwidth_selection": None if bw_selection is None else bw_selection.to_dict(),
            "sensitivity": sensitivity.to_dict(orient="records"),
            "privacy": {"mode": privacy, "min_count": int(min_count),
                        "geomask_m": None if geomask is None else [float(v) for v in geomask]},
            "disclosure": disclosure_record(privacy, masked_inc, min_count),
            "options": {"maps": bool(maps), "map_name": map_name, "sites": int(sites),
                        "sites_radius_km": float(sites_radius_km)},
            "sites": site_facts,
            "crs": {"published": str(published.crs), "analysis": score_details.get("analysis_crs")},
            "data": {
                "synthetic_incidents": bool(inc["synthetic"].any()) if len(inc) else False,
                "illustrative_zones": bool(zns["illustrative"].any()) if zns is not None and len(zns) else False,
                "incidents": len(inc),
                "incident_dates": published_date_range(dates, privacy),
                "segments": len(published),
                "suppressed_segments": int(published["suppressed"].sum()) if privacy == "public" else 0,
                "rejected_rows": report.n_rejected,
            },
        }
        manifest = write_manifest(tmp, manifest_content)
        manifest_doc = json.loads(manifest.read_text())
    return RunResult(out=out, segments=published, report=report, manifest=manifest_doc)


def _propose_sites(
    folder: Path, segments: gpd.GeoDataFrame, shelters: Any, zones: Any, *, k: int, radius_km: float
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any]]:
    """Solve the maximal covering problem on the scored segments and write its files into ``folder``."""
    existing = shelters_only(shelters) if shelters is not None and len(shelters) else None
    if "risk_class" in segments.columns:  # public mode nulls classes (Int64 with NA): suppressed = not high-risk
        segments = segments.assign(risk_class=segments["risk_class"].astype("float64"))
    siting = ShelterSiting.from_segments(segments, existing=existing, exclude=zones, radius_km=radius_km)
    result = siting.solve("mclp", k=k)
    write_site_files(result, folder)
    return sites_layers(result), {"parameters": result.params, "result": result_summary(result)}


def rerun(
    manifest: str | os.PathLike[str], out: str | os.PathLike[str], *, overwrite: bool = False,
    geomask_key: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Reproduce a run from its manifest: same inputs (checked by SHA-256), model, seeds and privacy mode.

    Parameters
    ----------
    manifest : path
        A ``manifest.json`` or a run folder holding one.
    out : path
        The new run folder.
    overwrite : bool, default False
        Replace an existing folder.
    geomask_key : path, optional
        The key file a geomasked run was made with: without it (or when the run drew from OS entropy) the masked
        points, and in public mode every number computed from them, come from a new draw; ``notes`` says so and
        lists which other outputs were reproduced.

    Returns
    -------
    RunResult

    Raises
    ------
    InputError
        When an input is missing or its bytes changed since the recorded run.
    """
    from ._atomic import refuse_inputs
    from ._data import data_path
    from ._errors import InputError
    from .io._manifest import check_rerun_manifest
    from .model import RiskModel

    doc = read_manifest(manifest)
    refuse_inputs(out, [manifest, *check_rerun_manifest(doc, manifest)])
    kwargs: dict[str, Any] = {}
    for rec in doc["inputs"]:
        role, path = rec["role"], rec["path"]
        if path.startswith(f"{EMBEDDED}:"):
            actual = data_path(path.split(":", 1)[1])
            value = None
            if role in ("zones", "shelters"):
                kwargs[f"embedded_{role}"] = True
        else:
            actual = Path(path)
            value = path
        if not actual.exists():
            msg = f"input {path!r} ({role}) recorded in the manifest no longer exists"
            raise InputError(msg, path=path)
        if sha256_file(actual) != rec["sha256"]:
            msg = f"input {path!r} ({role}) changed since the recorded run (SHA-256 differs); cannot reproduce"
            raise InputError(msg, path=path)
        kwargs[role] = value
        if role == "incidents":
            kwargs["incidents_format"] = rec.get("format", "auto")
        if role == "zones":
            kwargs["zones_format"] = rec.get("format", "auto")
    options = doc.get("options", {})
    geomask = doc["privacy"].get("geomask_m")
    result = run(
        out,
        model=RiskModel.from_dict(doc["model"]),
        privacy=doc["privacy"]["mode"],
        min_count=doc["privacy"]["min_count"],
        overwrite=overwrite,
        maps=options.get("maps", False),
        map_name=options.get("map_name", "map"),
        sites=options.get("sites", 0),
        sites_radius_km=options.get("sites_radius_km", DEFAULT_RADIUS_KM),
        geomask=tuple(geomask) if geomask else None,
        geomask_key=geomask_key,
        **kwargs,
    )
    from .manifest import compare_rerun

    folder = Path(manifest) if Path(manifest).is_dir() else Path(manifest).parent
    result.notes.extend(compare_rerun(doc, result.manifest, recorded_folder=folder, new_folder=result.out,
                                      key_given=geomask_key is not None))
    return result
