"""The ``routerisk`` command line: a click group with one module per subcommand, imported when it is used.

``routerisk --help`` lists every command from :data:`_SUBCOMMANDS` (name and one-line help) without importing any
of them, so it starts in about 0.1 s instead of 1.3 s (geopandas, numba, scipy, folium); a command's module is
imported only when the command runs or its own help is shown. Every subcommand runs inside
:func:`routerisk.cli.options.handle_errors`, which turns routerisk's errors into one readable line on stderr and a
documented exit code; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import importlib
import logging
import os

import click

from .._errors import EXIT_CODES
from .options import CLIState

__all__ = ["cli", "main"]

#: The subcommands: ``name -> one-line help`` shown by ``routerisk --help``. Each lives in the module
#: ``routerisk.cli.<name>`` as a click command of that name (``-`` read as ``_``). To add a command, write its
#: module and add one line here; tests/test_docs.py checks the line against the command's own short help.
_SUBCOMMANDS: dict[str, str] = {
    "validate": "Check FILE as a layer of KIND: rows read, kept and rejected (by reason), and changes made.",
    "score": "Score route segments by risk and write a run folder.",
    "map": "Draw the map of the run folder RUN into OUT.",
    "demo": "Run the whole analysis on the embedded demo data.",
    "rerun": "Reproduce a run from its manifest.json.",
    "sites": "Propose shelter sites covering the most route risk; find the protection gaps.",
    "trends": "Emerging hot spots per segment: trend and pattern over months, quarters or years.",
    "change": "Rate ratios after / before a date, per segment and per state (exact intervals).",
    "path": "Shortest and least-risk paths between two places (paths.csv, paths.png).",
    "access": "Network km to the nearest asylum office and shelter per segment; access gaps.",
    "report": "Write report.html (offline, live map) and report.pdf of a run folder.",
}

_EPILOG = "Exit codes:\n\n" + "\n\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use (the command runs, or its help is shown).

    The listing of ``routerisk --help`` reads the one-line helps of ``lazy``; ``list_commands`` and
    ``get_command`` (used by click, by shell completion and by mkdocs-click for the CLI reference) see every
    command, loaded on request.
    """

    def __init__(self, *args, lazy: dict[str, str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy
        self._loaded: dict[str, click.Command] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        if cmd_name not in self.lazy:
            return None
        if cmd_name not in self._loaded:
            module = importlib.import_module(f".{cmd_name.replace('-', '_')}", __name__)
            self._loaded[cmd_name] = getattr(module, cmd_name.replace("-", "_"))
        return self._loaded[cmd_name]

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List every command with its one-line help, importing none of them (a name without a help is loaded)."""
        rows = []
        for name in self.list_commands(ctx):
            text = self.lazy.get(name) if name not in self.commands else None
            if not text:
                cmd = self.get_command(ctx, name)
                if cmd is None or cmd.hidden:
                    continue
                text = cmd.get_short_help_str(formatter.width - 6 - max(map(len, self.list_commands(ctx))))
            rows.append((name, text))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(
    cls=LazyGroup, lazy=_SUBCOMMANDS, epilog=_EPILOG, context_settings={"help_option_names": ["-h", "--help"]}
)
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


def main() -> None:
    """Entry point of the ``routerisk`` console script."""
    # Arrow's default allocator (mimalloc) keeps freed pages for reuse; a command that writes GeoParquet then draws
    # maps peaked 14 MB higher with it (the demo: 579 -> 565 MB). The process is ours: the system allocator unless
    # the user chose one (read when pyarrow is first imported, which no command has done yet).
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    cli(prog_name="routerisk")
