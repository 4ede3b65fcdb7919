"""RiskModel: defaults, validation messages, TOML in and out."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

import routerisk
from routerisk.model import RiskModel
from routerisk.schema import DEFAULT_CATEGORY_WEIGHTS


def test_defaults_are_documented_values():
    m = RiskModel()
    assert (m.bandwidth_m, m.kernel, m.half_life_days, m.segment_length_m, m.crs) == (15000.0, "quartic", 365.0,
                                                                                         5000.0, "auto")
    assert (m.bootstrap, m.permutations, m.seed) == (200, 999, 2021)
    assert (m.incident_weight, m.enforcement_weight, m.classes, m.victims_factor) == (0.8, 0.2, "quantiles", "log")
    assert dict(m.category_weights) == DEFAULT_CATEGORY_WEIGHTS
    assert m.reference_date is None and m.window_start is None and m.window_end is None
    assert m.cutoff_m == 15000.0
    assert RiskModel(kernel="gaussian", bandwidth_m=1000).cutoff_m == 3000.0
    assert m.neighbour_band_m == 10000.0


def test_model_is_frozen_and_hashable():
    m = RiskModel()
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.kernel = "uniform"
    with pytest.raises(TypeError):
        m.category_weights["homicide"] = 2.0
    assert hash(m) == hash(RiskModel())
    assert routerisk.RiskModel is RiskModel


def test_toml_round_trip(tmp_path):
    m = RiskModel(
        bandwidth_m=12000,
        kernel="gaussian",
        reference_date=dt.date(2023, 6, 30),
        window_start="2021-01-01",
        category_weights={"robbery": 0.1},
        bootstrap=0,
        neighbour_distance_m=7500,
    )
    path = tmp_path / "model.toml"
    path.write_text(m.to_toml(), encoding="utf-8")
    back = RiskModel.from_toml(path)
    assert back == m
    assert back.category_weights["robbery"] == 0.1 and back.category_weights["homicide"] == 1.0
    assert back.window_start == dt.date(2021, 1, 1)
    d = m.to_dict()
    json.dumps(d)  # JSON-friendly, for the manifest
    assert d["reference_date"] == "2023-06-30" and d["window_end"] is None
    assert RiskModel.from_dict(d) == m


def test_toml_with_native_dates_and_partial_weights(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(
        "[model]\nkernel = 'uniform'\nwindow_end = 2022-12-31\n\n[model.category_weights]\nhomicide = 2\n"
        "\n[outputs]\nformat = 'gpkg'\n",
        encoding="utf-8",
    )
    m = RiskModel.from_toml(path)
    assert m.window_end == dt.date(2022, 12, 31)
    assert m.category_weights["homicide"] == 2.0


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ({"bandwith_m": 1}, r"unknown key `bandwith_m` in \[model\]; did you mean `bandwidth_m`"),
        ({"bandwidth_m": 0}, r"`bandwidth_m` was 0 but must be a finite number > 0"),
        ({"bandwidth_m": "15km"}, r"`bandwidth_m` was '15km' \(str\) but must be a number"),
        ({"kernel": "gausian"}, r"`kernel` was 'gausian' but must be one of .*did you mean 'gaussian'"),
        ({"half_life_days": -1}, r"`half_life_days` was -1 but must be a finite number >= 0"),
        ({"bootstrap": 2.5}, r"`bootstrap` was 2.5 but must be an integer >= 0"),
        ({"permutations": True}, r"`permutations` was True but must be an integer"),
        ({"classes": "jenks"}, r"`classes` was 'jenks'"),
        ({"victims_factor": "sqrt"}, r"`victims_factor` was 'sqrt'"),
        ({"reference_date": "last week"}, r"`reference_date` was 'last week' but must be a date"),
        ({"window_start": "2022-01-01", "window_end": "2021-01-01"}, r"`window_start` \(2022-01-01\) is after"),
        ({"incident_weight": 0, "enforcement_weight": 0}, r"both 0"),
        ({"category_weights": {"homocide": 1}}, r"unknown key `homocide` .*did you mean `homicide`"),
        ({"category_weights": {"robbery": -1}}, r"`category_weights.robbery` was -1"),
        ({"crs": ""}, r"`crs` was ''"),
    ],
)
def test_validation_names_key_expectation_and_value(given, match):
    with pytest.raises(routerisk.ConfigError, match=match):
        RiskModel.from_dict(given)


def test_several_problems_reported_at_once():
    with pytest.raises(routerisk.ConfigError) as info:
        RiskModel(bandwidth_m=-1, kernel="box")
    assert "bandwidth_m" in str(info.value) and "kernel" in str(info.value)


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[model]\nkernel = 'quartic'\nbandwidth_m = = 3\n", encoding="utf-8")
    with pytest.raises(routerisk.ConfigError, match=r"bad\.toml, line 3: invalid TOML"):
        RiskModel.from_toml(path)


def test_toml_without_model_table(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("[modle]\nkernel = 'quartic'\n", encoding="utf-8")
    with pytest.raises(routerisk.ConfigError, match=r"no \[model\] table.*rename \[modle\] to \[model\]"):
        RiskModel.from_toml(path)
    with pytest.raises(routerisk.ConfigError, match="cannot read"):
        RiskModel.from_toml(tmp_path / "missing.toml")


def test_toml_error_in_value_names_file(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("[model]\nseed = -3\n", encoding="utf-8")
    with pytest.raises(routerisk.ConfigError, match=r"m\.toml: .*`seed` was -3"):
        RiskModel.from_toml(path)
