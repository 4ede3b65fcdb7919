"""routerisk: geospatial risk analysis of migration routes.

The public names are imported on first use (:pep:`562`): ``import routerisk`` loads only the exceptions, so the
command line starts in a fraction of a second and a script pays for geopandas, numba, scipy, folium or PuLP only
when it uses a function that needs them. ``from routerisk import score_segments`` works as usual.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError, CRSMismatchError, InputError, OutputError, RouteRiskError, SolverError

#: Where each public name lives: ``name -> submodule``, read on first access. The ``TYPE_CHECKING`` imports below
#: (for type checkers and the API reference) and ``__all__`` list the same names: tests/test_docs.py checks it.
_EXPORTS: dict[str, str] = {
    "RejectedRowsWarning": "_validate",
    "ValidationReport": "_validate",
    "BandwidthSelection": "bandwidth",
    "bandwidth_sensitivity": "bandwidth",
    "select_bandwidth": "bandwidth",
    "rate_ratio": "change",
    "segment_change": "change",
    "state_change": "change",
    "counts_change": "counts",
    "read_state_counts": "counts",
    "access_gaps": "access",
    "protection_access": "access",
    "analysis_crs": "crs",
    "check_same_crs": "crs",
    "load_corridors": "datasets",
    "load_incidents": "datasets",
    "load_shelters": "datasets",
    "load_states": "datasets",
    "load_zones": "datasets",
    "synthetic_incidents": "datasets",
    "load_detention": "detention",
    "resolve_locality": "gazetteer",
    "heatmap": "maps",
    "save_html": "maps",
    "static_map": "maps",
    "RiskModel": "model",
    "route_network": "network",
    "network_exposure": "netkde",
    "nkde": "netkde",
    "least_risk_paths": "paths",
    "exposure_by_perpetrator": "perpetrators",
    "build_route": "routes",
    "segmentize": "routes",
    "score_segments": "scoring",
    "ShelterSiting": "siting",
    "SitingResult": "siting",
    "sites_layers": "siting",
    "write_sites": "siting",
    "spacetime_exposure": "spacetime",
    "risk_surface": "surface",
    "write_geotiff": "surface",
    "emerging_hotspots": "trends",
}

if TYPE_CHECKING:  # pragma: no cover - the same names, for type checkers and mkdocstrings
    from ._validate import RejectedRowsWarning, ValidationReport
    from .access import access_gaps, protection_access
    from .bandwidth import BandwidthSelection, bandwidth_sensitivity, select_bandwidth
    from .change import rate_ratio, segment_change, state_change
    from .counts import counts_change, read_state_counts
    from .crs import analysis_crs, check_same_crs
    from .datasets import load_corridors, load_incidents, load_shelters, load_states, load_zones, synthetic_incidents
    from .detention import load_detention
    from .gazetteer import resolve_locality
    from .maps import heatmap, save_html, static_map
    from .model import RiskModel
    from .netkde import network_exposure, nkde
    from .network import route_network
    from .paths import least_risk_paths
    from .perpetrators import exposure_by_perpetrator
    from .routes import build_route, segmentize
    from .scoring import score_segments
    from .siting import ShelterSiting, SitingResult, sites_layers, write_sites
    from .spacetime import spacetime_exposure
    from .surface import risk_surface, write_geotiff
    from .trends import emerging_hotspots

    __version__: str


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use; submodules (``routerisk.io``) are imported on access too."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name == "__version__":
        value = _version()
    elif name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    else:
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value  # the next access is a plain attribute lookup
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # lazy: importlib.metadata costs 20 ms

    try:
        return version("routerisk")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "0+unknown"


__all__ = [
    "BandwidthSelection",
    "CRSMismatchError",
    "ConfigError",
    "InputError",
    "OutputError",
    "RejectedRowsWarning",
    "RiskModel",
    "RouteRiskError",
    "ShelterSiting",
    "SitingResult",
    "SolverError",
    "ValidationReport",
    "__version__",
    "access_gaps",
    "analysis_crs",
    "bandwidth_sensitivity",
    "build_route",
    "check_same_crs",
    "counts_change",
    "emerging_hotspots",
    "exposure_by_perpetrator",
    "heatmap",
    "least_risk_paths",
    "load_corridors",
    "load_detention",
    "load_incidents",
    "load_shelters",
    "load_states",
    "load_zones",
    "network_exposure",
    "nkde",
    "protection_access",
    "rate_ratio",
    "read_state_counts",
    "resolve_locality",
    "risk_surface",
    "route_network",
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
