"""Default QGIS styles for routerisk's layers: a ``layer_styles`` table in each GeoPackage and a ``.qml`` sidecar
for the GeoTIFF risk surface, with the colours of the maps (:mod:`routerisk.maps._legend`).

QGIS applies the row of ``layer_styles`` marked ``useAsDefault`` when a GeoPackage layer is opened (the convention
QGIS itself writes with "Save as Default"), and a ``<name>.qml`` next to a raster when the raster is opened. Each
style is given twice: as QML (QGIS's own format: a categorized renderer on ``risk_class`` for segments) and as
SLD 1.1 (Symbology Encoding) with the same rules, for other desktop GIS and map servers.

Nothing here reads user text into markup: layer and column names are routerisk's own constants; the table names
written into ``layer_styles`` come from the GeoPackage's ``gpkg_geometry_columns`` and are passed as SQL
parameters.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from ._atomic import atomic_file
from .maps._legend import (
    COVERAGE_COLOR,
    GAP_COLOR,
    HEAT_COLORS,
    NO_DATA_COLOR,
    RISK_COLORS,
    RISK_LABELS,
    SHELTER_COLORS,
    SITE_COLOR,
    ZONE_COLOR,
)

__all__ = [
    "LAYER_STYLE_COLUMNS",
    "STYLES",
    "LayerStyle",
    "add_layer_styles",
    "layer_qml",
    "layer_sld",
    "raster_qml",
    "write_raster_style",
]

#: Columns of QGIS's ``layer_styles`` table, in QGIS's order.
LAYER_STYLE_COLUMNS = (
    "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column", "styleName", "styleQML", "styleSLD",
    "useAsDefault", "description", "owner", "ui", "update_time",
)  # fmt: skip

_QGIS_VERSION = "3.28.0-Firenze"
_STYLE_NAME = "routerisk"


@dataclass(frozen=True)
class LayerStyle:
    """The symbology of one layer.

    Attributes
    ----------
    geometry : {"line", "fill", "marker"}
        Symbol type.
    classes : tuple of (value, label, colour)
        Categories on ``attribute`` (``value`` None: every other value, NULL included); empty for one symbol.
    attribute : str
        The categorized column.
    color : str
        Colour of the single symbol (and of the outline of fills).
    width : float
        Line width or marker size, mm.
    dashed : bool
        Dashed lines / outlines.
    """

    geometry: str
    classes: tuple[tuple[str | None, str, str], ...] = ()
    attribute: str = ""
    color: str = "#333333"
    width: float = 1.0
    dashed: bool = False


_RISK_CLASSES = tuple((str(i + 1), label, color) for i, (label, color) in enumerate(zip(RISK_LABELS, RISK_COLORS,
                                                                                           strict=True)))
#: Styles of the layers routerisk writes, by GeoPackage layer name: the colours of the maps.
STYLES: dict[str, LayerStyle] = {
    "segments": LayerStyle("line", (*_RISK_CLASSES, (None, "no class (suppressed or not scored)", NO_DATA_COLOR)),
                           "risk_class", width=1.2),
    "zones": LayerStyle("fill", color=ZONE_COLOR, width=0.5, dashed=True),
    "shelters": LayerStyle("marker", (*((k, k.replace("_", " "), c) for k, c in SHELTER_COLORS.items()),
                                      (None, "other", "#333333")), "kind", width=3.0),
    "existing": LayerStyle("marker", color=SHELTER_COLORS["shelter"], width=3.0),
    "sites": LayerStyle("marker", color=SITE_COLOR, width=3.6),
    "coverage": LayerStyle("line", color=COVERAGE_COLOR, width=2.0),
    "gaps": LayerStyle("line", color=GAP_COLOR, width=0.8, dashed=True),
}


def _rgba(color: str, alpha: int = 255) -> str:
    c = color.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{alpha}"


def _props(style: LayerStyle, color: str) -> dict[str, str]:
    dash = "dash" if style.dashed else "solid"
    if style.geometry == "line":
        return {"line_color": _rgba(color), "line_width": f"{style.width:g}", "line_width_unit": "MM",
                "line_style": dash, "capstyle": "round", "joinstyle": "round"}  # fmt: skip
    if style.geometry == "fill":
        return {"color": _rgba(color, 20), "outline_color": _rgba(color), "outline_width": f"{style.width:g}",
                "outline_width_unit": "MM", "outline_style": dash, "style": "solid"}  # fmt: skip
    shape = "square" if color == SITE_COLOR else "circle"
    return {"name": shape, "color": _rgba(color), "outline_color": "255,255,255,255", "outline_width": "0.3",
            "size": f"{style.width:g}", "size_unit": "MM"}  # fmt: skip


def _symbol_qml(style: LayerStyle, name: str, color: str) -> str:
    cls = {"line": "SimpleLine", "fill": "SimpleFill", "marker": "SimpleMarker"}[style.geometry]
    props = _props(style, color)
    options = "".join(f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>' for k, v in props.items())
    legacy = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return (
        f'<symbol type="{style.geometry}" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{cls}" enabled="1" locked="0" pass="0"><Option type="Map">{options}</Option>{legacy}'
        "</layer></symbol>"
    )


def layer_qml(layer: str) -> str:
    """QML (QGIS style document) of a routerisk layer: categorized on ``risk_class`` for segments.

    Examples
    --------
    >>> import xml.etree.ElementTree as ET
    >>> root = ET.fromstring(layer_qml("segments"))
    >>> root.find("renderer-v2").get("type"), len(root.findall("renderer-v2/categories/category"))
    ('categorizedSymbol', 6)
    """
    style = STYLES[layer]
    geom_type = {"marker": 0, "line": 1, "fill": 2}[style.geometry]
    if style.classes:
        cats = "".join(
            f'<category value={quoteattr("" if v is None else v)} label={quoteattr(label)} symbol="{i}" '
            f'render="true"/>'
            for i, (v, label, _) in enumerate(style.classes)
        )
        symbols = "".join(_symbol_qml(style, str(i), c) for i, (_, _, c) in enumerate(style.classes))
        renderer = (
            f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(style.attribute)} symbollevels="0" '
            f'enableorderby="0" forceraster="0"><categories>{cats}</categories><symbols>{symbols}</symbols>'
            "</renderer-v2>"
        )
    else:
        renderer = (
            '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0"><symbols>'
            f"{_symbol_qml(style, '0', style.color)}</symbols></renderer-v2>"
        )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{_QGIS_VERSION}" styleCategories="Symbology">{renderer}'
        f"<layerGeometryType>{geom_type}</layerGeometryType></qgis>\n"
    )


def _sld_symbolizer(style: LayerStyle, color: str) -> str:
    def param(name: str, value: str) -> str:
        return f'<se:SvgParameter name="{name}">{escape(value)}</se:SvgParameter>'

    mm = 3.78  # pixels per mm at 96 dpi (SLD sizes are pixels)
    dash = param("stroke-dasharray", "5 4") if style.dashed else ""
    if style.geometry == "line":
        return (f"<se:LineSymbolizer><se:Stroke>{param('stroke', color)}"
                f"{param('stroke-width', f'{style.width * mm:.1f}')}{param('stroke-linecap', 'round')}{dash}"
                "</se:Stroke></se:LineSymbolizer>")  # fmt: skip
    if style.geometry == "fill":
        return (f"<se:PolygonSymbolizer><se:Fill>{param('fill', color)}{param('fill-opacity', '0.08')}</se:Fill>"
                f"<se:Stroke>{param('stroke', color)}{param('stroke-width', f'{style.width * mm:.1f}')}{dash}"
                "</se:Stroke></se:PolygonSymbolizer>")  # fmt: skip
    shape = "square" if color == SITE_COLOR else "circle"
    return (f"<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>{shape}</se:WellKnownName>"
            f"<se:Fill>{param('fill', color)}</se:Fill><se:Stroke>{param('stroke', '#ffffff')}</se:Stroke></se:Mark>"
            f"<se:Size>{style.width * mm:.1f}</se:Size></se:Graphic></se:PointSymbolizer>")  # fmt: skip


def _sld_filter(attribute: str, value: str | None, others: list[str]) -> str:
    prop = f"<ogc:PropertyName>{escape(attribute)}</ogc:PropertyName>"
    if value is not None:
        return f"<ogc:Filter><ogc:PropertyIsEqualTo>{prop}<ogc:Literal>{escape(value)}</ogc:Literal>" \
               "</ogc:PropertyIsEqualTo></ogc:Filter>"  # fmt: skip
    if not others:
        return ""
    nots = "".join(f"<ogc:PropertyIsNotEqualTo>{prop}<ogc:Literal>{escape(v)}</ogc:Literal></ogc:PropertyIsNotEqualTo>"
                   for v in others)  # fmt: skip
    return (f"<ogc:Filter><ogc:Or><ogc:PropertyIsNull>{prop}</ogc:PropertyIsNull><ogc:And>{nots}</ogc:And>"
            "</ogc:Or></ogc:Filter>") if len(others) > 1 else (
        f"<ogc:Filter><ogc:Or><ogc:PropertyIsNull>{prop}</ogc:PropertyIsNull>{nots}</ogc:Or></ogc:Filter>")


def layer_sld(layer: str) -> str:
    """SLD 1.1 (Symbology Encoding 1.1) of a routerisk layer, with the rules of :func:`layer_qml`.

    Examples
    --------
    >>> import xml.etree.ElementTree as ET
    >>> root = ET.fromstring(layer_sld("segments"))
    >>> root.get("version"), len(root.findall(".//{http://www.opengis.net/se}Rule"))
    ('1.1.0', 6)
    """
    style = STYLES[layer]
    if style.classes:
        values = [v for v, _, _ in style.classes if v is not None]
        rules = "".join(
            f"<se:Rule><se:Name>{escape(label)}</se:Name><se:Description><se:Title>{escape(label)}</se:Title>"
            f"</se:Description>{_sld_filter(style.attribute, v, values)}{_sld_symbolizer(style, c)}</se:Rule>"
            for v, label, c in style.classes
        )
    else:
        rules = (f"<se:Rule><se:Name>{layer}</se:Name><se:Description><se:Title>{layer}</se:Title>"
                 f"</se:Description>{_sld_symbolizer(style, style.color)}</se:Rule>")  # fmt: skip
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" '
        'xmlns:se="http://www.opengis.net/se" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" '
        'xsi:schemaLocation="http://www.opengis.net/sld '
        'http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">'
        f"<NamedLayer><se:Name>{layer}</se:Name><UserStyle><se:Name>{layer}</se:Name>"
        f"<se:FeatureTypeStyle>{rules}</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>\n"
    )


_CREATE = (
    "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), "
    "f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), "
    "styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
    "update_time DATETIME DEFAULT CURRENT_TIMESTAMP)"
)


def add_layer_styles(gpkg: str | os.PathLike[str]) -> list[str]:
    """Write the default QGIS style of every routerisk layer of a GeoPackage into its ``layer_styles`` table.

    Layers routerisk does not know are left unstyled. The table is QGIS's (the columns of
    :data:`LAYER_STYLE_COLUMNS`). Calling it again replaces routerisk's rows (idempotent). Only new outputs get
    styles: a run folder is never modified afterwards.

    The table is registered in ``gpkg_contents`` as an attribute table, as QGIS does; GDAL lists it as a second
    layer, so read a styled GeoPackage with ``layer=`` (``gpd.read_file(path, layer="segments")``). ``update_time``
    is left NULL so that the rows of two identical runs are equal (``routerisk rerun`` compares layers).

    Parameters
    ----------
    gpkg : path
        A GeoPackage routerisk has just written (e.g. in a run's temporary folder).

    Returns
    -------
    list of str
        The layers styled.

    Examples
    --------
    >>> import tempfile, pathlib, sqlite3, geopandas as gpd
    >>> from shapely import LineString
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.gpkg"
    >>> gpd.GeoDataFrame({"risk_class": [2]}, geometry=[LineString([(0, 0), (1, 1)])], crs=4326).to_file(
    ...     path, layer="segments")
    >>> add_layer_styles(path)
    ['segments']
    >>> sqlite3.connect(path).execute("SELECT f_table_name, useAsDefault FROM layer_styles").fetchall()
    [('segments', 1)]
    """
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")  # gpkg_contents only: rows stay equal
    con = sqlite3.connect(os.fspath(gpkg))
    try:
        with con:
            layers = con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns ORDER BY table_name")
            known = [(t, g) for t, g in layers.fetchall() if t in STYLES]
            if not known:
                return []
            con.execute(_CREATE)
            con.execute(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS styles', ?)", (now,),
            )  # registered as QGIS registers it (GDAL lists the table either way)
            for table, geom in known:
                con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?", (table, _STYLE_NAME))
                con.execute(
                    "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                    "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                    "VALUES ('', '', ?, ?, ?, ?, ?, 1, ?, '', NULL, NULL)",
                    (table, geom, _STYLE_NAME, layer_qml(table), layer_sld(table),
                     f"routerisk default style of {table} (the colours of the maps)"),
                )  # fmt: skip
        return [t for t, _ in known]
    finally:
        con.close()


def raster_qml(vmin: float, vmax: float, *, units: str = "weighted incidents per km2") -> str:
    """QML of a singleband pseudocolor renderer: the maps' heat ramp (viridis) from ``vmin`` to ``vmax``.

    Cells at or below ``vmin`` are transparent; above ``vmax`` take the top colour.

    Examples
    --------
    >>> import xml.etree.ElementTree as ET
    >>> r = ET.fromstring(raster_qml(0, 4)).find("pipe/rasterrenderer")
    >>> r.get("type"), len(r.findall(".//item"))
    ('singlebandpseudocolor', 6)
    """
    vmin, vmax = float(vmin), float(vmax)
    vmax = vmax if vmax > vmin else vmin + max(1.0, abs(vmin) * 1e-6)
    stops = np.linspace(vmin, vmax, len(HEAT_COLORS))
    first = vmin + (vmax - vmin) * 1e-6  # just above vmin: opaque from here on
    items = [f'<item alpha="0" value="{vmin!r}" label="{vmin:.3g}" color="{HEAT_COLORS[0]}"/>',
             f'<item alpha="255" value="{first!r}" label="" color="{HEAT_COLORS[0]}"/>']
    items += [f'<item alpha="255" value="{float(v)!r}" label="{v:.3g}" color="{c}"/>'
              for v, c in zip(stops[1:], HEAT_COLORS[1:], strict=True)]  # fmt: skip
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{_QGIS_VERSION}" styleCategories="Symbology"><pipe>'
        f'<rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" nodataColor="" '
        f'classificationMin="{vmin!r}" classificationMax="{vmax!r}"><rasterTransparency/>'
        "<minMaxOrigin><limits>None</limits><extent>WholeRaster</extent><statAccuracy>Estimated</statAccuracy>"
        "</minMaxOrigin><rastershader>"
        f'<colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" '
        f'minimumValue="{vmin!r}" maximumValue="{vmax!r}" labelPrecision="3">{"".join(items)}</colorrampshader>'
        "</rastershader></rasterrenderer>"
        '<brightnesscontrast brightness="0" contrast="0" gamma="1"/>'
        '<huesaturation saturation="0" colorizeOn="0" grayscaleMode="0"/><rasterresampler maxOversampling="2"/>'
        f"</pipe><blendMode>0</blendMode><customproperties><Option type=\"Map\"><Option type=\"QString\" "
        f'name="routerisk_units" value={quoteattr(units)}/></Option></customproperties></qgis>\n'
    )


def write_raster_style(tif: str | os.PathLike[str], *, surface: np.ndarray | None = None) -> Path:
    """Write ``<stem>.qml`` next to a GeoTIFF risk surface: the heat ramp from 0 to its 99th percentile.

    The top of the ramp is the 99th percentile of the positive cells (as the interactive map's heat scale), so one
    hot cell does not wash the others out.

    Parameters
    ----------
    tif : path
        The GeoTIFF (band 1; its nodata cells stay transparent).
    surface : numpy.ndarray, optional
        The array just written to ``tif`` (NaN = nodata): the percentile is taken from its float32 values, as
        stored, instead of reading the file back (0.25 s and +36 MB for the demo's 5.5 million cells).

    Returns
    -------
    pathlib.Path
        The ``.qml`` written (atomically).

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> from affine import Affine
    >>> from routerisk.surface import write_geotiff
    >>> tif = pathlib.Path(tempfile.mkdtemp()) / "risk_surface.tif"
    >>> _ = write_geotiff(tif, np.arange(16.0).reshape(4, 4), Affine(1000, 0, 0, 0, -1000, 0), "EPSG:6372")
    >>> write_raster_style(tif).name
    'risk_surface.qml'
    """
    tif = Path(tif)
    if surface is None:
        import rasterio  # lazy: only where a surface is read back

        with rasterio.open(tif) as ds:
            stored = ds.read(1, masked=True).compressed()
    else:
        stored = np.asarray(surface)
        stored = stored[np.isfinite(stored)].astype("float32")  # the values the file holds
    pos = stored[stored > 0].astype("float64")
    vmax = float(np.percentile(pos, 99)) if len(pos) else 1.0
    out = tif.with_suffix(".qml")
    with atomic_file(out) as tmp:
        tmp.write_text(raster_qml(0.0, vmax), encoding="utf-8")
    return out
