"""Score route segments: incident exposure, enforcement exposure, composite risk, classes, uncertainty, hot spots.

The model, as implemented (parameters from :class:`routerisk.RiskModel`, distances in the analysis CRS):

- weight of incident i: ``w_i = category_weight[category_i] * victims_factor(victims_i) * D_i`` with time decay
  ``D_i = 2 ** (-age_i / half_life_days)`` (``age_i`` in days before the reference date, >= 0; ``D_i = 1`` when
  ``half_life_days = 0`` or the date is NaT); ``w_i = 0`` outside ``[window_start, window_end]``
  (see :func:`incident_weights`);
- bandwidth ``h_i = sqrt(bandwidth_m**2 + sigma_i**2)`` by location precision; state-level incidents are not placed
  (see :func:`incident_bandwidths`);
- ``incident_exposure`` ``E_s = sum_i w_i K(d_is; h_i)`` with ``d_is`` the exact distance from the incident to
  the segment (:mod:`routerisk.engine`); ``incident_density = E_s / length_km`` (0 for a zero-length segment);
  ``n_incidents`` = placed incidents with ``w_i > 0`` inside the kernel support;
- ``enforcement_exposure`` ``Z_s = sum_z intensity_z * length(s inside z) / length(s)`` over zones active in the
  window (see :func:`enforcement_exposure`);
- composite ``risk = 100 * (a * E_norm + b * Z_norm) / (a + b)`` with ``a = incident_weight``,
  ``b = enforcement_weight``, ``E_norm = min(E_s / c_E, 1)`` and ``Z_norm = min(Z_s / c_Z, 1)``, where ``c_E`` and
  ``c_Z`` are the 99th percentiles of the **non-zero** ``E_s`` and ``Z_s`` over the scored segments (robust to a
  few extreme segments; a term whose values are all zero contributes zero). The exposure, not the density, is
  normalised: because ``d_is`` is the distance to the whole segment, ``E_s`` does not grow in proportion to the
  segment's length, and dividing by length would inflate the short last segment of each route.
- ``risk_class`` 1-5 (5 = highest) by quantiles or Fisher-Jenks on ``risk`` (fewer classes when ``risk`` has
  fewer distinct values);
- ``risk_lo`` / ``risk_hi``: 5th / 95th percentiles of ``risk`` over ``bootstrap`` Poisson(1) re-weightings of the
  incidents (zones fixed), with the **same** ``c_E`` as the estimate, widened to include the estimate where the
  percentile interval misses it;
- ``evidence``: ``"low"`` for fewer than 3 supporting incidents (``n_incidents``), ``"medium"`` for 3-9,
  ``"high"`` for 10 or more;
- ``hotspot`` / ``p_value``: Getis-Ord Gi* of ``risk`` over distance-band neighbours (:mod:`routerisk.stats`).

The constants (``c_E``, ``c_Z``, CRS, counts) are recorded in ``result.attrs["routerisk"]`` for the manifest.
"""

from __future__ import annotations

import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm import tqdm  # plain bars: tqdm.auto warns in Jupyter without ipywidgets

from .crs import analysis_crs, check_same_crs
from .engine import exposure, kernel_matrix, segment_pieces
from .model import RiskModel
from .schema import DEFAULT_CATEGORY_WEIGHTS, LOCATION_SIGMA_M, WGS84, compute_severity, victims_factor
from .stats import classify, hotspots, poisson1_counts

__all__ = [
    "EVIDENCE_THRESHOLDS",
    "NORMALISATION_QUANTILE",
    "SCORE_COLUMNS",
    "enforcement_exposure",
    "incident_bandwidths",
    "incident_weights",
    "score_segments",
]

