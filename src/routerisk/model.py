"""The risk model: every parameter of the scoring in one validated, frozen dataclass.

A model is read from a ``[model]`` table in TOML (with an optional ``[model.category_weights]`` table), validated
once, and printed back with :meth:`RiskModel.to_toml` or :meth:`RiskModel.to_dict` (for the manifest). The formulas
that use each parameter are in :mod:`routerisk.scoring`; docs/model.md gives the model in words.

Kernel support (the *cutoff*)
-----------------------------
An incident with bandwidth ``h_i = sqrt(bandwidth_m**2 + sigma_i**2)`` (``sigma_i`` from
:data:`routerisk.schema.LOCATION_SIGMA_M`) reaches segments closer than ``cutoff_i = KERNEL_SUPPORT[kernel] * h_i``:
``h_i`` for the quartic, Epanechnikov, triweight and uniform kernels and ``3 * h_i`` for the truncated Gaussian
(the supports are read from :data:`routerisk.kernels.KERNEL_REGISTRY`). Beyond it the
kernel is exactly zero, which is what lets the engine skip far pairs without approximation.
:attr:`RiskModel.cutoff_m` gives the cutoff of an exactly located incident.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ._errors import ConfigError
from .kernels import kernel_names, registry_view
from .schema import CATEGORIES, DEFAULT_CATEGORY_WEIGHTS, VICTIMS_FACTORS

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 needs the tomli backport
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["CLASSIFIERS", "KERNELS", "KERNEL_SUPPORT", "REMOVED_KEYS", "RISK_LAYERS", "RiskModel"]

#: Kernels of the incident exposure, all unnormalised with ``K(0) = 1`` (the built-in entries of
#: :data:`routerisk.kernels.KERNEL_REGISTRY`; a kernel registered later is accepted too).
KERNELS = kernel_names()


#: Support of each kernel in bandwidths: ``K(d; h) = 0`` for ``d >= KERNEL_SUPPORT[kernel] * h``
#: (``d > h`` for the uniform kernel, which includes its boundary); a live view of the kernel registry.
KERNEL_SUPPORT: Mapping[str, float] = registry_view("support")
#: Classification schemes of ``risk_class``: fixed breaks 20/40/60/80 on the 0-100 scale (comparable between runs),
#: or the within-run bins of mapclassify's ``Quantiles`` and ``FisherJenks``; the one table of schemes, read by
#: :func:`routerisk.stats.classify` (``CLASS_SCHEMES`` there is this tuple).
CLASSIFIERS = ("fixed", "quantiles", "fisher_jenks")
#: Layers ``risk`` can show: the incident term alone, or the weighted composite with the enforcement term.
RISK_LAYERS = ("incident", "composite")
#: Keys of earlier versions that are no longer accepted, with the reason (a config using them fails loudly).
REMOVED_KEYS: dict[str, str] = {
    "bootstrap": (
        "`bootstrap` was removed: the intervals `incident_exposure_lo`/`_hi` (and `risk_lo`/`risk_hi`) are now "
        "analytic gamma intervals for a weighted Poisson sum (see docs/model.md); delete the key"
    ),
    "permutations": (
        "`permutations` was removed: hot spots now use an exact binomial test of attributed incident counts "
        "(see docs/hotspots.md), no permutations; delete the key"
    ),
    "neighbour_distance_m": (
        "`neighbour_distance_m` was removed: hot-spot neighbours now follow the network (segments within "
        "`junction_snap_m` of each other, `neighbour_steps` steps); did you mean `neighbour_steps` or "
        "`junction_snap_m`?"
    ),
}

def _frozen_weights(weights: Mapping[str, float] | None = None) -> Mapping[str, float]:
    return MappingProxyType({**DEFAULT_CATEGORY_WEIGHTS, **dict(weights or {})})


@dataclass(frozen=True)
class RiskModel:
    """Every parameter of the risk model, with documented defaults.

    Parameters
    ----------
    bandwidth_m : float, default 15000
        Kernel bandwidth ``h`` in metres for an exactly located incident (> 0).
    kernel : {"quartic", "gaussian", "epanechnikov", "uniform", "triweight"}, default "quartic"
        Shape of ``K(d; h)``, unnormalised with ``K(0) = 1``: quartic ``(1 - (d/h)^2)^2`` for ``d < h``; Gaussian
        ``exp(-d^2 / (2 h^2))`` for ``d < 3h``; Epanechnikov ``1 - (d/h)^2`` for ``d < h``; uniform ``1`` for
        ``d <= h``; triweight ``(1 - (d/h)^2)^3`` for ``d < h``; zero beyond (:mod:`routerisk.kernels`).
        ``incident_exposure`` therefore reads as a severity-weighted count.
    half_life_days : float, default 365
        Time decay ``D = 2 ** (-age_days / half_life_days)``; ``0`` switches decay off. Incidents without a date
        (NaT) are not decayed.
    reference_date : datetime.date, optional
        Date from which ages are counted; default: the latest incident date. Incidents after it have age 0.
    window_start, window_end : datetime.date, optional
        Only incidents dated inside ``[window_start, window_end]`` (inclusive) count, and only zones active at
        some time in that window. Undated incidents count only when no window is set.
    segment_length_m : float, default 5000
        Length of the route segments that are scored (> 0); also sets the Gi* neighbour band by default.
    crs : str, default "auto"
        Analysis CRS; ``"auto"`` picks EPSG:6372 inside Mexico (see :func:`routerisk.analysis_crs`).
    victims_factor : {"log", "linear", "none"}, default "log"
        Multiplier for the number of victims: ``1 + ln(v)``, ``v`` or ``1``.
    incident_weight, enforcement_weight : float, default 0.8 and 0.2
        Weights (>= 0, not both zero) of ``incident_risk`` and ``enforcement_risk`` in ``composite_risk``; they
        are divided by their sum, so ``composite_risk`` stays in [0, 100].
    risk_layer : {"incident", "composite"}, default "incident"
        Which layer the ``risk`` column (and the maps, classes and siting demand) shows.
    risk_reference : float, default 0.5
        ``r_ref`` of ``incident_risk = 100 r / (r + r_ref)``, in weighted records per effective year of
        observation (> 0): a segment at this rate scores 50.
    enforcement_reference : float, default 1.0
        ``z_ref`` of ``enforcement_risk = 100 Z / (Z + z_ref)`` in units of ``enforcement_exposure`` (> 0).
    classes : {"fixed", "quantiles", "fisher_jenks"}, default "fixed"
        Scheme of the five ``risk_class`` values: fixed breaks 20/40/60/80 (comparable between runs) or
        within-run quantiles / Fisher-Jenks natural breaks.
    neighbour_steps : int, default 1
        Hot-spot neighbourhood: a segment and the segments within this many adjacency steps (1 to 100).
    junction_snap_m : float, default 50
        Two segments are adjacent (for the hot-spot neighbourhood) when they lie within this distance (0 to
        10,000 m).
    seed : int, default 2021
        Seed of the model's random draws. Geomasking never uses it: the seed is published in every manifest
        (see docs/threat-model.md).
    category_weights : mapping of str to float
        Severity of one victim per category (>= 0); keys given override
        :data:`routerisk.schema.DEFAULT_CATEGORY_WEIGHTS`.

    Examples
    --------
    >>> m = RiskModel.from_dict({"bandwidth_m": 10000, "kernel": "gaussian"})
    >>> m.cutoff_m
    30000.0
    >>> RiskModel.from_toml_string(m.to_toml()) == m
    True
    """

    bandwidth_m: float = 15_000.0
    kernel: str = "quartic"
    half_life_days: float = 365.0
    reference_date: dt.date | None = None
    window_start: dt.date | None = None
    window_end: dt.date | None = None
    segment_length_m: float = 5_000.0
    crs: str = "auto"
    victims_factor: str = "log"
    incident_weight: float = 0.8
    enforcement_weight: float = 0.2
    risk_layer: str = "incident"
    risk_reference: float = 0.5
    enforcement_reference: float = 1.0
    classes: str = "fixed"
    neighbour_steps: int = 1
    junction_snap_m: float = 50.0
    seed: int = 2021
    category_weights: Mapping[str, float] = field(default_factory=_frozen_weights)

    def __new__(cls, *args: Any, **kwargs: Any) -> RiskModel:
        removed = [REMOVED_KEYS[k] for k in kwargs if k in REMOVED_KEYS]
        if removed:  # a clear ConfigError rather than "unexpected keyword argument"
            raise ConfigError("; ".join(removed))
        return super().__new__(cls)

    def __post_init__(self) -> None:
        problems: list[str] = []
        values: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            try:
                values[f.name] = _CHECKS[f.name](f.name, value)
            except ConfigError as exc:
                problems.append(str(exc))
        if not problems:
            ws, we = values["window_start"], values["window_end"]
            if ws is not None and we is not None and ws > we:
                problems.append(f"`window_start` ({ws}) is after `window_end` ({we})")
            if values["incident_weight"] + values["enforcement_weight"] <= 0:
                problems.append("`incident_weight` and `enforcement_weight` are both 0; at least one must be > 0")
        if problems:
            raise ConfigError("invalid risk model: " + "; ".join(problems))
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __hash__(self) -> int:
        return hash(tuple(json.dumps(v, sort_keys=True) for v in self.to_dict().values()))

    @property
    def cutoff_m(self) -> float:
        """Distance beyond which an exactly located incident contributes nothing (``KERNEL_SUPPORT * h``)."""
        return KERNEL_SUPPORT[self.kernel] * self.bandwidth_m


    # -- construction ------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RiskModel:
        """Build a model from a mapping of keys (as in the ``[model]`` table), rejecting unknown keys.

        Parameters
        ----------
        d : mapping
            Keys and values; missing keys take their defaults. ``category_weights`` may be partial.

        Returns
        -------
        RiskModel

        Examples
        --------
        >>> RiskModel.from_dict({"kernel": "uniform"}).kernel
        'uniform'
        """
        if not isinstance(d, Mapping):
            msg = f"a risk model must be a mapping of keys to values, got {type(d).__name__}"
            raise ConfigError(msg)
        names = [f.name for f in dataclasses.fields(cls)]
        removed = [REMOVED_KEYS[k] for k in d if k in REMOVED_KEYS]
        if removed:
            raise ConfigError("; ".join(removed))
        unknown = [k for k in d if k not in names]
        if unknown:
            raise ConfigError("; ".join(_unknown_key(k, names, "model") for k in unknown))
        return cls(**dict(d))

    @classmethod
    def from_toml_string(cls, text: str, *, source: str = "<string>") -> RiskModel:
        """Build a model from TOML text with a ``[model]`` table (see :meth:`from_toml`).

        Examples
        --------
        >>> RiskModel.from_toml_string("[model]\\nbandwidth_m = 5000\\n").bandwidth_m
        5000.0
        """
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            m = re.search(r"line (\d+)", str(exc))
            where = f"{source}, line {m.group(1)}" if m else source
            msg = f"{where}: invalid TOML: {exc}"
            raise ConfigError(msg) from None
        if "model" not in doc:
            hint = difflib.get_close_matches("model", list(doc), n=1)
            extra = f"; rename [{hint[0]}] to [model]?" if hint else ""
            msg = f"{source}: no [model] table found (tables present: {sorted(doc) or 'none'}){extra}"
            raise ConfigError(msg)
        try:
            return cls.from_dict(doc["model"])
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike) -> RiskModel:
        """Read a model from the ``[model]`` table of a TOML file.

        Other top-level tables are left to the components they belong to. Unknown keys inside ``[model]`` are
        rejected with a suggestion; a syntax error names the file and the line.

        Parameters
        ----------
        path : str or path-like
            The TOML file.

        Returns
        -------
        RiskModel

        Examples
        --------
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "model.toml"
        >>> _ = p.write_text("[model]\\nkernel = 'gaussian'\\n[model.category_weights]\\nrobbery = 0.1\\n")
        >>> RiskModel.from_toml(p).category_weights["robbery"]
        0.1
        """
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            msg = f"cannot read model configuration {os.fspath(path)!r}: {exc}"
            raise ConfigError(msg) from None
        return cls.from_toml_string(text, source=os.fspath(path))

    # -- printing back -----------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Every parameter as JSON-friendly values (dates as ISO strings), for the manifest.

        Examples
        --------
        >>> RiskModel().to_dict()["kernel"]
        'quartic'
        """
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, dt.date):
                v = v.isoformat()
            elif isinstance(v, Mapping):
                v = dict(v)
            out[f.name] = v
        return out

    def to_toml(self) -> str:
        """The model as a TOML document that :meth:`from_toml` reads back to an equal model.

        Unset optional keys are written as comments.

        Examples
        --------
        >>> print(RiskModel().to_toml().splitlines()[1])
        bandwidth_m = 15000.0
        """
        lines = ["[model]"]
        for f in dataclasses.fields(self):
            if f.name == "category_weights":
                continue
            v = getattr(self, f.name)
            if v is None:
                lines.append(f"# {f.name} = (unset: {_UNSET_DOC[f.name]})")
            else:
                lines.append(f"{f.name} = {_toml_value(v)}")
        lines += ["", "[model.category_weights]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in self.category_weights.items()]
        return "\n".join(lines) + "\n"


_UNSET_DOC = {
    "reference_date": "latest incident date",
    "window_start": "no lower bound",
    "window_end": "no upper bound",
}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    return json.dumps(str(v), ensure_ascii=False)


def _unknown_key(key: str, allowed: list[str] | tuple[str, ...], table: str) -> str:
    hint = difflib.get_close_matches(str(key), list(allowed), n=1)
    extra = f"; did you mean `{hint[0]}`?" if hint else f"; allowed keys: {', '.join(allowed)}"
    return f"unknown key `{key}` in [{table}]{extra}"


# -- per-key checks: each returns the normalised value or raises ConfigError naming key, expectation and value ------
def _number(name: str, value: Any, *, minimum: float = 0.0, strict: bool = False, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"`{name}` was {value!r} ({type(value).__name__}) but must be a number"
        raise ConfigError(msg)
    v = float(value)
    ok = math.isfinite(v) and (v > minimum if strict else v >= minimum) and (upper is None or v <= upper)
    if not ok:
        rel = ">" if strict else ">="
        rng = f"{rel} {minimum:g}" + (f" and <= {upper:g}" if upper is not None else "")
        msg = f"`{name}` was {value!r} but must be a finite number {rng}"
        raise ConfigError(msg)
    return v


def _integer(name: str, value: Any, *, minimum: int = 0, maximum: int = 2**63 - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        msg = f"`{name}` was {value!r} but must be an integer >= {minimum} and <= {maximum}"
        raise ConfigError(msg)
    return int(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        hint = difflib.get_close_matches(str(value), choices, n=1)
        extra = f"; did you mean {hint[0]!r}?" if hint else ""
        msg = f"`{name}` was {value!r} but must be one of {choices}{extra}"
        raise ConfigError(msg)
    return value


def _date(name: str, value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    msg = f"`{name}` was {value!r} but must be a date (TOML date or 'YYYY-MM-DD' string) or unset"
    raise ConfigError(msg)


#: Dates of the model must lie in this range (pandas' nanosecond timestamps cover 1677..2262).
DATE_RANGE = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))
#: Upper bounds of lengths (metres), half-life (days) and weights: beyond them the arithmetic overflows or the run
#: never ends, and no analysis of routes needs them.
MAX_LENGTH_M, MAX_HALF_LIFE_DAYS, MAX_WEIGHT = 1_000_000.0, 100_000.0, 1_000_000.0
#: Hot-spot neighbourhood steps: 1,000 took 35 s over the embedded corridors, 10^9 never ended.
MAX_NEIGHBOUR_STEPS = 100
#: Junction snap (metres): a snap of the order of the routes' extent makes every pair of segments adjacent
#: (40,000 segments: 1.6e9 pairs); junctions digitised apart need metres, not kilometres.
MAX_JUNCTION_SNAP_M = 10_000.0


def _date_in_range(name: str, value: Any) -> dt.date | None:
    d = _date(name, value)
    if d is not None and not DATE_RANGE[0] <= d <= DATE_RANGE[1]:
        msg = f"`{name}` was {d.isoformat()} but must lie between {DATE_RANGE[0]} and {DATE_RANGE[1]}"
        raise ConfigError(msg)
    return d


def _crs(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        msg = f"`{name}` was {value!r} but must be 'auto' or a projected CRS in metres such as 'EPSG:6372'"
        raise ConfigError(msg)
    return value.strip()


def _weights(name: str, value: Any) -> Mapping[str, float]:
    if not isinstance(value, Mapping):
        msg = f"`{name}` was {value!r} but must be a table of category = weight"
        raise ConfigError(msg)
    unknown = [k for k in value if k not in CATEGORIES]
    if unknown:
        raise ConfigError("; ".join(_unknown_key(k, CATEGORIES, "model.category_weights") for k in unknown))
    return _frozen_weights({k: _number(f"{name}.{k}", v, upper=MAX_WEIGHT) for k, v in value.items()})


_CHECKS = {
    "bandwidth_m": lambda n, v: _number(n, v, strict=True, upper=MAX_LENGTH_M),
    "kernel": lambda n, v: _choice(n, v, kernel_names()),
    "half_life_days": lambda n, v: _number(n, v, upper=MAX_HALF_LIFE_DAYS),
    "reference_date": _date_in_range,
    "window_start": _date_in_range,
    "window_end": _date_in_range,
    "segment_length_m": lambda n, v: _number(n, v, strict=True, upper=MAX_LENGTH_M),
    "crs": _crs,
    "victims_factor": lambda n, v: _choice(n, v, VICTIMS_FACTORS),
    "incident_weight": lambda n, v: _number(n, v, upper=MAX_WEIGHT),
    "enforcement_weight": lambda n, v: _number(n, v, upper=MAX_WEIGHT),
    "risk_layer": lambda n, v: _choice(n, v, RISK_LAYERS),
    "risk_reference": lambda n, v: _number(n, v, strict=True),
    "enforcement_reference": lambda n, v: _number(n, v, strict=True),
    "classes": lambda n, v: _choice(n, v, CLASSIFIERS),
    "neighbour_steps": lambda n, v: _integer(n, v, minimum=1, maximum=MAX_NEIGHBOUR_STEPS),
    "junction_snap_m": lambda n, v: _number(n, v, upper=MAX_JUNCTION_SNAP_M),
    "seed": lambda n, v: _integer(n, v),
    "category_weights": _weights,
}
