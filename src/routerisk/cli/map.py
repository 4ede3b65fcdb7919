"""``routerisk map``: draw a run folder's interactive (HTML) or print (PNG, PDF, SVG) map."""

from __future__ import annotations

from pathlib import Path

import click

from ._registry import LayerList, registry
from .options import handle_errors

__all__ = ["map"]

FORMATS = ("html", "png", "pdf", "svg")


@click.command("map")
@click.option(
    "--run", "run_dir", required=True, type=click.Path(path_type=Path),
    help="A run folder written by `routerisk score` (segments.gpkg, manifest.json, ...).",
)
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
    help="The map file to write (replaced atomically).",
)
@click.option(
    "--format", "fmt", default=None, type=click.Choice(FORMATS),
    help="Map format [default: from the --out suffix, else html].",
)
@click.option("--embed", is_flag=True, help="HTML only: also write <stem>.embed.html, an <iframe srcdoc> snippet.")
@click.option(
    "--privacy", default=None, type=click.Choice(("internal", "public")),
    help="internal: individual incidents shown; public: aggregated heat only, small counts suppressed, no free "
    "text [default: the run's mode]. A public run cannot be drawn as internal.",
)
@click.option(
    "--min-count", default=None, type=click.IntRange(min=1), help="Public mode threshold [default: the run's]."
)
@click.option("--title", default="Risk along migration routes", show_default=True, help="Map title.")
@click.option("--dpi", default=300, show_default=True, type=click.IntRange(min=50, max=1200), help="PNG resolution.")
@click.option(
    "--layers", default=None, type=LayerList(registry("routerisk.maps.layers", "layer_names")),
    help="Comma-separated map layers to draw, in any order (one registry: routerisk.maps.layers) [default: every "
    "layer the privacy mode allows; 'incidents' is internal only].",
)
@click.option(
    "--cell-m", default=2000.0, show_default=True, type=click.FloatRange(min=1.0),
    help="Cell size in metres of the heat surface drawn from the run's incidents (internal maps).",
)
@handle_errors
def map(
    run_dir: Path, out: Path, fmt: str | None, embed: bool, privacy: str | None, min_count: int | None, title: str,
    dpi: int, layers: tuple[str, ...] | None, cell_m: float,
) -> None:
    """Draw the map of the run folder RUN into OUT."""
    from .._atomic import refuse_inputs
    from .._budget import check_grid
    from .._errors import ConfigError
    from ..io._manifest import check_run_manifest
    from ..maps import heatmap, save_html, save_static, select_layers, static_map
    from ..maps.outputs import load_run, model_from_manifest, provenance_of
    from ..privacy import publishable_shelters

    fmt = fmt or (out.suffix.lstrip(".").lower() if out.suffix.lstrip(".").lower() in FORMATS else "html")
    if embed and fmt != "html":
        raise click.BadParameter("--embed applies to --format html only", param_hint="--embed")
    refuse_inputs(out, [run_dir])
    if embed:
        refuse_inputs(out.with_name(f"{out.stem}.embed.html"), [run_dir])
    run = load_run(run_dir)
    manifest = run["manifest"]
    check_run_manifest(manifest, Path(run_dir) / "manifest.json")
    run_privacy = (manifest.get("privacy") or {}).get("mode", "internal")
    privacy = privacy or run_privacy
    if run_privacy == "public" and privacy == "internal":
        msg = f"run folder {str(run_dir)!r} was written in public mode; it cannot be drawn as an internal map"
        raise ConfigError(msg)
    if min_count is None:
        min_count = int((manifest.get("privacy") or {}).get("min_count", 5))
    select_layers(layers, privacy)  # a non-public layer on a public map: exit 3 before drawing
    model = model_from_manifest(manifest)
    incidents = run["incidents"]  # a public run folder holds none
    if incidents is not None and model is not None:
        check_grid(incidents, model, cell_m=cell_m)  # the maps' heat surface, before drawing
    surface = run["surface"] if incidents is None else None
    shelters = publishable_shelters(run["shelters"], privacy) if run["shelters"] is not None else None
    prov = provenance_of(incidents=incidents, model=model, privacy=privacy, min_count=min_count, manifest=manifest)
    synthetic = bool((manifest.get("data") or {}).get("synthetic_incidents")) or None
    if fmt == "html":
        m = heatmap(
            run["segments"], incidents=incidents, zones=run["zones"], shelters=shelters, surface=surface,
            privacy=privacy, min_count=min_count, model=model, title=title, provenance=prov, synthetic=synthetic,
            layers=layers, cell_m=cell_m,
        )
        written = save_html(m, out, embed_snippet=embed)
    else:
        source = {k: v for k, v in prov.items() if k in ("attribution", "inputs", "date range", "incidents")}
        fig = static_map(
            run["segments"], incidents=incidents, zones=run["zones"], shelters=shelters, surface=surface,
            privacy=privacy, min_count=min_count, model=model, title=title, source=source or None,
            synthetic=synthetic, layers=layers, cell_m=cell_m,
        )
        written = [save_static(fig, out, dpi=dpi, fmt=fmt)]
    for path in written:
        click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
