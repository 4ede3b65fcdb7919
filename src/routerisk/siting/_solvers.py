"""Solvers: the covering and p-median models built in PuLP and solved by CBC, a vectorised greedy heuristic, and
LP-relaxation bounds.

Each function takes plain arrays (a sparse coverage matrix or a dense cost matrix, demand weights) and returns
the chosen column indices with an objective value, so the optimality tests can compare them with brute force and
with PySAL spopt (the independent reference of the tests; it is not imported here: its builder visits every cell of
a dense matrix in Python and its import pulls libpysal, pointpats and scikit-learn).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pulp
from scipy import sparse

from .._errors import SolverError


@dataclass
class Solution:
    """Chosen columns, objective value and whether the solver proved it optimal."""

    chosen: np.ndarray
    objective: float
    optimal: bool
    message: str = ""


def aggregate(A: sparse.csr_matrix, w: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Merge demand rows with the same covering set (weights summed); drop rows no one covers or weigh 0.

    MCLP and set covering only see a row through its covering set and weight, so the merged problem has the
    same optimum. Rows are grouped by two random projections of their patterns and the grouping is verified.
    """
    A = sparse.csr_matrix(A, dtype=np.float64)
    keep = (w > 0) & (np.diff(A.indptr) > 0)
    A, w = A[keep], w[keep]
    if A.shape[0] == 0:
        return sparse.csr_matrix((0, A.shape[1])), w
    rng = np.random.default_rng(12345)
    h = A @ rng.random((A.shape[1], 2))
    _, first, group = np.unique(h, axis=0, return_index=True, return_inverse=True)
    group = group.ravel()
    rep = A[first]
    if (rep[group] != A).nnz:  # a hash collision (practically never): keep rows apart
        return A.tocsr(), w
    return rep.tocsr(), np.bincount(group, weights=w, minlength=len(first))


@functools.cache
def cbc_available() -> bool:
    """Whether PuLP finds its CBC binary (bundled on the common platforms)."""
    try:
        return bool(pulp.PULP_CBC_CMD(msg=False).available())
    except Exception:  # PuLP raises various errors when the binary is missing or not executable
        return False


def _cbc(time_limit_s: float):
    return pulp.PULP_CBC_CMD(msg=False, timeLimit=max(1, math.ceil(time_limit_s)))


def _solve_problem(prob, time_limit_s: float, what: str) -> tuple[bool, bool]:
    """Solve a PuLP problem with CBC: (has a solution, proved optimal)."""
    try:
        with _no_gc():  # PuLP writes the MPS file object by object
            prob.solve(_cbc(time_limit_s))
    except Exception as exc:  # PuLP raises PulpSolverError with the CBC output
        msg = f"CBC failed on the {what} problem: {exc}"
        raise SolverError(msg) from exc
    has = prob.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
    return has, prob.status == pulp.LpStatusOptimal and prob.sol_status == pulp.LpSolutionOptimal


def _chosen(fac_vars) -> np.ndarray:
    return np.array([j for j, v in enumerate(fac_vars) if (v.value() or 0) > 0.5], dtype=np.int64)


def undominated(A: sparse.csr_matrix) -> np.ndarray:
    """Columns whose covered rows are not a subset of another column's (ties: the lowest index is kept).

    Swapping a dominated column for its dominator never lowers a coverage, so maximal and set covering keep
    their optimum on these columns (and their LP relaxations can only get tighter).
    """
    B = sparse.csc_matrix(A, dtype=np.float64)
    nnz = np.diff(B.indptr)
    C = (B.T @ B).tocoo()  # rows covered by both columns
    r, c = C.row, C.col
    dom = (r != c) & (C.data >= nnz[r]) & ((nnz[c] > nnz[r]) | ((nnz[c] == nnz[r]) & (c < r)))
    out = np.ones(B.shape[1], dtype=bool)
    out[r[dom]] = False
    out[nnz == 0] = False
    return np.flatnonzero(out)


