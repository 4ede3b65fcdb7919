"""``routerisk validate``: summary, rejected-rows CSV, exit codes, and the bad-input corpus through the CLI."""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from click.testing import CliRunner

from routerisk.cli import cli


@pytest.fixture
def run(tmp_path, monkeypatch):
    """Invoke the CLI from an empty working folder (where default outputs go)."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)

    def _run(*args):
        return CliRunner().invoke(cli, ["validate", *map(str, args)])

    _run.cwd = work
    return _run


def test_iom_sample_all_kept(run, real_data):
    path = real_data / "iom_mmp_mexico_2018_sample.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        n = sum(1 for r in csv.DictReader(fh) if r["latitude"] and r["longitude"])
    result = run(path, "--kind", "incidents")
    assert result.exit_code == 0, result.output
    assert f"437 rows read, {n} kept, 0 rejected" in result.output
    assert "cause of death unknown" in result.output
    assert "All rows kept." in result.output
    assert list(run.cwd.iterdir()) == []


def test_rejected_rows_written_to_cwd_not_next_to_input(run, test_data):
    result = run(test_data / "bad" / "victims.csv", "--kind", "incidents")
    assert result.exit_code == 1, result.output
    assert "4 rows read, 3 kept, 1 rejected" in result.output  # 5000 victims: kept as a mass-casualty event
    assert "negative number of victims" in result.output
    out = run.cwd / "victims.rejected.csv"
    assert out.is_file()
    assert not (test_data / "bad" / "victims.rejected.csv").exists()
    df = pd.read_csv(out)
    assert df["row"].tolist() == [2]
    assert list(df.columns) == ["file", "row", "column", "value", "reason", "action"]
    assert set(df["action"]) == {"rejected"}
    assert [p.name for p in run.cwd.iterdir()] == ["victims.rejected.csv"]  # no temporary files left


def test_rejected_option(run, test_data, tmp_path):
    target = tmp_path / "out" / "bad_rows.csv"
    result = run(test_data / "bad" / "duplicate_ids.csv", "--kind", "incidents", "--rejected", target)
    assert result.exit_code == 1
    assert pd.read_csv(target)["value"].tolist() == ["x1 (first at row 2)"]
    assert str(target) in result.output


# (file, kind, exit code, text in output)
CORPUS = [
    ("empty.csv", "incidents", 2, "is empty"),
    ("header_only.csv", "incidents", 2, "header but no rows"),
    ("binary.csv", "incidents", 2, "not a text file"),
    ("truncated.geojson", "zones", 2, "cannot read"),
    ("no_coordinates.csv", "incidents", 2, "no coordinate columns"),
    ("zones_projected_without_prj.shp", "zones", 2, "no .prj file"),
    ("latin1.csv", "incidents", 0, "read as Windows-1252"),
    ("swapped_latlon.csv", "incidents", 0, "latitude and longitude swapped"),
    ("decimal_commas.csv", "incidents", 0, "decimal comma"),
    ("incidents_epsg3857.geojson", "incidents", 0, "reprojected from EPSG:3857"),
    ("zones_without_prj.shp", "zones", 0, "EPSG:4326 assumed"),
    ("self_intersecting_polygon.geojson", "zones", 0, "repaired with make_valid"),
    ("out_of_range.csv", "incidents", 1, "coordinate out of range"),
    ("impossible_dates.csv", "incidents", 1, "impossible date"),
    ("victims.csv", "incidents", 1, "negative number of victims"),
    ("duplicate_ids.csv", "incidents", 1, "duplicate id"),
    ("zone_points_without_radius.csv", "zones", 1, "point zone without radius_m"),
    ("routes_zero_length_and_null.geojson", "routes", 1, "zero-length route"),
]


@pytest.mark.parametrize(("name", "kind", "code", "text"), CORPUS)
def test_bad_input_corpus(run, test_data, name, kind, code, text):
    path = test_data / "bad" / name
    result = run(path, "--kind", kind)
    assert result.exit_code == code, result.output
    assert text in result.output
    assert "Traceback" not in result.output
    written = sorted(p.name for p in run.cwd.iterdir())
    if code == 1:
        assert written == [f"{path.stem}.rejected.csv"]
    else:
        assert written == []  # nothing written when all kept or when the file is unusable
    if code == 2:
        assert result.output.startswith("Error: ") and name in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_routes_null_and_zero_length_reasons(run, test_data):
    result = run(test_data / "bad" / "routes_zero_length_and_null.geojson", "--kind", "routes")
    df = pd.read_csv(run.cwd / "routes_zero_length_and_null.rejected.csv")
    assert df.set_index("row")["reason"].to_dict() == {
        2: "missing or empty geometry",
        3: "zero-length route (all its points coincide)",
    }
    assert result.exit_code == 1


def test_missing_file_exit_2(run, tmp_path):
    result = run(tmp_path / "nope.csv", "--kind", "incidents")
    assert result.exit_code == 2
    assert "nope.csv" in result.output and "does not exist" in result.output


def test_format_iom_only_for_incidents(run, test_data):
    result = run(test_data / "bad" / "victims.csv", "--kind", "zones", "--format", "iom")
    assert result.exit_code == 2
    assert "--kind incidents only" in result.output


def test_explicit_format(run, test_data):
    result = run(test_data / "io" / "acled_sample.csv", "--kind", "incidents", "--format", "acled")
    assert result.exit_code == 0, result.output
    assert "5 rows read, 5 kept" in result.output


def test_deployments_with_embedded_states(run, real_data):
    pytest.importorskip("routerisk.datasets", reason="routerisk.datasets (embedded states) not available yet")
    path = real_data / "guardia_nacional_deployment_by_state_month.csv"
    result = run(path, "--kind", "deployments")
    assert result.exit_code == 0, result.output
    assert "800 rows read, 800 kept, 0 rejected" in result.output


def test_shelters_kind(run, tmp_path):
    p = tmp_path / "albergues.csv"
    text = "nombre,tipo,latitud,longitud\nLa 72,albergue,17.47,-91.42\nCOMAR,comar,14.9,-92.26\n"
    p.write_text(text, encoding="utf-8")
    result = run(p, "--kind", "shelters")
    assert result.exit_code == 0, result.output
    assert "2 rows read, 2 kept, 0 rejected" in result.output
