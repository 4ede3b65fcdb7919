"""Options and error handling shared by the subcommands."""

from __future__ import annotations

import functools
import signal
import sys
import threading
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


_INTERRUPTED = threading.Event()


def _on_sigint(signum: int, frame: Any) -> None:
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def _watch_sigint() -> None:
    """Remember Ctrl-C: a library may turn the KeyboardInterrupt into its own error (pandas' C parser reports
    "Calling read(nbytes) on source failed"), which must still end as an interrupt, not blame the input."""
    _INTERRUPTED.clear()
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGINT) is (
        signal.default_int_handler
    ):
        signal.signal(signal.SIGINT, _on_sigint)


def _interrupted() -> None:
    click.echo("Interrupted; previous outputs were left as they were.", err=True)
    sys.exit(130)


def handle_errors(func: F) -> F:
    """Run a subcommand, turning errors into one line on stderr and a documented exit code.

    ``--debug`` on the group re-raises so the traceback shows.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool(getattr(ctx.find_object(CLIState), "debug", False))
        _watch_sigint()
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            _interrupted()
        except RouteRiskError as exc:
            if _INTERRUPTED.is_set():
                _interrupted()
            if debug:
                raise
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except MemoryError:
            if debug:
                raise
            msg = "Error: out of memory; try a smaller input or longer segments (--param segment_length_m=...)"
            click.echo(msg, err=True)
            sys.exit(2)
        except Exception as exc:
            if _INTERRUPTED.is_set():
                _interrupted()
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


def privacy_options(func: F) -> F:
    """``--privacy`` and ``--min-count``."""
    func = click.option(
        "--min-count",
        type=click.IntRange(min=1),
        default=5,
        show_default=True,
        help="Public mode: segments and cells supported by fewer incidents are suppressed.",
    )(func)
    return click.option(
        "--privacy",
        type=click.Choice(["internal", "public"]),
        default="internal",
        show_default=True,
        help="'public' publishes no incident coordinates, no free text, and suppresses small counts.",
    )(func)


def model_options(func: F) -> F:
    """``--config`` and ``--param KEY=VALUE``."""
    func = click.option(
        "--param",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override one model parameter (TOML value), e.g. --param bandwidth_m=10000. Repeatable.",
    )(func)
    return click.option(
        "--config",
        type=click.Path(dir_okay=False),
        help="Model parameters in a TOML file with a [model] table (see `RiskModel.to_toml`).",
    )(func)


def build_model(config: str | None, params: tuple[str, ...]) -> Any:
    """The RiskModel from ``--config`` with ``--param`` overrides applied."""
    from .._errors import ConfigError
    from ..model import RiskModel, tomllib

    base = RiskModel.from_toml(config) if config else RiskModel()
    if not params:
        return base
    overrides: dict[str, Any] = {}
    for item in params:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            msg = f"--param {item!r} must look like KEY=VALUE"
            raise ConfigError(msg)
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw  # a bare word is a string
        overrides[key.strip()] = value
    return RiskModel.from_dict({**base.to_dict(), **overrides})


def parse_geomask(text: str | None) -> tuple[float, float] | None:
    """``"500,2000"`` -> ``(500.0, 2000.0)``; None stays None."""
    from .._errors import ConfigError

    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        msg = f"--geomask {text!r} must be two distances in metres, MIN_M,MAX_M (e.g. 500,2000)"
        raise ConfigError(msg) from None
    if not 0 < lo <= hi:
        msg = f"--geomask {text!r} must satisfy 0 < MIN_M <= MAX_M"
        raise ConfigError(msg)
    return lo, hi


def report_run(result: Any) -> None:
    """Print where the outputs went and what was rejected; exit 1 when rows were rejected."""
    data = result.manifest.get("data", {})
    click.echo(f"Wrote {result.out} ({data.get('segments', len(result.segments))} segments scored).")
    if data.get("synthetic_incidents"):
        click.echo("Note: the incidents are SYNTHETIC (demo data); the numbers illustrate the method only.")
    if data.get("suppressed_segments"):
        click.echo(f"Public mode: {data['suppressed_segments']} segments suppressed (fewer than min-count incidents).")
    n = result.report.n_rejected
    if n:
        click.echo(result.report.summary(), err=True)
        click.echo(f"{n} input rows were rejected: see {result.out / 'rejected_rows.csv'}", err=True)
        sys.exit(1)
