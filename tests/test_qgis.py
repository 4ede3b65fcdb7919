"""QGIS styles: layer_styles in the run's GeoPackages, QML and SLD 1.1 with the maps' colours, risk_surface.qml.

No SLD 1.1 schema (StyledLayerDescriptor.xsd with its OGC imports) is available offline here, and tests make no
network request: the SLD is checked for its structure (namespaces, version, one rule per class with its filter
and symbolizer, the colours) instead of against the schema.
"""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import LineString, Point

from routerisk.maps._legend import HEAT_COLORS, NO_DATA_COLOR, RISK_COLORS, SHELTER_COLORS, ZONE_COLOR
from routerisk.qgis import LAYER_STYLE_COLUMNS, STYLES, add_layer_styles, layer_qml, layer_sld, raster_qml

SE = "{http://www.opengis.net/se}"
OGC = "{http://www.opengis.net/ogc}"
SLD = "{http://www.opengis.net/sld}"


def _rgb(color: str) -> str:
    c = color.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)}"


def _symbol_colors(root: ET.Element) -> dict[str, str]:
    """symbol name -> the line/fill colour of its first layer (r,g,b)."""
    out = {}
    for sym in root.iter("symbol"):
        opts = {o.get("name"): o.get("value") for o in sym.iter("Option") if o.get("name")}
        color = opts.get("line_color") or opts.get("outline_color") if sym.get("type") != "marker" else opts["color"]
        out[sym.get("name")] = ",".join(color.split(",")[:3])
    return out


def test_segments_qml_is_categorized_on_risk_class_with_the_map_colours():
    root = ET.fromstring(layer_qml("segments"))
    assert root.tag == "qgis"
    renderer = root.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "risk_class"
    cats = renderer.findall("categories/category")
    assert [c.get("value") for c in cats] == ["1", "2", "3", "4", "5", ""]  # "" = every other value (NULL)
    colors = _symbol_colors(root)
    assert [colors[c.get("symbol")] for c in cats] == [_rgb(c) for c in (*RISK_COLORS, NO_DATA_COLOR)]
    assert root.find("layerGeometryType").text == "1"  # lines


def test_every_layer_qml_parses_with_its_renderer_and_colours():
    for name, style in STYLES.items():
        root = ET.fromstring(layer_qml(name))
        renderer = root.find("renderer-v2")
        assert renderer.get("type") == ("categorizedSymbol" if style.classes else "singleSymbol"), name
        syms = root.findall(".//symbols/symbol")
        assert len(syms) == max(1, len(style.classes))
        assert {s.get("type") for s in syms} == {style.geometry}
    zone = _symbol_colors(ET.fromstring(layer_qml("zones")))
    assert zone["0"] == _rgb(ZONE_COLOR)
    shel = ET.fromstring(layer_qml("shelters"))
    cats = {c.get("value"): c.get("symbol") for c in shel.iter("category")}
    assert _symbol_colors(shel)[cats["asylum_office"]] == _rgb(SHELTER_COLORS["asylum_office"])


def test_sld_has_the_structure_of_sld_1_1_and_the_same_rules():
    root = ET.fromstring(layer_sld("segments").encode())
    assert root.tag == f"{SLD}StyledLayerDescriptor" and root.get("version") == "1.1.0"
    layer = root.find(f"{SLD}NamedLayer")
    assert layer.find(f"{SE}Name").text == "segments"
    fts = layer.find(f"{SLD}UserStyle/{SE}FeatureTypeStyle")
    rules = fts.findall(f"{SE}Rule")
    assert len(rules) == 6
    strokes = []
    for i, rule in enumerate(rules):
        assert rule.find(f"{SE}Name").text
        sym = rule.find(f"{SE}LineSymbolizer")
        assert sym is not None
        params = {p.get("name"): p.text for p in sym.iter(f"{SE}SvgParameter")}
        strokes.append(params["stroke"])
        filt = rule.find(f"{OGC}Filter")
        if i < 5:
            eq = filt.find(f"{OGC}PropertyIsEqualTo")
            assert eq.find(f"{OGC}PropertyName").text == "risk_class"
            assert eq.find(f"{OGC}Literal").text == str(i + 1)
        else:  # the rest: NULL or none of the classes
            assert filt.find(f".//{OGC}PropertyIsNull") is not None
            assert len(filt.findall(f".//{OGC}PropertyIsNotEqualTo")) == 5
    assert strokes == [*RISK_COLORS, NO_DATA_COLOR]
    for name in STYLES:  # every layer's SLD parses and has one symbolizer per rule
        r = ET.fromstring(layer_sld(name).encode())
        for rule in r.iter(f"{SE}Rule"):
            assert len([c for c in rule if c.tag.endswith("Symbolizer")]) == 1


def _gpkg(tmp_path, layers):
    path = tmp_path / "x.gpkg"
    for name, geom in layers:
        gpd.GeoDataFrame({"risk_class": [2], "kind": ["shelter"]}, geometry=[geom], crs=4326).to_file(path, layer=name)
    return path


