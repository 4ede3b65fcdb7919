"""``routerisk map`` through click's CliRunner, on hand-made run folders."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from browser_utils import make_incidents, make_segments, make_shelters, make_zones
from routerisk.cli import cli


def _run_folder(path, privacy="internal"):
    path.mkdir()
    make_segments().to_file(path / "segments.gpkg", layer="segments", driver="GPKG")
    make_zones().to_file(path / "zones.gpkg", layer="zones", driver="GPKG")
    make_shelters().to_file(path / "shelters.gpkg", layer="shelters", driver="GPKG")
    if privacy == "internal":
        make_incidents().to_file(path / "incidents.gpkg", layer="incidents", driver="GPKG")
    manifest = {
        "manifest_version": 1,
        "inputs": [{"role": "incidents", "path": "embedded"}],
        "privacy": {"mode": privacy, "min_count": 5},
        "data": {"synthetic_incidents": True, "incident_dates": ["2024-01-01", "2024-12-26"]},
    }
    (path / "manifest.json").write_text(json.dumps(manifest))
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return _run_folder(tmp_path_factory.mktemp("cli") / "run")


def test_html_with_embed(run_dir, tmp_path):
    out = tmp_path / "m.html"
    res = CliRunner().invoke(cli, ["map", "--run", str(run_dir), "--out", str(out), "--embed"])
    assert res.exit_code == 0, res.output
    assert out.exists() and (tmp_path / "m.embed.html").exists()
    doc = out.read_text()
    assert "internal map" in doc and "Synthetic" in doc and "2024-01-01 to 2024-12-26" in doc
    assert "wrote" in res.output


def test_public_html_from_internal_run(run_dir, tmp_path):
    out = tmp_path / "p.html"
    res = CliRunner().invoke(cli, ["map", "--run", str(run_dir), "--out", str(out), "--privacy", "public"])
    assert res.exit_code == 0, res.output
    doc = out.read_text()
    assert "public map" in doc and "inc-1" not in doc and "L.heatLayer(" not in doc


@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_static_formats(run_dir, tmp_path, fmt):
    out = tmp_path / f"m.{fmt}"
    res = CliRunner().invoke(cli, ["map", "--run", str(run_dir), "--out", str(out), "--dpi", "60"])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 1000


def test_public_run_cannot_become_internal(tmp_path):
    run = _run_folder(tmp_path / "pub", privacy="public")
    res = CliRunner().invoke(cli, ["map", "--run", str(run), "--out", str(tmp_path / "m.html"),
                                   "--privacy", "internal"])
    assert res.exit_code == 3 and "public mode" in res.output
    res = CliRunner().invoke(cli, ["map", "--run", str(run), "--out", str(tmp_path / "m.html")])
    assert res.exit_code == 0, res.output


def test_missing_run_folder(tmp_path):
    res = CliRunner().invoke(cli, ["map", "--run", str(tmp_path / "nope"), "--out", str(tmp_path / "m.html")])
    assert res.exit_code == 2 and "does not exist" in res.output and "Traceback" not in res.output
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(cli, ["map", "--run", str(empty), "--out", str(tmp_path / "m.html")])
    assert res.exit_code == 2 and "segments.gpkg" in res.output
    assert not (tmp_path / "m.html").exists()


def test_embed_needs_html(run_dir, tmp_path):
    res = CliRunner().invoke(cli, ["map", "--run", str(run_dir), "--out", str(tmp_path / "m.png"), "--embed"])
    assert res.exit_code == 2 and "--embed" in res.output
