"""Attacks on the file system side (issue #10 items 3-5): inputs are never overwritten or deleted, temporary
folders and locks belong to their owner, every failure has a documented exit code, hostile numbers are rejected.

Each case names the attack it replays. Exit codes are those of ``routerisk --help`` (``routerisk.EXIT_CODES``).
"""

from __future__ import annotations

import errno
import hashlib
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from routerisk import RiskModel
from routerisk._atomic import _lock, _lock_path, _start_time, atomic_dir, refuse_inputs
from routerisk._errors import EXIT_CODES, OutputError
from routerisk.cli import cli

BAD = Path(__file__).resolve().parent / "data" / "bad"
#: Switch off the slow resampling where the model still has it (the keys were removed in a later model).
FAST = [a for k in ("bootstrap", "permutations") if k in RiskModel().to_dict() for a in ("--param", f"{k}=0")]
ROUTERISK = [sys.executable, "-m", "routerisk"]


def invoke(*args, **kw):
    return CliRunner().invoke(cli, [str(a) for a in args], **kw)


def one_error(result, code, *needles):
    """The command ended with ``code``, a documented code, and one ``Error:`` line naming ``needles``."""
    assert result.exit_code == code, result.output
    assert code in EXIT_CODES and code != 70
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    if code >= 2:
        err = [ln for ln in result.output.splitlines() if ln.startswith("Error:")]
        assert len(err) == 1, result.output
        for needle in needles:
            assert needle in err[0], err[0]


def digest(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (relative names), to show nothing changed."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()
    }  # fmt: skip


@pytest.fixture(scope="module")
def small_routes(tmp_path_factory):
    """One 40 km route (Tapachula - Huixtla): a run over it takes about a second."""
    path = tmp_path_factory.mktemp("routes") / "route.csv"
    path.write_text("route_id,seq,lat,lon\ncoast,1,14.905,-92.263\ncoast,2,15.139,-92.467\n")
    return path


@pytest.fixture(scope="module")
def a_run(tmp_path_factory, small_routes):
    out = tmp_path_factory.mktemp("prev") / "run"
    assert invoke("score", "--routes", small_routes, "--out", out, *FAST).exit_code == 0
    return out


# -- the bad-input corpus through the CLI: every file ends in a documented code, never 70, never a traceback ------
# (file, kind, exit code of validate, text in the output)
CORPUS = [
    ("pole_latitude.csv", "incidents", 1, "latitude at a pole"),
    ("hostile_numbers.csv", "incidents", 1, "coordinate out of range"),
    ("dates_out_of_range.csv", "incidents", 1, "date"),
    ("utf16le_no_bom.csv", "incidents", 0, "UTF-16 little-endian (no byte-order mark)"),
    ("utf16be_no_bom.csv", "incidents", 0, "UTF-16 big-endian (no byte-order mark)"),
    ("two_coordinate_sets.csv", "incidents", 2, "more than one set of coordinate columns"),
    ("two_coordinate_sets_equal.csv", "incidents", 0, "hold the same values"),
    ("crs_contradicts_lonlat.geojson", "incidents", 2, "declares the projected CRS EPSG:3857"),
    ("lonlat_crs_with_metres.geojson", "zones", 2, "declares the geographic CRS"),
    ("too_many_columns.csv", "incidents", 2, "at most 2,000 are read"),
    ("zone_radius_huge.csv", "zones", 1, "radius_m above 1,000 km"),
    ("route_through_pole.csv", "routes", 1, "latitude at a pole"),
    # the earlier corpus, still in documented codes
    ("binary.csv", "incidents", 2, "not a text file"),
    ("out_of_range.csv", "incidents", 1, "coordinate out of range"),
    ("incidents_epsg3857.geojson", "incidents", 0, "reprojected from EPSG:3857"),
]


@pytest.mark.parametrize(("name", "kind", "code", "text"), CORPUS)
def test_corpus_through_validate(tmp_path, name, kind, code, text):
    result = invoke("validate", BAD / name, "--kind", kind, "--rejected", tmp_path / "rejected.csv")
    one_error(result, code)
    assert text in result.output, result.output
    assert (tmp_path / "rejected.csv").exists() == (code == 1)