def test_layer_styles_table_follows_the_qgis_convention(tmp_path):
    path = _gpkg(tmp_path, [("segments", LineString([(0, 0), (1, 1)])), ("other", Point(0, 0)),
                            ("shelters", Point(1, 1))])  # fmt: skip
    assert add_layer_styles(path) == ["segments", "shelters"]  # unknown layers are left unstyled
    assert add_layer_styles(path) == ["segments", "shelters"]  # idempotent
    con = sqlite3.connect(path)
    cols = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
    assert set(LAYER_STYLE_COLUMNS) <= set(cols)
    rows = con.execute("SELECT f_table_name, f_geometry_column, styleName, useAsDefault, styleQML, styleSLD "
                       "FROM layer_styles ORDER BY f_table_name").fetchall()  # fmt: skip
    geom_cols = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
    assert [r[0] for r in rows] == ["segments", "shelters"]
    for table, geom, name, default, qml, sld in rows:
        assert geom == geom_cols[table] and name == "routerisk" and default == 1
        assert qml == layer_qml(table) and sld == layer_sld(table)
    assert con.execute("SELECT data_type FROM gpkg_contents WHERE table_name='layer_styles'").fetchone() == (
        "attributes",)
    con.close()
    # QGIS reads the table through OGR: GDAL must see it, and the data layers stay readable
    styles = pyogrio.read_dataframe(path, layer="layer_styles")
    assert sorted(styles["f_table_name"]) == ["segments", "shelters"]
    assert len(gpd.read_file(path, layer="segments")) == 1


def test_a_file_without_routerisk_layers_gets_no_table(tmp_path):
    path = _gpkg(tmp_path, [("roads", LineString([(0, 0), (1, 1)]))])
    assert add_layer_styles(path) == []
    con = sqlite3.connect(path)
    assert con.execute("SELECT count(*) FROM sqlite_master WHERE name='layer_styles'").fetchone() == (0,)
    con.close()


@settings(max_examples=40, deadline=None)
@given(vmin=st.floats(-1e6, 1e6), span=st.floats(0, 1e6))
def test_raster_qml_ramp_is_increasing_with_the_heat_colours(vmin, span):
    root = ET.fromstring(raster_qml(vmin, vmin + span))
    r = root.find("pipe/rasterrenderer")
    assert r.get("type") == "singlebandpseudocolor" and r.get("band") == "1"
    items = r.findall(".//colorrampshader/item")
    values = [float(i.get("value")) for i in items]
    assert values == sorted(values)
    assert items[0].get("alpha") == "0"  # empty cells transparent
    assert [i.get("color") for i in items[2:]] == list(HEAT_COLORS[1:])


@pytest.mark.slow
def test_a_run_writes_styles_and_the_raster_sidecar(tmp_path):
    from routerisk import load_corridors, synthetic_incidents
    from routerisk.pipeline import run

    routes = load_corridors()
    routes = routes[routes["route_id"] == "isthmus"]
    routes.to_file(tmp_path / "r.geojson", driver="GeoJSON")
    inc = synthetic_incidents(300, seed=3)
    inc.drop(columns="geometry").assign(lon=inc.geometry.x, lat=inc.geometry.y).to_csv(tmp_path / "i.csv",
                                                                                      index=False)  # fmt: skip
    out = tmp_path / "run"
    run(out, incidents=tmp_path / "i.csv", routes=tmp_path / "r.geojson", embedded_zones=True,
        embedded_shelters=True, maps=True, sites=1, command="test")  # fmt: skip
    expected = {"segments.gpkg": {"segments"}, "zones.gpkg": {"zones"}, "shelters.gpkg": {"shelters"},
                "sites.gpkg": {"sites", "coverage", "gaps"}}  # fmt: skip
    for name, layers in expected.items():
        con = sqlite3.connect(out / name)
        got = {r[0] for r in con.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault = 1")}
        con.close()
        assert got == layers, name
    root = ET.parse(out / "risk_surface.qml").getroot()
    shader = root.find(".//colorrampshader")
    with rasterio.open(out / "risk_surface.tif") as ds:
        arr = ds.read(1, masked=True).filled(np.nan)
    pos = arr[np.isfinite(arr) & (arr > 0)]
    assert float(shader.get("maximumValue")) == pytest.approx(np.percentile(pos, 99), rel=1e-5)
    man = (out / "manifest.json").read_text()
    assert "risk_surface.qml" in man  # in the manifest's outputs, with its SHA-256


def test_raster_style_from_the_array_equals_the_style_read_back(tmp_path):
    """The run passes the surface it just wrote: the .qml is byte-identical to the one read from the file."""
    import numpy as np
    from affine import Affine

    from routerisk.qgis import write_raster_style
    from routerisk.surface import write_geotiff

    rng = np.random.default_rng(5)
    arr = rng.gamma(0.3, 1e-3, (60, 80))
    arr[rng.random(arr.shape) < 0.3] = 0.0
    arr[rng.random(arr.shape) < 0.1] = np.nan
    arr[0, 0] = 1e-50  # positive in float64, 0 once stored as float32
    tif = write_geotiff(tmp_path / "s.tif", arr, Affine(1000, 0, 0, 0, -1000, 0), "EPSG:6372")
    read_back = write_raster_style(tif).read_bytes()
    assert write_raster_style(tif, surface=arr).read_bytes() == read_back