#: Columns added by :func:`score_segments`, in order.
SCORE_COLUMNS = (
    "incident_exposure",
    "incident_density",
    "n_incidents",
    "enforcement_exposure",
    "risk",
    "risk_class",
    "risk_lo",
    "risk_hi",
    "evidence",
    "hotspot",
    "p_value",
)
#: ``evidence`` is "low" below the first count of supporting incidents, "medium" below the second, else "high".
EVIDENCE_THRESHOLDS = (3, 10)
#: Quantile of the non-zero exposures used as the normalisation constant of ``risk``.
NORMALISATION_QUANTILE = 0.99
_BOOT_CELLS = 4_000_000  # incidents x replicates drawn at once
_MAX_BLOCK_PAIRS = 20_000_000  # (segment, incident) pairs held at once by the bootstrap (~320 MB)


def _dates(values) -> pd.Series:
    s = pd.to_datetime(pd.Series(values), errors="coerce")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s.dt.normalize()


def _reference_date(incidents, model: RiskModel, reference_date=None) -> pd.Timestamp | None:
    ref = reference_date if reference_date is not None else model.reference_date
    if ref is not None:
        return pd.Timestamp(ref).normalize()
    if "date" not in incidents or len(incidents) == 0:
        return None
    latest = _dates(incidents["date"].to_numpy()).max()
    return None if pd.isna(latest) else latest


def incident_weights(incidents: pd.DataFrame, model: RiskModel | None = None, reference_date=None) -> np.ndarray:
    """Weight ``w_i`` of each incident: severity x time decay, zero outside the time window.

    Severity is ``category_weights[category] * victims_factor(victims)`` (a missing ``category`` column counts as
    ``"other"``, missing ``victims`` as 1). Decay is ``2 ** (-age_days / half_life_days)`` with ages counted back
    from ``reference_date`` (argument, else ``model.reference_date``, else the latest incident date) and clipped
    at 0; ``half_life_days = 0`` disables it. Incidents without a date (NaT) are not decayed, and are excluded
    when a window is set (their membership cannot be known).

    Parameters
    ----------
    incidents : pandas.DataFrame
        Canonical incidents (``category``, ``victims``, ``date``).
    model : RiskModel, optional
    reference_date : date-like, optional
        Overrides ``model.reference_date``.

    Returns
    -------
    numpy.ndarray of float64, one weight per row

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"category": ["homicide", "robbery"], "victims": [1, 1],
    ...                     "date": pd.to_datetime(["2021-01-01", "2020-01-02"])})
    >>> incident_weights(inc, RiskModel(half_life_days=365)).round(3).tolist()
    [1.0, 0.15]
    """
    model = model or RiskModel()
    n = len(incidents)
    victims = incidents["victims"].fillna(1).to_numpy() if "victims" in incidents else np.ones(n)
    if "category" in incidents:
        weights = {**DEFAULT_CATEGORY_WEIGHTS, **dict(model.category_weights)}
        # one weight per distinct category (as compute_severity: unknown or missing counts as "other")
        cw = _lookup(incidents["category"], weights, weights["other"])
        cw = np.where(np.isnan(cw), weights["other"], cw)
        w = cw * victims_factor(victims, model.victims_factor)
    else:
        w = compute_severity(
            np.full(n, "other", dtype=object), victims, category_weights=dict(model.category_weights),
            how=model.victims_factor,
        )
    if "date" not in incidents:
        if model.window_start is not None or model.window_end is not None:
            w[:] = 0.0
        return w
    dates = _dates(incidents["date"].to_numpy())
    nat = dates.isna().to_numpy()
    ref = _reference_date(incidents, model, reference_date)
    if model.half_life_days > 0 and ref is not None:
        age = ((ref - dates).dt.total_seconds() / 86400.0).to_numpy(dtype=np.float64)
        age = np.where(nat, 0.0, np.maximum(age, 0.0))
        w = w * np.exp2(-age / model.half_life_days)
    if model.window_start is not None or model.window_end is not None:
        inside = ~nat
        if model.window_start is not None:
            inside &= (dates >= pd.Timestamp(model.window_start)).to_numpy()
        if model.window_end is not None:
            inside &= (dates <= pd.Timestamp(model.window_end)).to_numpy()
        w = np.where(inside, w, 0.0)
    return w


