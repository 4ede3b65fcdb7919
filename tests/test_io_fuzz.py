"""Property tests: on arbitrary input the readers either return a canonical layer or raise routerisk's own errors."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerisk import RouteRiskError, ValidationReport
from routerisk.io import read_incidents, read_routes, read_shelters, read_zones
from routerisk.io._incidents import MAX_VICTIMS
from routerisk.schema import CATEGORIES, DATE_PRECISIONS, INCIDENT_COLUMNS, LOCATION_PRECISIONS, PERPETRATORS

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

COLUMNS = ["id", "date", "fecha", "lat", "lon", "latitud", "longitud", "coordinates", "category", "tipo",
           "victims", "perpetrator", "location_precision", "date_precision", "synthetic", "notes", "radius_m",
           "geometry", "route_id", "seq", "kind", "intensity", "start_date", "end_date", "Web ID",
           "Cause of Death", "Location Coordinates", "event_date", "event_type", "latitude", "longitude",
           "fatalities", "geo_precision", "actor1", "sub_event_type", "time_precision"]  # fmt: skip
CELLS = st.one_of(
    st.sampled_from(["", "16.9", "-92.1", "19,43", "-99,13", "2019-02-30", "2019-05", "31-Dec-18", "0", "-1",
                     "1e400", "nan", "inf", "NaN", "1001", "2.5", "homicidio", "Drowning", "Attack", "1", "2",
                     "3", "sí", "POINT (-92 16)", "POLYGON ((0 0, 1 1, 1 0, 0 1, 0 0))", "LINESTRING (1 1, 1 1)",
                     '"16.9, -92.1"', "9999-99-99", "05/31/2019", "abc", "\u00e9", "Police Forces of Mexico"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)  # fmt: skip


def _run(reader, data: bytes, check=None, suffix: str = ".csv") -> None:
    with tempfile.TemporaryDirectory(prefix="routerisk-fuzz-") as d:
        path = Path(d) / f"fuzz{suffix}"
        path.write_bytes(data)
        _only_own_errors(reader, path, check)


def _check_incidents(g):
    assert list(g.columns) == [*INCIDENT_COLUMNS, "geometry"]
    assert g["incident_id"].is_unique
    # a mass-casualty record (above MASS_CASUALTY) is kept with a note; above MAX_VICTIMS it is impossible
    assert (g["victims"] >= 1).all() and (g["victims"] <= MAX_VICTIMS).all()
    assert set(g["category"]) <= set(CATEGORIES)
    assert set(g["perpetrator"]) <= set(PERPETRATORS)
    assert set(g["date_precision"]) <= set(DATE_PRECISIONS)
    assert set(g["location_precision"]) <= set(LOCATION_PRECISIONS)
    x, y = g.geometry.x.to_numpy(), g.geometry.y.to_numpy()
    assert np.isfinite(x).all() and (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all()


def _only_own_errors(reader, path, check=None):
    report = ValidationReport()
    try:
        out = reader(path, report=report)
    except RouteRiskError:
        return
    if check is not None:
        check(out)
    counts = report.counts[str(path)]
    assert counts["kept"] >= 1 and counts["read"] >= counts["kept"]


@SETTINGS
@given(st.text(max_size=400))
def test_arbitrary_text(text):
    _run(read_incidents, text.encode("utf-8", "surrogatepass"), _check_incidents)


@SETTINGS
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data):
    _run(read_incidents, data, _check_incidents)


GOOD = {
    "lat": st.sampled_from(["16.9", "14.905", "19,43", "-92.1", "32.5", ""]),
    "lon": st.sampled_from(["-92.1", "-99.13", "-117,2", "16.9", "-200", ""]),
    "date": st.sampled_from(["2019-05-31", "2019-05", "2019", "31/05/2019", "31-Dec-18", "", "2019-02-30"]),
    "victims": st.sampled_from(["1", "2", "", "0", "-1", "2000", "3.5"]),
    "category": st.sampled_from(["homicidio", "robo", "x", "", "Drowning"]),
    "radius_m": st.sampled_from(["1000", "", "0", "-5", "500,5"]),
}


@st.composite
def tables(draw):
    base = draw(st.sampled_from([[], ["lat", "lon"], ["id", "date", "lat", "lon", "victims", "category"],
                                 ["route_id", "seq", "lat", "lon"], ["lat", "lon", "radius_m", "kind"]]))
    cols = base + draw(st.lists(st.sampled_from(COLUMNS), min_size=0 if base else 1, max_size=4))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    nrows = draw(st.integers(0, 6))
    lines = [sep.join(cols)]
    for _ in range(nrows):
        ncell = draw(st.sampled_from([len(cols)] * 4 + [0, len(cols) + 1]))
        cells = [draw(GOOD[c] if c in GOOD and draw(st.integers(0, 5)) else CELLS) for c in cols][:ncell]
        lines.append(sep.join(c.replace("\n", " ").replace(sep, " ") for c in cells))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\r\n"]))


@SETTINGS
@given(tables(), st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_structured_tables_incidents(text, encoding):
    _run(read_incidents, text.encode(encoding, "replace"), _check_incidents)


@SETTINGS
@given(tables(), st.sampled_from([read_zones, read_routes, read_shelters]))
def test_structured_tables_other_layers(text, reader):
    _run(reader, text.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(st.text(max_size=300))
def test_arbitrary_geojson_text(text):
    _run(read_zones, text.encode("utf-8", "surrogatepass"), suffix=".geojson")



@functools.cache
def _states():
    import geopandas as gpd
    from shapely import box

    geoms = [box(-94, 14.5, -90.4, 18), box(-98.6, 15.6, -93.8, 18.7)]
    return gpd.GeoDataFrame({"state_code": ["07", "20"], "state_name": ["Chiapas", "Oaxaca"]}, geometry=geoms, crs=4326)


DEPLOY_CELLS = {
    "ano": st.sampled_from(["2019", "2020", "1800", "3000", "x", "", "2019.0"]),
    "mes": st.sampled_from(["jul", "ago", "dic", "Dec", "13", "0", "", "julio", "7"]),
    "cve_entidad": st.sampled_from(["07", "7", "20", "99", "", "7.0", "x"]),
    "entidad": st.sampled_from(["chiapas", "oaxaca", "", "atlantis"]),
    "despliegue": st.sampled_from(["100", "0", "-1", "", "1e400", "2,5", "nan"]),
    "migrantes_detenidos": st.sampled_from(["", "3", "x"]),
}


@SETTINGS
@given(st.lists(st.fixed_dictionaries({k: st.one_of(v, CELLS) for k, v in DEPLOY_CELLS.items()}), max_size=6),
       st.sets(st.sampled_from(list(DEPLOY_CELLS)), min_size=1))  # fmt: skip
def test_deployment_tables(records, columns):
    from routerisk.io import read_deployments

    cols = [c for c in DEPLOY_CELLS if c in columns]
    lines = [",".join(cols)] + [",".join(r[c].replace(",", " ").replace("\n", " ") for c in cols) for r in records]
    with tempfile.TemporaryDirectory(prefix="routerisk-fuzz-") as d:
        path = Path(d) / "dep.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            z = read_deployments(path, states=_states(), report=ValidationReport())
        except RouteRiskError:
            return
    assert z["zone_id"].is_unique and (z["intensity"] >= 0).all()
    assert (z["end_date"] >= z["start_date"]).all()
