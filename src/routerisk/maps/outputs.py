"""The maps of a run folder: read its outputs (:func:`load_run`), write its HTML and print maps and its GeoTIFF
(:func:`write_run_maps`), and the footer facts they show (:func:`provenance_of`).

Named ``outputs`` (it was ``maps.run``, easily confused with :func:`routerisk.pipeline.run`); ``routerisk.maps.run``
still imports.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio

from .._errors import InputError
from ..attribution import BASEMAP
from ..manifest import MANIFEST_NAME, read_manifest
from ..model import REMOVED_KEYS, RiskModel
from ..privacy import DEFAULT_MIN_COUNT, is_masked, mask_points, publishable_shelters
from ..studyarea import area_grid
from ..surface import risk_surface, write_geotiff
from ._frames import public_frames
from .interactive import heatmap, save_html
from .layers import MapLayer, select_layers
from .static import save_static, static_map

__all__ = ["load_run", "model_from_manifest", "provenance_of", "publishable_shelters", "write_run_maps"]


def provenance_of(
    *, incidents: Any = None, model: Any = None, privacy: str = "internal", min_count: int = DEFAULT_MIN_COUNT,
    manifest: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Footer entries of a map: inputs, date range (months in public mode), model parameters, privacy mode.

    Examples
    --------
    >>> provenance_of(privacy="public")["privacy"]
    'public (min_count=5)'
    """
    out: dict[str, Any] = {}
    if manifest:
        inputs = manifest.get("inputs") or []
        out["inputs"] = [
            f"{i.get('role', '')}: {Path(str(i.get('path') or 'embedded')).name}" for i in inputs if isinstance(i, dict)
        ]
        if not out["inputs"]:  # a partial manifest (a run's maps get only its attribution): no empty entry
            del out["inputs"]
        data = manifest.get("data") or {}
        if data.get("incident_dates"):
            dates = [str(d) for d in data["incident_dates"]]
            out["date range"] = " to ".join(d[:7] if privacy == "public" else d for d in dates)
    if "date range" not in out and incidents is not None and "date" in incidents and len(incidents):
        d = pd.to_datetime(incidents["date"], errors="coerce").dropna()
        fmt = "%Y-%m" if privacy == "public" else "%Y-%m-%d"  # public: every published date cut to its month
        if len(d):
            out["date range"] = f"{d.min().strftime(fmt)} to {d.max().strftime(fmt)}"
    if incidents is not None:
        out["incidents"] = len(incidents)
    params = (manifest or {}).get("model") or (model.to_dict() if hasattr(model, "to_dict") else None)
    if params:
        keys = ("bandwidth_m", "kernel", "half_life_days", "segment_length_m", "reference_date", "window_start",
                "window_end", "incident_weight", "enforcement_weight", "classes")
        out["model"] = {k: params[k] for k in keys if k in params and params[k] is not None}
    out["privacy"] = f"{privacy} (min_count={int(min_count)})" if privacy == "public" else privacy
    if manifest and manifest.get("attribution"):  # the inputs' credits (the maps add the basemap's themselves)
        out["attribution"] = [str(a) for a in manifest["attribution"] if str(a) != BASEMAP]
    return out


