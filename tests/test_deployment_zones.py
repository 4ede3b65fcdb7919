"""State-month deployment tables: recognised by their columns, drawn as one choropleth, siting explains itself."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import example, given, settings
from hypothesis import strategies as st
from shapely import Point, box

from routerisk import RiskModel
from routerisk._errors import ConfigError
from routerisk._zone_exclusion import MAX_EXCLUDE_KM2, excludable_zones
from routerisk.cli import cli
from routerisk.io import read_deployments, read_zones
from routerisk.io._deploy_detect import is_deployment_table
from routerisk.maps._deployment import deployment_legend, deployment_window, is_deployment, personnel_classes

REAL = Path(__file__).parent / "data" / "real"
GN = REAL / "guardia_nacional_deployment_by_state_month.csv"
INM = REAL / "inm_foreigners_presented_by_state_month.csv"
DATA = Path(__file__).parents[1] / "data"


def test_detection_by_columns(tmp_path):
    assert is_deployment_table(GN)
    assert not is_deployment_table(INM)  # no personnel column
    assert not is_deployment_table(DATA / "zones.csv")
    english = tmp_path / "d.csv"
    english.write_text("year;month;state_code;personnel\n2020;1;07;100\n")
    assert is_deployment_table(english)
    with_points = tmp_path / "p.csv"
    with_points.write_text("year,month,state,personnel,lat,lon\n2020,1,chiapas,100,16,-92\n")
    assert not is_deployment_table(with_points)


def test_read_zones_reads_the_table_as_deployments():
    z = read_zones(GN)
    assert len(z) == 800 and set(z["kind"]) == {"deployment"} and z["state_code"].nunique() == 32
    assert is_deployment(z)


def test_window_means_by_hand():
    z = read_deployments(GN)
    raw = pd.read_csv(GN, dtype={"cve_entidad": str})
    model = RiskModel(window_start=pd.Timestamp("2020-01-01").date(), window_end=pd.Timestamp("2020-03-31").date())
    w = deployment_window(z, model).set_index("state_code")
    chis = raw[(raw["cve_entidad"] == "07") & (raw["ano"] == 2020) & raw["mes"].isin(["ene", "feb", "mar"])]
    assert len(chis) == 3
    assert w.loc["07", "personnel"] == pytest.approx(chis["despliegue"].mean())
    assert w.loc["07", "months"] == 3 and w.loc["07", "window"] == "2020-01 to 2020-03"
    assert w.loc["07", "name"] == "Chiapas" and len(w) == 32


def test_default_window_is_the_last_twelve_months_and_legend_reads_in_personnel():
    z = read_deployments(GN)
    w = deployment_window(z)
    assert set(w["months"]) == {12} and w["window"].iloc[0] == "2020-08 to 2021-07"
    rows = deployment_legend(z)
    assert rows[0][1].startswith("Personnel deployed (mean per month")
    bounds = [r[1] for r in rows[1:]]
    assert all(re.fullmatch(r"[\d,]+-[\d,]+", b) for b in bounds) and len(bounds) >= 3
    top = float(bounds[-1].split("-")[1].replace(",", ""))
    assert top >= w["personnel"].max()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=1, max_value=1e6), min_size=1, max_size=40))
@example([1.0000000000000002])  # found by hypothesis: a 1e-9 tolerance made the top bound 1.0, below the value
def test_property_classes_increase_and_cover_the_values(values):
    b = personnel_classes(values)
    assert 1 <= len(b) <= 5 and all(x < y for x, y in itertools.pairwise(b))
    assert b[-1] >= max(values)
    lead = [float(f"{x:.1e}".split("e")[0]) for x in b]  # 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 (x 10^n): reads well
    assert set(lead) <= {1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0}


def test_excludable_zones_skip_state_sized_zones():
    z = read_deployments(GN)
    kept = excludable_zones(z)
    assert len(kept) == 0 and kept.attrs["skipped_large_zones"] == 800  # Mexico City (~1,500 km2) included
    small = gpd.GeoDataFrame({"kind": ["patrol", "deployment", "checkpoint"]},
                             geometry=[Point(-93, 16).buffer(0.5), box(-94, 15, -92, 17), box(-94, 15, -92, 17)],
                             crs=4326)  # fmt: skip
    # a 0.5-degree circle is ~8,400 km2 at 16 N; the 2 x 2 degree box ~47,000 km2 (a checkpoint: kept anyway)
    assert excludable_zones(small)["kind"].tolist() == ["patrol", "checkpoint"] and MAX_EXCLUDE_KM2 == 10_000.0


def test_siting_error_explains_the_exclusion():
    from routerisk.siting import ShelterSiting

    seg = gpd.GeoDataFrame({"segment_id": ["a", "b"], "risk": [10.0, 5.0]},
                           geometry=[box(0, 0, 1, 1).boundary, box(2, 0, 3, 1).boundary], crs=4326)  # fmt: skip
    seg["geometry"] = [seg.geometry.iloc[0].segmentize(0.1), seg.geometry.iloc[1].segmentize(0.1)]
    cands = gpd.GeoDataFrame({"name": ["A", "B", "C"]}, geometry=[Point(0.5, 0), Point(2.5, 0), Point(1.5, 0)],
                             crs=4326)  # fmt: skip
    zone = gpd.GeoDataFrame({"kind": ["checkpoint"]}, geometry=[Point(0.5, 0).buffer(0.05)], crs=4326)
    siting = ShelterSiting.from_segments(seg, candidates=cands, radius_km=60, measure="straight", exclude=[zone, "C"])
    with pytest.raises(ConfigError) as err:
        siting.solve("mclp", k=3)
    msg = str(err.value)
    assert "only 1 candidate site(s) remain (2 excluded)" in msg
    assert "1 inside an excluded zone" in msg and "1 listed as unsafe" in msg and "--no-exclude-zones" in msg


@pytest.mark.slow
def test_cli_zones_alone_draws_one_choropleth(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(cli, ["score", "--zones", str(GN), "--maps", "--sites", "3", "--out", str(out),
                                      "--param", "neighbour_steps=2"], catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    zones_rec = next(r for r in manifest["inputs"] if r["role"] == "zones")
    assert zones_rec["format"] == "auto" and zones_rec["read"] == 800
    html = (out / "map.html").read_text()
    assert html.count("personnel: ") == 32  # one polygon per state, not 800 stacked months
    assert "Personnel deployed (mean per month, 2020-08 to 2021-07)" in html
    assert "fillOpacity: 0.08" not in html
    assert len(pd.read_csv(out / "sites.csv")) == 3  # state-sized zones do not exclude every town
    assert np.isfinite(pd.read_csv(out / "segments_ranked.csv")["risk"]).all()
