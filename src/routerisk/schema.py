"""The canonical layers: column names, allowed values and their meaning.

These names are the public contract between readers, the scoring engine, the maps and the outputs.
Readers map every foreign schema into these columns; everything downstream relies only on them.
"""

from __future__ import annotations

__all__ = [
    "AGENCIES",
    "CATEGORIES",
    "DATE_PRECISIONS",
    "DEFAULT_CATEGORY_WEIGHTS",
    "INCIDENT_COLUMNS",
    "LOCATION_PRECISIONS",
    "LOCATION_SIGMA_M",
    "MODES",
    "PERPETRATORS",
    "ROUTE_COLUMNS",
    "SEGMENT_COLUMNS",
    "SHELTER_COLUMNS",
    "VICTIMS_FACTORS",
    "WGS84",
    "ZONE_COLUMNS",
    "ZONE_KINDS",
    "compute_severity",
    "victims_factor",
]

#: Geographic CRS of every input and published output.
WGS84 = "EPSG:4326"

CATEGORIES = (
    "homicide",
    "disappearance",
    "kidnapping",
    "sexual_violence",
    "torture",
    "trafficking",
    "assault",
    "extortion",
    "robbery",
    "enforcement_abuse",
    "accident",
    "exposure",
    "drowning",
    "sickness",
    "other",
)
PERPETRATORS = ("organized_crime", "state_security", "migration_authority", "common_crime", "unknown")
DATE_PRECISIONS = ("day", "month", "year", "unknown")
LOCATION_PRECISIONS = ("exact", "locality", "municipality", "state", "unknown")

#: Positional uncertainty (1-sigma, metres) added in quadrature to the bandwidth, by location precision.
#: ``None`` means the record is not placed on segments (it counts in state summaries only).
LOCATION_SIGMA_M: dict[str, float | None] = {
    "exact": 0.0,
    "locality": 5_000.0,
    "municipality": 15_000.0,
    "unknown": 15_000.0,
    "state": None,
}

AGENCIES = ("guardia_nacional", "army", "navy", "migration_authority", "state_police", "other")
ZONE_KINDS = ("deployment", "checkpoint", "detention", "patrol")
MODES = ("rail", "road", "foot", "river", "mixed")

INCIDENT_COLUMNS = (
    "incident_id",
    "date",
    "date_precision",
    "category",
    "perpetrator",
    "victims",
    "severity",
    "location_precision",
    "source",
    "source_url",
    "notes",
    "synthetic",
)
ZONE_COLUMNS = ("zone_id", "name", "agency", "kind", "start_date", "end_date", "intensity", "illustrative")
ROUTE_COLUMNS = ("route_id", "name", "mode", "illustrative")
SEGMENT_COLUMNS = ("segment_id", "route_id", "seq", "start_m", "end_m", "length_m")
SHELTER_COLUMNS = ("shelter_id", "name", "kind", "locality", "state", "sensitive", "illustrative")

#: Default severity weight of one victim, by category (1 = a homicide). Configurable in the model.
#: Deaths from accidents, exposure, drowning and sickness (including lack of access to medicines) weigh 0.6: they
#: are deaths, though not inflicted.
DEFAULT_CATEGORY_WEIGHTS: dict[str, float] = {
    "homicide": 1.0,
    "disappearance": 0.9,
    "kidnapping": 0.8,
    "sexual_violence": 0.8,
    "torture": 0.8,
    "trafficking": 0.7,
    "assault": 0.5,
    "extortion": 0.4,
    "robbery": 0.3,
    "enforcement_abuse": 0.5,
    "accident": 0.6,
    "exposure": 0.6,
    "drowning": 0.6,
    "sickness": 0.6,
    "other": 0.3,
}
VICTIMS_FACTORS = ("log", "linear", "none")


def victims_factor(victims, how: str = "log"):
    """Multiplier of an incident's weight for its number of victims.

    Parameters
    ----------
    victims : array-like of int
        Victims per incident (>= 1).
    how : {"log", "linear", "none"}
        ``1 + ln(victims)``, ``victims`` or ``1``.

    Returns
    -------
    numpy.ndarray of float

    Examples
    --------
    >>> victims_factor([1, 2], "linear").tolist()
    [1.0, 2.0]
    """
    import numpy as np  # lazy: schema imports nothing at start-up (read by the CLI's option checks)

    v = np.maximum(np.asarray(victims, dtype="float64"), 1.0)
    if how == "log":
        return 1.0 + np.log(v)
    if how == "linear":
        return v
    if how == "none":
        return np.ones_like(v)
    msg = f"`victims_factor` was {how!r} but must be one of {VICTIMS_FACTORS}"
    raise ValueError(msg)


def compute_severity(category, victims, *, category_weights=None, how: str = "log"):
    """Severity ``w_i = category_weight[category] * victims_factor(victims)`` of each incident.

    Parameters
    ----------
    category : array-like of str
        Canonical categories; an unknown one weighs as ``"other"``.
    victims : array-like of int
        Victims per incident.
    category_weights : dict, optional
        Weight per category; defaults to :data:`DEFAULT_CATEGORY_WEIGHTS`.
    how : {"log", "linear", "none"}
        See :func:`victims_factor`.

    Returns
    -------
    numpy.ndarray of float

    Examples
    --------
    >>> compute_severity(["homicide", "robbery"], [1, 1]).tolist()
    [1.0, 0.3]
    """
    import numpy as np  # lazy: as above (numpy + pandas cost ~0.3 s)
    import pandas as pd

    weights = {**DEFAULT_CATEGORY_WEIGHTS, **(category_weights or {})}
    cat = pd.Series(np.asarray(category, dtype=object))
    w = cat.map(weights).fillna(weights["other"]).to_numpy(dtype="float64")
    return w * victims_factor(victims, how)
