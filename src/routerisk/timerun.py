"""Output folders of ``routerisk trends`` and ``routerisk change``: read, compute, write atomically with a manifest.

Every CSV goes through :func:`routerisk._sinks.write_csv` (formula-safe cells); the folder is written by
:func:`routerisk._atomic.atomic_dir` (a temporary folder renamed into place); ``manifest.json`` records the inputs
(with SHA-256), the model, the options, the privacy mode and what was suppressed.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._atomic import atomic_dir
from ._sinks import write_csv
from ._validate import ValidationReport
from .manifest import sha256_file, write_manifest

__all__ = ["change_run", "load_layers", "trends_run"]

_IOM = "Incidents: IOM Missing Migrants Project (missingmigrants.iom.int)"


def _command() -> str:
    return shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])


def load_layers(incidents, incidents_format: str, routes, model, report: ValidationReport, *, privacy: str,
                key: bytes | None = None) -> tuple[Any, Any, str, list[dict]]:  # fmt: skip
    """Incidents (masked in public mode), segments, the attribution line and the inputs' manifest records."""
    from . import datasets, io
    from .routes import segmentize

    records = []
    if incidents is None:
        inc = datasets.load_incidents()
        attribution = "Incidents: SYNTHETIC demo data (no real event)"
    else:
        inc = io.read_incidents(incidents, format=incidents_format, report=report, geometry=False)
        records.append({"role": "incidents", "path": str(Path(incidents).absolute()), "sha256": sha256_file(incidents)})
        iom = incidents_format == "iom" or "iom" in Path(incidents).name.lower()
        attribution = _IOM if iom else f"Incidents: {Path(incidents).name}"
    rts = datasets.load_corridors() if routes is None else io.read_routes(routes, report=report)
    if routes is not None:
        records.append({"role": "routes", "path": str(Path(routes).absolute()), "sha256": sha256_file(routes)})
    segments = segmentize(rts, segment_length_m=model.segment_length_m, crs=model.crs, report=report)
    from ._budget import check_pairs

    check_pairs(segments, inc, model)  # the run-time budget of `routerisk score`, before the work
    if privacy == "public":
        from .privacy import DEFAULT_GEOMASK_M, mask_points

        inc = mask_points(inc, min_m=DEFAULT_GEOMASK_M[0], max_m=DEFAULT_GEOMASK_M[1], key=key, crs=model.crs)
    return inc, segments, attribution + "; routes: " + ("embedded corridors" if routes is None else
                                                        Path(routes).name) + "; analysis: routerisk", records


def _rejected(tmp: Path, report: ValidationReport, privacy: str) -> int:
    from .privacy import public_report

    rejected = report.rejected
    if len(rejected):
        write_csv(public_report(rejected) if privacy == "public" else rejected, tmp / "rejected_rows.csv")
    return int(report.n_rejected)


def _privacy_record(privacy: str, min_count: int, suppressed: str) -> dict:
    return {"mode": privacy, "min_count": int(min_count), "suppressed": suppressed if privacy == "public" else None}


