"""Options and error handling shared by the subcommands."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from .._errors import RouteRiskError

__all__ = ["CLIState", "handle_errors", "out_option", "overwrite_option"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CLIState:
    """State of the top-level group passed to subcommands."""

    debug: bool = False


def handle_errors(func: F) -> F:
    """Run a subcommand, turning errors into one line on stderr and a documented exit code.

    ``--debug`` on the group re-raises so the traceback shows.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool(getattr(ctx.find_object(CLIState), "debug", False))
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except RouteRiskError as exc:
            if debug:
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted; previous outputs were left as they were.", err=True)
            sys.exit(130)
        except MemoryError:
            if debug:
                raise
            click.echo("Error: out of memory; try a smaller input or a larger --segment-length", err=True)
            sys.exit(2)
        except Exception as exc:
            if debug:
                raise
            last = traceback.extract_tb(exc.__traceback__)[-1]
            click.echo(
                f"Error: unexpected {type(exc).__name__}: {exc} (at {last.name}, "
                f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}). This is a bug in routerisk; "
                "rerun with --debug and report it.",
                err=True,
            )
            sys.exit(70)

    return wrapper  # type: ignore[return-value]


out_option = click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=True, dir_okay=True, writable=False),
    help="Output folder; written atomically (a temporary folder renamed into place at the end).",
)
overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace the output folder if it already holds files."
)