# (option, file, exit code of score, reason in rejected_rows.csv or in the error)
SCORE_CORPUS = [
    ("--incidents", "pole_latitude.csv", 1, "latitude at a pole"),
    ("--incidents", "hostile_numbers.csv", 1, "more than 100,000 victims"),
    ("--incidents", "dates_out_of_range.csv", 1, "date"),
    ("--zones", "zone_radius_huge.csv", 1, "radius_m above"),
    ("--routes", "route_through_pole.csv", 1, "latitude at a pole"),
    ("--incidents", "utf16le_no_bom.csv", 0, ""),
    ("--incidents", "two_coordinate_sets.csv", 2, "disagree"),
    ("--incidents", "crs_contradicts_lonlat.geojson", 2, "every coordinate lies within"),
    ("--incidents", "too_many_columns.csv", 2, "columns"),
]


@pytest.mark.parametrize(("option", "name", "code", "reason"), SCORE_CORPUS)
def test_corpus_through_score(tmp_path, small_routes, option, name, code, reason):
    """Attack: a row at latitude -90, infinite or 1e308 numbers, a radius of 1e308 crashed `score` with exit 70."""
    import pandas as pd

    routes = [] if option == "--routes" else ["--routes", small_routes]
    out = tmp_path / "out"
    result = invoke("score", option, BAD / name, *routes, "--out", out, *FAST)
    one_error(result, code, reason)
    if code == 1:
        rejected = pd.read_csv(out / "rejected_rows.csv")
        assert set(rejected["file"]) == {str(BAD / name)}
        assert (rejected["row"] >= 1).all() and rejected["column"].notna().all()
        assert rejected["reason"].str.contains(reason).any()
    if code >= 2:
        assert not out.exists()


# -- hostile numbers in the configuration: exit 3 naming the key, before any input is read --------------------------
@pytest.mark.parametrize(
    ("param", "needle"),
    [
        ("bandwidth_m=1e308", "`bandwidth_m` was 1e+308"),
        ("bandwidth_m=inf", "`bandwidth_m`"),
        ("reference_date=0001-01-01", "`reference_date` was 0001-01-01"),
        ("window_end=9999-12-31", "`window_end`"),
        ("category_weights={homicide=1e308}", "`category_weights.homicide`"),
        ("half_life_days=1e308", "`half_life_days`"),
        ("incident_weight=1e308", "`incident_weight`"),
        ("segment_length_m=1e308", "`segment_length_m`"),
        *([("neighbour_steps=1000000000", "`neighbour_steps`")] if "neighbour_steps" in RiskModel().to_dict() else []),
    ],
)
def test_hostile_config_values_exit_3(tmp_path, param, needle):
    result = invoke("score", "--param", param, "--out", tmp_path / "out", *FAST)
    one_error(result, 3, needle)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("radii", ["1e308,1e308", "0,100", "500,100", "inf,inf", "nan,1"])
def test_hostile_geomask_exit_3(tmp_path, radii):
    """Attack: `--geomask 1e308,1e308` overflowed in the masking (exit 70)."""
    one_error(invoke("score", "--geomask", radii, "--out", tmp_path / "out", *FAST), 3, "--geomask")
    assert not (tmp_path / "out").exists()


def test_tiny_segment_length_is_refused_before_the_work(tmp_path):
    """Attack: `segment_length_m = 0.5` ran without limit (17 million segments over the embedded corridors)."""
    t0 = time.monotonic()
    result = invoke("score", "--param", "segment_length_m=0.5", "--out", tmp_path / "out", *FAST)
    one_error(result, 3, "--param segment_length_m=", "more than the budget")
    assert time.monotonic() - t0 < 30
    assert not (tmp_path / "out").exists()


def test_pair_budget_names_the_options(monkeypatch):
    import pandas as pd

    from routerisk import _budget

    seg = pd.DataFrame({"lon": [-92.0, -92.1, -99.0], "lat": [16.0, 16.0, 19.0]})
    inc = pd.DataFrame({"lon": [-92.05] * 100 + [-99.0] * 10, "lat": [16.0] * 100 + [19.0] * 10})
    model = RiskModel()
    # hand count: the two Chiapas segments each see the 100 nearby incidents, the third the 10 near it
    assert _budget.estimate_pairs(seg, inc, model) == 210.0
    monkeypatch.setattr(_budget, "MAX_PAIRS", 200)
    with pytest.raises(_budget.ConfigError, match=r"--param bandwidth_m .* --param segment_length_m"):
        _budget.check_pairs(seg, inc, model)


def test_map_grid_budget_exit_3(tmp_path):
    """A 1,000 km Gaussian bandwidth makes a 70-million-cell surface: refused before scoring, naming the option."""
    result = invoke("score", "--maps", "--param", "bandwidth_m=1e6", "--param", 'kernel="gaussian"',
                    "--out", tmp_path / "out", *FAST)  # fmt: skip
    one_error(result, 3, "--param bandwidth_m", "without --maps")


