"""Score route segments: incident exposure and its interval, the two risk terms, classes, evidence, hot spots.

The model, as implemented (parameters from :class:`routerisk.RiskModel`, distances in the analysis CRS; the
formulas are explained in ``docs/model.md``):

- weight of incident i: ``w_i = category_weight[category_i] * victims_factor(victims_i) * D_i`` with time decay
  ``D_i = 2 ** (-age_i / half_life_days)`` (``age_i`` in days before the reference date, >= 0; ``D_i = 1`` when
  ``half_life_days = 0`` or the date is NaT); ``w_i = 0`` outside ``[window_start, window_end]``
  (see :func:`incident_weights`);
- bandwidth ``h_i = sqrt(bandwidth_m**2 + sigma_i**2)`` by location precision; state-level incidents are not placed
  (see :func:`incident_bandwidths`). A widened kernel keeps the record's total mass: its weight is multiplied by
  ``f_i`` (about ``(bandwidth_m / h_i)**2``, see :func:`precision_factor`);
- ``incident_exposure`` ``E_s = sum_i c_i`` with ``c_i = w_i f_i K(d_is; h_i)`` and ``d_is`` the exact
  distance from the incident to the segment (:mod:`routerisk.engine`); ``incident_density = E_s / length_km``;
  ``n_incidents`` = placed incidents with ``w_i > 0`` inside the kernel support;
- ``incident_exposure_lo`` / ``_hi``: 90 % gamma interval for the expected exposure (:mod:`routerisk.intervals`);
- ``enforcement_exposure`` ``Z_s = sum_z intensity_z * length(s inside z) / length(s)`` over zones active in the
  window (see :func:`enforcement_exposure`);
- fixed scales: ``incident_risk = 100 r / (r + risk_reference)`` with the rate ``r = E_s / T_eff`` (``T_eff`` the
  effective years of observation), ``enforcement_risk = 100 Z / (Z + enforcement_reference)``,
  ``composite_risk = (a incident_risk + b enforcement_risk) / (a + b)``; ``risk`` is the layer named by
  ``risk_layer``, ``risk_lo`` / ``risk_hi`` its interval (the incident term's through the same transform, zones
  fixed), ``risk_percentile`` its within-run percentile rank;
- ``risk_class`` 1-5 (5 = highest): fixed breaks 20/40/60/80 of ``risk`` by default (comparable between runs), or
  within-run quantiles / Fisher-Jenks;
- ``evidence``: ``"low"`` for fewer than 3 supporting incidents (``n_incidents``), ``"medium"`` for 3-9,
  ``"high"`` for 10 or more;
- ``hotspot`` / ``p_value`` / ``gi_z``: exact binomial test of the incidents attributed to each segment's network
  neighbourhood (:func:`routerisk.stats.segment_hotspots`; see ``docs/hotspots.md``).

The constants (``T_eff``, the references, the months each term sums, warnings, CRS, counts) are recorded in
``result.attrs["routerisk"]`` for the manifest.

The per-incident weights, bandwidths and precision factor are computed in :mod:`routerisk._weights` and
re-exported here; this module places the incidents, runs the engine and assembles the scored table.
"""

from __future__ import annotations

import copy
from concurrent.futures import Future
from typing import NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _terms
from ._coords import (  # noqa: F401
    ProjectedSegments,
    _incident_lonlat,
    _is_lonlat_table,
    _point_xy,
    _project,
    _projected_point_xy,
    _projected_point_xy_start,
    _wgs84_bounds,
)
from ._scoring_hotspots import check_flow, score_hotspots
from ._terms import (  # noqa: F401
    _active_zones,
    _dates,
    _mean_decay,
    _median_weight,
    _observation,
    _zone_months,
    enforcement_exposure,
)
from ._weights import (
    _bandwidth_codes,
    _incident_dates,
    _incident_weights,
    _month_summary,
    _reference_date,
    incident_bandwidths,
    incident_weights,
    precision_factor,
)
from .crs import PARALLEL_MIN, _pool, analysis_crs, check_same_crs, in_pool
from .engine import exposure
from .intervals import C_FLOOR, INTERVAL_LEVEL, exposure_interval, mean_reach_kernel
from .model import KERNEL_SUPPORT, RiskModel
from .stats import CLASS_BREAKS, classify, fixed_classes

__all__ = [
    "CLASS_BREAKS",
    "EVIDENCE_THRESHOLDS",
    "SCORE_COLUMNS",
    "enforcement_exposure",
    "fixed_classes",
    "incident_bandwidths",
    "incident_exposure",
    "incident_weights",
    "precision_factor",
    "score_segments",
]