def incident_bandwidths(incidents: pd.DataFrame, model: RiskModel | None = None) -> np.ndarray:
    """Per-incident bandwidth ``h_i = sqrt(bandwidth_m**2 + sigma_i**2)`` in metres.

    ``sigma_i`` comes from :data:`routerisk.schema.LOCATION_SIGMA_M` by ``location_precision`` (missing column:
    exact; an unrecognised value: as ``"unknown"``). State-level incidents get NaN: they are not placed on
    segments.

    Parameters
    ----------
    incidents : pandas.DataFrame
    model : RiskModel, optional

    Returns
    -------
    numpy.ndarray of float64

    Examples
    --------
    >>> import pandas as pd
    >>> inc = pd.DataFrame({"location_precision": ["exact", "municipality", "state"]})
    >>> incident_bandwidths(inc, RiskModel(bandwidth_m=20000)).round(0).tolist()
    [20000.0, 25000.0, nan]
    """
    model = model or RiskModel()
    n = len(incidents)
    if "location_precision" not in incidents:
        return np.full(n, model.bandwidth_m)
    sigma_map = {k: (np.nan if v is None else float(v)) for k, v in LOCATION_SIGMA_M.items()}
    sigma = _lookup(incidents["location_precision"], sigma_map, sigma_map["unknown"])  # one sigma per distinct value
    return np.sqrt(model.bandwidth_m**2 + sigma**2)


