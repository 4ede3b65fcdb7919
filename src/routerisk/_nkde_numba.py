"""Compiled walks of the network kernel density (:mod:`routerisk.netkde`): (event, lixel, distance, factor) rows.

For each event the kernel reaches lixels along the network; these functions list, for every reached lixel, the
network distance and the factor of the kernel there (1 for the simple method; the product of the splits at the
junctions passed for the discontinuous and continuous methods). The kernel itself is evaluated afterwards in
numpy from the registry, so every registered kernel works.

Incidences: every edge ``e`` has two, one per end (``end`` 0 at ``u``, 1 at ``v``), grouped by node in CSR form
(``node_ptr``; ``inc_node``, ``inc_edge``, ``inc_end`` per incidence); ``opp[i]`` is the incidence at the other end
of the same edge and ``edge_inc[e, end]`` the incidence of edge ``e`` at its end ``end``. Lixel centres of edge
``e`` are ``lix_off[lix_ptr[e]:lix_ptr[e + 1]]``, ascending offsets from ``u``.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit


@njit(cache=True)
def _grow(buf_i, buf_f, n):
    """Double the row buffers (``buf_i``: event, lixel; ``buf_f``: distance, factor)."""
    m = max(2 * buf_i.shape[0], 1024)
    bi = np.empty((m, 2), np.int64)
    bf = np.empty((m, 2), np.float64)
    bi[:n] = buf_i[:n]
    bf[:n] = buf_f[:n]
    return bi, bf


@njit(cache=True)
def _emit(ev, e, end, d0, alpha, cut, L, lix_ptr, lix_off, buf_i, buf_f, n):
    """Lixels of edge ``e`` entered from end ``end`` at distance ``d0``: rows (ev, lixel, d0 + offset, alpha)."""
    room = cut - d0
    if room < 0.0:
        return buf_i, buf_f, n
    a, b = lix_ptr[e], lix_ptr[e + 1]
    if end == 0:
        lo, hi = a, a + np.searchsorted(lix_off[a:b], room, side="right")
    else:
        lo, hi = a + np.searchsorted(lix_off[a:b], L[e] - room, side="left"), b
    while n + (hi - lo) > buf_i.shape[0]:
        buf_i, buf_f = _grow(buf_i, buf_f, n)
    for j in range(lo, hi):
        buf_i[n, 0], buf_i[n, 1] = ev, j
        buf_f[n, 0] = d0 + (lix_off[j] if end == 0 else L[e] - lix_off[j])
        buf_f[n, 1] = alpha
        n += 1
    return buf_i, buf_f, n


@njit(cache=True)
def _own_edge(ev, e, t, cut, lix_ptr, lix_off, buf_i, buf_f, n):
    """Lixels of the event's own edge, both ways from the event at offset ``t``."""
    a, b = lix_ptr[e], lix_ptr[e + 1]
    while n + (b - a) > buf_i.shape[0]:
        buf_i, buf_f = _grow(buf_i, buf_f, n)
    for j in range(a, b):
        d = abs(lix_off[j] - t)
        if d <= cut:
            buf_i[n, 0], buf_i[n, 1] = ev, j
            buf_f[n, 0], buf_f[n, 1] = d, 1.0
            n += 1
    return buf_i, buf_f, n


@njit(cache=True)
def _push(stack_i, stack_f, top, inc, dep, d, alpha):
    if top == stack_i.shape[0]:
        si = np.empty((2 * top, 2), np.int64)
        sf = np.empty((2 * top, 2), np.float64)
        si[:top] = stack_i[:top]
        sf[:top] = stack_f[:top]
        stack_i, stack_f = si, sf
    stack_i[top, 0], stack_i[top, 1] = inc, dep
    stack_f[top, 0], stack_f[top, 1] = d, alpha
    return stack_i, stack_f, top + 1


