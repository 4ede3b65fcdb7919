"""Ambiguous place names in build_route: the namesake nearest the neighbouring waypoints, with a warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import routerisk
from routerisk._placenames import AmbiguousPlaceWarning, _candidates, _km, resolve_waypoint_names


def _length_km(route) -> float:
    return float(route.to_crs(6372).length.iloc[0]) / 1000.0


def test_tonala_arriaga_is_tonala_chiapas_with_a_warning():
    with pytest.warns(AmbiguousPlaceWarning) as rec:
        route = routerisk.build_route(["Tonala", "Arriaga"])
    msg = str(rec[0].message)
    for state in ("Chiapas", "Jalisco", "Guerrero", "Veracruz"):
        assert state in msg  # every candidate listed
    assert "Using Tonalá, Chiapas" in msg and "'Tonalá, Chiapas'" in msg
    # Tonalá, Chiapas (-93.7546, 16.09007) to Arriaga (-93.89972, 16.23557): about 22 km by hand
    assert _length_km(route) == pytest.approx(float(_km(-93.7546, 16.09007, -93.89972, 16.23557)), rel=0.02)
    assert _length_km(route) < 30


def test_a_state_removes_the_ambiguity_and_the_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        route = routerisk.build_route(["Tonala, Jalisco", "Guadalajara"])
    assert _length_km(route) < 30


def test_neighbours_agreeing_with_the_most_populous_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        route = routerisk.build_route(["Tapachula", "Arriaga", "Ixtepec"])  # Ixtepec also in Puebla
    assert 300 < _length_km(route) < 420


def test_coordinates_decide_too():
    # a coordinate next to Tonalá, Guerrero
    with pytest.warns(AmbiguousPlaceWarning, match="Using Tonalá, Guerrero"):
        xy, labels = resolve_waypoint_names([(-99.0, 16.9), "Tonala"], np.array([[-99.0, 16.9], [np.nan, np.nan]]))
    assert labels == ["", "Tonalá"] and xy[1] == pytest.approx([-99.05444, 16.86167])


@settings(max_examples=20, deadline=None)
@given(st.floats(-110, -88), st.floats(15, 25))
def test_property_choice_is_the_nearest_candidate(lon, lat):
    cand = _candidates("Tonala")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AmbiguousPlaceWarning)
        xy, _ = resolve_waypoint_names([(lon, lat), "Tonala"], np.array([[lon, lat], [np.nan, np.nan]]))
    d = _km(cand["lon"], cand["lat"], lon, lat)
    assert float(_km(xy[1, 0], xy[1, 1], lon, lat)) == pytest.approx(float(d.min()))
