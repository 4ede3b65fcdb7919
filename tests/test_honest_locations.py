"""IOM location precision from descriptions and coordinate patterns (routerisk.io._placeholders)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from routerisk import ValidationReport
from routerisk.cli import cli
from routerisk.io import read_incidents
from routerisk.io._placeholders import PLACEHOLDER_MIN, shared_point_counts

REAL = Path(__file__).parent / "data" / "real" / "iom_mmp_mexico_box_2014_2020.csv"
COLUMNS = ["Web ID", "Reported Date", "Total Dead and Missing", "Cause of Death", "Location Description",
           "Location Coordinates"]  # fmt: skip

DESCRIPTIONS = [
    ("Pima County jurisdiction, Arizona, USA", "municipality"),
    ("Pima County (see spreadsheet for exact location)", "municipality"),
    ("Webb County, Texas, USA", "municipality"),
    ("Chiapas, Mexico", "state"),
    ("Texas", "state"),
    ("Unknown location", "unknown"),
    ("", "unknown"),
    ("Train tracks near Celaya, Guanajuato, Mexico", "locality"),
    ("Río Bravo, near Reynosa, Tamaulipas, Mexico", "locality"),
    ("Near mile marker 131 on Highway 9, Doña Ana County, New Mexico", "exact"),
    ("Train tracks, KM 114, near Tres Valles, Veracruz, Mexico", "exact"),
    ("Río Bravo, near International Bridge II, Piedras Negras, Coahuila, Mexico", "exact"),
]


def _iom(path: Path, rows: list[tuple[str, str]]) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for i, (desc, coords) in enumerate(rows, start=1):
        w.writerow([str(i), "3-Jan-19", "1", "Drowning", desc, coords])
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _read(path: Path):
    report = ValidationReport()
    return read_incidents(path, report=report, geometry=False), report


def test_shared_point_counts_by_hand():
    lon = np.array([-112.0, -112.000001, -112.0, -99.0, np.nan])
    lat = np.array([32.0, 32.0, 32.00002, 19.0, np.nan])
    assert shared_point_counts(lon, lat).tolist() == [2, 2, 1, 1, 0]


def test_precision_from_descriptions(tmp_path):
    # distinct points with many decimals: the decimals alone would make every row "exact"
    rows = [(d, f"{16.0 + i * 0.01:.6f}, {-92.0 - i * 0.01:.6f}") for i, (d, _) in enumerate(DESCRIPTIONS)]
    g, report = _read(_iom(tmp_path / "iom.csv", rows))
    assert list(g["location_precision"]) == [p for _, p in DESCRIPTIONS]
    down = report.notes.query("action == 'downgraded'")
    assert sorted(down["row"]) == [2, 3, 4, 5, 6, 7, 8]  # every downgrade noted; header is row 1


def test_placeholder_point_is_not_exact(tmp_path):
    # 12 records at one point with precise-looking descriptions, and one record elsewhere
    rows = [("Near mile marker 12 on Highway 86, Arizona, USA", "31.9652, -113.01189")] * PLACEHOLDER_MIN
    rows += [("Near mile marker 12 on Highway 86, Arizona, USA", "31.9652, -113.01189")] * 2
    rows += [("Near mile marker 40 on Highway 86, Arizona, USA", "32.100123, -112.500456")]
    g, report = _read(_iom(tmp_path / "iom.csv", rows))
    assert list(g["location_precision"]) == ["municipality"] * 12 + ["exact"]
    notes = report.notes.query("action == 'downgraded'")
    assert len(notes) == 12 and notes["value"].iloc[0] == "12 records share this point"


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=25))
def test_property_shared_points_are_exact_only_below_the_threshold(k):
    import tempfile

    rows = [("Calle Hidalgo 5, Nuevo Laredo, Tamaulipas, Mexico", "27.500123, -99.500456")] * k
    with tempfile.TemporaryDirectory() as d:
        g, _ = _read(_iom(Path(d) / "iom.csv", rows))
    expected = "municipality" if k >= PLACEHOLDER_MIN else "exact"
    assert (g["location_precision"] == expected).all()


def test_real_box_file_pima_placeholders_are_not_exact():
    g, _ = _read(REAL)
    raw = pd.read_csv(REAL, dtype=str, keep_default_na=False)
    at = (raw["latitude"].astype(float).round(5) == 31.9652) & (raw["longitude"].astype(float).round(5) == -113.01189)
    assert at.sum() == 156  # the Pima County point of the issue
    ids = set(raw.loc[at, "Web ID"])
    prec = g.set_index(g["incident_id"].astype(str))["location_precision"]
    assert set(prec[list(ids)]) == {"municipality"}
    counts = g["location_precision"].value_counts()
    assert counts["exact"] < 0.15 * len(g)  # was 100 % by decimals


def test_score_reports_precision_counts(tmp_path):
    df = pd.read_csv(REAL, dtype=str, keep_default_na=False).head(400)
    src = tmp_path / "iom.csv"
    df.to_csv(src, index=False)
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["score", "--incidents", str(src), "--out", str(out), "--param",
                                      "neighbour_steps=2"], catch_exceptions=False)  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    manifest = json.loads((out / "manifest.json").read_text())
    counts = manifest["location_precision"]
    assert sum(counts.values()) == manifest["data"]["incidents"]
    assert counts["municipality"] > 0 and counts["exact"] < manifest["data"]["incidents"]
    assert "Location precision of the" in result.output
