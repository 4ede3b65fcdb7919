"""Options and error handling shared by the subcommands."""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import click

from .._errors import ConfigError, RouteRiskError
from ._registry import RegistryChoice, registry

__all__ = ["CLIState", "handle_errors", "out_option", "overwrite_option"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CLIState:
    """State of the top-level group passed to subcommands."""

    debug: bool = False


_INTERRUPTED = threading.Event()
#: The signal that interrupted the command (SIGINT, SIGTERM or SIGHUP); its exit code is 128 + its number.
_SIGNAL: list[int] = []
_HANDLED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def _on_signal(signum: int, frame: Any) -> None:
    if _INTERRUPTED.is_set():
        return  # a second signal must not interrupt the clean-up of the first
    _SIGNAL.append(signum)
    _INTERRUPTED.set()
    raise KeyboardInterrupt


def _watch_signals() -> dict[int, Any]:
    """Turn Ctrl-C, SIGTERM and SIGHUP into a KeyboardInterrupt, so the temporary folder and the lock are removed
    and the previous outputs kept. Remember the signal: a library may turn the KeyboardInterrupt into its own
    error (pandas' C parser reports "Calling read(nbytes) on source failed"), which must still end as an
    interrupt, not blame the input. Returns the handlers to restore (signals left to their default only)."""
    _INTERRUPTED.clear()
    _SIGNAL.clear()
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for sig in _HANDLED:
        current = signal.getsignal(sig)
        if current is signal.default_int_handler or current is signal.SIG_DFL:
            previous[sig] = current
            signal.signal(sig, _on_signal)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _interrupted() -> None:
    signum = _SIGNAL[0] if _SIGNAL else int(signal.SIGINT)
    name = signal.Signals(signum).name
    what = "Interrupted" if signum == signal.SIGINT else f"Stopped by {name}"
    click.echo(f"{what}; previous outputs were left as they were.", err=True)
    sys.exit(128 + signum)


def _pipe_closed() -> None:
    """The reader of stdout went away (``routerisk ... | head``): stop quietly, exit 141 as a shell reports SIGPIPE."""
    try:  # later writes (and the interpreter's final flush) go nowhere instead of raising again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no file descriptor (e.g. under click's CliRunner)
        pass
    sys.exit(141)


#: Phrases of errors raised by GDAL, Arrow or the kernel for a full disk or a read-only target, when a library
#: re-raises them as its own error type.
_OUTPUT_PHRASES = ("No space left on device", "Disk quota exceeded", "Read-only file system")


def _output_problem(exc: BaseException) -> str | None:
    """The reason when ``exc`` (or an error it wraps) is a full disk or a permission problem, else None."""
    from .._atomic import OUTPUT_ERRNOS  # lazy: _atomic costs 60 ms, paid on errors only, not by --help

    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, OSError) and cur.errno in OUTPUT_ERRNOS:
            where = f" ({cur.filename})" if cur.filename else ""
            return f"{cur.strerror or os.strerror(cur.errno)}{where}"
        text = str(cur)
        for phrase in _OUTPUT_PHRASES:
            if phrase.lower() in text.lower():
                return text.strip().splitlines()[0] if text.strip() else phrase
        cur = cur.__cause__ or cur.__context__
    return None


def handle_errors(func: F) -> F:
    """Run a subcommand, turning errors into one line on stderr and a documented exit code.

    ``--debug`` on the group re-raises so the traceback shows. Exit codes: see :data:`routerisk.EXIT_CODES`.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        debug = bool(getattr(ctx.find_object(CLIState), "debug", False))
        previous = _watch_signals()
        try:
            return func(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            _interrupted()
        except BrokenPipeError:
            _pipe_closed()
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
            problem = _output_problem(exc)
            if problem is not None:
                click.echo(f"Error: cannot write the outputs: {problem}", err=True)
                sys.exit(4)
            last = traceback.extract_tb(exc.__traceback__)[-1]
            click.echo(
                f"Error: unexpected {type(exc).__name__}: {exc} (at {last.name}, "
                f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}). This is a bug in routerisk; "
                "rerun with --debug and report it.",
                err=True,
            )
            sys.exit(70)
        finally:
            _restore_signals(previous)

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


def incidents_format_option(func: F) -> F:
    """``--incidents-format``: the names of the incident format registry (:mod:`routerisk.io.formats`), read on first
    use so that ``routerisk --help`` imports no reader."""
    return click.option(
        "--incidents-format",
        type=RegistryChoice(registry("routerisk.io.formats", "incident_format_names")),
        default="auto",
        show_default=True,
        help="Format of --incidents (auto-detected from columns and extension).",
    )(func)


def model_options(func: F) -> F:
    """``--config`` and ``--param KEY=VALUE``."""
    func = click.option(
        "--param",
        "params",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override one model parameter (TOML value), e.g. --param bandwidth_m=10000; bandwidth_m=auto selects "
        "the bandwidth from the incidents by likelihood cross-validation. Repeatable.",
    )(func)
    return click.option(
        "--config",
        type=click.Path(dir_okay=False),
        help="Model parameters in a TOML file with a [model] table (see `RiskModel.to_toml`).",
    )(func)


def build_model(config: str | None, params: tuple[str, ...]) -> tuple[Any, bool]:
    """The RiskModel from ``--config`` with ``--param`` overrides applied, and whether ``bandwidth_m`` is "auto".

    ``bandwidth_m = "auto"`` (in the TOML file or as ``--param bandwidth_m=auto``) asks the run to select the
    bandwidth from the incidents (:func:`routerisk.select_bandwidth`); the model returned then carries the default
    bandwidth until the run replaces it.
    """
    from ..model import RiskModel, tomllib  # lazy: the model imports numpy and pandas (0.2 s); not for --help

    base, auto = RiskModel(), False
    if config:
        try:
            base = RiskModel.from_toml(config)
        except ConfigError:
            doc = _toml_model_table(config)
            if doc is None or doc.get("bandwidth_m") != "auto":
                raise
            auto = True
            try:
                base = RiskModel.from_dict({k: v for k, v in doc.items() if k != "bandwidth_m"})
            except ConfigError as exc:
                raise ConfigError(f"{config}: {exc}") from None
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
    if "bandwidth_m" in overrides:
        auto = overrides["bandwidth_m"] == "auto"
        if auto:
            del overrides["bandwidth_m"]
    if not overrides:
        return base, auto
    return RiskModel.from_dict({**base.to_dict(), **overrides}), auto


def _toml_model_table(path: str) -> dict[str, Any] | None:
    """The ``[model]`` table of a TOML file, or None when the file cannot be read as TOML."""
    from ..model import tomllib  # lazy: see build_model

    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return None
    table = doc.get("model")
    return table if isinstance(table, dict) else None


#: Largest geomask radius, metres (a larger displacement leaves nothing to map, and 1e308 overflowed).
MAX_GEOMASK_M = 1_000_000.0


def parse_geomask(text: str | None) -> tuple[float, float] | None:
    """``"500,2000"`` -> ``(500.0, 2000.0)``; None stays None."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        msg = f"--geomask {text!r} must be two distances in metres, MIN_M,MAX_M (e.g. 500,2000)"
        raise ConfigError(msg) from None
    if not 0 < lo <= hi <= MAX_GEOMASK_M:
        msg = f"--geomask {text!r} must satisfy 0 < MIN_M <= MAX_M <= {MAX_GEOMASK_M:,.0f} (metres)"
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
