"""Shelter siting: where new shelters would cover the most route risk, and where the protection gaps are.

The problem
-----------
*Demand* sits at segment midpoints; its weight is ``risk x length_km`` (a missing risk, e.g. suppressed in public
mode, counts as 0) or a user column such as a migrant flow. *Candidates* are the shipped GeoNames localities
within ``candidate_distance_km`` (straight line, default 10 km) of a segment, or a user layer. A site *covers* a
demand point within ``radius_km``:

- ``measure="route"`` (default): distance ``|s_i - s_c| + o_c`` where ``s_i`` is the midpoint's position along
  its route, ``s_c`` the position of the point of that route nearest to the site (linear referencing with
  :func:`shapely.line_locate_point`) and ``o_c`` the straight-line distance from the site to the route.
  A site reaches every route that passes within ``radius_km``, each along its own line.
- ``measure="straight"``: straight-line distance between midpoint and site.

Distances are computed in the analysis CRS (:func:`routerisk.analysis_crs`).

*Existing shelters* cover first: the demand they cover is removed before optimising and reported as the existing
share; a candidate within :data:`SAME_SITE_KM` of an existing shelter is never proposed. *Exclusions*: a
candidate inside a given zone polygon (any date) or named in a list of unsafe towns is never proposed.

Models (:meth:`ShelterSiting.solve`; models, measures and solvers are registered in
:mod:`routerisk.siting.registry`): maximal covering (MCLP), p-median (risk-weighted distance to the nearest shelter,
existing shelters included) and set covering (fewest sites reaching a share of the risk), the formulations of PySAL
spopt's MCLP, PMedian and LSCP built by routerisk in PuLP (covering models from the non-zeros of the coverage
matrix; spopt is the tests' independent reference, not a dependency) and solved by PuLP's CBC. Before solving,
demand points with the same covering set are merged and dominated candidates (covering a subset of another's
demand) dropped, which keeps the optimum. A greedy heuristic
(p-median: greedy then Teitz-Bart interchange) answers large instances and reports its gap to the LP relaxation
(solved by HiGHS through scipy) or, for LPs too large, to the ``1 - (1 - 1/k)^k`` guarantee (maximal covering) or a
Lagrangian bound (p-median). Coverage shares are weighted by demand (spopt's ``perc_cov`` counts points and is not
used).

Examples
--------
>>> import geopandas as gpd
>>> from shapely import LineString, Point
>>> segs = gpd.GeoDataFrame({"route_id": ["a", "a"], "seq": [0, 1], "risk": [80.0, 20.0],
...     "length_m": [50_000.0, 50_000.0]},
...     geometry=[LineString([(0, 0), (50_000, 0)]), LineString([(50_000, 0), (100_000, 0)])], crs="EPSG:6372")
>>> towns = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[Point(20_000, 2_000), Point(80_000, 0)],
...     crs="EPSG:6372")
>>> res = ShelterSiting.from_segments(segs, candidates=towns, radius_km=20).solve("mclp", k=1)
>>> res.sites[["rank", "locality"]].values.tolist()
[[1, 'A']]
>>> round(res.share_covered, 2)
0.8
"""

from __future__ import annotations

from ._core import ShelterSiting
from ._geometry import SAME_SITE_KM
from ._inputs import shelters_only
from ._outputs import result_summary, sites_layers, write_site_files, write_sites
from ._result import SitingResult
from .registry import (
    DEFAULT_RADIUS_KM,
    MEASURES,
    MODELS,
    SOLVERS,
    Measure,
    SitingModel,
    measure_names,
    model_names,
    register_model,
    solver_names,
)

__all__ = [
    "DEFAULT_RADIUS_KM",
    "MEASURES",
    "MODELS",
    "SAME_SITE_KM",
    "SOLVERS",
    "Measure",
    "ShelterSiting",
    "SitingModel",
    "SitingResult",
    "measure_names",
    "model_names",
    "register_model",
    "result_summary",
    "shelters_only",
    "sites_layers",
    "solver_names",
    "write_site_files",
    "write_sites",
]
