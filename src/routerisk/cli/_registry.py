"""Click choices read from a registry when first needed, so ``routerisk --help`` imports no registry.

The siting registry (:mod:`routerisk.siting.registry`) and the map layers (:mod:`routerisk.maps.layers`) import
geopandas and the renderers; a :class:`RegistryChoice` asks for its choices only when a command's own help is
shown or a value is checked, never when the command group is listed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import click

__all__ = ["LayerList", "RegistryChoice", "RegistryDefault", "constant", "registry"]


def registry(module: str, function: str) -> Callable[[], Sequence[str]]:
    """A zero-argument callable returning ``module.function()`` (imported on first call)."""

    def names() -> Sequence[str]:
        return getattr(importlib.import_module(module), function)()

    return names


def constant(module: str, name: str) -> Callable[[], Any]:
    """A zero-argument callable returning ``module.name`` (imported on first call)."""

    def value() -> Any:
        return getattr(importlib.import_module(module), name)

    return value


class RegistryDefault(click.Option):
    """An option whose default is a registry constant (``default=None`` resolves to it in the command), shown as
    ``[default: value]`` in the command's help without importing the registry for ``routerisk --help``."""

    def __init__(self, *args: Any, registry_default: Callable[[], Any], **kwargs: Any) -> None:
        self._registry_default = registry_default
        super().__init__(*args, **kwargs)

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        default, self.default, self.show_default = self.default, self._registry_default(), True
        try:
            return super().get_help_record(ctx)
        finally:
            self.default = default


class RegistryChoice(click.Choice):
    """A :class:`click.Choice` whose choices come from a registry function, read on first use."""

    def __init__(self, source: Callable[[], Sequence[str]], case_sensitive: bool = True) -> None:
        self._source = source
        self.case_sensitive = case_sensitive

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        return tuple(self._source())

    @choices.setter
    def choices(self, value: Any) -> None:  # click.Choice.__init__ assigns it; the registry is the truth
        pass


class LayerList(click.ParamType):
    """Comma-separated names from a registry (``heat,segments``), checked on use; returns a tuple of names."""

    name = "layers"

    def __init__(self, source: Callable[[], Sequence[str]]) -> None:
        self._source = source

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + ",".join(self._source()) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, ...]:
        if isinstance(value, tuple):
            return value
        names = tuple(n.strip() for n in str(value).split(",") if n.strip())
        allowed = tuple(self._source())
        bad = [n for n in names if n not in allowed]
        if bad or not names:
            self.fail(f"{', '.join(map(repr, bad)) or 'nothing'} is not a layer; choose from {', '.join(allowed)}",
                      param, ctx)
        return names
