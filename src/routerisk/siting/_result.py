"""The answer of a siting problem."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd


@dataclass
class SitingResult:
    """The answer of :meth:`ShelterSiting.solve`: ranked sites, coverage curve, protection gaps and solver facts.

    Attributes
    ----------
    sites : geopandas.GeoDataFrame
        One row per proposed site, best first (EPSG:4326): ``rank, site_id, locality, state, lon, lat,
        marginal_risk_covered`` (risk newly covered, in the rank order: each site counts only what the sites
        ranked before it and the existing shelters leave), ``cum_share_covered`` (share of all risk covered by
        the existing shelters and the sites up to this rank), ``nearest_existing_km`` (straight line, NaN
        without existing shelters).
    curve : pandas.DataFrame
        Coverage curve ``k, risk_covered, share_covered, method`` for k = 0 (existing shelters only) .. K.
    gaps : geopandas.GeoDataFrame
        Protection gaps: runs of contiguous high-risk segments with no existing or proposed site within reach,
        ``rank, route_id, from_km, to_km, length_km, mean_risk, score`` (= length_km x mean_risk), best first.
    coverage : geopandas.GeoDataFrame
        Route stretches each proposed site covers (one MultiLineString per site).
    segments : geopandas.GeoDataFrame
        The segments with ``demand, covered_existing, covered_new, site_rank`` (0 = not covered by a new site).
    existing : geopandas.GeoDataFrame
        The existing shelters used (EPSG:4326).
    solver : str
        ``"cbc"`` or ``"greedy"``: what produced the answer.
    optimal : bool
        Whether the answer is proven optimal.
    objective, bound, gap : float
        Objective of the answer (covered risk; risk-weighted distance in km for p-median; number of sites for
        set covering), the best known bound on the optimum and the relative gap between them
        (0 when optimal, NaN when no bound is known). ``bound_method`` says where the bound comes from.
    notes : list of str
        Messages for the user (fallbacks, ties, sites that add nothing).
    """

    model: str
    sites: gpd.GeoDataFrame
    curve: pd.DataFrame
    gaps: gpd.GeoDataFrame
    coverage: gpd.GeoDataFrame
    segments: gpd.GeoDataFrame
    existing: gpd.GeoDataFrame
    solver: str
    optimal: bool
    objective: float
    bound: float
    gap: float
    bound_method: str
    total_risk: float
    existing_share: float
    share_covered: float
    params: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the console: the ranked sites and the shares covered.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import LineString, Point
        >>> from routerisk.siting import ShelterSiting
        >>> segs = gpd.GeoDataFrame({"route_id": ["a"]}, geometry=[LineString([(0, 0), (1000, 0)])],
        ...     crs="EPSG:6372")
        >>> town = gpd.GeoDataFrame({"name": ["T"]}, geometry=[Point(500, 0)], crs="EPSG:6372")
        >>> print(ShelterSiting(segs, town, weights=[1.0], radius_km=1).solve(k=1).summary().splitlines()[0])
        1 site(s) proposed by mclp (cbc, optimal); risk covered: existing 0.0% -> 100.0% with the new sites.
        """
        if self.optimal:
            quality = "optimal"
        elif np.isfinite(self.gap):
            quality = f"within {self.gap:.1%} of the optimum, bound: {self.bound_method}"
        else:
            quality = "not proven optimal, no bound known"
        lines = [
            f"{len(self.sites)} site(s) proposed by {self.model} ({self.solver}, {quality}); "
            f"risk covered: existing {self.existing_share:.1%} -> {self.share_covered:.1%} with the new sites."
        ]
        for row in self.sites.itertuples():
            near = "" if np.isnan(row.nearest_existing_km) else f", {row.nearest_existing_km:.0f} km from a shelter"
            lines.append(
                f"  {row.rank:>2}. {row.locality} ({row.state}) {row.lat:.4f}, {row.lon:.4f}: "
                f"+{row.marginal_risk_covered:.1f} risk, cumulative {row.cum_share_covered:.1%}{near}"
            )
        lines.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(lines)