#: Columns added by :func:`score_segments`, in order.
SCORE_COLUMNS = (
    "incident_exposure",
    "incident_exposure_lo",
    "incident_exposure_hi",
    "incident_density",
    "n_incidents",
    "enforcement_exposure",
    "incident_risk",
    "enforcement_risk",
    "composite_risk",
    "risk",
    "risk_lo",
    "risk_hi",
    "risk_percentile",
    "risk_class",
    "evidence",
    "hotspot",
    "p_value",
    "gi_z",
)
#: ``evidence`` is "low" below the first count of supporting incidents, "medium" below the second, else "high".
EVIDENCE_THRESHOLDS = (3, 10)


def _saturate(x: np.ndarray, ref: float) -> np.ndarray:
    """``100 x / (x + ref)``: 0 at 0, 50 at ``ref``, below 100 for any finite ``x`` (no flat cap)."""
    x = np.asarray(x, dtype=np.float64)
    return 100.0 * x / (x + ref)


def _evidence(n: np.ndarray):
    """``"low"`` / ``"medium"`` / ``"high"`` by :data:`EVIDENCE_THRESHOLDS`, as a text column (see :func:`_labels`)."""
    lo, hi = EVIDENCE_THRESHOLDS
    n = np.asarray(n)
    return _labels((n >= lo).astype(np.int32) + (n >= hi), ("low", "medium", "high"))


def _text_dtype():
    """The dtype pandas gives a column of Python strings (``str`` on pyarrow in pandas 3, else object; asked each
    time, as pandas' options may change)."""
    return pd.Series(np.array(["x"], dtype=object)).dtype


def _labels(codes: np.ndarray, labels: tuple[str, ...]):
    """``labels[codes]`` as the column pandas would make of those strings, without a Python object per row.

    With pandas' pyarrow strings the column is a pyarrow ``take`` of the labels; otherwise an object array.
    """
    dtype = _text_dtype()
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        import pyarrow as pa

        text = pa.array(list(labels), type=pa.large_string()).take(pa.array(np.asarray(codes, dtype=np.int32)))
        return pd.array(text, dtype=dtype)
    return np.array(labels, dtype=object)[codes]