# -- malformed manifests in rerun: exit 2, one line naming the field ------------------------------------------------
def _manifest_variants(doc):
    def with_(path, value):
        d = json.loads(json.dumps(doc))
        node = d
        for key in path[:-1]:
            node = node[key]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return d

    return [
        (with_(("inputs",), KeyError), "not a routerisk manifest"),
        (with_(("inputs",), "x"), "cannot be rerun: `inputs`"),
        (with_(("inputs", 0), 5), "`inputs[0]`"),
        (with_(("inputs", 0, "role"), "weather"), "`inputs[0].role`"),
        (with_(("inputs", 0, "sha256"), None), "`inputs[0].sha256`"),
        (with_(("inputs", 0, "path"), ["a"]), "`inputs[0].path`"),
        (with_(("model",), KeyError), "`model`"),
        (with_(("privacy",), KeyError), "`privacy`"),
        (with_(("privacy", "min_count"), "5"), "`privacy.min_count`"),
        (with_(("options",), {"map_name": "../../escape"}), "`options.map_name`"),
        (with_(("options",), {"sites": -1}), "`options.sites`"),
    ]


def test_malformed_manifest_in_rerun_is_a_clean_error(tmp_path, a_run):
    doc = json.loads((a_run / "manifest.json").read_text())
    for i, (bad, needle) in enumerate(_manifest_variants(doc)):
        path = tmp_path / f"m{i}.json"
        path.write_text(json.dumps(bad))
        result = invoke("rerun", path, "--out", tmp_path / f"out{i}")
        one_error(result, 2, needle)
        assert not (tmp_path / f"out{i}").exists()
    (tmp_path / "junk.json").write_text("{not json")
    one_error(invoke("rerun", tmp_path / "junk.json", "--out", tmp_path / "o"), 2, "not a readable manifest")


# -- inputs are sacred: refused, and nothing changed (hashes before and after) ----------------------------------------
@pytest.fixture
def inputs_folder(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(BAD / "victims.csv", folder / "victims.csv")
    (folder / "notes.txt").write_text("unrelated file of the user")
    return folder


def test_validate_rejected_is_the_input(inputs_folder):
    """Attack: `routerisk validate x.csv --rejected x.csv` replaced the input with the report."""
    src = inputs_folder / "victims.csv"
    before = digest(inputs_folder)
    for target in (src, inputs_folder / ".." / "data" / "victims.csv"):
        one_error(invoke("validate", src, "--kind", "incidents", "--rejected", target, "--overwrite"), 4,
                  "--rejected", "is the input")  # fmt: skip
    link = inputs_folder.parent / "link.csv"
    link.symlink_to(src)
    one_error(invoke("validate", src, "--kind", "incidents", "--rejected", link, "--overwrite"), 4, "is the input")
    hard = inputs_folder.parent / "hard.csv"
    os.link(src, hard)
    one_error(invoke("validate", src, "--kind", "incidents", "--rejected", hard, "--overwrite"), 4, "is the input")
    assert digest(inputs_folder) == before


def test_validate_rejected_never_overwrites_without_overwrite(tmp_path, monkeypatch):
    """Attack: the default `<stem>.rejected.csv` was overwritten without asking."""
    monkeypatch.chdir(tmp_path)
    existing = tmp_path / "victims.rejected.csv"
    existing.write_text("the user's own file\n")
    one_error(invoke("validate", BAD / "victims.csv", "--kind", "incidents"), 4, "already exists", "--overwrite")
    assert existing.read_text() == "the user's own file\n"
    result = invoke("validate", BAD / "victims.csv", "--kind", "incidents", "--overwrite")
    assert result.exit_code == 1, result.output
    assert "negative number of victims" in existing.read_text()


def test_validate_rejected_is_a_shapefile_sidecar(tmp_path):
    for ext in (".shp", ".shx", ".dbf"):
        shutil.copy(BAD / f"zones_without_prj{ext}", tmp_path / f"z{ext}")
    before = digest(tmp_path)
    result = invoke("validate", tmp_path / "z.shp", "--kind", "zones", "--rejected", tmp_path / "z.dbf",
                    "--overwrite")  # fmt: skip
    one_error(result, 4, "is the input")
    assert digest(tmp_path) == before


@pytest.mark.parametrize("how", ["folder", "parent", "symlink"])
def test_score_out_holding_the_inputs_is_refused(inputs_folder, how):
    """Attack: `score --out <folder of the inputs> --overwrite` deleted the inputs and unrelated files."""
    out = {"folder": inputs_folder, "parent": inputs_folder.parent}.get(how)
    if how == "symlink":
        out = inputs_folder.parent / "alias"
        out.symlink_to(inputs_folder, target_is_directory=True)
    before = digest(inputs_folder.parent)
    result = invoke("score", "--incidents", inputs_folder / "victims.csv", "--out", out, "--overwrite", *FAST)
    one_error(result, 4, "holds the input")
    assert digest(inputs_folder.parent) == before


def test_score_config_file_is_an_input(inputs_folder):
    cfg = inputs_folder / "model.toml"
    cfg.write_text("[model]\nbandwidth_m = 10000\n")
    before = digest(inputs_folder)
    one_error(invoke("score", "--config", cfg, "--out", cfg, "--overwrite"), 4, "is the input")
    assert digest(inputs_folder) == before


def test_overwrite_replaces_only_a_routerisk_folder(tmp_path):
    """--overwrite of a folder of unrelated files refuses (no manifest.json written by routerisk)."""
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"\xff\xd8 not really")
    (out / "manifest.json").write_text('{"name": "some other tool"}')
    before = digest(tmp_path)
    one_error(invoke("score", "--out", out, "--overwrite", *FAST), 4, "not a routerisk output folder")
    assert digest(tmp_path) == before
    (out / "holiday.jpg").unlink()
    one_error(invoke("score", "--out", out, "--overwrite", *FAST), 4, "not a routerisk output folder")
    assert (out / "manifest.json").read_text() == '{"name": "some other tool"}'
    maps = tmp_path / "maps"  # the repository's maps/ (README picture + HTML screenshot): `make demo` replaces it
    maps.mkdir()
    (maps / "routerisk_demo.png").write_bytes(b"png")
    (maps / "routerisk_demo_html.png").write_bytes(b"screenshot")  # a run cannot make it: carried over
    with atomic_dir(maps, overwrite=True) as tmp:
        (tmp / "routerisk_demo.png").write_bytes(b"new png")
    assert (maps / "routerisk_demo.png").read_bytes() == b"new png"
    assert (maps / "routerisk_demo_html.png").read_bytes() == b"screenshot"
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_dir(empty) as tmp:  # an empty folder is replaced without --overwrite
        (tmp / "a").write_text("x")
    assert (empty / "a").read_text() == "x"


