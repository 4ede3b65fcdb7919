"""The siting problem (:class:`ShelterSiting`) and its answer (:class:`SitingResult`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._errors import ConfigError, InputError, SolverError
from .._text import fold
from .._zone_exclusion import MAX_EXCLUDE_KM2
from ..crs import analysis_crs
from . import _models
from . import _solvers as sv
from ._geometry import SAME_SITE_KM, build_demand, standardise_sites
from ._inputs import check_choice, check_segments, exclusions, gazetteer_candidates, positive
from ._outputs import build_result
from ._result import SitingResult
from .registry import DEFAULT_RADIUS_KM, MEASURES, MODELS, SOLVERS, Measure

__all__ = ["ShelterSiting"]

class ShelterSiting:
    """Where new shelters would cover the most route risk, given the shelters that exist.

    Demand sits at segment midpoints with a weight per segment; a site covers a demand point within
    ``radius_km`` under ``measure`` (see :mod:`routerisk.siting`). Existing shelters cover their demand first: it
    is removed before optimising and reported as the existing share.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
        Route segments (LineStrings) with ``route_id`` and ``seq`` (needed for ``measure="route"``).
    candidates : geopandas.GeoDataFrame
        Candidate sites (Points) with optional ``site_id``/``locality_id``, ``locality``/``name``,
        ``state``/``state_name``.
    existing : geopandas.GeoDataFrame, optional
        Existing shelters (Points). A candidate within :data:`SAME_SITE_KM` of one is not proposed.
    weights : array-like of float
        Demand weight of each segment (finite, >= 0), aligned with ``segments``.
    radius_km : float, default 30
        Coverage radius.
    measure : {"route", "straight"}, default "route"
        Distance along the route (snap point + offset) or straight line between midpoints and sites.
    exclude : GeoDataFrame or list of str or list of both, optional
        Zones (polygons) inside which no site is proposed, and/or names of towns (accents and case ignored;
        comma-separated strings accepted) that must not be proposed.
    crs : str, default "auto"
        Analysis CRS (see :func:`routerisk.analysis_crs`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import LineString, Point
    >>> segs = gpd.GeoDataFrame({"route_id": ["a", "a"], "seq": [0, 1]},
    ...     geometry=[LineString([(0, 0), (10_000, 0)]), LineString([(10_000, 0), (90_000, 0)])], crs="EPSG:6372")
    >>> towns = gpd.GeoDataFrame({"name": ["West", "East"]},
    ...     geometry=[Point(0, 1_000), Point(80_000, 1_000)], crs="EPSG:6372")
    >>> siting = ShelterSiting(segs, towns, weights=[1.0, 8.0], radius_km=40)
    >>> siting.solve("mclp", k=1).sites["locality"].tolist()
    ['East']
    """

    def __init__(
        self,
        segments: gpd.GeoDataFrame,
        candidates: gpd.GeoDataFrame,
        existing: gpd.GeoDataFrame | None = None,
        *,
        weights: Iterable[float],
        radius_km: float = DEFAULT_RADIUS_KM,
        measure: str = "route",
        exclude: object = None,
        crs: str = "auto",
    ) -> None:
        segments = check_segments(segments)
        self.radius_km = positive("radius_km", radius_km)
        self.measure = check_choice("measure", measure, MEASURES)
        if self.measure == "route" and "route_id" not in segments.columns:
            msg = "`segments` has no `route_id` column, needed for measure='route'; add it or use measure='straight'"
            raise InputError(msg)
        w = np.asarray(list(weights) if not hasattr(weights, "__len__") else weights, dtype="float64")
        if w.shape != (len(segments),):
            msg = f"`weights` has {w.size} values but `segments` has {len(segments)} rows"
            raise InputError(msg)
        if not np.all(np.isfinite(w)) or (w < 0).any():
            msg = "`weights` must be finite and >= 0 (set missing risk to 0 first)"
            raise InputError(msg)
        if w.sum() <= 0:
            msg = "every segment has zero demand (is the risk suppressed or missing?): there is no risk to cover"
            raise InputError(msg)
        bounds = segments.to_crs("EPSG:4326").total_bounds
        self.crs = analysis_crs(bounds, crs)
        self._demand = build_demand(segments.to_crs(self.crs), w)
        self.params: dict[str, Any] = {"radius_km": self.radius_km, "measure": self.measure}

        cands = standardise_sites(candidates, "candidates", "c").to_crs(self.crs)
        exist = (
            standardise_sites(existing, "existing", "e").to_crs(self.crs)
            if existing is not None and len(existing)
            else gpd.GeoDataFrame({"site_id": [], "locality": [], "state": []}, geometry=[], crs=self.crs)
        )
        reason = pd.Series("", index=cands.index, dtype=object)
        zones, names = exclusions(exclude)
        pts = cands.geometry.to_numpy()
        for z in zones:
            zg = z.to_crs(self.crs).geometry.to_numpy()
            if "radius_m" in z.columns:  # point zones with a radius (as `routerisk score --zones` accepts)
                r = pd.to_numeric(z["radius_m"], errors="coerce").fillna(0.0).to_numpy()
                pt = shapely.get_type_id(zg) == 0
                zg = np.where(pt & (r > 0), shapely.buffer(zg, r), zg)
            hit, _ = shapely.STRtree(zg).query(pts, predicate="intersects")
            reason.iloc[np.unique(hit)] = "inside an excluded zone"
        if names:
            unsafe = {fold(n) for n in names}
            reason[cands["locality"].map(fold).isin(unsafe) & (reason == "")] = "listed as unsafe"
        if len(exist):
            near, _ = shapely.STRtree(exist.geometry.to_numpy()).query(
                pts, predicate="dwithin", distance=SAME_SITE_KM * 1000.0
            )
            same = np.zeros(len(cands), dtype=bool)
            same[near] = True
            reason[same & (reason == "")] = "an existing shelter is there"
        self.excluded = pd.DataFrame(cands.loc[reason != "", ["site_id", "locality", "state"]]).assign(
            reason=reason[reason != ""]
        )
        self.candidates = cands.loc[reason == ""].reset_index(drop=True)
        self.existing = exist
        self.skipped_zones = sum(int(z.attrs.get("skipped_large_zones", 0)) for z in zones)
        if len(self.candidates) == 0:
            msg = f"no candidate sites left ({len(cands)} given, {len(self.excluded)} excluded){self._why()}"
            raise SolverError(msg)

        radius_m = self.radius_km * 1000.0
        self._A = self.measure_spec.coverage(self._demand, self.candidates.geometry.to_numpy(), radius_m)
        A_e = self.measure_spec.coverage(self._demand, exist.geometry.to_numpy(), radius_m)
        self._covered_existing = np.asarray(A_e.sum(axis=1)).ravel() > 0
        self._residual = np.where(self._covered_existing, 0.0, w)
        self.total_demand = float(w.sum())
        self.existing_share = float(w[self._covered_existing].sum() / self.total_demand)

    @classmethod
    def from_segments(
        cls,
        segments: gpd.GeoDataFrame,
        *,
        candidates: str | gpd.GeoDataFrame | None = None,
        existing: gpd.GeoDataFrame | None = None,
        radius_km: float = DEFAULT_RADIUS_KM,
        measure: str = "route",
        candidate_distance_km: float = 10.0,
        exclude: object = None,
        demand_column: str | None = None,
        crs: str = "auto",
    ) -> ShelterSiting:
        """Set up siting on scored segments: demand = risk x length (km) at each segment's midpoint.

        Parameters
        ----------
        segments : geopandas.GeoDataFrame
            Scored segments (``risk`` 0-100, ``length_m``, ``route_id``, ``seq``). A missing risk (NaN, as in
            public mode where small counts are suppressed) counts as 0: those segments attract no site.
        candidates : None, "gazetteer" or geopandas.GeoDataFrame
            ``None``/``"gazetteer"``: the shipped GeoNames localities within ``candidate_distance_km`` of a
            segment; a GeoDataFrame of points is used as given.
        existing, radius_km, measure, exclude, crs
            See :class:`ShelterSiting`.
        candidate_distance_km : float, default 10
            Reach of the gazetteer candidates from the routes (straight line).
        demand_column : str, optional
            Use this column (e.g. a migrant flow) as the weight instead of risk x length_km; NaN counts as 0.

        Returns
        -------
        ShelterSiting

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import LineString, Point
        >>> segs = gpd.GeoDataFrame({"route_id": ["a"], "seq": [0], "risk": [50.0], "length_m": [20_000.0]},
        ...     geometry=[LineString([(0, 0), (20_000, 0)])], crs="EPSG:6372")
        >>> towns = gpd.GeoDataFrame({"name": ["Town"]}, geometry=[Point(10_000, 500)], crs="EPSG:6372")
        >>> ShelterSiting.from_segments(segs, candidates=towns).total_demand
        1000.0
        """
        segments = check_segments(segments)
        positive("radius_km", radius_km)  # fail before loading the gazetteer
        if demand_column is not None:
            if demand_column not in segments.columns:
                msg = f"`demand_column` {demand_column!r} is not a column of `segments` ({list(segments.columns)})"
                raise InputError(msg)
            weights = pd.to_numeric(segments[demand_column], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
            how = f"column {demand_column!r} (NaN = 0)"
        else:
            if "risk" not in segments.columns:
                msg = "`segments` has no `risk` column; score them first or pass `demand_column`"
                raise InputError(msg)
            risk = pd.to_numeric(segments["risk"], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
            if "length_m" in segments.columns:
                length_km = pd.to_numeric(segments["length_m"], errors="coerce").to_numpy(dtype="float64") / 1000.0
            else:
                proj = segments.to_crs(analysis_crs(segments.to_crs("EPSG:4326").total_bounds, crs))
                length_km = proj.length.to_numpy() / 1000.0
            weights = risk * np.nan_to_num(length_km)
            how = "risk x length_km at segment midpoints (NaN risk = 0)"
        source = "user"
        if candidates is None or (isinstance(candidates, str) and candidates == "gazetteer"):
            candidates = gazetteer_candidates(segments, positive("candidate_distance_km", candidate_distance_km), crs)
            source = f"gazetteer within {candidate_distance_km:g} km of the routes"
        elif isinstance(candidates, str):
            msg = f"`candidates` was {candidates!r} but must be None, 'gazetteer' or a GeoDataFrame of points"
            raise ConfigError(msg)
        out = cls(segments, candidates, existing, weights=weights, radius_km=radius_km, measure=measure,
                  exclude=exclude, crs=crs)
        out.params.update(demand=how, candidates=source, candidate_distance_km=candidate_distance_km)
        return out

    def marginal_risk(self) -> pd.Series:
        """Risk each candidate would cover on its own, beyond the existing shelters (aligned to ``candidates``).

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import LineString, Point
        >>> segs = gpd.GeoDataFrame({"route_id": ["a"]}, geometry=[LineString([(0, 0), (1000, 0)])],
        ...     crs="EPSG:6372")
        >>> town = gpd.GeoDataFrame(geometry=[Point(500, 0)], crs="EPSG:6372")
        >>> ShelterSiting(segs, town, weights=[3.0], radius_km=1).marginal_risk().tolist()
        [3.0]
        """
        return pd.Series(np.asarray(self._A.T @ self._residual).ravel(), index=self.candidates.index)

    def _check_k(self, k: int) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            msg = f"`k` was {k!r} but must be a whole number >= 1"
            raise ConfigError(msg)
        n = len(self.candidates)
        if k > n:
            msg = f"`k` was {k} but only {n} candidate site(s) remain ({len(self.excluded)} excluded){self._why()}"
            raise ConfigError(msg)
        return int(k)

    def _why(self) -> str:
        """Why candidates were excluded, and what to change (for the error messages)."""
        if not len(self.excluded):
            return ""
        counts = self.excluded["reason"].value_counts()
        text = "; excluded: " + ", ".join(f"{int(n):,} {r}" for r, n in counts.items())
        if counts.get("inside an excluded zone", 0):
            text += (" (zones exclude towns inside them: use smaller zones, `routerisk sites --no-exclude-zones`, or "
                     f"fewer sites; state-month deployments and zones over {MAX_EXCLUDE_KM2:,.0f} km2 other than "
                     f"checkpoints and detention sites never exclude: {self.skipped_zones} skipped)")  # fmt: skip
        return text

    def _check_reach(self) -> None:
        if not (self.marginal_risk().to_numpy() > 0).any():
            if self._residual.sum() <= 0:
                msg = "the existing shelters already cover every segment with risk; no new site is needed"
            else:
                msg = (
                    f"no candidate within reach: none of the {len(self.candidates)} candidate site(s) is within "
                    f"{self.radius_km:g} km ({self.measure}) of a segment with uncovered risk"
                )
            raise SolverError(msg)

    def coverage_curve(self, k_max: int = 10, *, solver: str = "auto", time_limit_s: float = 30.0) -> pd.DataFrame:
        """Share of all risk covered with k = 0..``k_max`` new sites (k = 0: the existing shelters alone).

        With CBC each k is solved to optimality separately (the site sets need not be nested); with the greedy
        heuristic the curve is greedy-incremental (nested sets). Either way the share is non-decreasing in k:
        an optimum can only grow with k, and a value not proven optimal is raised to the greedy value and to
        the previous k's value (``method`` then reads ``"best found"``; with ``solver="auto"`` the larger k
        are then greedy, raised to that value). ``solver="auto"`` re-solves with CBC up to
        :data:`~routerisk.siting._models.CURVE_CBC_MAX_K` and continues greedy beyond, raised to the last optimum.

        Returns
        -------
        pandas.DataFrame
            ``k, risk_covered, share_covered, method``.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import LineString, Point
        >>> segs = gpd.GeoDataFrame({"route_id": ["a"]}, geometry=[LineString([(0, 0), (100_000, 0)])],
        ...     crs="EPSG:6372")
        >>> towns = gpd.GeoDataFrame(geometry=[Point(10_000, 0), Point(90_000, 0)], crs="EPSG:6372")
        >>> ShelterSiting(segs, towns, weights=[1.0], radius_km=60).coverage_curve(2)["share_covered"].tolist()
        [0.0, 1.0, 1.0]
        """
        check_choice("solver", solver, SOLVERS)
        k_max = self._check_k(k_max)
        A, r = self._A, self._residual
        base = self.total_demand * self.existing_share
        _, g_marg = sv.greedy_order(A, r, k_max)
        greedy = np.r_[np.cumsum(g_marg), np.full(k_max - len(g_marg), g_marg.sum())][:k_max]
        values, methods = greedy.copy(), ["greedy"] * k_max
        small = _models.cells_of(A, r) <= _models.CBC_MAX_NONZEROS
        if solver == "cbc" or (solver == "auto" and small and sv.cbc_available()):
            best = 0.0
            for k in range(1, k_max + 1):
                if solver == "auto" and k > _models.CURVE_CBC_MAX_K:
                    values[k - 1 :] = np.maximum(greedy[k - 1 :], best)
                    break
                sol = sv.mclp_cbc(A, r, k, time_limit_s)
                v = max(sol.objective if sol.chosen.size else 0.0, greedy[k - 1], best)
                values[k - 1], best = v, v
                methods[k - 1] = "optimal" if sol.optimal else "best found"
                if not sol.optimal and solver == "auto":  # CBC hit its time limit: greedy for the larger k
                    values[k:] = np.maximum(greedy[k:], best)
                    break
        covered = base + np.r_[0.0, values]
        return pd.DataFrame({
            "k": np.arange(k_max + 1),
            "risk_covered": covered,
            "share_covered": covered / self.total_demand,
            "method": ["existing", *methods],
        })

    @property
    def measure_spec(self) -> Measure:
        """The :class:`~routerisk.siting.registry.Measure` of :attr:`measure`."""
        return MEASURES[self.measure]

    def solve(
        self,
        model: str = "mclp",
        k: int = 5,
        *,
        coverage: float = 0.9,
        solver: str = "auto",
        time_limit_s: float = 30.0,
        curve_k: int | None = None,
        gap_min_risk: float | None = None,
    ) -> SitingResult:
        """Choose the sites.

        Parameters
        ----------
        model : str, default "mclp"
            A name of :data:`routerisk.siting.registry.MODELS`. ``"mclp"``: the ``k`` sites covering the most
            remaining risk within the radius. ``"pmedian"``: the ``k`` sites minimising the risk-weighted distance
            (km) from each segment to its nearest shelter, existing or new. ``"lscp"``: the fewest sites bringing
            the covered share of all risk (existing shelters included) to ``coverage`` (``k`` is ignored).
        k : int, default 5
            Number of new sites (mclp, pmedian).
        coverage : float, default 0.9
            Target share for ``"lscp"``, in (0, 1].
        solver : {"auto", "cbc", "greedy"}, default "auto"
            ``"cbc"``: the model solved exactly by PuLP's CBC. ``"greedy"``: the greedy heuristic (for p-median
            followed by Teitz-Bart interchange), with its gap to the LP-relaxation bound or, when that LP is
            too large, to the ``1 - (1 - 1/k)^k`` guarantee (mclp) or a Lagrangian bound (p-median). ``"auto"``:
            CBC unless the problem exceeds ``_models.CBC_MAX_NONZEROS`` (p-median: ``PMEDIAN_MAX_CELLS``) or CBC
            hits ``time_limit_s`` without proving optimality; then greedy, said in ``notes``.
        time_limit_s : float, default 30
            Time limit of each CBC run; the p-median heuristic spends at most half of it on interchange and
            half on its Lagrangian bound.
        curve_k : int, optional
            Largest k of the coverage curve (default: ``k``, or the number of sites for lscp).
        gap_min_risk : float, optional
            Risk from which a segment counts as high-risk for the protection gaps; by default ``risk_class >=
            4`` when the segments have a numeric ``risk_class``, else ``risk >= 60``.

        Returns
        -------
        SitingResult

        Raises
        ------
        ConfigError
            For an unknown model/solver, ``k`` < 1 or larger than the candidates, ``coverage`` outside (0, 1].
        SolverError
            When no candidate is within reach of uncovered risk, or the coverage target cannot be met.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import LineString, Point
        >>> segs = gpd.GeoDataFrame({"route_id": ["a"] * 4, "seq": range(4)},
        ...     geometry=[LineString([(i * 10_000, 0), ((i + 1) * 10_000, 0)]) for i in range(4)], crs="EPSG:6372")
        >>> towns = gpd.GeoDataFrame({"name": ["A", "B", "C"]},
        ...     geometry=[Point(5_000, 0), Point(20_000, 0), Point(35_000, 0)], crs="EPSG:6372")
        >>> siting = ShelterSiting(segs, towns, weights=[4.0, 1.0, 1.0, 4.0], radius_km=6)
        >>> res = siting.solve("mclp", k=2)
        >>> res.sites["locality"].tolist(), res.share_covered, res.optimal
        (['A', 'C'], 0.8, True)
        >>> siting.solve("lscp", coverage=1.0).sites["locality"].tolist()
        ['A', 'C', 'B']
        """
        model = check_choice("model", model, MODELS)
        solver = check_choice("solver", solver, SOLVERS)
        time_limit_s = positive("time_limit_s", time_limit_s)
        spec = MODELS[model]
        notes: list[str] = []
        if spec.uses_k:
            k = self._check_k(k)
            self._check_reach()
        chosen, info = spec.solve(self, k=k, coverage=coverage, solver=solver, time_limit_s=time_limit_s, notes=notes)
        params = {**self.params, "model": model, "k": len(chosen), "coverage": coverage,
                  "solver_requested": solver, "time_limit_s": time_limit_s}
        return build_result(self, model, chosen, info, notes, params, curve_k, gap_min_risk, solver, time_limit_s)
