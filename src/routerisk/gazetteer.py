"""Gazetteer of Mexican localities (GeoNames, population >= 1000): look places up by name.

Matching folds accents and case (``"Lechería"`` = ``"lecheria"``), searches names and alternate names,
keeps the given state when one is given (``"Tonalá, Chiapas"``), and otherwise takes the most populous match.
Unknown names raise :class:`routerisk.InputError` with close matches as suggestions.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ._errors import InputError
from ._paths import data_path
from ._text import fold
from .schema import WGS84
from .states import STATES, state_key

__all__ = ["load_localities", "resolve_localities", "resolve_locality", "resolve_state"]

_RECORD_COLUMNS = ["locality_id", "name", "state_code", "state_name", "population", "lon", "lat"]

# Common short or former names of states, folded, -> INEGI code (full names, codes and keys are added below).
_STATE_ALIASES = {
    "cdmx": "09",
    "df": "09",
    "d.f.": "09",
    "distrito federal": "09",
    "mexico city": "09",
    "estado de mexico": "15",
    "edomex": "15",
    "edo. mex.": "15",
    "edo mex": "15",
    "mexico state": "15",
    "baja california norte": "02",
    "bc": "02",
    "bcs": "03",
    "coahuila": "05",
    "michoacan": "16",
    "veracruz": "30",
    "queretaro de arteaga": "22",
    "nl": "19",
    "slp": "24",
}


def _fold(text: object) -> str:
    """:func:`routerisk._text.fold`, with hyphens, underscores and slashes read as spaces."""
    return fold(re.sub(r"[-_/]", " ", str(text)))


@functools.cache
def _localities() -> gpd.GeoDataFrame:
    path = data_path("localities.csv")
    df = pd.read_csv(
        path,
        dtype={"locality_id": "int64", "name": str, "alt_names": str, "state_code": str, "state_name": str,
               "population": "int64", "lon": "float64", "lat": "float64"},
        keep_default_na=False,
        na_values={"lon": [""], "lat": [""]},
        encoding="utf-8",
    )
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["lon"], df["lat"]), crs=WGS84)


@functools.cache
def _name_index() -> pd.DataFrame:
    loc = _localities()
    alts = loc["alt_names"].str.split("|")
    names = pd.concat(
        [
            pd.Series(loc["name"].to_numpy(), index=np.arange(len(loc))),
            alts.explode().set_axis(np.repeat(np.arange(len(loc)), alts.str.len())),
        ]
    )
    names = names[names.astype(bool)]
    index = pd.DataFrame({"key": [_fold(n) for n in names.to_numpy()], "row": names.index.to_numpy()})
    return index.drop_duplicates().reset_index(drop=True)


@functools.cache
def _state_lookup() -> dict[str, str]:
    out = dict(_STATE_ALIASES)
    for code, name in STATES.items():
        out[code] = code
        out[str(int(code))] = code
        out[_fold(name)] = code
        out[_fold(state_key(name))] = code
    return out


def load_localities() -> gpd.GeoDataFrame:
    """Mexican localities with population >= 1000 (GeoNames, CC BY 4.0), in EPSG:4326.

    Returns
    -------
    geopandas.GeoDataFrame
        ``locality_id`` (GeoNames id; negative for the few supplementary places, see ``data/README.md``),
        ``name``, ``alt_names`` (``|``-separated), ``state_code`` (INEGI), ``state_name``, ``population``,
        ``lon``, ``lat``, ``geometry`` (Point).

    Examples
    --------
    >>> loc = load_localities()
    >>> len(loc) > 8000, loc.crs.to_epsg()
    (True, 4326)
    """
    return _localities().copy()


def resolve_state(state: str) -> str:
    """INEGI code of a state given by code, INEGI name, snake-case key or common short name.

    Examples
    --------
    >>> resolve_state("Veracruz"), resolve_state("ciudad_de_mexico"), resolve_state("7")
    ('30', '09', '07')
    """
    code = _state_lookup().get(_fold(state).replace(" ", "_")) or _state_lookup().get(_fold(state))
    if code is None:
        msg = f"`state` was {state!r}, which is not a Mexican state; use an INEGI code or name, e.g. {STATES['07']!r}"
        raise InputError(msg)
    return code


def _split_state(name: str) -> tuple[str, str | None]:
    """``"Tonalá, Chiapas"`` -> ``("Tonalá", "07")`` when the part after the last comma is a state."""
    if "," in name:
        head, tail = name.rsplit(",", 1)
        try:
            return head.strip(), resolve_state(tail)
        except InputError:
            pass
    return name, None


def _suggest(key: str, state: str | None) -> list[str]:
    index = _name_index()
    loc = _localities()
    keys = index["key"].drop_duplicates().tolist()
    close = difflib.get_close_matches(key, keys, n=6, cutoff=0.75)
    if not close and len(key) >= 4:
        close = [k for k in keys if k.startswith(key)][:6]
    out = []
    for k in close:
        rows = index.loc[index["key"] == k, "row"].to_numpy()
        sub = loc.iloc[rows]
        if state is not None and (sub["state_code"] == state).any():
            sub = sub[sub["state_code"] == state]
        best = sub.sort_values("population", ascending=False).iloc[0]
        label = f"{best['name']}, {best['state_name']}"
        if label not in out:
            out.append(label)
    return out[:5]


def resolve_localities(names: Sequence[str], states: Sequence[str | None] | None = None) -> pd.DataFrame:
    """Resolve many place names at once (vectorised); see :func:`resolve_locality` for the matching rules.

    Parameters
    ----------
    names : sequence of str
        Place names; ``"Name, State"`` is allowed.
    states : sequence of str or None, optional
        A state for each name (code or name), or None where not known.

    Returns
    -------
    pandas.DataFrame
        One row per name, in order: ``query``, ``locality_id``, ``name``, ``state_code``, ``state_name``,
        ``population``, ``lon``, ``lat``.

    Raises
    ------
    InputError
        Listing every name that matched no locality, with close matches.

    Examples
    --------
    >>> resolve_localities(["Tapachula", "Tonalá, Chiapas"])["state_code"].tolist()
    ['07', '07']
    """
    names = [str(n) for n in names]
    given = [None] * len(names) if states is None else list(states)
    if len(given) != len(names):
        msg = f"`states` has {len(given)} values but `names` has {len(names)}"
        raise InputError(msg)
    parsed = [_split_state(n) for n in names]
    codes = [
        resolve_state(s) if s is not None and not (isinstance(s, float) and np.isnan(s)) and str(s).strip() else p[1]
        for s, p in zip(given, parsed, strict=True)
    ]
    queries = pd.DataFrame({"q": np.arange(len(names)), "key": [_fold(p[0]) for p in parsed], "want": codes})
    loc = _localities()
    hits = queries.merge(_name_index(), on="key", how="inner")
    hits = hits.join(loc[_RECORD_COLUMNS].reset_index(drop=True), on="row")
    in_state = hits["want"].isna() | (hits["want"] == hits["state_code"])
    best = (
        hits[in_state]
        .sort_values(["q", "population", "locality_id"], ascending=[True, False, True])
        .drop_duplicates("q")
        .set_index("q")
    )
    missing = np.setdiff1d(queries["q"].to_numpy(), best.index.to_numpy())
    if missing.size:
        problems = []
        for q in missing:
            name, want = parsed[q][0], codes[q]
            elsewhere = hits.loc[hits["q"] == q, "state_name"].unique().tolist()
            if elsewhere:
                        problems.append(f"{name!r} is not in {STATES[want]} (found in {', '.join(sorted(elsewhere))})")
            else:
                sugg = _suggest(_fold(name), want)
                hint = f"; did you mean {' or '.join(repr(s) for s in sugg)}?" if sugg else ""
                problems.append(f"{name!r} matches no Mexican locality{hint}")
        msg = "unknown place name" + ("s" if len(problems) > 1 else "") + ": " + "; ".join(problems)
        raise InputError(msg)
    out = best.loc[queries["q"].to_numpy(), _RECORD_COLUMNS].reset_index(drop=True)
    out.insert(0, "query", names)
    return out


def resolve_locality(name: str, state: str | None = None) -> tuple[float, float, dict[str, Any]]:
    """Coordinates and record of one Mexican locality, found by name.

    Parameters
    ----------
    name : str
        Place name, accents and case ignored; names and GeoNames alternate names are searched.
        ``"Name, State"`` is allowed.
    state : str, optional
        INEGI code or state name (``"Chiapas"``, ``"07"``, ``"CDMX"``) to choose among places of the same name.
        Without it the most populous match is returned.

    Returns
    -------
    (lon, lat, record)
        ``record`` holds ``locality_id``, ``name``, ``state_code``, ``state_name``, ``population``, ``lon``,
        ``lat``.

    Raises
    ------
    InputError
        When nothing matches (with close-match suggestions) or the name is not in the given state.

    Examples
    --------
    >>> lon, lat, rec = resolve_locality("lecheria")
    >>> rec["name"], rec["state_name"]
    ('Lechería', 'México')
    >>> resolve_locality("Tonalá", state="Chiapas")[2]["state_code"]
    '07'
    """
    row = resolve_localities([name], [state]).iloc[0]
    record = {c: (row[c].item() if hasattr(row[c], "item") else row[c]) for c in _RECORD_COLUMNS}
    return float(row["lon"]), float(row["lat"]), record
