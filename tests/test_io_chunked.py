"""read_incidents reads a CSV in chunks with exactly the result and report of a single read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routerisk import InputError, ValidationReport
from routerisk.io import read_incidents
from routerisk.io._tables import CHUNK_ROWS_MAX, CHUNK_ROWS_MIN, CHUNKS_RELIABLE, TextChunks, auto_chunksize

HEADER = "id,date,lat,lon,category,victims"


def _bad_file(n: int, seed: int = 0) -> str:
    """A CSV of ``n`` records with every kind of problem, spread over the file."""
    rng = np.random.default_rng(seed)
    lines = [HEADER]
    cats = ["homicidio", "secuestro", "robbery", "extorsión", "algo raro", "", "Desaparición"]
    for i in range(n):
        lat, lon = rng.uniform(15, 31), rng.uniform(-116, -88)
        rid = str(i)
        date = f"20{rng.integers(15, 24)}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}"
        lat_t, lon_t = f"{lat:.5f}", f"{lon:.5f}"
        victims = str(rng.integers(1, 5))
        kind = i % 23
        if kind == 1:
            rid = str(int(rng.integers(0, n)))  # duplicate of a row anywhere (often in another chunk)
        elif kind == 2:
            lat_t = lat_t.replace(".", ",")  # decimal comma (quoted below)
        elif kind == 3:
            date = rng.choice(["2019-02-30", "not a date", "1985-01-01", "2999-01-01", "31-Feb-19"])
        elif kind == 4:
            lat_t, lon_t = lon_t, lat_t  # swapped
        elif kind == 5:
            lines.append(f"{rid},{date},{lat_t},{lon_t},robo,1,extra")  # malformed: too many fields
            continue
        elif kind == 6:
            lines.append(",,,,,")  # blank
            continue
        elif kind == 7:
            rid = ""  # generated id
        elif kind == 8:
            victims = rng.choice(["0", "-2", "2.5", "", "5000", "x"])
        elif kind == 9:
            lat_t = rng.choice(["", "abc", "0", "95"])
            lon_t = "0" if lat_t == "0" else lon_t
        elif kind == 10:
            date = rng.choice(["2019-05", "2019", "May 2019", "12 mayo 2019", ""])
        elif kind == 11:
            lat_t, lon_t = f"{lat:.1f}", f"{lon:.1f}"  # locality precision
        cat = cats[int(rng.integers(0, len(cats)))]
        lat_q = f'"{lat_t}"' if "," in lat_t else lat_t
        lines.append(f"{rid},{date},{lat_q},{lon_t},{cat},{victims}")
    return "\n".join(lines) + "\n"


def _read(path, **kw):
    report = ValidationReport()
    return read_incidents(path, report=report, **kw), report


def assert_same(path, chunksize, **kw):
    one, rep_one = _read(path, chunksize=None, **kw)
    many, rep_many = _read(path, chunksize=chunksize, **kw)
    assert_geodataframe_equal(one, many, check_less_precise=False)
    pd.testing.assert_frame_equal(rep_one.to_frame(), rep_many.to_frame())
    assert rep_one.counts == rep_many.counts
    return one, rep_one


@pytest.fixture(scope="module")
def bad_csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("chunked") / "bad.csv"
    p.write_text(_bad_file(3000))
    return p


def test_tiny_chunks_identical_to_one_read(bad_csv):
    gdf, rep = assert_same(bad_csv, 97)
    reasons = set(rep.to_frame()["reason"])
    # the file exercises every kind of problem
    for expected in (
        "duplicate id (an earlier row has the same id)",
        "decimal comma read as a decimal point",
        "impossible date (no such day)",
        "unparseable date",
        "latitude and longitude swapped (only inside Mexico's region swapped)",
        "line has 7 fields but the header has 6",
        "id missing; generated as '<file stem>-<row>'",
        "negative number of victims",
        "missing coordinate",
        "date before 1990",
    ):
        assert expected in reasons
    assert any(r.endswith("blank lines skipped") for r in reasons)
    dup = rep.rejected[rep.rejected["reason"].str.startswith("duplicate id")]
    assert len(dup) > 20
    assert 0 < len(gdf) < 3000


def test_file_is_really_read_in_chunks(bad_csv):
    chunks = TextChunks(bad_csv, ValidationReport(), str(bad_csv), 97)
    sizes = [len(df) for df, _ in chunks]
    chunks.finish()
    assert sum(sizes) == sum(1 for i in range(3000) if i % 23 not in (5, 6))  # malformed, blank lines: no data
    if CHUNKS_RELIABLE:  # pandas >= 3
        assert len(sizes) > 25 and max(sizes) <= 97
    else:
        assert len(sizes) == 1


def test_compact_dtypes(bad_csv):
    gdf, _ = _read(bad_csv, chunksize=500)
    for col in ("category", "perpetrator", "date_precision", "location_precision"):
        assert isinstance(gdf[col].dtype, pd.CategoricalDtype)
        assert list(gdf[col].cat.categories) == sorted(gdf[col].unique())
    assert gdf["victims"].dtype == "int64"
    assert gdf["date"].dtype == "datetime64[ns]"
    assert pd.api.types.is_string_dtype(gdf["incident_id"].dtype)
    assert gdf["incident_id"].is_unique


def test_row_numbers_survive_chunks(bad_csv):
    """A row's report number is its spreadsheet row whatever chunk it fell in."""
    text = bad_csv.read_text().splitlines()
    _, rep = _read(bad_csv, chunksize=97)
    dup = rep.rejected[rep.rejected["reason"].str.startswith("duplicate id")]
    for row, value in zip(dup["row"], dup["value"], strict=True):
        rid, first = value.split(" (first at row ")
        assert text[row - 1].split(",")[0] == rid
        assert text[int(first.rstrip(")")) - 1].split(",")[0] == rid


