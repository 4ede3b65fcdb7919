"""Emerging hot spots on routes: ArcGIS Pro's 17 pattern categories for line segments.

Per segment, from a :class:`routerisk.spacetime.SpaceTimeCube`:

- each period is **hot** (cold) when the exact binomial test of the segment's network neighbourhood in that
  period is significant at ``alpha`` after Benjamini-Hochberg over the segments of the period (adjusted
  ``p <= alpha``) with more (fewer) records than expected;
- the **trend** is the Mann-Kendall test (:func:`routerisk.mannkendall.mann_kendall`, tie-corrected) of the
  per-period binomial z of the neighbourhood count (``(observed - expected) / sqrt(expected (1 - P))``, 0 where
  the period has no record); Benjamini-Hochberg over the segments gives ``trend_p_adjusted``, significant at
  ``alpha``;
- the **pattern** follows the definitions of ArcGIS Pro's Emerging Hot Spot Analysis ("How Emerging Hot Spot
  Analysis works", pro.arcgis.com, tool-reference/space-time-pattern-mining/learnmoreemerging.htm); the rules and
  the order in which overlapping definitions are resolved are in :func:`classify_patterns` and ``docs/time.md``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._errors import ConfigError
from .mannkendall import mann_kendall
from .stats import bh_adjust

__all__ = [
    "MIN_PERIODS",
    "PATTERNS",
    "classify_patterns",
    "cube_table",
    "emerging_hotspots",
    "hot_cold_states",
    "suppress_trends",
    "trend_table",
]

#: The 17 categories, hot then cold, then "no pattern detected".
_KINDS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating", "historical")
PATTERNS = (*(f"{k} {side} spot" for side in ("hot", "cold") for k in _KINDS), "no pattern detected")
#: Fewest periods a trend is computed from (ArcGIS recommends at least 10).
MIN_PERIODS = 3


def hot_cold_states(p_adjusted, direction, alpha: float = 0.10) -> np.ndarray:
    """+1 (hot), -1 (cold) or 0 per cell: adjusted p-value ``<= alpha`` and the sign of ``direction``.

    Examples
    --------
    >>> hot_cold_states([[0.01, 0.5, 0.02, np.nan]], [[2.0, 3.0, -1.0, 0.0]]).tolist()
    [[1, 0, -1, 0]]
    """
    p = np.asarray(p_adjusted, dtype=np.float64)
    d = np.asarray(direction, dtype=np.float64)
    sig = np.isfinite(p) & (p <= alpha)
    return np.where(sig & (d > 0), 1, np.where(sig & (d < 0), -1, 0)).astype(np.int8)


def _trailing(hit: np.ndarray) -> np.ndarray:
    """Length of the run of True at the end of each row."""
    rev = hit[:, ::-1]
    first_false = np.where((~rev).any(axis=1), np.argmax(~rev, axis=1), hit.shape[1])
    return first_false


def _side_final(state, sign, up, down, labels) -> None:
    """Patterns whose final period is significant on this side (hot: sign 1, cold: sign -1)."""
    word = "hot" if sign > 0 else "cold"
    n = state.shape[1]
    hit, other = state == sign, state == -sign
    k = hit.sum(axis=1)
    ninety = 10 * k >= 9 * n
    final = hit[:, -1]
    run = _trailing(hit)
    trend_none = ~(up | down)
    rules = [
        (ninety & final & up, "intensifying"),
        (ninety & final & down, "diminishing"),
        (ninety & final & trend_none, "persistent"),
        (~ninety & final & (k == 1), "new"),
        (~ninety & final & (k >= 2) & (run == k), "consecutive"),
        (~ninety & final & (run < k) & other.any(axis=1), "oscillating"),
        (~ninety & final & (run < k) & ~other.any(axis=1), "sporadic"),
    ]
    for mask, kind in rules:
        labels[mask & (labels == "")] = f"{kind} {word} spot"


def classify_patterns(state, trend_tau, trend_significant) -> np.ndarray:
    """The ArcGIS Pro emerging hot-spot pattern of each row of a (segments x periods) hot/cold state matrix.

    With ``n`` periods, "90 %" means at least ``0.9 n`` periods (all 8 of 8, 54 of 60). For hot spots (cold
    spots: the same with hot and cold swapped and the trend's sign reversed, a cold spot intensifying when the
    statistic decreases):

    - **new**: hot in the final period and never before;
    - **consecutive**: a single uninterrupted run of at least two hot periods ending with the final one, never hot
      before the run, hot in fewer than 90 % of the periods;
    - **intensifying**: hot in at least 90 % of the periods including the final one, significant upward trend;
    - **persistent**: hot in at least 90 % of the periods including the final one, no significant trend;
    - **diminishing**: hot in at least 90 % of the periods including the final one, significant downward trend;
    - **sporadic**: hot in the final period, on-and-off hot before, fewer than 90 % hot, never cold;
    - **oscillating**: hot in the final period, cold in some earlier period, fewer than 90 % hot;
    - **historical**: not hot in the final period, hot in at least 90 % of the periods;
    - otherwise **no pattern detected**.

    Where ArcGIS's definitions overlap, the rule listed first wins: a location hot only in the final period after
    earlier cold periods is "new" (not "oscillating"); the patterns of the final period's side come before
    "historical" (90 % hot and cold in the final period is "new cold spot"); a 90 %-hot location not hot in the
    final period is "historical" (ArcGIS's "persistent" does not mention the final period).

    Parameters
    ----------
    state : array-like of int, shape (n_segments, n_periods)
        +1 hot, -1 cold, 0 neither (see :func:`hot_cold_states`).
    trend_tau : array-like of float, shape (n_segments,)
        Sign of the trend of the statistic (Kendall's tau).
    trend_significant : array-like of bool, shape (n_segments,)

    Returns
    -------
    numpy.ndarray of str (one of :data:`PATTERNS`)

    Examples
    --------
    >>> classify_patterns([[0, 0, 0, 1], [0, 0, 1, 1], [1, 0, 1, 1], [-1, -1, -1, 0]], [0, 0, 0, 0],
    ...                   [False] * 4).tolist()
    ['new hot spot', 'consecutive hot spot', 'sporadic hot spot', 'no pattern detected']
    """
    s = np.asarray(state, dtype=np.int8)
    if s.ndim != 2:
        msg = f"`state` must be 2-D (segments x periods), got shape {s.shape}"
        raise ValueError(msg)
    tau = np.asarray(trend_tau, dtype=np.float64)
    sig = np.asarray(trend_significant, dtype=bool)
    labels = np.full(len(s), "", dtype=object)
    if s.shape[1] == 0:
        return np.full(len(s), "no pattern detected", dtype=object)
    for sign in (1, -1):
        _side_final(s, sign, sig & (sign * tau > 0), sig & (sign * tau < 0), labels)
    n = s.shape[1]
    for sign, word in ((1, "hot"), (-1, "cold")):
        hist = (10 * (s == sign).sum(axis=1) >= 9 * n) & (s[:, -1] != sign)
        labels[hist & (labels == "")] = f"historical {word} spot"
    labels[labels == ""] = "no pattern detected"
    return labels


def trend_table(cube, *, alpha: float = 0.10) -> pd.DataFrame:
    """Pattern and Mann-Kendall trend of every segment of a :class:`routerisk.spacetime.SpaceTimeCube`.

    Returns ``segment_id``, ``pattern``, ``trend_S``, ``trend_tau``, ``trend_z``, ``trend_p``,
    ``trend_p_adjusted`` (BH over the segments), ``n_hot``, ``n_cold``, then per period ``count_<period>``
    (records attributed to the segment) and ``z_<period>`` (the statistic of the trend).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cube = SimpleNamespace(periods=["2020Q1", "2020Q2", "2020Q3"], segment_ids=np.array(["a"]),
    ...                        z=np.array([[0.0, 1.0, 4.0]]), p_value=np.array([[0.9, 0.5, 0.01]]),
    ...                        count=np.array([[0, 1, 6]]))
    >>> trend_table(cube)[["segment_id", "pattern", "trend_tau"]].values.tolist()
    [['a', 'new hot spot', 1.0]]
    """
    if not 0 < alpha < 1:
        msg = f"`alpha` was {alpha!r} but must be between 0 and 1"
        raise ConfigError(msg)
    z = np.nan_to_num(np.asarray(cube.z, dtype=np.float64), nan=0.0)
    nper = z.shape[1]
    if nper < MIN_PERIODS:
        msg = f"a trend needs at least {MIN_PERIODS} periods; the data span {nper}: choose a shorter --period"
        raise ConfigError(msg)
    mk = mann_kendall(z)
    q = bh_adjust(mk["p"].to_numpy())
    state = hot_cold_states(cube.p_value, z, alpha)
    pattern = classify_patterns(state, mk["tau"].to_numpy(), q <= alpha)
    out = pd.DataFrame({
        "segment_id": cube.segment_ids, "pattern": pattern, "trend_S": mk["S"].to_numpy(),
        "trend_tau": mk["tau"].to_numpy(), "trend_z": mk["z"].to_numpy(), "trend_p": mk["p"].to_numpy(),
        "trend_p_adjusted": q, "n_hot": (state == 1).sum(axis=1), "n_cold": (state == -1).sum(axis=1),
    })  # fmt: skip
    per = {f"count_{p}": np.asarray(cube.count)[:, t] for t, p in enumerate(cube.periods)}
    per.update({f"z_{p}": z[:, t] for t, p in enumerate(cube.periods)})
    return pd.concat([out, pd.DataFrame(per)], axis=1)


def emerging_hotspots(
    segments,
    incidents,
    *,
    period: str = "quarter",
    model=None,
    alpha: float = 0.10,
    privacy: str = "internal",
    min_count: int = 5,
    backend: str = "auto",
    return_cube: bool = False,
):
    """Emerging hot spots on route segments: space-time cube, Mann-Kendall trend and ArcGIS Pro's patterns.

    Builds the cube (:func:`routerisk.spacetime.spacetime_exposure`, time decay off) and classifies every segment
    (:func:`trend_table`). In public mode the records are expected already masked (the CLI masks them); cells of a
    period supported by fewer than ``min_count`` records in reach are nulled (``count_<p>``, ``z_<p>``), and the
    pattern and trend of a segment with fewer than ``min_count`` records in reach over all periods are nulled.

    Parameters
    ----------
    segments : geopandas.GeoDataFrame
    incidents : geopandas.GeoDataFrame or pandas.DataFrame
        Dated incidents.
    period : {"month", "quarter", "year"}
    model : RiskModel, optional
    alpha : float, default 0.10
        Level of the per-period hot/cold test (BH-adjusted, ArcGIS uses 90 % confidence) and of the trend.
    privacy : {"internal", "public"}
    min_count : int, default 5
    backend : {"auto", "numba", "numpy"}
    return_cube : bool, default False
        Also return the :class:`routerisk.spacetime.SpaceTimeCube` (per-period exposure, intervals, counts,
        tests; not suppressed: see :func:`cube_table`).

    Returns
    -------
    pandas.DataFrame, or (pandas.DataFrame, SpaceTimeCube) with ``return_cube``
        As :func:`trend_table`; ``attrs["routerisk"]`` holds the cube's constants.

    Examples
    --------
    >>> import routerisk
    >>> segs = routerisk.segmentize(routerisk.load_corridors(), segment_length_m=10000)
    >>> out = emerging_hotspots(segs, routerisk.load_incidents(), period="quarter")
    >>> len(out) == len(segs), set(out["pattern"]) <= set(PATTERNS)
    (True, True)
    """
    from .privacy import check_privacy
    from .spacetime import spacetime_exposure

    check_privacy(privacy, min_count)
    cube = spacetime_exposure(segments, incidents, period=period, model=model, backend=backend)
    out = trend_table(cube, alpha=alpha)
    if privacy == "public":
        out = suppress_trends(out, cube, min_count)
    out.attrs["routerisk"] = {**cube.attrs, "alpha": alpha, "statistic": "binomial z of the neighbourhood count"}
    return (out, cube) if return_cube else out


def cube_table(cube, *, privacy: str = "internal", min_count: int = 5) -> pd.DataFrame:
    """The cube as one row per segment and period (:meth:`SpaceTimeCube.long`); in public mode every number of a
    cell with fewer than ``min_count`` records in reach is nulled and its label is "suppressed".

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cube = SimpleNamespace(n_in_reach=np.array([[1, 6]]), long=lambda: pd.DataFrame(
    ...     {"segment_id": ["a", "a"], "period": ["p1", "p2"], "exposure": [0.2, 3.0], "n_in_reach": [1, 6],
    ...      "hotspot": ["not significant", "hot 90%"]}))
    >>> cube_table(cube, privacy="public")[["exposure", "hotspot"]].values.tolist()
    [[nan, 'suppressed'], [3.0, 'hot 90%']]
    """
    long = cube.long()
    if privacy != "public":
        return long
    few = np.asarray(cube.n_in_reach).reshape(-1) < min_count
    for name in long.columns:
        if name in ("segment_id", "period"):
            continue
        if name == "hotspot":
            long[name] = long[name].where(~few, "suppressed")
        else:
            long[name] = long[name].astype("float64").where(~few)
    return long


def suppress_trends(table: pd.DataFrame, cube, min_count: int) -> pd.DataFrame:
    """Public mode: null per-period cells with fewer than ``min_count`` records in reach, and the pattern and trend
    of segments with fewer than ``min_count`` in reach over all periods (no per-segment total is published).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> cube = SimpleNamespace(periods=["a", "b"], n_in_reach=np.array([[1, 6]]))
    >>> t = pd.DataFrame({"pattern": ["new hot spot"], "trend_p": [0.01], "count_a": [1], "count_b": [6],
    ...                   "z_a": [0.0], "z_b": [3.0]})
    >>> suppress_trends(t, cube, 5)[["count_a", "count_b"]].values.tolist()
    [[nan, 6.0]]
    """
    out = table.copy()
    reach = np.asarray(cube.n_in_reach)
    for t, p in enumerate(cube.periods):
        for name in (f"count_{p}", f"z_{p}"):
            if name in out:
                out[name] = out[name].astype("float64").where(reach[:, t] >= min_count)
    few = reach.sum(axis=1) < min_count
    for name in ("pattern", "trend_S", "trend_tau", "trend_z", "trend_p", "trend_p_adjusted", "n_hot", "n_cold"):
        if name in out:
            out[name] = out[name].astype(object if name == "pattern" else "float64").where(~few)
    out["suppressed"] = few
    return out
