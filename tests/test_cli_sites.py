"""``routerisk sites`` through click's CliRunner: outputs, one-line errors, exit codes, nothing written on error."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from shapely import LineString, Point, box

from routerisk.cli import cli

X0, Y0 = 2_800_000.0, 800_000.0  # EPSG:6372, near Puebla
CRS = "EPSG:6372"


@pytest.fixture
def run_dir(tmp_path):
    """A run folder: two parallel 50 km routes of 5 km segments, and one enforcement zone around Town 1."""
    rng = np.random.default_rng(0)
    rows, geoms = [], []
    for r, y in enumerate((0.0, 20_000.0)):
        for i in range(10):
            geoms.append(LineString([(X0 + i * 5_000, Y0 + y), (X0 + (i + 1) * 5_000, Y0 + y)]))
            rows.append({"segment_id": f"r{r}:{i}", "route_id": f"r{r}", "seq": i, "length_m": 5_000.0})
    segs = gpd.GeoDataFrame(rows, geometry=geoms, crs=CRS)
    segs["risk"] = rng.uniform(0, 100, len(segs))
    segs["risk_class"] = np.clip(np.ceil(segs["risk"] / 20), 1, 5).astype(int)
    run = tmp_path / "run"
    run.mkdir()
    segs.to_crs("EPSG:4326").to_file(run / "segments.gpkg", layer="segments")
    zone = gpd.GeoDataFrame({"zone_id": ["z1"]}, geometry=[box(X0 + 14_000, Y0 - 1_000, X0 + 16_000, Y0 + 1_000)],
                            crs=CRS)
    zone.to_crs("EPSG:4326").to_file(run / "zones.gpkg", layer="zones")
    (run / "manifest.json").write_text(json.dumps({"manifest_version": 1, "inputs": {}}))
    return run


@pytest.fixture
def candidates(tmp_path):
    """Six towns along the routes as a CSV (lon/lat); Town 1 lies inside the zone."""
    xy = [(5_000, 0), (15_000, 0), (25_000, 10_000), (35_000, 0), (45_000, 20_000), (25_000, 20_000)]
    pts = gpd.GeoSeries([Point(X0 + x, Y0 + y) for x, y in xy], crs=CRS).to_crs("EPSG:4326")
    table = pd.DataFrame({"name": [f"Town {i}" for i in range(6)], "state": "Puebla", "lon": pts.x, "lat": pts.y})
    path = tmp_path / "towns.csv"
    table.to_csv(path, index=False)
    return path


def invoke(*args):
    return CliRunner().invoke(cli, ["sites", *map(str, args)])


def test_sites_writes_outputs_and_prints_ranking(run_dir, candidates, tmp_path):
    out = tmp_path / "out"
    result = invoke("--run", run_dir, "--candidates", candidates, "--k", 2, "--radius-km", 12, "--out", out)
    assert result.exit_code == 0, result.output
    assert "site(s) proposed by mclp" in result.output and " 1. Town" in result.output
    names = {p.name for p in out.iterdir()}
    assert names == {"sites.gpkg", "sites.csv", "coverage_curve.csv", "coverage_curve.png", "gaps.csv",
                     "manifest.json"}
    table = pd.read_csv(out / "sites.csv")
    assert len(table) == 2 and "Town 1" not in table["locality"].tolist()  # inside the zone
    man = json.loads((out / "manifest.json").read_text())
    assert set(man["inputs"]) == {"segments", "zones", "candidates", "run_manifest"}
    assert man["parameters"]["exclude_zones"] is True


def test_no_exclude_zones_and_unsafe_towns(run_dir, candidates, tmp_path):
    out = tmp_path / "out"
    result = invoke("--run", run_dir, "--candidates", candidates, "--k", 4, "--radius-km", 12,
                    "--no-exclude-zones", "--unsafe", "town 3, TOWN 4", "--model", "pmedian", "--out", out)
    assert result.exit_code == 0, result.output
    proposed = pd.read_csv(out / "sites.csv")["locality"].tolist()
    assert sorted(proposed) == ["Town 0", "Town 1", "Town 2", "Town 5"]  # Town 1 (in the zone) is allowed now


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--radius-km", 0], 3, "`radius_km` was 0.0 but must be a positive number"),
        (["--radius-km", -5], 3, "`radius_km` was -5.0 but must be a positive number"),
        (["--k", 9], 3, "`k` was 9 but only 5 candidate site(s) remain (1 excluded)"),
        (["--model", "lscp", "--coverage", 2], 3, "`coverage` was 2.0 but must be in (0, 1]"),
        (["--radius-km", 0.5], 5, "no candidate within reach"),
    ],
)
def test_bad_values_one_line_no_output(run_dir, candidates, tmp_path, args, code, message):
    out = tmp_path / "out"
    result = invoke("--run", run_dir, "--candidates", candidates, *args, "--out", out)
    assert result.exit_code == code, result.output
    assert result.stderr.strip().splitlines() == [f"Error: {result.stderr.strip()[7:]}"]
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_missing_run_folder(tmp_path):
    out = tmp_path / "out"
    result = invoke("--run", tmp_path / "nowhere", "--out", out)
    assert result.exit_code == 2
    assert "segments file" in result.stderr and "does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_candidates_far_from_reach(run_dir, tmp_path):
    far = tmp_path / "far.csv"
    pd.DataFrame({"name": ["Lejos"], "lon": [-90.0], "lat": [30.0]}).to_csv(far, index=False)
    out = tmp_path / "out"
    result = invoke("--run", run_dir, "--candidates", far, "--k", 1, "--out", out)
    assert result.exit_code == 5
    assert "no candidate within reach" in result.stderr
    assert not out.exists()


def test_existing_output_needs_overwrite(run_dir, candidates, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    result = invoke("--run", run_dir, "--candidates", candidates, "--k", 1, "--out", out)
    assert result.exit_code == 4
    assert "--overwrite" in result.stderr
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    result = invoke("--run", run_dir, "--candidates", candidates, "--k", 1, "--out", out, "--overwrite")
    assert result.exit_code == 4  # --overwrite replaces only an empty or a routerisk folder, never unrelated files
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    (out / "keep.txt").unlink()
    assert invoke("--run", run_dir, "--candidates", candidates, "--k", 1, "--out", out).exit_code == 0
    result = invoke("--run", run_dir, "--candidates", candidates, "--k", 1, "--out", out, "--overwrite")
    assert result.exit_code == 0, result.output  # a previous sites folder (its manifest.json) is replaced


def test_existing_shelters_file(run_dir, candidates, tmp_path):
    shelters = tmp_path / "shelters.csv"
    pt = gpd.GeoSeries([Point(X0 + 35_000, Y0 + 500)], crs=CRS).to_crs("EPSG:4326")
    pd.DataFrame({
        "name": ["Casa"], "kind": ["shelter"], "locality": ["Town 3"], "state": ["Puebla"],
        "lon": pt.x, "lat": pt.y,
    }).to_csv(shelters, index=False)
    out = tmp_path / "out"
    result = invoke("--run", run_dir, "--candidates", candidates, "--existing", shelters, "--k", 2,
                    "--radius-km", 12, "--out", out)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "sites.csv")
    assert "Town 3" not in table["locality"].tolist()  # an existing shelter is there
    assert table["nearest_existing_km"].notna().all()


def test_run_shelters_are_the_default_existing(run_dir, candidates, tmp_path):
    pt = gpd.GeoSeries([Point(X0 + 35_000, Y0 + 500), Point(X0 + 5_000, Y0)], crs=CRS).to_crs("EPSG:4326")
    gpd.GeoDataFrame({"shelter_id": ["s1", "s2"], "name": ["Casa", "Oficina"], "kind": ["shelter", "asylum_office"],
                      "locality": ["Town 3", "Town 0"], "state": "Puebla"},
                     geometry=pt.values, crs="EPSG:4326").to_file(run_dir / "shelters.gpkg", layer="shelters")
    out = tmp_path / "out"
    result = invoke("--run", run_dir, "--candidates", candidates, "--k", 2, "--radius-km", 12, "--out", out)
    assert result.exit_code == 0, result.output
    assert "Existing shelters: 1 from the run's shelters.gpkg" in result.output
    proposed = pd.read_csv(out / "sites.csv")["locality"].tolist()
    assert "Town 3" not in proposed  # the shelter is there; the asylum office at Town 0 does not count
    man = json.loads((out / "manifest.json").read_text())
    assert man["inputs"]["existing"]["path"].endswith("shelters.gpkg")
    out2 = tmp_path / "out2"
    result = invoke("--run", run_dir, "--candidates", candidates, "--k", 2, "--radius-km", 12, "--existing", "none",
                    "--out", out2)
    assert result.exit_code == 0 and "shelters.gpkg" not in result.output


def _solve_topk(siting, *, k, coverage, solver, time_limit_s, notes):
    """A new objective: the k candidates covering the most risk each on its own (interactions ignored)."""
    marginal = siting.marginal_risk().to_numpy()
    chosen = np.argsort(-marginal, kind="stable")[:k]
    value = float(marginal[chosen].sum())
    return chosen, {"solver": "greedy", "optimal": False, "objective": value, "bound": float("nan"),
                    "bound_method": "none (independent ranking)"}


@pytest.fixture
def topk():
    """The siting-objective walk: a model registered in ONE place (routerisk.siting.register_model)."""
    from routerisk.siting import MODELS, SitingModel, register_model

    saved = dict(MODELS)
    yield register_model(SitingModel("topk", _solve_topk, maximise=True, uses_k=True, spopt="none",
                                     description="the k candidates with the most risk in reach, each alone"))
    MODELS.clear()
    MODELS.update(saved)


def test_a_registered_objective_is_accepted_by_shelter_siting_and_the_cli(topk, run_dir, candidates, tmp_path):
    from routerisk.siting import ShelterSiting

    segs = gpd.read_file(run_dir / "segments.gpkg", layer="segments")
    towns = pd.read_csv(candidates)
    towns = gpd.GeoDataFrame(towns, geometry=gpd.points_from_xy(towns["lon"], towns["lat"]), crs="EPSG:4326")
    siting = ShelterSiting.from_segments(segs, candidates=towns, radius_km=12)
    res = siting.solve("topk", k=2)
    expected = siting.marginal_risk().sort_values(ascending=False, kind="stable").index[:2]
    assert sorted(res.sites["site_id"]) == sorted(siting.candidates.loc[expected, "site_id"])
    assert res.model == "topk" and not res.optimal
    out = tmp_path / "out"
    result = invoke("--run", run_dir, "--candidates", candidates, "--k", 2, "--radius-km", 12, "--model", "topk",
                    "--out", out)
    assert result.exit_code == 0, result.output
    assert "site(s) proposed by topk" in result.output
    assert json.loads((out / "manifest.json").read_text())["result"]["model"] == "topk"
    help_text = CliRunner().invoke(cli, ["sites", "--help"]).output
    assert "topk" in help_text


def test_the_cli_choices_are_the_registry():
    from routerisk.siting import DEFAULT_RADIUS_KM, measure_names, model_names, solver_names

    help_text = " ".join(CliRunner().invoke(cli, ["sites", "--help"]).output.split())
    for names in (model_names(), measure_names(), solver_names()):
        assert "[" + "|".join(names) + "]" in help_text
    assert f"[default: {DEFAULT_RADIUS_KM}]" in help_text
    result = invoke("--run", "x", "--model", "nope", "--out", "y")
    assert result.exit_code == 2 and "nope" in result.output


def test_help_and_registry_do_not_name_spopt_as_the_engine():
    """spopt is the tests' reference only: the help and the solver descriptions name CBC and routerisk's models."""
    from routerisk.siting.registry import describe

    result = CliRunner().invoke(cli, ["sites", "--help"])
    assert result.exit_code == 0 and "CBC" in result.output
    assert "spopt" not in result.output.lower()
    described = json.dumps(describe()).lower()
    assert "spopt" not in described and "cbc" in described
