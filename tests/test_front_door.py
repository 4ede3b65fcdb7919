"""score_segments(..., inference=False): the same table without intervals and hot spots, and none of their work."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal
from shapely import LineString, box

import routerisk
import routerisk._scoring_hotspots as hotspots_mod
import routerisk.scoring as scoring_mod
from routerisk.model import RiskModel
from routerisk.scoring import SCORE_COLUMNS, score_segments

METRIC = "EPSG:6372"
INFERENCE_COLUMNS = ["incident_exposure_lo", "incident_exposure_hi", "risk_lo", "risk_hi", "p_value", "gi_z"]
SKIPPED = [*INFERENCE_COLUMNS, "hotspot"]


def _layers(n_inc=600, seed=0, crs="EPSG:4326"):
    """A bent route of 60 segments (some of 2-3 pieces) and incidents around it, in ``crs``."""
    rng = np.random.default_rng(seed)
    x0, y0 = 2_500_000.0, 1_000_000.0
    geoms = []
    for i in range(60):
        a = (x0 + i * 3000.0, y0 + 500.0 * np.sin(i / 5))
        b = (x0 + (i + 1) * 3000.0, y0 + 500.0 * np.sin((i + 1) / 5))
        mid = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 300.0)] if i % 3 == 0 else []
        geoms.append(LineString([a, *mid, b]))
    seg = gpd.GeoDataFrame({"segment_id": [f"s{i}" for i in range(60)]}, geometry=geoms, crs=METRIC)
    xy = np.c_[x0 + rng.uniform(-10_000, 190_000, n_inc), y0 + rng.normal(0, 8000, n_inc)]
    inc = gpd.GeoDataFrame(
        {
            "date": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 700, n_inc), "D"),
            "category": rng.choice(["homicide", "robbery", "kidnapping", "accident"], n_inc),
            "victims": rng.integers(1, 4, n_inc),
            "location_precision": rng.choice(["exact", "locality", "municipality", "state"], n_inc),
        },
        geometry=shapely.points(xy),
        crs=METRIC,
    )
    zones = gpd.GeoDataFrame({"intensity": [2.0], "zone_type": ["checkpoint"]},
                             geometry=[box(x0 + 40_000, y0 - 5000, x0 + 60_000, y0 + 5000)], crs=METRIC)  # fmt: skip
    return seg.to_crs(crs), inc.to_crs(crs), zones.to_crs(crs)


MODEL = RiskModel(bandwidth_m=8000.0, half_life_days=365.0, crs=METRIC)


@pytest.fixture(scope="module")
def layers():
    return _layers()


@pytest.mark.parametrize("risk_layer", ["composite", "incident"])
def test_without_inference_every_other_column_equals_the_default_call(layers, risk_layer):
    seg, inc, zones = layers
    model = RiskModel(bandwidth_m=8000.0, half_life_days=365.0, crs=METRIC, risk_layer=risk_layer)
    full = score_segments(seg, inc, zones=zones, model=model)
    lean = score_segments(seg, inc, zones=zones, model=model, inference=False)
    assert list(lean.columns) == list(full.columns) == [*seg.columns, *SCORE_COLUMNS]
    assert (lean.dtypes == full.dtypes).all()
    assert lean.crs == full.crs and lean.index.equals(full.index)
    assert_frame_equal(lean.drop(columns=SKIPPED), full.drop(columns=SKIPPED), check_exact=True)
    # the default call did test something and produced finite intervals, so the comparison is not vacuous
    assert np.isfinite(full["risk_hi"]).all() and (full["hotspot"] != "not tested").any()
    assert full["n_incidents"].gt(0).any() and full["enforcement_exposure"].gt(0).any()
    for col in INFERENCE_COLUMNS:
        assert lean[col].isna().all(), col
    assert (lean["hotspot"] == "not tested").all()
    assert lean.attrs["routerisk"]["inference"] is False
    assert full.attrs["routerisk"]["inference"] is True
    assert lean.attrs["routerisk"]["n_incidents_attributed"] is None
    assert full.attrs["routerisk"]["n_incidents_attributed"] > 0


def test_not_tested_uses_the_values_of_the_hot_spot_step():
    """"not tested" in the lean table is exactly what the hot-spot step writes for an untestable network."""
    seg, inc, _ = _layers(n_inc=50)
    far = inc.copy()
    far.geometry = far.geometry.translate(50.0, 0.0)  # 50 degrees away: no record in reach, nothing tested
    full = score_segments(seg, far, model=MODEL)
    lean = score_segments(seg, far, model=MODEL, inference=False)
    assert (full["hotspot"] == "not tested").all()
    assert_frame_equal(lean[["hotspot", "p_value", "gi_z"]], full[["hotspot", "p_value", "gi_z"]], check_exact=True)


def test_without_inference_no_interval_attribution_adjacency_or_test_is_computed(layers, monkeypatch):
    seg, inc, zones = layers
    calls = []

    def spy(name):
        def boom(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} called without inference")

        return boom

    for name in ("attribute_incidents", "segment_adjacency", "network_neighbourhood", "segment_hotspots"):
        monkeypatch.setattr(hotspots_mod, name, spy(name))
    for name in ("score_hotspots", "exposure_interval", "mean_reach_kernel"):
        monkeypatch.setattr(scoring_mod, name, spy(name))
    seen = []
    real_exposure = scoring_mod.exposure

    def exposure_spy(*args, **kwargs):
        seen.append(kwargs.get("moments"))
        return real_exposure(*args, **kwargs)

    monkeypatch.setattr(scoring_mod, "exposure", exposure_spy)
    lean = score_segments(seg, inc, zones=zones, model=MODEL, inference=False)
    assert calls == [] and seen == [False]
    assert lean["incident_exposure"].gt(0).any()
    with pytest.raises(AssertionError, match="called without inference"):  # the spies are live
        score_segments(seg, inc, zones=zones, model=MODEL)


def test_without_inference_a_bad_flow_column_is_still_refused(layers):
    seg, inc, _ = layers
    bad = seg.assign(flow=-1.0)
    with pytest.raises(routerisk.InputError, match="flow"):
        score_segments(bad, inc, model=MODEL, inference=False)


def test_without_inference_empty_layers():
    seg, inc, _ = _layers(n_inc=10)
    out = score_segments(seg.iloc[:0], inc, model=MODEL, inference=False)
    assert len(out) == 0 and list(out.columns)[-len(SCORE_COLUMNS):] == list(SCORE_COLUMNS)
    out = score_segments(seg, inc.iloc[:0], model=MODEL, inference=False)
    assert (out["incident_exposure"] == 0).all() and (out["hotspot"] == "not tested").all()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), n_inc=st.integers(0, 300), kernel=st.sampled_from(["quartic", "gaussian"]))
def test_property_lean_equals_full_outside_the_inference_columns(seed, n_inc, kernel):
    seg, inc, _ = _layers(n_inc=n_inc, seed=seed)
    model = RiskModel(bandwidth_m=6000.0, kernel=kernel, crs=METRIC, classes="quantiles")
    full = score_segments(seg, inc, model=model)
    lean = score_segments(seg, inc, model=model, inference=False)
    assert_frame_equal(lean.drop(columns=SKIPPED), full.drop(columns=SKIPPED), check_exact=True)
    assert lean[INFERENCE_COLUMNS].isna().all().all()


# ---------------------------------------------------------------------------------------------------------------
# The fast helpers of the front door give exactly what the pandas / pyproj / shapely calls they replace give
# ---------------------------------------------------------------------------------------------------------------
def test_transform_xy_is_the_transformer_bit_for_bit_in_one_or_two_threads(monkeypatch):
    from pyproj import Transformer

    import routerisk.crs as crs_mod

    rng = np.random.default_rng(5)
    x, y = rng.uniform(-117, -87, 50_001), rng.uniform(15, 32, 50_001)
    x0, y0 = x.copy(), y.copy()
    ref = Transformer.from_crs("EPSG:4326", METRIC, always_xy=True).transform(x, y)
    two = crs_mod.transform_xy("EPSG:4326", METRIC, x, y)  # above PARALLEL_MIN: two halves, two threads
    monkeypatch.setattr(crs_mod, "PARALLEL_MIN", 10**9)
    one = crs_mod.transform_xy("EPSG:4326", METRIC, x, y)
    for out in (two, one):
        assert np.array_equal(out[0], ref[0]) and np.array_equal(out[1], ref[1])
    assert np.array_equal(x, x0) and np.array_equal(y, y0)  # inputs untouched
    same = crs_mod.transform_xy(METRIC, METRIC, x, y)
    assert np.array_equal(same[0], x) and same[0] is not x
    # one Transformer per pair of CRSs, reused
    assert crs_mod._transformer("EPSG:4326", METRIC) is crs_mod._transformer("EPSG:4326", METRIC)
    assert crs_mod._transformer(METRIC, METRIC) is None


def test_transform_xy_from_many_threads_at_once():
    from concurrent.futures import ThreadPoolExecutor

    from routerisk.crs import transform_xy

    rng = np.random.default_rng(6)
    x, y = rng.uniform(-117, -87, 30_000), rng.uniform(15, 32, 30_000)
    ref = transform_xy("EPSG:4326", METRIC, x, y)
    with ThreadPoolExecutor(4) as ex:
        outs = list(ex.map(lambda _: transform_xy("EPSG:4326", METRIC, x, y), range(8)))
    assert all(np.array_equal(o[0], ref[0]) and np.array_equal(o[1], ref[1]) for o in outs)


def test_incident_coordinates_with_empty_and_missing_points_take_the_masked_path():
    from shapely import Point

    from routerisk._coords import _incident_lonlat

    geoms = [Point(-99.0, 19.0), Point(), None, Point(-98.0, 18.0)]
    x, y, _ = _incident_lonlat(gpd.GeoDataFrame(geometry=geoms, crs="EPSG:4326"))
    assert np.array_equal(x, [-99.0, np.nan, np.nan, -98.0], equal_nan=True)
    assert np.array_equal(y, [19.0, np.nan, np.nan, 18.0], equal_nan=True)
    x, y, _ = _incident_lonlat(gpd.GeoDataFrame(geometry=[geoms[0], None], crs="EPSG:4326"))
    assert np.array_equal(x, [-99.0, np.nan], equal_nan=True)
    # an empty point is scored as unplaced, exactly like a dropped row
    seg, inc, _ = _layers(n_inc=40)
    holed = inc.copy()
    holed.loc[holed.index[:5], "geometry"] = Point()
    a = score_segments(seg, holed, model=MODEL)
    b = score_segments(seg, inc.iloc[5:], model=MODEL)
    assert_frame_equal(a, b, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["homicide", "robbery", "other", "", "Homicide", "zz"])),
                max_size=40))
def test_lookup_of_pyarrow_strings_equals_the_object_path(values):
    from routerisk._weights import _lookup
    from routerisk.schema import LOCATION_SIGMA_M

    table = {"homicide": 1.0, "robbery": 0.4, "other": 0.3, "nan-valued": np.nan}
    s = pd.Series(values, dtype="str")
    a = _lookup(s, table, 0.3)
    b = _lookup(pd.Series(values, dtype=object), table, 0.3)
    assert np.array_equal(a, b, equal_nan=True)
    sigma = {k: (np.nan if v is None else float(v)) for k, v in LOCATION_SIGMA_M.items()}
    assert np.array_equal(_lookup(s, sigma, 5.0), _lookup(s.astype(object), sigma, 5.0), equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.sampled_from([0.0, -0.0, 1.0, 50.0, np.nan]), st.floats(0, 100)), max_size=60))
def test_percentile_equals_the_pandas_rank(values):
    from routerisk.scoring import _percentile

    x = np.array(values, dtype=np.float64)
    got = _percentile(x)
    ref = pd.Series(x).rank(method="max", pct=True).to_numpy() * 100.0 if len(x) else x
    assert np.array_equal(got, ref, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.datetimes(min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                                                  max_value=pd.Timestamp("2100-12-31").to_pydatetime())),
                max_size=30), st.integers(0, 2**30))
def test_month_summary_equals_the_period_version(values, mask_seed):
    from routerisk._terms import _dates, month_summary
    from routerisk._weights import _month_summary

    dates = _dates(np.array([np.datetime64("NaT") if v is None else np.datetime64(v, "us") for v in values],
                            dtype="datetime64[us]"))  # fmt: skip
    keep = np.random.default_rng(mask_seed).random(len(values)) < 0.7
    assert _month_summary(dates, keep) == month_summary(dates[keep])
    assert _month_summary(None, keep) is None


def test_text_columns_have_the_dtype_pandas_infers():
    from routerisk.scoring import _evidence

    n = np.array([0, 2, 3, 9, 10, 50])
    ev = _evidence(n)
    ref = pd.Series(np.array(["low", "low", "medium", "medium", "high", "high"], dtype=object))
    assert_frame_equal(pd.DataFrame({"e": ev}), pd.DataFrame({"e": ref}), check_exact=True)


def test_rescoring_a_scored_table_overwrites_the_columns_in_place(layers):
    seg, inc, zones = layers
    once = score_segments(seg, inc, zones=zones, model=MODEL)
    twice = score_segments(once, inc, zones=zones, model=MODEL)
    assert_frame_equal(twice, once, check_exact=True)
    lean_twice = score_segments(once, inc, zones=zones, model=MODEL, inference=False)
    assert_frame_equal(lean_twice.drop(columns=SKIPPED), once.drop(columns=SKIPPED), check_exact=True)
    assert list(lean_twice.columns) == list(once.columns)


def test_segment_attrs_are_kept_and_not_shared(layers):
    seg, inc, _ = layers
    tagged = seg.copy()
    tagged.attrs["source"] = {"file": "routes.gpkg"}
    out = score_segments(tagged, inc, model=MODEL, inference=False)
    assert out.attrs["source"] == {"file": "routes.gpkg"}
    out.attrs["source"]["file"] = "changed"
    assert tagged.attrs["source"]["file"] == "routes.gpkg"


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s", "m", "h", "D", "M"])
def test_days_floor_like_numpy_in_every_unit(unit):
    from routerisk._weights import _days

    scale = {"ns": 10**11, "us": 10**8, "ms": 10**5}.get(unit, 3)
    ticks = np.random.default_rng(7).integers(-(10**6), 10**6, 500) * scale
    d = ticks.astype(f"datetime64[{unit}]")
    assert np.array_equal(_days(d), d.astype("datetime64[D]").astype(np.int64))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.datetimes(min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                                                  max_value=pd.Timestamp("2100-12-31").to_pydatetime())),
                max_size=30),
       st.datetimes(min_value=pd.Timestamp("1950-01-01").to_pydatetime(),
                    max_value=pd.Timestamp("2090-12-31").to_pydatetime()),
       st.sampled_from([30.0, 365.0, 1000.5]), st.booleans())  # fmt: skip
def test_decay_equals_the_total_seconds_formula(values, ref, half_life, midnight):
    from routerisk._terms import _dates
    from routerisk._weights import _decay

    dates = _dates(np.array([np.datetime64("NaT") if v is None else np.datetime64(v, "us") for v in values],
                            dtype="datetime64[us]"))  # fmt: skip
    ref = pd.Timestamp(ref).normalize() if midnight else pd.Timestamp(ref)
    nat = dates.isna().to_numpy()
    age = ((ref - dates).dt.total_seconds() / 86400.0).to_numpy(dtype=np.float64)
    expected = np.exp2(-np.where(nat, 0.0, np.maximum(age, 0.0)) / half_life)
    assert np.array_equal(_decay(dates, nat, ref, half_life), expected)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=40), st.integers(0, 2**30), st.floats(1e-3, 1e7))
def test_chain_pieces_equals_the_numpy_pieces_and_bincount(vertices, seed, scale):
    from routerisk._engine_numba import chain_pieces

    rng = np.random.default_rng(seed)
    coord_of = np.repeat(np.arange(len(vertices)), vertices).astype(np.int64)
    coords = rng.normal(0.0, scale, (len(coord_of), 2))
    same = coord_of[1:] == coord_of[:-1]
    xy0, xy1 = coords[:-1][same], coords[1:][same]
    ps = coord_of[:-1][same]
    d = xy1 - xy0
    length = np.bincount(ps, weights=np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]), minlength=len(vertices) + 2)
    got = chain_pieces(coords, coord_of, len(vertices) + 2)
    for a, b in zip(got, (xy0, xy1, ps, length), strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("chained", [True, False])
def test_projected_segments_equal_to_crs_of_the_geometries(chained):
    """One transform of the coordinates (shared ends once, on the worker pool) gives to_crs's vertices and GEOS's
    lengths bit for bit."""
    from routerisk._coords import ProjectedSegments
    from routerisk.engine import segment_pieces

    rng = np.random.default_rng(3)
    n = 30_000  # above crs.PARALLEL_MIN: two threads
    pts = np.cumsum(rng.normal(0, 0.01, (n + 1, 2)), axis=0) + np.array([-100.0, 20.0])
    if chained:
        lines = shapely.linestrings(np.stack([pts[:-1], pts[1:]], axis=1))
    else:
        lines = shapely.linestrings(np.stack([pts[:-1], pts[1:] + 1e-6], axis=1))
    seg = gpd.GeoDataFrame(geometry=lines, crs="EPSG:4326")
    proj = seg.to_crs(METRIC)
    xy0, xy1, ps = segment_pieces(np.asarray(proj.geometry.values))
    for segs in (ProjectedSegments(seg, METRIC), ProjectedSegments.start(seg, METRIC)()):
        assert np.array_equal(segs.xy0, xy0) and np.array_equal(segs.xy1, xy1)
        assert np.array_equal(segs.piece_segment, ps)
        assert np.array_equal(segs.length, shapely.length(np.asarray(proj.geometry.values)))


def test_incident_coordinates_in_two_halves_equal_one_pass():
    """Above crs.PARALLEL_MIN the points are read in two halves (one on the pool): same values, empty and missing
    points included, and a non-point in either half still sends the caller to the geometry path."""
    from shapely import LineString, Point

    from routerisk._coords import _incident_lonlat, _point_coordinates

    rng = np.random.default_rng(9)
    n = 30_000
    geoms = np.array(list(shapely.points(rng.uniform(-110, -90, (n, 2)))), dtype=object)
    geoms[[5, n - 3]] = None
    geoms[[7, n - 10]] = Point()
    x, y, _ = _incident_lonlat(gpd.GeoDataFrame(geometry=geoms, crs="EPSG:4326"))
    ref = np.array([np.nan if g is None or g.is_empty else g.x for g in geoms])
    assert np.array_equal(x, ref, equal_nan=True)
    assert np.array_equal(y, np.array([np.nan if g is None or g.is_empty else g.y for g in geoms]), equal_nan=True)
    assert _point_coordinates(geoms) is not None
    for where in (3, n - 3):
        mixed = geoms.copy()
        mixed[where] = LineString([(0, 0), (1, 1)])
        assert _incident_lonlat(gpd.GeoDataFrame(geometry=mixed, crs="EPSG:4326")) is None


def test_a_forked_child_projects_with_its_own_pool():
    """The worker pool's threads do not survive a fork: the child must make its own instead of waiting forever."""
    import multiprocessing as mp

    from routerisk.crs import transform_xy

    rng = np.random.default_rng(4)
    x, y = rng.uniform(-117, -87, 50_000), rng.uniform(15, 32, 50_000)
    ref = transform_xy("EPSG:4326", METRIC, x, y)  # the parent's pool now exists
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        out = pool.apply_async(transform_xy, ("EPSG:4326", METRIC, x, y)).get(timeout=60)
    assert np.array_equal(out[0], ref[0]) and np.array_equal(out[1], ref[1])


def test_the_worker_pool_paths_give_the_same_table_as_one_thread(layers, monkeypatch):
    """Intervals, percentile, transforms and point reads on the pool (thresholds lowered to 1) or all on the
    calling thread (thresholds out of reach): the same table bit for bit."""
    import routerisk._coords as coords_mod
    import routerisk.crs as crs_mod
    import routerisk.intervals as intervals_mod

    seg, inc, zones = layers
    tables = []
    for threshold in (1, 10**12):
        for mod in (scoring_mod, crs_mod, coords_mod, intervals_mod):
            monkeypatch.setattr(mod, "PARALLEL_MIN", threshold)
        tables.append(score_segments(seg, inc, zones=zones, model=MODEL))
    assert_frame_equal(tables[0], tables[1], check_exact=True)
    assert np.isfinite(tables[0]["incident_exposure_hi"]).all()