def trends_run(out, *, incidents=None, incidents_format: str = "auto", routes=None, period: str = "quarter",
               model=None, alpha: float = 0.10, privacy: str = "internal", min_count: int = 5,
               overwrite: bool = False, maps: bool = True, key: bytes | None = None) -> dict:  # fmt: skip
    """Write ``trends.csv``, ``trends.gpkg``, ``trends_cube.parquet`` (one row per segment and period: exposure,
    its interval, counts, test), the maps and ``manifest.json`` into ``out``; return what was written."""
    from .model import RiskModel
    from .perpetrators import trends_by_perpetrator
    from .privacy import check_privacy, month_dates_in
    from .trends import cube_table, emerging_hotspots

    check_privacy(privacy, min_count)
    model = model or RiskModel()
    out = Path(out)
    with atomic_dir(out, overwrite=overwrite, inputs=(incidents, routes)) as tmp:
        report = ValidationReport()
        inc, segments, attribution, records = load_layers(incidents, incidents_format, routes, model, report,
                                                           privacy=privacy, key=key)  # fmt: skip
        table, cube = emerging_hotspots(segments, inc, period=period, model=model, alpha=alpha, privacy=privacy,
                                        min_count=min_count, return_cube=True)  # fmt: skip
        details = dict(table.attrs.get("routerisk", {}))
        table.attrs = {}
        cube_table(cube, privacy=privacy, min_count=min_count).to_parquet(tmp / "trends_cube.parquet", index=False)
        periods = details.get("periods", [])
        write_csv(table, tmp / "trends.csv")
        if privacy != "public":  # split by perpetrator (routerisk.perpetrators); a class's small counts would leak
            by = trends_by_perpetrator(segments, inc, period=period, model=model, periods=periods or None)
            write_csv(by, tmp / "trends_by_perpetrator.csv")
        keep = [c for c in ("segment_id", "route_id", "route_name", "km_from", "km_to") if c in segments]
        gdf = segments[[*keep, "geometry"]].reset_index(drop=True)
        gdf = gdf.join(table.drop(columns=[c for c in keep if c in table]))
        gdf.to_file(tmp / "trends.gpkg", layer="trends", driver="GPKG")
        if maps:
            from .timefolium import trends_folium
            from .timemaps import pattern_map, period_maps

            pattern_map(segments, table, tmp / "trends_patterns.png", attribution=attribution)
            period_maps(segments, table, periods, tmp / "trends_periods.png", attribution=attribution)
            trends_folium(segments, table, periods, tmp / "trends.html", attribution=attribution,
                          title=f"Emerging hot spots per {period}" + (" (public)" if privacy == "public" else ""))
        n_rej = _rejected(tmp, report, privacy)
        content = {
            "command": _command(), "inputs": records, "model": model.to_dict(),
            "trends": month_dates_in(details) if privacy == "public" else details,
            "options": {"period": period, "alpha": alpha, "maps": bool(maps)},
            "privacy": _privacy_record(privacy, min_count, "per-period count and z where fewer than min_count records "
                                       "are in reach; pattern and trend of segments with fewer than min_count in "
                                       "reach over all periods; incidents donut-masked before counting"),
            "patterns": {str(k): int(v) for k, v in table["pattern"].value_counts().items()},
            "data": {"segments": len(segments), "incidents": len(inc), "rejected_rows": n_rej,
                     "attribution": attribution},
        }  # fmt: skip
        manifest = write_manifest(tmp, content)
    return {"out": out, "table": table, "manifest": manifest.name, "rejected": n_rej}


def _choose_interval(df: pd.DataFrame, interval: str) -> pd.DataFrame:
    """``rr_lo``/``rr_hi`` hold the chosen interval; ``exact_lo``/``exact_hi`` and ``wald_lo``/``wald_hi`` both."""
    df = df.copy()
    df["exact_lo"], df["exact_hi"] = df["rr_lo"], df["rr_hi"]
    if interval == "wald":
        df["rr_lo"], df["rr_hi"] = df["wald_lo"], df["wald_hi"]
    return df


def _suppress_change(df: pd.DataFrame, min_count: int) -> pd.DataFrame:
    few = (df["count_before"] < min_count) | (df["count_after"] < min_count)
    num = [c for c in df.columns if c not in ("segment_id", "state_code", "state_name", "caveat")]
    df = df.copy()
    for c in num:
        df[c] = df[c].astype("float64").where(~few)
    df["suppressed"] = few.to_numpy()
    return df


def change_run(out, *, before, after, incidents=None, incidents_format: str = "auto", routes=None, counts=None,
               counts_value: str | None = None, deployments=None, model=None, level: float = 0.95,
               interval: str = "exact", privacy: str = "internal", min_count: int = 5, overwrite: bool = False,
               maps: bool = True, key: bytes | None = None) -> dict:  # fmt: skip
    """Write ``change.csv``, ``change_by_state.csv`` (records and/or a count table), the deployment analyses
    (``deployment_did.csv``, ``deployment_association.csv``, ``deployment.md``), the map and the manifest."""
    from .change import check_windows
    from .model import RiskModel
    from .privacy import check_privacy

    check_privacy(privacy, min_count)
    check_windows(before, after)
    model = model or RiskModel()
    out = Path(out)
    with atomic_dir(out, overwrite=overwrite, inputs=(incidents, routes, counts, deployments)) as tmp:
        report = ValidationReport()
        facts: dict[str, Any] = {}
        records: list[dict] = []
        if incidents is not None or counts is None:
            records += _change_records(tmp, report, incidents, incidents_format, routes, before, after, model,
                                       level, interval, privacy, min_count, maps, key, facts)  # fmt: skip
        if counts is not None:
            records += _change_counts(tmp, counts, counts_value, deployments, before, after, level, interval, facts)
        n_rej = _rejected(tmp, report, privacy) + int(facts.get("count_rows_rejected", 0))
        content = {
            "command": _command(), "inputs": records, "model": model.to_dict(),
            "windows": {"before": [str(before[0].date()), str(before[1].date())],
                        "after": [str(after[0].date()), str(after[1].date())]},
            "options": {"level": level, "interval": interval, "maps": bool(maps)},
            "privacy": _privacy_record(privacy, min_count, "rows whose before or after count is below min_count "
                                       "(records in reach / in the state); incidents donut-masked before counting"),
            "change": facts, "data": {"rejected_rows": n_rej},
        }  # fmt: skip
        manifest = write_manifest(tmp, content)
    return {"out": out, "manifest": manifest.name, "rejected": n_rej, "facts": facts}


