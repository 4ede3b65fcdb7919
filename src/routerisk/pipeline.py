"""``run``: read, validate, segment, score and write one run folder, with its manifest.

Each step is a public function usable on its own (:func:`routerisk.io.read_incidents`,
:func:`routerisk.routes.segmentize`, :func:`routerisk.score_segments`, ...); ``run`` chains them and writes the
outputs atomically. The CLI's ``score``, ``demo`` and ``rerun`` commands call it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from ._atomic import atomic_dir, refuse_inputs
from ._budget import check_pairs
from ._errors import InputError
from ._paths import data_path
from ._run_steps import (
    DEFAULT_FILES,
    EMBEDDED,
    RANKED_COLUMNS,
    _load_inputs,
    _manifest_content,
    _score,
    _write_tables,
    rank_segments,
)
from ._validate import ValidationReport
from .attribution import attributions
from .io._manifest import check_rerun_manifest
from .manifest import compare_rerun, read_manifest, sha256_file, write_manifest
from .model import RiskModel
from .privacy import (
    DEFAULT_GEOMASK_M,
    DEFAULT_MIN_COUNT,
    check_privacy,
    mask_points,
    read_geomask_key,
    suppress_segments,
)
from .routes import segmentize
from .siting import (
    DEFAULT_RADIUS_KM,
    ShelterSiting,
    result_summary,
    shelters_only,
    sites_layers,
    write_site_files,
)
from .studyarea import (
    check_area_grid,
    default_study_area,
    precision_counts,
    read_study_area,
    split_by_study_area,
)

__all__ = ["RANKED_COLUMNS", "RunResult", "rank_segments", "rerun", "run"]


@dataclass
class RunResult:
    """What :func:`run` produced.

    Attributes
    ----------
    out : pathlib.Path
        The run folder.
    segments : GeoDataFrame
        The scored segments as written (suppressed in public mode).
    report : ValidationReport
        Rejected and changed input rows.
    manifest : dict
        The manifest as written.
    notes : list of str
        What a :func:`rerun` reproduced and what it could not (:func:`routerisk.manifest.compare_rerun`).
    """

    out: Path
    segments: gpd.GeoDataFrame
    report: ValidationReport
    manifest: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)



def run(
    out: str | os.PathLike[str],
    *,
    incidents: str | os.PathLike[str] | None = None,
    routes: str | os.PathLike[str] | None = None,
    zones: str | os.PathLike[str] | None = None,
    shelters: str | os.PathLike[str] | None = None,
    embedded_zones: bool = False,
    embedded_shelters: bool | str = False,
    model: Any = None,
    incidents_format: str = "auto",
    zones_format: str = "auto",
    privacy: str = "internal",
    min_count: int = DEFAULT_MIN_COUNT,
    overwrite: bool = False,
    maps: bool = False,
    map_name: str = "map",
    layers: Any = None,
    sites: int = 0,
    sites_radius_km: float = DEFAULT_RADIUS_KM,
    geomask: tuple[float, float] | None = None,
    geomask_key: str | os.PathLike[str] | None = None,
    bandwidth: str | None = None,
    command: str | None = None,
    study_area: str | os.PathLike[str] | None = None,
    cell_m: float = 1000.0,
    map_title: str = "Risk along migration routes",
    detention: str | os.PathLike[str] | None = None,
    embedded_detention: bool = False,
) -> RunResult:
    """Read, validate, segment and score, then write the run folder atomically.

    Parameters
    ----------
    out : path
        The run folder (created; replaced only with ``overwrite=True``).
    incidents, routes : path, optional
        Input files; ``None`` uses the embedded synthetic incidents / the embedded corridors.
    zones, shelters : path, optional
        Input files; ``None`` means none, unless ``embedded_zones`` / ``embedded_shelters`` is set
        (``embedded_shelters="real"``: only the real organisations, not the shelters invented for the demo).
    model : RiskModel, optional
        The model's parameters; the defaults when ``None``.
    incidents_format : str, default "auto"
        One of :func:`routerisk.io.incident_format_names` (``"auto"``, ``"iom"``, ``"acled"``, ``"csv"``,
        ``"vector"`` and any format registered in :data:`routerisk.io.INCIDENT_FORMATS`).
    zones_format : str, default "auto"
        ``"auto"`` or ``"deployments"`` (a state-month deployment table, see :func:`routerisk.io.read_deployments`).
    privacy : {"internal", "public"}
        See :mod:`routerisk.privacy`.
    min_count : int, default 5
        Public mode: smallest number of supporting incidents that may be published.
    overwrite : bool, default False
        Replace an existing run folder.
    maps : bool, default False
        Also write the interactive and static maps and the GeoTIFF risk surface.
    map_name : str, default "map"
        File stem of the maps (``map.html``, ``map.png``, ``map.pdf``).
    layers : None, names or mapping, optional
        Map layers to draw (:func:`routerisk.maps.layers.select_layers`); default every layer the mode allows.
    sites : int, default 0
        Propose this many new shelter sites (maximal covering, :class:`routerisk.siting.ShelterSiting`) among the
        gazetteer localities near the routes, with the given shelters (kind ``shelter``) covering first and
        candidates inside enforcement zones excluded; writes ``sites.gpkg``, ``sites.csv``, ``gaps.csv`` and
        the coverage curve, and draws the sites and protection gaps on the maps. 0 skips siting.
    sites_radius_km : float, default 30
        Coverage radius of a shelter, measured along the route.
    geomask : (min_m, max_m), optional
        Also write ``incidents_geomasked.gpkg``: the incidents donut-masked between these radii, without text,
        ids or exact dates (:func:`routerisk.privacy.donut_mask`, displacements from OS entropy, or from
        ``geomask_key``) — for outputs that must show points, in either privacy mode. In public mode these radii
        (default :data:`routerisk.privacy.DEFAULT_GEOMASK_M`) also mask the points every public number is
        computed from.
    geomask_key : path, optional
        A secret key file (:func:`routerisk.privacy.read_geomask_key`): displacements become a keyed PRF of each
        record, so a rerun with the key reproduces them; the key is written nowhere.
    bandwidth : {"auto"}, optional
        ``"auto"`` replaces ``model.bandwidth_m`` by the one :func:`routerisk.select_bandwidth` selects from the
        incidents (the masked copy in public mode); the manifest records the selection and the model used.
    command : str, optional
        The command line to record; the current one by default.
    study_area : path, optional
        A polygon file: incidents outside it are excluded (counted in the manifest's ``outside_study_area``);
        default: the routes buffered by the kernel's reach (:mod:`routerisk.studyarea`).
    cell_m : float, default 1000
        Cell size of the risk surface (``risk_surface.tif``), whose extent is the study area's bounding box.
    map_title : str
        Title of the maps (say what the records are, e.g. deaths and disappearances recorded by the IOM).
    detention, embedded_detention : path or bool, optional
        Detention sites (:func:`routerisk.detention.read_detention`; ``embedded_detention``: the embedded city-level
        list): adds ``detention_exposure`` to the segments (beside the risk, never added to it), writes
        ``detention.gpkg`` and draws the "detention" map layer.

    Returns
    -------
    RunResult
    """
    check_privacy(privacy, min_count)
    key = read_geomask_key(geomask_key) if geomask_key is not None else None
    model = RiskModel() if model is None else model
    out = Path(out)
    # fail on an unusable output folder before any work
    inputs = (incidents, routes, zones, shelters, geomask_key, study_area, detention)
    with atomic_dir(out, overwrite=overwrite, inputs=inputs) as tmp:
        report = ValidationReport()
        data = _load_inputs(report, incidents=incidents, routes=routes, zones=zones, shelters=shelters,
                            embedded_zones=embedded_zones, embedded_shelters=embedded_shelters,
                            incidents_format=incidents_format, zones_format=zones_format, detention=detention,
                            embedded_detention=embedded_detention)  # fmt: skip
        data, area, outside, credits = _restrict(data, model, incidents, study_area, embedded_zones,
                                                 embedded_shelters)  # fmt: skip
        segments = segmentize(data.rts, segment_length_m=model.segment_length_m, crs=model.crs, report=report)
        check_pairs(segments, data.inc, model)  # run-time budgets, checked before the work
        if maps:
            check_area_grid(area, model, cell_m, data.inc)
        masked_inc = _masked(data.inc, model, privacy=privacy, geomask=geomask, key=key)
        model, sc = _score(segments, data, masked_inc, model, privacy=privacy, bandwidth=bandwidth)
        published = suppress_segments(sc.scored, min_count) if privacy == "public" else sc.scored
        inc_points = _write_tables(tmp, published, sc.sensitivity, data, report, privacy=privacy, maps=maps,
                                   masked_inc=masked_inc, geomask=geomask, key=key)  # fmt: skip

        site_layers = site_facts = None
        if sites:
            site_layers, site_facts = _propose_sites(tmp, published, data.shl, data.zns, k=sites,
                                                     radius_km=sites_radius_km)  # fmt: skip
        if maps:
            from .maps import write_run_maps  # lazy: folium and matplotlib cost ~1 s, maps only

            write_run_maps(
                tmp, segments=published, incidents=inc_points, zones=data.zns, shelters=data.shl, model=model,
                privacy=privacy, min_count=min_count, name=map_name, sites=site_layers, layers=layers,
                cell_m=cell_m, study_area=area, manifest={"attribution": credits}, title=map_title,
                detention=data.det,
            )

        _style_layers(tmp)
        manifest_content = _manifest_content(
            data, report, published, sc, model, masked_inc,
            command=command, privacy=privacy, min_count=min_count, geomask=geomask, site_facts=site_facts,
            options={"maps": bool(maps), "map_name": map_name, "sites": int(sites),
                     "sites_radius_km": float(sites_radius_km), "cell_m": float(cell_m),
                     "study_area": None if study_area is None else str(Path(study_area).absolute()),
                     **({"embedded_shelters": "real"} if embedded_shelters == "real" else {}),
                     "map_title": map_title},
        )  # fmt: skip
        manifest_content.update(outside_study_area=outside, location_precision=precision_counts(data.inc),
                                attribution=credits)  # fmt: skip
        manifest = write_manifest(tmp, manifest_content)
        manifest_doc = json.loads(manifest.read_text())
    return RunResult(out=out, segments=published, report=report, manifest=manifest_doc)


def _masked(inc: Any, model: Any, *, privacy: str, geomask: Any, key: Any) -> Any:
    """One donut-masked copy of the incidents for every public number and point (None when nothing needs it)."""
    if privacy != "public" and geomask is None:
        return None
    lo, hi = (float(v) for v in (geomask or DEFAULT_GEOMASK_M))
    return mask_points(inc, min_m=lo, max_m=hi, key=key, crs=model.crs)


def _style_layers(folder: Path) -> None:
    """QGIS default styles (``layer_styles``) in every GeoPackage of the run: segments, zones, shelters, sites."""
    from .qgis import add_layer_styles  # function-level: qgis imports the maps' colours (maps package)

    for gpkg in sorted(folder.glob("*.gpkg")):
        add_layer_styles(gpkg)


def _restrict(data: Any, model: Any, incidents: Any, study_area: Any, embedded_zones: bool,
              embedded_shelters: bool | str) -> tuple[Any, Any, dict[str, Any], list[str]]:  # fmt: skip
    """The inputs inside the study area (rows outside counted), its polygon, and the credits of every source."""
    area = read_study_area(study_area) if study_area is not None else default_study_area(data.rts, model)
    inc_in, outside = split_by_study_area(data.inc, area, model)  # rows beyond every route: counted, excluded
    data = data._replace(inc=inc_in)
    if embedded_shelters == "real" and data.shl is not None:  # the real demo: no invented shelter
        data = data._replace(shl=data.shl[~data.shl["illustrative"].astype(bool)].reset_index(drop=True))
    credits = attributions(incidents, data.zns, embedded_zones=embedded_zones)  # every source, on maps too
    return data, area, outside, credits


def _propose_sites(
    folder: Path, segments: gpd.GeoDataFrame, shelters: Any, zones: Any, *, k: int, radius_km: float
) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any]]:
    """Solve the maximal covering problem on the scored segments and write its files into ``folder``."""
    existing = shelters_only(shelters) if shelters is not None and len(shelters) else None
    if "risk_class" in segments.columns:  # public mode nulls classes (Int64 with NA): suppressed = not high-risk
        segments = segments.assign(risk_class=segments["risk_class"].astype("float64"))
    siting = ShelterSiting.from_segments(segments, existing=existing, exclude=zones, radius_km=radius_km)
    result = siting.solve("mclp", k=k)
    write_site_files(result, folder)
    return sites_layers(result), {"parameters": result.params, "result": result_summary(result)}


def rerun(
    manifest: str | os.PathLike[str], out: str | os.PathLike[str], *, overwrite: bool = False,
    geomask_key: str | os.PathLike[str] | None = None,
) -> RunResult:
    """Reproduce a run from its manifest: same inputs (checked by SHA-256), model, seeds and privacy mode.

    Parameters
    ----------
    manifest : path
        A ``manifest.json`` or a run folder holding one.
    out : path
        The new run folder.
    overwrite : bool, default False
        Replace an existing folder.
    geomask_key : path, optional
        The key file a geomasked run was made with: without it (or when the run drew from OS entropy) the masked
        points, and in public mode every number computed from them, come from a new draw; ``notes`` says so and
        lists which other outputs were reproduced.

    Returns
    -------
    RunResult

    Raises
    ------
    InputError
        When an input is missing or its bytes changed since the recorded run.
    """
    doc = read_manifest(manifest)
    refuse_inputs(out, [manifest, *check_rerun_manifest(doc, manifest)])
    kwargs: dict[str, Any] = {}
    for rec in doc["inputs"]:
        role, path = rec["role"], rec["path"]
        name = path.split(":", 1)[1] if path.startswith(f"{EMBEDDED}:") else None
        if name is not None and name == DEFAULT_FILES.get(role):  # the role's embedded layer, loaded as such
            actual = data_path(name)
            value = None
            if role in ("zones", "shelters", "detention"):
                kwargs[f"embedded_{role}"] = doc.get("options", {}).get(f"embedded_{role}", True)
        elif name is not None:  # another file of the data folder (the real demo's), read as a file from this install
            actual = data_path(name)
            value = str(actual)
        else:
            actual = Path(path)
            value = path
        if not actual.exists():
            msg = f"input {path!r} ({role}) recorded in the manifest no longer exists"
            raise InputError(msg, path=path)
        if sha256_file(actual) != rec["sha256"]:
            msg = f"input {path!r} ({role}) changed since the recorded run (SHA-256 differs); cannot reproduce"
            raise InputError(msg, path=path)
        kwargs[role] = value
        if role == "incidents":
            kwargs["incidents_format"] = rec.get("format", "auto")
        if role == "zones":
            kwargs["zones_format"] = rec.get("format", "auto")
    options = doc.get("options", {})
    geomask = doc["privacy"].get("geomask_m")
    result = run(
        out,
        model=RiskModel.from_dict(doc["model"]),
        privacy=doc["privacy"]["mode"],
        min_count=doc["privacy"]["min_count"],
        overwrite=overwrite,
        maps=options.get("maps", False),
        map_name=options.get("map_name", "map"),
        sites=options.get("sites", 0),
        sites_radius_km=options.get("sites_radius_km", DEFAULT_RADIUS_KM),
        study_area=options.get("study_area"),
        cell_m=options.get("cell_m", 1000.0),
        map_title=options.get("map_title", "Risk along migration routes"),
        geomask=tuple(geomask) if geomask else None,
        geomask_key=geomask_key,
        **kwargs,
    )

    folder = Path(manifest) if Path(manifest).is_dir() else Path(manifest).parent
    result.notes.extend(compare_rerun(doc, result.manifest, recorded_folder=folder, new_folder=result.out,
                                      key_given=geomask_key is not None))
    return result
