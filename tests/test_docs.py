"""The user guide, the README and the notebooks against the shipped code.

- the API reference (docs/reference/api.md) documents every name of ``routerisk.__all__`` and of the public
  subpackages' ``__all__``; the CLI reference (docs/reference/cli.md, rendered by mkdocs-click) shows every
  command and option of the click tree;
- the README's Python example runs;
- the walkthrough (docs/walkthrough.md) runs exactly as written: a custom corridor, the IOM sample scored on it
  through the CLI, the map;
- the notebooks are committed without outputs.

The strict mkdocs build and the execution of the notebooks run in ``make test`` (after this suite).
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from routerisk.cli import cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API_PAGE = DOCS / "reference" / "api.md"
CLI_PAGE = DOCS / "reference" / "cli.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
PUBLIC_MODULES = ("routerisk", "routerisk.io", "routerisk.maps", "routerisk.siting")
#: The console script of this environment (the walkthrough calls `routerisk ...`).
ROUTERISK = Path(sys.executable).with_name("routerisk")


def _resolve(path: str):
    """The object a mkdocstrings identifier such as ``routerisk.maps.heatmap`` names."""
    parts = path.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def _documented_objects() -> list:
    idents = re.findall(r"^::: (routerisk[\w.]*)\s*$", API_PAGE.read_text(encoding="utf-8"), flags=re.M)
    assert idents, f"no '::: routerisk...' directive in {API_PAGE}"
    return [_resolve(i) for i in idents]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_api_reference_documents_every_public_name(module_name):
    module = importlib.import_module(module_name)
    documented = _documented_objects()
    text = API_PAGE.read_text(encoding="utf-8")
    missing = []
    for name in module.__all__:
        if name == "__version__":
            if "__version__" not in text:
                missing.append(name)
            continue
        obj = getattr(module, name)
        if not any(obj is d for d in documented):
            missing.append(name)
    assert not missing, f"{module_name}.__all__ names missing from {API_PAGE.relative_to(ROOT)}: {missing}"


def _command_tree(command: click.Command, prefix: str = "routerisk"):
    yield prefix, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            yield from _command_tree(command.get_command(ctx, name), f"{prefix} {name}")


def _render_cli_page() -> str:
    import markdown

    md = markdown.Markdown(extensions=["mkdocs-click", "tables", "fenced_code"])
    return md.convert(CLI_PAGE.read_text(encoding="utf-8"))


def test_cli_reference_shows_every_command_and_option():
    html = _render_cli_page()
    problems = []
    for path, command in _command_tree(cli):
        if not re.search(rf"(^|>){re.escape(path)} \[OPTIONS\]", html, flags=re.M):  # its usage line
            problems.append(f"command {path!r}")
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("-") and opt not in html:
                    problems.append(f"option {opt} of {path!r}")
    assert not problems, f"missing from the CLI reference: {problems}"


def test_cli_reference_covers_the_registered_subcommands():
    from routerisk.cli import _SUBCOMMANDS

    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(_SUBCOMMANDS)
    modules = {p.stem for p in (ROOT / "src" / "routerisk" / "cli").glob("*.py") if not p.stem.startswith("_")}
    commands = {name for name in modules - {"options"}
                if isinstance(getattr(importlib.import_module(f"routerisk.cli.{name}"), name, None), click.Command)}
    assert commands == set(_SUBCOMMANDS), "a command module is not registered in routerisk.cli._SUBCOMMANDS"


def test_lazy_command_list_shows_each_commands_own_short_help():
    """``routerisk --help`` lists the one-line helps of ``_SUBCOMMANDS`` without importing the commands: each must
    be the command's own short help (its ``short_help``, else the first sentence of its docstring)."""
    from routerisk.cli import _SUBCOMMANDS

    ctx = click.Context(cli)
    wrong = {name: (text, cli.get_command(ctx, name).get_short_help_str(limit=1000))
             for name, text in _SUBCOMMANDS.items()
             if text != cli.get_command(ctx, name).get_short_help_str(limit=1000)}
    assert not wrong, f"routerisk.cli._SUBCOMMANDS differs from the commands' short help: {wrong}"
    listing = cli.get_help(ctx)
    assert all(name in listing for name in _SUBCOMMANDS)


