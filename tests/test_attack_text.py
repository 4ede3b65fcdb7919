"""Hostile text through the CLI: template payloads, mathtext and spreadsheet formulas stay inert text.

Every text field of the inputs (route ids and names, zone and shelter names, incident ids, notes, sources and
categories), the input file's name and ``--title`` carry Jinja2 payloads (some would create a file if a template
engine evaluated them), comment/block openers that would stop a template from compiling, matplotlib mathtext and
spreadsheet formulas. The maps must show them literally, create no file and not fail; every CSV the tool writes
must neutralise formula cells and leave numbers alone.
"""

from __future__ import annotations

import csv
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from browser_utils import Page, launch, make_incidents, make_segments, make_shelters, make_zones, require_browser
from routerisk._sinks import CSV_TRIGGERS, csv_cell, csv_safe, html_text
from routerisk.cli import cli
from routerisk.maps import heatmap, save_html
from routerisk.maps.static import static_map

SEVEN = "corridor {{ 7*7 }} end"
MATH_VALID = r"$\frac{1}{0}$"
MATH_BROKEN = r"$\undefinedmacro{$"
FORMULAS = ('=HYPERLINK("http://evil.example","x")', "@SUM(1+1)", "=cmd|' /C calc'!A0", "+1+1", "-1+cmd", "\t=1")
ROUTE = [(16.2, -93.9), (16.6, -95.0), (17.2, -96.0), (18.0, -97.0), (18.9, -98.2)]


#: Jinja2 payloads without quotes (quotes are HTML-escaped before a template could see them): each creates
#: ``PWNED_*`` in the current folder if evaluated. All of them did, through route names and the title, before
#: the map stopped giving text to templates.
QUOTELESS = (
    "{{ lipsum.__globals__.os.open(dict(PWNED_open=1)|first, 65) }}",
    "{{ cycler.__init__.__globals__.os.mkdir(dict(PWNED_mkdir=1)|first) }}",
    "{% set x = namespace.__init__.__globals__.os.mkdir(dict(PWNED_set=1)|first) %}",
    "{{ self.__init__.__globals__.__builtins__.open(dict(PWNED_self_open=1)|first, dict(w=1)|first) }}",
    "{{ joiner.__init__.__globals__.os.mkdir(dict(PWNED_joiner_mkdir=1)|first) }}",
)


def template_payloads(marker_dir: Path) -> list[str]:
    """Jinja2 payloads: the first seven create ``PWNED_*`` in ``marker_dir`` if evaluated, the quoteless ones in
    the current folder."""
    d = marker_dir
    return [
        *QUOTELESS,
        f"{{{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch {d}/PWNED_self') }}}}",
        f"{{{{ cycler.__init__.__globals__.os.system('touch {d}/PWNED_cycler') }}}}",
        f"{{{{ joiner.__init__.__globals__.os.system('touch {d}/PWNED_joiner') }}}}",
        f"{{{{ lipsum.__globals__['os'].system('touch {d}/PWNED_lipsum') }}}}",
        f"{{{{ namespace.__init__.__globals__.os.system('touch {d}/PWNED_namespace') }}}}",
        f"{{% set x = cycler.__init__.__globals__.os.system('touch {d}/PWNED_set') %}}",
        f"{{% for c in [1] %}}{{{{ lipsum.__globals__.os.popen('touch {d}/PWNED_for').read() }}}}{{% endfor %}}",
        SEVEN,
        "{# a comment that never ends",
        "{% if %} half a block",
        "{{ unclosed",
        "{%- raw %}{{ 7*7 }}",
    ]


