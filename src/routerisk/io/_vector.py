"""Vector files (GeoJSON, GeoPackage, Shapefile, FlatGeobuf through pyogrio; GeoParquet through pyarrow).

Every layer leaves here in EPSG:4326. A layer without a CRS (a shapefile without ``.prj``) is taken as
EPSG:4326 only when all its coordinates lie within longitude/latitude range, and the report notes it; otherwise
it cannot be used.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import InputError
from .._validate import ValidationReport
from ..schema import WGS84
from ._tables import _Rows

VECTOR_EXTENSIONS = (".geojson", ".json", ".gpkg", ".parquet", ".geoparquet", ".shp", ".fgb", ".geojsonl")


def is_vector(path: Path) -> bool:
    """Whether the file name has a vector-format extension."""
    return path.suffix.lower() in VECTOR_EXTENSIONS


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_vector(
    path: Path, report: ValidationReport, file: str, *, layer: str | int | None, kind: str
) -> tuple[gpd.GeoDataFrame, _Rows]:
    """Read a vector layer into EPSG:4326, rows numbered from 1. Unusable files raise :class:`InputError`."""
    if not path.exists():
        msg = f"input file {file!r} does not exist"
        raise InputError(msg, path=file)
    if path.is_dir():
        msg = f"input {file!r} is a folder, expected a file"
        raise InputError(msg, path=file)
    if path.stat().st_size == 0:
        msg = f"input file {file!r} is empty"
        raise InputError(msg, path=file)
    ext = path.suffix.lower()
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if ext in (".parquet", ".geoparquet"):
            gdf = _read_parquet(path, file)
        else:
            gdf = _read_ogr(path, file, layer=layer, kind=kind)
    notes.extend(_one_line(w.message) for w in caught if not issubclass(w.category, DeprecationWarning))
    n = len(gdf)
    if n == 0:
        msg = f"{file!r} has no features"
        raise InputError(msg, path=file)
    rows = _Rows(file, report, np.arange(1, n + 1, dtype="int64"))
    for text in dict.fromkeys(notes):
        rows.note_file(f"while reading: {text}", action="noted")
    gdf = _to_wgs84(gdf, rows, file, ext)
    return gdf.reset_index(drop=True), rows


def _read_parquet(path: Path, file: str) -> gpd.GeoDataFrame:
    try:
        return gpd.read_parquet(path)
    except ValueError as exc:
        msg = f"{file!r} is not a GeoParquet file with a geometry column: {_one_line(exc)}"
        raise InputError(msg, path=file) from None
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for broken files
        msg = f"cannot read {file!r} as GeoParquet: {_one_line(exc)}"
        raise InputError(msg, path=file) from None


def _read_ogr(path: Path, file: str, *, layer: str | int | None, kind: str) -> gpd.GeoDataFrame:
    # lazy: pyogrio (GDAL) is loaded only for OGR files: 0.05 s on top of geopandas, CSV-only runs skip it
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    try:
        layers = pyogrio.list_layers(path)
        layers = layers[layers[:, 0] != "layer_styles"]  # QGIS's style table (routerisk.qgis) is not data
        if layer is None and len(layers) > 1:
            names = [str(x) for x in layers[:, 0]]
            match = [x for x in names if x.lower() == kind or x.lower().startswith(kind.rstrip("s"))]
            if not match:
                msg = f"{file!r} has {len(names)} layers ({', '.join(names)}); choose one with `layer=`"
                raise InputError(msg, path=file)
            layer = match[0]
        return pyogrio.read_dataframe(path, layer=layer)
    except InputError:
        raise
    except (DataSourceError, DataLayerError) as exc:
        msg = f"cannot read {file!r} as a vector file: {_one_line(exc)}"
        raise InputError(msg, path=file) from None
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        msg = f"cannot read {file!r}: {_one_line(exc)}"
        raise InputError(msg, path=file) from None


def _lonlat_extent(gdf: gpd.GeoDataFrame) -> tuple[bool, bool]:
    """(all coordinates within longitude/latitude range, none is): both True when there is no geometry."""
    geoms = gdf.geometry.values
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    b = shapely.bounds(geoms[present]) if present.any() else np.zeros((0, 4))
    b = b[np.isfinite(b).all(axis=1)]  # rows with non-finite coordinates are rejected later, one by one
    if b.size == 0:
        return True, True
    with np.errstate(invalid="ignore"):
        inside = (b[:, 0] >= -180) & (b[:, 2] <= 180) & (b[:, 1] >= -90) & (b[:, 3] <= 90)
    return bool(inside.all()), bool(not inside.any())


def _check_declared_crs(gdf: gpd.GeoDataFrame, file: str) -> None:
    """Refuse a layer whose declared CRS contradicts its coordinates: a projected CRS (metres) with every
    coordinate within longitude/latitude range, or a geographic CRS (degrees) with none within it. Reprojecting
    either would put every feature somewhere else (lon/lat read as metres from a projection's origin lands in the
    Gulf of Guinea or the Pacific)."""
    crs = gdf.crs
    all_in, none_in = _lonlat_extent(gdf)
    if all_in and none_in:
        return
    name = crs.to_string()
    if crs.is_projected and all_in:
        msg = (
            f"{file!r} declares the projected CRS {name} (metres), but every coordinate lies within "
            "longitude/latitude range (degrees); fix or remove its CRS (GeoJSON: the `crs` member) rather than "
            "let it be reprojected to the wrong place"
        )
        raise InputError(msg, path=file)
    if crs.is_geographic and none_in:
        msg = (
            f"{file!r} declares the geographic CRS {name} (degrees), but no coordinate lies within "
            "longitude/latitude range: they look projected (metres); declare the CRS they are in"
        )
        raise InputError(msg, path=file)


def _to_wgs84(gdf: gpd.GeoDataFrame, rows: _Rows, file: str, ext: str) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        lonlat, _ = _lonlat_extent(gdf)
        what = "no .prj file" if ext == ".shp" else "no coordinate reference system"
        if not lonlat:
            msg = (
                f"{file!r} has {what} and its coordinates are not longitude/latitude; add the CRS "
                f"(a .prj file) or reproject it to EPSG:4326"
            )
            raise InputError(msg, path=file)
        rows.note_file(f"{what}; coordinates are within longitude/latitude range, so EPSG:4326 assumed", "assumed")
        return gdf.set_crs(WGS84)
    _check_declared_crs(gdf, file)
    if gdf.crs.equals(WGS84) or gdf.crs.to_epsg() == 4326:
        if gdf.crs.to_epsg() != 4326 or not gdf.crs.equals(WGS84):
            return gdf.set_crs(WGS84, allow_override=True)
        return gdf
    try:
        out = gdf.to_crs(WGS84)
    except Exception as exc:  # pyproj CRSError / ProjError
        msg = f"cannot reproject {file!r} from {gdf.crs.to_string()} to EPSG:4326: {_one_line(exc)}"
        raise InputError(msg, path=file) from None
    rows.note_file(f"reprojected from {gdf.crs.to_string()} to EPSG:4326", "reprojected")
    return out


_TYPE_NAMES = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
                        "MultiPolygon", "GeometryCollection", "missing"], dtype=object)  # fmt: skip


def type_names(geoms: np.ndarray) -> np.ndarray:
    """Geometry type name of each geometry (``"missing"`` for None)."""
    return _TYPE_NAMES[shapely.get_type_id(geoms)]  # id -1 (missing) takes the last name


def attributes(gdf: gpd.GeoDataFrame) -> pd.DataFrame:
    """The non-geometry columns of a layer, as a plain DataFrame."""
    return pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
