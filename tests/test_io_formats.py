"""The incident format registry (``routerisk.io.formats``): one table read by the reader, both CLI commands, the
manifest check and the docs; and the walk of CONTRIBUTING.md: a format added in one place is picked up by all.

The walk registers a tiny CSV dialect, as a prosecutor's open-data table might be written (``LAT_Y``, ``LON_X``,
``FECHA_HECHO``, ``DELITO``), with a detector and a 6-line adapter on top of the generic one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import routerisk
from routerisk import InputError, io
from routerisk.cli import cli
from routerisk.io import formats
from routerisk.io._manifest import check_rerun_manifest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "data-sources.md"
NAME = "fiscalia"

DIALECT = (
    "FOLIO,FECHA_HECHO,DELITO,LAT_Y,LON_X\n"
    "A-1,2021-03-04,SECUESTRO,16.75,-93.125\n"
    "A-2,2021-03-05,ROBO,17.5,-92.0\n"
    "A-3,2021-03-06,ROBO,not a number,-92.0\n"
)


def fiscalia_parts(rows, df, file):
    """The adapter of the test dialect: rename its columns, then the generic adapter; tag the source."""
    names = {"FOLIO": "id", "FECHA_HECHO": "fecha", "DELITO": "tipo", "LAT_Y": "lat", "LON_X": "lon"}
    parts = formats.INCIDENT_FORMATS["csv"].parts(rows, formats.rename_columns(rows, df, names), file)
    parts["source"] = np.full(len(df), "fiscalia test dialect", dtype=object)
    return parts


@pytest.fixture
def dialect(tmp_path):
    """The test dialect registered for one test (and removed after it), with a file written in it."""
    fmt = formats.register_incident_format(
        NAME, fiscalia_parts, detect=lambda names: {"lat_y", "lon_x", "fecha_hecho"} <= names,
        description="A prosecutor's open-data table (FOLIO, FECHA_HECHO, DELITO, LAT_Y, LON_X).",
    )  # fmt: skip
    path = tmp_path / "fiscalia.csv"
    path.write_text(DIALECT, encoding="utf-8")
    try:
        yield fmt, path
    finally:
        formats.unregister_incident_format(NAME)


# ------------------------------------------------------------------------------------------------ the table


def test_builtin_formats_in_detection_order():
    assert tuple(formats.INCIDENT_FORMATS) == ("iom", "acled", "csv")
    assert io.incident_format_names() == ("auto", "iom", "acled", "csv", "vector")
    assert formats.table_format_names() == ("iom", "acled")
    assert all(f.name == k and f.description for k, f in formats.INCIDENT_FORMATS.items())


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["Web ID", "Cause of Death", "Location Coordinates"], "iom"),
        (["Main ID", "Incident Date", "Coordinates"], "iom"),
        (["Coordinates", "Incident Date"], "iom"),
        (["event_date", "event_type", "latitude", "longitude"], "acled"),
        (["Event Date", "EVENT_TYPE", "Latitude", "Longitude"], "acled"),
        (["event_date", "latitude", "longitude"], "csv"),  # no event_type: not ACLED
        (["id", "fecha", "latitud", "longitud"], "csv"),
        ([], "csv"),
    ],
)
def test_detect_format_by_hand(columns, expected):
    assert io.detect_format(columns) == expected


_COLUMN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_ ÁÉéñ0123456789", min_size=0, max_size=14)


@given(st.lists(_COLUMN, max_size=8))
def test_detection_is_a_registered_name_and_ignores_case_and_spacing(columns):
    found = io.detect_format(columns)
    assert found in formats.INCIDENT_FORMATS
    assert io.detect_format([f"  {c.upper()} " for c in columns]) == found
    # an IOM marker column makes any table IOM (IOM is first in the table)
    assert io.detect_format([*columns, "Web ID"]) == "iom"


def test_unknown_format_is_one_input_error_naming_the_choices(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text("lat,lon\n16.9,-92.1\n", encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(str(io.incident_format_names()))):
        io.read_incidents(p, format="fiscalia", report=io.ValidationReport())


@pytest.mark.parametrize("name", ["auto", "vector", "", "IOM", "1x", "a b", "x" * 33, None])
def test_register_refuses_bad_names(name):
    with pytest.raises(ValueError, match="incident format name"):
        formats.register_incident_format(name, fiscalia_parts, description="x")


def test_register_refuses_a_repeated_name_and_non_callables(dialect):
    with pytest.raises(ValueError, match="already registered"):
        formats.register_incident_format(NAME, fiscalia_parts, description="again")
    with pytest.raises(TypeError, match="callables"):
        formats.register_incident_format("other", "not a function", description="x")
    with pytest.raises(ValueError, match="built in"):
        formats.unregister_incident_format("iom")


def test_validation_report_is_public():
    assert routerisk.ValidationReport is io.ValidationReport
    assert routerisk.RejectedRowsWarning is io.RejectedRowsWarning
    assert "ValidationReport" in routerisk.__all__ and "ValidationReport" in io.__all__


# ------------------------------------------------------------------------------------------------ the walk


def test_walk_reader_detects_the_new_dialect(dialect):
    _, path = dialect
    report = io.ValidationReport()
    g = io.read_incidents(path, report=report)
    # hand-computed: rows 2 and 3 kept; row 4 has a latitude that is not a number
    assert g["incident_id"].tolist() == ["A-1", "A-2"]
    assert g["source"].astype(str).tolist() == ["fiscalia test dialect"] * 2  # our adapter ran
    assert g["category"].astype(str).tolist() == ["kidnapping", "robbery"]
    np.testing.assert_allclose(g.geometry.x, [-93.125, -92.0])
    np.testing.assert_allclose(g.geometry.y, [16.75, 17.5])
    assert g["date"].tolist() == [pd.Timestamp("2021-03-04"), pd.Timestamp("2021-03-05")]
    rej = report.rejected
    assert rej[["row", "column", "reason"]].values.tolist() == [[4, "LAT_Y", "not a number"]]  # the file's name
    # the same file named explicitly gives the same table
    same = io.read_incidents(path, format=NAME, report=io.ValidationReport())
    pd.testing.assert_frame_equal(pd.DataFrame(same), pd.DataFrame(g))


def test_walk_without_the_entry_the_file_is_read_generically(tmp_path):
    path = tmp_path / "fiscalia.csv"
    path.write_text(DIALECT, encoding="utf-8")
    assert io.detect_format(pd.read_csv(path, nrows=0).columns) == "csv"
    with pytest.raises(InputError, match="no coordinate columns"):
        io.read_incidents(path, report=io.ValidationReport())


def test_walk_validate_command_accepts_the_new_format(dialect, tmp_path, monkeypatch):
    _, path = dialect
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["validate", str(path), "--kind", "incidents", "--format", NAME])
    assert res.exit_code == 1, res.output  # one row rejected
    assert "3 rows read, 2 kept, 1 rejected" in res.output
    assert (tmp_path / "fiscalia.rejected.csv").is_file()
    # a table format applies to incidents only, like iom and acled
    res = CliRunner().invoke(cli, ["validate", str(path), "--kind", "zones", "--format", NAME, "--overwrite"])
    assert res.exit_code == 2 and "applies to --kind incidents only" in res.output
    help_text = CliRunner().invoke(cli, ["validate", "--help"]).output
    assert NAME in help_text


def test_walk_score_command_accepts_the_new_format(dialect, tmp_path):
    _, path = dialect
    out = tmp_path / "run"
    res = CliRunner().invoke(cli, ["score", "--incidents", str(path), "--incidents-format", NAME, "--out", str(out),
                                   "--param", "neighbour_steps=2"])  # fmt: skip
    assert res.exit_code == 1, res.output  # the documented code for "rows were rejected"
    assert len(pd.read_csv(out / "segments_ranked.csv")) > 0
    rejected = pd.read_csv(out / "rejected_rows.csv")
    assert rejected[["row", "column"]].values.tolist() == [[4, "LAT_Y"]]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert [i.get("format") for i in manifest["inputs"] if i["role"] == "incidents"] == [NAME]
    assert NAME in CliRunner().invoke(cli, ["score", "--help"]).output


def test_walk_rerun_manifest_accepts_the_new_format(dialect):
    doc = {"inputs": [{"role": "incidents", "path": "x.csv", "sha256": "0" * 64, "format": NAME}],
           "model": {}, "privacy": {"mode": "internal", "min_count": 5}}  # fmt: skip
    assert check_rerun_manifest(doc, "manifest.json") == [Path("x.csv")]
    formats.unregister_incident_format(NAME)
    with pytest.raises(InputError, match="format"):
        check_rerun_manifest(doc, "manifest.json")


@pytest.mark.parametrize("command", [["validate", "x.csv", "--kind", "incidents", "--format"],
                                     ["score", "--incidents-format"]])  # fmt: skip
def test_both_commands_refuse_an_unregistered_format(command):
    res = CliRunner().invoke(cli, [*command, NAME])
    assert res.exit_code == 2
    assert "Invalid value" in res.output
    for name in io.incident_format_names():
        assert name in res.output


# ------------------------------------------------------------------------------------------------ the docs


def test_docs_list_exactly_the_registered_formats():
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("<!-- incident-formats:", 1)[1].split("<!-- /incident-formats -->", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9_-]+)` \| (.+?) \|$", block, flags=re.M)
    assert rows == [(f.name, f.description) for f in formats.INCIDENT_FORMATS.values()]
