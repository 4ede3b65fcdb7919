"""Run-folder commands on the route network: ``routerisk path`` and ``routerisk access``.

Both read a run folder written by ``routerisk score`` (its ``segments`` with ``risk``, ``zones``, ``shelters`` and
``manifest.json``) and write their own output folder atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._atomic import atomic_dir, refuse_inputs
from ._errors import InputError
from ._sinks import write_csv
from .access import access_gaps, protection_access
from .crs import analysis_crs
from .datasets import load_shelters
from .detention import detention_exposure
from .maps import heatmap, save_html
from .maps.outputs import load_run, model_from_manifest
from .network import edge_table, route_network
from .paths import least_risk_paths
from .schema import WGS84

__all__ = ["access_run", "osm_network", "path_run"]

#: An OSM edge takes the risk of the nearest scored segment within this distance (m), else 0.
RISK_SNAP_M = 1_000.0


def osm_network(path: str | os.PathLike[str], segments: gpd.GeoDataFrame | None = None,
                risk_snap_m: float = RISK_SNAP_M) -> Any:  # fmt: skip
    """An OSM XML file as a projected osmnx graph; edges take ``risk`` from the nearest segment within reach.

    Examples
    --------
    >>> from pathlib import Path
    >>> g = osm_network(Path("tests/data/osm/detour.osm"))  # doctest: +SKIP
    """
    try:
        import osmnx as ox  # optional dependency, the [osm] extra; its import costs ~1 s: only for --network
    except ImportError:
        msg = f'`--network` {str(path)!r} is an OSM file; reading it needs osmnx: pip install "routerisk[osm]"'
        raise InputError(msg, path=str(path)) from None
    path = Path(path)
    if not path.is_file():
        msg = f"`--network` file {str(path)!r} does not exist"
        raise InputError(msg, path=str(path))
    try:
        graph = ox.graph_from_xml(path, bidirectional=True, simplify=True, retain_all=True)
    except Exception as exc:  # osmnx/xml raise many types on bad files
        msg = f"`--network` file {str(path)!r} could not be read as OSM data: {exc}"
        raise InputError(msg, path=str(path)) from None
    xs = [d["x"] for _, d in graph.nodes(data=True)]
    ys = [d["y"] for _, d in graph.nodes(data=True)]
    if not xs:
        msg = f"`--network` file {str(path)!r} holds no road nodes"
        raise InputError(msg, path=str(path))
    crs = analysis_crs((min(xs), min(ys), max(xs), max(ys)))
    graph = ox.project_graph(graph, to_crs=crs)
    if segments is not None and "risk" in segments and len(segments):
        _transfer_risk(graph, segments.to_crs(crs), risk_snap_m)
    return graph


def _transfer_risk(graph: Any, segments: gpd.GeoDataFrame, risk_snap_m: float) -> None:
    x = {n: d["x"] for n, d in graph.nodes(data=True)}
    y = {n: d["y"] for n, d in graph.nodes(data=True)}
    geoms = [d.get("geometry") or shapely.linestrings([[x[u], y[u]], [x[v], y[v]]])
             for u, v, d in graph.edges(data=True)]  # fmt: skip
    tree = shapely.STRtree(segments.geometry.to_numpy())
    mid = shapely.line_interpolate_point(np.asarray(geoms, dtype=object), 0.5, normalized=True)
    (ei, si) = tree.query_nearest(mid, max_distance=risk_snap_m, all_matches=False)
    risk = np.zeros(len(geoms))
    risk[ei] = pd.to_numeric(segments["risk"], errors="coerce").fillna(0.0).to_numpy()[si]
    for (_, _, d), r in zip(graph.edges(data=True), risk, strict=True):
        d["risk"] = float(r)


def _paths_png(graph: Any, paths: gpd.GeoDataFrame, path: Path, title: str) -> None:
    from matplotlib.figure import Figure  # lazy: matplotlib.figure costs 0.4 s

    _, e = edge_table(graph)
    fig = Figure(figsize=(8, 8), dpi=110)
    ax = fig.add_subplot()
    gpd.GeoSeries(e["geometry"].to_numpy(), crs=paths.crs).plot(ax=ax, color="#bbbbbb", linewidth=0.8)
    colours = {"shortest": "#1f78b4", "least_risk": "#e31a1c"}
    for name, geom in zip(paths["path"], paths.geometry, strict=True):
        style = {"shortest": (3.0, "--"), "least_risk": (2.0, "-")}.get(name, (1.0, "-"))
        gpd.GeoSeries([geom], crs=paths.crs).plot(ax=ax, color=colours.get(name, "#ff7f00"), linewidth=style[0],
                                                  linestyle=style[1])  # fmt: skip
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=c, lw=2, label=n.replace("_", " ")) for n, c in colours.items()]
    handles.append(Line2D([], [], color="#ff7f00", lw=1, label="alternatives"))
    ax.legend(handles=handles, loc="lower left", fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    fig.savefig(path, bbox_inches="tight")


def path_run(run: str | os.PathLike[str], out: str | os.PathLike[str], *, source: Any, target: Any,
             alphas=(1.0, 5.0, 20.0), k: int = 3, network: str | os.PathLike[str] | None = None,
             overwrite: bool = False) -> gpd.GeoDataFrame:  # fmt: skip
    """Write ``paths.csv``, ``paths.gpkg`` and ``paths.png`` for the least-risk paths between two places.

    Parameters
    ----------
    run : path
        A run folder of ``routerisk score`` (its segments' ``risk``).
    out : path
        Output folder (written atomically).
    source, target : str or (lon, lat)
        Places (gazetteer names or coordinates).
    alphas, k :
        See :func:`routerisk.paths.least_risk_paths`.
    network : path, optional
        An OSM XML file: the paths follow its roads, each road taking the risk of the nearest segment within
        1 km (0 elsewhere); without it, the route network of the run's segments.
    overwrite : bool

    Returns
    -------
    geopandas.GeoDataFrame
        The paths table (see :func:`routerisk.paths.least_risk_paths`).
    """
    refuse_inputs(out, [run, network])
    data = load_run(run)
    segments = data["segments"]
    graph = osm_network(network, segments) if network is not None else route_network(segments, columns=("risk",))
    paths = least_risk_paths(graph, source, target, alphas=alphas, k=k)
    info = paths.attrs.get("routerisk_path", {})
    with atomic_dir(out, overwrite=overwrite, inputs=[run, network]) as tmp:
        write_csv(paths.drop(columns=["geometry", "nodes"]), tmp / "paths.csv")
        paths.drop(columns=["nodes"]).to_crs(WGS84).to_file(tmp / "paths.gpkg", layer="paths", driver="GPKG")
        _paths_png(graph, paths, tmp / "paths.png", f"{info.get('from', '')} to {info.get('to', '')}")
    return paths


def access_run(run: str | os.PathLike[str], out: str | os.PathLike[str], *, max_km: float = 100.0,
               detention: gpd.GeoDataFrame | None = None, detention_path: str | os.PathLike[str] | None = None,
               detention_radius_m: float = 5000.0, overwrite: bool = False) -> pd.DataFrame:  # fmt: skip
    """Write ``access.csv`` (per segment), ``access_gaps.csv``, ``access.png`` and ``access.html`` for a run folder.

    ``access.csv`` holds the access columns and ``detention_exposure`` (:func:`routerisk.detention.detention_exposure`
    of ``detention``; 0 without sites).

    The run's shelters layer (``kind``: shelter or asylum_office) is used when it has one; otherwise the embedded
    shelters and COMAR offices (:func:`routerisk.load_shelters`), which ``attrs["shelters"]`` records.
    """
    refuse_inputs(out, [run, detention_path])
    data = load_run(run)
    segments, shelters = data["segments"], data["shelters"]
    source = "run"
    if shelters is None or not len(shelters) or "kind" not in shelters:
        shelters, source = load_shelters(), "embedded"
    model = model_from_manifest(data["manifest"])
    graph = route_network(segments, columns=())
    acc = protection_access(graph, shelters, zones=data["zones"], detention=detention, model=model,
                             detention_radius_m=detention_radius_m)
    cols = [c for c in ("segment_id", "route_id", "seq", "length_m", "risk") if c in segments]
    table = segments[cols].merge(acc, on="segment_id", how="left")
    table["detention_exposure"] = detention_exposure(segments, detention)
    gaps = access_gaps(table, max_km)
    with atomic_dir(out, overwrite=overwrite, inputs=[run, detention_path]) as tmp:
        write_csv(table, tmp / "access.csv")
        write_csv(gaps, tmp / "access_gaps.csv")
        if detention is not None and len(detention):  # the detention sites as their own point layer
            detention.to_crs(WGS84).to_file(tmp / "detention.gpkg", layer="detention", driver="GPKG")
        seg_acc = segments.merge(acc, on="segment_id", how="left")
        _access_png(seg_acc, shelters, tmp / "access.png", max_km, detention=detention)
        privacy = (data["manifest"].get("privacy") or {}).get("mode", "internal")
        html = heatmap(seg_acc, shelters=shelters, privacy=privacy, model=model, title="Access to protection",
                       layers=["segments", "shelters", "detention", "access"], web_tiles=False,
                       detention=detention)  # fmt: skip
        save_html(html, tmp / "access.html")
    table.attrs["gaps"] = gaps
    table.attrs["shelters"] = source
    return table


def _access_png(segments: gpd.GeoDataFrame, shelters: gpd.GeoDataFrame, path: Path, max_km: float, *,
                detention: gpd.GeoDataFrame | None = None) -> None:
    from matplotlib.figure import Figure  # lazy: matplotlib.figure costs 0.4 s

    fig = Figure(figsize=(9, 7), dpi=110)
    ax = fig.add_subplot()
    seg = segments.to_crs(WGS84)
    km = seg["asylum_office_km"].replace(np.inf, np.nan)
    if km.notna().any():
        seg.assign(km=km).plot(ax=ax, column="km", cmap="magma_r", linewidth=2, legend=True,
                               legend_kwds={"label": "network km to the nearest asylum office", "shrink": 0.6})
    else:  # no asylum office reachable anywhere
        seg.plot(ax=ax, color="#000000", linewidth=2)
    passes = seg[seg["passes_enforcement"].fillna(False).astype(bool)]
    if len(passes):
        passes.plot(ax=ax, color="#1f78b4", linewidth=0.6)
    sh = shelters.to_crs(WGS84)
    office = (sh["kind"].astype(str) == "asylum_office").to_numpy()
    for part, style in ((sh[office], {"color": "#33a02c", "marker": "s", "markersize": 30}),
                        (sh[~office], {"color": "#6a3d9a", "marker": "^", "markersize": 14})):  # fmt: skip
        if len(part):
            part.plot(ax=ax, **style)
    if detention is not None and len(detention):  # detention sites: dark diamonds
        detention.to_crs(WGS84).plot(ax=ax, color="#b15928", marker="D", markersize=22, edgecolor="white",
                                     linewidth=0.5)  # fmt: skip
    ax.set_title(f"Access to protection (gaps: more than {max_km:g} km); thin blue: the way passes enforcement",
                 fontsize=9)  # fmt: skip
    ax.set_axis_off()
    fig.savefig(path, bbox_inches="tight")