def _reduced(A: sparse.csr_matrix, w: np.ndarray, k: int) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
    """Merged rows and undominated columns (padded with the lowest other columns up to ``k``)."""
    Ag, wg = aggregate(A, w)
    keep = undominated(Ag) if Ag.shape[0] else np.array([], dtype=np.int64)
    if len(keep) < k:
        rest = np.setdiff1d(np.arange(A.shape[1]), keep)
        keep = np.sort(np.r_[keep, rest[: k - len(keep)]])
    return Ag[:, keep].tocsr(), wg, keep


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while PuLP creates or writes out its objects (none of them is garbage).

    A model has up to a few hundred thousand variables and constraints; each collection would walk all of them
    again. Measured on a 75 x 2,000 p-median: 1.9-2.4 s with the collector, 1.1-1.7 s without.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _variables(prob, prefix: str, n: int, cat: str) -> list:
    """``n`` variables ``prefix0, prefix1, ...`` in [0, 1] of category ``cat`` (PuLP's own constructor)."""
    if hasattr(prob, "add_variable"):  # PuLP >= 3.3 deprecates calling LpVariable(...) directly
        return [prob.add_variable(f"{prefix}{i}", 0, 1, cat) for i in range(n)]
    return [pulp.LpVariable(f"{prefix}{i}", 0, 1, cat) for i in range(n)]  # pragma: no cover - older PuLP


def _constraint(prob, terms: list, sense: int, rhs: float) -> None:
    """Add ``sum(coef * var) <sense> rhs`` from a list of (variable, coefficient) pairs, without copying it."""
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, rhs=rhs))


def _sparse_covering(Ag: sparse.csr_matrix, wg: np.ndarray | None, k: int | None):
    """The maximal covering (``wg``, ``k`` given) or set covering formulation, built from the non-zeros only.

    The formulations of Church and ReVelle (1974) and Toregas et al. (1971), as ``spopt.locate.MCLP`` and
    ``LSCP.from_cost_matrix`` build them (the tests compare the optima): maximise ``sum_i w_i y_i`` subject to
    ``sum_j a_ij x_j >= y_i`` and ``sum_j x_j = k``; or minimise ``sum_j x_j`` subject to ``sum_j a_ij x_j >= 1``.
    spopt visits every cell of a dense matrix in Python; here the work is proportional to the non-zeros. ``y``
    is continuous in [0, 1]: with binary ``x`` and positive weights it takes 0 or 1 at every optimum.
    """
    with _no_gc():
        return _build_covering(Ag, wg, k)


def _build_covering(Ag: sparse.csr_matrix, wg: np.ndarray | None, k: int | None):
    n, m = Ag.shape
    mclp = wg is not None
    prob = pulp.LpProblem("mclp" if mclp else "lscp", pulp.LpMaximize if mclp else pulp.LpMinimize)
    x = _variables(prob, "x_", m, pulp.LpBinary)
    cols = np.split(Ag.indices, Ag.indptr[1:-1])
    if mclp:
        y = _variables(prob, "y_", n, pulp.LpContinuous)
        prob += pulp.LpAffineExpression(list(zip(y, wg.tolist(), strict=True)))
        for i, js in enumerate(cols):  # one constraint per merged demand row: PuLP builds them one by one
            _constraint(prob, [(x[j], 1) for j in js.tolist()] + [(y[i], -1)], pulp.LpConstraintGE, 0)
        _constraint(prob, [(v, 1) for v in x], pulp.LpConstraintEQ, k)
    else:
        prob += pulp.LpAffineExpression([(v, 1) for v in x])
        for js in cols:
            _constraint(prob, [(x[j], 1) for j in js.tolist()], pulp.LpConstraintGE, 1)
    return prob, x


def _pmedian_problem(cost: np.ndarray, w: np.ndarray, k: int):
    """The p-median formulation of ReVelle and Swain (1970), as ``spopt.locate.PMedian.from_cost_matrix`` builds it.

    Minimise ``sum_ij w_i d_ij z_ij`` subject to ``sum_j z_ij = 1`` (each row assigned), ``z_ij <= x_j`` (only to
    an open column) and ``sum_j x_j = k``. ``x`` is binary; ``z`` is continuous in [0, 1], since with binary ``x``
    assigning each row to its nearest open column is optimal. The objective's coefficients come from one numpy
    product; PuLP still needs one object per variable and per ``z_ij <= x_j`` constraint.
    """
    with _no_gc():
        return _build_pmedian(cost, w, k)