def score_segments(
    segments: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame | pd.DataFrame,
    *,
    zones: gpd.GeoDataFrame | None = None,
    model: RiskModel | None = None,
    backend: str = "auto",
    inference: bool = True,
) -> gpd.GeoDataFrame:
    """Score every segment: exposure and its interval, the two risk terms, class, evidence and hot spots.

    See the module docstring and ``docs/model.md`` for the formulas. Inputs are projected to the analysis CRS
    (:func:`routerisk.analysis_crs` of the data's extent and ``model.crs``); the result keeps the input CRS.
    ``risk`` is on a fixed scale: a segment's score does not depend on which other segments are scored with it.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Segment LineStrings (any CRS, typically EPSG:4326). An optional numeric ``flow`` column (>= 0) replaces
        the segment length as the null share of the hot-spot test (e.g. estimated people per segment).
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
    inference : bool, default True
        Compute the statistical inference: the 90 % intervals (``incident_exposure_lo`` / ``_hi``, ``risk_lo`` /
        ``_hi``) and the network hot-spot test (``hotspot``, ``p_value``, ``gi_z``). ``False`` skips the
        interval moments, the attribution of records to segments, the adjacency and neighbourhoods and the
        binomial test: the columns are kept (same schema) with NaN, and ``"not tested"`` in ``hotspot``; every
        other column is identical to the default call's. The pipeline and the CLI always use ``True``.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy of ``segments`` (same index and CRS) with the columns of :data:`SCORE_COLUMNS`;
        ``result.attrs["routerisk"]`` holds the constants of the scales (effective years, references), the
        layer shown as ``risk``, the months each term sums, warnings, the CRS, counts and ``"inference"``.

    Raises
    ------
    routerisk.CRSMismatchError
        If the layers have different (or undefined) CRSs.
    routerisk.InputError
        If a ``flow`` column holds negative or non-numeric values.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> seg = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (5000, 0)]), LineString([(5000, 0), (10000, 0)])],
    ...                        crs="EPSG:6372")
    >>> inc = gpd.GeoDataFrame({"category": ["homicide"]}, geometry=[Point(1000, 0)], crs="EPSG:6372")
    >>> out = score_segments(seg, inc, model=RiskModel(bandwidth_m=5000, crs="EPSG:6372"))
    >>> out[["incident_exposure", "risk", "risk_class", "evidence"]].round(2).values.tolist()
    [[1.0, 66.67, 4, 'low'], [0.13, 20.58, 2, 'low']]
    >>> lean = score_segments(seg, inc, model=RiskModel(bandwidth_m=5000, crs="EPSG:6372"), inference=False)
    >>> lean["risk"].equals(out["risk"]), bool(lean["risk_hi"].isna().all()), lean["hotspot"].unique().tolist()
    (True, True, ['not tested'])
    """
    model = model or RiskModel()
    crs = _check_layers(segments, incidents, zones, model)
    segs, dates, ref, inc = _prepare_layers(segments, incidents, model, crs)
    E, n_inc, *moments = exposure(
        segs.xy0, segs.xy1, inc.pts, inc.wp, inc.hp, model.kernel, piece_segment=segs.piece_segment,
        n_segments=segs.n, backend=backend, moments=inference,
    )
    window, years, warnings = _observation(incidents, inc.w, model, ref, dates)
    if inference:
        # "one more record": median category x mean decay over the window x mean kernel over the segment's reach
        c0_weight = _median_weight(model) * _mean_decay(window, years)
        reach_kernel = mean_reach_kernel(model.kernel, model.bandwidth_m, segs.length)
        # on the worker pool (gammaincinv releases the GIL) while this thread runs the hot-spot test below
        interval = _submit(exposure_interval, E, *moments, c0_weight * reach_kernel)
    else:
        c0_weight, interval = None, None
    has_zones = zones is not None and len(zones) > 0
    Z = enforcement_exposure(gpd.GeoSeries(segs.geoms, crs=crs), _project(zones, crs), model) if has_zones else (
        np.zeros(segs.n))  # fmt: skip
    inc_months = _month_summary(dates, inc.placed)
    zone_months = _zone_months(zones, model)
    overlap = _terms.overlap_warning(inc_months, zone_months)
    if overlap:
        warnings.append(overlap)
    for msg in warnings:
        _terms.log.warning("%s", msg)
    if inference:
        # hot spots read only the count and emptiness of the input geometries; distances use the projected pieces
        hs = score_hotspots(segs.raw, segs.length, segments, inc.pts, KERNEL_SUPPORT[model.kernel] * inc.hp, model,
                            segs.pieces)  # fmt: skip
        n_attributed = int(hs.attrs.get("n_attributed", 0))
    else:
        check_flow(segments, segs.length)  # a bad `flow` column is refused whether or not it is used
        hs, n_attributed = None, None

    out = _assemble(segments, model, E, None if interval is None else interval.result(), n_inc, Z, years,
                    segs.length, hs)  # fmt: skip
    out.attrs["routerisk"] = {
        "model": model.to_dict(),
        "analysis_crs": crs.to_string(),
        "reference_date": None if ref is None else ref.date().isoformat(),
        "risk_layer": model.risk_layer,
        "observation_window": window,
        "effective_years": years,
        "risk_reference": model.risk_reference,
        "enforcement_reference": model.enforcement_reference,
        "class_breaks": list(CLASS_BREAKS) if model.classes == "fixed" else None,
        "inference": bool(inference),
        "interval_level": INTERVAL_LEVEL if inference else None,
        "interval_c0_weight": c0_weight,
        "interval_c_floor": C_FLOOR if inference else None,
        "incident_months": inc_months,
        "zone_months": zone_months,
        "warnings": warnings,
        "evidence_thresholds": list(EVIDENCE_THRESHOLDS),
        "n_segments": int(segs.n),
        "n_incidents": len(incidents),
        "n_incidents_placed": int(inc.placed.sum()),
        "n_incidents_unplaced": int((inc.valid & ~np.isfinite(inc.h)).sum()),
        "n_incidents_zero_weight": int((inc.w <= 0).sum()),
        "n_incidents_attributed": n_attributed,
        "n_zones": 0 if zones is None else len(zones),
    }
    return out


