"""Incident tables: the generic adapter and the final checks shared by every incident format.

An adapter turns a table (strings from a CSV, or the attributes of a vector file) into *parts*: a dict with one
array per canonical column, plus ``lon``/``lat``. :func:`prepare_chunk` checks victims and fills
ids per chunk of rows, and :func:`combine_chunks` rejects repeated ids over the whole file, derives severity and
builds the GeoDataFrame of kept rows (:func:`finish_incidents` does both for a table read at once).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pandas.api.types import union_categoricals

from .._errors import InputError
from .._validate import ValidationReport
from ..schema import (
    CATEGORIES,
    DATE_PRECISIONS,
    INCIDENT_COLUMNS,
    LOCATION_PRECISIONS,
    PERPETRATORS,
    WGS84,
    compute_severity,
    victims_factor,
)
from . import _vocab as vocab
from ._dates import parse_dates
from ._fields import (
    COORDS_ALIASES,
    LAT_ALIASES,
    LON_ALIASES,
    decimals,
    map_labels,
    parse_bool,
    parse_number,
    split_coordinates,
    validate_lonlat,
)
from ._tables import _Rows, find_column, find_columns, text_col

#: What an adapter returns: one array per canonical column, plus ``lon``/``lat`` (and ``id_column``,
#: ``victims_column``: the names used in the report).
Parts = dict[str, Any]

#: Victim counts above this are rejected as impossible for one record (a typo or a hostile number: the deadliest
#: migrant shipwrecks the IOM records count about 1,000 dead and missing).
MAX_VICTIMS = 100_000
#: Sanity limit: records above it are kept with a note asking to check the source (a mass-casualty event such as a
#: shipwreck with 1,022 dead and missing is real). Change it by assigning ``routerisk.io._incidents.MASS_CASUALTY``.
MASS_CASUALTY = 1000


def coords_from_table(rows: _Rows, df: pd.DataFrame, file: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Find and parse the coordinate columns of a table. Returns ``(lon, lat, min_decimals)``.

    With more than one set of coordinate columns (``lat``/``lon`` and ``latitude``/``longitude``, or a
    ``coordinates`` column as well), the first set (in alias order) is used when every set holds the same
    numbers, with a note; when they disagree on any row the file is refused, naming the columns, rather than
    one set being chosen silently.
    """
    lat_col = find_column(df.columns, LAT_ALIASES)
    lon_col = find_column(df.columns, LON_ALIASES)
    if lat_col is not None and lon_col is not None:
        lat_t, lon_t = text_col(df, lat_col), text_col(df, lon_col)
        _check_other_coordinates(rows, df, file, lat_col, lon_col, lat_t, lon_t)
    else:
        cc = find_column(df.columns, COORDS_ALIASES)
        if cc is None:
            cols = ", ".join(repr(c) for c in list(df.columns)[:12])
            msg = (
                f"{file!r} has no coordinate columns: expected latitude/longitude columns (lat, latitude, latitud, "
                f"y / lon, lng, longitude, longitud, x) or one 'coordinates' column with \"lat, lon\"; "
                f"found {cols}"
            )
            raise InputError(msg, path=file)
        lat_t, lon_t = split_coordinates(rows, df[cc], cc)
        lat_col = lon_col = cc
    return lonlat_from_text(rows, lat_t, lon_t, lat_col, lon_col)


def _as_numbers(text: pd.Series) -> np.ndarray:
    s = text.astype("str").str.strip().str.replace(",", ".", regex=False)
    with np.errstate(all="ignore"):
        return pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)


def _differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return ~((np.isnan(a) & np.isnan(b)) | (np.abs(a - b) <= 1e-9))


