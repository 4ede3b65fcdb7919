"""End to end: the CLI's score, demo and rerun on the embedded data and on the real samples in tests/data/real."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner
from pandas.testing import assert_frame_equal

from routerisk.cli import cli
from routerisk.manifest import sha256_file
from routerisk.pipeline import RANKED_COLUMNS

FAST = ["--param", "neighbour_steps=2"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "score"
    result = invoke("score", "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    return out


def test_score_writes_every_output_with_provenance(demo_run):
    names = sorted(p.name for p in demo_run.iterdir())
    assert names == [
        "incidents.gpkg", "manifest.json", "segments.gpkg", "segments.parquet", "segments_ranked.csv", "sensitivity.csv"
    ]
    manifest = json.loads((demo_run / "manifest.json").read_text())
    assert manifest["model"]["neighbour_steps"] == 2
    assert manifest["privacy"] == {"mode": "internal", "min_count": 5, "geomask_m": None}
    assert manifest["data"]["synthetic_incidents"] is True
    for rec in manifest["inputs"]:
        assert len(rec["sha256"]) == 64
        assert rec["read"] == rec["kept"] + rec["rejected"]
    for name, out in manifest["outputs"].items():
        assert sha256_file(demo_run / name) == out["sha256"]
    assert manifest["crs"]["published"] == "EPSG:4326"
    assert "6372" in manifest["crs"]["analysis"]


def test_ranked_table_is_sorted_and_matches_the_geopackage(demo_run):
    ranked = pd.read_csv(demo_run / "segments_ranked.csv")
    assert tuple(ranked.columns) == tuple(c for c in RANKED_COLUMNS if c != "detention_exposure")  # no --detention
    assert ranked["risk"].is_monotonic_decreasing
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    seg = gpd.read_file(demo_run / "segments.gpkg", layer="segments")
    assert len(seg) == len(ranked)
    assert set(seg["segment_id"]) == set(ranked["segment_id"])
    assert seg.crs.to_epsg() == 4326
    assert (ranked["risk_lo"] <= ranked["risk"] + 1e-9).all()
    assert (ranked["risk"] <= ranked["risk_hi"] + 1e-9).all()


def test_rerun_reproduces_tables_and_features(demo_run, tmp_path):
    result = invoke("rerun", demo_run / "manifest.json", "--out", tmp_path / "again")
    assert result.exit_code == 0, result.output
    again = tmp_path / "again"
    assert (again / "segments_ranked.csv").read_bytes() == (demo_run / "segments_ranked.csv").read_bytes()
    a = gpd.read_file(demo_run / "segments.gpkg", layer="segments")
    b = gpd.read_file(again / "segments.gpkg", layer="segments")
    assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))


def test_rerun_refuses_changed_inputs(tmp_path):
    src = tmp_path / "incidents.csv"
    src.write_text("id,lat,lon,date,category\na,16.5,-95.0,2020-01-05,homicide\nb,16.6,-95.1,2020-02-01,robbery\n")
    out = tmp_path / "run"
    assert invoke("score", "--incidents", src, "--out", out, *FAST).exit_code == 0
    src.write_text(src.read_text() + "c,16.7,-95.2,2020-03-01,assault\n")
    result = CliRunner().invoke(cli, ["rerun", str(out), "--out", str(tmp_path / "again")])
    assert result.exit_code == 2
    assert "changed since the recorded run" in result.output
    assert not (tmp_path / "again").exists()


def test_score_iom_sample_reports_rejected_rows(real_data, tmp_path):
    out = tmp_path / "iom"
    result = CliRunner().invoke(
        cli, ["score", "--incidents", str(real_data / "iom_mmp_mexico_2018_sample.csv"), "--out", str(out), *FAST]
    )
    manifest = json.loads((out / "manifest.json").read_text())
    inc = manifest["inputs"][0]
    assert inc["read"] == 437
    assert result.exit_code == (1 if inc["rejected"] else 0)
    if inc["rejected"]:
        assert (out / "rejected_rows.csv").exists()
    seg = gpd.read_parquet(out / "segments.parquet")
    assert seg["n_incidents"].sum() > 0


def test_score_with_deployment_table_as_zones(real_data, tmp_path):
    out = tmp_path / "gn"
    table = real_data / "guardia_nacional_deployment_by_state_month.csv"
    result = invoke("score", "--zones", table, "--zones-format", "deployments", "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    seg = gpd.read_parquet(out / "segments.parquet")
    assert (seg["enforcement_exposure"] > 0).mean() > 0.9  # every state had National Guard personnel


def test_public_mode_suppresses_and_publishes_no_incidents(tmp_path):
    out = tmp_path / "pub"
    result = invoke("score", "--privacy", "public", "--min-count", "8", "--out", out, *FAST)
    assert result.exit_code == 0, result.output
    assert not (out / "incidents.gpkg").exists()
    seg = gpd.read_parquet(out / "segments.parquet")
    low = seg["suppressed"]
    assert low.any()
    assert seg.loc[low, "risk"].isna().all()
    assert seg.loc[~low, "n_incidents"].min() >= 8
    privacy = json.loads((out / "manifest.json").read_text())["privacy"]
    assert privacy == {"mode": "public", "min_count": 8, "geomask_m": None}


def test_existing_output_is_kept_without_overwrite(demo_run):
    before = (demo_run / "segments_ranked.csv").read_bytes()
    result = CliRunner().invoke(cli, ["score", "--out", str(demo_run), *FAST])
    assert result.exit_code == 4
    assert "--overwrite" in result.output
    assert (demo_run / "segments_ranked.csv").read_bytes() == before


def test_run_proposes_sites_and_draws_them(tmp_path):
    from routerisk.model import RiskModel
    from routerisk.pipeline import run

    model = RiskModel()
    res = run(tmp_path / "r", model=model, embedded_zones=True, embedded_shelters=True, sites=2, maps=True,
              command="test")  # fmt: skip
    out = res.out
    sites = pd.read_csv(out / "sites.csv")
    assert sites["rank"].tolist() == [1, 2]
    assert sites["cum_share_covered"].is_monotonic_increasing
    facts = res.manifest["sites"]["result"]
    assert facts["n_sites"] == 2
    assert facts["existing_share"] < facts["share_covered"] <= 1
    assert res.manifest["options"]["sites"] == 2
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Proposed shelter sites" in html
    assert "Protection gaps" in html
    for name in sites["locality"]:
        assert name in html
    layers = gpd.list_layers(out / "sites.gpkg")["name"].tolist()
    assert sorted(layers) == ["coverage", "gaps", "layer_styles", "sites"]