@pytest.mark.parametrize(
    ("early", "late", "month_first"),
    [("05/06/2019", "13/06/2019", False), ("05/06/2019", "05/13/2019", True), ("05/06/2019", "07/08/2019", False)],
)
def test_slash_date_order_decided_over_the_whole_file(tmp_path, early, late, month_first):
    """``a/b/yyyy`` dates are read day- or month-first for the whole column, even when only a later chunk shows
    which."""
    n = 400
    body = [f"{i},{early if i < n - 5 else late},16.{i:04d}1,-92.{i:04d}1,robo,1" for i in range(n)]
    p = tmp_path / "slash.csv"
    p.write_text(HEADER + "\n" + "\n".join(body) + "\n")
    gdf, rep = assert_same(p, 50)
    first = gdf["date"].iloc[0]
    assert (first.month, first.day) == ((5, 6) if month_first else (6, 5))
    ambiguous = (rep.notes["reason"] == "day/month order ambiguous; read as day/month").sum()
    assert ambiguous == (n if early != late and late == "07/08/2019" else 0)


def test_iom_sample_chunked(real_data):
    assert_same(real_data / "iom_mmp_mexico_2018_sample.csv", 37)


def test_iom_split_coordinates_chunked(tmp_path):
    rows = ["Web ID,Incident Date,Coordinates,Cause of Death,Total Dead and Missing"]
    for i in range(300):
        coord = ["16.123, -92.456", "16,123, -92,456", "bad", "", "(16.1 -92.4)"][i % 5]
        rows.append(f'{i % 250},{["31-Dec-18", "2018-12-31", ""][i % 3]},"{coord}",Drowning,{i % 4}')
    p = tmp_path / "iom.csv"
    p.write_text("\n".join(rows) + "\n")
    assert_same(p, 29, format="iom")


