"""Routes from waypoints (geodesic or along an OSM network) and their cutting into fixed-length segments."""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer

from ._budget import check_segments
from ._errors import InputError
from ._placenames import resolve_waypoint_names
from ._validate import ValidationReport
from .crs import analysis_crs
from .schema import MODES, ROUTE_COLUMNS, WGS84
from .states import assign_states

__all__ = ["build_route", "geodesic_line", "segmentize"]

_GEOD = Geod(ellps="WGS84")
Waypoint = str | tuple[float, float]

#: Waypoints farther than this from every network node are an error (the network does not cover them).
MAX_SNAP_M = 25_000.0


# --------------------------------------------------------------------------------------------- waypoints


def _resolve_waypoints(waypoints: Sequence[Waypoint]) -> tuple[np.ndarray, list[str]]:
    if isinstance(waypoints, str) or not isinstance(waypoints, Sequence):
        msg = f"`waypoints` must be a list of place names or (lon, lat) pairs, got {type(waypoints).__name__}"
        raise TypeError(msg)
    if len(waypoints) < 2:
        msg = f"`waypoints` needs at least 2 places, got {len(waypoints)}"
        raise InputError(msg)
    xy = np.full((len(waypoints), 2), np.nan)
    labels = [""] * len(waypoints)
    named = [i for i, w in enumerate(waypoints) if isinstance(w, str)]
    for i, w in enumerate(waypoints):
        if isinstance(w, str):
            continue
        try:
            lon, lat = (float(v) for v in w)
        except (TypeError, ValueError):
            msg = f"waypoint {i} was {w!r}; expected a place name or a (lon, lat) pair of numbers"
            raise InputError(msg) from None
        if not (np.isfinite(lon) and np.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            msg = f"waypoint {i} was {w!r}; lon must be in [-180, 180] and lat in [-90, 90]"
            raise InputError(msg)
        xy[i] = lon, lat
        labels[i] = f"({lon:.5f}, {lat:.5f})"
    if named:  # far-apart namesakes: the one nearest the neighbouring waypoints, with a warning
        xy, names = resolve_waypoint_names(waypoints, xy)
        for i in named:
            labels[i] = names[i]
    return xy, labels


def geodesic_line(lonlat: np.ndarray, densify_km: float | None = 25.0) -> shapely.LineString:
    """A line through ``lonlat`` vertices whose legs follow the geodesic, a vertex every ``densify_km`` at most.

    Examples
    --------
    >>> line = geodesic_line(np.array([[-99.0, 19.0], [-98.0, 19.0]]), densify_km=10)
    >>> len(line.coords)
    12
    """
    lonlat = np.asarray(lonlat, dtype="float64")
    if densify_km is None or len(lonlat) < 2:
        return shapely.linestrings(lonlat)
    if not densify_km > 0:
        msg = f"`densify_km` was {densify_km!r} but must be > 0 (or None for no densification)"
        raise InputError(msg)
    _, _, dist = _GEOD.inv(lonlat[:-1, 0], lonlat[:-1, 1], lonlat[1:, 0], lonlat[1:, 1])
    pieces = [lonlat[:1]]
    for i, d in enumerate(np.atleast_1d(dist)):
        n_inner = max(0, math.ceil(d / (densify_km * 1000.0)) - 1)
        if n_inner:
            inner = _GEOD.npts(lonlat[i, 0], lonlat[i, 1], lonlat[i + 1, 0], lonlat[i + 1, 1], n_inner)
            pieces.append(np.asarray(inner, dtype="float64"))
        pieces.append(lonlat[i + 1 : i + 2])
    return shapely.linestrings(np.vstack(pieces))


# --------------------------------------------------------------------------------------------- networks


def _load_network(network: Any) -> Any:
    import networkx as nx  # optional: networkx comes with osmnx (the network branch only)

    if isinstance(network, nx.MultiDiGraph | nx.MultiGraph | nx.DiGraph | nx.Graph):
        return network
    if isinstance(network, str | os.PathLike):
        path = Path(network)
        if not path.is_file():
            msg = f"`network` file {str(path)!r} does not exist"
            raise InputError(msg, path=str(path))
        if path.name.lower().endswith(".pbf"):
            with tempfile.TemporaryDirectory(prefix="routerisk-osm-") as tmp:
                return _read_osm_xml(_pbf_to_xml(path, Path(tmp) / "network.osm"), shown=path)
        return _read_osm_xml(path, shown=path)
    msg = f"`network` must be an osmnx graph or a path to an .osm or .osm.pbf file, got {type(network).__name__}"
    raise TypeError(msg)


def _pbf_to_xml(pbf: Path, xml: Path) -> Path:
    """Stream an ``.osm.pbf`` into OSM XML with pyosmium (osmnx reads only XML)."""
    try:
        import osmium
    except ImportError:
        msg = (
            f"`network` {str(pbf)!r} is an .osm.pbf file; reading it needs pyosmium: "
            'pip install "routerisk[osm]" (or convert it to OSM XML with `osmium cat in.osm.pbf -o out.osm`)'
        )
        raise InputError(msg, path=str(pbf)) from None
    try:
        with osmium.SimpleWriter(str(xml)) as writer:
            for obj in osmium.FileProcessor(str(pbf)):
                writer.add(obj)
    except Exception as exc:  # libosmium raises RuntimeError and others on damaged files
        msg = f"`network` file {str(pbf)!r} could not be read as OSM PBF: {exc}"
        raise InputError(msg, path=str(pbf)) from None
    return xml


def _read_osm_xml(path: Path, *, shown: Path) -> Any:
    try:
        import osmnx as ox  # optional dependency, the [osm] extra (network branch); its import costs ~1 s
    except ImportError:
        msg = f'`network` {str(shown)!r} is an OSM file; reading it needs osmnx: pip install "routerisk[osm]"'
        raise InputError(msg, path=str(shown)) from None
    try:
        return ox.graph_from_xml(path, bidirectional=True, simplify=True, retain_all=True)
    except Exception as exc:  # osmnx/xml raise many types on bad files
        msg = f"`network` file {str(shown)!r} could not be read as OSM data: {exc}"
        raise InputError(msg, path=str(shown)) from None


def _network_line(graph: Any, xy: np.ndarray, labels: list[str]) -> shapely.LineString:
    import networkx as nx  # optional: networkx comes with osmnx (the network branch only)
    from scipy.spatial import cKDTree  # lazy: scipy.spatial import costs 0.38 s, needed by the network branch only

    if graph.number_of_nodes() == 0:
        msg = "`network` has no nodes"
        raise InputError(msg)
    nodes = np.array(list(graph.nodes))
    nx_ = np.array([graph.nodes[n]["x"] for n in nodes], dtype="float64")
    ny_ = np.array([graph.nodes[n]["y"] for n in nodes], dtype="float64")
    graph_crs = graph.graph.get("crs", WGS84)
    to_graph = Transformer.from_crs(WGS84, graph_crs, always_xy=True)
    gx, gy = to_graph.transform(xy[:, 0], xy[:, 1])
    # nearest node in metres: project both sides to the analysis CRS of the waypoints
    to_lonlat = Transformer.from_crs(graph_crs, WGS84, always_xy=True)
    nlon, nlat = to_lonlat.transform(nx_, ny_)
    lo = np.minimum(xy.min(0), [nlon.min(), nlat.min()])
    hi = np.maximum(xy.max(0), [nlon.max(), nlat.max()])
    acrs = analysis_crs((*lo, *hi))
    proj = Transformer.from_crs(WGS84, acrs, always_xy=True)
    tree = cKDTree(np.column_stack(proj.transform(nlon, nlat)))
    dist, near = tree.query(np.column_stack(proj.transform(xy[:, 0], xy[:, 1])))
    far = np.flatnonzero(dist > MAX_SNAP_M)
    if far.size:
        which = ", ".join(f"{labels[i]} ({dist[i] / 1000:.1f} km)" for i in far)
        msg = f"waypoints farther than {MAX_SNAP_M / 1000:.0f} km from the network (does it cover them?): {which}"
        raise InputError(msg)
    undirected = graph.to_undirected(as_view=True) if graph.is_directed() else graph
    weight = "length" if any("length" in d for _, _, d in undirected.edges(data=True)) else None
    coords = [np.array([[gx[0], gy[0]]])]
    for i in range(len(xy) - 1):
        a, b = nodes[near[i]], nodes[near[i + 1]]
        try:
            path = nx.shortest_path(undirected, a, b, weight=weight)
        except nx.NetworkXNoPath:
            msg = f"no path along the network between waypoint {i} {labels[i]} and waypoint {i + 1} {labels[i + 1]}"
            raise InputError(msg) from None
        for u, v in itertools.pairwise(path):
            coords.append(_edge_coords(undirected, u, v, weight))
        coords.append(np.array([[graph.nodes[b]["x"], graph.nodes[b]["y"]]]))
    coords.append(np.array([[gx[-1], gy[-1]]]))
    xy_graph = np.vstack(coords)
    lon, lat = to_lonlat.transform(xy_graph[:, 0], xy_graph[:, 1])
    out = np.column_stack([lon, lat])
    keep = np.r_[True, np.any(np.diff(out, axis=0) != 0, axis=1)]
    return shapely.linestrings(out[keep])


def _edge_coords(graph: Any, u: Any, v: Any, weight: str | None) -> np.ndarray:
    data = graph.get_edge_data(u, v)
    if graph.is_multigraph():
        data = min(data.values(), key=lambda d: d.get(weight, 0.0) if weight else 0.0)
    pu = np.array([graph.nodes[u]["x"], graph.nodes[u]["y"]])
    pv = np.array([graph.nodes[v]["x"], graph.nodes[v]["y"]])
    geom = data.get("geometry")
    if geom is None:
        return np.vstack([pu, pv])
    xy = shapely.get_coordinates(geom)
    if np.hypot(*(xy[0] - pu)) > np.hypot(*(xy[-1] - pu)):
        xy = xy[::-1]
    return xy


# --------------------------------------------------------------------------------------------- build_route


def build_route(
    waypoints: Sequence[Waypoint],
    *,
    route_id: str = "route",
    name: str | None = None,
    mode: str = "road",
    network: Any = None,
    densify_km: float | None = 25.0,
    illustrative: bool = False,
) -> gpd.GeoDataFrame:
    """Build one route (a routes-layer row) through ordered waypoints.

    Parameters
    ----------
    waypoints : sequence of str or (lon, lat)
        Locality names (resolved through :func:`routerisk.gazetteer.resolve_locality`; ``"Name, State"``
        allowed) or coordinate pairs in EPSG:4326, at least two. A name shared by places far apart (Tonalá:
        Chiapas, Guerrero, Jalisco, Veracruz) resolves to the one nearest the neighbouring waypoints, with an
        :class:`routerisk._placenames.AmbiguousPlaceWarning` listing the candidates when the neighbours chose a
        less populous one or could not decide.
    route_id : str, default "route"
        Identifier of the route.
    name : str, optional
        Human-readable name; defaults to ``"<first waypoint> - <last waypoint>"``.
    mode : {"road", "rail", "foot", "river", "mixed"}, default "road"
    network : networkx graph or path, optional
        An osmnx graph, or the path of an OSM XML file (``.osm``) read with ``osmnx.graph_from_xml``, or of an
        ``.osm.pbf`` file (streamed to XML with pyosmium first: ``pip install "routerisk[osm]"``). The
        route then follows shortest paths by length between the network nodes nearest to consecutive
        waypoints (travel direction is ignored: people on foot or on freight trains go both ways).
        Without it, consecutive waypoints are joined by geodesics.
    densify_km : float or None, default 25.0
        Without a network, add vertices along each geodesic leg at most this far apart, so that long legs
        follow the great circle whatever the map projection; ``None`` keeps only the waypoints.
    illustrative : bool, default False
        Whether the geometry is only illustrative.

    Returns
    -------
    geopandas.GeoDataFrame
        One row with ``route_id, name, mode, illustrative`` and a LineString geometry in EPSG:4326.

    Raises
    ------
    InputError
        Unknown place names (with suggestions), bad coordinates, waypoints off the network, or no path.

    Examples
    --------
    >>> r = build_route(["Tapachula", "Huixtla, Chiapas", (-93.2, 15.7)], route_id="coast", mode="rail")
    >>> r[["route_id", "mode"]].iloc[0].tolist(), r.crs.to_epsg()
    (['coast', 'rail'], 4326)
    """
    if mode not in MODES:
        msg = f"`mode` was {mode!r} but must be one of {MODES}"
        raise InputError(msg)
    xy, labels = _resolve_waypoints(waypoints)
    if network is None:
        line = geodesic_line(xy, densify_km)
    else:
        line = _network_line(_load_network(network), xy, labels)
    if name is None:
        name = f"{labels[0]} - {labels[-1]}"
    return gpd.GeoDataFrame(
        {"route_id": [str(route_id)], "name": [name], "mode": [mode], "illustrative": [bool(illustrative)]},
        geometry=[line],
        crs=WGS84,
    )


# --------------------------------------------------------------------------------------------- segmentize


def _usable_routes(routes: gpd.GeoDataFrame, report: ValidationReport, source: str) -> np.ndarray:
    """Boolean mask of rows that can be segmented; the others are recorded in ``report``."""
    geoms = routes.geometry.to_numpy()
    rows = np.arange(1, len(routes) + 1)
    ids = routes["route_id"].to_numpy()
    ok = np.ones(len(routes), dtype=bool)
    checks = [
        (shapely.is_missing(geoms), "null geometry"),
        (~shapely.is_missing(geoms) & shapely.is_empty(geoms), "empty geometry"),
    ]
    types = shapely.get_type_id(geoms)
    line_types = (1, 5)  # LineString, MultiLineString
    checks.append((~np.isin(types, (-1, *line_types)) & ~shapely.is_empty(geoms), "not a line"))
    for bad, reason in checks:
        bad &= ok
        report.reject(source, rows[bad], "geometry", reason, ids[bad])
        ok &= ~bad
    dup = pd.Series(ids).duplicated().to_numpy() & ok
    report.reject(source, rows[dup], "route_id", "duplicate route_id", ids[dup])
    ok &= ~dup
    return ok


def segmentize(
    routes: gpd.GeoDataFrame | gpd.GeoSeries,
    segment_length_m: float = 5000.0,
    *,
    crs: str = "auto",
    report: ValidationReport | None = None,
) -> gpd.GeoDataFrame:
    """Cut routes into consecutive pieces of ``segment_length_m`` (the last piece of each route shorter).

    Lengths are measured in the analysis CRS (:func:`routerisk.crs.analysis_crs`). A MultiLineString is cut
    part by part, with ``start_m``/``end_m`` running on across its parts. Null, empty, non-line, zero-length
    and duplicate-id routes are recorded in ``report`` as rejected rows (numbered from 1) and skipped.

    Parameters
    ----------
    routes : GeoDataFrame or GeoSeries
        Routes layer (``route_id`` and, when present, ``name``, ``mode``, ``illustrative`` are carried; without
        ``route_id`` the index is used). Any CRS.
    segment_length_m : float, default 5000
        Target length of every segment, metres.
    crs : str, default "auto"
        Analysis CRS, see :func:`routerisk.crs.analysis_crs`.
    report : ValidationReport, optional
        Receives rejected routes; without it, a :class:`routerisk.RejectedRowsWarning` is issued when
        any route is rejected.

    Returns
    -------
    geopandas.GeoDataFrame
        ``segment_id`` (``"<route_id>:<seq>"``, zero-padded), ``route_id``, ``seq`` (0-based), ``start_m``,
        ``end_m``, ``length_m``, the carried route columns, ``state_code`` and ``state_name`` of the segment
        midpoint (the nearest state when outside every state), geometry in the CRS of ``routes``.

    Raises
    ------
    InputError
        When no route can be segmented, ``routes`` has no CRS or ``segment_length_m`` is not positive.

    Examples
    --------
    >>> from shapely import LineString
    >>> line = LineString([(2_500_000, 1_000_000), (2_512_000, 1_000_000)])  # in Mexico, metres
    >>> r = gpd.GeoDataFrame({"route_id": ["a"]}, geometry=[line], crs="EPSG:6372")
    >>> s = segmentize(r, 5000)
    >>> s[["segment_id", "start_m", "end_m"]].values.tolist()
    [['a:0000', 0.0, 5000.0], ['a:0001', 5000.0, 10000.0], ['a:0002', 10000.0, 12000.0]]
    """
    routes, report, own_report = _checked_routes(routes, segment_length_m, report)
    ok = _usable_routes(routes, report, "routes")
    s = float(segment_length_m)
    geoms_in = routes.geometry.to_numpy()
    bounds = gpd.GeoSeries(geoms_in[ok], crs=routes.crs).to_crs(WGS84).total_bounds if ok.any() else None
    acrs = analysis_crs(bounds, crs)
    proj = gpd.GeoSeries(geoms_in, crs=routes.crs).to_crs(acrs).to_numpy()
    m = _vertex_measures(proj, ok)

    route_len = np.bincount(m.part_row, weights=m.part_len, minlength=len(routes))
    zero = ok & ~(route_len > 0)
    zero_ids = routes["route_id"].to_numpy()[zero]
    report.reject("routes", np.flatnonzero(zero) + 1, "geometry", "zero-length route", zero_ids)
    ok &= ~zero
    report.count("routes", read=len(routes), kept=int(ok.sum()))
    if own_report:
        report.warn_if_rejected("routes")
    if not ok.any():
        msg = f"no usable route to segment among {len(routes)} rows:\n{report.summary()}"
        raise InputError(msg)

    lines, mids, seg_row, start_m, end_m = _cut(m, ok, s)
    out = _segment_table(routes, seg_row, start_m, end_m)
    states = assign_states(gpd.GeoSeries(mids, crs=acrs))
    out["state_code"] = states["state_code"].to_numpy()
    out["state_name"] = states["state_name"].to_numpy()
    geometry = gpd.GeoSeries(lines, crs=acrs).to_crs(routes.crs)
    return gpd.GeoDataFrame(out, geometry=geometry.to_numpy(), crs=routes.crs)


def _checked_routes(routes, segment_length_m: float, report: ValidationReport | None):
    """The routes as a GeoDataFrame with a string ``route_id`` (checked arguments), and the report to fill."""
    if isinstance(routes, gpd.GeoSeries):
        routes = gpd.GeoDataFrame(geometry=routes)
    if not isinstance(routes, gpd.GeoDataFrame):
        msg = f"`routes` must be a GeoDataFrame or GeoSeries, got {type(routes).__name__}"
        raise TypeError(msg)
    if not (np.isfinite(segment_length_m) and segment_length_m > 0):
        msg = f"`segment_length_m` was {segment_length_m!r} but must be a positive number of metres"
        raise InputError(msg)
    if routes.crs is None:
        msg = "`routes` has no CRS; set one (e.g. `.set_crs('EPSG:4326')`) before segmenting"
        raise InputError(msg)
    own_report = report is None
    report = ValidationReport() if report is None else report
    routes = routes.reset_index(drop="route_id" in routes.columns)
    if "route_id" not in routes.columns:
        routes = routes.rename(columns={routes.columns[0]: "route_id"})
    routes["route_id"] = routes["route_id"].astype(str)
    return routes, report, own_report


def _vertex_measures(proj: np.ndarray, ok: np.ndarray) -> SimpleNamespace:
    """Parts of every usable route, with their vertices' distances along the part (and a global measure)."""
    rows_ok = np.flatnonzero(ok)
    parts, part_row = shapely.get_parts(proj[rows_ok], return_index=True)
    part_row = rows_ok[part_row]
    xy, vpart = shapely.get_coordinates(parts, return_index=True)
    step = np.zeros(len(xy))
    same = np.r_[False, vpart[1:] == vpart[:-1]]
    step[1:] = np.hypot(*(xy[1:] - xy[:-1]).T)
    part_len = np.bincount(vpart, weights=np.where(same, step, 0.0), minlength=len(parts))
    step = np.where(same, step, 1.0)  # 1 m gap between parts keeps the global measure strictly separated
    step[0] = 0.0
    gm = np.cumsum(step)  # global measure, increasing over all parts
    first_v = np.searchsorted(vpart, np.arange(len(parts)))
    part_start = gm[first_v]
    vd = gm - part_start[vpart]  # distance of each vertex along its part
    return SimpleNamespace(n_parts=len(parts), part_row=part_row, xy=xy, vpart=vpart, part_len=part_len, gm=gm,
                           part_start=part_start, vd=vd)  # fmt: skip


def _cut(m: SimpleNamespace, ok: np.ndarray, s: float):
    """Segment lines (cut points and interior vertices), midpoints, route row and measures of each segment."""
    keep_part = ok[m.part_row] & (m.part_len > 0)
    pidx = np.flatnonzero(keep_part)
    L = m.part_len[pidx]
    check_segments(float(L.sum()), s)  # before allocating them: a tiny segment_length_m is refused, not run
    n_seg = np.maximum(1, np.ceil(L / s - 1e-9)).astype("int64")
    # measure offset of each part along its route (earlier parts of the same route)
    prow = m.part_row[pidx]
    csum = np.cumsum(L) - L
    route_first = pd.Series(csum).groupby(prow).transform("first").to_numpy()
    part_offset = csum - route_first

    seg_part = np.repeat(np.arange(len(pidx)), n_seg)  # index into pidx
    seg_first = np.cumsum(n_seg) - n_seg
    k = np.arange(len(seg_part)) - seg_first[seg_part]
    d0 = k * s
    d1 = np.where(k == n_seg[seg_part] - 1, L[seg_part], (k + 1) * s)

    # interior vertices: strictly inside their segment
    vp_local = np.full(m.n_parts, -1)
    vp_local[pidx] = np.arange(len(pidx))
    vsel = np.flatnonzero(vp_local[m.vpart] >= 0)
    vpl = vp_local[m.vpart[vsel]]
    vk = np.minimum((m.vd[vsel] // s).astype("int64"), n_seg[vpl] - 1)
    vseg = seg_first[vpl] + vk
    inside = (m.vd[vsel] > d0[vseg]) & (m.vd[vsel] < d1[vseg])
    vsel, vseg = vsel[inside], vseg[inside]

    g0 = m.part_start[pidx][seg_part] + d0
    g1 = m.part_start[pidx][seg_part] + d1
    nseg = len(seg_part)
    xy, gm = m.xy, m.gm
    cx0, cy0 = np.interp(g0, gm, xy[:, 0]), np.interp(g0, gm, xy[:, 1])
    cx1, cy1 = np.interp(g1, gm, xy[:, 0]), np.interp(g1, gm, xy[:, 1])
    seg_ids = np.concatenate([np.arange(nseg), vseg, np.arange(nseg)])
    order = np.concatenate([np.zeros(nseg), np.ones(len(vseg)), np.full(nseg, 2.0)])
    pos = np.concatenate([np.zeros(nseg), vsel.astype("float64"), np.zeros(nseg)])
    px = np.concatenate([cx0, xy[vsel, 0], cx1])
    py = np.concatenate([cy0, xy[vsel, 1], cy1])
    srt = np.lexsort((pos, order, seg_ids))
    lines = shapely.linestrings(np.column_stack([px[srt], py[srt]]), indices=seg_ids[srt])
    gmid = (g0 + g1) / 2.0
    mids = shapely.points(np.interp(gmid, gm, xy[:, 0]), np.interp(gmid, gm, xy[:, 1]))
    return lines, mids, prow[seg_part], part_offset[seg_part] + d0, part_offset[seg_part] + d1


def _segment_table(routes: gpd.GeoDataFrame, seg_row, start_m, end_m) -> pd.DataFrame:
    """``segment_id``, ``route_id``, ``seq``, the measures and the carried route columns of each segment."""
    nseg = len(seg_row)
    route_first_seg = pd.Series(np.arange(nseg)).groupby(seg_row).transform("first").to_numpy()
    seq = np.arange(nseg) - route_first_seg
    width = max(4, len(str(int(seq.max()))))
    rid = routes["route_id"].to_numpy()[seg_row]
    out = pd.DataFrame(
        {
            "segment_id": pd.Series(rid, dtype=object) + ":" + pd.Series(seq.astype(str)).str.zfill(width),
            "route_id": rid,
            "seq": seq.astype("int64"),
            "start_m": start_m,
            "end_m": end_m,
            "length_m": end_m - start_m,
        }
    )
    for col in ROUTE_COLUMNS[1:]:
        if col in routes.columns:
            out[col] = routes[col].to_numpy()[seg_row]
    return out
