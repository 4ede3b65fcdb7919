"""The kernel registry: every fact about each kernel of the incident exposure, in one table.

Each :class:`Kernel` gives a name and an integer code (what the compiled engine dispatches on), the support in
bandwidths, the shape ``K(u)`` as a vectorised function of ``u = (d/h)**2`` (unnormalised, ``K(0) = 1``), the
integrals of ``K(.; h)`` over the plane and along a line (the plane integral is also the normalisation of the 2-D
density the surface draws: ``K / plane(h)``), and the Gaussian-equivalent bandwidth factor used by the bandwidth
selection. Everything that needs a kernel reads it here: :mod:`routerisk.model` (the accepted names and supports),
:mod:`routerisk.engine` and its compiled backend, :mod:`routerisk.surface`, :mod:`routerisk.bandwidth`,
:mod:`routerisk.scoring` (``precision_factor``) and :mod:`routerisk.intervals`.

Adding a kernel is one :func:`register_kernel` call (an entry of :data:`KERNEL_REGISTRY` below for a built-in
one); the compiled engine also needs its scalar formula in :mod:`routerisk._engine_numba` (``_kval``), and refuses
a code it has not compiled rather than fall back to another kernel. See CONTRIBUTING.md, "Adding a kernel".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "KERNEL_REGISTRY",
    "Kernel",
    "get_kernel",
    "kernel_by_code",
    "kernel_names",
    "register_kernel",
    "registry_view",
]


@dataclass(frozen=True)
class Kernel:
    """One kernel of the incident exposure.

    Parameters
    ----------
    name : str
        Name used by the model (``RiskModel.kernel``), the CLI and the manifest.
    code : int
        Integer code passed to the compiled engine (unique; never reused for another shape).
    support : float
        Support in bandwidths: ``K(d; h) = 0`` beyond ``support * h``.
    closed : bool
        Whether the support includes its boundary (``d <= support * h``); otherwise ``d < support * h``.
    formula : callable
        ``K(u)`` for ``u = (d/h)**2`` inside the support, vectorised over a numpy array, with ``K(0) = 1``.
    plane : callable
        ``h -> integral of K(|x|; h) over the plane`` (m²); the surface's 2-D density is ``K / plane(h)``.
    line : callable
        ``h -> integral of K(|t|; h) dt over the real line`` (m).
    gaussian_equivalent : float
        ``bandwidth_m`` with the per-axis standard deviation of a Gaussian of ``sigma = 1`` (bandwidth selection).
    """

    name: str
    code: int
    support: float
    closed: bool
    formula: Callable[[np.ndarray], np.ndarray]
    plane: Callable[[np.ndarray], np.ndarray]
    line: Callable[[np.ndarray], np.ndarray]
    gaussian_equivalent: float

    @property
    def u_max(self) -> float:
        """``support**2``: the bound of ``u = (d/h)**2``."""
        return self.support * self.support

    def inside(self, u: np.ndarray) -> np.ndarray:
        """Whether ``u = (d/h)**2`` lies inside the support."""
        return u <= self.u_max if self.closed else u < self.u_max

    def of_u(self, u: np.ndarray) -> np.ndarray:
        """``K(u)``, zero outside the support."""
        u = np.asarray(u, dtype=np.float64)
        return np.where(self.inside(u), self.formula(np.minimum(u, self.u_max)), 0.0)


_GAUSS_MASS = 1.0 - math.exp(-4.5)  # share of a 2-D gaussian's mass inside 3 sigma
_SQRT_2PI, _ERF_3 = math.sqrt(2.0 * math.pi), math.erf(3.0 / math.sqrt(2.0))  # 1-D gaussian: mass inside 3 sigma

#: The registry, by name (insertion order is the order of the documented choices).
KERNEL_REGISTRY: dict[str, Kernel] = {}


def register_kernel(kernel: Kernel) -> Kernel:
    """Add a kernel to :data:`KERNEL_REGISTRY` (its name and code must be new).

    Examples
    --------
    >>> get_kernel("quartic").code, get_kernel("gaussian").support
    (0, 3.0)
    """
    if kernel.name in KERNEL_REGISTRY:
        msg = f"kernel {kernel.name!r} is already registered"
        raise ValueError(msg)
    if any(k.code == kernel.code for k in KERNEL_REGISTRY.values()):
        msg = f"kernel code {kernel.code} is already used by {kernel_by_code(kernel.code).name!r}"
        raise ValueError(msg)
    if not (kernel.support > 0 and math.isfinite(kernel.support)):
        msg = f"kernel {kernel.name!r}: support must be a finite number > 0"
        raise ValueError(msg)
    KERNEL_REGISTRY[kernel.name] = kernel
    return kernel


class _FieldView(Mapping):
    """Read-only ``{name: getattr(kernel, field)}`` over the registry, read live (a later registration shows)."""

    def __init__(self, field: str) -> None:
        self._field = field

    def __getitem__(self, name: str) -> float:
        return getattr(KERNEL_REGISTRY[name], self._field)

    def __iter__(self) -> Iterator[str]:
        return iter(KERNEL_REGISTRY)

    def __len__(self) -> int:
        return len(KERNEL_REGISTRY)

    def __repr__(self) -> str:
        return repr(dict(self))


def registry_view(field: str) -> Mapping[str, float]:
    """A live read-only mapping of kernel name to one field of its :class:`Kernel` (e.g. ``"support"``).

    Examples
    --------
    >>> registry_view("support")["gaussian"]
    3.0
    """
    return _FieldView(field)


def kernel_names() -> tuple[str, ...]:
    """Names of the registered kernels, in registration order.

    Examples
    --------
    >>> kernel_names()[:4]
    ('quartic', 'gaussian', 'epanechnikov', 'uniform')
    """
    return tuple(KERNEL_REGISTRY)


def get_kernel(name: str) -> Kernel:
    """The registered kernel called ``name`` (ValueError naming the choices otherwise).

    Examples
    --------
    >>> float(get_kernel("epanechnikov").of_u(np.array([0.25]))[0])
    0.75
    """
    try:
        return KERNEL_REGISTRY[name]
    except (KeyError, TypeError):
        msg = f"`kernel` was {name!r} but must be one of {kernel_names()}"
        raise ValueError(msg) from None


def kernel_by_code(code: int) -> Kernel:
    """The registered kernel with integer ``code`` (ValueError for an unknown code, never a default).

    Examples
    --------
    >>> kernel_by_code(3).name
    'uniform'
    """
    for k in KERNEL_REGISTRY.values():
        if k.code == code:
            return k
    msg = f"unknown kernel code {code!r}; registered: {[(k.name, k.code) for k in KERNEL_REGISTRY.values()]}"
    raise ValueError(msg)


register_kernel(Kernel(
    "quartic", 0, 1.0, False, lambda u: (1.0 - u) ** 2,
    plane=lambda h: math.pi * h * h / 3.0, line=lambda h: 16.0 * h / 15.0, gaussian_equivalent=float(np.sqrt(8.0)),
))  # fmt: skip
register_kernel(Kernel(
    "gaussian", 1, 3.0, False, lambda u: np.exp(-0.5 * u),
    plane=lambda h: 2.0 * math.pi * h * h * _GAUSS_MASS, line=lambda h: h * _SQRT_2PI * _ERF_3, gaussian_equivalent=1.0,
))  # fmt: skip
register_kernel(Kernel(
    "epanechnikov", 2, 1.0, False, lambda u: 1.0 - u,
    plane=lambda h: math.pi * h * h / 2.0, line=lambda h: 4.0 * h / 3.0, gaussian_equivalent=float(np.sqrt(6.0)),
))  # fmt: skip
register_kernel(Kernel(
    "uniform", 3, 1.0, True, lambda u: np.ones_like(u),
    plane=lambda h: math.pi * h * h, line=lambda h: 2.0 * h, gaussian_equivalent=2.0,
))  # fmt: skip
# (1 - u)^3: E[r^2] = B(2, 4) / B(1, 4) = 1/5 in 2-D, so per axis 1/10 and h = sqrt(10) sigma
register_kernel(Kernel(
    "triweight", 4, 1.0, False, lambda u: (1.0 - u) ** 3,
    plane=lambda h: math.pi * h * h / 4.0, line=lambda h: 32.0 * h / 35.0, gaussian_equivalent=float(np.sqrt(10.0)),
))  # fmt: skip
