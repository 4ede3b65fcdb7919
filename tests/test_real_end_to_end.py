"""End to end on a worldwide-style IOM export: Mexican records, other continents, placeholder points, a
mass-casualty row; routerisk score --maps succeeds and every output says what happened to them."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from click.testing import CliRunner

from routerisk import RiskModel
from routerisk.cli import cli
from routerisk.studyarea import default_study_area

REAL = Path(__file__).parent / "data" / "real" / "iom_mmp_mexico_box_2014_2020.csv"


def _rows(df: pd.DataFrame, n: int, start: int, **values) -> pd.DataFrame:
    out = pd.concat([df.head(1)] * n, ignore_index=True)
    out["Web ID"] = [str(start + i) for i in range(n)]
    for k, v in values.items():
        out[k] = v
    return out


def _export(tmp_path: Path) -> Path:
    df = pd.read_csv(REAL, dtype=str, keep_default_na=False).head(250)
    coords = lambda lat, lon: {"Location Coordinates": f"{lat}, {lon}", "latitude": str(lat), "longitude": str(lon)}  # noqa: E731
    parts = [
        df,
        # other continents
        _rows(df, 1, 910001, **coords(35.5, 12.6), **{"Location Description": "Central Mediterranean"}),
        _rows(df, 1, 910002, **coords(14.7, -17.4), **{"Location Description": "off Dakar, Senegal"}),
        _rows(df, 1, 910003, **coords(6.2, 100.3), **{"Location Description": "Andaman Sea"}),
        # a real-world mass-casualty shipwreck (outside the study area) and one on a corridor (kept, flagged)
        _rows(df, 1, 910004, **coords(35.9, 14.3), **{"Total Dead and Missing": "1022",
                                                       "Cause of Death": "Drowning",
                                                       "Location Description": "Central Mediterranean"}),
        _rows(df, 1, 910005, **coords(14.90541, -92.25891), **{"Total Dead and Missing": "1500",
                                                                "Cause of Death": "Violence",
                                                                "Location Description": "Calle 5, Tapachula"}),
        # 12 records at one placeholder point on the Isthmus corridor, described precisely
        _rows(df, 12, 920000, **coords(16.56052, -95.10375),
              **{"Location Description": "Calle Hidalgo 10, Ixtepec, Oaxaca, Mexico"}),
        # described by a county only
        _rows(df, 3, 930000, **coords(31.9652, -113.01189), **{"Location Description": "Pima County"}),
    ]
    path = tmp_path / "iom_world.csv"
    pd.concat(parts, ignore_index=True).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_worldwide_export_end_to_end(tmp_path):
    src = _export(tmp_path)
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["score", "--incidents", str(src), "--maps", "--cell-m", "2000", "--out", str(out),
                                   "--param", "neighbour_steps=2"], catch_exceptions=False)  # fmt: skip
    assert res.exit_code in (0, 1), res.output
    manifest = json.loads((out / "manifest.json").read_text())
    # rows outside the study area are counted, by distance band, and excluded
    outside = manifest["outside_study_area"]
    assert outside["by_reason"]["more than 1000 km outside"] == 4  # 3 continents + the shipwreck
    assert outside["rows"] + outside["kept"] == manifest["inputs"][0]["kept"]
    inc = gpd.read_file(out / "incidents.gpkg", layer="incidents")
    ids = set(inc["incident_id"].astype(str))
    assert not ids & {"910001", "910002", "910003", "910004"}
    # the mass-casualty record on the corridor is kept, with a note
    assert "910005" in ids and int(inc.set_index("incident_id").loc["910005", "victims"]) == 1500
    notes = pd.read_csv(out / "input_notes.csv")
    assert notes["reason"].str.startswith("more than 1,000 victims: kept as a mass-casualty event").any()
    # placeholder points are not exact
    prec = inc.set_index(inc["incident_id"].astype(str))["location_precision"]
    placeholder = [str(920000 + i) for i in range(12)]
    assert set(prec[placeholder]) == {"municipality"}
    assert sum(manifest["location_precision"].values()) == manifest["data"]["incidents"] == len(inc)
    # the raster covers the study area only (not the world)
    area = default_study_area(gpd.read_file(out / "segments.gpkg", layer="segments"), RiskModel())
    with rasterio.open(out / "risk_surface.tif") as tif:
        b = tif.bounds
        box = area.to_crs(tif.crs).total_bounds  # the study area's box in the raster's CRS
        assert tif.res == (2000.0, 2000.0)
    assert np.allclose([b.left, b.bottom, b.right, b.top], box, atol=2000.0 + 1e-6)  # snapped to whole cells
    assert (b.right - b.left) < 3_000_000  # ~2,850 km across Mexico's corridors; the world would be ~20,000 km
    # the maps credit IOM (and the basemap's sources)
    html = (out / "map.html").read_text()
    for word in ("IOM Missing Migrants Project", "GeoNames", "Natural Earth", "INEGI"):
        assert word in html
    assert "IOM Missing Migrants Project" in " ".join(manifest["attribution"])
    ranked = pd.read_csv(out / "segments_ranked.csv")
    assert ranked["nearest_locality"].notna().all()
