"""Privacy modes: what a published output may contain.

``internal`` (default for analysis) keeps everything. ``public`` (for anything meant to be shared):

- no individual incident coordinates in any output (no incident layer, no point heat: heat comes from the
  aggregated surface, whose cells supported by fewer than ``min_count`` incidents are masked);
- segments supported by fewer than ``min_count`` incidents have their incident-derived numbers suppressed
  (set to null, ``suppressed = True``; enforcement exposure, which derives from published zones, stays);
- free text (``notes``, ``source_url``, names of people) is dropped, and rejected-row reports keep only
  counts by reason (their ``value`` column may hold coordinates or notes);
- shelters marked ``sensitive`` are shown at locality level only.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["DEFAULT_MIN_COUNT", "PRIVACY_MODES", "check_privacy", "public_report", "suppress_segments"]

PRIVACY_MODES = ("internal", "public")
DEFAULT_MIN_COUNT = 5

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