def _write(path: Path, rows: list[list[object]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return path


class Hostile:
    """The hostile inputs of one test module and the folders written from them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.markers = root / "markers"
        self.markers.mkdir()
        self.payloads = template_payloads(self.markers)
        p = self.payloads
        self.file_payload = (
            f"inc {{{{ 7*7 }}}} {MATH_VALID} {{{{ cycler.__init__.__globals__.os.system('touch PWNED_file') }}}}"
        )
        self.routes = _write(root / "routes.csv", [
            ["route_id", "seq", "lat", "lon", "mode", "name"],
            *[[FORMULAS[0], i + 1, la, lo, "rail", SEVEN] for i, (la, lo) in enumerate(ROUTE)],
            *[["b", i + 1, la, lo, "road", f"{FORMULAS[1]} {p[1]}"] for i, (la, lo) in enumerate(
                [(19.5, -99.0), (20.5, -100.4)])],
        ])
        rng = np.random.default_rng(0)
        rows = [["incident_id", "date", "lat", "lon", "category", "victims", "notes", "source"]]
        for k in range(40):
            t = rng.uniform(0, 3.999)
            j, f = int(t), t - int(t)
            la = ROUTE[j][0] + (ROUTE[j + 1][0] - ROUTE[j][0]) * f
            lo = ROUTE[j][1] + (ROUTE[j + 1][1] - ROUTE[j][1]) * f
            text = p[k % len(p)]
            rows.append([f"i{k} {text}" if k < len(p) else f"i{k}", f"2024-{1 + k % 12:02d}-05", round(la, 4),
                         round(lo, 4), "homicide", 1, text, FORMULAS[k % len(FORMULAS)]])
        rows += [
            ["neg-victims", "2024-03-07", 16.5, -94.6, "robbery", -3, "x", "x"],
            ["neg-lat", "2024-03-07", -95.5, -94.6, "robbery", 1, "x", "x"],
            ["formula-date", "=NOW()", 16.5, -94.6, "robbery", 1, "x", "x"],
            ["formula-cat", "2024-03-07", 16.5, -94.6, FORMULAS[2], 1, "x", "x"],
        ]
        self.incidents = _write(root / f"{self.file_payload}.csv", rows)
        self.zones = _write(root / "zones.csv", [
            ["zone_id", "name", "lat", "lon", "radius_m", "kind"],
            ["z1", f"zone {p[0]}", 16.4, -94.3, 20000, "checkpoint"],
            ["z2", f"zone {SEVEN} {p[8]}", 17.5, -96.4, 20000, "checkpoint"],
        ])
        self.shelters = _write(root / "shelters.csv", [
            ["shelter_id", "name", "kind", "lat", "lon", "locality", "state", "sensitive"],
            ["s1", f"casa {p[2]}", "shelter", 16.25, -93.9, "Arriaga", "Chiapas", "false"],
            ["s2", f"oficina {SEVEN} {p[9]}", "asylum_office", 17.07, -96.72, "Oaxaca", "Oaxaca", "false"],
        ])

    def pwned(self) -> list[Path]:
        return sorted(self.root.rglob("PWNED_*")) + sorted(Path("/tmp").glob("PWNED_*"))


def _invoke(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("attack_text")
    h = Hostile(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # relative payloads (in the file name) would land here
        h.score = _invoke([
            "score", "--incidents", str(h.incidents), "--routes", str(h.routes), "--zones", str(h.zones),
            "--shelters", str(h.shelters), "--maps", "--sites", "1", "--out", str(root / "run"),
        ])
        h.title = f"{h.payloads[0]} {h.payloads[5]} {SEVEN} {h.payloads[8]} {MATH_VALID}"
        h.maps = {}
        for privacy in ("internal", "public"):
            out = root / f"{privacy}.html"
            h.maps[privacy] = _invoke(["map", "--run", str(root / "run"), "--out", str(out), "--privacy", privacy,
                                       "--title", h.title])
    return h


class _Doc(HTMLParser):
    """The <title> and the JSON data blocks of a map."""

    def __init__(self) -> None:
        super().__init__()
        self.title: list[str] = []
        self.data: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "title":
            self._in = "title"
        elif tag == "script" and a.get("type") == "application/json":
            self._in = "data"

    def handle_endtag(self, tag):
        self._in = None

    def handle_data(self, data):
        if self._in == "title":
            self.title.append(data)
        elif self._in == "data":
            self.data.append(data)


def _strings(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def shown_texts(doc: str) -> list[str]:
    """What the page shows: the title, and every data string as the browser renders it (tags dropped)."""
    parser = _Doc()
    parser.feed(doc)
    shown = ["".join(parser.title)]
    for block in parser.data:
        shown += [html.unescape(re.sub(r"<[^>]*>", " ", s)) for s in _strings(json.loads(block))]
    return shown


# ---------------------------------------------------------------------------------------------------- templates


@pytest.mark.slow
def test_runs_finish_with_documented_codes(hostile):
    assert hostile.score.exit_code == 1, hostile.score.output  # finished; some rows rejected
    for privacy, res in hostile.maps.items():
        assert res.exit_code == 0, (privacy, res.output)


@pytest.mark.slow
def test_no_payload_creates_a_file(hostile):
    assert hostile.pwned() == []
    assert hostile.markers.is_dir() and not any(hostile.markers.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("privacy", ["internal", "public"])
def test_map_shows_payloads_literally(hostile, privacy):
    doc = (hostile.root / f"{privacy}.html").read_text(encoding="utf-8")
    shown = shown_texts(doc)
    text = "\n".join(shown)
    assert shown[0] == f"{hostile.title} ({privacy} map)"  # the <title>
    assert f"{hostile.title} " in text  # the title box
    assert "corridor 49 end" not in doc and "zone 49" not in doc
    expected = [SEVEN, f"zone {SEVEN} {hostile.payloads[8]}", f"oficina {SEVEN} {hostile.payloads[9]}",
                f"casa {hostile.payloads[2]}", f"{FORMULAS[1]} {hostile.payloads[1]}", f"zone {hostile.payloads[0]}",
                hostile.file_payload]  # route names, zone and shelter names, the file name in the footer
    if privacy == "internal":
        expected += list(hostile.payloads)  # incident notes and ids in the popups
        expected += [f"i0 {hostile.payloads[0]}"]
    for needle in expected:
        assert needle in text, needle


@pytest.mark.slow
def test_public_map_keeps_free_text_out(hostile):
    doc = (hostile.root / "public.html").read_text(encoding="utf-8")
    assert "PWNED_for" not in doc and "i0 " not in doc  # notes and ids are not published at all


@pytest.mark.parametrize("payload", [*QUOTELESS, SEVEN, "{# open", "{% if %}", "{{", "}}"])
def test_map_from_python_with_template_text(payload, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inc = make_incidents(30).assign(notes=payload, incident_id=payload)
    m = heatmap(make_segments().assign(name=payload), incidents=inc, zones=make_zones().assign(name=payload),
                shelters=make_shelters().assign(name=payload), title=payload,
                provenance={"inputs": [f"{payload}.csv"]})
    save_html(m, tmp_path / "m.html")
    doc = (tmp_path / "m.html").read_text(encoding="utf-8")
    shown = shown_texts(doc)
    assert shown[0] == f"{payload} (internal map)"
    assert sum(payload in s for s in shown) >= 5  # title, segments, zones, shelters, notes/ids, footer
    assert f"{payload}.csv" in "\n".join(shown)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.html"]  # nothing created


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.slow
def test_browser_shows_payloads_literally(hostile):
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = Page(browser)
            page.open(hostile.root / "internal.html")
            p = page.page
            tips = p.evaluate(
                """() => { const rr = window.routerisk, out = [];
                ['Route segments by risk class', 'Enforcement zones', 'Shelters and asylum offices'].forEach(
                    n => rr.layers[n].eachLayer(l => {
                        l.openTooltip(); out.push(l.getTooltip().getElement().innerText); }));
                return out; }"""
            )
            title_box = p.locator(".rr-title").inner_text()
            footer = p.locator(".rr-footer").text_content()
            doc_title = p.title()
            errors = list(page.errors)
            page.close()
        finally:
            browser.close()
    shown = "\n".join(tips)
    for needle in (SEVEN, f"zone {SEVEN}", f"oficina {SEVEN}", f"casa {hostile.payloads[2]}", hostile.payloads[0]):
        assert needle in shown, needle
    assert "corridor 49" not in shown and "zone 49" not in shown and "oficina 49" not in shown
    assert hostile.title in title_box and doc_title == f"{hostile.title} (internal map)"
    assert hostile.file_payload in footer
    assert errors == [] and hostile.pwned() == []


# ------------------------------------------------------------------------------------------------- print maps


def _svg_text(path: Path) -> str:
    doc = path.read_text(encoding="utf-8")
    parts = re.findall(r"<text\b[^>]*>(.*?)</text>", doc, flags=re.DOTALL)
    return " ".join(" ".join(html.unescape(re.sub(r"<[^>]*>", "", p)).split()) for p in parts)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_print_maps_take_math_and_templates_literally(hostile, tmp_path, fmt):
    title = f"{MATH_VALID} {MATH_BROKEN} {SEVEN}"
    out = tmp_path / f"m.{fmt}"
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # SVG text as <text>, so it can be read back
        res = _invoke(["map", "--run", str(hostile.root / "run"), "--out", str(out), "--title", title,
                       "--dpi", "50"])
    assert res.exit_code == 0, res.output
    head = out.read_bytes()[:8]
    assert head.startswith({"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}[fmt])
    if fmt == "svg":
        shown = _svg_text(out)
        assert f"{title} (internal map)" in shown
        assert " ".join(hostile.file_payload.split()) in shown  # the file name in the source line, literally
    assert hostile.pwned() == []


def test_static_map_text_objects_are_not_math():
    fig = static_map(make_segments(), title=MATH_BROKEN, source=f"inputs: {MATH_VALID}.csv")
    texts = [fig.axes[0].title, *fig.texts]
    assert texts[0].get_text() == f"{MATH_BROKEN} (internal map)"
    for t in texts:
        assert t.get_parse_math() is False and t.get_usetex() is False
        assert t._preprocess_math(t.get_text())[1] is False  # drawn as plain text


# --------------------------------------------------------------------------------------------------------- CSV


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def _formula_like(cell: str) -> bool:
    return csv_cell(cell) != cell


RUN_CSVS = ["segments_ranked.csv", "rejected_rows.csv", "input_notes.csv", "sites.csv", "gaps.csv",
            "coverage_curve.csv"]
#: A formula from the inputs that must reach each file (neutralised); None where no input text reaches it.
CARRIED = {
    "segments_ranked.csv": FORMULAS[0],
    "rejected_rows.csv": "=NOW()",
    "input_notes.csv": FORMULAS[2],
    "gaps.csv": FORMULAS[0],
    "sites.csv": None,
    "coverage_curve.csv": None,
}


@pytest.mark.slow
@pytest.mark.parametrize("name", RUN_CSVS)
def test_every_run_csv_neutralises_formulas(hostile, name):
    rows = _rows(hostile.root / "run" / name)
    assert len(rows) >= 2, name  # a header and at least one row: the check is not vacuous
    cells = [c for row in rows for c in row]
    assert not [c for c in cells if _formula_like(c)]
    carried = CARRIED[name]
    if carried is not None:
        assert any(c.startswith("'" + carried) for c in cells), (name, carried)


@pytest.mark.slow
def test_negative_numbers_stay_numbers(hostile):
    sites = pd.read_csv(hostile.root / "run" / "sites.csv")
    assert pd.api.types.is_float_dtype(sites["lon"]) and (sites["lon"] < 0).all()
    rejected = pd.read_csv(hostile.root / "run" / "rejected_rows.csv", dtype=str)
    values = rejected.set_index("column")["value"]
    assert float(values["victims"]) == -3.0  # a rejected negative number is not prefixed
    assert values["lat/lon"].startswith("'-95.5")  # text that starts with '-' and is not a number is


@pytest.mark.slow
def test_validate_rejected_csv(hostile, tmp_path):
    out = tmp_path / "rejected.csv"
    res = _invoke(["validate", str(hostile.incidents), "--kind", "incidents", "--rejected", str(out)])
    assert res.exit_code == 1, res.output
    cells = [c for row in _rows(out) for c in row]
    assert not [c for c in cells if _formula_like(c)]
    assert "'=NOW()" in cells and "-3.0" in cells


@pytest.mark.slow
def test_sites_command_csvs_neutralise_candidate_names(hostile, tmp_path):
    cands = _write(tmp_path / "candidates.csv", [
        ["lon", "lat", "name", "state"],
        [-94.3, 16.4, FORMULAS[0], FORMULAS[1]],
        [-96.0, 17.2, FORMULAS[4], "Oaxaca"],
        [-97.0, 18.0, "Tehuacán", "Puebla"],
    ])
    out = tmp_path / "sites"
    res = _invoke(["sites", "--run", str(hostile.root / "run"), "--out", str(out), "--candidates", str(cands),
                   "--k", "3", "--existing", "none", "--no-exclude-zones"])
    assert res.exit_code == 0, res.output
    written = sorted(p.name for p in out.glob("*.csv"))
    assert written == ["coverage_curve.csv", "gaps.csv", "sites.csv"]
    for name in written:
        assert not [c for row in _rows(out / name) for c in row if _formula_like(c)], name
    sites = pd.read_csv(out / "sites.csv")
    assert {"'" + FORMULAS[0], "'" + FORMULAS[4]} <= set(sites["locality"]) and "'" + FORMULAS[1] in set(sites["state"])
    assert (sites["lon"] < 0).all() and pd.api.types.is_float_dtype(sites["lon"])


# ------------------------------------------------------------------------------------------- the rule itself


@pytest.mark.parametrize("cell", [*FORMULAS, "-", " =1+1", "\r=1", "+", "@", "-2+3", "- 5", "=1,5"])
def test_csv_cell_prefixes_formulas(cell):
    assert csv_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-91.5", "+3", "-1e5", ".5", "0", "Arriaga", "", "a=b", "'=already", "1-2"])
def test_csv_cell_leaves_text_and_numerals(cell):
    assert csv_cell(cell) == cell


def test_csv_safe_is_vectorised_and_keeps_dtypes():
    df = pd.DataFrame({
        "t": pd.Series(["=1", "ok", None, "-4"], dtype=object),
        "s": pd.Series(["@x", "y", "z", "+"], dtype="string"),
        "c": pd.Categorical(["-cmd", "a", "a", "b"]),
        "f": [-1.5, 2.0, np.nan, -3.0],
        "i": [-1, 2, 3, -4],
        "d": pd.to_datetime(["2024-01-01"] * 4),
    })
    out = csv_safe(df)
    assert out["t"].tolist()[:2] == ["'=1", "ok"] and out["t"].tolist()[3] == "-4"
    assert out["s"].tolist() == ["'@x", "y", "z", "'+"]
    assert out["c"].tolist()[0] == "'-cmd"
    for col in ("f", "i", "d"):
        assert out[col].dtype == df[col].dtype
        pd.testing.assert_series_equal(out[col], df[col])
    assert df["t"].tolist()[0] == "=1"  # the input frame is not modified
    assert set(CSV_TRIGGERS) == set("=+-@\t\r")


@given(st.text())
def test_csv_cell_property(text):
    out = csv_cell(text)
    if out != text:  # prefixed: one quote, then the original text
        assert out == "'" + text and text.lstrip(" ")[:1] in set(CSV_TRIGGERS)
    # whatever is written, a spreadsheet cannot read a formula from it: it starts with a quote, a harmless
    # character, or it is a plain decimal number
    stripped = out.lstrip(" ")
    assert stripped[:1] not in set(CSV_TRIGGERS) or re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", out)


@given(st.text())
def test_html_text_property(text):
    out = html_text(text)
    assert not set(out) & set("<>\"'`$\\")
    assert html.unescape(out) == text
