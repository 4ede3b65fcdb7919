"""Seeded generator of synthetic incidents along the embedded corridors.

The model (also in ``data/README.md``):

1. **Where.** A share ``cluster_share`` (default 0.6) of the incidents falls in isotropic Gaussian clusters
   around documented hotspots of violence against migrants along the corridors (:data:`HOTSPOTS`): the hotspot
   is chosen with probability proportional to its ``weight`` and the offset drawn from N(0, ``sigma_km``) in
   each axis of EPSG:6372. The rest is background: a corridor chosen with probability proportional to its
   length, a position uniform along it, and a perpendicular offset from N(0, ``background_sigma_km``).
2. **What.** ``category`` from :data:`CATEGORY_MIX`; ``perpetrator`` from :data:`PERPETRATOR_MIX` given the
   category; ``victims`` from a geometric distribution on 1, 2, ... with ``p=0.6`` (mean 1.67).
3. **When.** A day uniform in 2019-01-01 .. 2021-12-31; 75 % of records have ``date_precision="day"``, the
   others ``"month"`` with the date moved to the first of the month.
4. **How precise.** ``location_precision`` is ``exact`` / ``locality`` / ``municipality`` with probabilities
   0.5 / 0.35 / 0.15 (the coordinates are the generated point whatever the stated precision).
5. Every record has ``source="synthetic"``, an empty ``source_url``, ``synthetic=True`` and a note naming the
   generator; ``severity`` follows :func:`routerisk.schema.compute_severity`.

Everything is drawn with one ``numpy.random.default_rng(seed)`` in a fixed order, so the same seed gives the
same table. The records describe no real event.
"""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ._errors import InputError
from ._paths import data_dir
from ._sinks import write_csv
from .corridors import load_corridors
from .crs import MEXICO_CRS
from .gazetteer import resolve_localities
from .schema import INCIDENT_COLUMNS, WGS84, compute_severity

__all__ = ["CATEGORY_MIX", "HOTSPOTS", "PERPETRATOR_MIX", "read_table", "synthetic_incidents", "to_table"]

#: Hotspots: (locality, state, weight, sigma_km). Places repeatedly named in reports on crimes against migrants.
HOTSPOTS: tuple[tuple[str, str, float, float], ...] = (
    ("Tapachula", "Chiapas", 0.9, 10.0),
    ("Ixtepec", "Oaxaca", 1.0, 12.0),
    ("Juchitán", "Oaxaca", 0.6, 10.0),
    ("Coatzacoalcos", "Veracruz", 1.0, 12.0),
    ("Tenosique", "Tabasco", 1.0, 12.0),
    ("Palenque", "Chiapas", 0.5, 10.0),
    ("Tierra Blanca", "Veracruz", 0.8, 12.0),
    ("Orizaba", "Veracruz", 0.6, 10.0),
    ("Lechería", "México", 0.8, 8.0),
    ("Celaya", "Guanajuato", 0.7, 10.0),
    ("San Luis Potosí", "San Luis Potosí", 0.6, 10.0),
    ("Reynosa", "Tamaulipas", 1.0, 12.0),
    ("Matamoros", "Tamaulipas", 0.7, 10.0),
    ("San Fernando", "Tamaulipas", 0.6, 15.0),
    ("Nuevo Laredo", "Tamaulipas", 0.9, 12.0),
    ("Altar", "Sonora", 0.7, 20.0),
    ("Ciudad Juárez", "Chihuahua", 0.5, 10.0),
    ("Tijuana", "Baja California", 0.5, 10.0),
)

#: Probability of each category (sums to 1).
CATEGORY_MIX: dict[str, float] = {
    "robbery": 0.20,
    "extortion": 0.18,
    "assault": 0.14,
    "kidnapping": 0.10,
    "homicide": 0.08,
    "disappearance": 0.07,
    "enforcement_abuse": 0.07,
    "sexual_violence": 0.06,
    "trafficking": 0.03,
    "accident": 0.03,
    "torture": 0.02,
    "exposure": 0.01,
    "drowning": 0.01,
}

_ORGANISED = {"organized_crime": 0.70, "common_crime": 0.10, "state_security": 0.05, "unknown": 0.15}
_COMMON = {"common_crime": 0.55, "organized_crime": 0.20, "state_security": 0.05, "unknown": 0.20}
#: Probability of each perpetrator given the category (each row sums to 1).
PERPETRATOR_MIX: dict[str, dict[str, float]] = {
    "homicide": _ORGANISED,
    "disappearance": _ORGANISED,
    "kidnapping": _ORGANISED,
    "torture": _ORGANISED,
    "trafficking": _ORGANISED,
    "extortion": {
        "organized_crime": 0.45,
        "common_crime": 0.25,
        "state_security": 0.15,
        "migration_authority": 0.05,
        "unknown": 0.10,
    },
    "robbery": _COMMON,
    "assault": _COMMON,
    "sexual_violence": _COMMON,
    "enforcement_abuse": {"migration_authority": 0.5, "state_security": 0.5},
    "accident": {"unknown": 1.0},
    "exposure": {"unknown": 1.0},
    "drowning": {"unknown": 1.0},
}

