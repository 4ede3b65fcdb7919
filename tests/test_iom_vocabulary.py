"""IOM causes of death -> documented categories, and the mass-casualty sanity limit (kept, noted; not rejected)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routerisk import ValidationReport
from routerisk.io import _incidents, read_incidents
from routerisk.schema import CATEGORIES, DEFAULT_CATEGORY_WEIGHTS

REAL = Path(__file__).parent / "data" / "real" / "iom_mmp_mexico_box_2014_2020.csv"
COLUMNS = ["Web ID", "Reported Date", "Total Dead and Missing", "Cause of Death", "Location Description",
           "Location Coordinates"]  # fmt: skip

CAUSES = [
    ("Shot", "homicide"),
    ("Stabbed", "homicide"),
    ("Beaten", "homicide"),
    ("Violence", "homicide"),
    ("Unknown (violence)", "homicide"),
    ("Excessive Physical Abuse", "homicide"),
    ("Excessive Physical Abuse, Sexual abuse", "homicide"),
    ("Unknown (multiple blunt force injuries)", "homicide"),
    ("Sexual abuse", "sexual_violence"),
    ("Sickness and lack of access to medicines", "sickness"),
    ("Bacterial infection, Sickness and lack of access to medicines", "sickness"),
    ("Heart attack", "sickness"),
    ("Presumed drowning", "drowning"),
    ("Fall from train", "accident"),
    ("Hyperthermia", "exposure"),
    ("Suicide", "other"),
    ("Unknown (skeletal remains)", "other"),
]


def _iom(tmp_path: Path, rows: list[tuple[str, str, str]]) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(COLUMNS)
    for i, (cause, victims, coords) in enumerate(rows, start=1):
        w.writerow([str(i), "3-Jan-19", victims, cause, "somewhere", coords])
    p = tmp_path / "iom.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    return p


def _read(path: Path):
    report = ValidationReport()
    return read_incidents(path, report=report, geometry=False), report


def test_sickness_is_a_documented_category_with_a_weight():
    assert "sickness" in CATEGORIES
    assert DEFAULT_CATEGORY_WEIGHTS["sickness"] == DEFAULT_CATEGORY_WEIGHTS["exposure"] == 0.6


def test_causes_map_to_categories(tmp_path):
    g, report = _read(_iom(tmp_path, [(c, "1", "16.9, -92.1") for c, _ in CAUSES]))
    assert list(g["category"]) == [cat for _, cat in CAUSES]
    noted = report.notes
    # only the unknown cause is noted as such; no violence or sickness cause is silently 'other'
    unrecognised = noted[noted["reason"].str.contains("cause of death")]
    assert list(unrecognised["value"].astype(str)) == ["Unknown (skeletal remains)"]
    assert "Suicide" not in set(unrecognised["value"].astype(str))


def test_mass_casualty_record_is_kept_with_a_note(tmp_path):
    g, report = _read(_iom(tmp_path, [("Presumed drowning", "1022", "35.5, 12.6"), ("Shot", "1000", "16.9, -92.1"),
                                      ("Shot", "200000", "16.9, -92.1")]))  # fmt: skip
    assert g["victims"].tolist() == [1022, 1000]
    rejected = report.rejected
    assert rejected["reason"].tolist() == ["more than 100,000 victims in one record (impossible)"]
    notes = report.notes
    mass = notes[notes["action"] == "flagged"]
    assert len(mass) == 1 and mass["reason"].iloc[0].startswith("more than 1,000 victims: kept as a mass-casualty")


def test_sanity_limit_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setattr(_incidents, "MASS_CASUALTY", 50)
    _, report = _read(_iom(tmp_path, [("Shot", "60", "16.9, -92.1"), ("Shot", "50", "16.9, -92.1")]))
    assert report.notes.query("action == 'flagged'")["row"].tolist() == [2]


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=150_000))
def test_property_victims_kept_below_the_hard_limit(n):
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        g, report = _read(_iom(Path(d), [("Shot", str(n), "16.9, -92.1"), ("Shot", "1", "16.9, -92.1")]))
    assert len(g) == 1 + int(n <= _incidents.MAX_VICTIMS)
    assert (report.notes["action"] == "flagged").sum() == int(_incidents.MASS_CASUALTY < n <= _incidents.MAX_VICTIMS)


def test_real_box_file_has_no_unnoted_other():
    g, report = _read(REAL)
    cats = g["category"].value_counts()
    assert cats["homicide"] >= 60 and cats["sickness"] >= 15  # Shot 36, Violence 14, Sickness ... in the file
    n_other = int(cats["other"])
    noted = report.notes
    noted_other = noted[noted["reason"].str.contains("cause of death")]["row"].nunique()
    # every 'other' is an unknown cause noted as such, or a named cause with no category (suicide, hanging)
    assert n_other - noted_other <= 10, (n_other, noted_other)


def test_category_weights_accept_sickness_and_refuse_unknown_labels():
    from routerisk import RiskModel
    from routerisk._errors import ConfigError

    assert RiskModel(category_weights={"sickness": 0.4}).category_weights["sickness"] == 0.4
    with pytest.raises(ConfigError):
        RiskModel(category_weights={"illness": 0.4})
