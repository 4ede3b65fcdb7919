"""The steps of :func:`routerisk.pipeline.run`: read the inputs, score, write the tables, make the manifest.

Kept apart so that ``run`` reads as the sequence of its steps (and the call that draws the maps stays in one place
there); nothing here is public but ``RANKED_COLUMNS`` and ``rank_segments``, re-exported by the pipeline.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any, NamedTuple

import geopandas as gpd
import pandas as pd
import pyarrow as pa
import shapely
from pyogrio.raw import write_arrow

from . import datasets, io
from ._budget import check_pairs
from ._nearest import nearest_locality
from ._paths import data_dir, data_path
from ._sinks import write_csv
from ._validate import ValidationReport
from .bandwidth import bandwidth_sensitivity, resolve_bandwidth
from .detention import DETENTION_FILE, detention_exposure, load_detention, read_detention
from .manifest import sha256_file
from .perpetrators import PERPETRATOR_COLUMNS, exposure_by_perpetrator
from .privacy import (
    disclosure_record,
    donut_mask,
    month_dates_in,
    public_report,
    publishable_shelters,
    published_date_range,
)
from .schema import WGS84
from .scoring import score_segments

__all__ = ["DEFAULT_FILES", "EMBEDDED", "RANKED_COLUMNS", "rank_segments"]


#: Columns of ``segments_ranked.csv``, in order.
RANKED_COLUMNS = (
    "rank",
    "segment_id",
    "route_id",
    "route_name",
    "km_from",
    "km_to",
    "state_name",
    "nearest_locality",
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
    "detention_exposure",
)

EMBEDDED = "embedded"
#: The embedded layer each role loads when no file is given (``embedded:<name>`` in a manifest; any other embedded
#: file, such as the real demo's IOM records, is read as a file).
DEFAULT_FILES = {
    "incidents": "incidents_synthetic.csv",
    "routes": "corridors.csv",
    "zones": datasets.ZONES_FILE,
    "shelters": "shelters.csv",
    "detention": DETENTION_FILE,
}


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
    df["nearest_locality"] = nearest_locality(segments).to_numpy()  # "Name, State" nearest the segment's midpoint
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
        rec["path"] = f"{EMBEDDED}:{key.split(':', 1)[1]}"
        rec["sha256"] = sha256_file(data_path(key.split(":", 1)[1]))
    else:
        # a file of routerisk's own data folder (the real demo's) is named as embedded: the manifest then holds no
        # path of this machine, and a rerun on another install finds the same file in its own package
        inside = _embedded_name(path)
        rec["path"] = f"{EMBEDDED}:{inside}" if inside else str(Path(path).absolute())
        rec["sha256"] = sha256_file(path)
    return rec


def _embedded_name(path: str | os.PathLike[str]) -> str | None:
    """The name of ``path`` when it is a file of routerisk's data folder itself, else None."""
    resolved = Path(path).resolve()
    return resolved.name if resolved.parent == data_dir().resolve() else None


def _load(role: str, path: str | os.PathLike[str] | None, fmt: str, report: ValidationReport) -> Any:
    """Read one input, or the embedded default when ``path`` is None; return (layer, report key)."""

    if path is None:
        loader = {
            "incidents": datasets.load_incidents,
            "routes": datasets.load_corridors,
            "zones": datasets.load_zones,
            "shelters": datasets.load_shelters,
            "detention": load_detention,
        }[role]
        name = DEFAULT_FILES[role]
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
    elif role == "detention":  # a small list: a bad row stops the run with file, row and reason
        layer = read_detention(path)
        report.count(path, read=len(layer), kept=len(layer))
    else:
        layer = io.read_shelters(path, report=report)
    return layer, path


#: Incidents written to ``incidents.gpkg`` at a time (Points are built per batch, not for the whole layer).
_GPKG_BATCH = 500_000


def _with_geometry(inc: pd.DataFrame) -> gpd.GeoDataFrame:
    """The incidents as a GeoDataFrame: a lon/lat table (``read_incidents(..., geometry=False)``) gets Points."""
    if isinstance(inc, gpd.GeoDataFrame):
        return inc

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


class _Inputs(NamedTuple):
    inc: Any
    rts: Any
    zns: Any
    shl: Any
    records: list[tuple[tuple[str, Any, str], str]]  # (role, path, format), key: recorded after the run
    det: Any = None  # detention sites (routerisk.detention), when given


def _load_inputs(report: ValidationReport, *, incidents, routes, zones, shelters, embedded_zones: bool,
                 embedded_shelters: bool, incidents_format: str, zones_format: str, detention=None,
                 embedded_detention: bool = False) -> _Inputs:  # fmt: skip
    """Read and validate the four layers (and what their manifest records will be made of)."""
    inc, inc_key = _load("incidents", incidents, incidents_format, report)
    rts, rts_key = _load("routes", routes, "auto", report)
    zns = zns_key = shl = shl_key = None
    if zones is not None or embedded_zones:
        zns, zns_key = _load("zones", zones, zones_format, report)
    if shelters is not None or embedded_shelters:
        shl, shl_key = _load("shelters", shelters, "auto", report)
    records = [(("incidents", incidents, incidents_format), inc_key), (("routes", routes, "auto"), rts_key)]
    if zns_key is not None:
        records.append((("zones", zones, zones_format), zns_key))
    if shl_key is not None:
        records.append((("shelters", shelters, "auto"), shl_key))
    det = None
    if detention is not None or embedded_detention:
        det, det_key = _load("detention", detention, "auto", report)
        records.append((("detention", detention, "auto"), det_key))
    return _Inputs(inc, rts, zns, shl, records, det)


