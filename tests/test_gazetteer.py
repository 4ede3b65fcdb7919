"""The locality gazetteer: accent/case folding, state disambiguation, suggestions."""

from __future__ import annotations

import pytest

from routerisk import InputError
from routerisk.gazetteer import load_localities, resolve_localities, resolve_locality, resolve_state


def test_localities_file_is_compact_and_complete():
    loc = load_localities()
    assert len(loc) > 8900
    assert loc["locality_id"].is_unique
    assert loc["state_code"].isin([f"{i:02d}" for i in range(1, 33)]).all()
    assert loc.crs.to_epsg() == 4326
    assert loc["lon"].between(-118.5, -86.5).all() and loc["lat"].between(14.4, 32.8).all()


@pytest.mark.parametrize("name", ["Lechería", "lecheria", "LECHERÍA", "  Lechería "])
def test_accents_and_case_are_ignored(name):
    lon, lat, rec = resolve_locality(name)
    assert rec["name"] == "Lechería"
    assert rec["state_code"] == "15"
    assert (lon, lat) == pytest.approx((-99.184, 19.611), abs=1e-6)


def test_alternate_names_match():
    assert resolve_locality("Juchitan")[2]["name"] == "Heroica Ciudad de Juchitán de Zaragoza"
    assert resolve_locality("Poza Rica")[2]["state_code"] == "30"


def test_largest_population_wins_without_state():
    assert resolve_locality("Tonalá")[2]["state_name"] == "Jalisco"
    assert resolve_locality("Matamoros")[2]["state_name"] == "Tamaulipas"


@pytest.mark.parametrize("state", ["Chiapas", "chiapas", "07", "7"])
def test_state_disambiguates(state):
    rec = resolve_locality("Tonalá", state=state)[2]
    assert rec["state_name"] == "Chiapas"
    assert rec["lon"] == pytest.approx(-93.7546, abs=1e-3)


def test_name_comma_state():
    assert resolve_locality("Tonalá, Chiapas")[2]["state_code"] == "07"
    assert resolve_locality("Matamoros, Coahuila")[2]["state_code"] == "05"


def test_typo_suggests_close_matches():
    with pytest.raises(InputError, match=r"'Tapachla' matches no Mexican locality; did you mean 'Tapachula, Chiapas'"):
        resolve_locality("Tapachla")


def test_wrong_state_names_where_it_is():
    with pytest.raises(InputError, match=r"'Tapachula' is not in Sonora \(found in Chiapas\)"):
        resolve_locality("Tapachula", state="Sonora")


def test_unknown_state():
    with pytest.raises(InputError, match="not a Mexican state"):
        resolve_state("Texas")


def test_vectorised_resolution_reports_every_unknown_name():
    out = resolve_localities(["Celaya", "Irapuato", "Tonalá"], [None, None, "Chiapas"])
    assert out["name"].tolist() == ["Celaya", "Irapuato", "Tonalá"]
    assert out["state_code"].tolist() == ["11", "11", "07"]
    with pytest.raises(InputError, match=r"'Xyzzyq'.*'Qwertzu'"):
        resolve_localities(["Celaya", "Xyzzyq", "Qwertzu"])


def test_states_argument_length_checked():
    with pytest.raises(InputError, match="`states` has 1 values"):
        resolve_localities(["Celaya", "Irapuato"], ["Guanajuato"])
