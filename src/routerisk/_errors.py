"""The exceptions routerisk raises.

Every exception derives from :class:`RouteRiskError` and from the built-in that fits, so callers can catch
either. The CLI maps each class to an exit code (see :data:`EXIT_CODES`) and prints one readable line.
"""

from __future__ import annotations

__all__ = [
    "EXIT_CODES",
    "CRSMismatchError",
    "ConfigError",
    "InputError",
    "OutputError",
    "RouteRiskError",
    "SolverError",
]


class RouteRiskError(Exception):
    """Root of every error routerisk raises on purpose."""

    exit_code = 2


class InputError(RouteRiskError, ValueError):
    """An input file or value cannot be used (unreadable, empty, wrong schema, no usable rows).

    Parameters
    ----------
    message : str
        What is wrong, naming the file and, where it applies, the row and column.
    path : str, optional
        The file concerned.
    """

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class CRSMismatchError(RouteRiskError, ValueError):
    """Two layers meet with different coordinate reference systems."""

    exit_code = 2


class ConfigError(RouteRiskError, ValueError):
    """A model configuration (TOML or keyword) has an unknown key, a wrong type or a value out of range."""

    exit_code = 3


class OutputError(RouteRiskError, OSError):
    """An output location cannot be written (is a file, is or holds an input, not writable, disk full, exists
    without overwrite, is not a routerisk folder, locked)."""

    exit_code = 4


class SolverError(RouteRiskError, RuntimeError):
    """An optimisation problem has no answer under the given inputs (e.g. no candidate within reach)."""

    exit_code = 5


#: Exit codes of the CLI, documented in ``routerisk --help``.
EXIT_CODES = {
    0: "success",
    1: "finished, but some input rows were rejected (see rejected_rows.csv)",
    2: "an input could not be used (unreadable, wrong schema, too many columns, no usable rows)",
    3: "the configuration is invalid (unknown key, wrong type, value out of range) or a run-time budget is exceeded",
    4: "the output location cannot be written (is or holds an input, exists, permission, disk full, locked)",
    5: "the optimisation has no feasible answer",
    70: "a bug in routerisk (an unexpected error; rerun with --debug and report it)",
    129: "stopped by SIGHUP (the terminal closed); previous outputs kept",
    130: "interrupted (Ctrl-C, SIGINT); previous outputs kept",
    141: "standard output was closed early (e.g. piped into `head`); the command stopped there",
    143: "stopped by SIGTERM; previous outputs kept",
}
