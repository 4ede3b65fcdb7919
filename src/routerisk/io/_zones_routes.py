"""Zones, routes and shelters: geometry checks and attributes into the canonical layers."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import InputError
from ..crs import analysis_crs
from ..schema import AGENCIES, MODES, ROUTE_COLUMNS, SHELTER_COLUMNS, WGS84, ZONE_COLUMNS, ZONE_KINDS
from . import _vocab as vocab
from ._dates import parse_dates
from ._fields import COORDS_ALIASES, LAT_ALIASES, LON_ALIASES, POLE_REASON, map_labels, parse_bool, parse_number
from ._incidents import as_str, coords_from_table, fill_ids, no_rows_error, reject_duplicates
from ._tables import _Rows, find_column, text_col
from ._vector import type_names

SHELTER_KINDS = ("shelter", "asylum_office", "other")
#: Largest radius of a point zone, in metres (a larger buffer covers a continent, and infinity cannot be drawn).
MAX_RADIUS_M = 1_000_000.0
RADIUS_ALIASES = ("radius_m", "radio_m", "radius", "radio", "buffer_m", "radius_meters")
INTENSITY_ALIASES = ("intensity", "intensidad", "personnel", "personal", "efectivos", "despliegue", "weight", "peso")
START_ALIASES = ("start_date", "fecha_inicio", "inicio", "start", "desde", "date_from", "valid_from")
END_ALIASES = ("end_date", "fecha_fin", "fin", "end", "hasta", "date_to", "valid_to")
SEQ_ALIASES = ("seq", "order", "orden", "sequence", "secuencia", "vertex", "n")


def geometry_from_table(rows: _Rows, df: pd.DataFrame, file: str) -> np.ndarray:
    """Geometries of a table: a WKT column when there is one, else points from latitude/longitude columns."""
    wkt_col = find_column(df.columns, vocab.WKT_ALIASES)
    if wkt_col is None:
        lon, lat, _ = coords_from_table(rows, df, file)
        return shapely.points(lon, lat)
    text = text_col(df, wkt_col)
    with np.errstate(all="ignore"):  # e.g. "1e400" overflows: not WKT, rejected below
        geoms = shapely.from_wkt(text.to_numpy(dtype=object), on_invalid="ignore")
    bad = shapely.is_missing(geoms) & (text != "").to_numpy()
    rows.reject(bad, wkt_col, "not valid WKT geometry", text)
    return geoms


def check_geometries(rows: _Rows, geoms: np.ndarray, column: str = "geometry") -> None:
    """Reject missing or empty geometries and coordinates outside longitude/latitude range."""
    missing = (shapely.is_missing(geoms) | shapely.is_empty(geoms)) & ~rows.bad
    rows.reject(missing, column, "missing or empty geometry")
    b = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        out = ~missing & ~rows.bad & (
            ~np.isfinite(b).all(axis=1) | (b[:, 0] < -180) | (b[:, 2] > 180) | (b[:, 1] < -90) | (b[:, 3] > 90)
        )
    reason = "coordinate out of range (latitude -90..90, longitude -180..180)"
    if out.any():
        rows.reject(out, column, reason, shapely.to_wkt(geoms, rounding_precision=6))
    with np.errstate(invalid="ignore"):
        pole = ~missing & ~rows.bad & ((b[:, 1] <= -90) | (b[:, 3] >= 90))
    if pole.any():
        rows.reject(pole, column, POLE_REASON, shapely.to_wkt(geoms, rounding_precision=6))


def _text(df: pd.DataFrame, aliases: tuple[str, ...]) -> pd.Series:
    return text_col(df, find_column(df.columns, aliases))


def _ids(rows: _Rows, df: pd.DataFrame, kind: str, stem: str) -> np.ndarray:
    id_col = find_column(df.columns, vocab.ID_ALIASES[kind])
    ids, blank = fill_ids(rows, text_col(df, id_col), stem)
    if id_col is not None:
        rows.note(blank, id_col, "id missing; generated as '<file stem>-<row>'", ids, "generated")
    reject_duplicates(rows, ids, id_col or vocab.ID_ALIASES[kind][0])
    return ids.to_numpy(dtype=object)


def _frame(columns: tuple[str, ...], data: dict, geoms: np.ndarray) -> gpd.GeoDataFrame:
    df = pd.DataFrame({c: data[c] for c in columns})
    for c in columns:
        typed = pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_datetime64_any_dtype(df[c])
        if df[c].dtype != bool and not typed:
            df[c] = as_str(df[c].to_numpy(dtype=object))
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=WGS84).values, crs=WGS84)


# ------------------------------------------------------------------------------------------------ zones


def build_zones(rows: _Rows, df: pd.DataFrame, geoms: np.ndarray, *, file: str, stem: str) -> gpd.GeoDataFrame:
    """Canonical zones: polygons kept (invalid ones repaired), points buffered by ``radius_m``."""
    n = len(rows)
    geoms = np.asarray(geoms, dtype=object).copy()
    check_geometries(rows, geoms)
    ok = ~rows.bad
    gtype = shapely.get_type_id(geoms)
    point = ok & np.isin(gtype, (0, 4))  # Point, MultiPoint
    poly = ok & np.isin(gtype, (3, 6))  # Polygon, MultiPolygon
    rows.reject(ok & ~point & ~poly, "geometry", "zone geometry must be a polygon, or a point with radius_m",
                type_names(geoms))  # fmt: skip
    # points: buffered by radius_m in the analysis CRS
    r_col = find_column(df.columns, RADIUS_ALIASES)
    if point.any():
        if r_col is None:
            rows.reject(point, "radius_m", "point zone without radius_m (a point needs a radius in metres)")
        else:
            radius, _ = parse_number(rows, df[r_col], r_col)
            with np.errstate(invalid="ignore"):
                no_r = point & ~rows.bad & ~(radius > 0)
            rows.reject(no_r, r_col, "point zone without radius_m (a point needs a radius > 0 in metres)", radius)
            with np.errstate(invalid="ignore"):
                huge = point & ~rows.bad & ~(radius <= MAX_RADIUS_M)
            rows.reject(huge, r_col, f"radius_m above {MAX_RADIUS_M / 1000:,.0f} km (or infinite)", radius)
            todo = point & ~rows.bad
            if todo.any():
                pts = gpd.GeoSeries(geoms[todo], crs=WGS84)
                crs = analysis_crs(tuple(pts.total_bounds))
                buf = pts.to_crs(crs).buffer(radius[todo], quad_segs=16).to_crs(WGS84)
                geoms[todo] = buf.values
    # polygons: repair invalid ones
    invalid = poly & ~shapely.is_valid(geoms)
    if invalid.any():
        reasons = shapely.is_valid_reason(geoms[invalid])
        for i, g in zip(np.flatnonzero(invalid), shapely.make_valid(geoms[invalid]), strict=True):
            polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
            geoms[i] = shapely.union_all(polys) if polys else None
        empty = invalid & (shapely.is_missing(geoms) | shapely.is_empty(geoms))
        rows.reject(empty, "geometry", "invalid polygon with no area left after repair", None)
        rows.note(invalid & ~empty, "geometry", "invalid polygon repaired with make_valid",
                  _expand(invalid, reasons, n), "repaired")  # fmt: skip
    ids = _ids(rows, df, "zones", stem)
    col = lambda aliases: find_column(df.columns, aliases)  # noqa: E731
    agency, _ = map_labels(
        rows, _text(df, ("agency", "agencia", "dependencia", "institution", "institucion", "corporacion")), "agency",
        allowed=AGENCIES, synonyms=vocab.AGENCY_SYNONYMS, keywords=vocab.AGENCY_KEYWORDS, default="other",
        note_unknown="agency not recognised; kept as 'other'",
    )  # fmt: skip
    default_kind = np.where(point, "checkpoint", "deployment").astype(object)
    kind, unknown = map_labels(
        rows, _text(df, ("kind", "tipo", "type", "zone_kind")), "kind", allowed=ZONE_KINDS,
        synonyms=vocab.ZONE_KIND_SYNONYMS, keywords=vocab.ZONE_KIND_KEYWORDS, default="", missing="",
    )  # fmt: skip
    reason = "kind not recognised; 'checkpoint' for points, 'deployment' for polygons"
    rows.note(unknown, "kind", reason, None, "mapped")
    kind = np.where(kind == "", default_kind, kind).astype(object)
    start = _dates(rows, df, col(START_ALIASES))
    end = _dates(rows, df, col(END_ALIASES))
    with np.errstate(invalid="ignore"):
        rows.reject((end < start).to_numpy(dtype=bool), "end_date", "end_date before start_date", end.astype(str))
    i_col = col(INTENSITY_ALIASES)
    if i_col is not None:
        intensity, missing = parse_number(rows, df[i_col], i_col)
        with np.errstate(invalid="ignore"):
            bad_i = (intensity < 0) | np.isinf(intensity)
        rows.reject(bad_i, i_col, "intensity must be a finite number >= 0", intensity)
        rows.note(missing, i_col, "intensity missing; 1.0 used", None, "defaulted")
        intensity = np.where(np.isfinite(intensity), intensity, 1.0)
    else:
        intensity = np.ones(n)
    ill_col = col(vocab.ILLUSTRATIVE_ALIASES)
    illustrative = parse_bool(rows, None if ill_col is None else df[ill_col], "illustrative", default=False, n=n)
    keep = rows.finish()
    if not keep.any():
        raise no_rows_error(rows, file)
    data = {
        "zone_id": ids[keep], "name": _text(df, vocab.NAME_ALIASES).to_numpy(dtype=object)[keep],
        "agency": agency[keep], "kind": kind[keep], "start_date": start[keep].astype("datetime64[ns]"),
        "end_date": end[keep].astype("datetime64[ns]"), "intensity": intensity[keep].astype("float64"),
        "illustrative": illustrative[keep],
    }  # fmt: skip
    return _frame(ZONE_COLUMNS, data, geoms[keep])


def _dates(rows: _Rows, df: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(pd.NaT, index=range(len(df)), dtype="datetime64[ns]")
    out, _ = parse_dates(rows, df[column], column, allow_future=True, missing_note=None)
    return out.reset_index(drop=True)


def _expand(mask: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    full = np.empty(n, dtype=object)
    full[mask] = values
    return full


# ------------------------------------------------------------------------------------------------ routes


def routes_from_vertices(
    rows: _Rows, df: pd.DataFrame, file: str
) -> tuple[pd.DataFrame, np.ndarray, _Rows, pd.Series]:
    """Lines from a table of vertices (route id + coordinates, optional order column).

    Returns the attributes of each route (from its first row), the lines, a row tracker numbering each route
    by its first row, and the number of vertices per route id.
    """
    id_col = find_column(df.columns, vocab.ID_ALIASES["routes"])
    if id_col is None:
        msg = f"{file!r} has points but no route_id column to join them into routes (or give a WKT geometry column)"
        raise InputError(msg, path=file)
    lon, lat, _ = coords_from_table(rows, df, file)
    rid = text_col(df, id_col).to_numpy(dtype=object)
    rows.reject(rid == "", id_col, "vertex without route_id")
    seq_col = find_column(df.columns, SEQ_ALIASES)
    seq = parse_number(rows, df[seq_col], seq_col)[0] if seq_col else np.arange(len(df), dtype="float64")
    good = rows.finish()
    if not good.any():
        raise no_rows_error(rows, file)
    frame = pd.DataFrame({"rid": rid, "seq": seq, "row": rows.rows, "pos": np.arange(len(df))})[good]
    frame = frame.sort_values(["rid", "seq", "row"], kind="stable")
    codes, uniq = pd.factorize(frame["rid"])
    counts = np.bincount(codes)
    firsts = frame.sort_values("row").drop_duplicates("rid").set_index("rid").loc[uniq]
    pos = frame["pos"].to_numpy()
    xy = np.column_stack([lon[pos], lat[pos]])
    lines = np.empty(len(uniq), dtype=object)
    ok = counts >= 2
    if ok.any():
        sel = np.repeat(ok, counts)
        lines[ok] = shapely.linestrings(xy[sel], indices=pd.factorize(codes[sel])[0])
    if (~ok).any():  # one vertex: a zero-length line, rejected with that reason downstream
        single = xy[np.repeat(~ok, counts)]
        lines[~ok] = shapely.linestrings(np.stack([single, single], axis=1))
    attrs = df.iloc[firsts["pos"].to_numpy()].reset_index(drop=True)
    route_rows = _Rows(file, rows.report, firsts["row"].to_numpy())
    return attrs, lines, route_rows, pd.Series(counts, index=uniq)


def build_routes(rows: _Rows, df: pd.DataFrame, geoms: np.ndarray, *, file: str, stem: str) -> gpd.GeoDataFrame:
    """Canonical routes: lines only; missing, empty and zero-length geometries rejected."""
    n = len(rows)
    geoms = np.asarray(geoms, dtype=object)
    check_geometries(rows, geoms)
    ok = ~rows.bad
    line = np.isin(shapely.get_type_id(geoms), (1, 5))
    rows.reject(ok & ~line, "geometry", "route geometry must be a LineString or MultiLineString",
                type_names(geoms))  # fmt: skip
    with np.errstate(invalid="ignore"):
        zero = ~rows.bad & ~(shapely.length(geoms) > 0)
    rows.reject(zero, "geometry", "zero-length route (all its points coincide)")
    ids = _ids(rows, df, "routes", stem)
    mode, _ = map_labels(
        rows, _text(df, ("mode", "modo", "medio", "transport", "transporte")), "mode", allowed=MODES,
        synonyms=vocab.MODE_SYNONYMS, keywords=vocab.MODE_KEYWORDS, default="mixed",
        note_unknown="mode not recognised; kept as 'mixed'",
    )  # fmt: skip
    ill_col = find_column(df.columns, vocab.ILLUSTRATIVE_ALIASES)
    illustrative = parse_bool(rows, None if ill_col is None else df[ill_col], "illustrative", default=False, n=n)
    keep = rows.finish()
    if not keep.any():
        raise no_rows_error(rows, file)
    data = {"route_id": ids[keep], "name": _text(df, vocab.NAME_ALIASES).to_numpy(dtype=object)[keep],
            "mode": mode[keep], "illustrative": illustrative[keep]}  # fmt: skip
    return _frame(ROUTE_COLUMNS, data, geoms[keep])


# ------------------------------------------------------------------------------------------------ shelters


def build_shelters(rows: _Rows, df: pd.DataFrame, geoms: np.ndarray, *, file: str, stem: str) -> gpd.GeoDataFrame:
    """Canonical shelters and asylum offices: points."""
    n = len(rows)
    geoms = np.asarray(geoms, dtype=object)
    check_geometries(rows, geoms)
    gtype = shapely.get_type_id(geoms)
    single_multi = (gtype == 4) & (shapely.get_num_geometries(geoms) == 1)
    if single_multi.any():
        geoms = geoms.copy()
        geoms[single_multi] = shapely.get_geometry(geoms[single_multi], 0)
        gtype = shapely.get_type_id(geoms)
    rows.reject(~rows.bad & (gtype != 0), "geometry", "shelter geometry must be a point", type_names(geoms))
    ids = _ids(rows, df, "shelters", stem)
    kind, _ = map_labels(
        rows, _text(df, ("kind", "tipo", "type")), "kind", allowed=SHELTER_KINDS, synonyms=vocab.SHELTER_KIND_SYNONYMS,
        keywords=vocab.SHELTER_KIND_KEYWORDS, default="other", missing="shelter",
        note_unknown="kind not recognised; kept as 'other'",
    )  # fmt: skip
    col = lambda aliases: find_column(df.columns, aliases)  # noqa: E731
    sens_col, ill_col = col(("sensitive", "sensible", "confidencial")), col(vocab.ILLUSTRATIVE_ALIASES)
    sensitive = parse_bool(rows, None if sens_col is None else df[sens_col], "sensitive", default=False, n=n)
    illustrative = parse_bool(rows, None if ill_col is None else df[ill_col], "illustrative", default=False, n=n)
    keep = rows.finish()
    if not keep.any():
        raise no_rows_error(rows, file)
    data = {
        "shelter_id": ids[keep], "name": _text(df, vocab.NAME_ALIASES).to_numpy(dtype=object)[keep], "kind": kind[keep],
        "locality": _text(df, ("locality", "localidad", "city", "ciudad", "municipio", "municipality")).to_numpy(
            dtype=object)[keep],
        "state": _text(df, ("state", "estado", "entidad", "state_name")).to_numpy(dtype=object)[keep],
        "sensitive": sensitive[keep], "illustrative": illustrative[keep],
    }  # fmt: skip
    return _frame(SHELTER_COLUMNS, data, geoms[keep])


def has_coordinates(df: pd.DataFrame) -> bool:
    """Whether a table has latitude/longitude columns or a combined coordinates column."""
    cols = df.columns
    return (find_column(cols, LAT_ALIASES) is not None and find_column(cols, LON_ALIASES) is not None) or (
        find_column(cols, COORDS_ALIASES) is not None
    )


def require_geometry_source(df: pd.DataFrame, file: str) -> None:
    """Raise when a table has neither a WKT column nor coordinates."""
    if find_column(df.columns, vocab.WKT_ALIASES) is None and not has_coordinates(df):
        msg = f"{file!r} has neither a geometry (WKT) column nor latitude/longitude columns"
        raise InputError(msg, path=file)
