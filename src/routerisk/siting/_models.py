"""How each siting model is solved: CBC (on the model built in :mod:`routerisk.siting._solvers`) when the problem
fits, else the greedy heuristic with its bound. Each ``solve_*`` takes a :class:`~routerisk.siting.ShelterSiting`
and returns the chosen candidate indices and the solver facts; :data:`routerisk.siting.registry.MODELS` names them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._errors import ConfigError, SolverError
from . import _solvers as sv
from ._inputs import positive

if TYPE_CHECKING:
    from ._core import ShelterSiting

__all__ = [
    "CBC_MAX_NONZEROS",
    "CURVE_CBC_MAX_K",
    "LP_MAX_NNZ",
    "PMEDIAN_MAX_CELLS",
    "PMEDIAN_MAX_DENSE",
    "cells_of",
    "cost_km",
    "solve_lscp",
    "solve_mclp",
    "solve_pmedian",
]

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

#: What a ``solve_*`` returns: chosen candidate indices and the solver facts (solver, optimal, objective, bound,
#: bound_method).
Chosen = tuple[np.ndarray, dict[str, Any]]


def cells_of(A: Any, r: np.ndarray) -> int:
    """Non-zeros of the covering problem once merged and reduced (what :data:`CBC_MAX_NONZEROS` limits)."""
    Ag, _, _ = sv._reduced(A, r, 0)
    return int(Ag.nnz)


def _fallback(what: str, solver: str, too_big: bool, notes: list[str]) -> bool:
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

def solve_mclp(
    siting: ShelterSiting, *, k: int, coverage: float, solver: str, time_limit_s: float, notes: list[str]
) -> Chosen:
    """Maximal covering: the ``k`` sites covering the most remaining risk (``coverage`` unused)."""
    A, r = siting._A, siting._residual
    cells = cells_of(A, r)
    if not _fallback(f"The covering problem ({cells:,} non-zeros)", solver, cells > CBC_MAX_NONZEROS, notes):
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

def cost_km(siting: ShelterSiting) -> np.ndarray:
    """Distance (km) of each segment to each candidate, capped at its nearest existing shelter."""
    d = siting.measure_spec.distances(siting._demand, siting.candidates.geometry.to_numpy()) / 1000.0
    if len(siting.existing):
        e = siting.measure_spec.distances(siting._demand, siting.existing.geometry.to_numpy()) / 1000.0
        d = np.minimum(d, e.min(axis=1)[:, None])
    return d

def solve_pmedian(
    siting: ShelterSiting, *, k: int, coverage: float, solver: str, time_limit_s: float, notes: list[str]
) -> Chosen:
    """p-median: the ``k`` sites minimising the risk-weighted distance to the nearest shelter (``coverage`` unused)."""
    w = siting._demand.weight
    cells = int((w > 0).sum()) * len(siting.candidates)
    if len(w) * len(siting.candidates) > PMEDIAN_MAX_DENSE:
        msg = (
            f"p-median needs a dense {len(w):,} x {len(siting.candidates):,} distance matrix, more than "
            f"{PMEDIAN_MAX_DENSE:,} cells; use model='mclp', fewer candidates or longer segments"
        )
        raise SolverError(msg)
    cost = cost_km(siting)
    if not _fallback(f"The p-median problem ({cells:,} cells)", solver, cells > PMEDIAN_MAX_CELLS, notes):
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

def solve_lscp(
    siting: ShelterSiting, *, k: int, coverage: float, solver: str, time_limit_s: float, notes: list[str]
) -> Chosen:
    """Set covering: the fewest sites bringing the covered share of all risk to ``coverage`` (``k`` unused)."""
    cov = positive("coverage", coverage)
    if cov > 1:
        msg = f"`coverage` was {coverage!r} but must be in (0, 1]"
        raise ConfigError(msg)
    A, r = siting._A, siting._residual
    need = cov * siting.total_demand - siting.total_demand * siting.existing_share
    if need <= 1e-9 * siting.total_demand:
        notes.append(f"the existing shelters already cover {siting.existing_share:.1%} of the risk; no site needed")
        return np.array([], dtype=np.int64), {"solver": solver, "optimal": True, "objective": 0.0,
                                              "bound": 0.0, "bound_method": "target met by existing shelters"}
    reach = np.asarray(A.sum(axis=1)).ravel() > 0
    best = float(r[reach].sum())
    if best < need * (1 - 1e-9):
        top = (siting.total_demand * siting.existing_share + best) / siting.total_demand
        msg = (
            f"`coverage` {cov:.0%} cannot be reached: all {len(siting.candidates)} candidates together with the "
            f"existing shelters cover at most {top:.1%} of the risk within {siting.radius_km:g} km"
        )
        raise SolverError(msg)
    order, marg = sv.greedy_order(A, r, len(siting.candidates))
    k_greedy = int(np.searchsorted(np.cumsum(marg), need * (1 - 1e-9)) + 1)
    greedy = order[:k_greedy]
    cells = cells_of(A, r)
    if _fallback(f"The covering problem ({cells:,} non-zeros)", solver, cells > CBC_MAX_NONZEROS, notes):
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
