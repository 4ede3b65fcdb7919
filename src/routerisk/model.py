"""The risk model: every parameter of the scoring in one validated, frozen dataclass.

A model is read from a ``[model]`` table in TOML (with an optional ``[model.category_weights]`` table), validated
once, and printed back with :meth:`RiskModel.to_toml` or :meth:`RiskModel.to_dict` (for the manifest). The formulas
that use each parameter are in :mod:`routerisk.scoring`; DESIGN.md section 4 gives the model in words.

Kernel support (the *cutoff*)
-----------------------------
An incident with bandwidth ``h_i = sqrt(bandwidth_m**2 + sigma_i**2)`` (``sigma_i`` from
:data:`routerisk.schema.LOCATION_SIGMA_M`) reaches segments closer than ``cutoff_i = KERNEL_SUPPORT[kernel] * h_i``:
``h_i`` for the quartic, Epanechnikov and uniform kernels and ``3 * h_i`` for the truncated Gaussian. Beyond it the
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
from .schema import CATEGORIES, DEFAULT_CATEGORY_WEIGHTS, VICTIMS_FACTORS

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10 needs the tomli backport
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["CLASSIFIERS", "KERNELS", "KERNEL_SUPPORT", "RiskModel"]

#: Kernels of the incident exposure, all unnormalised with ``K(0) = 1``.
KERNELS = ("quartic", "gaussian", "epanechnikov", "uniform")
#: Support of each kernel in bandwidths: ``K(d; h) = 0`` for ``d >= KERNEL_SUPPORT[kernel] * h``
#: (``d > h`` for the uniform kernel, which includes its boundary).
KERNEL_SUPPORT: dict[str, float] = {"quartic": 1.0, "gaussian": 3.0, "epanechnikov": 1.0, "uniform": 1.0}
#: Classification schemes of ``risk_class`` (mapclassify ``Quantiles`` or ``FisherJenks``).
CLASSIFIERS = ("quantiles", "fisher_jenks")

_DATE_KEYS = ("reference_date", "window_start", "window_end")


def _frozen_weights(weights: Mapping[str, float] | None = None) -> Mapping[str, float]:
    return MappingProxyType({**DEFAULT_CATEGORY_WEIGHTS, **dict(weights or {})})


@dataclass(frozen=True)
class RiskModel:
    """Every parameter of the risk model, with documented defaults.

    Parameters
    ----------
    bandwidth_m : float, default 15000
        Kernel bandwidth ``h`` in metres for an exactly located incident (> 0).
    kernel : {"quartic", "gaussian", "epanechnikov", "uniform"}, default "quartic"
        Shape of ``K(d; h)``, unnormalised with ``K(0) = 1``: quartic ``(1 - (d/h)^2)^2`` for ``d < h``; Gaussian
        ``exp(-d^2 / (2 h^2))`` for ``d < 3h``; Epanechnikov ``1 - (d/h)^2`` for ``d < h``; uniform ``1`` for
        ``d <= h``; zero beyond. ``incident_exposure`` therefore reads as a severity-weighted count.
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
        Weights (>= 0, not both zero) of the normalised incident and enforcement exposures in ``risk``; they are
        divided by their sum, so ``risk`` stays in [0, 100].
    classes : {"quantiles", "fisher_jenks"}, default "quantiles"
        Scheme of the five ``risk_class`` values.
    bootstrap : int, default 200
        Poisson bootstrap replicates for ``risk_lo`` / ``risk_hi``; ``0`` switches it off (interval = estimate).
    permutations : int, default 999
        Conditional permutations for the Gi* pseudo p-values; ``0`` switches hot spots off ("not tested").
    seed : int, default 2021
        Seed of the bootstrap and the permutations.
    neighbour_distance_m : float, optional
        Gi* neighbours are segments whose midpoints lie within this distance; default ``2 * segment_length_m``.
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
    classes: str = "quantiles"
    bootstrap: int = 200
    permutations: int = 999
    seed: int = 2021
    neighbour_distance_m: float | None = None
    category_weights: Mapping[str, float] = field(default_factory=_frozen_weights)

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

    @property
    def neighbour_band_m(self) -> float:
        """Gi* neighbour distance actually used: ``neighbour_distance_m`` or ``2 * segment_length_m``."""
        return self.neighbour_distance_m if self.neighbour_distance_m is not None else 2.0 * self.segment_length_m

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
    "neighbour_distance_m": "2 x segment_length_m",
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


def _integer(name: str, value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        msg = f"`{name}` was {value!r} but must be an integer >= {minimum}"
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
    return _frozen_weights({k: _number(f"{name}.{k}", v) for k, v in value.items()})


_CHECKS = {
    "bandwidth_m": lambda n, v: _number(n, v, strict=True),
    "kernel": lambda n, v: _choice(n, v, KERNELS),
    "half_life_days": lambda n, v: _number(n, v),
    "reference_date": _date,
    "window_start": _date,
    "window_end": _date,
    "segment_length_m": lambda n, v: _number(n, v, strict=True),
    "crs": _crs,
    "victims_factor": lambda n, v: _choice(n, v, VICTIMS_FACTORS),
    "incident_weight": lambda n, v: _number(n, v),
    "enforcement_weight": lambda n, v: _number(n, v),
    "classes": lambda n, v: _choice(n, v, CLASSIFIERS),
    "bootstrap": lambda n, v: _integer(n, v),
    "permutations": lambda n, v: _integer(n, v),
    "seed": lambda n, v: _integer(n, v),
    "neighbour_distance_m": lambda n, v: None if v is None else _number(n, v, strict=True),
    "category_weights": _weights,
}
