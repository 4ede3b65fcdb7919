"""Build ``data/countries.geojson``: Mexico's neighbours for the offline basemap (Natural Earth, public domain).

Source: Natural Earth 1:110m Cultural Vectors, Admin 0 - Countries (naturalearthdata.com, public domain), as
shipped in the ``pyogrio`` package (``pyogrio/tests/fixtures/naturalearth_lowres``; pyogrio is a dependency of
routerisk through geopandas). Every country except Mexico (drawn from its states) that meets the box
lon -125..-75, lat 5..40 is clipped to that box and written with 3 decimals (about 100 m; the source is
generalised to ~10 km anyway).

Run: ``python scripts/build_countries.py`` (writes data/countries.geojson).
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

BOX = (-125.0, 5.0, -75.0, 40.0)
OUT = Path(__file__).resolve().parents[1] / "data" / "countries.geojson"


def main() -> None:
    src = Path(pyogrio.__file__).parent / "tests" / "fixtures" / "naturalearth_lowres" / "naturalearth_lowres.shp"
    world = gpd.read_file(src)
    box = shapely.box(*BOX)
    near = world[world.intersects(box) & (world["iso_a3"] != "MEX")].copy()
    near["geometry"] = shapely.set_precision(near.geometry.intersection(box).to_numpy(), 1e-3)
    near = near[~near.geometry.is_empty].sort_values("name")
    feats = [
        {"type": "Feature", "properties": {"name": n, "iso_a3": iso},
         "geometry": shapely.geometry.mapping(g)}
        for n, iso, g in zip(near["name"], near["iso_a3"], near.geometry, strict=True)
    ]
    doc = {"type": "FeatureCollection",
           "source": "Natural Earth 1:110m Admin 0 - Countries (public domain), via pyogrio's naturalearth_lowres",
           "features": feats}
    OUT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT} ({len(feats)} countries, {OUT.stat().st_size / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
