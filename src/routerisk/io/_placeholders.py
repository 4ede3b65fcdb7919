"""Honest locations of IOM records: precision from the location description and coordinate patterns.

The IOM Missing Migrants Project geocodes each record from a description ("Pima County jurisdiction, Arizona,
USA", "Río Bravo, near Reynosa, Tamaulipas, Mexico"); every coordinate is printed with many decimals, so the
number of decimals says nothing about how well a record is placed. :func:`iom_precision` infers the precision,
in this order (the first rule that applies wins), and notes every downgrade in the report:

1. **unknown**: the description is blank or says the location is unknown;
2. **state**: the description names only a state or country ("Chihuahua, Mexico", "Arizona, USA"); such
   records are not placed on segments (:data:`routerisk.schema.LOCATION_SIGMA_M`);
3. **municipality**: the description names only a county or jurisdiction ("Pima County", "Webb County, Texas,
   USA (see spreadsheet for exact location)");
4. **municipality**: a *placeholder point*: at least :data:`PLACEHOLDER_MIN` records of the file share the same
   coordinates (to 1e-5 degree) — one point standing for a whole area;
5. **exact**: the description names a precise feature (a kilometre or mile marker, a bridge, a port of entry or
   checkpoint, a street) and the coordinates carry at least 3 decimals;
6. **locality** otherwise (a town, "near <town>", a river bank, a ranch, railway tracks or a highway near a
   town).

Shared points are counted within one chunk of the reader (at least 50,000 rows, so over the whole file for any
IOM export published so far).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._tables import _Rows, norm_text

__all__ = ["PLACEHOLDER_MIN", "iom_precision", "shared_point_counts"]

#: Records sharing one coordinate pair from which the point is taken as a placeholder for an area.
PLACEHOLDER_MIN = 10

_UNKNOWN = r"^(?:unknown(?: location)?|location unknown|no location|n/?a|desconocid[oa]|sin dato)?\.?$"
_COUNTRIES = r"(?:mexico|usa|us|united states(?: of america)?|guatemala|belize|honduras|el salvador)"
_STATES = (
    "aguascalientes|baja california(?: sur)?|campeche|chiapas|chihuahua|ciudad de mexico|mexico city|coahuila"
    "(?: de zaragoza)?|colima|durango|estado de mexico|guanajuato|guerrero|hidalgo|jalisco|michoacan(?: de ocampo)?"
    "|morelos|nayarit|nuevo leon|oaxaca|puebla|queretaro|quintana roo|san luis potosi|sinaloa|sonora|tabasco"
    "|tamaulipas|tlaxcala|veracruz(?: de ignacio de la llave)?|yucatan|zacatecas|arizona|california|new mexico"
    "|texas|us-mexico border|mexico-us border|us/mexico border"
)
_STATE_ONLY = rf"^(?:(?:{_STATES})(?:,\s*{_COUNTRIES})?|{_COUNTRIES})\.?$"
# "<one to three words> county" (or jurisdiction / municipality), then only states, countries or a remark in brackets
_COUNTY_ONLY = (
    rf"^(?:[a-z.'-]+\s){{1,3}}(?:coun?ty|parish)(?:\s+jurisdiction)?(?:,\s*(?:{_STATES}|{_COUNTRIES}))*"
    r"(?:\s*\(.*\))?\.?$"
)
_FEATURE = (
    r"\bkm\.?\s*\d|\bkilometr[eo]s?\s*\d|mile marker|\bmile\s*\d|bridge|\bpuente\b|port of entry|checkpoint"
    r"|garita|\bcalle\b|\bstreet\b|\bavenue\b|\bavenida\b|\bboulevard\b|\bbulevar\b"
    r"|\b\d{2,5} [a-z]+ (?:st|rd|ave|blvd)\b"
)


def shared_point_counts(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """For each record, how many records share its coordinates (rounded to 1e-5 degree); 0 where unplaced.

    Examples
    --------
    >>> shared_point_counts(np.array([1.0, 1.000001, 2.0, np.nan]), np.array([5.0, 5.0, 5.0, np.nan])).tolist()
    [2, 2, 1, 0]
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    ok = np.isfinite(lon) & np.isfinite(lat)
    out = np.zeros(len(lon), dtype="int64")
    if ok.any():
        key = np.round(lon[ok] * 1e5).astype("int64") * 100_000_000 + np.round(lat[ok] * 1e5).astype("int64")
        _, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
        out[ok] = counts[inv]
    return out


def iom_precision(
    rows: _Rows, lon: np.ndarray, lat: np.ndarray, decimals: np.ndarray, description: pd.Series, column: str
) -> np.ndarray:
    """Location precision of IOM records from their description and coordinates, with a note per downgrade.

    Parameters
    ----------
    rows : _Rows
        The chunk's row tracker (notes go to its report).
    lon, lat : ndarray
        Coordinates (NaN where unplaced).
    decimals : ndarray
        Fewest decimals of each coordinate pair.
    description : Series
        IOM's ``Location Description`` (or ``Location of death``).
    column : str
        The description's column name, for the report.

    Returns
    -------
    ndarray of str
        One of :data:`routerisk.schema.LOCATION_PRECISIONS` per record.
    """
    text = norm_text(description.fillna("").astype(str)).str.strip()
    n = len(text)
    codes, uniq = pd.factorize(text)  # each pattern once per distinct description, not once per row
    uniq = pd.Series(uniq, dtype=object)

    def has(pattern: str) -> np.ndarray:
        return uniq.str.contains(pattern, regex=True).to_numpy(dtype=bool)[codes] if n else np.zeros(0, dtype=bool)

    unknown = has(_UNKNOWN)
    state = has(_STATE_ONLY) & ~unknown
    county = has(_COUNTY_ONLY) & ~unknown & ~state
    shared = shared_point_counts(lon, lat)
    placeholder = (shared >= PLACEHOLDER_MIN) & ~unknown & ~state & ~county
    feature = has(_FEATURE)
    exact = feature & (np.asarray(decimals) >= 3) & ~(unknown | state | county | placeholder)
    out = np.full(n, "locality", dtype=object)
    out[exact] = "exact"
    out[placeholder | county] = "municipality"
    out[state] = "state"
    out[unknown] = "unknown"
    rows.note(unknown, column, "location described as unknown; precision 'unknown'", description, "downgraded")
    rows.note(state, column, "location described as a state or country only; precision 'state' (not placed on "
              "segments)", description, "downgraded")  # fmt: skip
    rows.note(county, column, "location described as a county or jurisdiction only; precision 'municipality'",
              description, "downgraded")  # fmt: skip
    if placeholder.any():
        vals = pd.Series(shared).astype(str) + " records share this point"
        rows.note(placeholder, column, f"placeholder point (shared by at least {PLACEHOLDER_MIN} records); "
                  "precision 'municipality'", vals, "downgraded")  # fmt: skip
    return out