def incident_exposure(
    segments: gpd.GeoDataFrame,
    incidents: gpd.GeoDataFrame | pd.DataFrame,
    *,
    model: RiskModel | None = None,
    backend: str = "auto",
) -> np.ndarray:
    """``incident_exposure`` of every segment alone: the kernel sum of :func:`score_segments`, without intervals,
    risk terms or hot spots (what a comparison of bandwidths or kernels needs).

    Parameters
    ----------
    segments, incidents, model, backend
        As for :func:`score_segments`.

    Returns
    -------
    numpy.ndarray of float64, one value per segment (equal to ``score_segments(...)["incident_exposure"]``)

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> seg = gpd.GeoDataFrame(geometry=[LineString([(0, 0), (5000, 0)])], crs="EPSG:6372")
    >>> inc = gpd.GeoDataFrame(geometry=[Point(1000, 0)], crs="EPSG:6372")
    >>> incident_exposure(seg, inc, model=RiskModel(bandwidth_m=5000, crs="EPSG:6372")).round(2).tolist()
    [0.3]
    """
    model = model or RiskModel()
    crs = _check_layers(segments, incidents, None, model)
    segs = ProjectedSegments(segments, crs)
    inc = _placed_incidents(incidents, model, crs)
    E, _ = exposure(
        segs.xy0, segs.xy1, inc.pts, inc.wp, inc.hp, model.kernel, piece_segment=segs.piece_segment,
        n_segments=segs.n, backend=backend,
    )
    return E


def _submit(fn, *args) -> Future:
    """``fn(*args)`` on routerisk's worker pool for arrays of :data:`PARALLEL_MIN` or more, else at once (a future
    either way, whose ``result()`` re-raises an error of ``fn``)."""
    if len(args[0]) >= PARALLEL_MIN and not in_pool():
        return _pool().submit(fn, *args)
    done: Future = Future()
    try:
        done.set_result(fn(*args))
    except Exception as exc:  # re-raised by result(), as from the pool
        done.set_exception(exc)
    return done


def _prepare_layers(segments, incidents, model: RiskModel, crs):
    """The projected segments, the incidents' normalised dates, the reference date and the placed incidents.

    This thread reads the coordinates of both layers and starts their projection on routerisk's worker pool
    (PROJ releases the GIL), then computes the weights and bandwidths while the pool transforms. An error in the
    segments is raised first, as when the two layers are done in turn.
    """
    try:  # the larger transform first, so that it overlaps the rest
        pending = _projected_point_xy_start(incidents, crs) or (lambda: None)  # None: not all Points
    except BaseException:
        ProjectedSegments.start(segments, crs)()
        raise
    finish_segments = ProjectedSegments.start(segments, crs)
    try:
        dates = _incident_dates(incidents)  # normalised once for the weights, the window and the months
        ref = _reference_date(incidents, model, dates=dates)
        inc = _placed_incidents(incidents, model, crs, dates, ref, pending)
    except BaseException:
        finish_segments()
        raise
    return finish_segments(), dates, ref, inc


def _check_layers(segments, incidents, zones, model: RiskModel):
    """Raise on a CRS mismatch between the layers; return the analysis CRS of the segments' extent."""
    layers = [("segments", segments)]
    if not _is_lonlat_table(incidents):  # a lon/lat table is EPSG:4326 by definition
        layers.append(("incidents", incidents))
    if zones is not None:
        layers.append(("zones", zones))
    check_same_crs(*layers)
    # the extent matters only when the CRS is chosen from it
    return analysis_crs(_wgs84_bounds(segments) if model.crs == "auto" else None, model.crs)


class _Placed(NamedTuple):
    """Incidents as the engine sees them: weights and bandwidths of all, coordinates of the placed ones."""

    w: np.ndarray
    h: np.ndarray
    valid: np.ndarray
    placed: np.ndarray
    pts: np.ndarray
    hp: np.ndarray
    wp: np.ndarray


def _placed_incidents(incidents, model: RiskModel, crs, dates=None, ref=None, pending=None) -> _Placed:
    """Weights, bandwidths and projected coordinates; placed = a valid point, a finite bandwidth and ``w > 0``.

    ``dates`` and ``ref`` are the normalised dates and the reference date (computed here when not given);
    ``pending`` is ``_projected_point_xy_start(incidents, crs)`` when the projection is already under way.
    """
    if dates is None:
        dates = _incident_dates(incidents)
        ref = _reference_date(incidents, model, dates=dates)
    w = _incident_weights(incidents, model, dates, ref)
    h_code, h_lut = _bandwidth_codes(incidents, model)
    h = h_lut[h_code]
    xy = pending() if pending is not None else _projected_point_xy(incidents, crs)
    if xy is not None:  # points: project their coordinates, not the geometries (no second set of Points)
        x, y, valid = xy
        placed = valid & np.isfinite(h) & (w > 0)
        pts = np.column_stack([x[placed], y[placed]])
    else:
        inc_geoms = np.asarray(incidents.geometry.to_crs(crs).values, dtype=object)
        valid = ~shapely.is_missing(inc_geoms) & ~shapely.is_empty(inc_geoms)
        placed = valid & np.isfinite(h) & (w > 0)
        pts = _point_xy(inc_geoms[placed])
    hp = h[placed]
    # the precision factor of each distinct bandwidth: elementwise the same values as precision_factor(hp)
    return _Placed(w, h, valid, placed, pts, hp, w[placed] * precision_factor(h_lut, model)[h_code[placed]])


