"""Bad input everywhere, atomic outputs under interruption, locks, and a fuzzed config loader (issue 6)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerisk import RiskModel, RouteRiskError
from routerisk.cli import cli

BAD = Path(__file__).resolve().parent / "data" / "bad"
#: Switch off the slow resampling where the model still has it (the keys were removed in a later model).
FAST = [a for k in ("bootstrap", "permutations") if k in RiskModel().to_dict() for a in ("--param", f"{k}=0")]
SLOW = [a for k in ("bootstrap",) if k in RiskModel().to_dict() for a in ("--param", f"{k}=500")]
ROUTERISK = [sys.executable, "-m", "routerisk"]


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_one_line_error(result, *needles):
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    err = [ln for ln in lines if ln.startswith("Error:")]
    assert len(err) == 1, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in err[0], err[0]


# -- fatal inputs: one message naming the file, exit 2, nothing written ------------------------------------------
FATAL = [
    ("--incidents", "empty.csv", "empty"),
    ("--incidents", "header_only.csv", "no rows"),
    ("--incidents", "binary.csv", "binary"),
    ("--incidents", "no_coordinates.csv", "coordinate"),
    ("--zones", "truncated.geojson", "truncated.geojson"),
    ("--zones", "zones_projected_without_prj.shp", "no .prj"),
]


@pytest.mark.parametrize(("option", "name", "reason"), FATAL)
def test_fatal_input_gives_one_message_and_writes_nothing(tmp_path, option, name, reason):
    out = tmp_path / "out"
    result = invoke("score", option, BAD / name, "--out", out, *FAST)
    assert result.exit_code == 2, result.output
    assert_one_line_error(result, name)
    assert reason.lower() in result.output.lower()
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- row-level problems: the run finishes, exit 1, every rejected row reported with file, row, column, reason ----
ROWS = [
    ("--incidents", "duplicate_ids.csv", "duplicate"),
    ("--incidents", "impossible_dates.csv", "date"),
    ("--incidents", "out_of_range.csv", "range"),
    ("--incidents", "victims.csv", "victims"),
    ("--zones", "zone_points_without_radius.csv", "radius"),
    ("--routes", "routes_zero_length_and_null.geojson", "zero-length"),
]


@pytest.mark.parametrize(("option", "name", "reason"), ROWS)
def test_bad_rows_are_reported_not_dropped(tmp_path, option, name, reason):
    import pandas as pd

    out = tmp_path / "out"
    result = invoke("score", option, BAD / name, "--out", out, *FAST)
    assert result.exit_code == 1, result.output
    rejected = pd.read_csv(out / "rejected_rows.csv")
    assert set(rejected["file"]) == {str(BAD / name)}
    assert rejected["reason"].str.contains(reason, case=False).any()
    assert (rejected["row"] >= 1).all()
    assert rejected["column"].notna().all()


def test_repairable_inputs_are_kept_with_notes(tmp_path):
    import pandas as pd

    out = tmp_path / "out"
    result = invoke("score", "--incidents", BAD / "swapped_latlon.csv", "--zones",
                    BAD / "self_intersecting_polygon.geojson", "--out", out, *FAST)  # fmt: skip
    assert result.exit_code == 0, result.output
    notes = pd.read_csv(out / "input_notes.csv")
    assert notes["reason"].str.contains("swap", case=False).any()
    assert notes["reason"].str.contains("repaired|invalid", case=False).any()


def test_projected_geojson_is_reprojected(tmp_path):
    import geopandas as gpd

    out = tmp_path / "out"
    assert invoke("score", "--incidents", BAD / "incidents_epsg3857.geojson", "--out", out, *FAST).exit_code == 0
    inc = gpd.read_file(out / "incidents.gpkg")
    assert inc.crs.to_epsg() == 4326
    assert inc.geometry.x.between(-118, -86).all()
    assert inc.geometry.y.between(14, 33).all()


# -- configuration ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("[model]\nbandwith_m = 1000\n", "bandwith_m"),
        ('[model]\nbandwidth_m = "wide"\n', "bandwidth_m"),
        ("[model]\nkernel = 3\n", "kernel"),
        ("[model\n", "line"),
    ],
)
def test_bad_config_exit_3_and_nothing_written(tmp_path, toml, needle):
    cfg = tmp_path / "model.toml"
    cfg.write_text(toml)
    result = invoke("score", "--config", cfg, "--out", tmp_path / "out")
    assert result.exit_code == 3, result.output
    assert_one_line_error(result, needle)
    assert not (tmp_path / "out").exists()


def test_bad_param_override(tmp_path):
    result = invoke("score", "--param", "seed", "--out", tmp_path / "out")
    assert result.exit_code == 3
    assert_one_line_error(result, "KEY=VALUE")


# -- output locations ------------------------------------------------------------------------------------------
def test_output_folder_that_is_a_file(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("keep me")
    result = invoke("score", "--out", target, *FAST)
    assert result.exit_code == 4
    assert_one_line_error(result, "is a file")
    assert target.read_text() == "keep me"


def test_output_folder_without_write_permission(tmp_path):
    """An immutable parent folder refuses writes even to root (this machine and CI run as root)."""
    parent = tmp_path / "readonly"
    parent.mkdir()
    if os.geteuid() != 0:
        os.chmod(parent, 0o555)
    elif subprocess.run(["chattr", "+i", str(parent)], capture_output=True).returncode != 0:
        pytest.skip("cannot make a folder read-only for root here (chattr +i refused)")
    try:
        result = invoke("score", "--out", parent / "run", *FAST)
        assert result.exit_code == 4, result.output
        assert_one_line_error(result, str(parent))
        assert "cannot write" in result.output or "permission denied" in result.output
        assert list(parent.iterdir()) == []
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(parent)], check=True)
        os.chmod(parent, 0o755)


def test_second_concurrent_run_is_refused(tmp_path):
    (tmp_path / ".run.lock").write_text(str(os.getpid()))  # a live process holds the lock
    result = invoke("score", "--out", tmp_path / "run", *FAST)
    assert result.exit_code == 4
    assert_one_line_error(result, "another routerisk run")
    assert not (tmp_path / "run").exists()


def test_debug_shows_the_traceback(tmp_path):
    result = CliRunner().invoke(cli, ["--debug", "score", "--incidents", str(BAD / "empty.csv"), "--out",
                                      str(tmp_path / "o")])  # fmt: skip
    assert isinstance(result.exception, RouteRiskError)


# -- interruption ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def big_incidents(tmp_path_factory):
    """300,000 synthetic incidents: a run that takes seconds, so a signal lands while it works."""
    from routerisk import synthetic_incidents

    inc = synthetic_incidents(300_000, seed=11)
    path = tmp_path_factory.mktemp("big") / "incidents.csv"
    inc.drop(columns="geometry").assign(lon=inc.geometry.x, lat=inc.geometry.y).to_csv(path, index=False)
    return path


def _start_run(out: Path, incidents: Path) -> subprocess.Popen:
    # a background job (CI) may inherit SIGINT as ignored, and Python then keeps ignoring it: restore the default
    # so the child installs its KeyboardInterrupt handler as in a terminal
    return subprocess.Popen(
        [*ROUTERISK, "score", "--incidents", str(incidents), "--out", str(out), "--overwrite",
         *SLOW, "--param", "segment_length_m=1000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def _wait_for_tmp(parent: Path, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while not any(p.name.startswith(".routerisk-tmp-") for p in parent.iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout
        time.sleep(0.02)


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("prev") / "run"
    assert invoke("score", "--out", out, *FAST).exit_code == 0
    return out


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_interrupted_run_leaves_previous_outputs_intact(previous_run, big_incidents, sig):
    before = {p.name: p.read_bytes() for p in previous_run.iterdir()}
    proc = _start_run(previous_run, big_incidents)
    _wait_for_tmp(previous_run.parent, proc)
    time.sleep(0.3)  # inside the run: reading 300,000 rows alone takes longer
    assert proc.poll() is None
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert {p.name: p.read_bytes() for p in previous_run.iterdir()} == before
    leftovers = [p.name for p in previous_run.parent.iterdir() if p.name.startswith(".routerisk-tmp-")]
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "Traceback" not in err
        assert leftovers == []
        assert not (previous_run.parent / ".run.lock").exists()
    else:
        # a killed process cannot clean up: its temporary folder sits beside (never inside) the target,
        # and the next run into the same place removes it together with the stale lock
        assert invoke("score", "--out", previous_run, "--overwrite", *FAST).exit_code == 0
        names = [p.name for p in previous_run.parent.iterdir()]
        assert names == ["run"], names


# -- fuzzed config loader ----------------------------------------------------------------------------------------
values = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True), st.text(max_size=20),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=8), st.floats(), max_size=3),
)  # fmt: skip
keys = st.sampled_from([*RiskModel().to_dict().keys(), "bandwith", "", "model"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, values, max_size=4))
def test_config_from_dict_only_raises_routerisk_errors(d):
    with contextlib.suppress(RouteRiskError):  # anything else fails the test
        RiskModel.from_dict(d)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=200))
def test_config_from_toml_text_only_raises_routerisk_errors(tmp_path, text):
    cfg = tmp_path / "m.toml"
    cfg.write_text("[model]\n" + text, encoding="utf-8")
    with contextlib.suppress(RouteRiskError):
        RiskModel.from_toml(cfg)


def test_osm_network_without_the_osm_extra_says_how_to_install_it(monkeypatch):
    """osmnx is the optional [osm] extra: without it, an OSM network is one clear error with the install line."""
    from routerisk import InputError, build_route

    osm = Path(__file__).resolve().parent / "data" / "osm" / "detour.osm"
    monkeypatch.setitem(sys.modules, "osmnx", None)  # `import osmnx` raises ImportError
    with pytest.raises(InputError, match=r'pip install "routerisk\[osm\]"'):
        build_route([(-92.0005, 15.0), (-91.9695, 15.0)], network=osm)


def test_package_versions_read_metadata_without_importing_test_only_packages():
    """The manifest records versions from installed metadata: no import of esda or mapclassify (test-only)."""
    code = (
        "import sys; from routerisk.manifest import package_versions; v = package_versions(); "
        "print(sorted(m for m in ('esda', 'mapclassify', 'libpysal', 'osmnx') if m in sys.modules), "
        "'esda' in v, 'mapclassify' in v, v['numpy'] != 'not installed')"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["[]", "False", "False", "True"]