def _lookup(values, table: dict, default: float) -> np.ndarray:
    """``table[v]`` (``default`` for a value not in ``table`` or missing) for each value, one lookup per distinct value.

    Equivalent to ``pd.Series(values, dtype=object).map(table)`` with ``default`` for the misses, without a
    Python object per row: categoricals use their codes, anything else is factorized first.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if isinstance(s.dtype, pd.CategoricalDtype):
        codes, uniques = s.cat.codes.to_numpy(), s.cat.categories
    else:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
    found = pd.Series(np.asarray(uniques, dtype=object), dtype=object).map(table).to_numpy(dtype=np.float64)
    known = pd.Series(np.asarray(uniques, dtype=object), dtype=object).isin(list(table)).to_numpy()
    lut = np.append(np.where(known, found, default), default)  # code -1 (missing) reads the last entry
    return lut[codes]


def _active_zones(zones: pd.DataFrame, model: RiskModel) -> np.ndarray:
    n = len(zones)
    active = np.ones(n, dtype=bool)
    if model.window_end is not None and "start_date" in zones:
        start = _dates(zones["start_date"].to_numpy())
        active &= (start.isna() | (start <= pd.Timestamp(model.window_end))).to_numpy()
    if model.window_start is not None and "end_date" in zones:
        end = _dates(zones["end_date"].to_numpy())
        active &= (end.isna() | (end >= pd.Timestamp(model.window_start))).to_numpy()
    return active


def enforcement_exposure(segments: gpd.GeoSeries, zones: gpd.GeoDataFrame | None, model: RiskModel | None = None):
    """Enforcement exposure ``Z_s = sum_z intensity_z * length(s inside z) / length(s)``.

    Only zones active at some time in the model's window count (all zones when no window is set); a zone with
    no ``intensity`` counts 1; a Point zone with ``radius_m`` is buffered by it. Overlapping zones add up.
    A zero-length segment inside a zone counts fully.

    Parameters
    ----------
    segments : geopandas.GeoSeries
        Segment lines in a projected CRS (metres).
    zones : geopandas.GeoDataFrame or None
        Canonical zones in the same CRS.
    model : RiskModel, optional

    Returns
    -------
    numpy.ndarray of float64, one value per segment

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, box
    >>> seg = gpd.GeoSeries([LineString([(0, 0), (10, 0)])], crs="EPSG:6372")
    >>> z = gpd.GeoDataFrame({"intensity": [2.0]}, geometry=[box(-1, -1, 4, 1)], crs="EPSG:6372")
    >>> enforcement_exposure(seg, z).tolist()
    [0.8]
    """
    model = model or RiskModel()
    geoms = np.asarray(segments.values if hasattr(segments, "values") else segments, dtype=object)
    out = np.zeros(len(geoms))
    if zones is None or len(zones) == 0 or len(geoms) == 0:
        return out
    active = _active_zones(zones, model)
    zg = np.asarray(zones.geometry.values, dtype=object)
    if "radius_m" in zones:
        radius = pd.to_numeric(zones["radius_m"], errors="coerce").to_numpy(dtype=np.float64)
        is_point = shapely.get_type_id(zg) == shapely.GeometryType.POINT
        buf = is_point & np.isfinite(radius) & (radius > 0)
        zg = zg.copy()
        zg[buf] = shapely.buffer(zg[buf], radius[buf], quad_segs=32)
    intensity = (
        pd.to_numeric(zones["intensity"], errors="coerce").fillna(1.0).to_numpy(dtype=np.float64)
        if "intensity" in zones
        else np.ones(len(zones))
    )
    keep = active & ~shapely.is_missing(zg) & ~shapely.is_empty(zg) & (intensity != 0)
    zg, intensity = zg[keep], intensity[keep]
    if len(zg) == 0:
        return out
    tree = shapely.STRtree(zg)
    si, zi = tree.query(geoms, predicate="intersects")
    if len(si) == 0:
        return out
    seg_len = shapely.length(geoms)
    inside = shapely.length(shapely.intersection(geoms[si], zg[zi]))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(seg_len[si] > 0, np.clip(inside / seg_len[si], 0.0, 1.0), 1.0)
    return np.bincount(si, weights=intensity[zi] * frac, minlength=len(geoms))


def _normaliser(values: np.ndarray) -> float:
    positive = values[values > 0]
    return float(np.quantile(positive, NORMALISATION_QUANTILE)) if len(positive) else 0.0


def _scale(values: np.ndarray, c: float) -> np.ndarray:
    if c <= 0:
        return np.zeros_like(values, dtype=np.float64)
    return np.minimum(values / c, 1.0)


def _evidence(n: np.ndarray) -> np.ndarray:
    lo, hi = EVIDENCE_THRESHOLDS
    return np.where(n < lo, "low", np.where(n < hi, "medium", "high")).astype(object)


def score_segments(
    segments: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame | pd.DataFrame,
    *,
    zones: gpd.GeoDataFrame | None = None,
    model: RiskModel | None = None,
    backend: str = "auto",
) -> gpd.GeoDataFrame:
    """Score every segment: exposures, composite risk, class, bootstrap interval, evidence and hot spots.

    See the module docstring for the formulas. Inputs are projected to the analysis CRS
    (:func:`routerisk.analysis_crs` of the data's extent and ``model.crs``); the result keeps the input CRS.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Segment LineStrings (any CRS, typically EPSG:4326).
    incidents : geopandas.GeoDataFrame or pandas.DataFrame
        Canonical incident points, same CRS as ``segments``; or a table of incidents with float ``lon`` and
        ``lat`` columns in EPSG:4326 instead of a geometry (``read_incidents(..., geometry=False)``), which
        scores the same without holding a shapely Point per incident.
    zones : geopandas.GeoDataFrame, optional
        Canonical enforcement zones, same CRS as ``segments``.
    model : RiskModel, optional
        Parameters; default ``RiskModel()``.
    backend : {"auto", "numba", "numpy"}
        Exposure engine (see :func:`routerisk.engine.exposure`).

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``segments`` (same index and CRS) with the columns of :data:`SCORE_COLUMNS`;
        ``result.attrs["routerisk"]`` holds the normalisation constants, CRS and counts.

    Raises
    ------
    routerisk.CRSMismatchError
        If the layers have different (or undefined) CRSs.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> seg = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (5000, 0)]), LineString([(5000, 0), (10000, 0)])],
    ...                        crs="EPSG:6372")
    >>> inc = gpd.GeoDataFrame({"category": ["homicide"]}, geometry=[Point(1000, 0)], crs="EPSG:6372")
    >>> out = score_segments(seg, inc, model=RiskModel(bandwidth_m=5000, crs="EPSG:6372", permutations=0))
    >>> out[["incident_exposure", "risk", "evidence"]].round(2).values.tolist()
    [[1.0, 80.0, 'low'], [0.13, 10.46, 'low']]
    """
    model = model or RiskModel()
    layers = [("segments", segments)]
    if not _is_lonlat_table(incidents):  # a lon/lat table is EPSG:4326 by definition
        layers.append(("incidents", incidents))
    if zones is not None:
        layers.append(("zones", zones))
    check_same_crs(*layers)

    bounds = _wgs84_bounds(segments)
    crs = analysis_crs(bounds, model.crs)
    seg_geoms = np.asarray(segments.geometry.to_crs(crs).values, dtype=object)
    nseg = len(seg_geoms)

    w = incident_weights(incidents, model)
    h = incident_bandwidths(incidents, model)
    xy = _projected_point_xy(incidents, crs)
    if xy is not None:  # points: project their coordinates, not the geometries (no second set of Points)
        x, y, valid_pt = xy
        placed = valid_pt & np.isfinite(h) & (w > 0)
        pts = np.column_stack([x[placed], y[placed]])
    else:
        inc_geoms = np.asarray(incidents.geometry.to_crs(crs).values, dtype=object)
        valid_pt = ~shapely.is_missing(inc_geoms) & ~shapely.is_empty(inc_geoms)
        placed = valid_pt & np.isfinite(h) & (w > 0)
        pts = _point_xy(inc_geoms[placed])
    wp, hp = w[placed], h[placed]

    xy0, xy1, ps = segment_pieces(seg_geoms)
    E, n_inc = exposure(xy0, xy1, pts, wp, hp, model.kernel, piece_segment=ps, n_segments=nseg, backend=backend)

    length_km = shapely.length(seg_geoms) / 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(length_km > 0, E / length_km, 0.0)
    Z = enforcement_exposure(gpd.GeoSeries(seg_geoms, crs=crs), _project(zones, crs), model)

    a, b = model.incident_weight, model.enforcement_weight
    cE, cZ = _normaliser(E), _normaliser(Z)
    zpart = b * _scale(Z, cZ)
    risk = 100.0 * (a * _scale(E, cE) + zpart) / (a + b)

    risk_lo, risk_hi = risk.copy(), risk.copy()
    if model.bootstrap > 0 and n_inc.sum() > 0:
        pieces = (xy0, xy1, ps, pts, hp)
        lo, hi = _bootstrap(pieces, n_inc, wp, cE, zpart, a, b, model, backend)
        risk_lo, risk_hi = np.minimum(lo, risk), np.maximum(hi, risk)

    mid = shapely.get_coordinates(shapely.line_interpolate_point(seg_geoms, 0.5, normalized=True))
    if len(mid) != nseg:  # empty geometries give no midpoint; place them far away so they are islands
        mid = np.full((nseg, 2), np.nan)
        ok = ~shapely.is_empty(seg_geoms) & ~shapely.is_missing(seg_geoms)
        mid[ok] = shapely.get_coordinates(shapely.line_interpolate_point(seg_geoms[ok], 0.5, normalized=True))
    hs = hotspots(risk, mid, distance_m=model.neighbour_band_m, permutations=model.permutations, seed=model.seed)

    out = segments.copy()
    out["incident_exposure"] = E
    out["incident_density"] = density
    out["n_incidents"] = n_inc
    out["enforcement_exposure"] = Z
    out["risk"] = risk
    out["risk_class"] = classify(risk, model.classes, 5)
    out["risk_lo"] = risk_lo
    out["risk_hi"] = risk_hi
    out["evidence"] = _evidence(n_inc)
    out["hotspot"] = hs["hotspot"].to_numpy()
    out["p_value"] = hs["p_value"].to_numpy()
    ref = _reference_date(incidents, model)
    out.attrs["routerisk"] = {
        "model": model.to_dict(),
        "analysis_crs": crs.to_string(),
        "reference_date": None if ref is None else ref.date().isoformat(),
        "exposure_normaliser": cE,
        "enforcement_normaliser": cZ,
        "normalisation_quantile": NORMALISATION_QUANTILE,
        "evidence_thresholds": list(EVIDENCE_THRESHOLDS),
        "n_segments": int(nseg),
        "n_incidents": len(incidents),
        "n_incidents_placed": int(placed.sum()),
        "n_incidents_unplaced": int((valid_pt & ~np.isfinite(h)).sum()),
        "n_incidents_zero_weight": int((w <= 0).sum()),
        "n_zones": 0 if zones is None else len(zones),
    }
    return out


def _wgs84_bounds(layer: gpd.GeoDataFrame):
    if len(layer) == 0:
        return None
    if layer.crs is not None and layer.crs.is_geographic:
        return tuple(layer.total_bounds)
    return tuple(layer.geometry.to_crs(WGS84).total_bounds)


def _project(zones, crs):
    if zones is None or len(zones) == 0:
        return zones
    return zones.to_crs(crs)


def _incident_lonlat(incidents) -> tuple[np.ndarray, np.ndarray, object] | None:
    """``(x, y, crs)`` of the incidents: a lon/lat table's columns (EPSG:4326) or the coordinates of Points.

    ``incidents`` is a GeoDataFrame of points or a table with float ``lon`` / ``lat`` columns (as from
    ``read_incidents(..., geometry=False)``). Missing and empty points give NaN. None when some geometry is not
    a Point (the caller then works on the geometries).
    """
    if not _is_lonlat_table(incidents):
        geoms = np.asarray(incidents.geometry.values, dtype=object)
        x, y = np.full(len(geoms), np.nan), np.full(len(geoms), np.nan)
        if len(geoms) == 0:
            return x, y, incidents.crs
        type_id = shapely.get_type_id(geoms)
        if not np.all((type_id == shapely.GeometryType.POINT) | (type_id == shapely.GeometryType.MISSING)):
            return None
        valid = (type_id == shapely.GeometryType.POINT) & ~shapely.is_empty(geoms)
        if valid.all():
            x[:], y[:] = shapely.get_x(geoms), shapely.get_y(geoms)
        else:
            ok = geoms[valid]
            x[valid], y[valid] = shapely.get_x(ok), shapely.get_y(ok)
        return x, y, incidents.crs
    from pyproj import CRS

    x = pd.to_numeric(incidents["lon"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    y = pd.to_numeric(incidents["lat"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(x) | np.isnan(y)
    if missing.any():
        x, y = np.where(missing, np.nan, x), np.where(missing, np.nan, y)
    return x, y, CRS.from_user_input(WGS84)


def _is_lonlat_table(incidents) -> bool:
    """True for a table of incidents with ``lon`` / ``lat`` columns and no active geometry."""
    if isinstance(incidents, gpd.GeoDataFrame) and incidents._geometry_column_name in incidents.columns:
        return False
    return "lon" in incidents and "lat" in incidents


def _projected_point_xy(incidents, crs) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(x, y, valid)`` of point incidents in ``crs``, or None when some geometry is not a Point.

    The coordinates are projected with a pyproj Transformer (the values ``GeoSeries.to_crs`` gives, bit for bit)
    instead of building a projected copy of every Point; missing and empty points get NaN and ``valid = False``.
    """
    from pyproj import CRS, Transformer

    lonlat = _incident_lonlat(incidents)
    if lonlat is None:
        return None
    x, y, src = lonlat
    valid = ~np.isnan(x)
    dst = CRS.from_user_input(crs)
    if len(x) and src is not None and not CRS.from_user_input(src).is_exact_same(dst):
        x, y = Transformer.from_crs(src, dst, always_xy=True).transform(x, y)
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if not valid.all():
            x, y = np.where(valid, x, np.nan), np.where(valid, y, np.nan)
    return x, y, valid


