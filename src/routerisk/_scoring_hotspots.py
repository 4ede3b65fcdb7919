"""The hot-spot step of the scoring: attribute records to segments and test network neighbourhoods.

See :func:`routerisk.stats.segment_hotspots` and ``docs/hotspots.md`` for the test.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._errors import InputError
from .model import RiskModel
from .stats import attribute_incidents, network_neighbourhood, segment_adjacency, segment_hotspots

__all__: list[str] = []


def score_hotspots(seg_geoms, seg_len, segments, pts, reach, model: RiskModel, pieces=None) -> pd.DataFrame:
    """Attribute the placed records to their nearest segment in reach and test the network neighbourhoods.

    No adjacency is built when nothing can be tested (fewer than two segments or no record attributed).
    ``pieces`` is ``segment_pieces(seg_geoms)`` when the caller has it.
    """
    nseg = len(seg_geoms)
    share = check_flow(segments, seg_len)
    counts = np.zeros(nseg, dtype=np.int64)
    if nseg and len(pts):  # the compiled attribution holds no shapely Point: memory O(records)
        seg = attribute_incidents(seg_geoms, pts, reach, pieces=pieces)
        counts += np.bincount(seg[seg >= 0], minlength=nseg)
    if nseg < 2 or counts.sum() == 0 or share.sum() <= 0:
        out = pd.DataFrame(not_tested(nseg))
    else:
        A = segment_adjacency(seg_geoms, snap_m=model.junction_snap_m, pieces=pieces)
        out = segment_hotspots(counts, share, network_neighbourhood(A, model.neighbour_steps))
    out.attrs["n_attributed"] = int(counts.sum())
    return out


def not_tested(nseg: int) -> dict[str, np.ndarray]:
    """The hot-spot columns of segments that are not tested: ``"not tested"``, NaN p-value, NaN ``gi_z``."""
    return {"hotspot": np.full(nseg, "not tested", dtype=object), "p_value": np.full(nseg, np.nan),
            "gi_z": np.full(nseg, np.nan)}  # fmt: skip


def check_flow(segments, seg_len: np.ndarray) -> np.ndarray:
    """Null share of each segment for the hot-spot test: the ``flow`` column when present, else the length.

    Raises :class:`routerisk.InputError` for a ``flow`` that is negative or not a number on some segment.
    """
    if "flow" not in segments:
        return np.where(np.isfinite(seg_len), seg_len, 0.0)
    flow = pd.to_numeric(segments["flow"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(flow) | (flow < 0)
    if bad.any():
        first = segments.index[np.flatnonzero(bad)[0]]
        msg = (
            f"segments: column `flow` must be a number >= 0 on every segment; {int(bad.sum())} are not "
            f"(first: {first!r})"
        )
        raise InputError(msg)
    return flow