@njit(cache=True)
def walk_rows(method, ev_edge, ev_off, ev_node, node_ptr, inc_node, inc_edge, inc_end, opp, edge_inc, L, lix_ptr,
              lix_off, cut, max_depth):  # fmt: skip
    """Rows of the walk methods: ``method`` 1 discontinuous (split 1/(n-1)), 2 continuous (2/n, back (2-n)/n).

    An event with ``ev_node >= 0`` sits on that node. A walk stops at a dead end, beyond ``cut``, or after passing
    ``max_depth`` junctions (nodes of degree > 2).
    """
    buf_i = np.empty((1024, 2), np.int64)
    buf_f = np.empty((1024, 2), np.float64)
    n = 0
    stack_i = np.empty((64, 2), np.int64)
    stack_f = np.empty((64, 2), np.float64)
    for ev in range(len(ev_edge)):
        top = 0
        v = ev_node[ev]
        if v >= 0:
            deg = node_ptr[v + 1] - node_ptr[v]
            alpha = 2.0 / deg if (method == 2 or deg > 2) else 1.0
            for j in range(node_ptr[v], node_ptr[v + 1]):
                e = inc_edge[j]
                buf_i, buf_f, n = _emit(ev, e, inc_end[j], 0.0, alpha, cut, L, lix_ptr, lix_off, buf_i, buf_f, n)
                if L[e] < cut:
                    stack_i, stack_f, top = _push(stack_i, stack_f, top, opp[j], 0, L[e], alpha)
        else:
            e, t = ev_edge[ev], ev_off[ev]
            buf_i, buf_f, n = _own_edge(ev, e, t, cut, lix_ptr, lix_off, buf_i, buf_f, n)
            if t < cut:
                stack_i, stack_f, top = _push(stack_i, stack_f, top, edge_inc[e, 0], 0, t, 1.0)
            if L[e] - t < cut:
                stack_i, stack_f, top = _push(stack_i, stack_f, top, edge_inc[e, 1], 0, L[e] - t, 1.0)
        while top > 0:
            top -= 1
            i_in, dep = stack_i[top, 0], stack_i[top, 1]
            d, alpha = stack_f[top, 0], stack_f[top, 1]
            v = inc_node[i_in]
            deg = node_ptr[v + 1] - node_ptr[v]
            if deg <= 1:
                continue  # a dead end: the walk stops (as in spNetwork)
            if deg > 2:
                dep += 1
                if dep > max_depth:
                    continue
            if method == 1:
                fwd, back = alpha / (deg - 1.0), 0.0
            else:
                fwd, back = alpha * 2.0 / deg, alpha * (2.0 - deg) / deg
            for j in range(node_ptr[v], node_ptr[v + 1]):
                f = back if j == i_in else fwd
                if f == 0.0:
                    continue
                e = inc_edge[j]
                buf_i, buf_f, n = _emit(ev, e, inc_end[j], d, f, cut, L, lix_ptr, lix_off, buf_i, buf_f, n)
                if d + L[e] < cut:
                    stack_i, stack_f, top = _push(stack_i, stack_f, top, opp[j], dep, d + L[e], f)
    return buf_i[:n], buf_f[:n]


@njit(cache=True)
def _edge_lixels(ev, e, du, dv, own_t, cut, L, lix_ptr, lix_off, buf_i, buf_f, n):
    """Lixels of edge ``e`` at ``min(du + s, dv + L - s)`` (and ``|s - own_t|`` on the event's own edge)."""
    a, b = lix_ptr[e], lix_ptr[e + 1]
    while n + (b - a) > buf_i.shape[0]:
        buf_i, buf_f = _grow(buf_i, buf_f, n)
    for q in range(a, b):
        d = min(du + lix_off[q], dv + L[e] - lix_off[q])
        if own_t >= 0.0:
            d = min(d, abs(lix_off[q] - own_t))
        if d <= cut:
            buf_i[n, 0], buf_i[n, 1] = ev, q
            buf_f[n, 0], buf_f[n, 1] = d, 1.0
            n += 1
    return buf_i, buf_f, n


@njit(cache=True)
def simple_rows(ev_edge, ev_off, ev_node, node_ptr, inc_node, inc_edge, opp, edge_inc, L, lix_ptr, lix_off, cut):
    """Rows of the simple method: the shortest network distance to every lixel within ``cut`` (bounded Dijkstra)."""
    n_nodes = len(node_ptr) - 1
    dist = np.full(n_nodes, np.inf)
    seen_edge = np.full(len(L), -1, np.int64)
    buf_i = np.empty((1024, 2), np.int64)
    buf_f = np.empty((1024, 2), np.float64)
    n = 0
    touched = np.empty(n_nodes, np.int64)
    for ev in range(len(ev_edge)):
        heap = [(0.0, np.int64(0))]
        heap.pop()
        e0 = ev_edge[ev]
        if ev_node[ev] >= 0:
            heap.append((0.0, np.int64(ev_node[ev])))
        else:
            heapq.heappush(heap, (ev_off[ev], inc_node[edge_inc[e0, 0]]))
            heapq.heappush(heap, (L[e0] - ev_off[ev], inc_node[edge_inc[e0, 1]]))
        nt = 0
        while len(heap) > 0:
            d, v = heapq.heappop(heap)
            if d >= dist[v] or d > cut:
                continue
            if dist[v] == np.inf:
                touched[nt] = v
                nt += 1
            dist[v] = d
            for j in range(node_ptr[v], node_ptr[v + 1]):
                w = inc_node[opp[j]]
                d2 = d + L[inc_edge[j]]
                if d2 < dist[w] and d2 <= cut:
                    heapq.heappush(heap, (d2, w))
        if ev_node[ev] < 0:
            seen_edge[e0] = ev
            du, dv = dist[inc_node[edge_inc[e0, 0]]], dist[inc_node[edge_inc[e0, 1]]]
            buf_i, buf_f, n = _edge_lixels(ev, e0, du, dv, ev_off[ev], cut, L, lix_ptr, lix_off, buf_i, buf_f, n)
        for k in range(nt):
            v = touched[k]
            for j in range(node_ptr[v], node_ptr[v + 1]):
                e = inc_edge[j]
                if seen_edge[e] == ev:
                    continue
                seen_edge[e] = ev
                du, dv = dist[inc_node[edge_inc[e, 0]]], dist[inc_node[edge_inc[e, 1]]]
                buf_i, buf_f, n = _edge_lixels(ev, e, du, dv, -1.0, cut, L, lix_ptr, lix_off, buf_i, buf_f, n)
        for k in range(nt):
            dist[touched[k]] = np.inf
    return buf_i[:n], buf_f[:n]
