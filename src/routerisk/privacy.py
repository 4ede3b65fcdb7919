"""Privacy modes: what a published output may contain.

``internal`` (default for analysis) keeps everything. ``public`` (for anything meant to be shared):

- no individual incident coordinates in any output (no incident layer, no point heat: heat comes from the
  aggregated surface, whose cells supported by fewer than ``min_count`` incidents are masked);
- segments supported by fewer than ``min_count`` incidents have their incident-derived numbers suppressed
  (set to null, ``suppressed = True``; enforcement exposure, which derives from published zones, stays);
- free text (``notes``, ``source_url``, names of people) is dropped, and rejected-row reports keep only
  counts by reason (their ``value`` column may hold coordinates or notes);
- shelters marked ``sensitive`` are shown at locality level only;
- optionally (``geomask``), incident points for outputs that must show points are published donut-masked
  (:func:`donut_mask`): each point moved by a random distance between ``min_m`` and ``max_m`` in a random
  direction, with only category, perpetrator, victims, location precision and the month of the date kept.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = [
    "DEFAULT_GEOMASK_M",
    "DEFAULT_MIN_COUNT",
    "PRIVACY_MODES",
    "check_privacy",
    "donut_mask",
    "public_report",
    "suppress_segments",
]

PRIVACY_MODES = ("internal", "public")
DEFAULT_MIN_COUNT = 5
#: Default donut radii (metres) of :func:`donut_mask`: far enough that a point never lands on its record's
#: building or street, near enough that kernel scores at a 15 km bandwidth barely change.
DEFAULT_GEOMASK_M = (500.0, 2000.0)
#: Columns a geomasked incident layer keeps (besides the geometry); the date is cut to its month.
GEOMASK_COLUMNS = ("category", "perpetrator", "victims", "location_precision", "month")

#: Segment columns derived from incidents, nulled in public mode where support is below ``min_count``.
INCIDENT_DERIVED = (
    "incident_exposure",
    "incident_density",
    "n_incidents",
    "risk",
    "risk_lo",
    "risk_hi",
    "risk_class",
    "p_value",
)


def check_privacy(privacy: str, min_count: int = DEFAULT_MIN_COUNT) -> None:
    """Raise ``ValueError`` (as :class:`routerisk.ConfigError`) for an unknown mode or a bad ``min_count``."""
    from ._errors import ConfigError

    if privacy not in PRIVACY_MODES:
        msg = f"`privacy` was {privacy!r} but must be one of {PRIVACY_MODES}"
        raise ConfigError(msg)
    if not isinstance(min_count, (int, np.integer)) or isinstance(min_count, bool) or min_count < 1:
        msg = f"`min_count` was {min_count!r} but must be a whole number >= 1"
        raise ConfigError(msg)


def suppress_segments(segments: gpd.GeoDataFrame, min_count: int = DEFAULT_MIN_COUNT) -> gpd.GeoDataFrame:
    """Null the incident-derived numbers of segments supported by fewer than ``min_count`` incidents.

    Parameters
    ----------
    segments : GeoDataFrame
        Scored segments (with ``n_incidents``).
    min_count : int, default 5
        Smallest number of supporting incidents that may be published.

    Returns
    -------
    GeoDataFrame
        A copy with a boolean ``suppressed`` column; ``hotspot`` reads ``"suppressed"`` where suppressed.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString
    >>> s = gpd.GeoDataFrame({"n_incidents": [2, 9], "risk": [50.0, 80.0], "hotspot": ["hot 95%", "x"]},
    ...                      geometry=[LineString([(0, 0), (1, 0)])] * 2)
    >>> suppress_segments(s)["risk"].tolist()
    [nan, 80.0]
    """
    check_privacy("public", min_count)
    out = segments.copy()
    mask = out["n_incidents"].to_numpy() < min_count
    for col in INCIDENT_DERIVED:
        if col in out.columns:
            if pd.api.types.is_integer_dtype(out[col]):
                out[col] = out[col].astype("Int64")
                out.loc[mask, col] = pd.NA
            else:
                out.loc[mask, col] = np.nan
    if "hotspot" in out.columns:
        out["hotspot"] = out["hotspot"].astype(object)
        out.loc[mask, "hotspot"] = "suppressed"
    if "evidence" in out.columns:
        out["evidence"] = out["evidence"].astype(object)
        out.loc[mask, "evidence"] = "suppressed"
    out["suppressed"] = mask
    return out


def public_report(rejected: pd.DataFrame) -> pd.DataFrame:
    """Counts of rejected rows by file, column and reason, without row numbers or values."""
    if rejected.empty:
        return pd.DataFrame(columns=["file", "column", "reason", "rows"])
    grouped = rejected.groupby(["file", "column", "reason"], sort=True).size()
    return grouped.rename("rows").reset_index()


def donut_mask(
    incidents: gpd.GeoDataFrame,
    *,
    min_m: float = DEFAULT_GEOMASK_M[0],
    max_m: float = DEFAULT_GEOMASK_M[1],
    seed: int = 0,
    crs: str = "auto",
) -> gpd.GeoDataFrame:
    """Donut-mask incident points for publication: each moves between ``min_m`` and ``max_m`` metres away.

    The displacement is drawn uniformly over the annulus's area (radius ``sqrt(U (max^2 - min^2) + min^2)``,
    direction uniform) in the analysis CRS, so no published point lies within ``min_m`` of its true position
    and none farther than ``max_m``. Free text, ids, sources and exact dates are dropped: only
    :data:`GEOMASK_COLUMNS` remain (``month`` as ``YYYY-MM``), in a shuffled order so rows cannot be matched
    to the source table by position.

    Parameters
    ----------
    incidents : GeoDataFrame
        Canonical incidents (points).
    min_m, max_m : float
        Inner and outer radius in metres (``0 < min_m <= max_m``).
    seed : int
        Seed of the random displacements (a run records it in its manifest).
    crs : str, default "auto"
        Analysis CRS (see :func:`routerisk.analysis_crs`).

    Returns
    -------
    GeoDataFrame
        In the input's CRS.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import Point
    >>> inc = gpd.GeoDataFrame({"category": ["robbery"], "date": pd.to_datetime(["2020-05-17"]),
    ...                         "notes": ["secret"]}, geometry=[Point(-93.9, 16.25)], crs=4326)
    >>> out = donut_mask(inc, seed=1)
    >>> list(out.columns), out["month"].iloc[0]
    (['category', 'month', 'geometry'], '2020-05')
    """
    from ._errors import ConfigError
    from .crs import analysis_crs

    if not (np.isfinite(min_m) and np.isfinite(max_m) and 0 < min_m <= max_m):
        msg = f"geomask radii were ({min_m!r}, {max_m!r}) but must satisfy 0 < min_m <= max_m (metres)"
        raise ConfigError(msg)
    pts = incidents[incidents.geometry.notna() & ~incidents.geometry.is_empty]
    work = pts.to_crs(analysis_crs(pts.to_crs(4326).total_bounds if len(pts) else None, crs))
    rng = np.random.default_rng(seed)
    n = len(work)
    radius = np.sqrt(rng.uniform(size=n) * (max_m**2 - min_m**2) + min_m**2)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
    x = work.geometry.x.to_numpy() + radius * np.cos(angle)
    y = work.geometry.y.to_numpy() + radius * np.sin(angle)
    out = pd.DataFrame({c: work[c].to_numpy() for c in GEOMASK_COLUMNS if c in work.columns})
    if "date" in work.columns:
        dates = pd.to_datetime(work["date"], errors="coerce")
        out["month"] = dates.dt.strftime("%Y-%m").fillna("").to_numpy()
    masked = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(x, y), crs=work.crs).to_crs(incidents.crs)
    order = rng.permutation(n)
    return masked.iloc[order].reset_index(drop=True)