def load_run(run: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a run folder's outputs for mapping.

    Returns
    -------
    dict
        ``segments`` (GeoDataFrame), ``incidents``, ``zones``, ``shelters`` (GeoDataFrame or None), ``surface``
        (``risk_surface.tif`` as ``(array, transform, crs)`` with NaN for nodata, or None), ``manifest`` (dict,
        empty when missing).

    Examples
    --------
    >>> load_run("/nonexistent")
    Traceback (most recent call last):
    ...
    routerisk._errors.InputError: run folder '/nonexistent' does not exist or is not a folder
    """
    run = Path(run)
    if not run.is_dir():
        msg = f"run folder {str(run)!r} does not exist or is not a folder"
        raise InputError(msg, path=str(run))
    out: dict[str, Any] = {}
    seg_gpkg, seg_parquet = run / "segments.gpkg", run / "segments.parquet"
    try:
        if seg_gpkg.exists():
            out["segments"] = gpd.read_file(seg_gpkg, layer="segments")
        elif seg_parquet.exists():
            out["segments"] = gpd.read_parquet(seg_parquet)
        else:
            msg = f"run folder {str(run)!r} holds no segments.gpkg or segments.parquet; is it a routerisk run?"
            raise InputError(msg, path=str(run))
        for key in ("incidents", "zones", "shelters"):
            path = run / f"{key}.gpkg"
            out[key] = gpd.read_file(path, layer=key) if path.exists() else None
        out["surface"] = _read_surface(run / "risk_surface.tif")
    except InputError:
        raise
    except Exception as exc:  # pyogrio/pyarrow raise many types for damaged files
        msg = f"cannot read the run folder {str(run)!r}: {exc}"
        raise InputError(msg, path=str(run)) from exc
    manifest = run / MANIFEST_NAME
    out["manifest"] = read_manifest(manifest) if manifest.exists() else {}
    return out


def _read_surface(path: Path) -> tuple[np.ndarray, Any, Any] | None:
    if not path.exists():
        return None
    with rasterio.open(path) as ds:
        arr = ds.read(1, masked=True).astype("float64").filled(np.nan)
        return arr, ds.transform, ds.crs.to_wkt()


def model_from_manifest(manifest: Mapping[str, Any]) -> RiskModel | None:
    """The :class:`routerisk.RiskModel` a run manifest records (None when it records none), to redraw its maps.

    A run written before the analytic intervals still redraws: its removed keys do not affect the maps.

    Examples
    --------
    >>> model_from_manifest({}) is None
    True
    >>> model_from_manifest({"model": {"bandwidth_m": 5000.0}}).bandwidth_m
    5000.0
    """
    params = manifest.get("model")
    if not params:
        return None
    return RiskModel.from_dict({k: v for k, v in params.items() if k not in REMOVED_KEYS})


def write_run_maps(
    out: str | os.PathLike[str],
    *,
    segments: Any,
    incidents: Any = None,
    zones: Any = None,
    shelters: Any = None,
    model: Any = None,
    privacy: str = "internal",
    min_count: int = DEFAULT_MIN_COUNT,
    name: str = "map",
    formats: Sequence[str] = ("html", "png", "pdf"),
    embed: bool = False,
    sites: Mapping[str, Any] | None = None,
    surface_tif: bool = True,
    manifest: Mapping[str, Any] | None = None,
    title: str = "Risk along migration routes",
    layers: Iterable[str] | Mapping[str, MapLayer] | str | None = None,
    cell_m: float = 1000.0,
    study_area: Any = None,
    detention: Any = None,
) -> list[Path]:
    """Write a run's maps into a folder: ``<name>.html`` (+ ``.embed.html``), ``.png``, ``.pdf``, ``risk_surface.tif``.

    In public mode every surface (the GeoTIFF, the HTML frames, the print map) is computed from one donut-masked
    copy of the incidents (masked here from OS entropy unless ``incidents`` already are, see
    :func:`routerisk.privacy.mask_points`) on the public grid (:data:`routerisk.maps._frames.PUBLIC_CELL_M`), with
    the frame rule of :func:`routerisk.maps._frames.public_frames`; the HTML holds no incident point and sensitive
    shelters appear at locality level only.

    Parameters
    ----------
    out : path
        Folder to write into (e.g. a run's temporary folder).
    segments, incidents, zones, shelters, model, privacy, min_count
        As for :func:`routerisk.maps.heatmap`.
    name : str
        File stem of the maps.
    formats : sequence of {"html", "png", "pdf", "svg"}
        Which maps to write.
    embed : bool
        Also write the ``<iframe srcdoc>`` snippet.
    surface_tif : bool
        Write ``risk_surface.tif``.
    manifest : mapping, optional
        A run manifest, for the footer and source line.
    title : str
        Map title.
    sites : mapping, optional
        Layers of a shelter-siting result (:func:`routerisk.siting.sites_layers`) to draw.
    layers : None, names or mapping, optional
        Which map layers both maps draw (:func:`routerisk.maps.layers.select_layers`); default every layer the
        privacy mode allows. The GeoTIFF is written whatever the selection.
    cell_m : float, default 1000
        Cell size of the (internal) risk surface in metres.
    study_area : GeoDataFrame, optional
        The run's study area (:mod:`routerisk.studyarea`): the internal surface covers its bounding box.
    detention : GeoDataFrame, optional
        Detention sites, drawn as the "detention" layer (:func:`routerisk.detention.load_detention`).

    Returns
    -------
    list of pathlib.Path
        The files written.

    Examples
    --------
    >>> import tempfile, pathlib, geopandas as gpd
    >>> from shapely import LineString
    >>> seg = gpd.GeoDataFrame({"risk_class": [2]}, geometry=[LineString([(-99, 19), (-98, 19.5)])], crs=4326)
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> [p.name for p in write_run_maps(out, segments=seg, formats=("html", "svg"))]
    ['map.html', 'map.svg']
    """
    select_layers(layers, privacy)  # an unknown or non-public layer fails before anything is computed
    out = Path(out)
    written: list[Path] = []
    if shelters is not None:
        shelters = publishable_shelters(shelters, privacy)
    public = privacy == "public"
    surface = None
    if public and incidents is not None and len(incidents):
        # one masked copy for the GeoTIFF, the HTML frames and the print map (a run passes the one it scored)
        if not is_masked(incidents):
            incidents = mask_points(incidents, crs=getattr(model, "crs", "auto"))
        try:
            frames, _, transform, crs = public_frames(incidents, model=model, min_count=min_count)
            surface = (frames[0], transform, crs)
        except InputError:  # no placed incident
            surface = None
    elif incidents is not None and len(incidents):
        try:
            surface = risk_surface(incidents, model=model, cell_m=cell_m, **area_grid(study_area, model, cell_m))
        except InputError:  # no placed incident
            surface = None
    if surface is not None and surface_tif:
        tags = {"privacy": privacy, "min_count": min_count if public else "", "units": "weighted incidents per km2"}
        if hasattr(model, "to_dict"):
            tags["model"] = json.dumps(model.to_dict(), default=str)
        written.append(write_geotiff(out / "risk_surface.tif", *surface, tags=tags))
        from ..qgis import write_raster_style  # function-level: qgis imports this package's colours

        # risk_surface.qml: the heat ramp in QGIS, its top from the array just written (not read back)
        written.append(write_raster_style(out / "risk_surface.tif", surface=surface[0]))
    prov = provenance_of(incidents=incidents, model=model, privacy=privacy, min_count=min_count, manifest=manifest)
    if "html" in formats:
        m = heatmap(
            segments, incidents=incidents, zones=zones, shelters=shelters, privacy=privacy, min_count=min_count,
            model=model, title=title, provenance=prov, sites=sites, layers=layers, detention=detention,
        )
        written.extend(save_html(m, out / f"{name}.html", embed_snippet=embed))
    static = [f for f in formats if f != "html"]
    if static:
        source = {k: v for k, v in prov.items() if k in ("attribution", "inputs", "date range", "incidents")}
        fig = static_map(
            segments, incidents=incidents, zones=zones, shelters=shelters, surface=surface, privacy=privacy,
            min_count=min_count, model=model, title=title, source=source or None, sites=sites, layers=layers,
            detention=detention,
        )
        surface = None  # the figure holds what it draws: free the float64 grid before the page buffers exist
        for fmt in static:
            written.append(save_static(fig, out / f"{name}.{fmt}", fmt=fmt))
    return written
