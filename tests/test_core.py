"""Errors, CRS choice and atomic output folders."""

from __future__ import annotations

import os

import geopandas as gpd
import numpy as np
import pytest
from click.testing import CliRunner
from shapely import Point

import routerisk
from routerisk._atomic import atomic_dir, atomic_file
from routerisk.cli import cli
from routerisk.schema import compute_severity, victims_factor


def test_error_tree_subclasses_builtins():
    assert issubclass(routerisk.InputError, ValueError)
    assert issubclass(routerisk.OutputError, OSError)
    for exc in (routerisk.InputError, routerisk.ConfigError, routerisk.CRSMismatchError, routerisk.OutputError):
        assert issubclass(exc, routerisk.RouteRiskError)


def test_analysis_crs_mexico_and_elsewhere():
    assert routerisk.analysis_crs((-99.5, 19.0, -98.9, 19.7)).to_epsg() == 6372
    local = routerisk.analysis_crs((10.0, 45.0, 11.0, 46.0))
    assert local.is_projected
    assert "Azimuthal Equidistant" in local.to_wkt()
    assert routerisk.analysis_crs(crs="EPSG:32614").to_epsg() == 32614
    with pytest.raises(routerisk.ConfigError, match="projected CRS in metres"):
        routerisk.analysis_crs(crs="EPSG:4326")
    with pytest.raises(routerisk.ConfigError, match="not a coordinate reference system"):
        routerisk.analysis_crs(crs="nonsense")


def test_check_same_crs_raises_with_both_names():
    a = gpd.GeoDataFrame(geometry=[Point(0, 0)], crs="EPSG:4326")
    b = a.to_crs("EPSG:3857")
    with pytest.raises(routerisk.CRSMismatchError, match="`incidents` and `segments`"):
        routerisk.check_same_crs(("incidents", a), ("segments", b))
    with pytest.raises(routerisk.CRSMismatchError, match="no CRS"):
        routerisk.check_same_crs(("x", gpd.GeoDataFrame(geometry=[Point(0, 0)])))


def test_atomic_dir_replaces_only_on_success(tmp_path):
    out = tmp_path / "run"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("first")
        (tmp / "manifest.json").write_text('{"manifest_version": 1, "software": {"routerisk": "0"}}')  # a run
    with pytest.raises(routerisk.OutputError, match="--overwrite"):
        with atomic_dir(out):
            pass
    with pytest.raises(RuntimeError), atomic_dir(out, overwrite=True) as tmp:
        (tmp / "a.txt").write_text("second")
        raise RuntimeError("boom")
    assert (out / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    with atomic_dir(out, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("second")
    assert sorted(p.name for p in out.iterdir()) == ["b.txt"]


def test_atomic_dir_refuses_a_file_and_a_live_lock(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(routerisk.OutputError, match="is a file"):
        with atomic_dir(f):
            pass
    (tmp_path / ".run.lock").write_text(str(os.getpid()))
    with pytest.raises(routerisk.OutputError, match="another routerisk run"):
        with atomic_dir(tmp_path / "run"):
            pass
    (tmp_path / ".run.lock").write_text("999999999")  # stale: no such process
    with atomic_dir(tmp_path / "run") as tmp:
        (tmp / "x").write_text("ok")
    assert not (tmp_path / ".run.lock").exists()


def test_atomic_file(tmp_path):
    p = tmp_path / "x.txt"
    with atomic_file(p) as tmp:
        tmp.write_text("one")
    with pytest.raises(ValueError), atomic_file(p) as tmp:
        tmp.write_text("two")
        raise ValueError
    assert p.read_text() == "one"
    assert [q.name for q in tmp_path.iterdir()] == ["x.txt"]


def test_severity_by_hand():
    np.testing.assert_allclose(victims_factor([1, np.e**2], "log"), [1.0, 3.0])
    np.testing.assert_allclose(compute_severity(["homicide", "nonsense"], [3, 1], how="linear"), [3.0, 0.3])
    with pytest.raises(ValueError, match="victims_factor"):
        victims_factor([1], "cubic")


def test_cli_help_lists_exit_codes():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "Exit codes" in result.output and "rejected" in result.output
