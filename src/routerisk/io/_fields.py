"""Parsing the fields of a table, vectorised: numbers, coordinates, booleans and canonical labels.

Each parser takes text columns read by :mod:`routerisk.io._tables` and records what it rejects or changes in the
file's :class:`~routerisk.io._tables._Rows` tracker. Like the table helpers, these know nothing about incidents,
zones or routes: the layer modules pass the column names, aliases and vocabularies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa  # already imported by pandas (string columns): no start-up cost here
import pyarrow.compute as pc

from ..crs import MEXICO_BOUNDS
from ._tables import _fold, _Rows, map_unique, norm_name, text_col

# --------------------------------------------------------------------------------------------------- numbers

_COMMA_DEC_RE = r"[+-]?\d+,\d+"


def parse_number(
    rows: _Rows, raw: pd.Series, column: str, *, decimal_comma: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Parse text to float. Returns ``(values, missing)``; non-numeric text is rejected.

    A value like ``19,43`` (one comma, no dot) is read as 19.43 and noted.
    """
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return vals, np.isnan(vals)
    s = text_col(raw.to_frame("v"), "v")
    missing = (s == "").to_numpy(dtype=bool)
    with np.errstate(all="ignore"):
        vals = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan).copy()
    failed = np.isnan(vals) & ~missing
    if decimal_comma and failed.any():
        idx = np.flatnonzero(failed)
        sub = s.iloc[idx]
        comma = sub.str.fullmatch(_COMMA_DEC_RE).to_numpy(dtype=bool)
        if comma.any():
            fixed = pd.to_numeric(sub[comma].str.replace(",", ".", regex=False), errors="coerce")
            vals[idx[comma]] = fixed.to_numpy(dtype="float64", na_value=np.nan)
            mask = np.zeros(len(s), dtype=bool)
            mask[idx[comma]] = True
            rows.note(mask, column, "decimal comma read as a decimal point", s, "converted")
            failed[idx[comma]] = False
    rows.reject(failed, column, "not a number", s)
    return vals, missing


# --------------------------------------------------------------------------------------------------- coordinates

LAT_ALIASES = ("lat", "latitude", "latitud", "y", "lat_dd", "latitude_dd", "decimal_latitude")
LON_ALIASES = ("lon", "lng", "long", "longitude", "longitud", "x", "lon_dd", "longitude_dd", "decimal_longitude")
COORDS_ALIASES = ("coordinates", "coordenadas", "location_coordinates", "coords", "latlon", "lat_lon", "latlng")


# "lat, lon" / "lat lon" / "(lat, lon)"; "19,43; -99,13" (semicolon, decimal commas); "19,43, -99,13" (4 parts)
_PAIR_RE = r"^[(\[]?\s*(?P<lat>[^,;\s()\[\]]+)\s*(?:[,;]\s*|\s+)(?P<lon>[^,;\s()\[\]]+)\s*[)\]]?$"
_SEMI_RE = r"^[(\[]?\s*(?P<lat>[^;]+?)\s*;\s*(?P<lon>[^;]+?)\s*[)\]]?$"
_FOUR_RE = r"^[(\[]?\s*(?P<a>[+-]?\d+),(?P<b>\d+)\s*,\s*(?P<c>[+-]?\d+),(?P<d>\d+)\s*[)\]]?$"


def _extract(s: pd.Series, pattern: str) -> dict[str, pd.Series]:
    """Named groups of ``pattern`` (full match) as string columns, "" where it does not match (pyarrow)."""
    found = pc.extract_regex(pa.array(s.array), pattern)
    out = {}
    for f in found.type:
        text = pc.cast(pc.fill_null(pc.struct_field(found, f.name), ""), pa.large_string())
        out[f.name] = pd.Series(pd.arrays.ArrowStringArray(text), index=s.index).astype("str")
    return out


