"""Privacy modes: what a published output may contain.

``internal`` (default for analysis) keeps everything. ``public`` (for anything meant to be shared; the threat model
is in ``docs/threat-model.md``):

- every incident-derived number (segment scores, the risk surface, every time frame of the heat) is computed from
  ONE donut-masked copy of the incidents (:func:`mask_points`): each point moved between ``min_m`` and ``max_m``
  metres in a direction and at a distance drawn from OS entropy, or from a keyed PRF (HMAC-SHA256) of the record
  when the analyst holds a key file (:func:`read_geomask_key`). Nothing published lets anyone regenerate the
  displacements, so subtracting or fitting published numbers recovers masked positions at best;
- no individual incident coordinates in any output (no incident layer, no point heat);
- segments supported by fewer than ``min_count`` incidents have their incident-derived numbers suppressed
  (set to null, ``suppressed = True``; enforcement exposure, which derives from published zones, stays); surface
  cells within the kernel reach of fewer than ``min_count`` incidents are empty, and time frames are suppressed
  cell by cell so that no difference of published frames isolates fewer than ``min_count`` incidents
  (:func:`routerisk.maps._frames.public_frames`);
- ``min_count`` must be at least :data:`PUBLIC_MIN_COUNT_FLOOR` (3), every published date is cut to its month;
- free text (``notes``, ``source_url``, names of people) is dropped, and rejected-row reports keep only
  counts by reason (their ``value`` column may hold coordinates or notes);
- shelters marked ``sensitive`` are shown at locality level only;
- optionally (``geomask``), the masked points themselves are published (:func:`donut_mask`), with only category,
  perpetrator, victims, location precision and the month of the date kept.
"""

from __future__ import annotations

import re
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import ConfigError, InputError
from .gazetteer import resolve_locality
from .geomask import (
    DEFAULT_GEOMASK_M,
    GEOMASK_COLUMNS,
    MASKED_ATTR,
    MIN_KEY_BYTES,
    donut_mask,
    is_masked,
    mask_points,
    month_only,
    read_geomask_key,
)

__all__ = [
    "DEFAULT_GEOMASK_M",
    "DEFAULT_MIN_COUNT",
    "GEOMASK_COLUMNS",
    "MASKED_ATTR",
    "MIN_KEY_BYTES",
    "PRIVACY_MODES",
    "PUBLIC_MIN_COUNT_FLOOR",
    "check_privacy",
    "disclosure_record",
    "donut_mask",
    "is_masked",
    "mask_points",
    "month_dates_in",
    "month_only",
    "public_report",
    "publishable_shelters",
    "published_date_range",
    "read_geomask_key",
    "suppress_segments",
]

PRIVACY_MODES = ("internal", "public")
DEFAULT_MIN_COUNT = 5
#: Smallest ``min_count`` public mode accepts: with 1 a published number can describe one incident, with 2 a
#: contributor who knows their own record learns the other one by subtraction.
PUBLIC_MIN_COUNT_FLOOR = 3
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
    "incident_exposure_lo",
    "incident_exposure_hi",
    "incident_risk",
    "composite_risk",
    "risk_percentile",
    "gi_z",
    "evidence",
)


def check_privacy(privacy: str, min_count: int = DEFAULT_MIN_COUNT) -> None:
    """Raise :class:`routerisk.ConfigError` for an unknown mode or a bad ``min_count``.

    Public mode refuses a ``min_count`` below :data:`PUBLIC_MIN_COUNT_FLOOR`.

    Examples
    --------
    >>> check_privacy("public", 3)
    >>> check_privacy("public", 2)
    Traceback (most recent call last):
    ...
    routerisk._errors.ConfigError: `min_count` was 2 but public mode needs at least 3: with 2 a published number \
can be traced to single incidents (see docs/threat-model.md)
    """
    if privacy not in PRIVACY_MODES:
        msg = f"`privacy` was {privacy!r} but must be one of {PRIVACY_MODES}"
        raise ConfigError(msg)
    if not isinstance(min_count, (int, np.integer)) or isinstance(min_count, bool) or min_count < 1:
        msg = f"`min_count` was {min_count!r} but must be a whole number >= 1"
        raise ConfigError(msg)
    if privacy == "public" and min_count < PUBLIC_MIN_COUNT_FLOOR:
        msg = (
            f"`min_count` was {min_count!r} but public mode needs at least {PUBLIC_MIN_COUNT_FLOOR}: with "
            f"{min_count} a published number can be traced to single incidents (see docs/threat-model.md)"
        )
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
        if col in out.columns and col != "evidence":
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


