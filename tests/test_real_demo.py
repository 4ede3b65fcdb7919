"""The default demo runs on the embedded real data (IOM records, National Guard deployment), with attribution."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from click.testing import CliRunner

from routerisk._paths import data_path
from routerisk.cli import cli

REAL = Path(__file__).parent / "data" / "real"


@pytest.mark.parametrize("name", ["iom_mmp_mexico_box_2014_2020.csv", "guardia_nacional_deployment_by_state_month.csv",
                                  "inm_foreigners_presented_by_state_month.csv"])  # fmt: skip
def test_embedded_real_files_are_the_published_samples(name):
    digest = lambda p: hashlib.sha256(Path(p).read_bytes()).hexdigest()  # noqa: E731
    assert digest(data_path(name)) == digest(REAL / name)  # shipped unchanged


@pytest.mark.slow
def test_default_demo_is_real_and_credited(tmp_path):
    out = tmp_path / "demo"
    res = CliRunner().invoke(cli, ["demo", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "IOM Missing Migrants Project records of deaths and disappearances" in res.output
    assert "SYNTHETIC" not in res.output
    manifest = json.loads((out / "manifest.json").read_text())
    roles = {r["role"]: r for r in manifest["inputs"]}
    # files of routerisk's own data folder are named as embedded: no path of this machine in the manifest
    assert roles["incidents"]["path"] == "embedded:iom_mmp_mexico_box_2014_2020.csv"
    assert roles["zones"]["path"] == "embedded:guardia_nacional_deployment_by_state_month.csv"
    assert not any(Path(r["path"]).is_absolute() for r in manifest["inputs"])
    assert roles["incidents"]["read"] == 1990
    assert not manifest["data"]["synthetic_incidents"] and not manifest["data"]["illustrative_zones"]
    assert manifest["outside_study_area"]["kept"] == manifest["data"]["incidents"] < 1990
    credits = " ".join(manifest["attribution"])
    for word in ("IOM Missing Migrants Project", "minimum count", "FelipeSaNa", "GeoNames", "INEGI"):
        assert word in credits
    html = (out / "routerisk_demo.html").read_text()
    assert "IOM Missing Migrants Project" in html and "Personnel deployed" in html
    assert "Deaths and disappearances of migrants recorded by the IOM" in html
    assert "Synthetic / illustrative data" not in html
    shelters = gpd.read_file(out / "shelters.gpkg", layer="shelters")
    assert not shelters["illustrative"].astype(bool).any() and len(shelters) == 24
    ranked = pd.read_csv(out / "segments_ranked.csv")
    assert ranked["nearest_locality"].str.contains(", ").all()
    assert len(pd.read_csv(out / "sites.csv")) == 5
    # the rerun reads the same embedded files (as files, not as the synthetic default layers) and reproduces
    again = tmp_path / "again"
    res = CliRunner().invoke(cli, ["rerun", str(out), "--out", str(again)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert (again / "segments_ranked.csv").read_bytes() == (out / "segments_ranked.csv").read_bytes()
    assert json.loads((again / "manifest.json").read_text())["inputs"] == manifest["inputs"]


@pytest.mark.slow
def test_synthetic_demo_stays_labelled(tmp_path):
    out = tmp_path / "syn"
    res = CliRunner().invoke(cli, ["demo", "--synthetic", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "SYNTHETIC" in res.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data"]["synthetic_incidents"]
    assert "SYNTHETIC" in " ".join(manifest["attribution"])
    assert "Synthetic / illustrative data" in (out / "routerisk_demo.html").read_text()