def test_malformed_lines_at_chunk_edges(tmp_path):
    body = [f"{i},2020-01-01,16.1{i:03d},-92.1{i:03d},robo,1" for i in range(60)]
    for pos in (59, 40, 20, 10, 9, 1):  # (a malformed first record makes pandas infer an index column)
        body.insert(pos, "x,2020-01-01,16.1,-92.1,robo,1,extra")
    body.append("y,2020-01-01,16.1,-92.1,robo,1,extra")
    p = tmp_path / "edges.csv"
    p.write_text(HEADER + "\n" + "\n".join(body) + "\n")
    for size in (1, 2, 3, 10, 11):
        _, rep = assert_same(p, size)
        assert rep.counts[str(p)] == {"read": 67, "kept": 60, "rejected": 7}


def test_windows_1252_chunked(tmp_path):
    body = [f"{i},2020-01-01,16.1{i:03d},-92.1{i:03d},extorsión,1" for i in range(200)]
    p = tmp_path / "latin.csv"
    p.write_bytes((HEADER + "\n" + "\n".join(body) + "\n").encode("cp1252"))
    _, rep = assert_same(p, 33)
    assert rep.notes["action"].eq("encoding").sum() == 1


def test_no_usable_rows_same_error(tmp_path):
    p = tmp_path / "none.csv"
    p.write_text(HEADER + "\n" + "\n".join(f"{i},2020-01-01,,,robo,1" for i in range(100)) + "\n")
    messages = []
    for size in (None, 7):
        with pytest.raises(InputError) as exc:
            _read(p, chunksize=size)
        messages.append(str(exc.value))
    assert messages[0] == messages[1]


@pytest.mark.parametrize("bad", [0, -5, 2.5, "big", True])
def test_chunksize_checked(bad_csv, bad):
    with pytest.raises(ValueError, match="chunksize"):
        read_incidents(bad_csv, chunksize=bad, report=ValidationReport())


def test_auto_chunksize_bounds(tmp_path):
    p = tmp_path / "x.csv"
    assert auto_chunksize(p, b"a,b\n" * 10) == CHUNK_ROWS_MAX
    assert auto_chunksize(p, (b"x" * 5000 + b"\n") * 3) == CHUNK_ROWS_MIN
    assert CHUNK_ROWS_MIN <= auto_chunksize(p, (b"1,2020-01-01,16.12345,-92.12345,robbery,1\n") * 100) <= CHUNK_ROWS_MAX


@pytest.fixture(scope="module")
def small_bad_csv(tmp_path_factory):
    p = tmp_path_factory.mktemp("chunked_small") / "small.csv"
    p.write_text(_bad_file(400, seed=3))
    return p


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunksize=st.integers(min_value=1, max_value=450))
def test_any_chunk_size_gives_the_same_result(small_bad_csv, chunksize):
    assert_same(small_bad_csv, chunksize)


@pytest.mark.parametrize(("encoding", "sep"), [("utf-16", ","), ("utf-8-sig", ","), ("utf-8", ";")])
def test_encodings_and_delimiters_chunked(tmp_path, encoding, sep):
    body = [f"{i % 150},2020-01-0{1 + i % 9},16.1{i:03d},-92.1{i:03d},extorsión,1" for i in range(200)]
    p = tmp_path / "enc.csv"
    p.write_bytes((HEADER + "\n" + "\n".join(body) + "\n").replace(",", sep).encode(encoding))
    _, rep = assert_same(p, 17)
    assert rep.counts[str(p)] == {"read": 200, "kept": 150, "rejected": 50}


def test_quoted_newlines_chunked(tmp_path):
    body = [f'{i},2020-01-01,16.1{i:03d},-92.1{i:03d},robo,1,"two\nlines {i}"' for i in range(100)]
    p = tmp_path / "multiline.csv"
    p.write_text(HEADER + ",notes\n" + "\n".join(body) + "\n")
    gdf, _ = assert_same(p, 7)
    assert gdf["notes"].iloc[99] == "two\nlines 99"