def split_coordinates(rows: _Rows, raw: pd.Series, column: str) -> tuple[pd.Series, pd.Series]:
    """Split a ``"lat, lon"`` column into two text columns.

    Accepts ``;`` or spaces as separator, brackets, and two numbers written with decimal commas
    (``"19,43, -99,13"``, noted). Anything else is rejected ("cannot split").
    """
    s = text_col(raw.to_frame("v"), "v")
    pair = _extract(s, _PAIR_RE)
    lat, lon = pair["lat"], pair["lon"]
    done = (lat != "").to_numpy(dtype=bool) | (s == "").to_numpy(dtype=bool)
    if not done.all():
        idx = np.flatnonzero(~done)
        sub = s.iloc[idx]
        semi = _extract(sub, _SEMI_RE)
        four = _extract(sub, _FOUR_RE)
        is_semi = (semi["lat"] != "").to_numpy(dtype=bool)
        is_four = (four["a"] != "").to_numpy(dtype=bool) & ~is_semi
        lat, lon = lat.copy(), lon.copy()
        lat.iloc[idx[is_semi]] = semi["lat"][is_semi].to_numpy(dtype=object)
        lon.iloc[idx[is_semi]] = semi["lon"][is_semi].to_numpy(dtype=object)
        lat.iloc[idx[is_four]] = (four["a"] + "." + four["b"])[is_four].to_numpy(dtype=object)
        lon.iloc[idx[is_four]] = (four["c"] + "." + four["d"])[is_four].to_numpy(dtype=object)
        mask = np.zeros(len(s), dtype=bool)
        mask[idx[is_four]] = True
        rows.note(mask, column, "decimal commas read as decimal points", s, "converted")
        mask[:] = False
        mask[idx[~is_semi & ~is_four]] = True
        rows.reject(mask, column, 'cannot split into latitude and longitude (expected "lat, lon")', s)
    return lat, lon


POLE_REASON = "latitude at a pole (-90 or 90): not a place on a route, and it cannot be projected"


