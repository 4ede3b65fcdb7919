"""Classes of ``risk`` (``risk_class`` 1-5): fixed breaks, or the bins of mapclassify's Quantiles and FisherJenks.

The within-run bins are computed here rather than with mapclassify (importing mapclassify compiles its numba
functions, 1.5-5 s per process); the tests compare the bins. The schemes are :data:`routerisk.model.CLASSIFIERS`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .model import CLASSIFIERS

__all__ = ["CLASS_BREAKS", "CLASS_SCHEMES", "classify", "fisher_jenks_bins", "fixed_classes", "quantile_bins"]

#: The classification schemes of ``risk_class`` (:data:`routerisk.model.CLASSIFIERS`, the one definition).
CLASS_SCHEMES = CLASSIFIERS
#: Breaks of the ``"fixed"`` classes on the 0-100 scale: class 1 below 20, ..., class 5 from 80.
CLASS_BREAKS = (20.0, 40.0, 60.0, 80.0)


def fixed_classes(risk) -> np.ndarray:
    """Class 1-5 of a 0-100 score by the fixed breaks :data:`CLASS_BREAKS` (20, 40, 60, 80).

    Examples
    --------
    >>> fixed_classes([0.0, 19.9, 20.0, 59.0, 80.0, 99.0]).tolist()
    [1, 1, 2, 3, 5, 5]
    """
    return 1 + np.searchsorted(np.asarray(CLASS_BREAKS), np.asarray(risk, dtype=np.float64), side="right")


def quantile_bins(values, k: int = 5) -> np.ndarray:
    """Upper bounds of ``k`` quantile classes (as ``mapclassify.Quantiles``), duplicates merged.

    Examples
    --------
    >>> quantile_bins(np.arange(11.0), 5).tolist()
    [2.0, 4.0, 6.0, 8.0, 10.0]
    """
    y = np.asarray(values, dtype=np.float64)
    step = 100.0 / k
    pct = np.arange(step, 100.0 + step, step)[:k]  # the percentiles mapclassify uses
    pct[-1] = 100.0
    return np.unique(np.percentile(y, pct))


def fisher_jenks_bins(values, k: int = 5, *, max_sample: int = 3000) -> np.ndarray:
    """Upper bounds of the ``k`` Fisher-Jenks (optimal natural breaks) classes, duplicates merged.

    The exact dynamic programme (the algorithm of ``mapclassify.FisherJenks``, in float64) is quadratic in the
    number of values, so above ``max_sample`` values it runs on an evenly spaced sample of the sorted values;
    the last bin is always the maximum.

    Examples
    --------
    >>> fisher_jenks_bins([1.0, 1.1, 1.2, 5.0, 5.1, 9.0], 3).tolist()
    [1.2, 5.1, 9.0]
    """
    y = np.sort(np.asarray(values, dtype=np.float64))
    if len(y) == 0:
        return y
    if len(y) > max_sample:
        y = y[np.linspace(0, len(y) - 1, max_sample).astype(np.int64)]
    k = max(1, min(int(k), len(np.unique(y))))
    bins = _fisher_jenks(y, k) if k > 1 else y[-1:]
    return np.unique(bins)


def classify(values, scheme: str = "quantiles", k: int = 5) -> np.ndarray:
    """Class 1..k of each value (1 = lowest), as mapclassify assigns them (``y <= bin``), robust to ties.

    Fewer than ``k`` classes are used when the values have fewer distinct values or tied quantiles; constant or
    empty input gives class 1. Non-finite values get class 1. ``"fixed"`` is :func:`fixed_classes` (0-100 scores,
    ``k`` = 5 always).

    Parameters
    ----------
    values : array-like of float
    scheme : {"fixed", "quantiles", "fisher_jenks"}
    k : int

    Returns
    -------
    numpy.ndarray of int64

    Examples
    --------
    >>> classify([0, 0, 0, 1, 2, 3, 4, 50], "quantiles", 4).tolist()
    [1, 1, 1, 2, 3, 3, 4, 4]
    """
    if scheme not in CLASS_SCHEMES:
        msg = f"`scheme` was {scheme!r} but must be one of {CLASS_SCHEMES}"
        raise ValueError(msg)
    if scheme == "fixed":
        return fixed_classes(values)
    x = np.asarray(values, dtype=np.float64)
    out = np.ones(len(x), dtype=np.int64)
    finite = np.isfinite(x)
    y = x[finite]
    if len(np.unique(y)) < 2:
        return out
    bins = quantile_bins(y, k) if scheme == "quantiles" else fisher_jenks_bins(y, k)
    bins[-1] = max(bins[-1], y.max())
    out[finite] = np.searchsorted(bins, y, side="left") + 1
    return out


@njit(cache=True)
def _fisher_jenks(y, k):
    n = y.size
    lower = np.zeros((n + 1, k + 1), dtype=np.int64)
    cost = np.zeros((n + 1, k + 1))
    lower[1, 1:] = 1
    cost[2:, 1:] = np.inf
    v = 0.0
    for right in range(2, n + 1):
        s1 = 0.0
        s2 = 0.0
        w = 0.0
        for m in range(1, right + 1):
            i3 = right - m + 1
            val = y[i3 - 1]
            s2 += val * val
            s1 += val
            w += 1.0
            v = s2 - (s1 * s1) / w
            i4 = i3 - 1
            if i4 != 0:
                for j in range(2, k + 1):
                    if cost[right, j] >= v + cost[i4, j - 1]:
                        lower[right, j] = i3
                        cost[right, j] = v + cost[i4, j - 1]
        lower[right, 1] = 1
        cost[right, 1] = v
    bins = np.empty(k)
    bins[k - 1] = y[n - 1]
    last = n
    for c in range(k, 1, -1):
        pivot = lower[last, c]
        bins[c - 2] = y[pivot - 2]
        last = pivot - 1
    return bins
