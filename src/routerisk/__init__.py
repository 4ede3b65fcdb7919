"""routerisk: geospatial risk analysis of migration routes."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._errors import ConfigError, CRSMismatchError, InputError, OutputError, RouteRiskError, SolverError
from .bandwidth import BandwidthSelection, bandwidth_sensitivity, select_bandwidth
from .change import rate_ratio, segment_change, state_change
from .counts import counts_change, read_state_counts
from .crs import analysis_crs, check_same_crs
from .datasets import load_corridors, load_incidents, load_shelters, load_states, load_zones, synthetic_incidents
from .gazetteer import resolve_locality
from .model import RiskModel
from .routes import build_route, segmentize
from .scoring import score_segments
from .siting import ShelterSiting, SitingResult, sites_layers, write_sites
from .spacetime import spacetime_exposure
from .surface import risk_surface, write_geotiff
from .trends import emerging_hotspots

#: Map functions, imported on first use (folium and matplotlib are slow to import; the core never needs them).
_LAZY_MAPS = ("heatmap", "save_html", "static_map")


def __getattr__(name: str):
    if name in _LAZY_MAPS:
        from . import maps

        return getattr(maps, name)
    msg = f"module 'routerisk' has no attribute {name!r}"
    raise AttributeError(msg)


try:
    __version__ = version("routerisk")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "BandwidthSelection",
    "CRSMismatchError",
    "ConfigError",
    "InputError",
    "OutputError",
    "RiskModel",
    "RouteRiskError",
    "ShelterSiting",
    "SitingResult",
    "SolverError",
    "__version__",
    "analysis_crs",
    "bandwidth_sensitivity",
    "build_route",
    "check_same_crs",
    "counts_change",
    "emerging_hotspots",
    "heatmap",
    "load_corridors",
    "load_incidents",
    "load_shelters",
    "load_states",
    "load_zones",
    "rate_ratio",
    "read_state_counts",
    "resolve_locality",
    "risk_surface",
    "save_html",
    "score_segments",
    "segment_change",
    "segmentize",
    "select_bandwidth",
    "sites_layers",
    "spacetime_exposure",
    "state_change",
    "static_map",
    "synthetic_incidents",
    "write_geotiff",
    "write_sites",
]