def _point_xy(geoms: np.ndarray) -> np.ndarray:
    """Coordinates of point geometries (centroids of anything else)."""
    if len(geoms) == 0:
        return np.empty((0, 2))
    if np.all(shapely.get_type_id(geoms) == shapely.GeometryType.POINT):
        return shapely.get_coordinates(geoms)
    return shapely.get_coordinates(shapely.centroid(geoms))


def _bootstrap(pieces, n_pairs, w, cE, zpart, a, b, model: RiskModel, backend) -> tuple[np.ndarray, np.ndarray]:
    """5th/95th percentiles of risk over Poisson(1) re-weightings of the incidents, same normaliser ``cE``.

    Replicate r multiplies incident i's weight by the count ``poisson1_counts(seed, i, r)``, a pure function of
    (seed, incident, replicate), so the result does not depend on how the work is split. The (segment, incident)
    kernel values are computed once per block of segments (at most ``_MAX_BLOCK_PAIRS`` pairs, bounding memory)
    and re-weighted for every replicate without a new spatial query; zones are held fixed.
    """
    xy0, xy1, ps, pts, h = pieces
    nseg, n_rep = len(n_pairs), model.bootstrap
    piece_ptr = np.searchsorted(ps, np.arange(nseg + 1))
    lo_out, hi_out = np.zeros(nseg), np.zeros(nseg)
    bounds = _blocks(n_pairs, _MAX_BLOCK_PAIRS)
    step = max(1, min(n_rep, _BOOT_CELLS // max(len(pts), 1)))
    total = len(bounds) * n_rep
    with tqdm(total=total, desc="bootstrap", unit="rep", file=sys.stderr, disable=None, leave=False) as bar:
        for s0, s1 in bounds:
            p0, p1 = piece_ptr[s0], piece_ptr[s1]
            K = kernel_matrix(
                xy0[p0:p1], xy1[p0:p1], pts, h, model.kernel, piece_segment=ps[p0:p1] - s0, n_segments=s1 - s0,
                backend=backend,
            )
            used = np.flatnonzero(np.bincount(K.indices, minlength=K.shape[1]))  # incidents that reach the block
            K, wu = K[:, used], w[used]
            reps = np.empty((s1 - s0, n_rep), dtype=np.float32)
            for r0 in range(0, n_rep, step):
                r1 = min(r0 + step, n_rep)
                P = poisson1_counts(model.seed, used, r0, r1)
                Eb = np.asarray(K @ (P * wu[:, None]))
                reps[:, r0:r1] = 100.0 * (a * _scale(Eb, cE) + zpart[s0:s1, None]) / (a + b)
                bar.update(r1 - r0)
            q = np.percentile(reps, [5.0, 95.0], axis=1)
            lo_out[s0:s1], hi_out[s0:s1] = q[0], q[1]
    return lo_out, hi_out


def _blocks(n_pairs: np.ndarray, max_pairs: int) -> list[tuple[int, int]]:
    """Contiguous segment ranges holding at most ``max_pairs`` pairs each (a single heavier segment stands alone)."""
    out, start, acc = [], 0, 0
    for s, n in enumerate(n_pairs.tolist()):
        if acc and acc + n > max_pairs:
            out.append((start, s))
            start, acc = s, 0
        acc += n
    out.append((start, len(n_pairs)))
    return out
