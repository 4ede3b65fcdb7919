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
    assert (m.neighbour_steps, m.junction_snap_m, m.seed) == (1, 50.0, 2021)
    assert (m.incident_weight, m.enforcement_weight, m.classes, m.victims_factor) == (0.8, 0.2, "fixed", "log")
    assert (m.risk_layer, m.risk_reference, m.enforcement_reference) == ("incident", 0.5, 1.0)
    assert dict(m.category_weights) == DEFAULT_CATEGORY_WEIGHTS
    assert m.reference_date is None and m.window_start is None and m.window_end is None
    assert m.cutoff_m == 15000.0
    assert RiskModel(kernel="gaussian", bandwidth_m=1000).cutoff_m == 3000.0


def test_hotspot_defaults_follow_stats():
    from routerisk.stats import DEFAULT_NEIGHBOUR_STEPS, DEFAULT_SNAP_M

    assert (RiskModel().neighbour_steps, RiskModel().junction_snap_m) == (DEFAULT_NEIGHBOUR_STEPS, DEFAULT_SNAP_M)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("bootstrap", 200, r"`bootstrap` was removed: .*analytic gamma intervals"),
        ("permutations", 999, r"`permutations` was removed: .*exact binomial test"),
        ("neighbour_distance_m", 10000, r"`neighbour_distance_m` was removed: .*did you mean `neighbour_steps`"),
    ],
)
def test_removed_keys_fail_with_the_reason(tmp_path, key, value, match):
    with pytest.raises(routerisk.ConfigError, match=match):
        RiskModel.from_dict({key: value})
    with pytest.raises(routerisk.ConfigError, match=match):
        RiskModel(**{key: value})
    path = tmp_path / "old.toml"
    path.write_text(f"[model]\nbandwidth_m = 10000\n{key} = {value}\n", encoding="utf-8")
    with pytest.raises(routerisk.ConfigError, match=r"old\.toml: " + match):
        RiskModel.from_toml(path)


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
        risk_layer="composite",
        risk_reference=2.5,
        classes="quantiles",
        neighbour_steps=2,
        junction_snap_m=10,
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
        ({"neighbour_steps": 0}, r"`neighbour_steps` was 0 but must be an integer >= 1"),
        ({"neighbour_steps": True}, r"`neighbour_steps` was True but must be an integer"),
        ({"junction_snap_m": -1}, r"`junction_snap_m` was -1 but must be a finite number >= 0"),
        ({"junction_snap_m": 1e9}, r"`junction_snap_m` was 1000000000.0 but must be a finite number >= 0 and <= 10000"),
        ({"risk_layer": "composit"}, r"`risk_layer` was 'composit' .*did you mean 'composite'"),
        ({"risk_reference": 0}, r"`risk_reference` was 0 but must be a finite number > 0"),
        ({"enforcement_reference": -2}, r"`enforcement_reference` was -2 but must be a finite number > 0"),
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