def _assemble(segments, model: RiskModel, E, interval, n_inc, Z, years, seg_len, hs) -> gpd.GeoDataFrame:
    """The output table: a copy of ``segments`` with the columns of :data:`SCORE_COLUMNS`.

    ``interval`` (``(lower, upper)`` of the exposure) and ``hs`` (the hot-spot table) are None without inference:
    their columns are then NaN and ``"not tested"``.
    """
    n = len(E)
    length_km = seg_len / 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(length_km > 0, E / length_km, 0.0)
    a, b = model.incident_weight, model.enforcement_weight
    enf_risk = _saturate(Z, model.enforcement_reference)

    def shown(value):  # the layer shown as `risk` of an exposure (the zones fixed)
        term = _saturate(value / years, model.risk_reference)
        return term, (term if model.risk_layer == "incident" else (a * term + b * enf_risk) / (a + b))

    inc_risk, risk = shown(E)
    # the rank (a sort, which releases the GIL) on the worker pool while this thread builds the other columns
    percentile = _pool().submit(_percentile, risk) if n >= PARALLEL_MIN and not in_pool() else None
    composite = risk if model.risk_layer != "incident" else (a * inc_risk + b * enf_risk) / (a + b)
    if interval is None:
        lo, hi, risk_lo, risk_hi = (np.full(n, np.nan) for _ in range(4))
    else:
        (lo, hi), risk_lo, risk_hi = interval, shown(interval[0])[1], shown(interval[1])[1]
    if hs is None:  # the values of not_tested(n), the text built without a Python object per row
        hot = {"hotspot": _labels(np.zeros(n, dtype=np.int32), ("not tested",)), "p_value": np.full(n, np.nan),
               "gi_z": np.full(n, np.nan)}  # fmt: skip
    else:
        hot = {k: hs[k].to_numpy() for k in ("hotspot", "p_value", "gi_z")}
    columns = {
        "incident_exposure": E,
        "incident_exposure_lo": lo,
        "incident_exposure_hi": hi,
        "incident_density": density,
        "n_incidents": n_inc,
        "enforcement_exposure": Z,
        "incident_risk": inc_risk,
        "enforcement_risk": enf_risk,
        "composite_risk": composite,
        "risk": risk,
        "risk_lo": risk_lo,
        "risk_hi": risk_hi,
        "risk_percentile": _percentile(risk) if percentile is None else percentile.result(),
        "risk_class": classify(risk, model.classes, 5),
        "evidence": _evidence(n_inc),
        **hot,
    }
    if segments.columns.isin(list(columns)).any():  # re-scoring a scored table: overwrite in place
        out = segments.copy()
        for name, value in columns.items():
            out[name] = value
        return out
    # one concatenation instead of 18 inserts (each of which copies the block manager's bookkeeping), of columns
    # that are not copied once more into blocks; a column that is another's array (risk is incident_risk or
    # composite_risk) is copied, so that no two columns share memory
    seen: set[int] = set()
    for name, value in columns.items():
        if id(value) in seen:
            columns[name] = value.copy()
        seen.add(id(value))
    out = pd.concat([segments, pd.DataFrame(columns, index=segments.index, copy=False)], axis=1)
    out.attrs = copy.deepcopy(segments.attrs)
    return out


def _percentile(x: np.ndarray) -> np.ndarray:
    """Within-run percentile rank, ties at the highest: ``pd.Series(x).rank(method="max", pct=True) * 100``."""
    if len(x) == 0:
        return x
    if np.isnan(x).any():  # pandas ranks among the non-missing values
        return pd.Series(x).rank(method="max", pct=True).to_numpy() * 100.0
    # rank "max" = how many values are <= x (ties share the highest); divided by the count as pandas does
    order = np.argsort(x)
    ranks = np.empty(len(x), dtype=np.int64)
    ranks[order] = np.searchsorted(x[order], x[order], side="right")
    return ranks / len(x) * 100.0
