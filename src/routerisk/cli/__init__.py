"""The ``routerisk`` command line: a click group with one module per subcommand.

Every subcommand runs inside :func:`routerisk.cli.options.handle_errors`, which turns routerisk's errors into one
readable line on stderr and a documented exit code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging

import click

from .._errors import EXIT_CODES
from .options import CLIState

__all__ = ["cli", "main"]

#: Subcommand modules, each defining a click command named like the module (``validate`` -> ``validate``).
_SUBCOMMANDS: tuple[str, ...] = ("validate", "score", "map", "demo", "rerun", "sites", "trends", "change")

_EPILOG = "Exit codes:\n\n" + "\n\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


@click.group(epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="routerisk")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line error messages.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Risk analysis of migration routes: score corridor segments from incident records and enforcement zones."""
    ctx.obj = CLIState(debug=debug)
    log = logging.getLogger("routerisk")  # the library's warnings (e.g. the two terms' periods) on stderr
    if not any(isinstance(h, _EchoWarnings) for h in log.handlers):
        log.addHandler(_EchoWarnings(logging.WARNING))


class _EchoWarnings(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"Warning: {record.getMessage()}", err=True)


for _name in _SUBCOMMANDS:
    _module = importlib.import_module(f".{_name}", __name__)
    cli.add_command(getattr(_module, _name.replace("-", "_")))


def main() -> None:
    """Entry point of the ``routerisk`` console script."""
    cli(prog_name="routerisk")