def _build_pmedian(cost: np.ndarray, w: np.ndarray, k: int):
    n, m = cost.shape
    prob = pulp.LpProblem("pmedian", pulp.LpMinimize)
    x = _variables(prob, "x_", m, pulp.LpBinary)
    z = _variables(prob, "z_", n * m, pulp.LpContinuous)  # z[i * m + j]
    prob += pulp.LpAffineExpression(list(zip(z, (w[:, None] * cost).ravel().tolist(), strict=True)))
    for i in range(n):
        _constraint(prob, [(v, 1) for v in z[i * m : (i + 1) * m]], pulp.LpConstraintEQ, 1)
    for i in range(n):
        for j in range(m):
            _constraint(prob, [(x[j], 1), (z[i * m + j], -1)], pulp.LpConstraintGE, 0)
    _constraint(prob, [(v, 1) for v in x], pulp.LpConstraintEQ, k)
    return prob, x


def _cbc_solution(prob, fac_vars, time_limit_s: float, what: str) -> tuple[np.ndarray, bool] | None:
    """Solve with CBC: (chosen columns, proved optimal), or None when CBC found no solution in time."""
    has, optimal = _solve_problem(prob, time_limit_s, what)
    return (_chosen(fac_vars), optimal) if has else None


_NO_SOLUTION = "CBC found no solution in time"


def mclp_cbc(A: sparse.csr_matrix, w: np.ndarray, k: int, time_limit_s: float) -> Solution:
    """Maximal covering of ``k`` columns, solved by CBC.

    Rows with the same covering set are merged and dominated columns dropped (neither changes the optimum); the
    model is built sparsely (:func:`_sparse_covering`) at every size.

    Examples
    --------
    >>> A = sparse.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]]))
    >>> sol = mclp_cbc(A, np.array([4.0, 1.0, 1.0, 3.0]), 2, 10)
    >>> sol.chosen.tolist(), sol.objective, sol.optimal
    ([0, 2], 9.0, True)
    """
    Ag, wg, keep = _reduced(A, w, k)
    if Ag.shape[0] == 0:
        return Solution(keep[:k], 0.0, True)
    prob, fac_vars = _sparse_covering(Ag, wg, k)
    got = _cbc_solution(prob, fac_vars, time_limit_s, "maximal covering")
    if got is None:
        return Solution(np.array([], dtype=np.int64), float("nan"), False, _NO_SOLUTION)
    chosen = keep[got[0]]
    return Solution(chosen, covered_weight(A, w, chosen), got[1])


def pmedian_cbc(cost: np.ndarray, w: np.ndarray, k: int, time_limit_s: float) -> Solution:
    """p-median of ``k`` columns (rows of weight 0 left out), built by :func:`_pmedian_problem` and solved by CBC.

    Examples
    --------
    >>> cost = np.array([[0.0, 5.0, 9.0], [5.0, 0.0, 4.0], [9.0, 4.0, 0.0]])
    >>> sol = pmedian_cbc(cost, np.array([3.0, 0.0, 2.0]), 1, 10)
    >>> sol.chosen.tolist(), sol.objective
    ([0], 18.0)
    """
    keep = w > 0
    prob, fac_vars = _pmedian_problem(cost[keep], w[keep], k)
    got = _cbc_solution(prob, fac_vars, time_limit_s, "p-median")
    if got is None:
        return Solution(np.array([], dtype=np.int64), float("nan"), False, _NO_SOLUTION)
    return Solution(got[0], pmedian_cost(cost, w, got[0]), got[1])


def lscp_cbc(A: sparse.csr_matrix, w: np.ndarray, time_limit_s: float) -> Solution:
    """Fewest columns covering every row of positive weight, built by :func:`_sparse_covering` and solved by CBC.

    Examples
    --------
    >>> A = sparse.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]]))
    >>> lscp_cbc(A, np.ones(4), 10).chosen.tolist()
    [0, 2]
    """
    Ag, _, keep = _reduced(A, w, 0)
    prob, fac_vars = _sparse_covering(Ag, None, None)
    got = _cbc_solution(prob, fac_vars, time_limit_s, "set covering")
    if got is None:
        return Solution(np.array([], dtype=np.int64), float("nan"), False, _NO_SOLUTION)
    chosen = keep[got[0]]
    return Solution(chosen, float(len(chosen)), got[1])


