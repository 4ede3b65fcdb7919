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
from ..crs import analysis_crs
from . import _solvers as sv
from ._geometry import SAME_SITE_KM, build_demand, coverage_matrix, distance_matrix, standardise_sites
from ._inputs import _check_choice, _exclusions, _gazetteer_candidates, _positive, _segments
from ._result import SitingResult

MODELS = ("mclp", "pmedian", "lscp")
MEASURES = ("route", "straight")
SOLVERS = ("auto", "cbc", "greedy")
#: ``solver="auto"``: largest covering problem given to CBC, in non-zeros of the coverage matrix once rows with
#: the same covering set are merged and dominated candidates dropped; larger ones go to the greedy heuristic.
CBC_MAX_NONZEROS = 1_000_000
#: ``solver="auto"``: largest p-median (demand points with risk x candidates) given to CBC.
PMEDIAN_MAX_CELLS = 150_000
#: ``solver="auto"``: the coverage curve is re-solved by CBC for k up to this, greedy beyond.
CURVE_CBC_MAX_K = 25
#: Largest dense distance matrix (cells) p-median builds at all, even for the greedy heuristic (~8 bytes a cell).
PMEDIAN_MAX_DENSE = 30_000_000
#: Largest LP relaxation (non-zeros) solved for a bound on a greedy answer; beyond, the (1 - 1/e) guarantee.
LP_MAX_NNZ = 5_000_000


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
        radius_km: float = 30.0,
        measure: str = "route",
        exclude: object = None,
        crs: str = "auto",
    ) -> None:
        segments = _segments(segments)
        self.radius_km = _positive("radius_km", radius_km)
        self.measure = _check_choice("measure", measure, MEASURES)
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
        zones, names = _exclusions(exclude)
        pts = cands.geometry.values._data
        for z in zones:
            zg = z.to_crs(self.crs).geometry.values._data
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
            near, _ = shapely.STRtree(exist.geometry.values._data).query(
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
        if len(self.candidates) == 0:
            msg = f"no candidate sites left ({len(cands)} given, {len(self.excluded)} excluded)"
            raise SolverError(msg)

        radius_m = self.radius_km * 1000.0
        self._A = coverage_matrix(self._demand, self.candidates.geometry.values._data, radius_m, self.measure)
        A_e = coverage_matrix(self._demand, exist.geometry.values._data, radius_m, self.measure)
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
        radius_km: float = 30.0,
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
        segments = _segments(segments)
        _positive("radius_km", radius_km)  # fail before loading the gazetteer
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
            candidates = _gazetteer_candidates(segments, _positive("candidate_distance_km", candidate_distance_km), crs)
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
            msg = f"`k` was {k} but only {n} candidate site(s) remain ({len(self.excluded)} excluded)"
            raise ConfigError(msg)
        return int(k)

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
        :data:`CURVE_CBC_MAX_K` and continues greedy beyond, raised to the last optimum.

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
        _check_choice("solver", solver, SOLVERS)
        k_max = self._check_k(k_max)
        A, r = self._A, self._residual
        base = self.total_demand * self.existing_share
        _, g_marg = sv.greedy_order(A, r, k_max)
        greedy = np.r_[np.cumsum(g_marg), np.full(k_max - len(g_marg), g_marg.sum())][:k_max]
        values, methods = greedy.copy(), ["greedy"] * k_max
        if solver == "cbc" or (solver == "auto" and self._cells(A, r) <= CBC_MAX_NONZEROS and sv.cbc_available()):
            best = 0.0
            for k in range(1, k_max + 1):
                if solver == "auto" and k > CURVE_CBC_MAX_K:
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

    @staticmethod
    def _cells(A, r) -> int:
        Ag, _, _ = sv._reduced(A, r, 0)
        return int(Ag.nnz)

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
        model : {"mclp", "pmedian", "lscp"}, default "mclp"
            ``"mclp"``: the ``k`` sites covering the most remaining risk within the radius. ``"pmedian"``: the
            ``k`` sites minimising the risk-weighted distance (km) from each segment to its nearest shelter,
            existing or new. ``"lscp"``: the fewest sites bringing the covered share of all risk (existing
            shelters included) to ``coverage`` (``k`` is ignored).
        k : int, default 5
            Number of new sites (mclp, pmedian).
        coverage : float, default 0.9
            Target share for ``"lscp"``, in (0, 1].
        solver : {"auto", "cbc", "greedy"}, default "auto"
            ``"cbc"``: spopt's model solved by PuLP's CBC. ``"greedy"``: the greedy heuristic (for p-median
            followed by Teitz-Bart interchange), with its gap to the LP-relaxation bound or, when that LP is
            too large, to the ``1 - (1 - 1/k)^k`` guarantee (mclp) or a Lagrangian bound (p-median). ``"auto"``:
            CBC unless the problem exceeds :data:`CBC_MAX_NONZEROS` (:data:`PMEDIAN_MAX_CELLS`) or CBC hits
            ``time_limit_s`` without proving optimality; then greedy, said in ``notes``.
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
        from ._outputs import build_result

        model = _check_choice("model", model, MODELS)
        solver = _check_choice("solver", solver, SOLVERS)
        time_limit_s = _positive("time_limit_s", time_limit_s)
        notes: list[str] = []
        if model == "lscp":
            cov = _positive("coverage", coverage)
            if cov > 1:
                msg = f"`coverage` was {coverage!r} but must be in (0, 1]"
                raise ConfigError(msg)
            chosen, info = self._solve_lscp(cov, solver, time_limit_s, notes)
        else:
            k = self._check_k(k)
            self._check_reach()
            if model == "mclp":
                chosen, info = self._solve_mclp(k, solver, time_limit_s, notes)
            else:
                chosen, info = self._solve_pmedian(k, solver, time_limit_s, notes)
        params = {**self.params, "model": model, "k": len(chosen), "coverage": coverage,
                  "solver_requested": solver, "time_limit_s": time_limit_s}
        return build_result(self, model, chosen, info, notes, params, curve_k, gap_min_risk, solver, time_limit_s)

    def _fallback(self, what: str, solver: str, too_big: bool, notes: list[str]) -> bool:
        """Whether to use greedy; records why."""
        if solver == "greedy":
            return True
        if solver == "auto" and too_big:
            notes.append(f"{what} too large for CBC within the limits of solver='auto'; used the greedy heuristic")
            return True
        if solver == "auto" and not sv.cbc_available():
            notes.append("PuLP's CBC solver is not available on this system; used the greedy heuristic")
            return True
        return False

    def _solve_mclp(self, k: int, solver: str, time_limit_s: float, notes: list[str]):
        A, r = self._A, self._residual
        cells = self._cells(A, r)
        if not self._fallback(f"The covering problem ({cells:,} non-zeros)", solver, cells > CBC_MAX_NONZEROS, notes):
            sol = sv.mclp_cbc(A, r, k, time_limit_s)
            if sol.optimal:
                return sol.chosen, {"solver": "cbc", "optimal": True, "objective": sol.objective,
                                    "bound": sol.objective, "bound_method": "proven optimal (CBC)"}
            if solver == "cbc":
                if not sol.chosen.size:
                    msg = f"CBC found no solution within {time_limit_s:g} s; raise time_limit_s or use solver='greedy'"
                    raise SolverError(msg)
                notes.append(f"CBC stopped at the {time_limit_s:g} s limit; the answer is not proven optimal")
                return sol.chosen, {"solver": "cbc", "optimal": False, "objective": sol.objective,
                                    "bound": float("nan"), "bound_method": "none (CBC time limit)"}
            notes.append(f"CBC hit the {time_limit_s:g} s time limit; fell back to the greedy heuristic")
        order, marg = sv.greedy_order(A, r, k)
        value = float(marg.sum())
        Ag, _ = sv.aggregate(A, r)
        if Ag.nnz + Ag.shape[0] <= LP_MAX_NNZ:
            bound, how = sv.mclp_lp_bound(A, r, k), "LP relaxation (HiGHS)"
        else:
            bound, how = None, ""
        if bound is None:
            bound, how = value / sv.greedy_ratio(k), "greedy guarantee 1-(1-1/k)^k"
        return order, {"solver": "greedy", "optimal": bool(bound <= value * (1 + 1e-9)), "objective": value,
                       "bound": max(bound, value), "bound_method": how}

    def _cost_km(self) -> np.ndarray:
        """Distance (km) of each segment to each candidate, capped at its nearest existing shelter."""
        d = distance_matrix(self._demand, self.candidates.geometry.values._data, self.measure) / 1000.0
        if len(self.existing):
            e = distance_matrix(self._demand, self.existing.geometry.values._data, self.measure) / 1000.0
            d = np.minimum(d, e.min(axis=1)[:, None])
        return d

    def _solve_pmedian(self, k: int, solver: str, time_limit_s: float, notes: list[str]):
        w = self._demand.weight
        cells = int((w > 0).sum()) * len(self.candidates)
        if len(w) * len(self.candidates) > PMEDIAN_MAX_DENSE:
            msg = (
                f"p-median needs a dense {len(w):,} x {len(self.candidates):,} distance matrix, more than "
                f"{PMEDIAN_MAX_DENSE:,} cells; use model='mclp', fewer candidates or longer segments"
            )
            raise SolverError(msg)
        cost = self._cost_km()
        if not self._fallback(f"The p-median problem ({cells:,} cells)", solver, cells > PMEDIAN_MAX_CELLS, notes):
            sol = sv.pmedian_cbc(cost, w, k, time_limit_s)
            if sol.optimal or (solver == "cbc" and sol.chosen.size):
                if not sol.optimal:
                    notes.append(f"CBC stopped at the {time_limit_s:g} s limit; the answer is not proven optimal")
                return sol.chosen, {"solver": "cbc", "optimal": sol.optimal, "objective": sol.objective,
                                    "bound": sol.objective if sol.optimal else float("nan"),
                                    "bound_method": "proven optimal (CBC)" if sol.optimal else "none"}
            if solver == "cbc":
                msg = f"CBC found no solution within {time_limit_s:g} s; raise time_limit_s or use solver='greedy'"
                raise SolverError(msg)
            notes.append(f"CBC hit the {time_limit_s:g} s time limit; fell back to the greedy heuristic")
        chosen = sv.greedy_pmedian(cost, w, k, time_limit_s=time_limit_s / 2)
        value = sv.pmedian_cost(cost, w, chosen)
        bound, how = (sv.pmedian_lp_bound(cost, w, k), "LP relaxation (HiGHS)") if cells <= PMEDIAN_MAX_CELLS else (
            None, "")
        if bound is None:
            bound = sv.pmedian_lagrangian_bound(cost, w, k, value, time_limit_s=time_limit_s / 2)
            how = "Lagrangian relaxation (subgradient)"
        bound = min(bound, value)
        return chosen, {"solver": "greedy", "optimal": bool(value <= bound * (1 + 1e-9)),
                        "objective": value, "bound": bound, "bound_method": how}

    def _solve_lscp(self, cov: float, solver: str, time_limit_s: float, notes: list[str]):
        A, r = self._A, self._residual
        need = cov * self.total_demand - self.total_demand * self.existing_share
        if need <= 1e-9 * self.total_demand:
            notes.append(f"the existing shelters already cover {self.existing_share:.1%} of the risk; no site needed")
            return np.array([], dtype=np.int64), {"solver": solver, "optimal": True, "objective": 0.0,
                                                  "bound": 0.0, "bound_method": "target met by existing shelters"}
        reach = np.asarray(A.sum(axis=1)).ravel() > 0
        best = float(r[reach].sum())
        if best < need * (1 - 1e-9):
            top = (self.total_demand * self.existing_share + best) / self.total_demand
            msg = (
                f"`coverage` {cov:.0%} cannot be reached: all {len(self.candidates)} candidates together with the "
                f"existing shelters cover at most {top:.1%} of the risk within {self.radius_km:g} km"
            )
            raise SolverError(msg)
        order, marg = sv.greedy_order(A, r, len(self.candidates))
        k_greedy = int(np.searchsorted(np.cumsum(marg), need * (1 - 1e-9)) + 1)
        greedy = order[:k_greedy]
        cells = self._cells(A, r)
        if self._fallback(f"The covering problem ({cells:,} non-zeros)", solver, cells > CBC_MAX_NONZEROS, notes):
            return greedy, {"solver": "greedy", "optimal": False, "objective": float(k_greedy),
                            "bound": float("nan"), "bound_method": "none (greedy set covering)"}
        if cov >= 1.0:
            sol = sv.lscp_cbc(A, r, time_limit_s)
            if sol.optimal:
                return sol.chosen, {"solver": "cbc", "optimal": True, "objective": sol.objective,
                                    "bound": sol.objective, "bound_method": "proven optimal (CBC)"}
        else:  # smallest k whose maximal cover reaches the target; the optimum grows with k: bisect
            lo, hi, found, proven = 1, k_greedy, greedy, True
            while lo < hi:
                mid = (lo + hi) // 2
                sol = sv.mclp_cbc(A, r, mid, time_limit_s)
                proven &= sol.optimal
                if sol.chosen.size and sol.objective >= need * (1 - 1e-9):
                    hi, found = mid, sol.chosen
                else:
                    lo = mid + 1
            if proven:
                return found, {"solver": "cbc", "optimal": True, "objective": float(len(found)),
                               "bound": float(len(found)), "bound_method": "proven optimal (CBC, bisection on k)"}
        notes.append(f"CBC did not prove optimality within {time_limit_s:g} s; used the greedy cover")
        return greedy, {"solver": "greedy", "optimal": False, "objective": float(k_greedy),
                        "bound": float("nan"), "bound_method": "none (greedy set covering)"}