def _check_other_coordinates(
    rows: _Rows, df: pd.DataFrame, file: str, lat_col: str, lon_col: str, lat_t: pd.Series, lon_t: pd.Series
) -> None:
    """Refuse a table whose other coordinate columns disagree with ``lat_col``/``lon_col``; note them if equal."""
    lats = [c for c in find_columns(df.columns, LAT_ALIASES) if c != lat_col]
    lons = [c for c in find_columns(df.columns, LON_ALIASES) if c != lon_col]
    cc = find_column(df.columns, COORDS_ALIASES)
    if not lats and not lons and cc is None:
        return
    lat0, lon0 = _as_numbers(lat_t), _as_numbers(lon_t)
    others: list[tuple[str, int]] = []
    for c in lats:
        others.append((c, int(_differ(lat0, _as_numbers(text_col(df, c))).sum())))
    for c in lons:
        others.append((c, int(_differ(lon0, _as_numbers(text_col(df, c))).sum())))
    if cc is not None:
        scratch = _Rows(file, ValidationReport(), rows.rows)
        lat1, lon1 = split_coordinates(scratch, df[cc], cc)
        n = _differ(lat0, _as_numbers(lat1)) | _differ(lon0, _as_numbers(lon1))
        others.append((cc, int(n.sum())))
    names = ", ".join(repr(c) for c, _ in others)
    bad = [(c, n) for c, n in others if n]
    if bad:
        detail = "; ".join(f"{c!r} differs on {n:,} rows" for c, n in bad)
        msg = (
            f"{file!r} has more than one set of coordinate columns ({lat_col!r}/{lon_col!r} and {names}) and they "
            f"disagree ({detail}); keep one set, or rename the others"
        )
        raise InputError(msg, path=file)
    rows.note_file_once(
        f"coordinate columns {names} hold the same values as {lat_col!r}/{lon_col!r}; {lat_col!r}/{lon_col!r} used"
    )


