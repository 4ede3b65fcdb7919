"""routerisk: geospatial risk analysis of migration routes."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ._errors import ConfigError, CRSMismatchError, InputError, OutputError, RouteRiskError, SolverError
from .crs import analysis_crs, check_same_crs
from .datasets import load_corridors, load_incidents, load_shelters, load_states, load_zones, synthetic_incidents
from .gazetteer import resolve_locality
from .model import RiskModel
from .routes import build_route, segmentize
from .scoring import score_segments

try:
    __version__ = version("routerisk")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "CRSMismatchError",
    "ConfigError",
    "InputError",
    "OutputError",
    "RiskModel",
    "RouteRiskError",
    "SolverError",
    "__version__",
    "analysis_crs",
    "build_route",
    "check_same_crs",
    "load_corridors",
    "load_incidents",
    "load_shelters",
    "load_states",
    "load_zones",
    "resolve_locality",
    "score_segments",
    "segmentize",
    "synthetic_incidents",
]
