"""Kendall's tau-b without importing scipy.stats (:func:`kendall_tau_b`, re-exported by :mod:`routerisk.stats`)."""

from __future__ import annotations

import numpy as np

__all__ = ["kendall_tau_b"]


# -- Kendall's tau-b without scipy.stats -----------------------------------------------------------------------------
def _dense_ranks(v: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Dense ranks 0, 1, ... of ``v`` (equal values share a rank), given an ordering of ``v``."""
    s = v[order]
    r = np.empty(len(v), dtype=np.int64)
    r[order] = np.cumsum(np.r_[False, s[1:] != s[:-1]])
    return r


def _tied_pairs(ranks: np.ndarray) -> int:
    c = np.bincount(ranks)
    return int((c * (c - 1) // 2).sum())


def _strict_inversions(v: np.ndarray) -> int:
    """Number of pairs ``i < j`` with ``v[i] > v[j]`` for integers ``0 <= v < 2**b``, in ``b`` array passes.

    A binary radix partition, most significant bit first: the array is kept stably sorted by the bits above the
    current one, so each group of equal higher bits is contiguous and in its original order; at bit ``b`` every
    element of a group with that bit 0 is inverted with the group's earlier elements that have it 1 (and no pair
    is counted twice: lower bits only decide pairs equal on all the bits above). Each group is then split stably
    by the bit (a counting sort on ``v >> b``), which is the grouping of the next bit.
    """
    n = len(v)
    if n < 2:
        return 0
    a = np.asarray(v, dtype=np.int64)
    idx = np.arange(n)
    total = 0
    for b in range(int(a.max()).bit_length() - 1, -1, -1):
        kb = a >> b  # the higher bits and bit b; ``a`` is stably sorted by ``kb >> 1``
        bit = kb & 1
        first = np.zeros(int(kb.max()) + 2, dtype=np.int64)
        np.cumsum(np.bincount(kb), out=first[1:])  # first[key]: where key's elements start, stably sorted by kb
        start = first[kb - bit]  # first position of the element's group
        ones_before = np.cumsum(bit) - bit
        in_group = ones_before - ones_before[start]  # ones before it in its group
        total += int(in_group[bit == 0].sum())
        pos = first[kb] + np.where(bit == 1, in_group, idx - start - in_group)
        out = np.empty_like(a)
        out[pos] = a
        a = out
    return total


def kendall_tau_b(x, y) -> float:
    """Kendall's tau-b of two samples, ``scipy.stats.kendalltau(x, y).statistic`` without importing scipy.stats.

    Knight's O(n log n) algorithm, as scipy: sort by ``(x, y)``, count the pairs tied in ``x``, in ``y`` and in
    both, and count the discordant pairs as the strict inversions of ``y`` in that order (a binary radix
    partition of the dense ranks, all in numpy). Then, with ``n0 = n (n - 1) / 2``,

        tau_b = (n0 - ties_x - ties_y + ties_xy - 2 discordant) / sqrt(n0 - ties_x) / sqrt(n0 - ties_y)

    in scipy's order of operations, clipped to [-1, 1] (tested equal to scipy to 1e-12 on tie-heavy data).

    Parameters
    ----------
    x, y : array-like of float, shape (n,)

    Returns
    -------
    float
        NaN when the samples are empty, contain NaN or either is constant (scipy's answers).

    Raises
    ------
    ValueError
        When ``x`` and ``y`` differ in size.

    Examples
    --------
    >>> round(kendall_tau_b([12, 2, 1, 12, 2], [1, 4, 7, 1, 0]), 6)  # (2 - 6) / sqrt(10 - 2) / sqrt(10 - 1)
    -0.471405
    """
    a = np.asarray(x).ravel()
    b = np.asarray(y).ravel()
    if a.size != b.size:
        msg = f"`x` has {a.size} values but `y` has {b.size}"
        raise ValueError(msg)
    n = a.size
    if n == 0 or np.isnan(a.astype(np.float64)).any() or np.isnan(b.astype(np.float64)).any():
        return float("nan")
    rx, ry = _dense_ranks(a, np.argsort(a)), _dense_ranks(b, np.argsort(b))
    order = np.argsort(rx * (int(ry.max()) + 1) + ry)  # by x, then y (the order within equal pairs is irrelevant)
    rx, ry = rx[order], ry[order]
    joint = np.flatnonzero(np.r_[True, (rx[1:] != rx[:-1]) | (ry[1:] != ry[:-1]), True])
    c = np.diff(joint)
    ties_xy = int((c * (c - 1) // 2).sum())
    ties_x, ties_y = _tied_pairs(rx), _tied_pairs(ry)
    tot = n * (n - 1) // 2
    if ties_x == tot or ties_y == tot:
        return float("nan")
    dis = _strict_inversions(ry)
    con_minus_dis = tot - ties_x - ties_y + ties_xy - 2 * dis
    tau = con_minus_dis / np.sqrt(tot - ties_x) / np.sqrt(tot - ties_y)
    return float(min(1.0, max(-1.0, tau)))