_PRECISIONS = (("exact", 0.5), ("locality", 0.35), ("municipality", 0.15))
_START, _END = np.datetime64("2019-01-01"), np.datetime64("2021-12-31")


def _choice(rng: np.random.Generator, labels: list[str], probs: list[float], n: int) -> np.ndarray:
    """``n`` draws of ``labels`` with ``probs`` (inverse CDF on one uniform each)."""
    cdf = np.cumsum(probs)
    cdf /= cdf[-1]
    idx = np.searchsorted(cdf, rng.random(n), side="right")
    return np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)]


def synthetic_incidents(
    n: int = 1500,
    seed: int = 2021,
    *,
    cluster_share: float = 0.6,
    background_sigma_km: float = 3.0,
) -> gpd.GeoDataFrame:
    """Synthetic incidents near the corridors, from the documented model of :mod:`routerisk.synthetic`.

    Parameters
    ----------
    n : int, default 1500
        Number of incidents.
    seed : int, default 2021
        Seed of ``numpy.random.default_rng``; the same seed gives an identical table.
    cluster_share : float, default 0.6
        Share of incidents in the hotspot clusters; the rest is background along the corridors.
    background_sigma_km : float, default 3.0
        Standard deviation of the perpendicular offset of background incidents from their corridor.

    Returns
    -------
    geopandas.GeoDataFrame
        The canonical incidents layer (:data:`routerisk.schema.INCIDENT_COLUMNS`), Points in EPSG:4326
        rounded to 5 decimals, sorted by date; every row ``synthetic=True``.

    Examples
    --------
    >>> inc = synthetic_incidents(200, seed=1)
    >>> len(inc), bool(inc["synthetic"].all())
    (200, True)
    >>> inc.equals(synthetic_incidents(200, seed=1))
    True
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        msg = f"`n` was {n!r} but must be a positive integer"
        raise InputError(msg)
    if not 0.0 <= cluster_share <= 1.0:
        msg = f"`cluster_share` was {cluster_share!r} but must be between 0 and 1"
        raise InputError(msg)
    rng = np.random.default_rng(seed)
    n = int(n)
    n_cluster = round(n * cluster_share)
    n_back = n - n_cluster

    # -- clusters around hotspots (EPSG:6372)
    hs = resolve_localities([h[0] for h in HOTSPOTS], [h[1] for h in HOTSPOTS])
    hxy = shapely.get_coordinates(
        gpd.GeoSeries(gpd.points_from_xy(hs["lon"], hs["lat"]), crs=WGS84).to_crs(MEXICO_CRS).to_numpy()
    )
    weights = np.array([h[2] for h in HOTSPOTS])
    sigma = np.array([h[3] for h in HOTSPOTS]) * 1000.0
    which = np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(n_cluster), side="right")
    which = np.minimum(which, len(HOTSPOTS) - 1)
    cxy = hxy[which] + rng.standard_normal((n_cluster, 2)) * sigma[which, None]
    c_note = np.array([f"cluster near {h[0]}" for h in HOTSPOTS], dtype=object)[which]

    bxy, b_note = _background(rng, n_back, background_sigma_km)  # along the corridors (draws after the clusters)

    xy = np.vstack([cxy, bxy])
    notes = np.concatenate([c_note, b_note])
    lonlat = shapely.get_coordinates(gpd.GeoSeries(shapely.points(xy), crs=MEXICO_CRS).to_crs(WGS84).to_numpy())
    lonlat = np.round(lonlat, 5)

    # -- attributes
    category = _choice(rng, list(CATEGORY_MIX), list(CATEGORY_MIX.values()), n)
    perpetrator = np.empty(n, dtype=object)
    u = rng.random(n)
    for cat, mix in PERPETRATOR_MIX.items():
        sel = category == cat
        cdf = np.cumsum(list(mix.values()))
        idx = np.minimum(np.searchsorted(cdf / cdf[-1], u[sel], side="right"), len(mix) - 1)
        perpetrator[sel] = np.asarray(list(mix), dtype=object)[idx]
    victims = rng.geometric(0.6, n).astype("int64")
    n_days = int((_END - _START).astype(int)) + 1
    day = _START + rng.integers(0, n_days, n).astype("timedelta64[D]")
    monthly = rng.random(n) >= 0.75
    date = np.where(monthly, day.astype("datetime64[M]").astype("datetime64[D]"), day)
    precision = _choice(rng, [p for p, _ in _PRECISIONS], [q for _, q in _PRECISIONS], n)

    order = np.lexsort((np.arange(n), date))
    df = pd.DataFrame(
        {
            "incident_id": np.array([f"SYN-{i:05d}" for i in range(1, n + 1)], dtype=object),
            "date": pd.to_datetime(date[order]).astype("datetime64[ns]"),
            "date_precision": np.where(monthly, "month", "day").astype(object)[order],
            "category": category[order],
            "perpetrator": perpetrator[order],
            "victims": victims[order],
            "severity": compute_severity(category[order], victims[order]).astype("float64"),
            "location_precision": precision[order],
            "source": np.full(n, "synthetic", dtype=object),
            "source_url": np.full(n, "", dtype=object),
            "notes": ("Synthetic record generated by routerisk (seed " + str(seed) + "), " + notes[order]).astype(
                object
            ),
            "synthetic": np.ones(n, dtype=bool),
        }
    )
    for col in _TEXT_COLUMNS:
        df[col] = df[col].astype(object)
    return gpd.GeoDataFrame(df[list(INCIDENT_COLUMNS)], geometry=shapely.points(lonlat[order]), crs=WGS84)


def _background(rng: np.random.Generator, n_back: int, background_sigma_km: float) -> tuple[np.ndarray, np.ndarray]:
    """Background incidents (EPSG:6372): a corridor by length, a uniform position along it, a normal offset."""
    corridors = load_corridors().to_crs(MEXICO_CRS)
    lines = corridors.geometry.to_numpy()
    lengths = shapely.length(lines)
    pick = np.searchsorted(np.cumsum(lengths) / lengths.sum(), rng.random(n_back), side="right")
    pick = np.minimum(pick, len(lines) - 1)
    along = rng.random(n_back) * lengths[pick]
    offset = rng.standard_normal(n_back) * background_sigma_km * 1000.0
    p0 = shapely.get_coordinates(shapely.line_interpolate_point(lines[pick], np.maximum(along - 50.0, 0.0)))
    p1 = shapely.get_coordinates(shapely.line_interpolate_point(lines[pick], np.minimum(along + 50.0, lengths[pick])))
    mid = shapely.get_coordinates(shapely.line_interpolate_point(lines[pick], along))
    tangent = p1 - p0
    tangent /= np.hypot(tangent[:, 0], tangent[:, 1])[:, None]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    bxy = mid + normal * offset[:, None]
    b_note = ("along corridor " + corridors["route_id"].to_numpy(dtype=object)[pick]).astype(object)
    return bxy, b_note


_TEXT_COLUMNS = (
    "incident_id",
    "date_precision",
    "category",
    "perpetrator",
    "location_precision",
    "source",
    "source_url",
    "notes",
)


def to_table(incidents: gpd.GeoDataFrame) -> pd.DataFrame:
    """The incidents as a plain table: canonical columns plus ``lon`` and ``lat``, dates as ``YYYY-MM-DD``.

    Examples
    --------
    >>> to_table(synthetic_incidents(3, seed=0)).columns[-2:].tolist()
    ['lon', 'lat']
    """
    out = pd.DataFrame(incidents[list(INCIDENT_COLUMNS)]).copy()
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    out["lon"] = incidents.geometry.x.to_numpy()
    out["lat"] = incidents.geometry.y.to_numpy()
    return out


def read_table(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """Read a table written by :func:`to_table` back into the canonical incidents layer (dtype-exact).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "inc.csv"
    >>> inc = synthetic_incidents(5, seed=0)
    >>> to_table(inc).to_csv(p, index=False)
    >>> read_table(p).equals(inc)
    True
    """
    dtypes = dict.fromkeys(_TEXT_COLUMNS, str) | {"victims": "int64", "severity": "float64", "lon": "float64",
                                                  "lat": "float64", "synthetic": str, "date": str}  # fmt: skip
    table = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values={"lon": [""], "lat": [""]},
                        encoding="utf-8")  # fmt: skip
    missing = [c for c in (*INCIDENT_COLUMNS, "lon", "lat") if c not in table.columns]
    if missing:
        msg = f"incidents table {str(path)!r} lacks columns {missing}"
        raise InputError(msg, path=str(path))
    df = table[list(INCIDENT_COLUMNS)].copy()
    df["date"] = pd.to_datetime(table["date"].replace("", None), format="%Y-%m-%d").astype("datetime64[ns]")
    df["synthetic"] = table["synthetic"].str.lower().isin(["true", "1"]).to_numpy(dtype=bool)
    for col in _TEXT_COLUMNS:
        df[col] = df[col].astype(object)
    geometry = shapely.points(table[["lon", "lat"]].to_numpy())
    return gpd.GeoDataFrame(df, geometry=geometry, crs=WGS84)


def main() -> None:  # pragma: no cover - dev-time regeneration of the committed file
    """Regenerate ``data/incidents_synthetic.csv`` (``python -m routerisk.synthetic``)."""
    path = data_dir() / "incidents_synthetic.csv"
    write_csv(to_table(synthetic_incidents()), path, lineterminator="\n")
    print(f"wrote {path}")


if __name__ == "__main__":  # pragma: no cover
    main()