def test_map_sites_rerun_refuse_to_write_into_their_input_run(a_run):
    before = digest(a_run)
    one_error(invoke("map", "--run", a_run, "--out", a_run / "map.html"), 4, "lies inside the input folder")
    one_error(invoke("map", "--run", a_run, "--out", a_run), 2, "is a directory")  # click refuses a folder
    one_error(invoke("sites", "--run", a_run, "--out", a_run, "--overwrite"), 4, "is the input")
    one_error(invoke("rerun", a_run, "--out", a_run, "--overwrite"), 4, "is the input")
    one_error(invoke("rerun", a_run / "manifest.json", "--out", a_run, "--overwrite"), 4, "holds the input")
    assert digest(a_run) == before


def test_map_of_a_run_with_a_hostile_manifest(tmp_path, a_run):
    run = tmp_path / "run"
    shutil.copytree(a_run, run)
    doc = json.loads((run / "manifest.json").read_text())
    for field, value, needle in [("privacy", 5, "`privacy` must be a table"),
                                 ("privacy", {"mode": "secret"}, "`privacy.mode`"),
                                 ("data", {"incident_dates": 3}, "`data.incident_dates`")]:  # fmt: skip
        (run / "manifest.json").write_text(json.dumps({**doc, field: value}))
        one_error(invoke("map", "--run", run, "--out", tmp_path / "m.html"), 2, needle)
    assert not (tmp_path / "m.html").exists()


def test_map_grid_budget_of_a_run_exit_3(tmp_path, a_run, monkeypatch):
    """`routerisk map` checks the heat surface's cells before drawing (budget lowered to reach it cheaply)."""
    from routerisk import _budget

    monkeypatch.setattr(_budget, "MAX_GRID_CELLS", 1000)
    one_error(invoke("map", "--run", a_run, "--out", tmp_path / "m.html"), 3, "--param bandwidth_m")
    assert not (tmp_path / "m.html").exists()