def _change_records(tmp, report, incidents, incidents_format, routes, before, after, model, level, interval, privacy,
                    min_count, maps, key, facts) -> list[dict]:  # fmt: skip
    from .change import segment_change, state_change
    from .perpetrators import change_by_perpetrator

    inc, segments, attribution, records = load_layers(incidents, incidents_format, routes, model, report,
                                                       privacy=privacy, key=key)  # fmt: skip
    seg = _choose_interval(segment_change(segments, inc, before, after, model=model, level=level), interval)
    st = _choose_interval(state_change(inc, before, after, level=level), interval)
    if privacy == "public":
        seg, st = _suppress_change(seg, min_count), _suppress_change(st, min_count)
    write_csv(seg, tmp / "change.csv")
    write_csv(st, tmp / "change_by_state.csv")
    if privacy != "public":  # split by perpetrator (routerisk.perpetrators); a class's small counts would leak
        by = change_by_perpetrator(segments, inc, before, after, model=model, level=level)
        write_csv(_choose_interval(by, interval), tmp / "change_by_perpetrator.csv")
    if maps:
        from .timemaps import rate_ratio_map

        rate_ratio_map(segments, seg, tmp / "change_map.png", attribution=attribution)
    facts["segments"] = len(seg)
    facts["segments_significant_bh_0_05"] = int((seg["p_adjusted"] <= 0.05).sum())
    facts["median_rate_ratio"] = float(np.nanmedian(seg["rate_ratio"].replace(np.inf, np.nan))) if len(seg) else None
    facts["attribution"] = attribution
    return records


def _change_counts(tmp, counts, counts_value, deployments, before, after, level, interval, facts) -> list[dict]:
    from .counts import (
        CAVEAT,
        counts_change,
        deployment_association,
        deployment_did,
        deployment_table,
        read_state_counts,
    )

    table = read_state_counts(counts, value=counts_value)
    records = [{"role": "counts", "path": str(Path(counts).absolute()), "sha256": sha256_file(counts),
                "rejected": len(table.attrs.get("rejected", []))}]  # fmt: skip
    rejected = pd.DataFrame(table.attrs.get("rejected", []))
    if len(rejected):
        write_csv(rejected, tmp / "rejected_count_rows.csv")
    facts["count_rows_rejected"] = len(rejected)
    ch = _choose_interval(counts_change(table, before, after, level=level), interval)
    write_csv(ch, tmp / "change_by_state_counts.csv" if (tmp / "change_by_state.csv").exists()
              else tmp / "change_by_state.csv")  # fmt: skip
    facts["counts_states"] = len(ch)
    if deployments is None:
        return records
    dep = deployment_table(deployments)
    records.append({"role": "deployments", "path": str(Path(deployments).absolute()),
                    "sha256": sha256_file(deployments)})  # fmt: skip
    did = deployment_did(table, dep, before, after, level=level)
    assoc = deployment_association(table, dep, level=level)
    write_csv(did, tmp / "deployment_did.csv")
    write_csv(assoc, tmp / "deployment_association.csv")
    _deployment_md(tmp / "deployment.md", did, assoc, CAVEAT)
    facts["did_estimate"] = float(did["estimate"].iloc[0])
    return records


def _deployment_md(path: os.PathLike[str], did: pd.DataFrame, assoc: pd.DataFrame, caveat: str) -> None:
    d = did.iloc[0]
    lines = ["# Deployment and counts", "", f"**Caveat.** {caveat}", "",
             "## Difference in differences (more vs less deployed states)", "",
             f"Ratio of rate ratios {d['estimate']:.3f} (CI {d['ci_lo']:.3f} to {d['ci_hi']:.3f}, p = "
             f"{d['p_value']:.3g}); {d['n_states_more']} more and {d['n_states_less']} less deployed states; "
             f"{d['method']}. {d['caveat']}", "", "## Lagged association (per doubling of 1 + personnel)", "",
             "| lag (months) | rate ratio | CI | p | n |", "|---|---|---|---|---|"]  # fmt: skip
    for r in assoc.itertuples():
        lines.append(f"| {r.lag_months} | {r.rate_ratio_per_doubling:.3f} | {r.ci_lo:.3f} - {r.ci_hi:.3f} | "
                     f"{r.p_value:.3g} | {r.n_obs} |")  # fmt: skip
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
