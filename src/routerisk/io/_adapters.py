"""Format adapters: the IOM Missing Migrants Project CSV and the ACLED CSV into incident parts.

IOM (both export generations)
    - id: ``Web ID`` (older) or ``Main ID`` / ``Incident ID`` (newer);
    - coordinates: ``Location Coordinates`` or ``Coordinates`` (``"lat, lon"``), else ``latitude``/``longitude``
      columns (used where the combined column is blank);
    - date: ``Incident Date`` or ``Reported Date`` (``31-Dec-18``, ``2018-12-31``, ``Mon, 12/31/2018 - 12:00``);
      when blank, ``Reported Year``/``Incident Year`` with ``Reported Month`` (month precision);
    - victims: ``Total Dead and Missing`` / ``Total Number of Dead and Missing``; when blank, the number dead
      plus the minimum estimated number missing;
    - category: ``Cause of Death`` / ``Cause of death`` through the table in :mod:`routerisk.io._vocab`
      (``IOM_CAUSE_KEYWORDS``); unknown causes (including skeletal or mummified remains) become ``other`` with a
      note;
    - perpetrator ``unknown``; location precision from the location description and coordinate patterns
      (:func:`routerisk.io._placeholders.iom_precision`: unknown, state-only and county-only descriptions and
      placeholder points shared by many records are downgraded with a note; ``exact`` only for a named precise
      feature; IOM's ``Source Quality`` grades the source, not the location);
    - source ``Information Source``, source_url ``URL``, notes ``Location Description`` (or ``Location of death``).

ACLED
    - id ``event_id_cnty`` (or ``data_id``); date ``event_date`` with ``time_precision`` 1/2/3 -> day/month/year;
    - category from ``sub_event_type`` (``ACLED_SUB_EVENTS``; violent types with fatalities are homicides);
    - perpetrator from ``actor1`` (police, military, National Guard -> state_security; migration authorities ->
      migration_authority; cartels, gangs, armed groups -> organized_crime; rioters, mobs -> common_crime);
    - victims ``max(fatalities, 1)``; location precision ``geo_precision`` 1/2/3 -> exact/locality/municipality;
    - notes ``notes``, source ``source``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._errors import InputError
from ..schema import CATEGORIES
from . import _vocab as vocab
from ._dates import parse_dates
from ._fields import map_labels, parse_number
from ._incidents import Parts, lonlat_from_text, split_coordinates
from ._placeholders import iom_precision
from ._tables import _Rows, find_column, norm_text, text_col

IOM_MARKERS = ("web_id", "cause_of_death", "location_coordinates", "main_id")
ACLED_MARKERS = ("event_date", "event_type", "latitude", "longitude")


_IOM_WITH_COORDINATES = ("total_number_of_dead_and_missing", "number_of_dead", "incident_date")


def is_iom(names: frozenset[str]) -> bool:
    """Whether normalised column names are those of an IOM Missing Migrants export (either generation).

    Examples
    --------
    >>> is_iom(frozenset({"web_id", "latitude"})), is_iom(frozenset({"coordinates", "incident_date"}))
    (True, True)
    """
    return bool(names & set(IOM_MARKERS)) or ("coordinates" in names and bool(names & set(_IOM_WITH_COORDINATES)))


def is_acled(names: frozenset[str]) -> bool:
    """Whether normalised column names are those of an ACLED export.

    Examples
    --------
    >>> is_acled(frozenset({"event_date", "event_type", "latitude", "longitude", "actor1"}))
    True
    """
    return set(ACLED_MARKERS) <= names


def iom_parts(rows: _Rows, df: pd.DataFrame, file: str) -> Parts:
    """Parts of an IOM Missing Migrants Project table (either column generation)."""
    col = lambda *aliases: find_column(df.columns, aliases)  # noqa: E731
    n = len(df)
    # coordinates: the combined column first, the split columns where it is blank
    cc = col("location_coordinates", "coordinates")
    lat_c, lon_c = col("latitude", "lat"), col("longitude", "lon")
    if cc is None and (lat_c is None or lon_c is None):
        msg = f"{file!r} looks like an IOM Missing Migrants file but has no 'Coordinates' or latitude/longitude columns"
        raise InputError(msg, path=file)
    if cc is not None:
        lat_t, lon_t = split_coordinates(rows, df[cc], cc)
        label_lat = label_lon = cc
        if lat_c is not None and lon_c is not None:
            blank = (text_col(df, cc) == "").to_numpy()
            lat_t = lat_t.where(~blank, text_col(df, lat_c))
            lon_t = lon_t.where(~blank, text_col(df, lon_c))
    else:
        lat_t, lon_t = text_col(df, lat_c), text_col(df, lon_c)
        label_lat, label_lon = lat_c, lon_c
    lon, lat, dec = lonlat_from_text(rows, lat_t, lon_t, label_lat, label_lon)
    desc_c = col("location_description", "location_of_death", "location_of_incident")
    desc = text_col(df, desc_c)
    parts: Parts = {"lon": lon, "lat": lat,
                    "location_precision": iom_precision(rows, lon, lat, dec, desc, desc_c or "location_description")}
    id_col = col("web_id", "main_id", "incident_id", "id")
    parts["incident_id"], parts["id_column"] = text_col(df, id_col), id_col
    # date, with year + month as a fallback
    date_col = col("incident_date", "reported_date", "date")
    dtext = text_col(df, date_col)
    year_c, month_c = col("incident_year", "reported_year", "year"), col("reported_month", "incident_month", "month")
    if year_c is not None:
        year, month = text_col(df, year_c), text_col(df, month_c)
        fallback = (dtext == "") & (year != "")
        built = (month + " " + year).str.strip()
        dtext = dtext.where(~fallback, built)
        rows.note(fallback.to_numpy(), year_c, "date missing; built from year and month", built, "derived")
    parts["date"], parts["date_precision"] = parse_dates(rows, dtext, date_col or "date")
    # victims
    tot_c = col("total_dead_and_missing", "total_number_of_dead_and_missing")
    dead_c, miss_c = col("number_dead", "number_of_dead"), col("minimum_estimated_number_of_missing")
    total = parse_number(rows, df[tot_c], tot_c, decimal_comma=False)[0] if tot_c else np.full(n, np.nan)
    dead = parse_number(rows, df[dead_c], dead_c, decimal_comma=False)[0] if dead_c else np.full(n, np.nan)
    miss = parse_number(rows, df[miss_c], miss_c, decimal_comma=False)[0] if miss_c else np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        both = np.where(np.isnan(dead) & np.isnan(miss), np.nan, np.nan_to_num(dead) + np.nan_to_num(miss))
    fill = np.isnan(total) & ~np.isnan(both)
    rows.note(fill, tot_c or "victims", "total missing; number dead + minimum missing used", both, "derived")
    parts["victims"] = np.where(np.isnan(total), both, total)
    parts["victims_column"] = tot_c or dead_c or "victims"
    # category from the cause of death
    cause_c = col("cause_of_death")
    cause = text_col(df, cause_c)
    cat, unmatched = map_labels(
        rows, cause, cause_c or "cause_of_death", allowed=CATEGORIES, synonyms={}, keywords=vocab.IOM_CAUSE_KEYWORDS,
        default="other",
    )  # fmt: skip
    normed = norm_text(cause)
    unknown_text = normed.str.contains(vocab.IOM_UNKNOWN_RE, regex=True).to_numpy(dtype=bool)
    empty = (normed == "").to_numpy()
    label = cause_c or "cause_of_death"
    rows.note((unmatched & unknown_text) | empty, label, "cause of death unknown; category 'other'", cause, "mapped")
    rows.note(unmatched & ~unknown_text, label, "cause of death not recognised; category 'other'", cause, "mapped")
    parts["category"] = cat
    parts["perpetrator"] = np.full(n, "unknown", dtype=object)
    parts["source"] = text_col(df, col("information_source", "source"))
    parts["source_url"] = text_col(df, col("url", "source_url"))
    parts["notes"] = desc
    parts["synthetic"] = np.zeros(n, dtype=bool)
    return parts


_ACLED_OTHER = (
    "peaceful protest", "protest with intervention", "agreement", "change to group/activity", "other",
    "headquarters or base established", "non-violent transfer of territory", "government regains territory",
    "non-state actor overtakes territory", "disrupted weapons use",
)  # fmt: skip


def acled_parts(rows: _Rows, df: pd.DataFrame, file: str) -> Parts:
    """Parts of an ACLED export."""
    col = lambda *aliases: find_column(df.columns, aliases)  # noqa: E731
    n = len(df)
    lon, lat, _ = lonlat_from_text(rows, text_col(df, col("latitude")), text_col(df, col("longitude")),
                                   "latitude", "longitude")  # fmt: skip
    parts: Parts = {"lon": lon, "lat": lat}
    id_col = col("event_id_cnty", "data_id", "event_id")
    parts["incident_id"], parts["id_column"] = text_col(df, id_col), id_col
    date, prec = parse_dates(rows, df[col("event_date")], "event_date")
    tp_c = col("time_precision")
    if tp_c is not None:
        tp = text_col(df, tp_c).map({"1": "day", "2": "month", "3": "year"}).to_numpy(dtype=object)
        prec = np.where(pd.notna(tp) & (np.asarray(prec, dtype=object) != "unknown"), tp, prec)
    parts["date"], parts["date_precision"] = date, prec
    fat_c = col("fatalities")
    fat = parse_number(rows, df[fat_c], fat_c, decimal_comma=False)[0] if fat_c else np.full(n, np.nan)
    with np.errstate(invalid="ignore"):
        parts["victims"] = np.where(np.isnan(fat) | (fat < 0), fat, np.maximum(fat, 1))
    parts["victims_column"] = fat_c or "fatalities"
    sub_c = col("sub_event_type", "event_type")
    synonyms = {**vocab.ACLED_SUB_EVENTS, **dict.fromkeys(_ACLED_OTHER, "other")}
    sub = text_col(df, sub_c)
    cat, _ = map_labels(
        rows, sub, sub_c or "sub_event_type", allowed=CATEGORIES, synonyms=synonyms, default="other",
        note_unknown="sub_event_type not recognised; category 'other'",
    )  # fmt: skip
    lethal = norm_text(sub).isin(vocab.ACLED_LETHAL).to_numpy() & (np.nan_to_num(fat) > 0)
    parts["category"] = np.where(lethal, "homicide", cat).astype(object)
    actor_c = col("actor1")
    if actor_c is not None:
        parts["perpetrator"], _ = map_labels(
            rows, text_col(df, actor_c), actor_c, allowed=(), synonyms=vocab.PERPETRATOR_SYNONYMS,
            keywords=vocab.PERPETRATOR_KEYWORDS, default="unknown",
            note_unknown="actor1 not recognised; perpetrator 'unknown'",
        )  # fmt: skip
    else:
        parts["perpetrator"] = np.full(n, "unknown", dtype=object)
    gp_c = col("geo_precision")
    gp = text_col(df, gp_c).map({"1": "exact", "2": "locality", "3": "municipality"})
    rows.note(gp.isna().to_numpy(), gp_c or "geo_precision", "geo_precision not 1, 2 or 3; location 'unknown'",
              text_col(df, gp_c), "defaulted")  # fmt: skip
    parts["location_precision"] = gp.fillna("unknown").to_numpy(dtype=object)
    parts["source"] = text_col(df, col("source"))
    parts["source_url"] = text_col(df, col("source_url", "url"))
    parts["notes"] = text_col(df, col("notes"))
    parts["synthetic"] = np.zeros(n, dtype=bool)
    return parts