def test_overwrite_through_a_symlinked_out_keeps_the_linked_folder(tmp_path, a_run):
    real = tmp_path / "real_run"
    shutil.copytree(a_run, real)
    before = digest(real)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with atomic_dir(link, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert digest(real) == before  # the folder the link pointed to is untouched; the link is replaced
    assert (link / "new.txt").read_text() == "new" and not link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real_run"]


def test_rerun_refuses_an_out_holding_a_recorded_input(tmp_path, small_routes):
    inputs = tmp_path / "in"
    inputs.mkdir()
    routes = inputs / "route.csv"
    shutil.copy(small_routes, routes)
    run1 = tmp_path / "run1"
    assert invoke("score", "--routes", routes, "--out", run1, *FAST).exit_code == 0
    before = digest(inputs)
    one_error(invoke("rerun", run1, "--out", inputs, "--overwrite"), 4, "holds the input", "route.csv")
    assert digest(inputs) == before


def test_refuse_inputs_unit(tmp_path):
    (tmp_path / "a").mkdir()
    f = tmp_path / "a" / "in.csv"
    f.write_text("x")
    refuse_inputs(tmp_path / "b", [f, None])  # a sibling is fine
    refuse_inputs(tmp_path / "a" / "in.csv.out", [f])
    for out in (f, tmp_path / "a", tmp_path, tmp_path / "a" / "." / "in.csv"):
        with pytest.raises(OutputError):
            refuse_inputs(out, [f])
    with pytest.raises(OutputError, match="lies inside the input folder"):
        refuse_inputs(tmp_path / "a" / "new", [tmp_path / "a"])


_PARTS = st.sampled_from(["a", "b", "in.csv", ".", "..", "link"])


@settings(max_examples=60, deadline=None)
@given(st.lists(_PARTS, min_size=0, max_size=4), st.booleans())
def test_property_no_out_path_changes_an_input(tmp_path_factory, parts, overwrite):
    """Whatever ``--out`` is (the input, its folder, an ancestor, a sibling, through a symlink or ``..``), writing
    and replacing it never changes or removes the input: atomic_dir either refuses or leaves it byte for byte."""
    root = tmp_path_factory.mktemp("prop")
    (root / "a" / "b").mkdir(parents=True)
    src = root / "a" / "in.csv"
    src.write_text("id,lat,lon\n1,16.9,-92.1\n")
    (root / "a" / "b" / "link").symlink_to(root / "a", target_is_directory=True)
    (root / "link").symlink_to(src)
    out = root.joinpath(*parts) if parts else root
    try:
        with atomic_dir(out, overwrite=overwrite, inputs=[src]) as tmp:
            (tmp / "segments.csv").write_text("x")
    except OutputError:
        pass
    assert src.read_text() == "id,lat,lon\n1,16.9,-92.1\n"
    left = [n for _, dirs, files in os.walk(root) for n in dirs + files if n.startswith(".")]
    assert left == []  # no temporary folder, no lock, whether it wrote or refused


# -- temporary folders and locks belong to their owner ---------------------------------------------------------------
def _tmp_name(target: str, pid: int, start: int, suffix: str = "") -> str:
    return f".routerisk-tmp-{target}.{pid}.{start}.{'ab' * 8}{suffix}"


def test_cleanup_matches_exact_names_and_live_owners(tmp_path):
    """Attack: a run into `run` deleted the live temporary folder of a run into `run-2` (prefix match)."""
    me, start = os.getpid(), _start_time(os.getpid()) or 0
    live_other = tmp_path / _tmp_name("run-2", 999_999_999, 0)  # another target: never touched, dead or alive
    live_same = tmp_path / _tmp_name("run", me, start)  # same target, owner alive
    dead = tmp_path / _tmp_name("run", 999_999_999, 0)  # no such pid
    reused = tmp_path / _tmp_name("run", me, start + 1)  # our pid, but another start time: a reused pid
    foreign = tmp_path / ".routerisk-tmp-run.not-ours"  # not a routerisk name: left alone
    for d in (live_other, live_same, dead, reused, foreign):
        d.mkdir()
        (d / "f").write_text("x")
    with atomic_dir(tmp_path / "run") as tmp:
        (tmp / "ok").write_text("1")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert live_other.name in names and live_same.name in names and foreign.name in names
    assert dead.name not in names and reused.name not in names
    assert (tmp_path / "run" / "ok").exists()


def test_atomic_file_temporaries_are_owned_too(tmp_path):
    from routerisk._atomic import atomic_file

    me, start = os.getpid(), _start_time(os.getpid()) or 0
    dead = tmp_path / (_tmp_name("map.html", 999_999_999, 0) + ".html")
    live = tmp_path / (_tmp_name("map.html", me, start) + ".html")
    other = tmp_path / (_tmp_name("map.html.bak", 999_999_999, 0) + ".bak")
    for p in (dead, live, other):
        p.write_text("partial")
    with atomic_file(tmp_path / "map.html") as tmp:
        assert tmp.suffix == ".html"
        tmp.write_text("<html></html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name, "map.html"])


def test_previous_outputs_of_a_run_killed_mid_swap_are_restored(tmp_path):
    """A run killed between moving the old outputs aside and moving the new ones in: the next run puts them back."""
    old = tmp_path / _tmp_name("run", 999_999_999, 0, ".old")
    old.mkdir()
    (old / "manifest.json").write_text('{"manifest_version": 1, "software": {"routerisk": "0"}}')
    with pytest.raises(OutputError, match="already holds files"):
        with atomic_dir(tmp_path / "run"):
            pass
    assert (tmp_path / "run" / "manifest.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_empty_or_partial_lock_file_is_not_a_second_holder(tmp_path):
    """Attack: an empty lock file was taken as stale while its owner was still writing its pid."""
    target = tmp_path / "run"
    with _lock(target):
        assert _lock_path(target).read_text().split()[0] == str(os.getpid())
        # the holder's file, emptied or half-written, still belongs to the holder
        _lock_path(target).write_text("")
        with pytest.raises(OutputError, match="another routerisk run"):
            with _lock(target):
                pass
    assert not _lock_path(target).exists()
    _lock_path(target).write_text("999999999")  # left by a dead process of an older routerisk: free
    with _lock(target):
        pass
    assert not _lock_path(target).exists()


def test_a_planted_lock_symlink_never_truncates_an_input(tmp_path):
    victim = tmp_path / "incidents.csv"
    victim.write_text("id,lat,lon\n1,16.9,-92.1\n")
    before = digest(tmp_path)
    (tmp_path / ".run.lock").symlink_to(victim)
    with pytest.raises(OutputError, match="symbolic link"):
        with atomic_dir(tmp_path / "run"):
            pass
    os.mkfifo(tmp_path / ".run2.lock")
    with pytest.raises(OutputError, match="not a regular file"):
        with atomic_dir(tmp_path / "run2"):
            pass
    assert digest(tmp_path) == before
    assert not (tmp_path / "run").exists() and not (tmp_path / "run2").exists()


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=64) | st.sampled_from([b"", b"0", b"1", b"-5", b"999999999", b"1 2 3", b"\x00" * 10]))
def test_property_any_unheld_lock_file_is_taken_cleanly(tmp_path_factory, content):
    """A lock file nobody holds (any bytes left by a crash or planted) is taken, or refused with OutputError for a
    live pid of an older routerisk; nothing else is raised and the file is gone afterwards."""
    from routerisk._atomic import _pid_alive

    d = tmp_path_factory.mktemp("lock")
    _lock_path(d / "run").write_bytes(content)
    text = content.decode("ascii", "replace").strip()
    if text.isdigit() and len(text) <= 12 and _pid_alive(int(text)):  # e.g. "1": a live process, older format
        with pytest.raises(OutputError, match="another routerisk run"), _lock(d / "run"):
            pass
        return
    with _lock(d / "run"):
        assert _lock_path(d / "run").read_text().split()[0] == str(os.getpid())
    assert not _lock_path(d / "run").exists()


def _race_worker(k: int, target: str, rounds: int, barrier, results) -> None:
    import random

    rng = random.Random(k)
    lock = _lock_path(Path(target))
    got = 0
    for i in range(rounds):
        if k == 0 and i % 3:  # most rounds start with a lock file nobody holds: empty, or a dead process's pid
            lock.write_text(["", "999999999"][i % 3 - 1])
        barrier.wait()
        time.sleep(rng.random() * 1e-4)  # 0-100 us apart: explores the interleavings of the two attempts
        try:
            with _lock(Path(target)):
                results.put(("held", i))
                got += 1
                barrier.wait()  # hold until the other has tried
                barrier.wait()
        except OutputError:
            barrier.wait()
            barrier.wait()
    results.put(("done", got))


def test_lock_race_two_processes_hundred_rounds(tmp_path):
    """Two processes released together by a barrier try the same lock, 100 times, most rounds over a lock file
    left by a dead run: exactly one holds it each time. (The earlier pid-file lock gave two holders in 44 of 200
    such rounds: both judged the file stale, one removed the other's fresh lock.)"""
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(2, timeout=60), ctx.Queue()
    target = str(tmp_path / "run")
    procs = [ctx.Process(target=_race_worker, args=(k, target, 100, barrier, results)) for k in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    msgs = [results.get(timeout=5) for _ in range(100 + 2)]
    held = sorted(m[1] for m in msgs if m[0] == "held")
    assert held == list(range(100))  # exactly one holder in every round: never two, never none
    assert sum(m[1] for m in msgs if m[0] == "done") == 100
    assert not _lock_path(Path(target)).exists()


# -- signals: SIGTERM and SIGHUP are handled like Ctrl-C ---------------------------------------------------------------
@pytest.fixture(scope="module")
def slow_incidents(tmp_path_factory):
    """200,000 synthetic incidents: reading and scoring them takes seconds, so a signal lands mid-run."""
    from routerisk import synthetic_incidents

    inc = synthetic_incidents(200_000, seed=5)
    path = tmp_path_factory.mktemp("slow") / "incidents.csv"
    inc.drop(columns="geometry").assign(lon=inc.geometry.x, lat=inc.geometry.y).to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_sighup_keep_previous_outputs_and_leave_nothing(tmp_path, a_run, slow_incidents, sig, code):
    """Attack: SIGTERM left the temporary folder and the lock behind."""
    prev = tmp_path / "run"
    shutil.copytree(a_run, prev)
    before = digest(prev)
    proc = subprocess.Popen(
        [*ROUTERISK, "score", "--incidents", str(slow_incidents), "--out", str(prev), "--overwrite",
         "--param", "segment_length_m=1000", *FAST],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: [signal.signal(s, signal.SIG_DFL) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)],
    )  # fmt: skip
    t0 = time.monotonic()
    while not any(p.name.startswith(".routerisk-tmp-") for p in tmp_path.iterdir()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < 120
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == code, err
    assert code in EXIT_CODES
    assert "Traceback" not in err and "previous outputs were left" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary folder, no lock
    assert digest(prev) == before


@pytest.mark.slow
def test_a_run_into_run_leaves_a_live_run_into_run_2_alone(tmp_path, slow_incidents, small_routes):
    """Attack: `--out run-2` was killed (exit 134, outputs lost, lock left) by a run into `--out run`, whose
    clean-up matched the name prefix and deleted run-2's live temporary folder."""
    slow = subprocess.Popen(
        [*ROUTERISK, "score", "--incidents", str(slow_incidents), "--out", str(tmp_path / "run-2"), *FAST],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    t0 = time.monotonic()
    while not any(p.name.startswith(".routerisk-tmp-run-2.") for p in tmp_path.iterdir()):
        assert slow.poll() is None, slow.communicate()
        assert time.monotonic() - t0 < 120
        time.sleep(0.02)
    fast = invoke("score", "--routes", small_routes, "--out", tmp_path / "run", *FAST)
    assert fast.exit_code == 0, fast.output
    if slow.poll() is None:  # still running: its temporary folder is still there
        assert any(p.name.startswith(".routerisk-tmp-run-2.") for p in tmp_path.iterdir())
    _, err = slow.communicate(timeout=300)
    assert slow.returncode == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run", "run-2"]
    assert (tmp_path / "run-2" / "manifest.json").is_file()


def test_stdout_closed_early_is_141_not_a_bug(tmp_path):
    """Attack: `routerisk validate FILE | head -1` ended in exit 70 (BrokenPipeError)."""
    proc = subprocess.Popen(
        [*ROUTERISK, "validate", str(BAD / "hostile_numbers.csv"), "--kind", "incidents", "--rejected",
         str(tmp_path / "r.csv")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    proc.stdout.close()  # the reader goes away before the first line
    with proc.stderr:
        err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode == 141, err
    assert 141 in EXIT_CODES
    assert "Traceback" not in err and "bug" not in err


# -- disk full and permission problems: exit 4 ------------------------------------------------------------------------
@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 64 KiB tmpfs (root only; skipped where mounting is not allowed)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                                            capture_output=True).returncode != 0:  # fmt: skip
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_disk_full_exit_4_and_nothing_left(tiny_tmpfs, small_routes):
    result = invoke("score", "--routes", small_routes, "--out", tiny_tmpfs / "run", *FAST)
    one_error(result, 4, "No space left on device")
    assert list(tiny_tmpfs.iterdir()) == []  # no temporary folder, no lock, no partial output


def test_disk_full_for_validate_rejected(tiny_tmpfs):
    (tiny_tmpfs / "filler").write_bytes(b"\0" * 60_000)
    rows = "id,date,lat,lon,victims\nok,2020-01-01,16.9,-92.1,1\n" + "".join(
        f"r{i},2020-01-01,16.9,-92.1,-1\n" for i in range(2000)
    )
    src = tiny_tmpfs.parent / "many_bad.csv"
    src.write_text(rows)
    result = invoke("validate", src, "--kind", "incidents", "--rejected", tiny_tmpfs / "rej.csv")
    one_error(result, 4)
    assert sorted(p.name for p in tiny_tmpfs.iterdir()) == ["filler"]


def test_disk_full_simulated_in_process(tmp_path, small_routes, monkeypatch):
    """ENOSPC and EDQUOT from any writer (here the manifest) end in exit 4, wherever /proc or mount are missing."""
    import routerisk.pipeline as pipeline

    for err in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        def full(*a, _e=err, **k):
            raise OSError(_e, os.strerror(_e))

        monkeypatch.setattr(pipeline, "write_manifest", full)
        result = invoke("score", "--routes", small_routes, "--out", tmp_path / "run", *FAST)
        one_error(result, 4, os.strerror(err))
        assert list(tmp_path.iterdir()) == []


def test_immutable_run_folder_exit_4(tmp_path, a_run, small_routes):
    """Attack: `--overwrite` of an immutable run folder crashed with exit 70."""
    prev = tmp_path / "run"
    shutil.copytree(a_run, prev)
    if subprocess.run(["chattr", "+i", str(prev)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        before = digest(prev)
        result = invoke("score", "--routes", small_routes, "--out", prev, "--overwrite", *FAST)
        one_error(result, 4, str(prev))
        assert digest(prev) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    finally:
        subprocess.run(["chattr", "-i", str(prev)], check=True)


# -- UTF-16 without a byte-order mark ----------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.sampled_from(["Tapachula", "Ixtepec", "Arriaga", "robo", "secuestro", "Oaxaca"]), min_size=1,
             max_size=6),
    st.sampled_from(["utf-16-le", "utf-16-be"]),
)  # fmt: skip
def test_utf16_without_bom_reads_like_utf8(tmp_path_factory, places, encoding):
    from routerisk._validate import ValidationReport
    from routerisk.io import read_incidents

    d = tmp_path_factory.mktemp("u16")
    text = "id,date,lat,lon,category,notes\n" + "".join(
        f"i{i},2020-01-{i + 1:02d},16.{i},-92.{i},robbery,{p} año\n" for i, p in enumerate(places)
    )
    (d / "a.csv").write_bytes(text.encode("utf-8"))
    (d / "b.csv").write_bytes(text.encode(encoding))
    a = read_incidents(d / "a.csv", report=ValidationReport())
    b = read_incidents(d / "b.csv", report=ValidationReport())
    assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
    assert a.geometry.equals(b.geometry)


def test_binary_with_nuls_is_still_binary():
    from routerisk.io._tables import _utf16_without_bom

    assert _utf16_without_bom((BAD / "binary.csv").read_bytes()) is None
    assert _utf16_without_bom(bytes(range(256)) * 4) is None
    assert _utf16_without_bom("lat,lon\n".encode("utf-16-le")) == "utf-16-le"
    assert _utf16_without_bom("lat,lon\n".encode("utf-16-be")) == "utf-16-be"


# -- the whole corpus, every file as every layer: documented codes only ----------------------------------------------
def _corpus_files():
    return sorted(p for p in BAD.iterdir() if p.suffix not in (".dbf", ".shx", ".prj", ".cpg"))


def test_every_corpus_file_has_an_exact_code_listed():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_validate_corpus", Path(__file__).with_name("test_cli_validate.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    listed = {name for name, *_ in CORPUS} | {name for name, *_ in module.CORPUS}
    assert {p.name for p in _corpus_files()} <= listed


@pytest.mark.parametrize("kind", ["incidents", "zones", "routes", "shelters", "deployments"])
def test_no_corpus_file_ends_in_exit_70_as_any_layer(tmp_path, kind):
    for path in _corpus_files():
        result = invoke("validate", path, "--kind", kind, "--rejected", tmp_path / f"{path.stem}.{kind}.csv")
        assert result.exit_code in EXIT_CODES and result.exit_code != 70, (path.name, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (path.name, result.exception)
        assert "Traceback" not in result.output


def test_no_corpus_file_as_sites_candidates_ends_in_exit_70(tmp_path, a_run):
    """Attack: a binary, empty or Latin-1 candidates CSV crashed `routerisk sites` (pandas errors, exit 70)."""
    codes = {}
    for path in _corpus_files():
        result = invoke("sites", "--run", a_run, "--out", tmp_path / path.stem, "--k", 1, "--candidates", path)
        assert result.exit_code in EXIT_CODES and result.exit_code != 70, (path.name, result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit), (path.name, result.exception)
        codes[path.name] = result.exit_code
    assert codes["binary.csv"] == codes["empty.csv"] == codes["two_coordinate_sets.csv"] == 2
    assert codes["latin1.csv"] in (0, 5)  # read as Windows-1252; 5 when no candidate is within reach