def lonlat_from_text(
    rows: _Rows, lat_t: pd.Series, lon_t: pd.Series, lat_col: str, lon_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse and check coordinate text. Returns ``(lon, lat, min_decimals)``."""
    lat, _ = parse_number(rows, lat_t, lat_col)
    lon, _ = parse_number(rows, lon_t, lon_col)
    raw = lat_t.astype("str") + ", " + lon_t.astype("str")
    lon, lat = validate_lonlat(rows, lon, lat, lon_col, lat_col, raw=raw)
    dec = np.minimum(decimals(lat_t), decimals(lon_t))
    return lon, lat, dec


def numeric_decimals(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """For float coordinates (vector files): 3 when either has a non-zero digit past the second decimal, else 2."""
    with np.errstate(invalid="ignore"):
        fine = (np.abs(lon * 100 - np.round(lon * 100)) > 1e-6) | (np.abs(lat * 100 - np.round(lat * 100)) > 1e-6)
    return np.where(fine, 3, 2)


def precision_from_decimals(dec: np.ndarray) -> np.ndarray:
    """``exact`` when coordinates carry at least 3 decimals (about 100 m), else ``locality``."""
    return np.where(dec >= 3, "exact", "locality").astype(object)


def generic_parts(rows: _Rows, df: pd.DataFrame, file: str, *, lonlat: tuple | None = None) -> Parts:
    """Parts of a generic incident table (columns found by common names, English and Spanish)."""
    col = lambda aliases: find_column(df.columns, aliases)  # noqa: E731
    if lonlat is None:
        lon, lat, dec = coords_from_table(rows, df, file)
    else:
        lon, lat = lonlat
        dec = numeric_decimals(lon, lat)
    parts: Parts = {"lon": lon, "lat": lat}
    id_col = col(vocab.ID_ALIASES["incidents"])
    parts["incident_id"] = text_col(df, id_col)
    parts["id_column"] = id_col
    date_col = col(vocab.DATE_ALIASES)
    if date_col is not None:
        parts["date"], parts["date_precision"] = parse_dates(rows, df[date_col], date_col)
    else:
        parts["date"] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
        parts["date_precision"] = np.full(len(df), "unknown", dtype=object)
    dp_col = col(vocab.DATE_PRECISION_ALIASES)
    if dp_col is not None:
        given, _ = map_labels(
            rows, text_col(df, dp_col), dp_col, allowed=DATE_PRECISIONS, synonyms=vocab.DATE_PRECISION_SYNONYMS,
            default="", missing="",
        )  # fmt: skip
        detected = np.asarray(parts["date_precision"], dtype=object)
        use = (given != "") & (detected != "unknown")
        parts["date_precision"] = np.where(use, given, detected)
    cat_col = col(vocab.CATEGORY_ALIASES)
    if cat_col is not None:
        parts["category"], _ = map_labels(
            rows, text_col(df, cat_col), cat_col, allowed=CATEGORIES, synonyms=vocab.CATEGORY_SYNONYMS,
            keywords=vocab.CATEGORY_KEYWORDS, default="other",
            note_unknown="category not recognised; kept as 'other'", note_missing="category missing; kept as 'other'",
        )  # fmt: skip
    else:
        parts["category"] = np.full(len(df), "other", dtype=object)
    perp_col = col(vocab.PERPETRATOR_ALIASES)
    if perp_col is not None:
        parts["perpetrator"], _ = map_labels(
            rows, text_col(df, perp_col), perp_col, allowed=PERPETRATORS, synonyms=vocab.PERPETRATOR_SYNONYMS,
            keywords=vocab.PERPETRATOR_KEYWORDS, default="unknown",
            note_unknown="perpetrator not recognised; kept as 'unknown'",
        )  # fmt: skip
    else:
        parts["perpetrator"] = np.full(len(df), "unknown", dtype=object)
    vic_col = col(vocab.VICTIMS_ALIASES)
    if vic_col is not None:
        parts["victims"], _ = parse_number(rows, df[vic_col], vic_col, decimal_comma=False)
    else:
        parts["victims"] = np.ones(len(df))
    parts["victims_column"] = vic_col or "victims"
    lp_col = col(vocab.LOCATION_PRECISION_ALIASES)
    if lp_col is not None:
        parts["location_precision"], _ = map_labels(
            rows, text_col(df, lp_col), lp_col, allowed=LOCATION_PRECISIONS, synonyms=vocab.LOCATION_PRECISION_SYNONYMS,
            default="unknown", note_unknown="location precision not recognised; kept as 'unknown'",
            note_missing="location precision missing; kept as 'unknown'",
        )  # fmt: skip
    else:
        parts["location_precision"] = precision_from_decimals(dec)
    parts["source"] = text_col(df, col(vocab.SOURCE_ALIASES))
    parts["source_url"] = text_col(df, col(vocab.URL_ALIASES))
    parts["notes"] = text_col(df, col(vocab.NOTES_ALIASES))
    syn_col = col(vocab.SYNTHETIC_ALIASES)
    parts["synthetic"] = parse_bool(
        rows, None if syn_col is None else df[syn_col], syn_col or "synthetic", default=False, n=len(df)
    )
    return parts


#: Incident columns held as categoricals (few distinct values); the free-text columns are pandas strings.
LABEL_COLUMNS = ("date_precision", "category", "perpetrator", "location_precision")
TEXT_COLUMNS = ("source", "source_url", "notes")


@dataclass
class IncidentChunk:
    """The rows of one chunk of an incident table after the per-row checks, in compact columns.

    Every row of the chunk is held (a later chunk can still reject one as a duplicate); :func:`combine_chunks`
    keeps the good ones.
    """

    rows: _Rows
    id_column: str | None
    columns: dict[str, Any]


def prepare_chunk(rows: _Rows, parts: Parts, *, stem: str) -> IncidentChunk:
    """Check victims and fill blank ids of one chunk; hold its columns compactly (categoricals, strings, floats)."""
    # victims: missing -> 1 (noted); 0 -> 1 (noted); above MASS_CASUALTY -> kept, noted; negative, fractional or
    # impossible (above MAX_VICTIMS) -> rejected
    vcol = parts.get("victims_column", "victims")
    v = np.asarray(parts["victims"], dtype="float64")
    with np.errstate(invalid="ignore"):
        missing = np.isnan(v) & ~rows.bad
        rows.reject(v < 0, vcol, "negative number of victims", v)
        rows.reject(v > MAX_VICTIMS, vcol, f"more than {MAX_VICTIMS:,} victims in one record (impossible)", v)
        mass = (v > MASS_CASUALTY) & (v <= MAX_VICTIMS) & ~rows.bad
        frac = np.isfinite(v) & (v >= 0) & (v <= MAX_VICTIMS) & (v != np.floor(v))
        rows.reject(frac, vcol, "number of victims is not a whole number", v)
        zero = v == 0
    rows.note(missing, vcol, "victims missing; counted as 1", None, "defaulted")
    rows.note(zero, vcol, "0 victims read as 1 (an incident has at least one victim)", v, "defaulted")
    rows.note(mass, vcol, f"more than {MASS_CASUALTY:,} victims: kept as a mass-casualty event; check the source",
              v, "flagged")  # fmt: skip
    v = np.where(np.isnan(v) | (v <= 0) | (v > MAX_VICTIMS) | ~np.isfinite(v), 1, v)
    # ids: generated "<stem>-<row>" when blank (duplicates are found over the whole file by combine_chunks)
    ids, blank = fill_ids(rows, parts["incident_id"], stem)
    id_col = parts.get("id_column")
    if id_col is not None:
        rows.note(blank, id_col, "id missing; generated as '<file stem>-<row>'", ids, "generated")
    columns: dict[str, Any] = {
        "incident_id": ids.array,
        "id_hash": id_hashes(ids),
        "lon": np.asarray(parts["lon"], dtype="float64"),
        "lat": np.asarray(parts["lat"], dtype="float64"),
        "date": pd.Series(parts["date"]).to_numpy(dtype="datetime64[ns]"),
        "victims": np.floor(v).astype("int64"),
        "synthetic": np.asarray(parts["synthetic"], dtype=bool),
    }
    for c in LABEL_COLUMNS:
        columns[c] = pd.Categorical(as_str(parts[c]))
    for c in TEXT_COLUMNS:
        columns[c] = as_str(parts[c])
    return IncidentChunk(rows=rows, id_column=id_col, columns=columns)


def _concat(values: list) -> Any:
    if isinstance(values[0], pd.Categorical):
        return union_categoricals(values, sort_categories=True)
    if isinstance(values[0], np.ndarray):
        return np.concatenate(values)
    return pd.concat([pd.Series(v) for v in values], ignore_index=True).array


def combine_chunks(
    chunks: list[IncidentChunk], *, file: str, report: ValidationReport, geometry: bool = True
) -> pd.DataFrame:
    """Reject repeated ids over all chunks, write the notes of kept rows and build the incidents layer.

    The result is the same whatever the chunks: ids are compared over the whole file (the first row wins),
    categoricals hold the sorted labels of the kept rows. With ``geometry=False`` it is a DataFrame with
    float ``lon`` / ``lat`` columns (EPSG:4326) instead of a GeoDataFrame of Points.
    """
    rows = _Rows(file, report, np.concatenate([c.rows.rows for c in chunks]))
    rows.bad = np.concatenate([c.rows.bad for c in chunks])
    rows.labels = chunks[0].rows.labels  # a renaming adapter's names, the same in every chunk
    offset = 0
    for c in chunks:
        rows._notes.extend((idx + offset, *rest) for idx, *rest in c.rows._notes)
        c.rows._notes.clear()
        offset += len(c.rows)
    id_col = chunks[0].id_column
    names = list(chunks[0].columns)
    cols: dict[str, Any] = {}
    for name in names:  # one column at a time, dropping the chunks' copy as it goes
        cols[name] = _concat([c.columns.pop(name) for c in chunks])
    reject_duplicates(rows, cols["incident_id"], id_col or "incident_id", hashes=cols.pop("id_hash"))
    keep = rows.finish()
    if not keep.any():
        raise no_rows_error(rows, file)
    idx = np.flatnonzero(keep)
    everything = bool(keep.all())
    pick = (lambda a: a) if everything else (lambda a: a.take(idx) if not isinstance(a, np.ndarray) else a[idx])
    data: dict[str, Any] = {}
    for name in names:
        if name in ("lon", "lat", "id_hash"):
            continue
        col = pick(cols[name])
        if isinstance(col, pd.Categorical):
            col = col.remove_unused_categories()
        data[name] = col
    category = data["category"]
    data["severity"] = severity_codes(category, data["victims"])
    lon, lat = pick(cols.pop("lon")), pick(cols.pop("lat"))
    cols.clear()
    df = pd.DataFrame({c: data.pop(c) for c in INCIDENT_COLUMNS})
    if not geometry:
        df["lon"] = np.asarray(lon, dtype=np.float64)
        df["lat"] = np.asarray(lat, dtype=np.float64)
        return df
    return gpd.GeoDataFrame(df, geometry=shapely.points(lon, lat), crs=WGS84)


def finish_incidents(rows: _Rows, parts: Parts, *, file: str, stem: str, geometry: bool = True) -> pd.DataFrame:
    """Check ids and victims, derive severity and build the canonical incidents layer of the kept rows."""
    return combine_chunks([prepare_chunk(rows, parts, stem=stem)], file=file, report=rows.report, geometry=geometry)


def severity_codes(category: pd.Categorical, victims: np.ndarray) -> np.ndarray:
    """:func:`routerisk.schema.compute_severity` with default weights, the category weight looked up once per
    category of the categorical (``w * victims_factor``, the same arithmetic)."""
    weight = compute_severity(np.asarray(category.categories, dtype=object), np.ones(len(category.categories)))
    return (weight[np.asarray(category.codes)] * victims_factor(victims)).astype("float64")


def as_str(values, idx: np.ndarray | None = None) -> pd.api.extensions.ExtensionArray:
    """Text values (optionally the rows ``idx``) as pandas' string dtype, without a Python loop per row."""
    if isinstance(values, pd.Series):
        arr = values.array if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object else None
        if arr is not None:
            return arr if idx is None else arr.take(idx)
        values = values.to_numpy(dtype=object)
    values = np.asarray(values, dtype=object)
    if idx is not None:
        values = values[idx]
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return pd.array(np.asarray(uniques, dtype=object).astype(str), dtype="str").take(codes)


def fill_ids(rows: _Rows, ids, stem: str) -> tuple[pd.Series, np.ndarray]:
    """Ids as strings, ``"<stem>-<row>"`` where blank. Returns the ids and the mask of generated ones."""
    s = pd.Series(as_str(ids) if not isinstance(ids, pd.Series) else ids.array, dtype="str").reset_index(drop=True)
    s = s.fillna("")
    blank = (s == "").to_numpy(dtype=bool)
    if blank.any():
        s = s.copy()
        s[blank] = np.char.add(f"{stem}-", rows.rows[blank].astype(str))
    return s, blank


def id_hashes(ids) -> np.ndarray:
    """64-bit hashes of ids (pandas' :func:`~pandas.util.hash_pandas_object`), used to find candidate repeats
    without holding a hash table of every id."""
    return pd.util.hash_pandas_object(pd.Series(ids), index=False).to_numpy()


def reject_duplicates(rows: _Rows, ids, column: str, hashes: np.ndarray | None = None) -> None:
    """Reject later rows whose id repeats one of an earlier kept row (the first one wins).

    Vectorised over the whole table with little memory: rows are sorted by a 64-bit hash of their id
    (``hashes``, computed here when not given); only rows whose hash repeats are compared by their text.
    """
    ok = np.flatnonzero(~rows.bad)
    if len(ok) < 2:
        return
    h = (id_hashes(ids) if hashes is None else hashes)[ok]
    order = np.argsort(h, kind="stable")
    hs = h[order]
    same = hs[1:] == hs[:-1]
    del h, hs
    if not same.any():
        return
    cand_sorted = np.zeros(len(order), dtype=bool)
    cand_sorted[1:] |= same
    cand_sorted[:-1] |= same
    cand = np.sort(order[cand_sorted])  # positions (among kept rows) whose hash repeats, in file order
    del order, cand_sorted, same
    s = pd.Series(ids).take(ok[cand]).reset_index(drop=True)
    codes, _ = pd.factorize(s, use_na_sentinel=False)  # codes 0, 1, 2, ... in order of first appearance
    first = np.ones(len(codes), dtype=bool)
    first[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    if first.all():
        return
    first_pos = np.flatnonzero(first)
    dup = np.flatnonzero(~first)
    first_row = rows.rows[ok[cand[first_pos[codes[dup]]]]]
    vals = np.char.add(np.char.add(s.iloc[dup].to_numpy(dtype=str), " (first at row "), first_row.astype(str))
    mask = np.zeros(len(rows), dtype=bool)
    mask[ok[cand[dup]]] = True
    full_vals = np.empty(len(rows), dtype=object)
    full_vals[ok[cand[dup]]] = np.char.add(vals, ")")
    rows.reject(mask, column, "duplicate id (an earlier row has the same id)", full_vals)


def no_rows_error(rows: _Rows, file: str) -> InputError:
    """The error for a file none of whose rows could be used, listing the main reasons."""
    rej = rows.report.rejected
    rej = rej[rej["file"] == file]
    reasons = rej.groupby(["column", "reason"]).size().sort_values(ascending=False)
    top = "; ".join(f"{n} x {col + ': ' if col else ''}{reason}" for (col, reason), n in reasons.head(3).items())
    msg = f"no usable rows in {file!r}: all {len(rows)} rows were rejected ({top})"
    if len(reasons) and "out of range" in str(reasons.index[0][1]):
        msg += "; if the coordinates are projected (metres), reproject them to longitude/latitude (EPSG:4326)"
    return InputError(msg, path=file)