def validate_lonlat(
    rows: _Rows,
    lon: np.ndarray,
    lat: np.ndarray,
    lon_col: str,
    lat_col: str,
    *,
    raw: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Check longitude/latitude arrays in place of a pair of columns; return possibly swapped copies.

    Rules, in order (rows already rejected for another reason are left alone):

    1. missing -> rejected ("missing coordinate");
    2. both exactly 0 -> rejected (a common placeholder for "unknown");
    3. out of range (|lat| > 90 or |lon| > 180): if the swapped pair is in range it is swapped and noted,
       otherwise rejected;
    4. in range but a probable swap: the pair as given lies outside the Mexico region
       (:data:`routerisk.crs.MEXICO_BOUNDS`) while the swapped pair lies inside it -> swapped and noted
       (a latitude between -90 and -86 with a longitude between 14 and 33.5 is in Antarctica's ocean,
       never a migration route);
    5. latitude -90 or 90 (a pole) -> rejected: no route passes there, and the analysis projection (a conic)
       sends the south pole to infinity.
    """
    lon = np.array(lon, dtype="float64")
    lat = np.array(lat, dtype="float64")
    if raw is None:
        raw = (pd.Series(lat).astype(str) + ", " + pd.Series(lon).astype(str)).to_numpy(dtype=object)
    vals = raw
    col = lat_col if lat_col == lon_col else f"{lat_col}/{lon_col}"
    already = rows.bad.copy()
    missing = (np.isnan(lon) | np.isnan(lat)) & ~already
    rows.reject(missing, col, "missing coordinate", vals)
    infinite = ~np.isnan(lon) & ~np.isnan(lat) & ~(np.isfinite(lon) & np.isfinite(lat)) & ~already
    rows.reject(infinite, col, "coordinate out of range (latitude -90..90, longitude -180..180)", vals)
    with np.errstate(invalid="ignore"):
        zero = (lon == 0) & (lat == 0) & ~already
        rows.reject(zero, col, "coordinates are 0, 0 (a placeholder for unknown)", vals)
        fin = np.isfinite(lon) & np.isfinite(lat) & ~already & ~zero
        in_range = fin & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
        swapped_ok = fin & (np.abs(lon) <= 90) & (np.abs(lat) <= 180)
        out = fin & ~in_range
        w, s, e, n = MEXICO_BOUNDS
        inside = (lon >= w) & (lon <= e) & (lat >= s) & (lat <= n)
        inside_sw = (lat >= w) & (lat <= e) & (lon >= s) & (lon <= n)
    swap_out = out & swapped_ok
    rows.reject(out & ~swapped_ok, col, "coordinate out of range (latitude -90..90, longitude -180..180)", vals)
    swap_mex = in_range & ~inside & inside_sw
    swap = swap_out | swap_mex
    rows.note(swap_out, col, "latitude and longitude swapped (only valid swapped)", vals, "swapped")
    rows.note(swap_mex, col, "latitude and longitude swapped (only inside Mexico's region swapped)", vals, "swapped")
    lon2 = np.where(swap, lat, lon)
    lat2 = np.where(swap, lon, lat)
    with np.errstate(invalid="ignore"):
        pole = (np.abs(lat2) >= 90) & ~rows.bad
    rows.reject(pole, col, POLE_REASON, vals)
    bad = rows.bad
    lon2[bad] = np.nan
    lat2[bad] = np.nan
    return lon2, lat2


def decimals(text: pd.Series) -> np.ndarray:
    """Number of digits after the decimal separator of each numeric text (0 when none)."""
    arr = pa.array(text.astype("str").fillna("").array)
    pos = pc.find_substring_regex(pc.utf8_reverse(arr), r"[.,]")
    return np.maximum(pos.to_numpy(zero_copy_only=False), 0).astype("int64")


# --------------------------------------------------------------------------------------------------- labels

_TRUE = {"true", "t", "yes", "y", "si", "s", "1", "verdadero", "x"}
_FALSE = {"false", "f", "no", "n", "0", "falso", ""}


def parse_bool(rows: _Rows, raw: pd.Series | None, column: str, *, default: bool, n: int) -> np.ndarray:
    """Booleans from text (true/false, yes/no, sí/no, 1/0); missing -> ``default``; other text rejected."""
    if raw is None:
        return np.full(n, default, dtype=bool)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.fillna(default).to_numpy(dtype=bool)

    def classify(value: object) -> int:
        f = _fold(value)
        return 2 if f == "" else 1 if f in _TRUE else 0 if f in _FALSE else -1

    code = map_unique(raw, classify).astype("int64")
    rows.reject(code == -1, column, "not a yes/no value", raw)
    return np.where(code == 2, default, code == 1)


def map_labels(
    rows: _Rows,
    raw: pd.Series,
    column: str,
    *,
    allowed: Iterable[str],
    synonyms: Mapping[str, str],
    keywords: Iterable[tuple[str, str]] = (),
    default: str,
    missing: str | None = None,
    note_unknown: str | None = None,
    note_missing: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Map free text to canonical labels: exact label, then synonym, then keyword (regex) search.

    Matching is on normalised text (lower case, no accents). Work is done once per distinct value. Unknown
    text becomes ``default`` (noted with ``note_unknown``); empty text becomes ``missing`` (or ``default``).
    Returns the labels and the mask of non-empty text that matched nothing.
    """
    allowed = tuple(allowed)
    syn = {" ".join(norm_name(k).split("_")): v for k, v in synonyms.items()}
    kw = [(re.compile(p), v) for p, v in keywords]

    def classify(value: object) -> str | None:
        u = _fold(value)
        if u == "":
            return None
        key = " ".join(norm_name(u).split("_"))
        label = key.replace(" ", "_")
        if label in allowed:
            return label
        if key in syn:
            return syn[key]
        return next((v for p, v in kw if p.search(u)), "")

    out = map_unique(raw, classify)
    empty = pd.isna(out)
    unknown = out == ""
    out[unknown] = default
    out[empty] = missing if missing is not None else default
    if note_unknown:
        rows.note(unknown, column, note_unknown, raw, "mapped")
    if note_missing:
        rows.note(empty, column, note_missing, None, "defaulted")
    return out, unknown