class _Scored(NamedTuple):
    scored: gpd.GeoDataFrame
    sensitivity: pd.DataFrame
    details: dict[str, Any]
    bw_selection: Any


def _score(segments, data: _Inputs, masked_inc, model, *, privacy: str, bandwidth: str | None):
    """Bandwidth (``auto``: selected), scores and the sensitivity table; public mode scores the masked copy."""
    scoring_inc = masked_inc if privacy == "public" else data.inc
    bw_selection = None
    if bandwidth == "auto":
        model, bw_selection = resolve_bandwidth(model, scoring_inc, auto=True)
        check_pairs(segments, data.inc, model)
    scored = score_segments(segments, scoring_inc, zones=data.zns, model=model)
    if data.det is not None:  # beside the risk, never added to it (routerisk.detention)
        scored["detention_exposure"] = detention_exposure(segments, data.det)
    if privacy != "public":  # incident_exposure split by perpetrator (routerisk.perpetrators); small classes leak
        scored[list(PERPETRATOR_COLUMNS)] = exposure_by_perpetrator(segments, scoring_inc, model).to_numpy()
    sensitivity = bandwidth_sensitivity(segments, scoring_inc, model=model)
    details = {k: v for k, v in scored.attrs.get("routerisk", {}).items() if k != "model"}
    if privacy == "public":  # every date the manifest records cut to its month
        details = month_dates_in(details)
    scored.attrs = {}
    return model, _Scored(scored, sensitivity, details, bw_selection)


def _write_tables(tmp: Path, published, sensitivity, data: _Inputs, report: ValidationReport, *, privacy: str,
                  maps: bool, masked_inc, geomask, key):  # fmt: skip
    """Write the tables and layers of the run; return the incident Points the maps draw (None without maps)."""
    published.to_file(tmp / "segments.gpkg", layer="segments", driver="GPKG")
    published.to_parquet(tmp / "segments.parquet")
    write_csv(rank_segments(published), tmp / "segments_ranked.csv")  # every CSV via routerisk._sinks
    write_csv(sensitivity, tmp / "sensitivity.csv")
    if data.zns is not None:
        data.zns.to_file(tmp / "zones.gpkg", layer="zones", driver="GPKG")
    if data.shl is not None:
        publishable_shelters(data.shl, privacy).to_file(tmp / "shelters.gpkg", layer="shelters", driver="GPKG")
    if data.det is not None:  # city-level public reporting: the same in both privacy modes
        data.det.to_crs("EPSG:4326").to_file(tmp / "detention.gpkg", layer="detention", driver="GPKG")
    inc_points = None
    if maps:  # Points only where something draws them; public maps draw the masked copy
        inc_points = _with_geometry(masked_inc if privacy == "public" else data.inc)
        if privacy == "public":
            inc_points.attrs = dict(masked_inc.attrs)
    if geomask is not None:
        masked = donut_mask(masked_inc, key=key)
        masked.to_file(tmp / "incidents_geomasked.gpkg", layer="incidents_geomasked", driver="GPKG")
    if privacy == "internal":
        _write_incidents(data.inc, tmp / "incidents.gpkg")
    rejected = report.rejected
    if len(rejected):
        write_csv(public_report(rejected) if privacy == "public" else rejected, tmp / "rejected_rows.csv")
    if privacy == "internal" and len(report.notes):
        write_csv(report.notes, tmp / "input_notes.csv")
    return inc_points


def _manifest_content(
    data: _Inputs, report: ValidationReport, published, sc: _Scored, model, masked_inc, *,
    command, privacy: str, min_count: int, geomask, site_facts, options,
) -> dict[str, Any]:  # fmt: skip
    """The manifest's content (inputs recorded now, with the counts the whole run left in ``report``)."""
    inc, zns = data.inc, data.zns
    dates = inc["date"].dropna()
    return {
        "command": command if command is not None else shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "inputs": [_input_record(*args, report, key) for args, key in data.records],
        "model": model.to_dict(),
        "score": sc.details,
        "bandwidth_selection": None if sc.bw_selection is None else sc.bw_selection.to_dict(),
        "sensitivity": sc.sensitivity.to_dict(orient="records"),
        "privacy": {"mode": privacy, "min_count": int(min_count),
                    "geomask_m": None if geomask is None else [float(v) for v in geomask]},
        "disclosure": disclosure_record(privacy, masked_inc, min_count),
        "options": options,
        "sites": site_facts,
        "crs": {"published": str(published.crs), "analysis": sc.details.get("analysis_crs")},
        "data": {
            "synthetic_incidents": bool(inc["synthetic"].any()) if len(inc) else False,
            "illustrative_zones": bool(zns["illustrative"].any()) if zns is not None and len(zns) else False,
            "incidents": len(inc),
            "incident_dates": published_date_range(dates, privacy),
            "segments": len(published),
            "suppressed_segments": int(published["suppressed"].sum()) if privacy == "public" else 0,
            "rejected_rows": report.n_rejected,
        },
    }  # fmt: skip