def publishable_shelters(shelters: Any, privacy: str = "internal") -> Any:
    """Shelters as they may be published: in public mode, sensitive ones only at locality level.

    A sensitive shelter (``sensitive`` true or missing) is moved to its locality's gazetteer point and named by
    kind and locality only; one whose locality cannot be found is dropped (never published at its own
    coordinates). Internal mode returns a copy.

    Parameters
    ----------
    shelters : GeoDataFrame
        ``shelter_id, name, kind, locality, state, sensitive, illustrative``.
    privacy : {"internal", "public"}
        Public mode moves and renames sensitive shelters.

    Returns
    -------
    GeoDataFrame (EPSG:4326)

    Examples
    --------
    >>> from shapely import Point
    >>> s = gpd.GeoDataFrame({"name": ["Casa X"], "kind": ["shelter"], "locality": ["Tapachula"],
    ...                       "state": ["Chiapas"], "sensitive": [True]}, geometry=[Point(-92.26, 14.9)], crs=4326)
    >>> publishable_shelters(s, "public")["name"].tolist()
    ['shelter (Tapachula)']
    """
    out = shelters.to_crs(4326).copy()
    if privacy != "public" or "sensitive" not in out or not len(out):
        return out
    sensitive = out["sensitive"].fillna(True).astype(bool).to_numpy()  # unknown counts as sensitive
    keep = np.ones(len(out), dtype=bool)
    geoms = list(out.geometry)
    names = out["name"].astype(object).tolist() if "name" in out else [""] * len(out)
    for i in np.flatnonzero(sensitive):  # a handful of shelters: one gazetteer look-up each
        row = out.iloc[i]
        state = row.get("state")
        try:
            lon, lat, _ = resolve_locality(str(row.get("locality", "")), state=None if pd.isna(state) else str(state))
        except InputError:
            keep[i] = False
            continue
        geoms[i] = gpd.points_from_xy([lon], [lat])[0]
        names[i] = f"{str(row.get('kind', 'shelter')).replace('_', ' ')} ({row.get('locality', '')})"
    out = out.assign(name=names).set_geometry(gpd.GeoSeries(geoms, index=out.index, crs=4326))
    return out[keep]


#: The frame rule of public maps, as recorded in a public run's manifest (see docs/threat-model.md).
FRAME_RULE = (
    "per cell: a frame is published where >= min_count masked incidents reach it, and periods are withdrawn "
    "(smallest support first) until all-period minus the published periods is reached by 0 or >= min_count"
)


def disclosure_record(privacy: str, masked: Any, min_count: int) -> dict[str, Any]:
    """What a run's manifest says about its disclosure control (never the key, nor anything derived from it).

    Examples
    --------
    >>> disclosure_record("internal", None, 5)
    {'incident_numbers_from': 'exact positions', 'geomask_source': None, 'mask_m': None, 'dates': 'exact'}
    """
    info = masked.attrs.get(MASKED_ATTR) if masked is not None else None
    out: dict[str, Any] = {
        "incident_numbers_from": "masked positions" if privacy == "public" else "exact positions",
        "geomask_source": info["source"] if info else None,
        "mask_m": [info["min_m"], info["max_m"]] if info else None,
        "dates": "month" if privacy == "public" else "exact",
    }
    if privacy == "public":
        out.update(min_count_floor=PUBLIC_MIN_COUNT_FLOOR, frame_rule=FRAME_RULE)
    return out


def published_date_range(dates: Any, privacy: str) -> list[str] | None:
    """First and last incident date as a run publishes them: months (``YYYY-MM``) in public mode.

    Examples
    --------
    >>> published_date_range(pd.Series(pd.to_datetime(["2020-05-17", "2021-01-02"])), "public")
    ['2020-05', '2021-01']
    """
    d = pd.to_datetime(pd.Series(dates), errors="coerce").dropna()
    if not len(d):
        return None
    fmt = "%Y-%m" if privacy == "public" else "%Y-%m-%d"
    return [d.min().strftime(fmt), d.max().strftime(fmt)]


def month_dates_in(value: Any) -> Any:
    """A copy of a JSON-like value with every date string cut to its month and day counts to whole months.

    Public mode applies it to what scoring records for the manifest (reference date, observation window, its
    length in years), so that no published number pins an incident's day.

    Examples
    --------
    >>> month_dates_in({"window": ["2023-03-10", "2023-07-17T00:00:00"], "effective_years": 0.3157, "n": 3})
    {'window': ['2023-03', '2023-07'], 'effective_years': 0.333, 'n': 3}
    >>> month_dates_in(["incidents end 2023-07-17, zones start 2024-01-01", "EPSG:6372"])
    ['incidents end 2023-07, zones start 2024-01', 'EPSG:6372']
    """
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if isinstance(v, float) and str(k).endswith("_years"):
                out[k] = round(round(v * 12) / 12, 3)
            elif isinstance(v, float) and str(k).endswith("_days"):
                out[k] = round(v / 30.4375) * 30.4375
            else:
                out[k] = month_dates_in(v)
        return out
    if isinstance(value, (list, tuple)):
        return [month_dates_in(v) for v in value]
    if isinstance(value, str):  # dates alone or inside a sentence (warnings)
        return re.sub(r"\b(\d{4}-\d{2})-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:?\d{2}|Z)?)?\b", r"\1",
                      value)
    return value