def covered_weight(A: sparse.csr_matrix, w: np.ndarray, chosen: np.ndarray) -> float:
    """Weight of the rows covered by at least one chosen column."""
    if len(chosen) == 0:
        return 0.0
    hit = np.asarray(A[:, chosen].sum(axis=1)).ravel() > 0
    return float(w[hit].sum())


def pmedian_cost(cost: np.ndarray, w: np.ndarray, chosen: np.ndarray) -> float:
    """Weighted distance of every row to its nearest chosen column."""
    if len(chosen) == 0:
        return float("inf")
    return float((w * cost[:, chosen].min(axis=1)).sum())


def greedy_order(A: sparse.csr_matrix, w: np.ndarray, k: int, *, among: np.ndarray | None = None) -> tuple:
    """Add columns one at a time by largest marginal covered weight (ties: lowest index).

    Returns the order and the marginal weight of each pick. Gains are updated incrementally with sparse
    products, so each step costs the number of newly covered rows, not a pass over the matrix.
    """
    A = sparse.csr_matrix(A, dtype=np.float64)
    At = A.T.tocsr()  # column j's rows are At[j]
    residual = np.asarray(w, dtype=np.float64).copy()
    gains = np.asarray(At @ residual).ravel()
    allowed = np.zeros(A.shape[1], dtype=bool)
    allowed[np.arange(A.shape[1]) if among is None else among] = True
    order, marginal = [], []
    for _ in range(min(k, int(allowed.sum()))):
        g = np.where(allowed, gains, -np.inf)
        j = int(np.argmax(g))
        rows = At.indices[At.indptr[j] : At.indptr[j + 1]]
        rows = rows[residual[rows] > 0]
        order.append(j)
        marginal.append(float(residual[rows].sum()))
        if len(rows):
            gains -= np.asarray(At[:, rows] @ residual[rows]).ravel()
            residual[rows] = 0.0
        allowed[j] = False
    return np.array(order, dtype=np.int64), np.array(marginal)


def greedy_pmedian(
    cost: np.ndarray, w: np.ndarray, k: int, *, max_rounds: int = 50, time_limit_s: float | None = None
) -> np.ndarray:
    """Greedy p-median improved by vertex substitution (Teitz-Bart interchange).

    Columns are added one at a time by largest drop of the weighted distance; then the best single swap
    (a chosen column for an unchosen one) is made while it lowers the cost, at most ``max_rounds`` times and
    while ``time_limit_s`` is not spent. Every evaluation is a matrix operation over all rows and columns.
    """
    t0 = time.perf_counter()
    keep = w > 0
    cost, w = cost[keep], w[keep]
    n, m = cost.shape
    current = np.full(n, np.inf)
    chosen: list[int] = []
    for _ in range(k):
        total = w @ np.minimum(current[:, None], cost)
        total[chosen] = np.inf
        j = int(np.argmin(total))
        chosen.append(j)
        current = np.minimum(current, cost[:, j])
    sel = np.array(chosen, dtype=np.int64)
    if k >= m:
        return sel
    best_total = float(w @ cost[:, sel].min(axis=1))
    for _ in range(max_rounds):
        if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
            break
        sub = cost[:, sel]
        order = np.argsort(sub, axis=1)
        nearest = sub[np.arange(n), order[:, 0]]
        second = sub[np.arange(n), order[:, 1]] if k > 1 else np.full(n, np.inf)
        best_swap, swap = best_total * (1 - 1e-12), None
        for p in range(k):  # loop over the k chosen columns only
            without = np.where(order[:, 0] == p, second, nearest)
            total = w @ np.minimum(without[:, None], cost)
            total[sel] = np.inf
            j = int(np.argmin(total))
            if total[j] < best_swap:
                best_swap, swap = float(total[j]), (p, j)
        if swap is None:
            break
        sel[swap[0]] = swap[1]
        best_total = best_swap
    return sel


