"""Mann-Kendall trend test, vectorised over many series (one per row), with the tie-corrected variance.

For a series ``x_1..x_n`` (Mann 1945, Kendall 1975; as ``pymannkendall.original_test``)::

    S     = sum_{i<j} sign(x_j - x_i)
    Var S = (n (n-1) (2n+5) - sum_g t_g (t_g - 1) (2 t_g + 5)) / 18      t_g: sizes of the groups of tied values
    z     = (S - 1) / sqrt(Var S) if S > 0,  (S + 1) / sqrt(Var S) if S < 0,  0 if S = 0 (continuity correction)
    p     = 2 (1 - Phi(|z|))                                              two-sided, normal approximation
    tau   = S / (n (n-1) / 2)

The work is ``n (n-1) / 2`` vectorised comparisons of columns, whatever the number of rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

__all__ = ["mann_kendall"]


def mann_kendall(x) -> pd.DataFrame:
    """Mann-Kendall test of every row of ``x`` (rows: series, columns: time steps in order).

    Parameters
    ----------
    x : array-like of shape (n_series, n_steps) or (n_steps,)
        Finite values; ties are allowed (and corrected for).

    Returns
    -------
    pandas.DataFrame
        ``S``, ``var_S``, ``z``, ``tau`` and ``p`` (two-sided) per series.

    Raises
    ------
    ValueError
        For non-finite values or fewer than 2 time steps.

    Examples
    --------
    >>> mann_kendall([1.0, 2.0, 2.0, 4.0, 5.0]).round(4).values.tolist()
    [[9.0, 15.6667, 2.0212, 0.9, 0.0433]]
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] < 2:
        msg = f"`x` must have at least 2 time steps per series, got shape {a.shape}"
        raise ValueError(msg)
    if not np.all(np.isfinite(a)):
        msg = "`x` must be finite (no NaN or infinity)"
        raise ValueError(msg)
    n = a.shape[1]
    S = np.zeros(len(a))
    for k in range(1, n):  # all pairs (i, i + k)
        S += np.sign(a[:, k:] - a[:, :-k]).sum(axis=1)
    # ties: c_i = number of j with x_j == x_i; sum_i c_i = sum_g t^2, sum_i c_i^2 = sum_g t^3
    c = np.zeros_like(a)
    for j in range(n):
        c += a == a[:, j : j + 1]
    t2, t3 = c.sum(axis=1), (c * c).sum(axis=1)
    ties = 2.0 * t3 + 3.0 * t2 - 5.0 * n  # sum_g t (t - 1) (2t + 5)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(S > 0, (S - 1) / np.sqrt(var), np.where(S < 0, (S + 1) / np.sqrt(var), 0.0))
    z = np.where(np.isfinite(z), z, 0.0)
    p = 2 * (1 - ndtr(np.abs(z)))  # scipy.stats.norm.cdf
    tau = S / (0.5 * n * (n - 1))
    return pd.DataFrame({"S": S, "var_S": var, "z": z, "tau": tau, "p": p})
