"""Who commits the abuses: the incident exposure of every segment split by perpetrator class.

The incident exposure is linear in the incidents' weights, ``E_s = sum_i K_si w_i``, so with one kernel matrix
(:func:`routerisk.engine.kernel_matrix`, the same projected segments, points, weights and bandwidths as
:func:`routerisk.score_segments`) and one weight column per class, ``E_s(c) = sum_{i in c} K_si w_i`` and the
classes sum to ``incident_exposure`` (to rounding: 1e-12 on the demo, tested). The classes are
:data:`routerisk.schema.PERPETRATORS`; a missing or unrecognised ``perpetrator`` (the readers already map the
sources' vocabularies, :mod:`routerisk.io`) counts as ``unknown``.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from ._coords import ProjectedSegments, _point_xy, _projected_point_xy, _wgs84_bounds
from .crs import analysis_crs
from .engine import exposure
from .model import RiskModel
from .schema import PERPETRATORS
from .scoring import incident_bandwidths, incident_weights, precision_factor
from .stats import bh_adjust

__all__ = ["PERPETRATOR_COLUMNS", "change_by_perpetrator", "exposure_by_perpetrator", "perpetrator_small_multiples",
           "trends_by_perpetrator"]  # fmt: skip

#: The columns added per segment, in the order of :data:`routerisk.schema.PERPETRATORS`.
PERPETRATOR_COLUMNS = tuple(f"incident_exposure_by_{p}" for p in PERPETRATORS)


def _classes(incidents: pd.DataFrame) -> np.ndarray:
    if "perpetrator" not in incidents:
        return np.full(len(incidents), PERPETRATORS.index("unknown"))
    lookup = {p: i for i, p in enumerate(PERPETRATORS)}
    text = incidents["perpetrator"].astype("string").str.strip()
    return text.map(lookup).fillna(lookup["unknown"]).to_numpy(dtype=np.int64)


def exposure_by_perpetrator(segments: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | pd.DataFrame,
                            model: RiskModel | None = None, *, backend: str = "auto") -> pd.DataFrame:  # fmt: skip
    """Incident exposure of each segment split by perpetrator class (one exposure pass per class).

    Parameters
    ----------
    segments, incidents, model, backend
        As in :func:`routerisk.score_segments` (same CRS rules).

    Returns
    -------
    pandas.DataFrame
        :data:`PERPETRATOR_COLUMNS`, indexed like ``segments``; each row sums to ``score_segments``'s
        ``incident_exposure``.

    Examples
    --------
    >>> from shapely import LineString, Point
    >>> seg = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (5000, 0)])], crs="EPSG:6372")
    >>> inc = gpd.GeoDataFrame({"category": ["homicide", "robbery"], "perpetrator": ["organized_crime", "x"]},
    ...                        geometry=[Point(1000, 0), Point(2000, 0)], crs="EPSG:6372")
    >>> e = exposure_by_perpetrator(seg, inc, RiskModel(bandwidth_m=5000, crs="EPSG:6372"))
    >>> e.round(3).iloc[0][["incident_exposure_by_organized_crime", "incident_exposure_by_unknown"]].tolist()
    [1.0, 0.3]
    """
    model = model or RiskModel()
    crs = analysis_crs(_wgs84_bounds(segments), model.crs)
    segs = ProjectedSegments(segments, crs)
    w = incident_weights(incidents, model)
    h = incident_bandwidths(incidents, model)
    xy = _projected_point_xy(incidents, crs)
    if xy is not None:
        placed = xy[2] & np.isfinite(h) & (w > 0)
        pts = np.column_stack([xy[0][placed], xy[1][placed]])
    else:
        geoms = np.asarray(incidents.geometry.to_crs(crs).values, dtype=object)
        valid = ~gpd.GeoSeries(geoms).isna().to_numpy() & ~gpd.GeoSeries(geoms).is_empty.to_numpy()
        placed = valid & np.isfinite(h) & (w > 0)
        pts = _point_xy(geoms[placed])
    hp = h[placed]
    wp = w[placed] * precision_factor(hp, model)
    cls = _classes(incidents)[placed]
    del xy, w, h, placed  # per-record arrays of every row: 5 million records hold 40 MB each
    # one exposure pass per class over that class's records only: together one pass over the records, with no
    # segments x records matrix (which took +0.7 GB and 4.6 s for 5 million records)
    E = np.zeros((segs.n, len(PERPETRATORS)))
    for c in np.unique(cls):
        sel = cls == c
        E[:, c] = exposure(segs.xy0, segs.xy1, pts[sel], wp[sel], hp[sel], model.kernel,
                           piece_segment=segs.piece_segment, n_segments=segs.n, backend=backend)[0]  # fmt: skip
    return pd.DataFrame(E, columns=list(PERPETRATOR_COLUMNS), index=segments.index)


def perpetrator_small_multiples(segments: gpd.GeoDataFrame, path: str | Path, *, title: str = "") -> Path:
    """One small map per perpetrator class: segments coloured by their share of the class's exposure.

    Each panel uses its own colour scale (0 to the class's largest segment exposure), stated in its title.
    """
    from matplotlib.figure import Figure  # lazy: matplotlib.figure costs 0.4 s

    seg = segments.to_crs("EPSG:4326")
    fig = Figure(figsize=(15, 3.6), dpi=110)
    for j, (p, col) in enumerate(zip(PERPETRATORS, PERPETRATOR_COLUMNS, strict=True)):
        ax = fig.add_subplot(1, len(PERPETRATORS), j + 1)
        v = seg[col].to_numpy(dtype=float) if col in seg else np.zeros(len(seg))
        top = float(np.nanmax(v)) if len(v) and np.nanmax(v) > 0 else 1.0
        seg.assign(_v=v).plot(ax=ax, column="_v", cmap="Reds", vmin=0.0, vmax=top, linewidth=1.4)
        ax.set_title(f"{p.replace('_', ' ')}\n(max {top:.2f})", fontsize=8)
        ax.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=10)
    path = Path(path)
    fig.savefig(path, bbox_inches="tight")
    return path


def change_by_perpetrator(
    segments: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame | pd.DataFrame,
    before,
    after,
    *,
    model: RiskModel | None = None,
    level: float = 0.95,
    backend: str = "auto",
) -> pd.DataFrame:
    """:func:`routerisk.segment_change` split by perpetrator class: one row per segment and class.

    The records in reach of each segment in each window are counted per class in one kernel pass (groups
    ``2 x class + window``), so each segment's counts over the classes add up to ``segment_change``'s
    ``count_before`` / ``count_after``. Rate ratios and exact intervals as in :func:`routerisk.rate_ratio`;
    ``p_adjusted`` is Benjamini-Hochberg within each class.

    Returns
    -------
    pandas.DataFrame
        ``segment_id``, ``perpetrator``, ``count_before``, ``count_after``, ``rate_ratio``, ``rr_lo``, ``rr_hi``
        (exact), ``p_value``, ``wald_lo``, ``wald_hi``, ``p_adjusted``.

    Examples
    --------
    >>> import routerisk
    >>> from routerisk.change import parse_window
    >>> segs = routerisk.segmentize(routerisk.load_corridors(), segment_length_m=50000)
    >>> out = change_by_perpetrator(segs, routerisk.load_incidents(), parse_window("2019-01-01:2019-12-31"),
    ...                             parse_window("2020-01-01:2020-12-31", "--after"))
    >>> len(out) == 5 * len(segs), sorted(out["perpetrator"].unique())[:2]
    (True, ['common_crime', 'migration_authority'])
    """
    from .change import _bh, rate_ratio, window_days, windowed_records
    from .spacetime import group_exposure

    r = windowed_records(segments, incidents, before, after, model)
    group = 2 * _classes(incidents)[r.placed] + r.col
    g = group_exposure(r.seg_geoms, r.xy, r.w, r.h, group, 2 * len(PERPETRATORS), r.model, backend)
    ids = r.ids
    parts = []
    for j, p in enumerate(PERPETRATORS):
        nb, na = g["N"][:, 2 * j], g["N"][:, 2 * j + 1]
        rr = rate_ratio(na, nb, window_days(after), window_days(before), level=level)
        part = pd.concat([pd.DataFrame({"segment_id": ids, "perpetrator": p, "count_before": nb, "count_after": na}),
                          rr], axis=1)  # fmt: skip
        part["p_adjusted"] = _bh(part["p_value"].to_numpy())
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def trends_by_perpetrator(
    segments: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame | pd.DataFrame,
    *,
    period: str = "quarter",
    model: RiskModel | None = None,
    backend: str = "auto",
    periods=None,
) -> pd.DataFrame:
    """The space-time cube's exposure split by perpetrator class, with a Mann-Kendall trend per segment and class.

    Per period, the exposure of :func:`routerisk.spacetime_exposure` (no time decay, the model's window bounding
    the periods), split by class in one kernel pass (groups ``class x period``): each segment's classes add up to
    the cube's ``exposure`` in every period. The trend is Mann-Kendall on the class's exposure series
    (:func:`routerisk.mannkendall.mann_kendall`), ``trend_p_adjusted`` Benjamini-Hochberg within the class;
    descriptive, like the cube's own tests (serial dependence is not modelled).

    Returns
    -------
    pandas.DataFrame
        ``segment_id``, ``perpetrator``, ``exposure_total``, ``trend_S``, ``trend_tau``, ``trend_z``, ``trend_p``,
        ``trend_p_adjusted`` and ``exposure_<period>`` per period.

    Examples
    --------
    >>> import routerisk
    >>> segs = routerisk.segmentize(routerisk.load_corridors(), segment_length_m=100000)
    >>> out = trends_by_perpetrator(segs, routerisk.load_incidents(), period="year")
    >>> len(out) == 5 * len(segs), [c for c in out.columns if c.startswith("exposure_2")]
    (True, ['exposure_2019', 'exposure_2020', 'exposure_2021'])
    """
    from .mannkendall import mann_kendall
    from .spacetime import _cube_model, _periods, group_exposure, project_incidents

    model = _cube_model(model)
    crs = analysis_crs(_wgs84_bounds(segments), model.crs)
    seg_geoms = np.asarray(segments.geometry.to_crs(crs).values, dtype=object)
    prd, col = _periods(incidents["date"], period, model, periods)
    w = incident_weights(incidents, model)
    h = incident_bandwidths(incidents, model)
    xy, ok = project_incidents(incidents, crs)
    placed = ok & np.isfinite(h) & (w > 0) & (col >= 0)
    hp, nper = h[placed], len(prd)
    group = _classes(incidents)[placed] * nper + col[placed]
    g = group_exposure(seg_geoms, xy[placed], w[placed] * precision_factor(hp, model), hp, group,
                       len(PERPETRATORS) * nper, model, backend)  # fmt: skip
    ids = segments["segment_id"].to_numpy(dtype=object) if "segment_id" in segments else segments.index.to_numpy()
    labels = [f"exposure_{p}" for p in prd]
    parts = []
    for j, p in enumerate(PERPETRATORS):
        E = g["E"][:, j * nper:(j + 1) * nper]
        mk = mann_kendall(E)
        q = bh_adjust(mk["p"].to_numpy())
        part = pd.DataFrame({"segment_id": ids, "perpetrator": p, "exposure_total": E.sum(axis=1),
                             "trend_S": mk["S"].to_numpy(), "trend_tau": mk["tau"].to_numpy(),
                             "trend_z": mk["z"].to_numpy(), "trend_p": mk["p"].to_numpy(), "trend_p_adjusted": q})
        parts.append(pd.concat([part, pd.DataFrame(E, columns=labels)], axis=1))  # fmt: skip
    return pd.concat(parts, ignore_index=True)
