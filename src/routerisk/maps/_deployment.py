"""A state-month deployment table on a map: one choropleth of personnel over the selected window.

:func:`routerisk.io.read_deployments` turns a table of personnel per state and month into one zone per state and
month (800 zones for 32 states over 25 months). Drawn as zones, they stack: 25 translucent polygons per state turn
the country solid. :func:`deployment_window` instead keeps the months that overlap the model's window
(``window_start`` / ``window_end``; without a window, the last :data:`DEFAULT_MONTHS` months of the table) and
gives each state its mean personnel per month; :func:`deployment_layer` (HTML) and :func:`deployment_mpl` (print)
draw it as a choropleth with classes in personnel (:func:`personnel_classes`), and :func:`deployment_legend` gives
the legend's rows.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ._common import PLOT_CRS
from ._escape import escape_text

__all__ = [
    "DEFAULT_MONTHS",
    "PERSONNEL_COLORS",
    "deployment_layer",
    "deployment_legend",
    "deployment_mpl",
    "deployment_window",
    "is_deployment",
    "personnel_classes",
]

#: Months shown when the model sets no window: the last year of the table.
DEFAULT_MONTHS = 12
#: ColorBrewer Purples, 5 classes (sequential, colour-blind safe, prints as a grey ramp).
PERSONNEL_COLORS = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")


def is_deployment(zones: Any) -> bool:
    """Whether a zones layer is a state-month deployment table (several month-zones per state).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> z = gpd.GeoDataFrame({"kind": ["deployment"] * 2, "state_code": ["07", "07"]}, geometry=[box(0, 0, 1, 1)] * 2)
    >>> is_deployment(z), is_deployment(z.drop(columns="state_code"))
    (True, False)
    """
    if zones is None or not len(zones) or "state_code" not in zones.columns or "kind" not in zones.columns:
        return False
    return bool((zones["kind"].astype(str) == "deployment").all() and zones["state_code"].duplicated().any())


def _nice(v: float) -> float:
    if v <= 0:
        return 0.0
    mag = 10 ** math.floor(math.log10(v))
    for step in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if v <= step * mag:  # no tolerance: a bound below the value would leave it outside every class
            return float(step * mag)
    return 10 * mag  # pragma: no cover


def personnel_classes(values: Any, k: int = 5) -> list[float]:
    """Upper bounds of up to ``k`` classes of personnel: quantiles rounded up to 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8
    times a power of ten (classes that would repeat a bound are merged).

    Examples
    --------
    >>> personnel_classes([120, 480, 900, 2300, 5100, 9800])
    [500.0, 1000.0, 2500.0, 6000.0, 10000.0]
    """
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    if not len(v):
        return []
    qs = np.quantile(v, np.linspace(0, 1, k + 1)[1:])
    out: list[float] = []
    for q in qs:
        b = _nice(float(q))
        if not out or b > out[-1]:
            out.append(b)
    return out


def deployment_window(zones: Any, model: Any = None) -> Any:
    """One row per state: mean personnel per month over the selected months, with the window's label.

    Parameters
    ----------
    zones : GeoDataFrame
        :func:`routerisk.io.read_deployments` output (``state_code``, ``start_date``, ``intensity``).
    model : RiskModel, optional
        Its ``window_start`` / ``window_end`` select the months; without them, the last :data:`DEFAULT_MONTHS`.

    Returns
    -------
    GeoDataFrame
        ``state_code``, ``name``, ``personnel`` (mean per month), ``months``, ``window`` (``"2020-08 to
        2021-07"``), geometry; empty when no month falls in the window.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> z = gpd.GeoDataFrame({"kind": "deployment", "state_code": ["07", "07", "07"], "name": "Chiapas",
    ...                       "start_date": pd.to_datetime(["2020-01-01", "2020-02-01", "2020-03-01"]),
    ...                       "intensity": [100.0, 200.0, 600.0]}, geometry=[box(0, 0, 1, 1)] * 3, crs=4326)
    >>> w = deployment_window(z)
    >>> float(w["personnel"].iloc[0]), int(w["months"].iloc[0]), w["window"].iloc[0]
    (300.0, 3, '2020-01 to 2020-03')
    """
    import geopandas as gpd

    z = zones.copy()
    start = pd.to_datetime(z["start_date"]).dt.to_period("M")
    ws, we = getattr(model, "window_start", None), getattr(model, "window_end", None)
    if ws is None and we is None:
        last = start.max()
        keep = start > last - DEFAULT_MONTHS
    else:
        keep = pd.Series(True, index=z.index)
        if ws is not None:
            keep &= start >= pd.Period(ws, "M")
        if we is not None:
            keep &= start <= pd.Period(we, "M")
    z = z[keep.to_numpy()]
    if not len(z):
        return gpd.GeoDataFrame({"state_code": [], "name": [], "personnel": [], "months": [], "window": []},
                                geometry=[], crs=zones.crs)  # fmt: skip
    months = start[keep.to_numpy()]
    label = f"{months.min()} to {months.max()}"
    names = z["name"].astype(str) if "name" in z.columns else z["state_code"].astype(str)
    names = names.str.replace(r"\s+\d{4}-\d{2}$", "", regex=True)  # "Chiapas 2019-07" -> "Chiapas"
    agg = (
        pd.DataFrame({"state_code": z["state_code"].astype(str).to_numpy(), "name": names.to_numpy(),
                      "personnel": pd.to_numeric(z["intensity"], errors="coerce").to_numpy()})
        .groupby("state_code", sort=True)
        .agg(name=("name", "first"), personnel=("personnel", "mean"), months=("personnel", "size"))
        .reset_index()
    )  # fmt: skip
    geom = z.drop_duplicates("state_code").set_index(z["state_code"].astype(str).drop_duplicates().to_numpy())
    out = gpd.GeoDataFrame(agg, geometry=geom.geometry.loc[agg["state_code"]].to_numpy(), crs=zones.crs)
    out["window"] = label
    return out


def _class_colors(personnel: np.ndarray, bounds: list[float]) -> list[str]:
    idx = np.searchsorted(np.asarray(bounds), personnel, side="left")
    palette = PERSONNEL_COLORS[-len(bounds):] if bounds else PERSONNEL_COLORS
    return [palette[min(int(i), len(palette) - 1)] for i in idx]


def deployment_legend(zones: Any, model: Any = None) -> list[tuple[str, str]]:
    """Legend rows ``(colour, label)`` of the deployment choropleth; the first row is the heading.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> z = gpd.GeoDataFrame({"kind": "deployment", "state_code": ["07", "07"], "name": "Chiapas",
    ...                       "start_date": pd.to_datetime(["2020-01-01", "2020-02-01"]),
    ...                       "intensity": [400.0, 600.0]}, geometry=[box(0, 0, 1, 1)] * 2, crs=4326)
    >>> deployment_legend(z)[0][1], deployment_legend(z)[1][1]
    ('Personnel deployed (mean per month, 2020-01 to 2020-02)', '0-500')
    """
    w = deployment_window(zones, model)
    if not len(w):
        return []
    bounds = personnel_classes(w["personnel"])
    palette = PERSONNEL_COLORS[-len(bounds):]
    rows = [("", f"Personnel deployed (mean per month, {w['window'].iloc[0]})")]
    lo = 0.0
    for color, hi in zip(palette, bounds, strict=True):
        rows.append((color, f"{lo:,.0f}-{hi:,.0f}"))
        lo = hi
    return rows


def deployment_layer(zones: Any, model: Any = None) -> tuple[dict, str] | None:
    """The HTML choropleth: ``(data, JavaScript)`` for :class:`routerisk.maps._common.Leaflet` (escaped tooltips)."""
    w = deployment_window(zones, model)
    if not len(w):
        return None
    w = w.to_crs(4326)
    colors = _class_colors(w["personnel"].to_numpy(), personnel_classes(w["personnel"]))
    geoms = shapely.simplify(w.geometry.values, 0.01)
    feats = []
    for i, geom in enumerate(geoms):
        row = w.iloc[i]
        tip = (f"<b>{escape_text(row['name'])}</b><br>personnel: {row['personnel']:,.0f} per month (mean of "
               f"{int(row['months'])} months, {escape_text(row['window'])})")  # fmt: skip
        feats.append({"type": "Feature", "properties": {"t": tip, "c": colors[i]},
                      "geometry": shapely.geometry.mapping(shapely.set_precision(geom, 1e-4))})  # fmt: skip
    data = {"type": "FeatureCollection", "features": feats}
    code = """
  return L.geoJSON(D, {pane: 'rrZones', style: function (f) {
      return {color: '#54278f', weight: 0.6, fillColor: f.properties.c, fillOpacity: 0.55}; },
    onEachFeature: function (f, l) { l.bindTooltip(f.properties.t, {sticky: true}); }});
"""
    return data, code


def deployment_mpl(ax: Any, zones: Any, model: Any = None) -> list[Any]:
    """The print choropleth on ``ax``; returns legend handles labelled in personnel."""
    from matplotlib.patches import Patch  # lazy: matplotlib only for print maps

    w = deployment_window(zones, model)
    if not len(w):
        return []
    bounds = personnel_classes(w["personnel"])
    colors = _class_colors(w["personnel"].to_numpy(), bounds)
    w.to_crs(PLOT_CRS).plot(ax=ax, color=colors, edgecolor="#54278f", linewidth=0.3, alpha=0.55, zorder=1.5)
    rows = deployment_legend(zones, model)
    heading = rows[0][1].replace(" (", "\n(", 1).replace(", ", ",\n", 1)  # narrow: the legend column is narrow
    handles = [Patch(facecolor="none", edgecolor="none", label=heading)]
    handles += [Patch(facecolor=c, edgecolor="#54278f", linewidth=0.3, alpha=0.55, label=lab) for c, lab in rows[1:]]
    return handles