def test_help_imports_no_command_and_no_heavy_library():
    """``routerisk --help`` (and ``import routerisk``) load neither the commands nor geopandas, numpy, numba..."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from routerisk.cli import cli\n"
        "res = CliRunner().invoke(cli, ['--help'])\n"
        "assert res.exit_code == 0, res.output\n"
        "heavy = ('numpy', 'pandas', 'geopandas', 'shapely', 'numba', 'scipy', 'folium', 'matplotlib', 'spopt',\n"
        "         'pyproj', 'pyogrio', 'routerisk.cli.score', 'routerisk.cli.sites', 'routerisk.scoring')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", f"imported at start-up: {proc.stdout}"


def test_top_level_names_are_lazy_and_agree_with_the_type_checking_imports():
    """``routerisk._EXPORTS`` (the runtime table) and the ``if TYPE_CHECKING:`` imports (read by mkdocstrings and
    type checkers) name the same objects, each importable from the top level."""
    import ast

    import routerisk

    tree = ast.parse((ROOT / "src" / "routerisk" / "__init__.py").read_text(encoding="utf-8"))
    guarded = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for imp in node.body:
                if isinstance(imp, ast.ImportFrom):
                    guarded.update({alias.name: imp.module for alias in imp.names})
    assert guarded == routerisk._EXPORTS
    for name, module in routerisk._EXPORTS.items():
        assert getattr(routerisk, name) is getattr(importlib.import_module(f"routerisk.{module}"), name)
    errors = {"RouteRiskError", "InputError", "ConfigError", "CRSMismatchError", "OutputError", "SolverError"}
    assert set(routerisk.__all__) == {*routerisk._EXPORTS, *errors, "__version__"}
    assert set(routerisk.__all__) <= set(dir(routerisk))
    assert isinstance(routerisk.__version__, str)
    with pytest.raises(AttributeError):
        routerisk.no_such_name  # noqa: B018


def test_every_docs_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    pages = [p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")]
    assert pages
    missing = [p for p in pages if p not in nav]
    assert not missing, f"pages not in mkdocs.yml nav: {missing}"


def test_model_page_lists_every_parameter():
    import dataclasses

    from routerisk import RiskModel

    text = (DOCS / "model.md").read_text(encoding="utf-8")
    missing = [f.name for f in dataclasses.fields(RiskModel) if f"`{f.name}`" not in text]
    assert not missing, f"RiskModel parameters not described in docs/model.md: {missing}"


def test_outputs_page_lists_every_column():
    from routerisk.pipeline import RANKED_COLUMNS
    from routerisk.scoring import SCORE_COLUMNS

    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    missing = [c for c in (*SCORE_COLUMNS, *RANKED_COLUMNS) if f"`{c}`" not in text and f"{c}," not in text]
    assert not missing, f"output columns not described in docs/outputs.md: {missing}"


def _code_blocks(path: Path, languages=("python", "bash")) -> list[tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    return [(lang, body) for lang, body in re.findall(r"^```(\w+)\n(.*?)^```", text, flags=re.M | re.S)
            if lang in languages]


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = [body for lang, body in _code_blocks(ROOT / "README.md", ("python",))]
    assert len(blocks) == 1, "README.md should have exactly one Python example"
    assert len(blocks[0].strip().splitlines()) <= 12, "keep the README example short"
    monkeypatch.chdir(tmp_path)
    env = {**os.environ, "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, "-c", blocks[0]], cwd=tmp_path, capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "risk_lo" in proc.stdout
    html = tmp_path / "isthmus.html"
    assert html.is_file() and html.stat().st_size > 10_000


def _run_line(line: str, cwd: Path, real: Path) -> subprocess.CompletedProcess:
    line = line.replace("../routerisk/tests/data/real/", f"{real}/")
    argv = shlex.split(line)
    if argv[0] == "routerisk":
        argv[0] = str(ROUTERISK)
    env = {**os.environ, "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, timeout=900)


@pytest.mark.slow
def test_walkthrough(tmp_path, real_data):
    """Follow docs/walkthrough.md step by step in an empty folder: every bash and Python block, in order."""
    blocks = _code_blocks(DOCS / "walkthrough.md")
    assert [lang for lang, _ in blocks] == ["bash", "bash", "python", "bash", "bash"], "walkthrough steps changed"
    assert shutil.which("cp"), "the walkthrough copies a file with cp"
    for lang, body in blocks:
        if lang == "python":
            env = {**os.environ, "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}
            proc = subprocess.run([sys.executable, "-c", body], cwd=tmp_path, capture_output=True, text=True,
                                  env=env, timeout=600)
            assert proc.returncode == 0, proc.stderr
            continue
        for line in body.strip().splitlines():
            line = line.split("  #")[0].strip()
            if not line:
                continue
            proc = _run_line(line, tmp_path, real_data)
            assert proc.returncode == 0, f"{line}\n{proc.stdout}\n{proc.stderr}"
    run = tmp_path / "runs" / "isthmus"
    for name in ("segments.gpkg", "segments_ranked.csv", "risk_surface.tif", "map.html", "map.png", "manifest.json"):
        assert (run / name).is_file(), name
    html = (run / "map.html").read_text(encoding="utf-8")
    assert "Tapachula - Arriaga - Ixtepec" in html
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["data"]["synthetic_incidents"] is False
    assert manifest["score"]["n_incidents_placed"] > 0
    public = (tmp_path / "isthmus_public.html").read_text(encoding="utf-8")
    assert "Tapachula - Arriaga - Ixtepec" in public
    assert (tmp_path / "isthmus_public.embed.html").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "variable"),
    [("02_real_incident_data.ipynb", "ROUTERISK_IOM_CSV"), ("05_enforcement_deployments.ipynb", "ROUTERISK_GN_CSV")],
)
def test_real_data_notebooks_skip_gracefully_without_data(name, variable, tmp_path, monkeypatch):
    """Outside a clone (no tests/data/real) and with the variable unset, the notebook explains and skips."""
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("TQDM_DISABLE", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    folder = tmp_path / "elsewhere"  # no pyproject.toml above it, no tests/data/real
    folder.mkdir()
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert variable in text and "skipped" in text
    assert not list(folder.iterdir()), "the notebook wrote into its folder"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebooks_are_committed_without_outputs(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code
    dirty = [i for i, c in enumerate(code) if c.get("outputs") or c.get("execution_count") is not None]
    assert not dirty, f"{path.name}: code cells with outputs (strip them before committing): {dirty}"


def test_the_five_notebooks_exist():
    names = [p.name for p in NOTEBOOKS]
    assert names == [
        "01_quickstart.ipynb",
        "02_real_incident_data.ipynb",
        "03_shelter_siting.ipynb",
        "04_maps_for_reports.ipynb",
        "05_enforcement_deployments.ipynb",
        "06_what_changed_2019.ipynb",
    ]
