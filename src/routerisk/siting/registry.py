"""The siting registry: every model, solver and distance measure, and the default radius, in one place.

:data:`MODELS` maps a model's name to a :class:`SitingModel` (the function that solves it, whether it maximises,
whether it takes ``k``, the spopt class the tests compare it with, a description); :data:`MEASURES` maps a measure
to its coverage and distance functions; :data:`SOLVERS` maps a solver to its description.
:class:`~routerisk.siting.ShelterSiting`, ``routerisk sites`` (its ``--model``, ``--measure`` and ``--solver``
choices) and the docs read them, so a model added with :func:`register_model` is accepted everywhere at once.

Examples
--------
>>> model_names(), measure_names(), solver_names()
(('mclp', 'pmedian', 'lscp'), ('route', 'straight'), ('auto', 'cbc', 'greedy'))
>>> DEFAULT_RADIUS_KM
30.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from .._errors import ConfigError
from ._geometry import Demand, route_coverage, route_distances, straight_coverage, straight_distances
from ._models import Chosen, solve_lscp, solve_mclp, solve_pmedian

__all__ = [
    "DEFAULT_RADIUS_KM",
    "MEASURES",
    "MODELS",
    "SOLVERS",
    "Measure",
    "SitingModel",
    "measure_names",
    "model_names",
    "register_model",
    "solver_names",
]

#: Default coverage radius of a site (km): a day's walk along the route. Every default in the package, the CLI
#: and the pipeline reads it.
DEFAULT_RADIUS_KM = 30.0


@dataclass(frozen=True)
class SitingModel:
    """One location model.

    Attributes
    ----------
    name : str
        Key in :data:`MODELS`, ``model=`` of :meth:`ShelterSiting.solve` and ``routerisk sites --model``.
    solve : callable
        ``solve(siting, *, k, coverage, solver, time_limit_s, notes) -> (chosen indices, facts)`` where facts
        hold ``solver, optimal, objective, bound, bound_method`` (see :mod:`routerisk.siting._models`).
    maximise : bool
        Whether a larger objective is better (the relative gap is then ``(bound - objective) / bound``).
    uses_k : bool
        Whether the model takes ``k`` sites (checked against the candidates, and some risk must be in reach).
    spopt : str
        The spopt class with the same formulation: the independent reference the tests compare the optimum with
        (documentation only: routerisk builds and solves the model itself, :mod:`routerisk.siting._solvers`, and
        never imports spopt).
    description : str
        One line for the CLI help and the docs.
    """

    name: str
    solve: Callable[..., Chosen]
    maximise: bool
    uses_k: bool
    spopt: str
    description: str


@dataclass(frozen=True)
class Measure:
    """One distance measure between demand points (segment midpoints) and sites."""

    name: str
    coverage: Callable[[Demand, np.ndarray, float], sparse.csr_matrix]
    distances: Callable[[Demand, np.ndarray], np.ndarray]
    description: str


#: The location models, by name (the first is the default).
MODELS: dict[str, SitingModel] = {}

#: The distance measures, by name (the first is the default).
MEASURES: dict[str, Measure] = {
    "route": Measure("route", route_coverage, route_distances,
                     "distance along the route: snap point on each route within reach + offset to it"),
    "straight": Measure("straight", straight_coverage, straight_distances,
                        "straight-line distance between segment midpoint and site"),
}

#: The solvers, by name, with what they do (the first is the default).
SOLVERS: dict[str, str] = {
    "auto": "CBC, or the greedy heuristic (said in the notes) when the problem is too large or CBC times out",
    "cbc": "the model, built in PuLP by routerisk, solved exactly by CBC",
    "greedy": "greedy heuristic (p-median: with Teitz-Bart interchange), with its gap to a bound",
}


def register_model(model: SitingModel) -> SitingModel:
    """Add (or replace) a location model in :data:`MODELS`; ShelterSiting and ``routerisk sites`` accept it.

    Examples
    --------
    >>> spec = MODELS["mclp"]
    >>> _ = register_model(SitingModel("mclp_copy", spec.solve, True, True, "spopt.locate.MCLP", "a copy"))
    >>> "mclp_copy" in model_names()
    True
    >>> _ = MODELS.pop("mclp_copy")
    """
    if not model.name or not model.name.replace("_", "").isalnum():
        msg = f"a siting model's name was {model.name!r} but must be letters, digits and underscores"
        raise ConfigError(msg)
    MODELS[model.name] = model
    return model


def model_names() -> tuple[str, ...]:
    """Names of the registered models (the choices of ``routerisk sites --model``)."""
    return tuple(MODELS)


def measure_names() -> tuple[str, ...]:
    """Names of the distance measures (the choices of ``routerisk sites --measure``)."""
    return tuple(MEASURES)


def solver_names() -> tuple[str, ...]:
    """Names of the solvers (the choices of ``routerisk sites --solver``)."""
    return tuple(SOLVERS)


def describe() -> dict[str, Any]:
    """Every registered name with its description, for the docs and ``--help``.

    Examples
    --------
    >>> sorted(describe())
    ['measures', 'models', 'solvers']
    """
    return {
        "models": {k: v.description for k, v in MODELS.items()},
        "measures": {k: v.description for k, v in MEASURES.items()},
        "solvers": dict(SOLVERS),
    }


for _model in (
    SitingModel("mclp", solve_mclp, maximise=True, uses_k=True, spopt="spopt.locate.MCLP",
                description="maximal covering: the k sites covering the most remaining risk within the radius"),
    SitingModel("pmedian", solve_pmedian, maximise=False, uses_k=True, spopt="spopt.locate.PMedian",
                description="p-median: the k sites minimising the risk-weighted distance to the nearest shelter"),
    SitingModel("lscp", solve_lscp, maximise=False, uses_k=False, spopt="spopt.locate.LSCP",
                description="set covering: the fewest sites bringing the covered share of all risk to --coverage"),
):
    register_model(_model)
