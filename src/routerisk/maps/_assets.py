"""JavaScript, CSS and images inlined into the HTML, read from installed registry packages.

Leaflet 1.9.3 and its images come from ``xstatic-leaflet``, jQuery from ``xstatic-jquery``, Leaflet.markercluster
from ``xstatic-leaflet-markercluster`` and Leaflet.heat from folium's own wheel (``folium/templates``). Nothing is
fetched: the map renders with no network.
"""

from __future__ import annotations

import base64
import functools
import importlib
import re
from pathlib import Path

__all__ = ["asset_tags", "data_uri"]


def _xstatic_dir(name: str) -> Path:
    try:
        module = importlib.import_module(f"xstatic.pkg.{name}")
    except ImportError as exc:  # pragma: no cover - declared dependencies
        pkg = "xstatic-" + name.replace("_", "-")
        msg = f"the interactive map needs the {pkg!r} package: pip install {pkg}"
        raise ImportError(msg) from exc
    return Path(module.BASE_DIR)


def _folium_templates() -> Path:
    import folium  # lazy: folium costs 0.3 s at start-up (measured), paid only when an HTML map is drawn

    return Path(folium.__file__).parent / "templates"


def data_uri(path: Path, mime: str = "image/png") -> str:
    """Return the file at ``path`` as a base64 ``data:`` URI.

    Examples
    --------
    >>> data_uri(_xstatic_dir("leaflet") / "images" / "layers.png")[:22]
    'data:image/png;base64,'
    """
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _safe_script(code: str) -> str:
    # an inlined script must not contain "</script" (nor "<!--" which changes how the parser ends the block)
    return re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def _safe_style(css: str) -> str:
    return re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE)


@functools.lru_cache(maxsize=1)
def _leaflet() -> tuple[str, str, str]:
    base = _xstatic_dir("leaflet")
    images = base / "images"
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    for name in ("layers-2x.png", "layers.png", "marker-icon.png"):
        css = css.replace(f"url(images/{name})", f"url({data_uri(images / name)})")
    css = css.replace("behavior: url(#default#VML);", "")  # old IE only
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    icons = (
        "L.Icon.Default.imagePath = '';"
        f"L.Icon.Default.mergeOptions({{iconUrl: '{data_uri(images / 'marker-icon.png')}', "
        f"iconRetinaUrl: '{data_uri(images / 'marker-icon-2x.png')}', "
        f"shadowUrl: '{data_uri(images / 'marker-shadow.png')}'}});"
    )
    return js, css, icons


@functools.lru_cache(maxsize=1)
def _read_all() -> dict[str, str]:
    js, css, icons = _leaflet()
    mc = _xstatic_dir("leaflet_markercluster")
    return {
        "leaflet_js": js,
        "leaflet_icons_js": icons,
        "leaflet_css": css,
        "jquery_js": (_xstatic_dir("jquery") / "jquery.min.js").read_text(encoding="utf-8"),
        "markercluster_js": (mc / "leaflet.markercluster.js").read_text(encoding="utf-8"),
        "markercluster_css": (mc / "MarkerCluster.css").read_text(encoding="utf-8")
        + "\n"
        + (mc / "MarkerCluster.Default.css").read_text(encoding="utf-8"),
        "heat_js": (_folium_templates() / "leaflet_heat.min.js").read_text(encoding="utf-8"),
    }


def asset_tags(*, markercluster: bool = True, heat: bool = True, jquery: bool = True) -> str:
    """Inline ``<style>`` and ``<script>`` blocks for Leaflet and the plugins the map uses, in load order.

    Parameters
    ----------
    markercluster, heat, jquery : bool
        Include Leaflet.markercluster, Leaflet.heat, jQuery.

    Returns
    -------
    str
        HTML for the document's ``<head>``.

    Examples
    --------
    >>> tags = asset_tags()
    >>> "http" in tags.split("L.Icon.Default")[1].split("</script>")[0]
    False
    """
    a = _read_all()
    parts = [f"<style>{_safe_style(a['leaflet_css'])}</style>"]
    if markercluster:
        parts.append(f"<style>{_safe_style(a['markercluster_css'])}</style>")
    if jquery:
        parts.append(f"<script>{_safe_script(a['jquery_js'])}</script>")
    parts.append(f"<script>{_safe_script(a['leaflet_js'])}</script>")
    parts.append(f"<script>{a['leaflet_icons_js']}</script>")
    if markercluster:
        parts.append(f"<script>{_safe_script(a['markercluster_js'])}</script>")
    if heat:
        parts.append(f"<script>{_safe_script(a['heat_js'])}</script>")
    return "\n".join(parts)