def pmedian_lagrangian_bound(
    cost: np.ndarray, w: np.ndarray, k: int, upper: float, iters: int = 300, time_limit_s: float | None = None
) -> float:
    """Lower bound on the p-median cost by Lagrangian relaxation of the assignment constraints (subgradient).

    For multipliers ``u_i``, ``L(u) = sum_i u_i + (sum of the k smallest rho_j)`` with
    ``rho_j = sum_i min(0, w_i c_ij - u_i)`` is a lower bound for any ``u``; the best one found within
    ``iters`` iterations and ``time_limit_s`` is returned.
    """
    t0 = time.perf_counter()
    keep = w > 0
    wc = w[keep][:, None] * cost[keep]
    u = np.sort(wc, axis=1)[:, min(1, wc.shape[1] - 1)].copy()  # second-nearest: a good start
    best, theta, stall = -np.inf, 2.0, 0
    for _ in range(iters):
        red = np.minimum(wc - u[:, None], 0.0)
        rho = red.sum(axis=0)
        open_ = np.argpartition(rho, k - 1)[:k] if k < len(rho) else np.arange(len(rho))
        value = float(u.sum() + rho[open_].sum())
        if value > best + 1e-12 * abs(value):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 5:  # halve the step after five iterations without progress
                theta, stall = theta / 2.0, 0
        g = 1.0 - (red[:, open_] < 0).sum(axis=1)
        norm = float(g @ g)
        if norm == 0 or theta < 1e-6 or (time_limit_s is not None and time.perf_counter() - t0 > time_limit_s):
            break
        u += theta * max(upper - value, 1e-9 * abs(upper)) / norm * g
    return best


def mclp_lp_bound(A: sparse.csr_matrix, w: np.ndarray, k: int) -> float | None:
    """Optimum of the LP relaxation of MCLP (an upper bound on the covered weight), by HiGHS through scipy."""
    from scipy.optimize import linprog  # lazy: scipy.optimize costs 0.3 s at start-up (measured), paid only for bounds

    Ag, wg, _ = _reduced(A, w, k)
    n, m = Ag.shape
    if n == 0:
        return 0.0
    c = np.r_[np.zeros(m), -wg]
    A_ub = sparse.hstack([-Ag, sparse.identity(n)], format="csr")  # y_i <= sum_j a_ij x_j
    A_eq = sparse.csr_matrix(np.r_[np.ones(m), np.zeros(n)][None, :])
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(n), A_eq=A_eq, b_eq=[k], bounds=(0, 1), method="highs")
    return float(-res.fun) if res.status == 0 else None


def pmedian_lp_bound(cost: np.ndarray, w: np.ndarray, k: int) -> float | None:
    """Optimum of the LP relaxation of p-median (a lower bound on the weighted distance), by HiGHS."""
    from scipy.optimize import linprog  # lazy: scipy.optimize costs 0.3 s at start-up (measured), paid only for bounds

    keep = w > 0
    cost, w = cost[keep], w[keep]
    n, m = cost.shape
    c = np.r_[(w[:, None] * cost).ravel(), np.zeros(m)]
    eye_n = sparse.identity(n * m, format="csr")
    link = sparse.hstack([eye_n, -sparse.kron(sparse.csr_matrix(np.ones((n, 1))), sparse.identity(m))])
    assign = sparse.hstack([sparse.kron(sparse.identity(n), sparse.csr_matrix(np.ones((1, m)))),
                            sparse.csr_matrix((n, m))])
    count = sparse.csr_matrix(np.r_[np.zeros(n * m), np.ones(m)][None, :])
    res = linprog(c, A_ub=link, b_ub=np.zeros(n * m), A_eq=sparse.vstack([assign, count]),
                  b_eq=np.r_[np.ones(n), k], bounds=(0, 1), method="highs")
    return float(res.fun) if res.status == 0 else None


def greedy_ratio(k: int) -> float:
    """Worst-case ratio of greedy to optimal maximal coverage with ``k`` picks: ``1 - (1 - 1/k)^k >= 1 - 1/e``."""
    return 1.0 - (1.0 - 1.0 / k) ** k
